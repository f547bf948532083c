//! Sponsored messages: advertisers and their sponsored campaigns, judged by the sponsored
//! channel's policy (promotion allowed, phishing, scams, adult content, look-alike domains
//! and disguised links still held), delivered into members' Inboxes marked with the
//! advertiser's name, each in a thread of its own, under a per-recipient frequency cap
//! across advertisers and the member's opt-out.
//!
//! A sponsored campaign is sent in one atomic batch: either every eligible target has its
//! message and the campaign is marked sent, or (a crash, a refused write) nothing was, so
//! a retry never sends twice. Targets left out are counted by reason, never an error for
//! the whole campaign.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{App, SendOutcome, SendRequest};
use crate::auth;
use crate::domain::{
    Advertiser, AdvertiserId, CallToAction, Decision, Format, MemberId, Message, MessageId,
    MessageKind, MessageStatus, Millis, Principal, Reason, Relationship, Schedule, SendSignals,
    SponsoredCampaign, SponsoredCampaignId, SponsoredCounts, SponsoredMark, SponsoredReceipt,
    SponsoredStatus, Thread, Verdict,
};
use crate::engine::AssessInput;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::SendFacts;
use crate::store::{Reader, SponsoredReader};
use crate::text::Normalized;

const MAX_NAME_CHARS: usize = 200;
const MAX_CTA_LABEL_CHARS: usize = 60;
const MAX_CTA_URL_CHARS: usize = 2048;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewAdvertiser {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedAdvertiser {
    pub advertiser_id: AdvertiserId,
    /// An advertiser token (`sga_…`): it runs this advertiser's sponsored campaigns only.
    pub token: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewSponsoredCampaign {
    pub name: String,
    /// Markdown.
    pub body: String,
    pub cta: CallToAction,
    pub targets: Vec<MemberId>,
    /// Most messages the campaign may send.
    pub budget: u32,
    pub schedule: Schedule,
    #[serde(default)]
    pub allow_replies: bool,
}

/// What one send of a sponsored campaign did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SponsoredRun {
    pub delivered: u64,
    /// Targets left out, by reason.
    pub skipped: BTreeMap<String, u64>,
    pub campaign: SponsoredCampaign,
}

/// A member's reply to a sponsored campaign, as its advertiser reads it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SponsoredReply {
    pub message_id: MessageId,
    pub from: MemberId,
    pub body: String,
    pub format: Format,
    pub created_at: Millis,
}

/// A member's sponsored-message setting.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SponsoredSetting {
    /// True: no sponsored messages are delivered to this member.
    pub opt_out: bool,
}

impl App {
    pub async fn create_advertiser(&self, new: NewAdvertiser) -> Result<CreatedAdvertiser> {
        let name = new.name.trim().to_string();
        super::text_fields::bounded_text("name", &name, 1, MAX_NAME_CHARS)?;
        let token = auth::new_token("sga");
        let now = self.clock.now();
        let advertiser_id = self
            .commit(|txn| {
                let id = txn.next_id()?;
                txn.put_advertiser(&Advertiser {
                    id,
                    name,
                    created_at: now,
                });
                txn.put_token(&auth::hash_token(&token), &Principal::Advertiser(id));
                Ok(id)
            })
            .await?;
        Ok(CreatedAdvertiser {
            advertiser_id,
            token,
        })
    }

    /// Creates a sponsored campaign of `advertiser`, judged at once by the sponsored
    /// channel's policy: approved, held or refused, with the reasons the advertiser sees.
    pub async fn create_sponsored_campaign(
        &self,
        advertiser: AdvertiserId,
        new: NewSponsoredCampaign,
    ) -> Result<SponsoredCampaign> {
        self.validate_sponsored(&new)?;
        if self.store.advertiser(advertiser)?.is_none() {
            return Err(Error::not_found(
                "unknown_advertiser",
                format!("no advertiser {advertiser}"),
            )
            .field("advertiser_id"));
        }
        let now = self.clock.now();
        let mut campaign = SponsoredCampaign {
            id: 0,
            advertiser,
            name: new.name.trim().to_string(),
            body: new.body,
            cta: new.cta,
            targets: new.targets,
            budget: new.budget,
            schedule: new.schedule,
            allow_replies: new.allow_replies,
            status: SponsoredStatus::Approved,
            reasons: Vec::new(),
            created_at: now,
            sent_at: None,
            counts: SponsoredCounts::default(),
            review: None,
        };
        let verdict = self.judge_sponsored_campaign(&campaign)?;
        apply_judgement(&mut campaign, &verdict);
        let campaign = self
            .commit(|txn| {
                campaign.id = txn.next_id()?;
                txn.put_sponsored_campaign(&campaign);
                Ok(campaign)
            })
            .await?;
        metrics::counter!("sendguard_sponsored_campaigns_total", "status" => status_name(campaign.status))
            .increment(1);
        Ok(campaign)
    }

