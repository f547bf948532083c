//! What erasing an account needs from the store: finding every record keyed by the member
//! (or naming them inside), and deleting or rewriting them. The order and the resumable
//! steps are `app::erasure`'s; this file only knows where things are.

use super::{decode, encode, keys, Reader, Store, StoreResult, WriteTxn};
use crate::domain::{
    Appeal, AuditEntry, ErasureRecord, Member, MemberId, Principal, ReportEntry, ThreadId,
};

/// Reads shared by the store and a write in progress.
pub trait LifecycleReader: Reader {
    /// The erasure of `member`, finished or under way.
    fn erasure(&self, member: MemberId) -> StoreResult<Option<ErasureRecord>> {
        self.json(&keys::ids(keys::ERASURE, &[member]))
    }
}

impl<R: Reader> LifecycleReader for R {}

impl Store {
    /// Every erasure, in erased-id order (reports count them).
    pub fn erasures(&self) -> impl Iterator<Item = StoreResult<ErasureRecord>> + '_ {
        self.records(keys::ERASURE)
    }

    /// The threads `member` takes part in (a pass over the pair index: one row per thread).
    pub fn threads_of(&self, member: MemberId) -> StoreResult<Vec<ThreadId>> {
        let mut threads = Vec::new();
        for entry in self.scan_prefix(keys::PAIR.to_vec()) {
            let (key, value) = entry?;
            let low = keys::u64_at(&key, keys::PAIR.len());
            let high = keys::u64_at(&key, keys::PAIR.len() + 8);
            if low == member || high == member {
                threads.push(keys::u64_at(&value, 0));
            }
        }
        Ok(threads)
    }

    /// Hashes of the member's bearer tokens (a pass over the tokens: there is no index by
    /// member, and erasure is rare).
    pub fn token_hashes_of(&self, member: MemberId) -> StoreResult<Vec<[u8; 32]>> {
        let mut hashes = Vec::new();
        for entry in self.scan_prefix(keys::TOKEN.to_vec()) {
            let (key, value) = entry?;
            if decode::<Principal>(&key, &value)? == Principal::Member(member) {
                if let Ok(hash) = <[u8; 32]>::try_from(&key[keys::TOKEN.len()..]) {
                    hashes.push(hash);
                }
            }
        }
        Ok(hashes)
    }

    /// The members `member` has blocked.
    pub fn blocked_by(&self, member: MemberId) -> StoreResult<Vec<MemberId>> {
        let prefix = keys::ids(keys::BLOCK, &[member]);
        let at = prefix.len();
        self.scan_prefix(prefix)
            .map(|entry| Ok(keys::u64_at(&entry?.0, at)))
            .collect()
    }

    /// The reports `reporter` made that still count against their senders: `(sender,
    /// report)`, in sender order.
    pub fn reports_by(&self, reporter: MemberId) -> StoreResult<Vec<(MemberId, ReportEntry)>> {
        let mut found = Vec::new();
        for entry in self.scan_prefix(keys::REPORTS_AGAINST.to_vec()) {
            let (key, value) = entry?;
            let sender = keys::u64_at(&key, keys::REPORTS_AGAINST.len());
            let reports: crate::domain::ReportsAgainst = decode(&key, &value)?;
            for report in reports.entries {
                if report.reporter == reporter {
                    found.push((sender, report));
                }
            }
        }
        Ok(found)
    }
}

/// Records stored under the member's id alone.
const MEMBER_RECORDS: [&[u8]; 6] = [
    keys::MEMBER,
    keys::SENDER_STATE,
    keys::REPORTS_AGAINST,
    keys::REPORTER_STANDING,
    keys::INMAIL_LEDGER,
    keys::SPONSORED_INBOX,
];

/// Records whose keys start with the member's id (the member's blocks of others among them).
const MEMBER_PREFIXES: [&[u8]; 8] = [
    keys::INMAIL,
    keys::IDEMPOTENCY,
    keys::VIEW,
    keys::FOLDER,
    keys::BLOCK,
    keys::SENDER_HOLDS,
    keys::OVERTURNED_RESTRICTION,
    keys::APPEAL_KEY,
];

