//! Recipients' reactions to outreach, written back onto the sender's limiter state: the
//! recipient of a first message from a non-connection replied, blocked, reported, marked it
//! safe, or archived it unread (`limits::reactions` keeps one entry per recipient). Replies,
//! blocks and reports of a campaign's recipients also count on the campaign record.

use super::App;
use crate::domain::MemberId;
use crate::error::Result;
use crate::limits::Reaction;
use crate::store::{CampaignReader, Reader, WriteTxn};

impl App {
    /// Notes `recipient`'s reaction to `sender`'s outreach in the caller's batch; nothing is
    /// written when `sender` has no recent outreach to `recipient`.
    pub(super) fn note_reaction(
        &self,
        txn: &mut WriteTxn<'_>,
        sender: MemberId,
        recipient: MemberId,
        reaction: Reaction,
    ) -> Result<()> {
        let noted = match self.shared_reaction(sender, recipient, reaction) {
            Some(Ok(noted)) => noted,
            // Redis did not answer: the store's ledger keeps the reaction (as strikes do).
            Some(Err(error)) => {
                tracing::warn!(%error, sender, "reaction noted on the store's ledger");
                self.note_reaction_in_store(txn, sender, recipient, reaction)?
            }
            None => self.note_reaction_in_store(txn, sender, recipient, reaction)?,
        };
        let Some(noted) = noted else {
            return Ok(());
        };
        if noted.campaign != 0 && (noted.first_reply || noted.first_negative) {
            if let Some(mut campaign) = txn.campaign(noted.campaign)? {
                campaign.replied += u64::from(noted.first_reply);
                campaign.negative += u64::from(noted.first_negative);
                txn.put_campaign(&campaign);
            }
        }
        Ok(())
    }

    /// The embedded backend's ledger: the sender's state in the store.
    fn note_reaction_in_store(
        &self,
        txn: &mut WriteTxn<'_>,
        sender: MemberId,
        recipient: MemberId,
        reaction: Reaction,
    ) -> Result<Option<crate::limits::Noted>> {
        let Some(mut state) = txn.sender_state(sender)? else {
            return Ok(None);
        };
        let noted = self.limiter.note_reaction(&mut state, recipient, reaction);
        if noted.is_some() {
            txn.put_sender_state(sender, &state);
        }
        Ok(noted)
    }
}