    fn validate_sponsored(&self, new: &NewSponsoredCampaign) -> Result<()> {
        super::text_fields::bounded_text("name", new.name.trim(), 1, MAX_NAME_CHARS)?;
        self.validate_body(&new.body, false)?;
        super::text_fields::bounded_text("cta.label", &new.cta.label, 1, MAX_CTA_LABEL_CHARS)?;
        let url = new.cta.url.as_str();
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.chars().count() > MAX_CTA_URL_CHARS
            || url.contains(char::is_whitespace)
        {
            return Err(Error::invalid_field(
                "cta.url",
                "cta.url must be an http(s) URL of at most 2048 characters, without spaces",
            )
            .limit(MAX_CTA_URL_CHARS as u64));
        }
        let max_targets = self.sponsored.max_targets;
        if new.targets.is_empty() || new.targets.len() > max_targets {
            return Err(Error::invalid_field(
                "targets",
                format!("targets must list 1-{max_targets} member ids"),
            )
            .limit(max_targets as u64));
        }
        if new.budget == 0 {
            return Err(Error::invalid_field(
                "budget",
                "budget (the most messages to send) must be at least 1",
            ));
        }
        if new.schedule.ends_at <= new.schedule.starts_at {
            return Err(Error::invalid_field(
                "schedule.ends_at",
                "schedule.ends_at must be after schedule.starts_at",
            ));
        }
        Ok(())
    }

    /// The verdict on a normalized body in the sponsored channel.
    pub(super) fn judge_sponsored(&self, message: &Normalized) -> Verdict {
        self.engine.assess(&AssessInput {
            message,
            relationship: Relationship {
                sponsored: true,
                ..Relationship::default()
            },
            behaviour: &[],
        })
    }

    /// The verdict on the message a campaign sends (its body and call to action).
    fn judge_sponsored_campaign(&self, campaign: &SponsoredCampaign) -> Result<Verdict> {
        let prepared = self.prepare(Format::Markdown, &campaign.message_body(), &[])?;
        Ok(self.judge_sponsored(&prepared.message))
    }

    /// The advertiser's own campaign; another advertiser's is 404, so ids do not leak.
    pub fn sponsored_campaign(
        &self,
        advertiser: AdvertiserId,
        id: SponsoredCampaignId,
    ) -> Result<SponsoredCampaign> {
        own_campaign(&self.store, advertiser, id)
    }

    /// The advertiser's campaigns, oldest first.
    pub fn sponsored_campaigns_of(
        &self,
        advertiser: AdvertiserId,
    ) -> Result<Vec<SponsoredCampaign>> {
        let mut campaigns = Vec::new();
        for id in self.store.advertiser_campaigns(advertiser) {
            if let Some(campaign) = self.store.sponsored_campaign(id?)? {
                campaigns.push(campaign);
            }
        }
        Ok(campaigns)
    }

