//! Coordinated campaigns: one template sent to non-connections by many accounts.
//!
//! On the send path ([`App::match_campaign`], [`App::campaign_signal`],
//! [`App::record_campaign_send`]): a send's template signature (`limits::template`) is looked
//! up by its LSH band keys, verified against the candidate campaigns' kept variants, and the
//! send joins the most similar one (or founds a candidate). A campaign whose accounts within
//! `[campaigns] window_secs` reach `min_accounts` is recognized, audited, and (with
//! `hold_on_recognition`) the rest of its sends are held with the `campaign` reason.
//!
//! For reviewers: the list of recognized campaigns, one campaign's detail, and actions on it
//! as a whole: `hold` the rest, `restrict` every account, `release` it (its held messages
//! are delivered and its sends are no longer held for it). Each action is audited with the
//! reviewer's reason.

use serde::{Deserialize, Serialize};

use super::{mailbox, App};
use crate::domain::{
    Actor, AuditEntry, Campaign, CampaignAccount, CampaignId, CampaignStatus, MemberId, Message,
    MessageId, MessageStatus, Millis, RestrictionLevel, ReviewerId,
};
use crate::error::{Error, Result};
use crate::limits::{template, LimitSignal, TemplateSignature};
use crate::store::{CampaignReader, Reader, WriteTxn};

const MAX_REASON_CHARS: usize = 500;

/// A campaign as reviewers see it (the record without its variant signatures).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: CampaignId,
    pub status: CampaignStatus,
    /// `restricted`, `released`, `held` or `watching`.
    pub outcome: &'static str,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub recognized_at: Option<Millis>,
    pub accounts_restricted_at: Option<Millis>,
    pub released_at: Option<Millis>,
    pub volume: u64,
    pub delivered: u64,
    pub held: u64,
    /// Recipients of its delivered messages who answered, and who blocked or reported.
    pub replied: u64,
    pub negative: u64,
    pub accounts_total: u32,
    pub accounts: Vec<CampaignAccount>,
    /// Variants of the template kept to match new sends.
    pub variants: usize,
}

impl CampaignView {
    fn of(campaign: &Campaign) -> CampaignView {
        CampaignView {
            id: campaign.id,
            status: campaign.status,
            outcome: campaign.outcome(),
            first_seen: campaign.first_seen,
            last_seen: campaign.last_seen,
            recognized_at: campaign.recognized_at,
            accounts_restricted_at: campaign.accounts_restricted_at,
            released_at: campaign.released_at,
            volume: campaign.volume,
            delivered: campaign.delivered,
            held: campaign.held,
            replied: campaign.replied,
            negative: campaign.negative,
            accounts_total: campaign.accounts_total,
            accounts: campaign.accounts.clone(),
            variants: campaign.variants.len(),
        }
    }
}

/// One message of a campaign, without its body (read it through the review item).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignMessage {
    pub message_id: MessageId,
    pub from: MemberId,
    pub to: MemberId,
    pub created_at: Millis,
    pub status: MessageStatus,
}

/// A campaign and its first messages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignDetail {
    pub campaign: CampaignView,
    pub messages: Vec<CampaignMessage>,
}

/// What a reviewer does with a campaign as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// Hold the rest of its sends for review.
    Hold,
    /// Restrict every account in it to its connections (and hold the rest).
    Restrict,
    /// Deliver its held messages; its sends are no longer held for being part of it.
    Release,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignActionRequest {
    pub action: CampaignAction,
    /// Why, for the audit log (1 to 500 characters).
    pub reason: String,
}

/// What an action changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignActionOutcome {
    pub campaign: CampaignView,
    /// Accounts whose restriction rose.
    pub restricted_accounts: u32,
    /// Held messages delivered.
    pub released_messages: u32,
}

fn campaign_not_found() -> Error {
    Error::not_found("campaign_not_found", "no such campaign")
}

