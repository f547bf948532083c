//! The report's campaigns section: coordinated campaigns recognized in the period (one
//! template sent to non-connections by many accounts), their accounts and volume, and how
//! each ended (held, restricted, released, or only recognized so far).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{CampaignId, Millis};
use crate::store::{CampaignReader, StoreResult};
use crate::Store;

/// Campaigns listed one per row at most (the totals cover all).
pub const MAX_ROWS: usize = 50;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CampaignFigures {
    /// Campaigns recognized in the period.
    pub recognized: u64,
    /// Accounts across them (each campaign's distinct accounts, summed).
    pub accounts: u64,
    /// Their messages to non-connections, and how many of those were delivered or held.
    pub volume: u64,
    pub delivered: u64,
    pub held: u64,
    /// How each ended: `held`, `restricted`, `released`, `recognized` (no action yet).
    pub by_outcome: BTreeMap<String, u64>,
    /// The largest campaigns by volume.
    pub campaigns: Vec<CampaignRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub recognized_at: Millis,
    pub accounts: u32,
    pub volume: u64,
    pub delivered: u64,
    pub held: u64,
    pub outcome: String,
}

/// Reads the campaigns recognized in `[from, to)` (a small list, not the message stream).
pub fn build(
    store: &Store,
    from: Option<Millis>,
    to: Option<Millis>,
) -> StoreResult<CampaignFigures> {
    let from = from.unwrap_or(Millis::MIN);
    let to = to.unwrap_or(Millis::MAX);
    let mut figures = CampaignFigures::default();
    for id in store.listed_campaigns() {
        let Some(campaign) = store.campaign(id?)? else {
            continue;
        };
        let Some(recognized_at) = campaign.recognized_at else {
            continue;
        };
        if !(from..to).contains(&recognized_at) {
            continue;
        }
        figures.recognized += 1;
        figures.accounts += u64::from(campaign.accounts_total);
        figures.volume += campaign.volume;
        figures.delivered += campaign.delivered;
        figures.held += campaign.held;
        *figures
            .by_outcome
            .entry(campaign.outcome().to_string())
            .or_default() += 1;
        figures.campaigns.push(CampaignRow {
            id: campaign.id,
            recognized_at,
            accounts: campaign.accounts_total,
            volume: campaign.volume,
            delivered: campaign.delivered,
            held: campaign.held,
            outcome: campaign.outcome().to_string(),
        });
    }
    figures
        .campaigns
        .sort_by(|a, b| b.volume.cmp(&a.volume).then(a.id.cmp(&b.id)));
    figures.campaigns.truncate(MAX_ROWS);
    Ok(figures)
}
