//! The report's sponsored section: sponsored campaigns sent in the period, their volume,
//! the targets they skipped by reason, and the reports and opt-outs they drew (to date),
//! beside campaigns the sponsored-message policy held or refused. Ids and numbers only:
//! no campaign text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{AdvertiserId, Millis, SponsoredCampaignId, SponsoredCounts, SponsoredStatus};
use crate::store::StoreResult;
use crate::Store;

/// Campaigns listed one per row at most (the totals cover all).
pub const MAX_ROWS: usize = 50;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SponsoredFigures {
    /// Sponsored campaigns sent in the period.
    pub sent: u64,
    /// Their messages delivered.
    pub delivered: u64,
    /// Their targets left out, by reason (`opted_out`, `frequency_cap`, …).
    pub skipped: BTreeMap<String, u64>,
    /// Members' reports (as misleading) and opt-outs their messages drew, to date.
    pub reports: u64,
    pub opt_outs: u64,
    /// Campaigns created in the period whose content the policy held or refused.
    pub held: u64,
    pub refused: u64,
    /// The largest sent campaigns by delivered volume, then the held and refused ones.
    pub campaigns: Vec<SponsoredRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SponsoredRow {
    pub id: SponsoredCampaignId,
    pub advertiser: AdvertiserId,
    /// `sent`, `held` or `refused`.
    pub status: String,
    /// The campaign's own counts, as stored with it (flattened: the same fields as before).
    #[serde(flatten)]
    pub counts: SponsoredCounts,
}

/// Reads the sponsored campaigns sent (or, held and refused ones, created) in `[from, to)`.
pub fn build(
    store: &Store,
    from: Option<Millis>,
    to: Option<Millis>,
) -> StoreResult<SponsoredFigures> {
    let period = from.unwrap_or(Millis::MIN)..to.unwrap_or(Millis::MAX);
    let mut figures = SponsoredFigures::default();
    for campaign in store.sponsored_campaigns() {
        let campaign = campaign?;
        let (status, at) = match campaign.status {
            SponsoredStatus::Sent => ("sent", campaign.sent_at.unwrap_or(campaign.created_at)),
            SponsoredStatus::Held => ("held", campaign.created_at),
            SponsoredStatus::Refused => ("refused", campaign.created_at),
            SponsoredStatus::Approved => continue,
        };
        if !period.contains(&at) {
            continue;
        }
        let counts = &campaign.counts;
        match campaign.status {
            SponsoredStatus::Held => figures.held += 1,
            SponsoredStatus::Refused => figures.refused += 1,
            _ => {
                figures.sent += 1;
                figures.delivered += counts.delivered;
                for (reason, count) in &counts.skipped {
                    *figures.skipped.entry(reason.clone()).or_default() += count;
                }
                figures.reports += counts.reports;
                figures.opt_outs += counts.opt_outs;
            }
        }
        figures.campaigns.push(SponsoredRow {
            id: campaign.id,
            advertiser: campaign.advertiser,
            status: status.to_string(),
            counts: counts.clone(),
        });
    }
    figures.campaigns.sort_by(|a, b| {
        (a.status != "sent")
            .cmp(&(b.status != "sent"))
            .then(b.counts.delivered.cmp(&a.counts.delivered))
            .then(a.id.cmp(&b.id))
    });
    figures.campaigns.truncate(MAX_ROWS);
    Ok(figures)
}