    /// Sends an approved campaign inside its schedule: one message per eligible target, up
    /// to the budget; opted-out, capped, unknown and duplicate targets are skipped and
    /// counted. The content is judged again first (the rules may have changed since).
    pub async fn send_sponsored_campaign(
        &self,
        advertiser: AdvertiserId,
        id: SponsoredCampaignId,
    ) -> Result<SponsoredRun> {
        let now = self.clock.now();
        let campaign = own_campaign(&self.store, advertiser, id)?;
        check_sendable(&campaign, now)?;
        let verdict = lift_approved_hold(self.judge_sponsored_campaign(&campaign)?, &campaign);
        if verdict.refused.is_some() || verdict.decision == Decision::Held {
            let mut judged = campaign.clone();
            apply_judgement(&mut judged, &verdict);
            self.commit(|txn| {
                txn.put_sponsored_campaign(&judged);
                Ok(())
            })
            .await?;
            return Err(not_sendable(&judged));
        }
        let cap = self.sponsored.max_per_member as usize;
        let window_ms = i64::from(self.sponsored.cap_window_days) * DAY_MS;
        let (run, messages) = self
            .commit(|txn| {
                let mut campaign = own_campaign(txn, advertiser, id)?;
                check_sendable(&campaign, now)?;
                let advertiser_record = txn.advertiser(advertiser)?.ok_or_else(|| {
                    Error::unauthorized("the token's advertiser no longer exists")
                })?;
                let mark = SponsoredMark {
                    advertiser_id: advertiser,
                    advertiser_name: advertiser_record.name,
                    campaign_id: campaign.id,
                    allow_replies: campaign.allow_replies,
                };
                let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
                let mut skip = |reason: &str| *skipped.entry(reason.to_string()).or_default() += 1;
                let mut seen = HashSet::new();
                let mut messages = Vec::new();
                for &member in &campaign.targets {
                    if !seen.insert(member) {
                        skip("duplicate_target");
                        continue;
                    }
                    if txn.member(member)?.is_none() {
                        skip("unknown_member");
                        continue;
                    }
                    let mut inbox = txn.sponsored_inbox(member)?;
                    if inbox.opted_out {
                        skip("opted_out");
                        continue;
                    }
                    if inbox.received_within(now, window_ms) >= cap {
                        skip("frequency_cap");
                        continue;
                    }
                    if messages.len() >= campaign.budget as usize {
                        skip("budget_exhausted");
                        continue;
                    }
                    let thread = Thread {
                        id: txn.next_id()?,
                        members: [member.min(advertiser), member.max(advertiser)],
                        created_at: now,
                    };
                    txn.put_sponsored_thread(&thread, campaign.id);
                    let message = Message {
                        id: txn.next_id()?,
                        thread_id: thread.id,
                        from: advertiser,
                        to: member,
                        body: campaign.message_body(),
                        format: Format::Markdown,
                        kind: MessageKind::Sponsored,
                        attachments: Vec::new(),
                        created_at: now,
                        status: MessageStatus::Delivered,
                        verdict: verdict.clone(),
                        signals: SendSignals {
                            relationship: Relationship {
                                sponsored: true,
                                ..Relationship::default()
                            },
                            behaviour: Vec::new(),
                        },
                        recalled_at: None,
                        previous_verdicts: Vec::new(),
                        sponsored: Some(mark.clone()),
                        text_removed: None,
                        sealed_body: None,
                    };
                    txn.put_message(&message);
                    let folder = message.verdict.folder().unwrap_or(message.verdict.route);
                    super::mailbox::deliver(txn, &message, folder, now)?;
                    inbox.record(
                        SponsoredReceipt {
                            at: now,
                            campaign_id: campaign.id,
                            message_id: message.id,
                        },
                        window_ms,
                    );
                    txn.put_sponsored_inbox(member, &inbox);
                    messages.push(message);
                }
                campaign.status = SponsoredStatus::Sent;
                campaign.sent_at = Some(now);
                campaign.reasons = verdict.reasons.iter().map(Reason::for_member).collect();
                campaign.counts.delivered += messages.len() as u64;
                for (reason, count) in &skipped {
                    *campaign.counts.skipped.entry(reason.clone()).or_default() += count;
                }
                txn.put_sponsored_campaign(&campaign);
                let run = SponsoredRun {
                    delivered: messages.len() as u64,
                    skipped,
                    campaign,
                };
                Ok((run, messages))
            })
            .await?;
        metrics::counter!("sendguard_sponsored_delivered_total").increment(run.delivered);
        for message in &messages {
            self.verdict_decided(message);
            self.notify_delivered(message);
        }
        Ok(run)
    }

    /// Sets the member's opt-out of sponsored messages. Opting out is counted against the
    /// campaign of the last sponsored message they received (what prompted it), once.
    pub async fn set_sponsored_opt_out(
        &self,
        member: MemberId,
        opt_out: bool,
    ) -> Result<SponsoredSetting> {
        self.commit(|txn| {
            let mut inbox = txn.sponsored_inbox(member)?;
            if inbox.opted_out == opt_out {
                return Ok(());
            }
            inbox.opted_out = opt_out;
            txn.put_sponsored_inbox(member, &inbox);
            let prompted_by = inbox.received.last().map(|receipt| receipt.campaign_id);
            if let (true, Some(id)) = (opt_out, prompted_by) {
                if let Some(mut campaign) = txn.sponsored_campaign(id)? {
                    campaign.counts.opt_outs += 1;
                    txn.put_sponsored_campaign(&campaign);
                }
            }
            Ok(())
        })
        .await?;
        Ok(SponsoredSetting { opt_out })
    }

