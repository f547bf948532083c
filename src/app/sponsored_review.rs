//! Reviewers and held sponsored campaigns: the campaigns whose content the sponsored
//! channel's policy held, and a reviewer's decision on one. Approving lets the advertiser
//! send it (the send still refuses what a `reject` rule matches); refusing ends it. Either is
//! audited, and the note is the statement of reasons the advertiser reads.

use serde::Deserialize;

use super::App;
use crate::domain::{
    Actor, AuditEntry, ReviewerId, SponsoredCampaign, SponsoredCampaignId, SponsoredReview,
    SponsoredStatus,
};
use crate::error::{Error, ErrorKind, Result};
use crate::store::SponsoredReader;

const MAX_NOTE_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SponsoredReviewAction {
    /// The hold was a false positive: the advertiser may send the campaign.
    Approve,
    /// The content may not run: the campaign can never be sent.
    Refuse,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SponsoredReviewRequest {
    pub action: SponsoredReviewAction,
    /// Shown to the advertiser as the statement of reasons (1-500 characters).
    pub note: String,
}

impl App {
    /// Held sponsored campaigns, oldest first: what waits for a reviewer. Campaigns are few
    /// next to messages, so this is a pass over them.
    pub fn held_sponsored_campaigns(&self, limit: usize) -> Result<Vec<SponsoredCampaign>> {
        let mut held = Vec::new();
        for campaign in self.store.sponsored_campaigns() {
            let campaign = campaign?;
            if campaign.status == SponsoredStatus::Held {
                held.push(campaign);
                if held.len() == limit {
                    break;
                }
            }
        }
        Ok(held)
    }

    /// A reviewer approves or refuses a held campaign; anything but a held one is 409.
    pub async fn review_sponsored_campaign(
        &self,
        reviewer: ReviewerId,
        id: SponsoredCampaignId,
        request: SponsoredReviewRequest,
    ) -> Result<SponsoredCampaign> {
        let note = request.note.trim().to_string();
        super::text_fields::bounded_text("note", &note, 1, MAX_NOTE_CHARS)?;
        let approved = request.action == SponsoredReviewAction::Approve;
        let now = self.clock.now();
        self.commit(|txn| {
            let mut campaign = txn.sponsored_campaign(id)?.ok_or_else(|| {
                Error::not_found(
                    "sponsored_campaign_not_found",
                    format!("no sponsored campaign {id}"),
                )
            })?;
            if campaign.status != SponsoredStatus::Held {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "sponsored_campaign_not_held",
                    format!("sponsored campaign {id} is not held: only held content is reviewed"),
                ));
            }
            campaign.status = if approved {
                SponsoredStatus::Approved
            } else {
                SponsoredStatus::Refused
            };
            campaign.review = Some(SponsoredReview {
                reviewer,
                approved,
                note: note.clone(),
                at: now,
            });
            let action = if approved {
                "sponsored_approve"
            } else {
                "sponsored_refuse"
            };
            txn.audit(
                AuditEntry::new(now, Actor::Reviewer(reviewer), action)
                    .why(format!("sponsored campaign {id}: {note}")),
            )?;
            txn.put_sponsored_campaign(&campaign);
            Ok(campaign)
        })
        .await
    }
}
