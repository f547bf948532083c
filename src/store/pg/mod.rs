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
//! A write is one transaction that first takes a transaction-scoped advisory lock of the
//! schema: writes from every replica sharing the database are serialized exactly as the
//! embedded store's write lock serializes them in one process, so the reads that decide a
//! write (the relationship, the thread between two members, the limiter state) see every
//! write committed before, and none can change until this one commits.

mod listing;
mod migrate;
mod search;
pub(super) mod tables;

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

/// How many rows one page of a scan fetches.
const PAGE_ROWS: i64 = 512;

/// The first key of the advisory lock that serializes writes (ASCII `SGST`); the second is
/// a hash of the schema, so stores in different schemas of one database do not contend.
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(1397183508, hashtext(current_schema()))";

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
    put: String,
    delete: String,
    count: String,
    /// Indexed by `[lower_inclusive][reverse]`.
    page: [[String; 2]; 2],
}

static SQL: LazyLock<Vec<TableSql>> = LazyLock::new(|| {
    TABLES
        .iter()
        .map(|table| TableSql {
            get: table.get_sql(),
            put: table.put_sql(),
            delete: table.delete_sql(),
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

/// Maps a client error: a lost or refused connection means the database is unavailable;
/// an error the server reported about a statement is a store error.
pub(crate) fn pg_error(error: tokio_postgres::Error) -> StoreError {
    match error.code() {
        Some(code)
            if !["08", "53", "57"]
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
        let config: tokio_postgres::Config =
            settings
                .url
                .parse()
                .map_err(|error: tokio_postgres::Error| {
                    StoreError::Config(format!("[store] url: {error}"))
                })?;
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
            let outcome = match tokio::time::timeout(timeout, work).await {
                Ok(outcome) => outcome,
                Err(_) => Err(unavailable(format!(
                    "PostgreSQL did not answer within {} ms",
                    timeout.as_millis()
                ))),
            };
            let _ = done.send(outcome);
        });
        let wait = || {
            result
                .recv()
                .unwrap_or_else(|_| Err(unavailable("store runtime stopped")))
        };
        // On a worker of a multi-threaded runtime (the server's), tell tokio this thread
        // blocks, so its other tasks move to another worker meanwhile.
        let on_multi_thread_worker = tokio::runtime::Handle::try_current().is_ok_and(|handle| {
            handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
        });
        let outcome = if on_multi_thread_worker {
            tokio::task::block_in_place(wait)
        } else {
            wait()
        };
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
        self.with_connection(move |connection| async move { get_on(&connection, table, key).await })
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

    /// Starts a write: a transaction holding the schema's write lock.
    pub fn begin(self: &Arc<Self>) -> StoreResult<Txn> {
        let connection = self.with_connection(|connection| async move {
            connection
                .batch_execute(&format!("BEGIN; {WRITE_LOCK}"))
                .await
                .map_err(pg_error)?;
            Ok(connection)
        })?;
        Ok(Txn {
            pg: Arc::clone(self),
            connection: Some(Arc::new(connection)),
        })
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

/// A write transaction in progress. Dropped without [`Txn::commit`], its connection is
/// closed rather than returned to the pool, which rolls the transaction back.
pub struct Txn {
    pg: Arc<Postgres>,
    connection: Option<Arc<Object>>,
}

impl Txn {
    fn connection(&self) -> StoreResult<Arc<Object>> {
        self.connection
            .clone()
            .ok_or_else(|| unavailable("write transaction already ended"))
    }

    /// Reads `key` inside the transaction.
    pub fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let table = table_index(key)?;
        let key = key.to_vec();
        let connection = self.connection()?;
        self.pg
            .block(async move { get_on(&connection, table, key).await })
    }

    /// Writes `pending` (`None` deletes) and commits; returns once the commit is durable.
    pub fn commit(mut self, pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> StoreResult<()> {
        let mut writes = Vec::with_capacity(pending.len());
        for (key, value) in pending {
            let table = table_index(&key)?;
            let (sql, params): (&'static str, Vec<tables::Param>) = match value {
                Some(value) => (
                    &SQL[table].put,
                    TABLES[table]
                        .put_params(&key, &value)
                        .ok_or_else(|| malformed(&TABLES[table], &key))?,
                ),
                None => (&SQL[table].delete, vec![Box::new(key)]),
            };
            writes.push((sql, params));
        }
        let connection = self.connection()?;
        self.pg.block(async move {
            // Prepared once per connection, then sent together: one round trip for the
            // statements, one for the commit.
            let statements = futures_util::future::try_join_all(
                writes.iter().map(|(sql, _)| connection.prepare_cached(sql)),
            )
            .await
            .map_err(pg_error)?;
            let refs: Vec<Vec<&(dyn ToSql + Sync)>> = writes
                .iter()
                .map(|(_, params)| {
                    params
                        .iter()
                        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                        .collect()
                })
                .collect();
            futures_util::future::try_join_all(
                statements
                    .iter()
                    .zip(&refs)
                    .map(|(statement, params)| connection.execute(statement, params)),
            )
            .await
            .map_err(pg_error)?;
            connection.batch_execute("COMMIT").await.map_err(pg_error)?;
            Ok(())
        })?;
        self.pg.commits.fetch_add(1, Ordering::Relaxed);
        self.release();
        Ok(())
    }

    /// Ends the transaction without writing.
    pub fn rollback(mut self) {
        if let Ok(connection) = self.connection() {
            let rolled_back = self
                .pg
                .block(async move { connection.batch_execute("ROLLBACK").await.map_err(pg_error) });
            if rolled_back.is_ok() {
                self.release();
            }
        }
    }

    /// Returns the connection to the pool (the transaction has ended).
    fn release(&mut self) {
        self.connection = None;
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        // Still holding a connection means the transaction may be open: close it.
        if let Some(connection) = self.connection.take() {
            if let Ok(object) = Arc::try_unwrap(connection) {
                drop(Object::take(object));
            }
        }
    }
}

fn malformed(table: &Table, key: &[u8]) -> StoreError {
    StoreError::UnknownKey {
        key: format!("{} ({})", String::from_utf8_lossy(key), table.name),
    }
}