    /// A member's answer in a sponsored thread (from `App::send`): refused unless the
    /// campaign takes replies; then judged as a stranger's message and, when delivered,
    /// kept for the advertiser (who has no folders) and counted. As on the ordinary path,
    /// a fully restricted member is refused (the advertiser is never a connection) and a
    /// retry under the same idempotency key replays the stored reply instead of counting
    /// a second one.
    pub(super) async fn reply_to_sponsored(
        &self,
        sender: MemberId,
        campaign_id: SponsoredCampaignId,
        request: &SendRequest,
    ) -> Result<SendOutcome> {
        let thread_id = request.thread_id.unwrap_or_default();
        let thread_not_found = || {
            Error::not_found("thread_not_found", format!("no thread {thread_id}"))
                .field("thread_id")
        };
        let thread = self
            .store
            .thread(thread_id)?
            .filter(|t| t.has(sender))
            .ok_or_else(thread_not_found)?;
        let campaign = self
            .store
            .sponsored_campaign(campaign_id)?
            .ok_or_else(thread_not_found)?;
        if !campaign.allow_replies {
            return Err(super::sponsored_threads::reply_refusal(
                &self.store,
                campaign_id,
            )?);
        }
        if request.to != campaign.advertiser || thread.other(sender) != campaign.advertiser {
            return Err(Error::invalid_field(
                "to",
                "to must be the advertiser of the sponsored thread_id",
            ));
        }
        if request.kind != MessageKind::Message {
            return Err(Error::invalid_field(
                "kind",
                "a reply to a sponsored message is kind message",
            ));
        }
        if let Some(replay) = self.replay(&self.store, sender, request)? {
            return Ok(replay);
        }
        let member = self
            .store
            .member(sender)?
            .ok_or_else(|| Error::unauthorized("the token's member no longer exists"))?;
        // The advertiser is never a connection, and the thread exists.
        if let Some(refusal) = super::pipeline::restriction_refusal(&member, false, false) {
            return Err(refusal);
        }
        let prepared = self.prepare(request.format, &request.body, &request.attachments)?;
        // What a stranger's message would get: the advertiser is no connection.
        let verdict = self.judge(&prepared.message, None);
        if let Some(refusal) = super::shared_limits::content_refusal(&verdict) {
            return Err(refusal);
        }
        let now = self.clock.now();
        // The sender's rate limits count the reply as any send in a thread with a member
        // outside their network: a script cannot post through a sponsored thread unmetered.
        let facts = SendFacts {
            now,
            account_created_at: member.created_at,
            recipient: campaign.advertiser,
            connected: false,
            new_conversation: false,
            fingerprint: prepared.fingerprint,
        };
        if let Some(shared) = &self.shared_limits {
            self.meter_reply_shared(shared, sender, facts).await?;
        }
        let written = self
            .commit(|txn| {
                // A retry that raced the first attempt to the lock finds its reply here.
                if let Some(replay) = self.replay(txn, sender, request)? {
                    return Ok(Err(replay));
                }
                if self.shared_limits.is_none() {
                    let mut state = txn.sender_state(sender)?.unwrap_or_default();
                    super::pipeline::meter_unjudged(&self.limiter, &mut state, &facts)?;
                    txn.put_sender_state(sender, &state);
                }
                let delivered = verdict.decision != Decision::Held;
                let message = Message {
                    id: txn.next_id()?,
                    thread_id,
                    from: sender,
                    to: campaign.advertiser,
                    body: request.body.clone(),
                    format: request.format,
                    kind: MessageKind::Message,
                    attachments: request.attachments.clone(),
                    created_at: now,
                    status: if delivered {
                        MessageStatus::Delivered
                    } else {
                        MessageStatus::Held
                    },
                    verdict: verdict.clone(),
                    signals: SendSignals::default(),
                    recalled_at: None,
                    previous_verdicts: Vec::new(),
                    sponsored: None,
                    text_removed: None,
                    sealed_body: None,
                };
                txn.put_message(&message);
                super::mailbox::record_sent(txn, &message, now)?;
                if delivered {
                    txn.add_sponsored_reply(campaign_id, message.id);
                    if let Some(mut campaign) = txn.sponsored_campaign(campaign_id)? {
                        campaign.counts.replies += 1;
                        txn.put_sponsored_campaign(&campaign);
                    }
                } else {
                    super::mailbox::queue_held(txn, &message, now)?;
                }
                if let Some(key) = &request.idempotency_key {
                    txn.put_idempotent_send(
                        sender,
                        key,
                        message.id,
                        &super::send::request_hash(request),
                    );
                }
                Ok(Ok(message))
            })
            .await?;
        let message = match written {
            Ok(message) => message,
            Err(replay) => return Ok(replay),
        };
        self.verdict_decided(&message);
        Ok(SendOutcome::of(&message, &member, false))
    }