impl App {
    /// The campaign a template belongs to: the candidates its LSH bands point at, verified
    /// against their kept variants: similar (at or above the template threshold) to at least
    /// `min_variant_matches` and `min_variant_share` of them; the one with the most.
    /// Idle candidates (nothing within the window, never acted on) are not matched.
    pub(super) fn match_campaign(
        &self,
        reader: &impl Reader,
        signature: &TemplateSignature,
        now: Millis,
    ) -> Result<Option<Campaign>> {
        let config = &self.limiter.config().template;
        let since = now - window_ms(self.campaigns.window_secs);
        let mut seen: Vec<CampaignId> = Vec::new();
        let mut best: Option<(usize, Campaign)> = None;
        for band in template::bands(config, signature) {
            let Some(id) = reader.campaign_of_band(band)? else {
                continue;
            };
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            let Some(campaign) = reader.campaign(id)? else {
                continue;
            };
            if campaign.status == CampaignStatus::Watching && campaign.last_seen < since {
                continue;
            }
            // Similar to several kept variants, not just one: a message that happens to
            // share a few common phrases with one variant is not part of the campaign.
            let similar = campaign
                .variants
                .iter()
                .filter(|v| {
                    template::similarity(&TemplateSignature((*v).clone()), signature)
                        >= config.same_template_similarity
                })
                .count();
            let kept = campaign.variants.len();
            let needed = (self.campaigns.min_variant_matches as usize)
                .min(kept)
                .max((self.campaigns.min_variant_share * kept as f64).ceil() as usize)
                .max(1);
            if similar >= needed && best.as_ref().is_none_or(|(s, _)| similar > *s) {
                best = Some((similar, campaign));
            }
        }
        Ok(best.map(|(_, campaign)| campaign))
    }

    /// The `campaign` signal of a send by `sender` of a template in `campaign`: a hold (and
    /// a strike) when the campaign holds, or is recognized with this send.
    pub(super) fn campaign_signal(
        &self,
        campaign: &Campaign,
        sender: MemberId,
        now: Millis,
    ) -> Option<LimitSignal> {
        let config = &self.campaigns;
        let since = now - window_ms(config.window_secs);
        let known = campaign
            .accounts
            .iter()
            .any(|a| a.member_id == sender && a.last_seen >= since);
        let accounts = campaign.accounts_since(since) + usize::from(!known);
        let recognized = campaign.status == CampaignStatus::Recognized
            || (campaign.status == CampaignStatus::Watching
                && config.min_accounts > 0
                && accounts >= config.min_accounts as usize);
        let holding = campaign.status == CampaignStatus::Holding
            || (recognized && config.hold_on_recognition);
        let detail = format!(
            "part of campaign {}: one template sent to members outside their network by {} \
             accounts within {}h (limit {})",
            campaign.id,
            accounts,
            config.window_secs / 3600,
            config.min_accounts
        );
        if campaign.status != CampaignStatus::Released {
            if let Some(signal) = self.campaign_reactions_signal(campaign, &detail) {
                return Some(signal);
            }
        }
        if holding {
            // Held as a whole (by a reviewer, or on recognition): holds alone.
            return Some(LimitSignal {
                id: "campaign_held",
                hold: true,
                strike_weight: config.strike_weight,
                score: 1.0,
                detail: format!("{detail}; the campaign is held for review"),
            });
        }
        // Recognized: asks for a hold the policy grants with corroboration.
        recognized.then_some(LimitSignal {
            id: "campaign",
            hold: true,
            strike_weight: config.strike_weight,
            score: 1.0,
            detail,
        })
    }

    /// `campaign_poor_reactions`: the campaign's recipients, across all its accounts, never
    /// answer and often block or report it (`[limits.reactions]` thresholds over its
    /// delivered messages). People's judgement: it holds alone, as `poor_reactions` does for
    /// one sender, and it catches accounts that each send too little to be judged alone.
    fn campaign_reactions_signal(&self, campaign: &Campaign, detail: &str) -> Option<LimitSignal> {
        let config = &self.limiter.config().reactions;
        let delivered = campaign.delivered;
        if config.min_outreach == 0 || delivered < u64::from(config.min_outreach) {
            return None;
        }
        let replied = campaign.replied as f64 / delivered as f64;
        let negative = campaign.negative as f64 / delivered as f64;
        (replied <= config.max_reply_share && negative >= config.min_negative_share).then(|| {
            LimitSignal {
                id: "campaign_poor_reactions",
                hold: true,
                strike_weight: self.campaigns.strike_weight,
                score: negative.min(1.0),
                detail: format!(
                    "{detail}; of its {delivered} delivered messages {} were answered and {} \
                     blocked or reported ({:.0}% >= {:.0}%)",
                    campaign.replied,
                    campaign.negative,
                    negative * 100.0,
                    config.min_negative_share * 100.0
                ),
            }
        })
    }

