//! Coordinated campaigns: one template sent by many accounts inside a window.
//!
//! A campaign record is what reviewers see and act on as a whole: the template's variants
//! (MinHash signatures, kept to match new sends), the accounts, first and last sight, the
//! volume and how much of it was delivered or held, and what was done about it. Every
//! template sent to non-connections founds or joins a record; only a record with enough
//! accounts in the window is *recognized* (and listed); the others are candidates.

use serde::{Deserialize, Serialize};

use super::{MemberId, Millis};

pub type CampaignId = u64;

/// What happens to the campaign's next sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// A candidate: not enough accounts yet; its sends go on as their own verdicts say.
    Watching,
    /// Enough accounts sent it within the window: listed for reviewers, and its sends carry
    /// the `campaign` signal (which holds with corroboration, as near-identical outreach does).
    Recognized,
    /// A reviewer held it (or `hold_on_recognition`): the rest of its sends are held.
    Holding,
    /// A reviewer released it: its held messages were delivered and its sends are no longer
    /// held for being part of it.
    Released,
}

/// One account of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignAccount {
    pub member_id: MemberId,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub messages: u32,
}

/// The stored campaign record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: CampaignId,
    pub first_seen: Millis,
    pub last_seen: Millis,
    /// Messages of the template sent to non-connections.
    pub volume: u64,
    pub delivered: u64,
    pub held: u64,
    /// Recipients of its delivered messages who answered, and who blocked or reported the
    /// sender (each once): how people received the campaign as a whole.
    #[serde(default)]
    pub replied: u64,
    #[serde(default)]
    pub negative: u64,
    /// Distinct accounts ever seen (the list below is capped).
    pub accounts_total: u32,
    pub accounts: Vec<CampaignAccount>,
    pub status: CampaignStatus,
    /// When enough accounts sent it inside the window (or a reviewer held it).
    pub recognized_at: Option<Millis>,
    /// When a reviewer restricted every account.
    pub accounts_restricted_at: Option<Millis>,
    pub released_at: Option<Millis>,
    /// MinHash signatures of recent variants (limits::template), to match new sends.
    #[serde(default)]
    #[schema(value_type = Vec<Vec<u16>>)]
    pub variants: Vec<Vec<u16>>,
}

impl Campaign {
    /// Accounts seen at or after `since`.
    pub fn accounts_since(&self, since: Millis) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.last_seen >= since)
            .count()
    }

    /// How the campaign ended (or stands), for reports: `restricted`, `released`, `held`,
    /// `recognized` or `watching`.
    pub fn outcome(&self) -> &'static str {
        if self.accounts_restricted_at.is_some() {
            "restricted"
        } else {
            match self.status {
                CampaignStatus::Released => "released",
                CampaignStatus::Holding => "held",
                CampaignStatus::Recognized => "recognized",
                CampaignStatus::Watching => "watching",
            }
        }
    }
}
