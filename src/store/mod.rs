//! The store, owned by this module alone, on one of two backends: sled (embedded, the
//! default) or PostgreSQL (`pg/`, shared by several replicas).
//!
//! Reads go straight to the backend. Writes go through [`Store::write`]: one closure under
//! the store's write lock builds a batch (reading its own pending writes), the batch is
//! applied atomically, and the caller gets a [`Ticket`] to await durability with
//! [`Store::durable`]. On sled the lock is a mutex, the batch one `apply_batch`, and
//! durability a group commit; on PostgreSQL the lock is an advisory lock of a transaction,
//! the batch that transaction, and the ticket is durable once it committed. The key layout
//! is documented in `keys.rs`, private to this module: everything outside reads and writes
//! through typed methods, never by building keys. The PostgreSQL backend keeps the same
//! records and keys in one table per kind (`pg/tables.rs`), so both backends run the same
//! typed code and agree by construction (`tests/store_conformance.rs` checks they do).

mod campaigns;
mod compact;
mod credits;
pub mod crypt;
mod erasure;
mod group_commit;
mod import;
mod keys;
mod pg;
mod read_ahead;
mod retention;
mod review;
mod send_txn;
mod sponsored;
mod stats;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::{
    Appeal, Folder, Member, MemberId, Message, MessageId, Principal, ReviewItem, Reviewer, Thread,
    ThreadId, ThreadView,
};
pub use campaigns::CampaignReader;
pub use compact::{compact, Compaction};
pub use credits::CreditReader;
pub use erasure::LifecycleReader;
use group_commit::GroupCommit;
pub use group_commit::Ticket;
pub use import::{import_sled, ImportReport, TableCopy};
pub use pg::PgSettings;
pub use read_ahead::{read_ahead_send, ReadAhead};
pub use review::ReviewReader;
pub use send_txn::OpenSend;
pub use sponsored::SponsoredReader;
pub use stats::RefusalCount;

/// The layout version this build reads and writes; see [`keys`]. Version 1 stores are
/// migrated on open (see [`migrate_from_schema_1`]).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O: {0}")]
    Sled(#[from] sled::Error),
    #[error("store record {key} is corrupt: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error(
        "store at {path} has schema version {found}; this build reads version {SCHEMA_VERSION}"
    )]
    Schema { path: String, found: u32 },
    #[error("store at {path} is in use by another process (is a server running on it?)")]
    Locked { path: String },
    #[error(
        "{path} is not a sendguard store (no sled `conf` and `db` files there); check --data, \
         or create a store with `sendguard seed --data {path}`"
    )]
    NotAStore { path: String },
    /// The database cannot be reached or stopped answering: retry after
    /// `retry_after_secs` (`[store] retry_after_secs`).
    #[error("store unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after_secs: u64,
    },
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("store schema: {0}")]
    Migrations(String),
    #[error("store configuration: {0}")]
    Config(String),
    #[error("no table holds the store key {key}")]
    UnknownKey { key: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Typed reads, shared by the store itself and by a write in progress.
pub trait Reader {
    fn raw(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;

    /// The keys message text is sealed with (`crypt`), if any.
    fn message_sealer(&self) -> Option<&crypt::Sealer>;
    /// The values of several keys; on PostgreSQL in one round trip.
    fn raw_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|key| self.raw(key)).collect()
    }

    /// Whether each read is a round trip worth saving by reading ahead ([`read_ahead`]).
    fn remote(&self) -> bool {
        false
    }

    fn json<T: DeserializeOwned>(&self, key: &[u8]) -> StoreResult<Option<T>> {
        match self.raw(key)? {
            None => Ok(None),
            Some(bytes) => decode(key, &bytes).map(Some),
        }
    }

    fn contains(&self, key: &[u8]) -> StoreResult<bool> {
        Ok(self.raw(key)?.is_some())
    }

    fn member(&self, id: MemberId) -> StoreResult<Option<Member>> {
        self.json(&keys::ids(keys::MEMBER, &[id]))
    }

    fn thread(&self, id: ThreadId) -> StoreResult<Option<Thread>> {
        self.json(&keys::ids(keys::THREAD, &[id]))
    }

    fn message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        let key = keys::ids(keys::MESSAGE, &[id]);
        match self.raw(&key)? {
            None => Ok(None),
            Some(bytes) => crypt::decode_message(self.message_sealer(), &key, &bytes).map(Some),
        }
    }

    fn view(&self, member: MemberId, thread: ThreadId) -> StoreResult<Option<ThreadView>> {
        self.json(&keys::ids(keys::VIEW, &[member, thread]))
    }

    fn connected(&self, a: MemberId, b: MemberId) -> StoreResult<bool> {
        self.contains(&keys::ids(keys::CONNECTION, &[a, b]))
    }

    fn blocked(&self, blocker: MemberId, blocked: MemberId) -> StoreResult<bool> {
        self.contains(&keys::ids(keys::BLOCK, &[blocker, blocked]))
    }

    /// Either member has blocked the other.
    fn blocked_either_way(&self, a: MemberId, b: MemberId) -> StoreResult<bool> {
        Ok(self.blocked(a, b)? || self.blocked(b, a)?)
    }

    fn thread_between(&self, a: MemberId, b: MemberId) -> StoreResult<Option<ThreadId>> {
        let key = keys::ids(keys::PAIR, &[a.min(b), a.max(b)]);
        Ok(self.raw(&key)?.map(|v| keys::u64_at(&v, 0)))
    }

    fn sender_state(&self, member: MemberId) -> StoreResult<Option<crate::limits::SenderState>> {
        self.json(&keys::ids(keys::SENDER_STATE, &[member]))
    }

    /// The message sent under `key`, and the hash of the request that sent it (none for
    /// records older than the hash).
    fn idempotent_send(
        &self,
        member: MemberId,
        key: &str,
    ) -> StoreResult<Option<(MessageId, Option<[u8; 32]>)>> {
        let mut record = keys::ids(keys::IDEMPOTENCY, &[member]);
        record.extend_from_slice(key.as_bytes());
        Ok(self.raw(&record)?.map(|v| {
            let hash = v.get(8..40).and_then(|h| <[u8; 32]>::try_from(h).ok());
            (keys::u64_at(&v, 0), hash)
        }))
    }

    /// The checkpoint of an unfinished batch rescore in `mode` (`dry` or `apply`).
    fn rescore_checkpoint<T: DeserializeOwned>(&self, mode: &str) -> StoreResult<Option<T>> {
        self.json(&keys::with_bytes(keys::RESCORE, mode.as_bytes()))
    }

    fn inmail_spent(&self, member: MemberId, month: u32) -> StoreResult<u32> {
        let mut key = keys::ids(keys::INMAIL, &[member]);
        key.extend_from_slice(&month.to_be_bytes());
        Ok(self.raw(&key)?.map_or(0, |v| {
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(&v[..4]);
            u32::from_be_bytes(bytes)
        }))
    }
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("domain types always serialize")
}