    /// Counts a stored send into its campaign (or founds a candidate), indexes its bands,
    /// and recognizes the campaign when its accounts reach `min_accounts`. Returns the
    /// campaign's id.
    pub(super) fn record_campaign_send(
        &self,
        txn: &mut WriteTxn<'_>,
        matched: Option<&Campaign>,
        signature: &TemplateSignature,
        message: &Message,
        now: Millis,
    ) -> Result<CampaignId> {
        let config = &self.campaigns;
        let mut campaign = match matched {
            Some(campaign) => campaign.clone(),
            None => Campaign {
                id: txn.next_id()?,
                first_seen: now,
                last_seen: now,
                volume: 0,
                delivered: 0,
                held: 0,
                replied: 0,
                negative: 0,
                accounts_total: 0,
                accounts: Vec::new(),
                status: CampaignStatus::Watching,
                recognized_at: None,
                accounts_restricted_at: None,
                released_at: None,
                variants: Vec::new(),
            },
        };
        campaign.last_seen = now;
        campaign.volume += 1;
        if message.status == MessageStatus::Held {
            campaign.held += 1;
        } else {
            campaign.delivered += 1;
        }
        match campaign
            .accounts
            .iter_mut()
            .find(|a| a.member_id == message.from)
        {
            Some(account) => {
                account.last_seen = now;
                account.messages += 1;
            }
            None => {
                campaign.accounts_total += 1;
                if campaign.accounts.len() < config.max_accounts as usize {
                    campaign.accounts.push(CampaignAccount {
                        member_id: message.from,
                        first_seen: now,
                        last_seen: now,
                        messages: 1,
                    });
                }
            }
        }
        if !campaign.variants.contains(&signature.0) {
            campaign.variants.push(signature.0.clone());
            let excess = campaign
                .variants
                .len()
                .saturating_sub(config.max_variants.max(1) as usize);
            campaign.variants.drain(..excess);
        }
        let since = now - window_ms(config.window_secs);
        if campaign.recognized_at.is_none()
            && config.min_accounts > 0
            && campaign.accounts_since(since) >= config.min_accounts as usize
        {
            campaign.recognized_at = Some(now);
            if campaign.status == CampaignStatus::Watching {
                campaign.status = if config.hold_on_recognition {
                    CampaignStatus::Holding
                } else {
                    CampaignStatus::Recognized
                };
            }
            txn.audit(
                AuditEntry::new(now, Actor::System, "campaign_recognized")
                    .message(message.id)
                    .member(message.from)
                    .why(format!(
                        "campaign {}: one template from {} accounts within {}h (limit {}); {} \
                         messages so far",
                        campaign.id,
                        campaign.accounts_since(since),
                        config.window_secs / 3600,
                        config.min_accounts,
                        campaign.volume
                    )),
            )?;
            metrics::counter!("sendguard_campaigns_recognized_total").increment(1);
        }
        for band in template::bands(&self.limiter.config().template, signature) {
            txn.put_campaign_band(band, campaign.id);
        }
        txn.add_campaign_message(campaign.id, message.id);
        txn.put_campaign(&campaign);
        Ok(campaign.id)
    }

    /// Recognized campaigns (and those reviewers acted on), newest first.
    pub fn campaigns(&self, limit: usize) -> Result<Vec<CampaignView>> {
        let mut out = Vec::new();
        for id in self.store.listed_campaigns().take(limit) {
            if let Some(campaign) = self.store.campaign(id?)? {
                out.push(CampaignView::of(&campaign));
            }
        }
        Ok(out)
    }