    /// Members' delivered replies to one of the advertiser's campaigns, oldest first.
    pub fn sponsored_replies(
        &self,
        advertiser: AdvertiserId,
        id: SponsoredCampaignId,
    ) -> Result<Vec<SponsoredReply>> {
        own_campaign(&self.store, advertiser, id)?;
        let mut replies = Vec::new();
        for message_id in self.store.sponsored_replies(id) {
            if let Some(message) = self.store.message(message_id?)? {
                if message.status == MessageStatus::Delivered {
                    replies.push(SponsoredReply {
                        message_id: message.id,
                        from: message.from,
                        body: message.body,
                        format: message.format,
                        created_at: message.created_at,
                    });
                }
            }
        }
        Ok(replies)
    }

    pub fn sponsored_setting(&self, member: MemberId) -> Result<SponsoredSetting> {
        Ok(SponsoredSetting {
            opt_out: self.store.sponsored_inbox(member)?.opted_out,
        })
    }
}

/// The campaign counts a member's report of one of its messages (called inside the
/// report's batch, once per reported message: the report hides the thread).
pub(super) fn count_report(
    txn: &mut crate::store::WriteTxn<'_>,
    mark: &SponsoredMark,
) -> Result<()> {
    if let Some(mut campaign) = txn.sponsored_campaign(mark.campaign_id)? {
        campaign.counts.reports += 1;
        txn.put_sponsored_campaign(&campaign);
    }
    Ok(())
}

fn own_campaign(
    reader: &impl Reader,
    advertiser: AdvertiserId,
    id: SponsoredCampaignId,
) -> Result<SponsoredCampaign> {
    reader
        .sponsored_campaign(id)?
        .filter(|campaign| campaign.advertiser == advertiser)
        .ok_or_else(|| {
            Error::not_found(
                "sponsored_campaign_not_found",
                format!("no sponsored campaign {id}"),
            )
            .field("campaign_id")
        })
}

fn check_sendable(campaign: &SponsoredCampaign, now: i64) -> Result<()> {
    if campaign.status != SponsoredStatus::Approved {
        return Err(not_sendable(campaign));
    }
    if !campaign.schedule.contains(now) {
        return Err(Error::new(
            ErrorKind::Conflict,
            "outside_schedule",
            format!(
                "the campaign may be sent from {} to {} (epoch ms); now is {now}",
                campaign.schedule.starts_at, campaign.schedule.ends_at
            ),
        )
        .field("schedule"));
    }
    Ok(())
}

fn not_sendable(campaign: &SponsoredCampaign) -> Error {
    let (code, what) = match campaign.status {
        SponsoredStatus::Sent => ("sponsored_campaign_sent", "was already sent".to_string()),
        SponsoredStatus::Held | SponsoredStatus::Refused | SponsoredStatus::Approved => (
            if campaign.status == SponsoredStatus::Refused {
                "sponsored_campaign_refused"
            } else {
                "sponsored_campaign_held"
            },
            format!(
                "is {} by the sponsored-message policy: {}",
                status_name(campaign.status),
                campaign
                    .reasons
                    .iter()
                    .filter(|reason| reason.source != "relationship")
                    .map(|reason| format!("{}/{}", reason.source, reason.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    Error::new(ErrorKind::Conflict, code, format!("the campaign {what}")).field("campaign_id")
}

/// Records the verdict on a campaign: its status and the reasons the advertiser sees.
/// A reviewer's approval lifts a content hold (never a refusal): the messages go out with
/// the hold's reasons and the approval beside them, so the decision stays explainable.
fn lift_approved_hold(mut verdict: Verdict, campaign: &SponsoredCampaign) -> Verdict {
    let Some(review) = campaign.review.as_ref().filter(|review| review.approved) else {
        return verdict;
    };
    if verdict.refused.is_none() && verdict.decision == Decision::Held {
        verdict.decision = Decision::Inbox;
        verdict.automated = false;
        verdict.reasons.push(Reason::new(
            "review",
            "sponsored_approved",
            format!("held content approved by reviewer {}", review.reviewer),
        ));
    }
    verdict
}

fn apply_judgement(campaign: &mut SponsoredCampaign, verdict: &Verdict) {
    campaign.status = if verdict.refused.is_some() {
        SponsoredStatus::Refused
    } else if verdict.decision == Decision::Held {
        SponsoredStatus::Held
    } else {
        SponsoredStatus::Approved
    };
    campaign.reasons = verdict.reasons.iter().map(Reason::for_member).collect();
}

fn status_name(status: SponsoredStatus) -> &'static str {
    match status {
        SponsoredStatus::Approved => "approved",
        SponsoredStatus::Held => "held",
        SponsoredStatus::Refused => "refused",
        SponsoredStatus::Sent => "sent",
    }
}
