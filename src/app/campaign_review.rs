//! Campaigns for reviewers: the list of recognized campaigns, one campaign's detail, and
//! actions on a campaign as a whole: `hold` the rest, `restrict` every account, `release` it
//! (its held messages are delivered and its sends are no longer held for it). Each action is
//! audited with the reviewer's reason.

use serde::{Deserialize, Serialize};

use super::{mailbox, App};
use crate::domain::{
    Actor, AuditEntry, Campaign, CampaignAccount, CampaignId, CampaignStatus, MemberId, MessageId,
    MessageStatus, Millis, RestrictionLevel, ReviewerId,
};
use crate::error::{Error, Result};
use crate::store::{CampaignReader, Reader};

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
        let (outcome, announced) = self
            .commit(|txn| {
                let mut campaign = txn.campaign(id)?.ok_or_else(campaign_not_found)?;
                let mut restricted_accounts = 0;
                // Released messages, and those of them to announce to their recipients.
                let mut released = 0u32;
                let mut announced = Vec::new();
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
                            let release = mailbox::release(txn, &mut message, now)?;
                            if release.delivered() {
                                campaign.held = campaign.held.saturating_sub(1);
                                campaign.delivered += 1;
                                txn.audit(
                                    AuditEntry::new(now, actor, "release")
                                        .message(message.id)
                                        .member(message.from)
                                        .item(item)
                                        .why(why.clone()),
                                )?;
                                released += 1;
                                if release.shown() {
                                    announced.push(message);
                                }
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
                        released_messages: released,
                    },
                    announced,
                ))
            })
            .await?;
        for message in &announced {
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
