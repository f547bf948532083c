//! Trust-and-safety records in the store: review items and their queue, labels, appeals,
//! the append-only audit log, and each sender's held messages.

use super::{decode, encode, keys, Reader, Store, StoreResult, WriteTxn};
use crate::domain::{
    Appeal, AppealTarget, AuditEntry, LabelRecord, MemberId, MessageId, Millis,
    OverturnedRestriction, ReporterStanding, ReportsAgainst, ReviewItem, ThreadView,
};

/// Key of the "one appeal per target" record.
fn appeal_key(member: MemberId, target: &AppealTarget) -> Vec<u8> {
    match target {
        AppealTarget::Message { message_id } => {
            let mut key = keys::ids(keys::APPEAL_KEY, &[member, *message_id]);
            key.push(b'm');
            key
        }
        AppealTarget::Restriction { since } => {
            let mut key = keys::ids(keys::APPEAL_KEY, &[member, *since as u64]);
            key.push(b'r');
            key
        }
    }
}

/// Reads shared by the store and a write in progress.
pub trait ReviewReader: Reader {
    fn review_item(&self, id: u64) -> StoreResult<Option<ReviewItem>> {
        self.json(&keys::ids(keys::REVIEW_ITEM, &[id]))
    }

    fn open_review_item_for(&self, message: MessageId) -> StoreResult<Option<u64>> {
        let key = keys::ids(keys::REVIEW_BY_MESSAGE, &[message]);
        Ok(self.raw(&key)?.map(|v| keys::u64_at(&v, 0)))
    }

    fn appeal(&self, id: u64) -> StoreResult<Option<Appeal>> {
        self.json(&keys::ids(keys::APPEAL, &[id]))
    }

    fn appeal_for(&self, member: MemberId, target: &AppealTarget) -> StoreResult<Option<u64>> {
        Ok(self
            .raw(&appeal_key(member, target))?
            .map(|v| keys::u64_at(&v, 0)))
    }

    fn label(&self, message: MessageId) -> StoreResult<Option<LabelRecord>> {
        self.json(&keys::ids(keys::LABEL, &[message]))
    }

    fn reports_against(&self, sender: MemberId) -> StoreResult<ReportsAgainst> {
        Ok(self
            .json(&keys::ids(keys::REPORTS_AGAINST, &[sender]))?
            .unwrap_or_default())
    }

    fn reporter_standing(&self, member: MemberId) -> StoreResult<ReporterStanding> {
        Ok(self
            .json(&keys::ids(keys::REPORTER_STANDING, &[member]))?
            .unwrap_or_default())
    }
}

impl<R: Reader> ReviewReader for R {}

impl Store {
    /// Open review items, oldest first.
    pub fn open_review_items(&self) -> impl Iterator<Item = StoreResult<u64>> + '_ {
        self.index_ids(keys::REVIEW_QUEUE)
    }

    /// Open appeals, oldest first.
    pub fn open_appeals(&self) -> impl Iterator<Item = StoreResult<u64>> + '_ {
        self.index_ids(keys::APPEAL_QUEUE)
    }

    /// A sender's held messages (ever held, whatever became of them), oldest first.
    pub fn sender_holds(&self, sender: MemberId) -> impl Iterator<Item = StoreResult<u64>> + '_ {
        let prefix = keys::ids(keys::SENDER_HOLDS, &[sender]);
        let offset = prefix.len();
        self.scan_prefix(prefix)
            .map(move |entry| Ok(keys::u64_at(&entry?.0, offset)))
    }

    /// Audit entries with `from <= at < to`, in time order.
    pub fn audit_range(
        &self,
        from: Millis,
        to: Millis,
    ) -> impl Iterator<Item = StoreResult<AuditEntry>> + '_ {
        let start = keys::ids(keys::AUDIT, &[from.max(0) as u64]);
        let end = keys::ids(keys::AUDIT, &[to.max(0) as u64]);
        self.entries(start, end, false).map(|entry| {
            let (key, value) = entry?;
            decode(&key, &value)
        })
    }

    /// The member's restrictions that appeals overturned, oldest first.
    pub fn overturned_restrictions(
        &self,
        member: MemberId,
    ) -> impl Iterator<Item = StoreResult<OverturnedRestriction>> + '_ {
        let prefix = keys::ids(keys::OVERTURNED_RESTRICTION, &[member]);
        self.scan_prefix(prefix).map(|entry| {
            let (key, value) = entry?;
            decode(&key, &value)
        })
    }

    /// Every human label, in message id order.
    pub fn labels(&self) -> impl Iterator<Item = StoreResult<LabelRecord>> + '_ {
        self.scan_prefix(keys::LABEL.to_vec()).map(|entry| {
            let (key, value) = entry?;
            decode(&key, &value)
        })
    }

    fn index_ids(&self, tag: &'static [u8]) -> impl Iterator<Item = StoreResult<u64>> + '_ {
        self.scan_prefix(tag.to_vec())
            .map(move |entry| Ok(keys::u64_at(&entry?.0, tag.len())))
    }
}

