//! Reading ahead what a send is decided on. On PostgreSQL every read is a round trip, and
//! a send's context reads about ten records one after another (both members, the pair's
//! thread, blocks both ways, the connection, both views, both limiter states, both InMail
//! ledgers), outside
//! the write and again inside it. [`read_ahead_send`] fetches them in two round trips (the
//! records keyed by the two members, then those of the thread between them) and answers
//! the send's reads from what it fetched; on sled, where a read costs a microsecond, it
//! fetches nothing and every read goes straight through. A send's transaction reads the
//! same records ahead, awaited, in one round trip: the database follows the pair record to
//! its thread in the same statement ([`send_records`], `send_txn.rs`).

use std::collections::HashMap;

use super::{keys, Reader, StoreResult};
use crate::domain::{MemberId, ThreadId};

/// A reader that answers from what was read ahead, and asks `inner` for anything else.
pub struct ReadAhead<'r, R: Reader> {
    inner: &'r R,
    fetched: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<R: Reader> ReadAhead<'_, R> {
    fn fetch(&mut self, keys: Vec<Vec<u8>>) -> StoreResult<()> {
        let values = self.inner.raw_many(&keys)?;
        self.fetched.extend(keys.into_iter().zip(values));
        Ok(())
    }
}

impl<R: Reader> Reader for ReadAhead<'_, R> {
    fn message_sealer(&self) -> Option<&super::crypt::Sealer> {
        self.inner.message_sealer()
    }

    fn raw(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        match self.fetched.get(key) {
            Some(value) => Ok(value.clone()),
            None => self.inner.raw(key),
        }
    }

    fn raw_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let missing: Vec<Vec<u8>> = keys
            .iter()
            .filter(|key| !self.fetched.contains_key(*key))
            .cloned()
            .collect();
        let mut found: HashMap<Vec<u8>, Option<Vec<u8>>> = if missing.is_empty() {
            HashMap::new()
        } else {
            missing
                .iter()
                .cloned()
                .zip(self.inner.raw_many(&missing)?)
                .collect()
        };
        Ok(keys
            .iter()
            .map(|key| match self.fetched.get(key) {
                Some(value) => value.clone(),
                None => found.remove(key).flatten(),
            })
            .collect())
    }

    fn remote(&self) -> bool {
        self.inner.remote()
    }
}

/// The records a send from `sender` to `to` (in `thread`, if named) is decided on, read
/// ahead through `reader` when its reads are round trips; the two limiter states only when
/// `limits_in_store` (with `[limits] backend = "redis"` they live on Redis, and reading
/// their absent rows here cost the database a table lookup at every send).
pub fn read_ahead_send<R: Reader>(
    reader: &R,
    sender: MemberId,
    to: MemberId,
    thread: Option<ThreadId>,
    limits_in_store: bool,
) -> StoreResult<ReadAhead<'_, R>> {
    let mut ahead = ReadAhead {
        inner: reader,
        fetched: HashMap::new(),
    };
    if !reader.remote() {
        return Ok(ahead);
    }
    ahead.fetch(member_keys(sender, to, thread, limits_in_store))?;
    if let Some(id) = other_thread(&ahead.fetched, sender, to, thread) {
        ahead.fetch(thread_keys(sender, to, id).to_vec())?;
    }
    Ok(ahead)
}

/// The records a send is decided on, fetched by `fetch` in one round trip: `fetch` is given
/// the keys of the records keyed by the two members, the key of their pair record and the
/// two members, and answers what it found of those keys and of the thread the pair record
/// names (its record and both views), which the database follows in the same statement.
/// The limiter states are among the keys only when `limits_in_store`.
pub(super) async fn send_records<F, Fut>(
    sender: MemberId,
    to: MemberId,
    thread: Option<ThreadId>,
    limits_in_store: bool,
    fetch: F,
) -> StoreResult<HashMap<Vec<u8>, Option<Vec<u8>>>>
where
    F: FnOnce(Vec<Vec<u8>>, Vec<u8>, [MemberId; 2]) -> Fut,
    Fut: std::future::Future<Output = StoreResult<HashMap<Vec<u8>, Vec<u8>>>>,
{
    let keys = member_keys(sender, to, thread, limits_in_store);
    let found = fetch(keys.clone(), pair_key(sender, to), [sender, to]).await?;
    let mut fetched: HashMap<Vec<u8>, Option<Vec<u8>>> = keys
        .into_iter()
        .map(|key| {
            let value = found.get(&key).cloned();
            (key, value)
        })
        .collect();
    if let Some(id) = other_thread(&fetched, sender, to, thread) {
        for key in thread_keys(sender, to, id) {
            let value = found.get(&key).cloned();
            fetched.insert(key, value);
        }
    }
    Ok(fetched)
}

/// The records keyed by the two members (and those of the named thread); their limiter
/// states only when `limits_in_store`.
fn member_keys(
    sender: MemberId,
    to: MemberId,
    thread: Option<ThreadId>,
    limits_in_store: bool,
) -> Vec<Vec<u8>> {
    let mut keys = vec![
        keys::ids(keys::MEMBER, &[sender]),
        keys::ids(keys::MEMBER, &[to]),
        pair_key(sender, to),
        keys::ids(keys::BLOCK, &[to, sender]),
        keys::ids(keys::BLOCK, &[sender, to]),
        keys::ids(keys::CONNECTION, &[sender, to]),
        // The sender's InMail ledger (an InMail is charged to it) and the recipient's (a
        // reply refunds the recipient's InMails in the thread).
        keys::ids(keys::INMAIL_LEDGER, &[sender]),
        keys::ids(keys::INMAIL_LEDGER, &[to]),
    ];
    if limits_in_store {
        keys.push(keys::ids(keys::SENDER_STATE, &[sender]));
        keys.push(keys::ids(keys::SENDER_STATE, &[to]));
    }
    keys.extend(
        thread
            .into_iter()
            .flat_map(|id| thread_keys(sender, to, id)),
    );
    keys
}

fn pair_key(sender: MemberId, to: MemberId) -> Vec<u8> {
    keys::ids(keys::PAIR, &[sender.min(to), sender.max(to)])
}

/// The thread between the two members, when it is not the one already read.
fn other_thread(
    fetched: &HashMap<Vec<u8>, Option<Vec<u8>>>,
    sender: MemberId,
    to: MemberId,
    thread: Option<ThreadId>,
) -> Option<ThreadId> {
    fetched
        .get(&pair_key(sender, to))
        .cloned()
        .flatten()
        .map(|value| keys::u64_at(&value, 0))
        .filter(|&id| Some(id) != thread)
}

/// A thread's record and both members' views of it.
fn thread_keys(sender: MemberId, to: MemberId, thread: ThreadId) -> [Vec<u8>; 3] {
    [
        keys::ids(keys::THREAD, &[thread]),
        keys::ids(keys::VIEW, &[to, thread]),
        keys::ids(keys::VIEW, &[sender, thread]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_states_are_read_ahead_only_when_the_store_holds_them() {
        let states = [
            keys::ids(keys::SENDER_STATE, &[7]),
            keys::ids(keys::SENDER_STATE, &[8]),
        ];
        let with = member_keys(7, 8, Some(3), true);
        let without = member_keys(7, 8, Some(3), false);
        assert!(states.iter().all(|key| with.contains(key)));
        assert!(states.iter().all(|key| !without.contains(key)));
        // Everything else is read either way.
        assert_eq!(with.len(), without.len() + 2);
        assert!(without.iter().all(|key| with.contains(key)));
        assert!(without.contains(&keys::ids(keys::VIEW, &[7, 3])));
    }
}