struct SledInner {
    db: sled::Db,
    writer: Mutex<()>,
    commits: Arc<GroupCommit>,
    flusher: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for SledInner {
    fn drop(&mut self) {
        self.commits.stop();
        if let Some(flusher) = self
            .flusher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = flusher.join();
        }
        if let Err(error) = self.db.flush() {
            tracing::error!(%error, "final store flush failed");
        }
    }
}

/// Schema 1 ordered threads whose last activity fell in the same millisecond oldest first;
/// schema 2 inverts the thread id in folder entries. Rewrites every folder entry and the
/// version in one atomic batch, so a crash leaves either layout whole.
fn migrate_from_schema_1(db: &sled::Db) -> StoreResult<()> {
    let mut batch = sled::Batch::default();
    for entry in db.scan_prefix(keys::FOLDER) {
        let (key, value) = entry?;
        // A key no build wrote is left as it is rather than guessed at.
        if let Some(migrated) = keys::folder_entry_from_schema_1(&key) {
            batch.remove(key);
            batch.insert(migrated, value);
        }
    }
    batch.insert(keys::SCHEMA, &SCHEMA_VERSION.to_be_bytes());
    db.apply_batch(batch)?;
    db.flush()?;
    tracing::info!("store migrated from schema 1 to {SCHEMA_VERSION}");
    Ok(())
}

/// A handle to the store; clones share one database.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Message-text keys; `None`: text is stored as written.
    sealer: Option<Arc<crypt::Sealer>>,
}

#[derive(Clone)]
enum Backend {
    Sled(Arc<SledInner>),
    Postgres(Arc<pg::Postgres>),
}

/// A key and a value as a scan yields them.
type Entry = StoreResult<(sled::IVec, sled::IVec)>;

/// The first key after every key that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while end.last() == Some(&0xff) {
        end.pop();
    }
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

impl Store {
    /// Opens (or creates) the store in `dir`, checking the schema version.
    /// Opens a store that must already exist. Commands that only read or change a store
    /// use it, so a mistyped `--data` is refused instead of creating an empty store there.
    pub fn open_existing(dir: &Path) -> StoreResult<Store> {
        if !(dir.join("conf").is_file() && dir.join("db").is_file()) {
            return Err(StoreError::NotAStore {
                path: dir.display().to_string(),
            });
        }
        Store::open(dir)
    }

