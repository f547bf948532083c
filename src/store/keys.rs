//! The store's key layout, in one place.
//!
//! Everything lives in sled's default tree so that one send is one atomic batch. Keys are a
//! short ASCII tag, then big-endian binary fields, so prefix scans walk a member's or a
//! thread's records in id order. Values are JSON (tolerant of added fields, readable when
//! debugging), except the empty markers of index keys.
//!
//! | key | value |
//! |---|---|
//! | `meta/schema` | schema version, u32 BE |
//! | `mem/` member | `Member` |
//! | `hdl/` handle bytes | member id, u64 BE |
//! | `tok/` sha256(token) | `Principal` |
//! | `rev/` reviewer | `Reviewer` |
//! | `con/` a b | empty (stored both ways: a→b and b→a) |
//! | `blk/` blocker blocked | empty |
//! | `pair/` low high | thread id |
//! | `thr/` thread | `Thread` |
//! | `msg/` message | `Message` |
//! | `tmsg/` thread message | empty: a thread's messages in send order |
//! | `view/` member thread | `ThreadView` |
//! | `fld/` member folder !activity !thread | empty: folder listing, newest first (since schema 2, the newer thread first within one millisecond) |
//! | `inm/` member yyyymm | InMail credits spent that month, u32 BE |
//! | `crd/` member | `InmailLedger`: the member's InMail credit balance and the charges a reply would refund (replaces `inm/`, read once to open the ledger) |
//! | `idem/` member key bytes | message id of the send that used this idempotency key, then the SHA-256 of that request (absent in records written before it) |
//! | `rvi/` item | `ReviewItem` |
//! | `rvq/` item | empty: open review items, oldest first |
//! | `rvm/` message | id of the message's open review item |
//! | `lbl/` message | `LabelRecord`: the latest human label of a message |
//! | `apl/` appeal | `Appeal` |
//! | `aplq/` appeal | empty: open appeals, oldest first |
//! | `aplk/` member target | appeal id: one appeal per held message or restriction |
//! | `aud/` time id | `AuditEntry`, append-only, in time order |
//! | `sent/held/` sender message | empty: a sender's held messages, for statements of reasons |
//! | `rso/` member since | `OverturnedRestriction`: a restriction an appeal overturned, for statements |
//! | `rpa/` sender | `ReportsAgainst`: who reported the sender's messages recently, one entry per reporter and message |
//! | `rps/` member | `ReporterStanding`: how reviewers decided the member's reports |
//! | `lim/` member | `SenderState`: the member's rate, fan-out, cadence and strike state |
//! | `stat/refusal/` day reason | refused sends that day for that reason, u64 BE; `day` is days since 1970 (u64 BE), `reason` the error code, `rate_limited/<limit>` for rate limits (see `stats.rs`) |
//! | `cmp/` campaign | `Campaign`: one template sent to non-connections, its accounts and volume |
//! | `cmpb/` band | campaign id, u64 BE: the campaign of the last variant with this LSH band key (`limits::template::bands`) |
//! | `cmpl/` campaign | empty: recognized campaigns and those a reviewer acted on, for the list |
//! | `cmpm/` campaign message | empty: a campaign's messages in send order |
//! | `adv/` advertiser | `Advertiser` |
//! | `spc/` sponsored campaign | `SponsoredCampaign`: content, targets, budget, schedule, status and counts |
//! | `spca/` advertiser campaign | empty: an advertiser's sponsored campaigns |
//! | `spi/` member | `SponsoredInbox`: the member's sponsored opt-out and recent receipts (the frequency cap) |
//! | `spr/` sponsored campaign message | empty: members' delivered replies to a campaign that takes them |
//! | `spt/` thread | sponsored campaign id, u64 BE: the thread of one sponsored message (never a pair's thread) |
//! | `rescore/` mode | `Checkpoint` of an unfinished batch rescore (`dry` or `apply`) |
//! | `era/` member | `ErasureRecord`: an erased (or being erased) account, its pseudonym and counts |
//! | `sealing/` name | state of the message-text encryption: `rotation`, the checkpoint of a key rotation |

use crate::domain::{Folder, Millis};

pub const SCHEMA: &[u8] = b"meta/schema";