    /// One campaign and its first `[campaigns] detail_messages` messages.
    pub fn campaign_detail(&self, id: CampaignId) -> Result<CampaignDetail> {
        let campaign = self.store.campaign(id)?.ok_or_else(campaign_not_found)?;
        let mut messages = Vec::new();
        for message_id in self
            .store
            .campaign_messages(id)
            .take(self.campaigns.detail_messages as usize)
        {
            if let Some(message) = self.store.message(message_id?)? {
                messages.push(CampaignMessage {
                    message_id: message.id,
                    from: message.from,
                    to: message.to,
                    created_at: message.created_at,
                    status: message.status,
                });
            }
        }
        Ok(CampaignDetail {
            campaign: CampaignView::of(&campaign),
            messages,
        })
    }

    /// A reviewer's action on a whole campaign, audited with their reason.
    pub async fn act_on_campaign(
        &self,
        reviewer: ReviewerId,
        id: CampaignId,
        request: CampaignActionRequest,
    ) -> Result<CampaignActionOutcome> {
        let reason = request.reason.trim().to_string();
        super::text_fields::bounded_text("reason", &reason, 1, MAX_REASON_CHARS)?;
        let now = self.clock.now();
        let message_ids: Vec<MessageId> = if request.action == CampaignAction::Release {
            self.store
                .campaign_messages(id)
                .collect::<std::result::Result<_, _>>()?
        } else {
            Vec::new()
        };
        let actor = Actor::Reviewer(reviewer);
        let why = format!("campaign {id}: {reason}");
        let (outcome, released) = self
            .commit(|txn| {
                let mut campaign = txn.campaign(id)?.ok_or_else(campaign_not_found)?;
                let mut restricted_accounts = 0;
                let mut released = Vec::new();
                match request.action {
                    CampaignAction::Hold => {
                        campaign.status = CampaignStatus::Holding;
                        campaign.recognized_at.get_or_insert(now);
                        campaign.released_at = None;
                    }
                    CampaignAction::Restrict => {
                        campaign.status = CampaignStatus::Holding;
                        campaign.recognized_at.get_or_insert(now);
                        campaign.accounts_restricted_at = Some(now);
                        for account in &campaign.accounts {
                            if super::sanctions::raise_restriction(
                                txn,
                                account.member_id,
                                RestrictionLevel::Full,
                                &format!("restricted by a reviewer as part of {why}"),
                                false,
                                now,
                            )? {
                                restricted_accounts += 1;
                                txn.audit(
                                    AuditEntry::new(now, actor, "restrict")
                                        .member(account.member_id)
                                        .why(why.clone()),
                                )?;
                            }
                        }
                    }
                    CampaignAction::Release => {
                        campaign.status = CampaignStatus::Released;
                        campaign.released_at = Some(now);
                        for &message_id in &message_ids {
                            let Some(mut message) = txn.message(message_id)? else {
                                continue;
                            };
                            if message.status != MessageStatus::Held {
                                continue;
                            }
                            let item = mailbox::withdraw_held_item(txn, message.id, now)?;
                            if mailbox::release(txn, &mut message, now)? {
                                campaign.held = campaign.held.saturating_sub(1);
                                campaign.delivered += 1;
                                txn.audit(
                                    AuditEntry::new(now, actor, "release")
                                        .message(message.id)
                                        .member(message.from)
                                        .item(item)
                                        .why(why.clone()),
                                )?;
                                released.push(message);
                            }
                        }
                    }
                }
                txn.audit(
                    AuditEntry::new(
                        now,
                        actor,
                        format!("campaign_{}", action_name(request.action)),
                    )
                    .why(why.clone()),
                )?;
                txn.put_campaign(&campaign);
                Ok::<_, Error>((
                    CampaignActionOutcome {
                        campaign: CampaignView::of(&campaign),
                        restricted_accounts,
                        released_messages: released.len() as u32,
                    },
                    released,
                ))
            })
            .await?;
        for message in &released {
            self.notify_delivered(message);
        }
        Ok(outcome)
    }
}

fn action_name(action: CampaignAction) -> &'static str {
    match action {
        CampaignAction::Hold => "hold",
        CampaignAction::Restrict => "restrict",
        CampaignAction::Release => "release",
    }
}

fn window_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2)
}