    pub fn open(dir: &Path) -> StoreResult<Store> {
        let path = dir.display().to_string();
        let db = sled::Config::new()
            .path(dir)
            .open()
            .map_err(|error| match error {
                sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    StoreError::Locked { path: path.clone() }
                }
                sled::Error::Io(ref io) if io.to_string().contains("lock") => {
                    StoreError::Locked { path: path.clone() }
                }
                other => StoreError::Sled(other),
            })?;
        Store::on_sled(db, path)
    }

    /// The store on an open sled database: its schema checked (and migrated from an older
    /// one), the group-commit flusher started.
    fn on_sled(db: sled::Db, path: String) -> StoreResult<Store> {
        match db.get(keys::SCHEMA)? {
            Some(version) => {
                let found = u32::from_be_bytes(version.as_ref().try_into().unwrap_or([0; 4]));
                match found {
                    SCHEMA_VERSION => {}
                    1 => migrate_from_schema_1(&db)?,
                    _ => return Err(StoreError::Schema { path, found }),
                }
            }
            None => {
                db.insert(keys::SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
        }
        let (commits, flusher) = GroupCommit::start(db.clone());
        Ok(Store {
            backend: Backend::Sled(Arc::new(SledInner {
                db,
                writer: Mutex::new(()),
                commits,
                flusher: Mutex::new(Some(flusher)),
            })),
            // Offline commands get the keys from the environment; `open_configured` also
            // reads `[store] keys_file`.
            sealer: crypt::Sealer::configured(None)?.map(Arc::new),
        })
    }

    /// Opens the store on PostgreSQL; its migrations must all be applied
    /// (`sendguard migrate`).
    pub fn open_postgres(settings: &PgSettings) -> StoreResult<Store> {
        let postgres = pg::Postgres::connect(settings)?;
        postgres.check_schema()?;
        Ok(Store {
            backend: Backend::Postgres(Arc::new(postgres)),
            sealer: crypt::Sealer::configured(None)?.map(Arc::new),
        })
    }

    /// Applies the PostgreSQL migrations not yet applied; returns `(version, name)` of each
    /// applied now (none when the schema is current).
    pub fn migrate_postgres(settings: &PgSettings) -> StoreResult<Vec<(i32, &'static str)>> {
        let postgres = pg::Postgres::connect(settings)?;
        let applied = postgres.migrate()?;
        Ok(applied.iter().map(|m| (m.version, m.name)).collect())
    }

    /// Opens the store `[store]` configures: sled in `data_dir`, or PostgreSQL at `url`.
    pub fn open_configured(config: &crate::config::StoreConfig) -> StoreResult<Store> {
        let sealer = crypt::Sealer::configured(config.keys_file.as_deref())?;
        let store = match config.backend {
            crate::config::StoreBackend::Sled => Store::open(&config.data_dir),
            crate::config::StoreBackend::Postgres => {
                Store::open_postgres(&PgSettings::from_config(config)?)
            }
        }?;
        Ok(store.with_sealer(sealer))
    }

    /// `sled` or `postgres`, for `/readyz`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sled(_) => "sled",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether the store answers now: always for sled once open; one round trip for
    /// PostgreSQL.
    pub fn ping(&self) -> StoreResult<()> {
        match &self.backend {
            Backend::Sled(_) => Ok(()),
            Backend::Postgres(pg) => pg.ping(),
        }
    }

    /// Keys and values in `[lo, hi)` in key order (or reverse); the range lies within one
    /// record kind.
    fn entries(
        &self,
        lo: Vec<u8>,
        hi: Vec<u8>,
        reverse: bool,
    ) -> Box<dyn Iterator<Item = Entry> + '_> {
        match &self.backend {
            Backend::Sled(inner) => {
                let range = inner.db.range(lo..hi);
                if reverse {
                    Box::new(range.rev().map(|e| e.map_err(StoreError::from)))
                } else {
                    Box::new(range.map(|e| e.map_err(StoreError::from)))
                }
            }
            Backend::Postgres(pg) => Box::new(pg.scan(lo, hi, reverse)),
        }
    }

    /// Keys and values that start with `prefix`, in key order.
    fn scan_prefix(&self, prefix: Vec<u8>) -> Box<dyn Iterator<Item = Entry> + '_> {
        match &self.backend {
            Backend::Sled(inner) => Box::new(
                inner
                    .db
                    .scan_prefix(prefix)
                    .map(|e| e.map_err(StoreError::from)),
            ),
            Backend::Postgres(_) => {
                let end = prefix_end(&prefix);
                self.entries(prefix, end, false)
            }
        }
    }

    /// Runs `build` under the write lock and applies what it wrote as one atomic batch.
    /// Nothing is written when `build` fails.
    pub fn write<T, E>(
        &self,
        build: impl FnOnce(&mut WriteTxn<'_>) -> Result<T, E>,
    ) -> Result<(T, Ticket), E>
    where
        E: From<StoreError>,
    {
        let inner = match &self.backend {
            Backend::Sled(inner) => inner,
            Backend::Postgres(pg) => return self.write_postgres(pg, build),
        };
        let guard = inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut txn = WriteTxn {
            store: self,
            pending: BTreeMap::new(),
            hold: Hold::Sled { _writer: guard },
            fetched: Default::default(),
        };
        let value = build(&mut txn)?;
        let mut batch = sled::Batch::default();
        for (key, value) in std::mem::take(&mut txn.pending) {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        inner.db.apply_batch(batch).map_err(StoreError::from)?;
        let ticket = inner.commits.applied();
        drop(txn);
        Ok((value, ticket))
    }

    /// [`Store::write`] for a write that reads and changes only what is keyed by `members`
    /// (their records, the thread between them, its views, their limiter state, credits and
    /// idempotency records), besides records it creates and the campaign records, which the
    /// backend locks one by one: a send. On sled it is [`Store::write`]; on PostgreSQL,
    /// scoped writes of different members run side by side instead of one at a time (see
    /// `pg/mod.rs`). A write that touches anything else of another member must name them.
    pub fn write_for<T, E>(
        &self,
        members: &[MemberId],
        build: impl FnOnce(&mut WriteTxn<'_>) -> Result<T, E>,
    ) -> Result<(T, Ticket), E>
    where
        E: From<StoreError>,
    {
        match &self.backend {
            Backend::Sled(_) => self.write(build),
            Backend::Postgres(pg) => self.write_postgres_scoped(pg, members, build),
        }
    }

    /// [`Store::write`] on PostgreSQL: `build` runs inside the transaction, which commits
    /// before this returns, so the ticket is durable already.
    fn write_postgres<T, E>(
        &self,
        pg: &Arc<pg::Postgres>,
        build: impl FnOnce(&mut WriteTxn<'_>) -> Result<T, E>,
    ) -> Result<(T, Ticket), E>
    where
        E: From<StoreError>,
    {
        pg::off_the_workers(|| {
            let writer = pg.writer();
            let transaction = pg.begin()?;
            self.run_postgres(Some(writer), transaction, build)
        })
    }

    /// [`Store::write_for`] on PostgreSQL: no process-wide writer lock, the transaction
    /// locks `members` only.
    fn write_postgres_scoped<T, E>(
        &self,
        pg: &Arc<pg::Postgres>,
        members: &[MemberId],
        build: impl FnOnce(&mut WriteTxn<'_>) -> Result<T, E>,
    ) -> Result<(T, Ticket), E>
    where
        E: From<StoreError>,
    {
        pg::off_the_workers(|| {
            let transaction = pg.begin_scoped(members)?;
            self.run_postgres(None, transaction, build)
        })
    }

    /// Builds the write in `transaction` and commits it (or rolls it back when `build` fails).
    fn run_postgres<'s, T, E>(
        &'s self,
        writer: Option<MutexGuard<'s, ()>>,
        transaction: pg::Txn,
        build: impl FnOnce(&mut WriteTxn<'_>) -> Result<T, E>,
    ) -> Result<(T, Ticket), E>
    where
        E: From<StoreError>,
    {
        let mut txn = WriteTxn {
            store: self,
            pending: BTreeMap::new(),
            hold: Hold::Postgres {
                _writer: writer,
                transaction: Some(transaction),
            },
            fetched: Default::default(),
        };
        let built = build(&mut txn);
        let pending = std::mem::take(&mut txn.pending);
        let transaction = match &mut txn.hold {
            Hold::Postgres { transaction, .. } => transaction.take(),
            Hold::Sled { .. } => None,
        }
        .expect("a PostgreSQL write holds its transaction until here");
        match built {
            Ok(value) => {
                transaction.commit(pending)?;
                Ok((value, Ticket::DURABLE))
            }
            Err(error) => {
                transaction.rollback();
                Err(error)
            }
        }
    }

    /// Resolves when the write behind `ticket` is durable (group commit).
    pub async fn durable(&self, ticket: Ticket) {
        match &self.backend {
            Backend::Sled(inner) => inner.commits.wait(ticket).await,
            Backend::Postgres(_) => {}
        }
    }

    /// Flushes everything now (shutdown, CLI commands).
    pub fn flush(&self) -> StoreResult<()> {
        if let Backend::Sled(inner) = &self.backend {
            inner.db.flush()?;
        }
        Ok(())
    }

    /// fsyncs made (sled) or transactions committed (PostgreSQL).
    pub fn flush_count(&self) -> u64 {
        match &self.backend {
            Backend::Sled(inner) => inner.commits.flush_count(),
            Backend::Postgres(pg) => pg.commit_count(),
        }
    }

    pub fn size_on_disk(&self) -> u64 {
        match &self.backend {
            Backend::Sled(inner) => inner.db.size_on_disk().unwrap_or(0),
            Backend::Postgres(pg) => pg.size().unwrap_or(0),
        }
    }

    /// A fresh, never reused id.
    pub fn next_id(&self) -> StoreResult<u64> {
        match &self.backend {
            Backend::Sled(inner) => Ok(inner.db.generate_id()? + 1),
            Backend::Postgres(pg) => pg.next_id(),
        }
    }

    pub fn principal_for_token_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<Principal>> {
        self.json(&keys::with_bytes(keys::TOKEN, hash))
    }

    /// [`Store::principal_for_token_hash`] from an async caller (every request asks it): on
    /// PostgreSQL awaited on the caller's runtime, with no worker blocked.
    pub async fn principal_for_token_hash_here(
        &self,
        hash: &[u8; 32],
    ) -> StoreResult<Option<Principal>> {
        let key = keys::with_bytes(keys::TOKEN, hash);
        let value = match &self.backend {
            Backend::Sled(_) => return self.json(&key),
            Backend::Postgres(pg) => pg.get_many_here(vec![key.clone()]).await?.pop().flatten(),
        };
        value.map(|bytes| decode(&key, &bytes)).transpose()
    }

    pub fn member_by_handle(&self, handle: &str) -> StoreResult<Option<MemberId>> {
        let key = keys::with_bytes(keys::HANDLE, handle.as_bytes());
        Ok(self.raw(&key)?.map(|v| keys::u64_at(&v, 0)))
    }

    pub fn reviewer(&self, id: u64) -> StoreResult<Option<Reviewer>> {
        self.json(&keys::ids(keys::REVIEWER, &[id]))
    }

    /// One page of a member's folder listing, newest first, starting after `after`.
    pub fn folder_page(
        &self,
        member: MemberId,
        folder: Folder,
        after: Option<[u8; 16]>,
        limit: usize,
    ) -> StoreResult<Vec<(ThreadView, [u8; 16])>> {
        let prefix = keys::folder_prefix(member, folder);
        let mut start = prefix.clone();
        if let Some(position) = after {
            start.extend_from_slice(&position);
            start.push(0); // strictly after the cursor
        }
        let inner = match &self.backend {
            Backend::Sled(inner) => inner,
            Backend::Postgres(pg) => {
                let rows = pg.folder_entries(start, prefix_end(&prefix), limit)?;
                return rows
                    .into_iter()
                    .map(|(key, view)| {
                        let mut position = [0u8; 16];
                        position.copy_from_slice(&key[prefix.len()..prefix.len() + 16]);
                        Ok((decode(&key, &view)?, position))
                    })
                    .collect();
            }
        };
        let mut page = Vec::with_capacity(limit);
        for entry in inner.db.range(start..) {
            let (key, _) = entry?;
            if !key.starts_with(&prefix) || page.len() == limit {
                break;
            }
            let mut position = [0u8; 16];
            position.copy_from_slice(&key[prefix.len()..prefix.len() + 16]);
            let thread = keys::folder_thread_at(&key, prefix.len());
            if let Some(view) = self.view(member, thread)? {
                page.push((view, position));
            }
        }
        Ok(page)
    }

    /// A thread's messages in send order, newest last.
    pub fn thread_messages(&self, thread: ThreadId) -> StoreResult<Vec<Message>> {
        if let Backend::Postgres(pg) = &self.backend {
            let prefix = keys::ids(keys::THREAD_MESSAGES, &[thread]);
            let end = prefix_end(&prefix);
            return pg
                .thread_message_records(prefix, end)?
                .iter()
                .map(|record| crypt::decode_message(self.sealer(), b"msg/", record))
                .collect();
        }
        let mut messages = Vec::new();
        for id in self.thread_message_ids(thread, false) {
            if let Some(message) = self.message(id?)? {
                messages.push(message);
            }
        }
        Ok(messages)
    }

    /// A thread's message ids, oldest first or (with `newest_first`) newest first.
    pub fn thread_message_ids(
        &self,
        thread: ThreadId,
        newest_first: bool,
    ) -> Box<dyn Iterator<Item = StoreResult<MessageId>> + '_> {
        let prefix = keys::ids(keys::THREAD_MESSAGES, &[thread]);
        let offset = prefix.len();
        let end = prefix_end(&prefix);
        let to_id = move |entry: Entry| entry.map(|(key, _)| keys::u64_at(&key, offset));
        Box::new(self.entries(prefix, end, newest_first).map(to_id))
    }

    /// The member's delivered messages whose bodies hold every word of `query` (lower
    /// case), newest first, at most `limit`, with the member's view of each thread, leaving
    /// out conversations a block hides: on PostgreSQL, through its full-text index. `None`
    /// on sled, which has no index: the caller scans.
    pub fn indexed_search(
        &self,
        member: MemberId,
        query: &str,
        limit: usize,
    ) -> StoreResult<Option<Vec<(ThreadView, Message)>>> {
        let Backend::Postgres(pg) = &self.backend else {
            return Ok(None);
        };
        if self.sealer.is_some() {
            // The full-text index sees only sealed text: the caller scans instead.
            return Ok(None);
        }
        pg.search(member, query, limit)?
            .iter()
            .map(|(view, message)| Ok((decode(b"view/", view)?, decode(b"msg/", message)?)))
            .collect::<StoreResult<Vec<_>>>()
            .map(Some)
    }

    /// Every thread view of one member (any folder), in thread id order.
    pub fn views_of(&self, member: MemberId) -> impl Iterator<Item = StoreResult<ThreadView>> + '_ {
        let prefix = keys::ids(keys::VIEW, &[member]);
        self.scan_prefix(prefix).map(move |entry| {
            let (key, value) = entry?;
            decode(&key, &value)
        })
    }

    /// Every record under `tag`, decoded as `T`, in key order.
    fn records<T: DeserializeOwned>(
        &self,
        tag: &'static [u8],
    ) -> impl Iterator<Item = StoreResult<T>> + '_ {
        self.scan_prefix(tag.to_vec()).map(|entry| {
            let (key, value) = entry?;
            decode(&key, &value)
        })
    }

    /// Every stored message in id order, decoded as `T`: `T` may name only the fields a
    /// reader needs (reports never decode message bodies).
    pub fn message_facts<T: DeserializeOwned>(&self) -> impl Iterator<Item = StoreResult<T>> + '_ {
        self.records(keys::MESSAGE)
    }

    /// Every member, in id order.
    pub fn members(&self) -> impl Iterator<Item = StoreResult<crate::domain::Member>> + '_ {
        self.records(keys::MEMBER)
    }

    /// Every review item, open or decided, in id order.
    pub fn review_items(&self) -> impl Iterator<Item = StoreResult<ReviewItem>> + '_ {
        self.records(keys::REVIEW_ITEM)
    }

    /// Every appeal, in id order.
    pub fn appeals(&self) -> impl Iterator<Item = StoreResult<Appeal>> + '_ {
        self.records(keys::APPEAL)
    }

    /// Every stored message with id `>= start`, in id order, undecoded. Streams: sled
    /// pages through the tree, so memory does not grow with the store (batch rescoring).
    pub fn messages_from(
        &self,
        start: MessageId,
    ) -> impl Iterator<Item = StoreResult<RawMessage>> + '_ {
        let from = keys::ids(keys::MESSAGE, &[start]);
        let to = keys::prefix_end(keys::MESSAGE);
        self.entries(from, to, false).map(|entry| {
            let (key, bytes) = entry?;
            Ok(RawMessage {
                id: keys::u64_at(&key, keys::MESSAGE.len()),
                bytes: RawBytes::Sled(bytes),
                sealer: self.sealer.clone(),
            })
        })
    }

    /// The first stored message id and one past the last (`None`: no message): the two
    /// ends of the messages' key range, read from each side, so a batch job's task ranges
    /// cover the messages and not the whole id space.
    pub fn message_id_bounds(&self) -> StoreResult<Option<(MessageId, MessageId)>> {
        let end_of = |reverse: bool| -> StoreResult<Option<MessageId>> {
            let (lo, hi) = (keys::MESSAGE.to_vec(), keys::prefix_end(keys::MESSAGE));
            let entry = self.entries(lo, hi, reverse).next().transpose()?;
            Ok(entry.map(|(key, _)| keys::u64_at(&key, keys::MESSAGE.len())))
        };
        match (end_of(false)?, end_of(true)?) {
            (Some(first), Some(last)) => Ok(Some((first, last + 1))),
            _ => Ok(None),
        }
    }

    /// Stored messages with ids in `from..to`, in id order, undecoded, for batch jobs. On
    /// PostgreSQL the rows come in large pages, the next one read while the caller works
    /// on the current (`pg/batch_scan.rs`); on sled this is [`Store::messages_from`] with
    /// an end.
    pub fn messages_for_batch(
        &self,
        from: MessageId,
        to: MessageId,
    ) -> Box<dyn Iterator<Item = StoreResult<RawMessage>> + '_> {
        let lo = keys::ids(keys::MESSAGE, &[from]);
        let hi = keys::ids(keys::MESSAGE, &[to]);
        let raw = move |key: &[u8], bytes: RawBytes| RawMessage {
            id: keys::u64_at(key, keys::MESSAGE.len()),
            bytes,
            sealer: self.sealer.clone(),
        };
        match &self.backend {
            Backend::Sled(_) => Box::new(self.entries(lo, hi, false).map(move |entry| {
                let (key, bytes) = entry?;
                Ok(raw(&key, RawBytes::Sled(bytes)))
            })),
            Backend::Postgres(pg) => match pg.batch_scan(lo, hi) {
                Ok(scan) => Box::new(scan.map(move |entry| {
                    let (key, bytes) = entry?;
                    Ok(raw(&key, RawBytes::Fetched(bytes)))
                })),
                Err(error) => Box::new(std::iter::once(Err(error))),
            },
        }
    }

    /// How many records carry `tag` (a pass over the keys).
    fn count(&self, tag: &[u8]) -> usize {
        match &self.backend {
            Backend::Sled(inner) => inner.db.scan_prefix(tag).count(),
            Backend::Postgres(pg) => pg.count(tag, &keys::prefix_end(tag)).unwrap_or(0),
        }
    }

    /// How many messages are stored (a pass over the keys: for progress and small stores).
    pub fn message_count(&self) -> usize {
        self.count(keys::MESSAGE)
    }

    /// How many members exist (a pass over the keys).
    pub fn member_count(&self) -> usize {
        self.count(keys::MEMBER)
    }
}

