//! A send's write transaction, opened before the send is judged, so that on PostgreSQL its
//! context is read once, inside the transaction, and from the server's async handlers.
//!
//! Before, a send read its context twice: ahead of the write, to judge it outside any lock
//! (with the one exclusive write lock of the time, judging inside it would have stopped
//! every other send), then again inside the transaction, to check nothing had changed.
//! Sends now lock only their two members, so [`Store::open_send`] opens the transaction
//! first (its `BEGIN` and member locks travel with the read-ahead of the context, one round
//! trip, `read_ahead.rs`); the send is admitted and judged on what it read there (an
//! [`OpenSend`] is a [`Reader`]), and [`OpenSend::finish`] builds the write on those same
//! records, already fetched, and commits. The round trips every send makes (opening,
//! read-ahead, commit) are awaited on the caller's runtime: the server's worker is neither
//! blocked nor handed off for them, and no thread of the backend's runtime is woken (a
//! profile put a third of a replica's CPU in those hand-offs). A read the read-ahead did not
//! foresee (campaign records, a credit ledger) is still made on the transaction, blocking.
//!
//! On sled nothing is opened: an [`OpenSend`] reads the store, and `finish` is
//! [`Store::write`], which reads again under the process's write lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{
    crypt, pg, read_ahead, Backend, Hold, MemberId, Reader, Store, StoreError, StoreResult,
    ThreadId, Ticket, WriteTxn,
};

/// Records read in the transaction, by key (`None`: absent).
type Fetched = HashMap<Vec<u8>, Option<Vec<u8>>>;

/// A send's transaction, open (on PostgreSQL) with its two members locked.
pub struct OpenSend<'s> {
    store: &'s Store,
    /// `None` on sled.
    transaction: Option<pg::Txn>,
    fetched: Mutex<Fetched>,
}

impl Store {
    /// Opens the transaction of a send from `sender` to `to` (in `thread`, if named): on
    /// PostgreSQL it locks the two members and reads the send's context ahead, in the
    /// same round trip (see the module's documentation), the two limiter states with it
    /// when `limits_in_store`.
    pub async fn open_send(
        &self,
        sender: MemberId,
        to: MemberId,
        thread: Option<ThreadId>,
        limits_in_store: bool,
    ) -> StoreResult<OpenSend<'_>> {
        let (transaction, fetched) = match &self.backend {
            Backend::Sled(_) => (None, HashMap::new()),
            Backend::Postgres(pg) => {
                let transaction = pg.begin_scoped_here(&[sender, to]).await?;
                let fetched = read_ahead::send_records(
                    sender,
                    to,
                    thread,
                    limits_in_store,
                    |keys, pair, members| transaction.read_send_here(keys, pair, members),
                )
                .await?;
                (Some(transaction), fetched)
            }
        };
        Ok(OpenSend {
            store: self,
            transaction,
            fetched: Mutex::new(fetched),
        })
    }
}

impl OpenSend<'_> {
    fn fetched(&self) -> std::sync::MutexGuard<'_, Fetched> {
        self.fetched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Builds the write with `build` (its reads see what was read so far, and its own
    /// writes) and commits it, or rolls back when `build` fails. As [`Store::write`]: the
    /// ticket tells when the write is durable (at once on PostgreSQL).
    pub async fn finish<T, E>(
        self,
        build: impl FnOnce(&mut WriteTxn<'_>) -> Result<T, E>,
    ) -> Result<(T, Ticket), E>
    where
        E: From<StoreError>,
    {
        let OpenSend {
            store,
            transaction,
            fetched,
        } = self;
        let Some(transaction) = transaction else {
            return store.write(build);
        };
        let fetched = fetched.into_inner().unwrap_or_else(|e| e.into_inner());
        // The write in progress is not `Send`: it lives only in this block, between awaits.
        let (built, pending, transaction) = {
            let mut txn = WriteTxn {
                store,
                pending: BTreeMap::new(),
                hold: Hold::Postgres {
                    _writer: None,
                    transaction: Some(transaction),
                },
                fetched: std::cell::RefCell::new(fetched),
            };
            let built = build(&mut txn);
            let pending = std::mem::take(&mut txn.pending);
            let transaction = match &mut txn.hold {
                Hold::Postgres { transaction, .. } => transaction.take(),
                Hold::Sled { .. } => None,
            }
            .expect("a PostgreSQL write holds its transaction until here");
            (built, pending, transaction)
        };
        match built {
            Ok(value) => {
                transaction.commit_here(pending).await?;
                Ok((value, Ticket::DURABLE))
            }
            Err(error) => {
                transaction.rollback();
                Err(error)
            }
        }
    }

    /// Ends the transaction without writing (the send was refused before its write).
    pub fn abandon(self) {
        if let Some(transaction) = self.transaction {
            transaction.rollback();
        }
    }
}

impl Reader for OpenSend<'_> {
    fn message_sealer(&self) -> Option<&crypt::Sealer> {
        self.store.message_sealer()
    }

    fn raw(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.raw_many(&[key.to_vec()])?.pop().flatten())
    }

    fn raw_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let Some(transaction) = &self.transaction else {
            return self.store.raw_many(keys);
        };
        let missing: Vec<Vec<u8>> = {
            let fetched = self.fetched();
            keys.iter()
                .filter(|key| !fetched.contains_key(*key))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let values = transaction.get_many(missing.clone())?;
            self.fetched().extend(missing.into_iter().zip(values));
        }
        let fetched = self.fetched();
        Ok(keys
            .iter()
            .map(|key| fetched.get(key).cloned().flatten())
            .collect())
    }

    fn remote(&self) -> bool {
        self.transaction.is_some()
    }
}
