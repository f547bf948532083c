//! The store on PostgreSQL: the same records as the embedded store, one table per kind
//! (`tables.rs`, `migrations/`), read and written through a pool.
//!
//! The store's API is synchronous (sled answers in microseconds, and `App` calls it from
//! its async handlers), while the PostgreSQL client is async. The backend owns a small
//! tokio runtime of its own: each call is spawned there and the caller waits on a channel,
//! so no runtime is ever nested inside another, whatever thread calls (on a worker of the
//! server's runtime the wait is `block_in_place`, so the worker's other tasks move on).
//! Every call is bounded by the configured timeout, so a database that stops answering
//! turns into [`StoreError::Unavailable`] (503 with `Retry-After`) instead of a hung
//! request.
//!
//! A write is one transaction that first takes transaction-scoped advisory locks, so the
//! reads that decide it (the relationship, the thread between two members, the limiter
//! state) see every write committed before and none can change until it commits:
//!
//! - A general write takes the schema's write lock exclusively: writes from every replica
//!   sharing the database are serialized exactly as the embedded store's write lock
//!   serializes them in one process.
//! - A write scoped to some members (a send: [`Postgres::begin_scoped`]) takes the schema's
//!   write lock *shared*, then one lock per member, in one order everywhere (so two scoped
//!   writes never wait for each other in a circle). Everything keyed by those members (their
//!   records, the thread between them, its views and folder entries, their limiter state,
//!   credits and idempotency records) is then theirs alone; records several members share
//!   (campaigns and their band index) are locked key by key as they are read or written.
//!   Sends between different members thus commit side by side, and PostgreSQL flushes
//!   their commits together (its own group commit): under the one exclusive lock every
//!   commit waited for the previous one's fsync, about 170 sends/s on this machine's disk.

mod batch_scan;
mod listing;
mod migrate;
mod search;
pub(super) mod tables;
mod txn;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

use super::{StoreError, StoreResult};
pub use migrate::Migration;
use tables::{Table, TABLES};
use txn::Opening;
pub use txn::Txn;

/// How many rows one page of a scan fetches.
const PAGE_ROWS: i64 = 512;

/// Set on every connection of the pool: prepared statements run on their generic plan,
/// planned once per connection. With PostgreSQL's default (`auto`) the store's statements
/// were planned again at every execution: their parameters are arrays (`key = ANY($1)`,
/// `unnest($1)`) and a row count, which a generic plan estimates at more rows than a
/// custom plan sees, so the server never switched to the generic plan; planning was a fifth
/// of the PostgreSQL backends' CPU under the load generator (`perf`, docs/PERFORMANCE.md).
/// Every statement of the store finds its rows through an index (by key, a key range or an
/// indexed column); a generic plan, not knowing how many keys an array holds, would scan a
/// small table whole instead (a member table of a few hundred rows, once per lookup: a third
/// of the backends' CPU when measured), so sequential scans are off for these sessions too.
/// Options given in the URL come after these, so a deployment can set either back.
const STORE_SESSION: &str = "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off";

/// Puts [`STORE_SESSION`] in front of the options `config` has from the URL.
fn with_store_session(config: &mut tokio_postgres::Config) {
    let options = match config.get_options() {
        Some(options) if !options.trim().is_empty() => format!("{STORE_SESSION} {options}"),
        _ => STORE_SESSION.to_string(),
    };
    config.options(options);
}

/// Locks `$1` (32-bit lock ids, see [`lock_id`]) in ascending order, in the single-key lock
/// space (apart from the write lock's two-key space), under this schema's hash.
const KEY_LOCKS: &str =
    "SELECT count(pg_advisory_xact_lock((hashtext(current_schema())::bigint << 32) | k)) \
     FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY k) AS ids";

/// A stable 32-bit id for a lock name (FNV-1a): every replica, of any build, must agree.
fn lock_id(name: &[u8]) -> i64 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i64::from(hash)
}

/// The lock of everything keyed by one member.
fn member_lock(member: u64) -> i64 {
    let mut name = b"member/".to_vec();
    name.extend_from_slice(&member.to_be_bytes());
    lock_id(&name)
}