/// A stored message not yet decoded, so a batch job can decode on its worker threads.
pub struct RawMessage {
    pub id: MessageId,
    bytes: RawBytes,
    sealer: Option<Arc<crypt::Sealer>>,
}

/// A record's bytes as the backend handed them over (no copy into another buffer).
enum RawBytes {
    Sled(sled::IVec),
    Fetched(Vec<u8>),
}

impl std::ops::Deref for RawBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            RawBytes::Sled(bytes) => bytes,
            RawBytes::Fetched(bytes) => bytes,
        }
    }
}

impl RawMessage {
    pub fn decode(&self) -> StoreResult<Message> {
        let key = format!("msg/{}", self.id);
        crypt::decode_message(self.sealer.as_deref(), key.as_bytes(), &self.bytes)
    }
}

impl Reader for Store {
    fn message_sealer(&self) -> Option<&crypt::Sealer> {
        self.sealer.as_deref()
    }

    fn raw(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Sled(inner) => Ok(inner.db.get(key)?.map(|v| v.to_vec())),
            Backend::Postgres(pg) => pg.get(key),
        }
    }

    fn raw_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        match &self.backend {
            Backend::Postgres(pg) => pg.get_many(keys.to_vec()),
            Backend::Sled(_) => keys.iter().map(|key| self.raw(key)).collect(),
        }
    }

    fn remote(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }
}