impl WriteTxn<'_> {
    /// Stores an item; it stays in the open queue until it has a decision.
    pub fn put_review_item(&mut self, item: &ReviewItem) {
        self.put(keys::ids(keys::REVIEW_ITEM, &[item.id]), encode(item));
        let queued = keys::ids(keys::REVIEW_QUEUE, &[item.id]);
        let by_message = keys::ids(keys::REVIEW_BY_MESSAGE, &[item.message_id]);
        if item.is_open() {
            self.put(queued, Vec::new());
            self.put(by_message, item.id.to_be_bytes().to_vec());
        } else {
            self.delete(queued);
            self.delete(by_message);
        }
    }

    pub fn put_overturned_restriction(&mut self, member: MemberId, record: &OverturnedRestriction) {
        let since = record.restriction.since as u64;
        self.put(
            keys::ids(keys::OVERTURNED_RESTRICTION, &[member, since]),
            encode(record),
        );
    }

    pub fn put_reports_against(&mut self, sender: MemberId, reports: &ReportsAgainst) {
        self.put(keys::ids(keys::REPORTS_AGAINST, &[sender]), encode(reports));
    }

    pub fn put_reporter_standing(&mut self, member: MemberId, standing: &ReporterStanding) {
        self.put(
            keys::ids(keys::REPORTER_STANDING, &[member]),
            encode(standing),
        );
    }

    pub fn put_label(&mut self, label: &LabelRecord) {
        self.put(keys::ids(keys::LABEL, &[label.message_id]), encode(label));
    }

    pub fn put_appeal(&mut self, appeal: &Appeal) {
        self.put(keys::ids(keys::APPEAL, &[appeal.id]), encode(appeal));
        self.put(
            appeal_key(appeal.member, &appeal.target),
            appeal.id.to_be_bytes().to_vec(),
        );
        let queued = keys::ids(keys::APPEAL_QUEUE, &[appeal.id]);
        if appeal.outcome.is_none() {
            self.put(queued, Vec::new());
        } else {
            self.delete(queued);
        }
    }

    /// Appends to the audit log; entries are never changed or removed.
    pub fn audit(&mut self, mut entry: AuditEntry) -> StoreResult<()> {
        entry.id = self.next_id()?;
        let key = keys::ids(keys::AUDIT, &[entry.at.max(0) as u64, entry.id]);
        self.put(key, encode(&entry));
        Ok(())
    }

    pub fn note_sender_hold(&mut self, sender: MemberId, message: MessageId) {
        self.put(
            keys::ids(keys::SENDER_HOLDS, &[sender, message]),
            Vec::new(),
        );
    }

    /// Removes a member's view of a thread (and its folder entry): the thread leaves all
    /// of their folders until a new delivery brings it back.
    pub fn delete_view(&mut self, view: &ThreadView) {
        if view.is_listed() {
            self.delete(keys::folder_entry(
                view.member,
                view.listed_in(),
                view.last_activity,
                view.thread_id,
            ));
        }
        self.delete(keys::ids(keys::VIEW, &[view.member, view.thread_id]));
    }
}