/// Whether records of this table are shared between members (so a scoped write locks each
/// key it reads or writes): campaigns, found through the band index by any sender.
fn shared_between_members(table: usize) -> bool {
    [super::keys::CAMPAIGN, super::keys::CAMPAIGN_BAND].contains(&TABLES[table].tag)
}

/// Counts one round trip to the database carrying `statements` statements (`locked`: on a
/// write transaction's connection, while it holds its write locks), so the cost of a send
/// in round trips can be read off `/metrics` (the load generator divides by sends). A
/// statement prepared for the first time on a connection costs one more, not counted.
fn count_round_trip(statements: u64, locked: bool) {
    metrics::counter!("sendguard_pg_round_trips_total").increment(1);
    metrics::counter!("sendguard_pg_statements_total").increment(statements);
    if locked {
        metrics::counter!("sendguard_pg_locked_round_trips_total").increment(1);
    }
}

/// Where the database is and how the backend uses it (from `[store]`).
#[derive(Debug, Clone)]
pub struct PgSettings {
    pub url: String,
    pub pool_size: usize,
    pub timeout: Duration,
    pub retry_after_secs: u64,
}

impl PgSettings {
    /// The settings of `[store]`; an error names the missing key.
    pub fn from_config(config: &crate::config::StoreConfig) -> StoreResult<PgSettings> {
        let url = config.url.clone().ok_or_else(|| {
            StoreError::Config("[store] backend = \"postgres\" needs [store] url".into())
        })?;
        Ok(PgSettings {
            url,
            pool_size: config.pool_size,
            timeout: Duration::from_millis(config.timeout_ms),
            retry_after_secs: config.retry_after_secs,
        })
    }
}

/// The SQL of one table, built once.
struct TableSql {
    get: String,
    get_many: String,
    count: String,
    /// Indexed by `[lower_inclusive][reverse]`.
    page: [[String; 2]; 2],
}

static SQL: LazyLock<Vec<TableSql>> = LazyLock::new(|| {
    TABLES
        .iter()
        .map(|table| TableSql {
            get: table.get_sql(),
            get_many: table.get_many_sql(),
            count: table.count_sql(),
            page: [false, true]
                .map(|inclusive| [false, true].map(|reverse| table.page_sql(inclusive, reverse))),
        })
        .collect()
});

fn table_index(key: &[u8]) -> StoreResult<usize> {
    TABLES
        .iter()
        .position(|table| key.starts_with(table.tag))
        .ok_or_else(|| StoreError::UnknownKey {
            key: String::from_utf8_lossy(key).into_owned(),
        })
}

/// Maps a client error: a lost or refused connection means the database is unavailable,
/// and so does a transaction the server rolled back to break a deadlock (class 40: the
/// client retries after `Retry-After`); an error the server reported about a statement is
/// a store error.
pub(crate) fn pg_error(error: tokio_postgres::Error) -> StoreError {
    match error.code() {
        Some(code)
            if !["08", "40", "53", "57"]
                .iter()
                .any(|class| code.code().starts_with(class)) =>
        {
            StoreError::Postgres(error.to_string())
        }
        _ => unavailable(error.to_string()),
    }
}

/// An unavailable error; [`Postgres::block`] fills in the configured `Retry-After`.
fn unavailable(reason: impl Into<String>) -> StoreError {
    StoreError::Unavailable {
        reason: reason.into(),
        retry_after_secs: 0,
    }
}

fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(error) => pg_error(error),
        other => unavailable(other.to_string()),
    }
}