pub const MEMBER: &[u8] = b"mem/";
pub const HANDLE: &[u8] = b"hdl/";
pub const TOKEN: &[u8] = b"tok/";
pub const REVIEWER: &[u8] = b"rev/";
pub const CONNECTION: &[u8] = b"con/";
pub const BLOCK: &[u8] = b"blk/";
pub const PAIR: &[u8] = b"pair/";
pub const THREAD: &[u8] = b"thr/";
pub const MESSAGE: &[u8] = b"msg/";
pub const THREAD_MESSAGES: &[u8] = b"tmsg/";
pub const VIEW: &[u8] = b"view/";
pub const FOLDER: &[u8] = b"fld/";
pub const INMAIL: &[u8] = b"inm/";
pub const INMAIL_LEDGER: &[u8] = b"crd/";
pub const IDEMPOTENCY: &[u8] = b"idem/";
pub const REVIEW_ITEM: &[u8] = b"rvi/";
pub const REVIEW_QUEUE: &[u8] = b"rvq/";
pub const REVIEW_BY_MESSAGE: &[u8] = b"rvm/";
pub const LABEL: &[u8] = b"lbl/";
pub const APPEAL: &[u8] = b"apl/";
pub const APPEAL_QUEUE: &[u8] = b"aplq/";
pub const APPEAL_KEY: &[u8] = b"aplk/";
pub const AUDIT: &[u8] = b"aud/";
pub const SENDER_HOLDS: &[u8] = b"sent/held/";
pub const SENDER_STATE: &[u8] = b"lim/";
pub const REPORTS_AGAINST: &[u8] = b"rpa/";
pub const OVERTURNED_RESTRICTION: &[u8] = b"rso/";
pub const REPORTER_STANDING: &[u8] = b"rps/";
pub const STAT_REFUSAL: &[u8] = b"stat/refusal/";
pub const RESCORE: &[u8] = b"rescore/";
pub const CAMPAIGN: &[u8] = b"cmp/";
pub const CAMPAIGN_BAND: &[u8] = b"cmpb/";
pub const CAMPAIGN_LISTED: &[u8] = b"cmpl/";
pub const CAMPAIGN_MESSAGES: &[u8] = b"cmpm/";
pub const ADVERTISER: &[u8] = b"adv/";
pub const SPONSORED_CAMPAIGN: &[u8] = b"spc/";
pub const ADVERTISER_CAMPAIGNS: &[u8] = b"spca/";
pub const SPONSORED_INBOX: &[u8] = b"spi/";
pub const SPONSORED_THREAD: &[u8] = b"spt/";
pub const SPONSORED_REPLIES: &[u8] = b"spr/";
pub const ERASURE: &[u8] = b"era/";
pub const SEALING: &[u8] = b"sealing/";

/// `tag` followed by each id as 8 big-endian bytes.
pub fn ids(tag: &[u8], ids: &[u64]) -> Vec<u8> {
    let mut key = Vec::with_capacity(tag.len() + 8 * ids.len());
    key.extend_from_slice(tag);
    for id in ids {
        key.extend_from_slice(&id.to_be_bytes());
    }
    key
}

/// The first key after every key that starts with `tag` (tags end in `/`, never `0xff`).
pub fn prefix_end(tag: &[u8]) -> Vec<u8> {
    let mut end = tag.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

pub fn with_bytes(tag: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(tag.len() + bytes.len());
    key.extend_from_slice(tag);
    key.extend_from_slice(bytes);
    key
}

pub fn folder_byte(folder: Folder) -> u8 {
    match folder {
        Folder::Inbox => 0,
        Folder::Other => 1,
        Folder::Archived => 2,
    }
}

/// Prefix of one member's listing of one folder.
pub fn folder_prefix(member: u64, folder: Folder) -> Vec<u8> {
    let mut key = ids(FOLDER, &[member]);
    key.push(folder_byte(folder));
    key
}

/// Position within a folder listing: newest activity first, then, within one millisecond,
/// the newest thread (thread ids grow with time).
pub fn folder_position(last_activity: Millis, thread: u64) -> [u8; 16] {
    let mut position = [0u8; 16];
    let inverted = u64::MAX - last_activity.max(0) as u64;
    position[..8].copy_from_slice(&inverted.to_be_bytes());
    position[8..].copy_from_slice(&(u64::MAX - thread).to_be_bytes());
    position
}

/// The thread id of a folder entry whose position starts at `offset` of `key`.
pub fn folder_thread_at(key: &[u8], offset: usize) -> u64 {
    u64::MAX - u64_at(key, offset + 8)
}

/// A folder entry key of schema 1 (thread id not inverted) in this schema's layout.
/// `None` for a key of any other length than a folder entry's, which no build wrote.
pub fn folder_entry_from_schema_1(key: &[u8]) -> Option<Vec<u8>> {
    if key.len() != FOLDER.len() + 8 + 1 + 16 {
        return None;
    }
    let mut key = key.to_vec();
    let thread_at = key.len() - 8;
    let thread = u64_at(&key, thread_at);
    key[thread_at..].copy_from_slice(&(u64::MAX - thread).to_be_bytes());
    Some(key)
}

pub fn folder_entry(member: u64, folder: Folder, last_activity: Millis, thread: u64) -> Vec<u8> {
    let mut key = folder_prefix(member, folder);
    key.extend_from_slice(&folder_position(last_activity, thread));
    key
}

/// Reads the big-endian u64 at `offset` of a key (the layout above guarantees the length).
pub fn u64_at(key: &[u8], offset: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&key[offset..offset + 8]);
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_activity_sorts_first() {
        assert!(folder_position(2_000, 1) < folder_position(1_000, 1));
        assert!(folder_position(1_000, 2) < folder_position(1_000, 1));
        let key = folder_entry(7, Folder::Other, 1_000, 42);
        assert_eq!(
            folder_thread_at(&key, folder_prefix(7, Folder::Other).len()),
            42
        );
    }
}