/// A write in progress: reads see its own pending writes; applied atomically at the end.
pub struct WriteTxn<'a> {
    store: &'a Store,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    hold: Hold<'a>,
    /// On PostgreSQL, what this write read from its transaction: the write's locks keep
    /// what it decides on from changing, so a record is fetched once (a send reads the
    /// views it then rewrites, and the relationship twice).
    fetched: std::cell::RefCell<std::collections::HashMap<Vec<u8>, Option<Vec<u8>>>>,
}

/// What keeps other writers out while a write is built.
enum Hold<'a> {
    /// The process's write lock.
    Sled { _writer: MutexGuard<'a, ()> },
    /// The transaction holding the database's write locks from its start, and (for a
    /// general write) the process's own writer lock, taken first so that general writers of
    /// one process wait for each other without holding pooled connections (one may need a
    /// second connection). A scoped write ([`Store::write_for`]) needs only its own.
    Postgres {
        _writer: Option<MutexGuard<'a, ()>>,
        transaction: Option<pg::Txn>,
    },
}

impl Reader for WriteTxn<'_> {
    fn message_sealer(&self) -> Option<&crypt::Sealer> {
        self.store.sealer.as_deref()
    }

    fn raw(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if let Some(value) = self.pending.get(key) {
            return Ok(value.clone());
        }
        let Some(transaction) = self.transaction() else {
            return self.store.raw(key);
        };
        if let Some(value) = self.fetched.borrow().get(key) {
            return Ok(value.clone());
        }
        let value = transaction.get(key)?;
        self.fetched
            .borrow_mut()
            .insert(key.to_vec(), value.clone());
        Ok(value)
    }

    fn raw_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let Some(transaction) = self.transaction() else {
            return keys.iter().map(|key| self.raw(key)).collect();
        };
        let missing: Vec<Vec<u8>> = {
            let fetched = self.fetched.borrow();
            keys.iter()
                .filter(|key| !self.pending.contains_key(*key) && !fetched.contains_key(*key))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let values = transaction.get_many(missing.clone())?;
            self.fetched
                .borrow_mut()
                .extend(missing.into_iter().zip(values));
        }
        keys.iter().map(|key| self.raw(key)).collect()
    }

    fn remote(&self) -> bool {
        self.transaction().is_some()
    }
}