impl WriteTxn<'_> {
    pub fn put_erasure(&mut self, record: &ErasureRecord) {
        self.put(
            keys::ids(keys::ERASURE, &[record.member_id]),
            encode(record),
        );
    }

    pub fn delete_token(&mut self, hash: &[u8; 32]) {
        self.delete(keys::with_bytes(keys::TOKEN, hash));
    }

    pub fn delete_label(&mut self, message: u64) {
        self.delete(keys::ids(keys::LABEL, &[message]));
    }

    pub fn delete_sender_state(&mut self, member: MemberId) {
        self.delete(keys::ids(keys::SENDER_STATE, &[member]));
    }

    /// Deletes an appeal with its queue entry (its one-per-target key goes with the
    /// member's records).
    pub fn delete_appeal(&mut self, appeal: &Appeal) {
        self.delete(keys::ids(keys::APPEAL, &[appeal.id]));
        self.delete(keys::ids(keys::APPEAL_QUEUE, &[appeal.id]));
    }

    /// Rewrites an audit entry in place. The log is append-only except for this: erasure
    /// pseudonymizes the entries about an erased member, and retention drops text.
    pub fn rewrite_audit(&mut self, entry: &AuditEntry) {
        self.put(audit_key(entry), encode(entry));
    }

    /// Drops an audit entry whose retention window passed.
    pub fn delete_audit(&mut self, entry: &AuditEntry) {
        self.delete(audit_key(entry));
    }

    /// Deletes every record keyed by the member: the profile and handle, limiter state,
    /// reports against them and their standing as a reporter, credits, idempotency keys,
    /// thread views and folder entries, connections and blocks (both ways), held-message
    /// and overturned-restriction indexes, and appeal keys. Returns how many it deleted
    /// (a second run deletes none).
    pub fn erase_member_records(&mut self, member: MemberId) -> StoreResult<u64> {
        let mut deleted = 0;
        let profile: Option<Member> = self.member(member)?;
        if let Some(profile) = profile {
            self.delete(keys::with_bytes(keys::HANDLE, profile.handle.as_bytes()));
            deleted += 1;
        }
        for tag in MEMBER_RECORDS {
            let key = keys::ids(tag, &[member]);
            if self.contains(&key)? {
                self.delete(key);
                deleted += 1;
            }
        }
        for tag in MEMBER_PREFIXES {
            deleted += self.delete_committed_prefix(keys::ids(tag, &[member]))?;
        }
        // Connections are stored both ways; blocks of the member by others are found by a
        // pass over the blocks.
        let connections = keys::ids(keys::CONNECTION, &[member]);
        let at = connections.len();
        let peers: Vec<u64> = self
            .store
            .scan_prefix(connections.clone())
            .map(|entry| Ok(keys::u64_at(&entry?.0, at)))
            .collect::<StoreResult<_>>()?;
        for peer in peers {
            self.delete(keys::ids(keys::CONNECTION, &[member, peer]));
            self.delete(keys::ids(keys::CONNECTION, &[peer, member]));
            deleted += 2;
        }
        let blocks_of_member: Vec<Vec<u8>> =
            self.store
                .scan_prefix(keys::BLOCK.to_vec())
                .filter_map(|entry| match entry {
                    Ok((key, _)) => (keys::u64_at(&key, keys::BLOCK.len() + 8) == member)
                        .then(|| Ok(key.to_vec())),
                    Err(error) => Some(Err(error)),
                })
                .collect::<StoreResult<_>>()?;
        for key in blocks_of_member {
            self.delete(key);
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Deletes every committed record under `prefix`; how many.
    fn delete_committed_prefix(&mut self, prefix: Vec<u8>) -> StoreResult<u64> {
        let found: Vec<Vec<u8>> = self
            .store
            .scan_prefix(prefix)
            .map(|entry| Ok(entry?.0.to_vec()))
            .collect::<StoreResult<_>>()?;
        let count = found.len() as u64;
        for key in found {
            self.delete(key);
        }
        Ok(count)
    }
}

fn audit_key(entry: &AuditEntry) -> Vec<u8> {
    keys::ids(keys::AUDIT, &[entry.at.max(0) as u64, entry.id])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key layout table in `keys.rs` names what each key starts with. A record added
    /// later under a member's id must be erased with the member, or this test names it.
    #[test]
    fn every_record_keyed_by_a_member_is_erased() {
        let layout = include_str!("keys.rs");
        // Connections and blocks of the member by others are deleted by their own passes;
        // the erasure record itself is what remains of the account, on purpose.
        let handled: Vec<&[u8]> = MEMBER_RECORDS
            .iter()
            .chain(MEMBER_PREFIXES.iter())
            .copied()
            .chain([keys::CONNECTION, keys::ERASURE])
            .collect();
        let mut member_keyed = Vec::new();
        for row in layout.lines().filter_map(|l| l.strip_prefix("//! | `")) {
            let (tag, rest) = row
                .split_once('`')
                .expect("a layout row names its tag in backquotes");
            let first_field = rest.split_whitespace().next().unwrap_or_default();
            if ["member", "sender", "blocker", "a"].contains(&first_field) {
                member_keyed.push(tag);
                assert!(
                    handled.contains(&tag.as_bytes()),
                    "`{tag}` is keyed by a member but erasure does not delete it"
                );
            }
        }
        assert!(
            member_keyed.len() >= 15,
            "too few member rows found: {member_keyed:?}"
        );
        for line in layout.lines().filter(|l| l.starts_with("pub const ")) {
            let tag = line
                .split('"')
                .nth(1)
                .expect("a tag constant is a byte string");
            assert!(
                layout.contains(&format!("//! | `{tag}`")),
                "`{tag}` is missing from the key layout table"
            );
        }
    }
}