/// The PostgreSQL backend; shared by every clone of the [`super::Store`] handle.
pub struct Postgres {
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    timeout: Duration,
    retry_after_secs: u64,
    commits: AtomicU64,
    /// This process's writers, one at a time (see `Hold` in `store/mod.rs`).
    writer: std::sync::Mutex<()>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pool.close();
        // Dropping a runtime blocks, which tokio refuses inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Postgres {
    /// Builds the pool (connections are made when first needed) and its runtime.
    pub fn connect(settings: &PgSettings) -> StoreResult<Postgres> {
        let mut config: tokio_postgres::Config =
            settings
                .url
                .parse()
                .map_err(|error: tokio_postgres::Error| {
                    StoreError::Config(format!("[store] url: {error}"))
                })?;
        with_store_session(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sendguard-pg")
            .enable_all()
            .build()
            .map_err(|error| StoreError::Config(format!("starting the store runtime: {error}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            // A write may need a second connection while it holds the first.
            .max_size(settings.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(settings.timeout))
            .wait_timeout(Some(settings.timeout))
            .build()
            .map_err(|error| StoreError::Config(format!("[store] pool: {error}")))?;
        Ok(Postgres {
            runtime: Some(runtime),
            pool,
            timeout: settings.timeout,
            retry_after_secs: settings.retry_after_secs,
            commits: AtomicU64::new(0),
            writer: std::sync::Mutex::new(()),
        })
    }

    /// Runs `work` on the backend's runtime and waits for it, within the timeout.
    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = StoreResult<T>> + Send + 'static,
    ) -> StoreResult<T> {
        let (done, result) = std::sync::mpsc::sync_channel(1);
        let timeout = self.timeout;
        let runtime = self.runtime.as_ref().expect("runtime lives until drop");
        runtime.spawn(async move {
            let _ = done.send(within(timeout, work).await);
        });
        let wait = || {
            result
                .recv()
                .unwrap_or_else(|_| Err(unavailable("store runtime stopped")))
        };
        self.with_retry_after(off_the_workers(wait))
    }

    /// Runs `work` on the caller's own runtime, within the timeout: the send path's calls,
    /// made from the server's async handlers, with no hand-off to the backend's runtime and
    /// no worker taken out of the server's (see `Store::write_for_send`).
    async fn run_here<T>(&self, work: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        self.with_retry_after(within(self.timeout, work).await)
    }

    /// Fills in the configured `Retry-After` of an unavailable error.
    fn with_retry_after<T>(&self, outcome: StoreResult<T>) -> StoreResult<T> {
        outcome.map_err(|error| match error {
            StoreError::Unavailable { reason, .. } => StoreError::Unavailable {
                reason,
                retry_after_secs: self.retry_after_secs,
            },
            other => other,
        })
    }

    fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Runs `work` with a pooled connection.
    fn with_connection<T, F>(
        &self,
        work: impl FnOnce(Object) -> F + Send + 'static,
    ) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Future<Output = StoreResult<T>> + Send,
    {
        let pool = self.pool();
        self.block(async move {
            let connection = pool.get().await.map_err(pool_error)?;
            work(connection).await
        })
    }

    /// Applies the migrations not yet applied; returns what it applied.
    pub fn migrate(&self) -> StoreResult<Vec<&'static Migration>> {
        self.with_connection(|mut connection| async move { migrate::apply(&mut connection).await })
    }

    /// Fails unless every migration this build knows is applied (and no newer one).
    pub fn check_schema(&self) -> StoreResult<()> {
        self.with_connection(|connection| async move { migrate::check(&connection).await })
    }

    /// One round trip to the database.
    pub fn ping(&self) -> StoreResult<()> {
        self.with_connection(|connection| async move {
            count_round_trip(1, false);
            connection
                .simple_query("SELECT 1")
                .await
                .map_err(pg_error)?;
            Ok(())
        })
    }

    /// Bytes used by this store's tables and indexes.
    pub fn size(&self) -> StoreResult<u64> {
        self.with_connection(|connection| async move {
            let row = connection
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                    &[],
                )
                .await
                .map_err(pg_error)?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        })
    }

    pub fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    pub fn next_id(&self) -> StoreResult<u64> {
        self.with_connection(|connection| async move {
            let statement = connection
                .prepare_cached("SELECT nextval('sendguard_ids')")
                .await
                .map_err(pg_error)?;
            count_round_trip(1, false);
            let row = connection
                .query_one(&statement, &[])
                .await
                .map_err(pg_error)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    /// Makes ids handed out from now on larger than `at_least` (after an import).
    pub fn advance_ids(&self, at_least: u64) -> StoreResult<()> {
        self.with_connection(move |connection| async move {
            connection
                .execute(
                    "SELECT setval('sendguard_ids', greatest($1, \
                     (SELECT last_value FROM sendguard_ids)))",
                    &[&(at_least as i64)],
                )
                .await
                .map_err(pg_error)?;
            Ok(())
        })
    }

    pub fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let table = table_index(key)?;
        let key = key.to_vec();
        self.with_connection(move |connection| async move {
            count_round_trip(1, false);
            get_on(&connection, table, key).await
        })
    }

    /// The values of `keys` (of any tables), in one round trip.
    pub fn get_many(&self, keys: Vec<Vec<u8>>) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let lookups = lookups(&keys)?;
        self.with_connection(move |connection| async move {
            count_round_trip(1, false);
            get_many_on(&connection, &keys, lookups).await
        })
    }

    /// [`Postgres::get_many`] awaited on the caller's runtime.
    pub async fn get_many_here(&self, keys: Vec<Vec<u8>>) -> StoreResult<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let lookups = lookups(&keys)?;
        self.run_here(async {
            let connection = self.pool.get().await.map_err(pool_error)?;
            count_round_trip(1, false);
            get_many_on(&connection, &keys, lookups).await
        })
        .await
    }

    /// How many keys lie in `[lo, hi)` (both within one table).
    pub fn count(&self, lo: &[u8], hi: &[u8]) -> StoreResult<usize> {
        let table = table_index(lo)?;
        let (lo, hi) = (lo.to_vec(), clamp(table, hi));
        self.with_connection(move |connection| async move {
            let statement = connection
                .prepare_cached(&SQL[table].count)
                .await
                .map_err(pg_error)?;
            count_round_trip(1, false);
            let row = connection
                .query_one(&statement, &[&lo, &hi])
                .await
                .map_err(pg_error)?;
            Ok(row.get::<_, i64>(0) as usize)
        })
    }

    /// The keys and values in `[lo, hi)` (within one table), a page at a time.
    pub fn scan(self: &Arc<Self>, lo: Vec<u8>, hi: Vec<u8>, reverse: bool) -> Scan {
        let table = table_index(&lo);
        let hi = match table {
            Ok(table) => clamp(table, &hi),
            Err(_) => hi,
        };
        Scan {
            pg: Arc::clone(self),
            table,
            lo,
            hi,
            reverse,
            cursor: None,
            buffer: VecDeque::new(),
            done: false,
        }
    }

    fn page(
        &self,
        table: usize,
        lower: (Vec<u8>, bool),
        upper: Vec<u8>,
        reverse: bool,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with_connection(move |connection| async move {
            let (lower, inclusive) = lower;
            let sql = &SQL[table].page[usize::from(inclusive)][usize::from(reverse)];
            let statement = connection.prepare_cached(sql).await.map_err(pg_error)?;
            count_round_trip(1, false);
            let rows = connection
                .query(&statement, &[&lower, &upper, &PAGE_ROWS])
                .await
                .map_err(pg_error)?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        })
    }

    /// Runs one query of `(key, value)` rows on a pooled connection (the joined reads).
    pub(crate) fn rows(
        &self,
        sql: &'static str,
        params: Vec<tables::Param>,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with_connection(move |connection| async move {
            let statement = connection.prepare_cached(sql).await.map_err(pg_error)?;
            count_round_trip(1, false);
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let rows = connection
                .query(&statement, &refs)
                .await
                .map_err(pg_error)?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        })
    }

    /// Adds one to a refusal counter, outside any write transaction (see `stats.rs`).
    pub fn count_refusal(&self, key: Vec<u8>, day: u64, reason: String) -> StoreResult<()> {
        self.with_connection(move |connection| async move {
            let statement = connection
                .prepare_cached(
                    "INSERT INTO refusal_counts (key, day, reason, value) \
                     VALUES ($1, $2, $3, int8send(1)) ON CONFLICT (key) DO UPDATE \
                     SET value = int8send(sendguard_u64(refusal_counts.value) + 1)",
                )
                .await
                .map_err(pg_error)?;
            count_round_trip(1, false);
            connection
                .execute(&statement, &[&key, &(day as i64), &reason])
                .await
                .map_err(pg_error)?;
            Ok(())
        })
    }

    /// This process's writer lock; take it before [`Postgres::begin`].
    pub fn writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a write: a transaction holding the schema's write lock (opened with its first
    /// statements, see `txn.rs`).
    pub fn begin(self: &Arc<Self>) -> StoreResult<Txn> {
        let connection = self.with_connection(|connection| async move { Ok(connection) })?;
        let opening = Opening {
            exclusive: true,
            locks: Vec::new(),
        };
        Ok(Txn::new(self, connection, false, opening))
    }

    /// Starts a write scoped to `members`: a transaction holding the schema's write lock
    /// shared and each member's lock.
    pub fn begin_scoped(self: &Arc<Self>, members: &[u64]) -> StoreResult<Txn> {
        let connection = self.with_connection(|connection| async move { Ok(connection) })?;
        Ok(Txn::new(self, connection, true, scoped_opening(members)))
    }

    /// [`Postgres::begin_scoped`] awaited on the caller's runtime.
    pub async fn begin_scoped_here(self: &Arc<Self>, members: &[u64]) -> StoreResult<Txn> {
        let connection = self
            .run_here(async { self.pool.get().await.map_err(pool_error) })
            .await?;
        Ok(Txn::new(self, connection, true, scoped_opening(members)))
    }
}

/// The opening of a write scoped to `members`.
fn scoped_opening(members: &[u64]) -> Opening {
    Opening {
        exclusive: false,
        locks: members.iter().map(|&member| member_lock(member)).collect(),
    }
}

/// `work` within `timeout`; past it, the database is unavailable.
async fn within<T>(
    timeout: Duration,
    work: impl Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    match tokio::time::timeout(timeout, work).await {
        Ok(outcome) => outcome,
        Err(_) => Err(unavailable(format!(
            "PostgreSQL did not answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// Runs `call`, which blocks: on a worker of a multi-threaded runtime (the server's), tokio
/// is told first, so the worker's other tasks move to another thread meanwhile. Handing the
/// worker off costs a few thread switches, so a write runs whole inside one call (see
/// `Store::write_for`); the calls nested in it just run.
pub fn off_the_workers<T>(call: impl FnOnce() -> T) -> T {
    let on_multi_thread_worker = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if on_multi_thread_worker {
        tokio::task::block_in_place(call)
    } else {
        call()
    }
}

/// The end of `table`'s key range when `hi` lies past it.
fn clamp(table: usize, hi: &[u8]) -> Vec<u8> {
    let end = super::keys::prefix_end(TABLES[table].tag);
    if hi > end.as_slice() {
        end
    } else {
        hi.to_vec()
    }
}

async fn get_on(connection: &Object, table: usize, key: Vec<u8>) -> StoreResult<Option<Vec<u8>>> {
    let statement = connection
        .prepare_cached(&SQL[table].get)
        .await
        .map_err(pg_error)?;
    let row = connection
        .query_opt(&statement, &[&key])
        .await
        .map_err(pg_error)?;
    Ok(row.map(|row| row.get(0)))
}

/// `keys` by table: one lookup statement each.
fn lookups(keys: &[Vec<u8>]) -> StoreResult<BTreeMap<usize, Vec<Vec<u8>>>> {
    let mut by_table: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    for key in keys {
        by_table
            .entry(table_index(key)?)
            .or_default()
            .push(key.clone());
    }
    Ok(by_table)
}

/// Looks `keys` up in one statement (one `key = ANY(…)` per table, joined by `UNION ALL`:
/// each statement costs the server a round of parse, bind, snapshot and locks, about as much
/// as a small lookup itself), and answers in the order of `keys`.
async fn get_many_on(
    connection: &Object,
    keys: &[Vec<u8>],
    lookups: BTreeMap<usize, Vec<Vec<u8>>>,
) -> StoreResult<Vec<Option<Vec<u8>>>> {
    let found = find_on(connection, lookups, None).await?;
    Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
}

/// The records of the thread a pair record names, for a send's read-ahead: the thread's
/// and its members' views of it (`$P` the pair's key, `$M` the members, as `bigint[]`).
/// Found through the typed columns the keys are split into (`tables.rs`).
const PAIR_THREAD: &str = "SELECT key, convert_to(record::text, 'UTF8') FROM threads \
     WHERE thread_id = (SELECT thread_id FROM thread_pairs WHERE key = $P) \
     UNION ALL SELECT key, convert_to(record::text, 'UTF8') FROM thread_views \
     WHERE member_id = ANY($M::bigint[]) \
       AND thread_id = (SELECT thread_id FROM thread_pairs WHERE key = $P)";

/// A read that also follows a pair record to its thread ([`PAIR_THREAD`]).
pub(super) struct FollowPair {
    pub(super) pair: Vec<u8>,
    pub(super) members: Vec<i64>,
}

/// The rows found for `lookups` (and, with `follow`, for the thread the pair names), in one
/// statement, by key.
async fn find_on(
    connection: &Object,
    lookups: BTreeMap<usize, Vec<Vec<u8>>>,
    follow: Option<FollowPair>,
) -> StoreResult<std::collections::HashMap<Vec<u8>, Vec<u8>>> {
    let mut parts: Vec<String> = lookups
        .keys()
        .enumerate()
        .map(|(i, &table)| SQL[table].get_many.replace("$1", &format!("${}", i + 1)))
        .collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = lookups
        .values()
        .map(|keys| keys as &(dyn ToSql + Sync))
        .collect();
    if let Some(follow) = &follow {
        let pair = format!("${}", params.len() + 1);
        let members = format!("${}", params.len() + 2);
        parts.push(PAIR_THREAD.replace("$P", &pair).replace("$M", &members));
        params.push(&follow.pair);
        params.push(&follow.members);
    }
    let sql = parts.join(" UNION ALL ");
    let statement = connection.prepare_cached(&sql).await.map_err(pg_error)?;
    let rows = connection
        .query(&statement, &params)
        .await
        .map_err(pg_error)?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// A paged range scan; each page is one query.
pub struct Scan {
    pg: Arc<Postgres>,
    table: StoreResult<usize>,
    lo: Vec<u8>,
    hi: Vec<u8>,
    reverse: bool,
    /// The last key returned, where the next page starts.
    cursor: Option<Vec<u8>>,
    buffer: VecDeque<(sled::IVec, sled::IVec)>,
    done: bool,
}

impl Iterator for Scan {
    type Item = StoreResult<(sled::IVec, sled::IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entry) = self.buffer.pop_front() {
            return Some(Ok(entry));
        }
        if self.done {
            return None;
        }
        let table = match &self.table {
            Ok(table) => *table,
            Err(_) => {
                self.done = true;
                return Some(Err(table_index(&self.lo).unwrap_err()));
            }
        };
        let (lower, upper) = match (&self.cursor, self.reverse) {
            (None, _) => ((self.lo.clone(), true), self.hi.clone()),
            (Some(last), false) => ((last.clone(), false), self.hi.clone()),
            (Some(last), true) => ((self.lo.clone(), true), last.clone()),
        };
        match self.pg.page(table, lower, upper, self.reverse) {
            Ok(rows) => {
                self.done = (rows.len() as i64) < PAGE_ROWS;
                self.cursor = rows.last().map(|(key, _)| key.clone());
                self.buffer = rows
                    .into_iter()
                    .map(|(key, value)| (key.into(), value.into()))
                    .collect();
                self.buffer.pop_front().map(Ok)
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

fn malformed(table: &Table, key: &[u8]) -> StoreError {
    StoreError::UnknownKey {
        key: format!("{} ({})", String::from_utf8_lossy(key), table.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_session_options_come_before_the_urls_own() {
        let mut config: tokio_postgres::Config =
            "postgres://u@127.0.0.1/db?options=-c%20search_path%3Dsg%20-c%20enable_seqscan%3Don"
                .parse()
                .unwrap();
        with_store_session(&mut config);
        assert_eq!(
            config.get_options(),
            Some(
                "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off \
                 -c search_path=sg -c enable_seqscan=on"
            )
        );
        let mut plain: tokio_postgres::Config = "postgres://u@127.0.0.1/db".parse().unwrap();
        with_store_session(&mut plain);
        assert_eq!(plain.get_options(), Some(STORE_SESSION));
    }
}