impl WriteTxn<'_> {
    /// The PostgreSQL transaction this write runs in (none on sled).
    fn transaction(&self) -> Option<&pg::Txn> {
        match &self.hold {
            Hold::Postgres {
                transaction: Some(transaction),
                ..
            } => Some(transaction),
            _ => None,
        }
    }
}

impl WriteTxn<'_> {
    /// A fresh id; on PostgreSQL from the transaction's own connection.
    pub fn next_id(&self) -> StoreResult<u64> {
        match self.transaction() {
            Some(transaction) => transaction.next_id(),
            None => self.store.next_id(),
        }
    }

    /// A thread's message ids as committed before this write, oldest first (a message this
    /// write adds is not among them).
    pub fn committed_thread_message_ids(
        &self,
        thread: ThreadId,
    ) -> Box<dyn Iterator<Item = StoreResult<MessageId>> + '_> {
        self.store.thread_message_ids(thread, false)
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.pending.insert(key, Some(value));
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.pending.insert(key, None);
    }

    pub fn put_member(&mut self, member: &Member) {
        self.put(keys::ids(keys::MEMBER, &[member.id]), encode(member));
        self.put(
            keys::with_bytes(keys::HANDLE, member.handle.as_bytes()),
            member.id.to_be_bytes().to_vec(),
        );
    }

    pub fn put_token(&mut self, hash: &[u8; 32], principal: &Principal) {
        self.put(keys::with_bytes(keys::TOKEN, hash), encode(principal));
    }

    pub fn put_reviewer(&mut self, reviewer: &Reviewer) {
        self.put(keys::ids(keys::REVIEWER, &[reviewer.id]), encode(reviewer));
    }

    pub fn connect(&mut self, a: MemberId, b: MemberId) {
        self.put(keys::ids(keys::CONNECTION, &[a, b]), Vec::new());
        self.put(keys::ids(keys::CONNECTION, &[b, a]), Vec::new());
    }

    pub fn set_block(&mut self, blocker: MemberId, blocked: MemberId, on: bool) {
        let key = keys::ids(keys::BLOCK, &[blocker, blocked]);
        if on {
            self.put(key, Vec::new());
        } else {
            self.delete(key);
        }
    }

    pub fn put_thread(&mut self, thread: &Thread) {
        let [low, high] = thread.members;
        self.put(keys::ids(keys::THREAD, &[thread.id]), encode(thread));
        self.put(
            keys::ids(keys::PAIR, &[low, high]),
            thread.id.to_be_bytes().to_vec(),
        );
    }

    /// Stores a thread this write creates, whose id it drew from [`WriteTxn::next_id`]:
    /// nothing is keyed by a fresh id yet, so the members' views of the thread are known to
    /// be absent, and the write does not read them (on PostgreSQL each read of a record not
    /// read ahead is a round trip, and a new conversation read both views).
    pub fn put_new_thread(&mut self, thread: &Thread) {
        self.put_thread(thread);
        let mut fetched = self.fetched.borrow_mut();
        for member in thread.members {
            fetched
                .entry(keys::ids(keys::VIEW, &[member, thread.id]))
                .or_insert(None);
        }
    }

    /// Stores a message (new or changed) and indexes it under its thread.
    pub fn put_message(&mut self, message: &Message) {
        let stored = crypt::encode_message(self.store.sealer.as_deref(), message);
        self.put(keys::ids(keys::MESSAGE, &[message.id]), stored);
        self.put(
            keys::ids(keys::THREAD_MESSAGES, &[message.thread_id, message.id]),
            Vec::new(),
        );
    }

    /// Stores a thread view and moves its folder-listing entry from where `previous` had it.
    /// A view hidden by the member's report has no folder entry.
    pub fn put_view(&mut self, previous: Option<&ThreadView>, view: &ThreadView) {
        if let Some(previous) = previous.filter(|previous| previous.is_listed()) {
            self.delete(keys::folder_entry(
                previous.member,
                previous.listed_in(),
                previous.last_activity,
                previous.thread_id,
            ));
        }
        if view.is_listed() {
            self.put(
                keys::folder_entry(
                    view.member,
                    view.listed_in(),
                    view.last_activity,
                    view.thread_id,
                ),
                Vec::new(),
            );
        }
        self.put(
            keys::ids(keys::VIEW, &[view.member, view.thread_id]),
            encode(view),
        );
    }

    pub fn put_sender_state(&mut self, member: MemberId, state: &crate::limits::SenderState) {
        self.put(keys::ids(keys::SENDER_STATE, &[member]), encode(state));
    }

    pub fn put_idempotent_send(
        &mut self,
        member: MemberId,
        key: &str,
        message: MessageId,
        request_hash: &[u8; 32],
    ) {
        let mut record = keys::ids(keys::IDEMPOTENCY, &[member]);
        record.extend_from_slice(key.as_bytes());
        let mut value = message.to_be_bytes().to_vec();
        value.extend_from_slice(request_hash);
        self.put(record, value);
    }

    /// Saves the checkpoint of an unfinished rescore (`mode` is `dry` or `apply`).
    pub fn put_rescore_checkpoint<T: Serialize>(&mut self, mode: &str, checkpoint: &T) {
        self.put(
            keys::with_bytes(keys::RESCORE, mode.as_bytes()),
            encode(checkpoint),
        );
    }

    pub fn delete_rescore_checkpoint(&mut self, mode: &str) {
        self.delete(keys::with_bytes(keys::RESCORE, mode.as_bytes()));
    }

    pub fn set_inmail_spent(&mut self, member: MemberId, month: u32, spent: u32) {
        let mut key = keys::ids(keys::INMAIL, &[member]);
        key.extend_from_slice(&month.to_be_bytes());
        self.put(key, spent.to_be_bytes().to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Folder, Plan};

    fn member(id: u64, handle: &str) -> Member {
        Member {
            id,
            handle: handle.into(),
            display_name: handle.into(),
            plan: Plan::Free,
            created_at: 0,
            restriction: None,
        }
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let result: Result<((), Ticket), StoreError> = store.write(|txn| {
            txn.put_member(&member(1, "ada"));
            Err(StoreError::Locked { path: "x".into() })
        });
        assert!(result.is_err());
        assert_eq!(store.member(1).unwrap(), None);
    }

    #[test]
    fn a_write_reads_its_own_pending_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (seen, _) = store
            .write::<_, StoreError>(|txn| {
                txn.put_member(&member(7, "grace"));
                Ok(txn.member(7)?.map(|m| m.handle))
            })
            .unwrap();
        assert_eq!(seen.as_deref(), Some("grace"));
        assert_eq!(store.member_by_handle("grace").unwrap(), Some(7));
    }

    #[test]
    fn a_schema_1_store_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        // A schema 1 store, written directly: two threads active in the same millisecond,
        // keyed as schema 1 did (thread id as is, so the older thread came first), an
        // unrelated record, and a folder key no build wrote.
        let v1_entry = |thread: u64| {
            let mut key = keys::folder_prefix(9, Folder::Inbox);
            key.extend_from_slice(&(u64::MAX - 5_000).to_be_bytes());
            key.extend_from_slice(&thread.to_be_bytes());
            key
        };
        let db = sled::open(dir.path()).unwrap();
        db.insert(keys::SCHEMA, &1u32.to_be_bytes()).unwrap();
        db.insert(v1_entry(4), b"").unwrap();
        db.insert(v1_entry(6), b"").unwrap();
        db.insert(b"mem/other", b"kept").unwrap();
        db.insert(b"fld/short", b"odd").unwrap();
        db.flush().unwrap();
        // The same handle goes on: a second open could find sled's background threads
        // still holding the first one's lock.
        let store = Store::on_sled(db, dir.path().display().to_string()).unwrap();
        let Backend::Sled(inner) = &store.backend else {
            unreachable!("opened on sled")
        };
        let db = &inner.db;
        let version = db.get(keys::SCHEMA).unwrap().unwrap();
        assert_eq!(version.as_ref(), SCHEMA_VERSION.to_be_bytes());
        let prefix = keys::folder_prefix(9, Folder::Inbox);
        let threads: Vec<u64> = db
            .scan_prefix(&prefix)
            .map(|entry| keys::folder_thread_at(&entry.unwrap().0, prefix.len()))
            .collect();
        assert_eq!(threads, [6, 4], "the newer thread now lists first");
        assert_eq!(db.get(b"mem/other").unwrap().unwrap().as_ref(), b"kept");
        assert_eq!(db.get(b"fld/short").unwrap().unwrap().as_ref(), b"odd");
        assert_eq!(
            db.scan_prefix(keys::FOLDER).count(),
            3,
            "no entry lost or added"
        );
    }

    #[test]
    fn reopening_keeps_durable_writes_and_checks_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let (_, ticket) = store
                .write::<_, StoreError>(|txn| {
                    txn.put_member(&member(3, "linus"));
                    Ok(())
                })
                .unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(store.durable(ticket));
            assert!(store.flush_count() >= 1);
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.member(3).unwrap().unwrap().handle, "linus");
        drop(store);

        let db = sled::open(dir.path()).unwrap();
        db.insert(keys::SCHEMA, &99u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
        drop(db);
        let error = Store::open(dir.path()).err().unwrap();
        assert!(error.to_string().contains("schema version 99"), "{error}");
    }
}
