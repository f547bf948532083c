//! Campaign records in the store: the record, the LSH band index that finds the campaign a
//! new send's template belongs to, the list of recognized campaigns, and each campaign's
//! messages.

use super::{encode, keys, Reader, Store, StoreResult, WriteTxn};
use crate::domain::{Campaign, CampaignId, CampaignStatus, MessageId};

/// Reads shared by the store and a write in progress.
pub trait CampaignReader: Reader {
    fn campaign(&self, id: CampaignId) -> StoreResult<Option<Campaign>> {
        self.json(&keys::ids(keys::CAMPAIGN, &[id]))
    }

    /// The campaigns `ids`, read together (absent ones `None`), in the order of `ids`.
    fn campaigns(&self, ids: &[CampaignId]) -> StoreResult<Vec<Option<Campaign>>> {
        let keys: Vec<Vec<u8>> = ids
            .iter()
            .map(|&id| keys::ids(keys::CAMPAIGN, &[id]))
            .collect();
        self.raw_many(&keys)?
            .iter()
            .zip(&keys)
            .map(|(value, key)| value.as_deref().map(|v| super::decode(key, v)).transpose())
            .collect()
    }

    /// The campaign whose variant last had this LSH band key.
    fn campaign_of_band(&self, band: u64) -> StoreResult<Option<CampaignId>> {
        Ok(self
            .raw(&keys::ids(keys::CAMPAIGN_BAND, &[band]))?
            .map(|v| keys::u64_at(&v, 0)))
    }

    /// [`CampaignReader::campaign_of_band`] of each band, read together (a signature has
    /// dozens of bands: on PostgreSQL one round trip instead of one each).
    fn campaigns_of_bands(&self, bands: &[u64]) -> StoreResult<Vec<Option<CampaignId>>> {
        let keys: Vec<Vec<u8>> = bands
            .iter()
            .map(|&band| keys::ids(keys::CAMPAIGN_BAND, &[band]))
            .collect();
        Ok(self
            .raw_many(&keys)?
            .into_iter()
            .map(|value| value.map(|v| keys::u64_at(&v, 0)))
            .collect())
    }
}

impl<R: Reader> CampaignReader for R {}

impl Store {
    /// Recognized campaigns (and any a reviewer acted on), newest first.
    pub fn listed_campaigns(&self) -> impl Iterator<Item = StoreResult<CampaignId>> + '_ {
        let tag = keys::CAMPAIGN_LISTED;
        self.entries(tag.to_vec(), keys::prefix_end(tag), true)
            .map(move |entry| Ok(keys::u64_at(&entry?.0, tag.len())))
    }

    /// A campaign's messages, oldest first.
    pub fn campaign_messages(
        &self,
        campaign: CampaignId,
    ) -> impl Iterator<Item = StoreResult<MessageId>> + '_ {
        let prefix = keys::ids(keys::CAMPAIGN_MESSAGES, &[campaign]);
        let offset = prefix.len();
        self.scan_prefix(prefix)
            .map(move |entry| Ok(keys::u64_at(&entry?.0, offset)))
    }
}

impl WriteTxn<'_> {
    /// Stores a campaign; recognized ones (and those a reviewer touched) are listed.
    pub fn put_campaign(&mut self, campaign: &Campaign) {
        self.put(keys::ids(keys::CAMPAIGN, &[campaign.id]), encode(campaign));
        if campaign.recognized_at.is_some() || campaign.status != CampaignStatus::Watching {
            self.put(keys::ids(keys::CAMPAIGN_LISTED, &[campaign.id]), Vec::new());
        }
    }

    /// Points an LSH band key at a campaign (the latest variant with that band wins).
    pub fn put_campaign_band(&mut self, band: u64, campaign: CampaignId) {
        self.put(
            keys::ids(keys::CAMPAIGN_BAND, &[band]),
            campaign.to_be_bytes().to_vec(),
        );
    }

    pub fn add_campaign_message(&mut self, campaign: CampaignId, message: MessageId) {
        self.put(
            keys::ids(keys::CAMPAIGN_MESSAGES, &[campaign, message]),
            Vec::new(),
        );
    }
}
