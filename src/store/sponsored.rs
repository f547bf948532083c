//! Sponsored-message records: advertisers, their sponsored campaigns (and each advertiser's
//! list of them), each member's side of the channel (opt-out and recent receipts, which the
//! frequency cap reads), which thread carries which campaign's message, and members'
//! replies to campaigns that take them.

use super::{encode, keys, Reader, Store, StoreResult, WriteTxn};
use crate::domain::{
    Advertiser, AdvertiserId, MemberId, MessageId, SponsoredCampaign, SponsoredCampaignId,
    SponsoredInbox, Thread, ThreadId,
};

/// Reads shared by the store and a write in progress.
pub trait SponsoredReader: Reader {
    fn advertiser(&self, id: AdvertiserId) -> StoreResult<Option<Advertiser>> {
        self.json(&keys::ids(keys::ADVERTISER, &[id]))
    }

    fn sponsored_campaign(
        &self,
        id: SponsoredCampaignId,
    ) -> StoreResult<Option<SponsoredCampaign>> {
        self.json(&keys::ids(keys::SPONSORED_CAMPAIGN, &[id]))
    }

    /// The member's opt-out and recent sponsored receipts (empty when they have none).
    fn sponsored_inbox(&self, member: MemberId) -> StoreResult<SponsoredInbox> {
        Ok(self
            .json(&keys::ids(keys::SPONSORED_INBOX, &[member]))?
            .unwrap_or_default())
    }

    /// The sponsored campaign whose message opened `thread`, if it is a sponsored thread.
    fn sponsored_thread(&self, thread: ThreadId) -> StoreResult<Option<SponsoredCampaignId>> {
        Ok(self
            .raw(&keys::ids(keys::SPONSORED_THREAD, &[thread]))?
            .map(|v| keys::u64_at(&v, 0)))
    }
}

impl<R: Reader> SponsoredReader for R {}

impl Store {
    /// An advertiser's sponsored campaigns, oldest first.
    pub fn advertiser_campaigns(
        &self,
        advertiser: AdvertiserId,
    ) -> impl Iterator<Item = StoreResult<SponsoredCampaignId>> + '_ {
        let prefix = keys::ids(keys::ADVERTISER_CAMPAIGNS, &[advertiser]);
        let offset = prefix.len();
        self.scan_prefix(prefix)
            .map(move |entry| Ok(keys::u64_at(&entry?.0, offset)))
    }

    /// Members' delivered replies to a sponsored campaign, oldest first.
    pub fn sponsored_replies(
        &self,
        campaign: SponsoredCampaignId,
    ) -> impl Iterator<Item = StoreResult<MessageId>> + '_ {
        let prefix = keys::ids(keys::SPONSORED_REPLIES, &[campaign]);
        let offset = prefix.len();
        self.scan_prefix(prefix)
            .map(move |entry| Ok(keys::u64_at(&entry?.0, offset)))
    }

    /// Every sponsored campaign, in id order (reports).
    pub fn sponsored_campaigns(&self) -> impl Iterator<Item = StoreResult<SponsoredCampaign>> + '_ {
        self.records(keys::SPONSORED_CAMPAIGN)
    }
}

impl WriteTxn<'_> {
    pub fn put_advertiser(&mut self, advertiser: &Advertiser) {
        self.put(
            keys::ids(keys::ADVERTISER, &[advertiser.id]),
            encode(advertiser),
        );
    }

    /// Stores a sponsored campaign and lists it under its advertiser.
    pub fn put_sponsored_campaign(&mut self, campaign: &SponsoredCampaign) {
        self.put(
            keys::ids(keys::SPONSORED_CAMPAIGN, &[campaign.id]),
            encode(campaign),
        );
        self.put(
            keys::ids(
                keys::ADVERTISER_CAMPAIGNS,
                &[campaign.advertiser, campaign.id],
            ),
            Vec::new(),
        );
    }

    pub fn add_sponsored_reply(&mut self, campaign: SponsoredCampaignId, message: MessageId) {
        self.put(
            keys::ids(keys::SPONSORED_REPLIES, &[campaign, message]),
            Vec::new(),
        );
    }

    pub fn put_sponsored_inbox(&mut self, member: MemberId, inbox: &SponsoredInbox) {
        self.put(keys::ids(keys::SPONSORED_INBOX, &[member]), encode(inbox));
    }

    /// Stores a sponsored message's own thread. Unlike [`WriteTxn::put_thread`] it is not
    /// the pair's thread: personal messages between the two never join it.
    pub fn put_sponsored_thread(&mut self, thread: &Thread, campaign: SponsoredCampaignId) {
        self.put(keys::ids(keys::THREAD, &[thread.id]), encode(thread));
        self.put(
            keys::ids(keys::SPONSORED_THREAD, &[thread.id]),
            campaign.to_be_bytes().to_vec(),
        );
    }
}
