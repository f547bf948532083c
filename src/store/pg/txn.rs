//! A write transaction on PostgreSQL, in as few round trips as its reads allow.
//!
//! Nothing is sent when it starts: the statements that open it (`BEGIN`, then its locks
//! and a few fresh ids in one statement) go in front of the first statement the write
//! sends, in the same round trip, and the writes (every table's in one statement) go with
//! the `COMMIT`. A send thus costs two round trips inside its transaction (its context, the
//! database following the pair record to its thread; the commit) where one per statement
//! cost a dozen. Statements are prepared before anything is sent, so what is
//! sent goes out in the order written: the opening and the locks always ahead of the reads
//! they protect.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use deadpool_postgres::Object;
use tokio_postgres::types::ToSql;

use super::{
    count_round_trip, find_on, lock_id, lookups, malformed, pg_error, shared_between_members,
    table_index, tables, unavailable, FollowPair, Postgres, KEY_LOCKS, TABLES,
};
use crate::store::{StoreError, StoreResult};

/// A key and the value to put under it.
type Row = (Vec<u8>, Vec<u8>);

/// Records found, by key.
type Found = HashMap<Vec<u8>, Vec<u8>>;

/// Ids fetched with the opening: a send uses up to three (a new thread, its message, and
/// for outreach whose template matches no campaign a new campaign candidate); one more id
/// would cost a round trip of its own.
const PREFETCHED_IDS: i64 = 3;

const NEXT_IDS: &str = "SELECT nextval('sendguard_ids') FROM generate_series(1, $1::bigint)";

/// The opening's locks and its ids in one statement, after `BEGIN`: the schema's write lock
/// shared (its first key is ASCII `SGST`, its second a hash of the schema, so stores in
/// different schemas of one database do not contend), then the key locks ([`KEY_LOCKS`],
/// ascending), then the ids. Each lock is an init plan gating the next step (`EXPLAIN`
/// shows them as one-time filters): the schema's lock is taken before any key lock, and
/// all of them before the first id is drawn. A statement of its own, so the reads that
/// follow take their snapshots after every lock is held.
const OPEN_SHARED: &str = "SELECT nextval('sendguard_ids') FROM generate_series(1, $2::bigint) \
     WHERE (SELECT count(pg_advisory_xact_lock((hashtext(current_schema())::bigint << 32) | k)) \
            FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY k) AS ids \
            WHERE (SELECT count(pg_advisory_xact_lock_shared(1397183508, \
                       hashtext(current_schema())))) = 1) >= 0";

/// [`OPEN_SHARED`] with the schema's write lock taken exclusively: a general write, which
/// waits for every write in flight and keeps every other out until it ends.
const OPEN_EXCLUSIVE: &str = "SELECT nextval('sendguard_ids') FROM generate_series(1, $2::bigint) \
     WHERE (SELECT count(pg_advisory_xact_lock((hashtext(current_schema())::bigint << 32) | k)) \
            FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY k) AS ids \
            WHERE (SELECT count(pg_advisory_xact_lock(1397183508, \
                       hashtext(current_schema())))) = 1) >= 0";

/// How a transaction opens and which locks it takes.
pub(super) struct Opening {
    /// The schema's write lock exclusively (a general write) or shared (a scoped one).
    pub(super) exclusive: bool,
    /// Lock ids taken next, in ascending order ([`KEY_LOCKS`]).
    pub(super) locks: Vec<i64>,
}

impl Opening {
    fn statement(&self) -> &'static str {
        if self.exclusive {
            OPEN_EXCLUSIVE
        } else {
            OPEN_SHARED
        }
    }
}

/// A transaction's connection. Dropped while its transaction may be open (the write failed,
/// or the request that awaited it went away mid-way), it is closed rather than returned to
/// the pool, so PostgreSQL rolls the transaction back and no pooled connection is ever left
/// inside a transaction, whichever of its holders goes last.
pub(super) struct Held {
    object: Option<Object>,
    open: AtomicBool,
}

impl std::ops::Deref for Held {
    type Target = Object;

    fn deref(&self) -> &Object {
        self.object.as_ref().expect("held until dropped")
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.open.load(Ordering::Acquire) {
            if let Some(object) = self.object.take() {
                drop(Object::take(object));
            }
        }
    }
}

/// A write transaction in progress. Dropped without [`Txn::commit`], its connection is
/// closed rather than returned to the pool, which rolls the transaction back.
pub struct Txn {
    pg: Arc<Postgres>,
    connection: Option<Arc<Held>>,
    /// Begun by [`Postgres::begin_scoped`]: records shared between members are locked as
    /// they are read and written.
    scoped: bool,
    /// The opening, until it is sent.
    opening: Mutex<Option<Opening>>,
    /// Ids fetched with the opening, not yet handed out.
    ids: Mutex<Vec<u64>>,
}

impl Txn {
    pub(super) fn new(
        pg: &Arc<Postgres>,
        connection: Object,
        scoped: bool,
        opening: Opening,
    ) -> Txn {
        Txn {
            pg: Arc::clone(pg),
            connection: Some(Arc::new(Held {
                object: Some(connection),
                open: AtomicBool::new(false),
            })),
            scoped,
            opening: Mutex::new(Some(opening)),
            ids: Mutex::new(Vec::new()),
        }
    }

    fn connection(&self) -> StoreResult<Arc<Held>> {
        self.connection
            .clone()
            .ok_or_else(|| unavailable("write transaction already ended"))
    }

    /// Runs `work` (which sends `statements` statements) in one round trip, with the opening
    /// in front of it when not sent yet, on the backend's runtime.
    fn run<T, F>(
        &self,
        statements: u64,
        work: impl FnOnce(Arc<Held>) -> F + Send + 'static,
    ) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Future<Output = StoreResult<T>> + Send,
    {
        let exchange = self.exchange(statements, work)?;
        let (ids, value) = self.pg.block(exchange)?;
        self.keep_ids(ids);
        Ok(value)
    }

    /// [`Txn::run`] awaited on the caller's runtime.
    async fn run_here<T, F>(
        &self,
        statements: u64,
        work: impl FnOnce(Arc<Held>) -> F + Send + 'static,
    ) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Future<Output = StoreResult<T>> + Send,
    {
        let exchange = self.exchange(statements, work)?;
        let (ids, value) = self.pg.run_here(exchange).await?;
        self.keep_ids(ids);
        Ok(value)
    }

    /// Ids fetched with the opening, handed out smallest first.
    fn keep_ids(&self, ids: Vec<u64>) {
        if !ids.is_empty() {
            let mut queue = self.ids.lock().unwrap_or_else(|e| e.into_inner());
            queue.extend(ids.into_iter().rev());
        }
    }

    /// The round trip of [`Txn::run`]: the opening (taken now, so it is sent once) and then
    /// `work`; answers the ids the opening fetched and what `work` returned.
    fn exchange<T, F>(
        &self,
        statements: u64,
        work: impl FnOnce(Arc<Held>) -> F + Send + 'static,
    ) -> StoreResult<impl Future<Output = StoreResult<(Vec<u64>, T)>> + Send + 'static>
    where
        T: Send + 'static,
        F: Future<Output = StoreResult<T>> + Send,
    {
        let opening = self
            .opening
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // BEGIN, then the locks with the ids.
        let opening_statements = if opening.is_some() { 2 } else { 0 };
        let connection = self.connection()?;
        if opening.is_some() {
            // From here on the transaction may be open: its connection is never pooled
            // again unless it ends cleanly.
            connection.open.store(true, Ordering::Release);
        }
        Ok(async move {
            let prepared = match &opening {
                Some(opening) => Some(
                    connection
                        .prepare_cached(opening.statement())
                        .await
                        .map_err(pg_error)?,
                ),
                None => None,
            };
            count_round_trip(statements + opening_statements, true);
            // Polled first, so sent first: nothing awaits before its statements go out.
            let open = async {
                let (Some(opening), Some(locks_then_ids)) = (&opening, &prepared) else {
                    return Ok(Vec::new());
                };
                let begin = async { connection.batch_execute("BEGIN").await.map_err(pg_error) };
                let fetched = async {
                    connection
                        .query(locks_then_ids, &[&opening.locks, &PREFETCHED_IDS])
                        .await
                        .map_err(pg_error)
                };
                let (_, rows) = futures_util::future::try_join(begin, fetched).await?;
                Ok::<_, StoreError>(rows.iter().map(|row| row.get::<_, i64>(0) as u64).collect())
            };
            futures_util::future::try_join(open, work(Arc::clone(&connection))).await
        })
    }

    /// Reads `key` inside the transaction (a scoped one first locks a shared record, in the
    /// same round trip).
    pub fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.get_many(vec![key.to_vec()])?.pop().flatten())
    }

    /// The values of `keys` inside the transaction, in one round trip (a scoped one first
    /// locks the shared records among them, all at once, in the same round trip).
    pub fn get_many(&self, keys: Vec<Vec<u8>>) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let (statements, work) = self.reading(keys.clone(), None)?;
        let found = self.run(statements, work)?;
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    /// A send's read-ahead, awaited on the caller's runtime: the records of `keys` and those
    /// of the thread the pair record `pair` names (its record and the views of `members`),
    /// in one statement, by key (a record absent is not among them).
    pub async fn read_send_here(
        &self,
        keys: Vec<Vec<u8>>,
        pair: Vec<u8>,
        members: [u64; 2],
    ) -> StoreResult<HashMap<Vec<u8>, Vec<u8>>> {
        let follow = FollowPair {
            pair,
            members: members.iter().map(|&member| member as i64).collect(),
        };
        let (statements, work) = self.reading(keys, Some(follow))?;
        self.run_here(statements, work).await
    }

    /// The statements of [`Txn::get_many`] (and of [`Txn::read_send_here`], with `follow`)
    /// and the work that sends them.
    #[allow(clippy::type_complexity)]
    fn reading(
        &self,
        keys: Vec<Vec<u8>>,
        follow: Option<FollowPair>,
    ) -> StoreResult<(
        u64,
        impl FnOnce(Arc<Held>) -> futures_util::future::BoxFuture<'static, StoreResult<Found>>
            + Send
            + 'static,
    )> {
        let lookups = lookups(&keys)?;
        let locks: Vec<i64> = lookups
            .iter()
            .filter(|(&table, _)| self.scoped && shared_between_members(table))
            .flat_map(|(_, keys)| keys.iter().map(|key| lock_id(key)))
            .collect();
        let statements = 1 + u64::from(!locks.is_empty());
        Ok((statements, move |connection: Arc<Held>| {
            Box::pin(async move {
                let lock_statement = connection
                    .prepare_cached(KEY_LOCKS)
                    .await
                    .map_err(pg_error)?;
                let lock = async {
                    if !locks.is_empty() {
                        connection
                            .query_one(&lock_statement, &[&locks])
                            .await
                            .map_err(pg_error)?;
                    }
                    Ok(())
                };
                let (_, found) =
                    futures_util::future::try_join(lock, find_on(&connection, lookups, follow))
                        .await?;
                Ok(found)
            }) as futures_util::future::BoxFuture<'static, _>
        }))
    }

    /// A fresh id: one fetched with the opening, else one more round trip.
    pub fn next_id(&self) -> StoreResult<u64> {
        if self
            .opening
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            // Opening now fetches the ids with it.
            self.run(0, |_| async { Ok(()) })?;
        }
        if let Some(id) = self.ids.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(id);
        }
        self.run(1, |connection| async move {
            let statement = connection
                .prepare_cached(NEXT_IDS)
                .await
                .map_err(pg_error)?;
            let row = connection
                .query_one(&statement, &[&1i64])
                .await
                .map_err(pg_error)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    /// Writes `pending` (`None` deletes) and commits; returns once the commit is durable.
    /// One round trip: the opening (if nothing was read), the statements and the `COMMIT`
    /// are sent together (if any statement fails, PostgreSQL answers the `COMMIT` with a
    /// rollback, and the error is returned).
    pub fn commit(mut self, pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> StoreResult<()> {
        let (statements, work) = self.committing(pending)?;
        self.run(statements, work)?;
        self.committed();
        Ok(())
    }

    /// [`Txn::commit`] awaited on the caller's runtime.
    pub async fn commit_here(
        mut self,
        pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> StoreResult<()> {
        let (statements, work) = self.committing(pending)?;
        self.run_here(statements, work).await?;
        self.committed();
        Ok(())
    }

    /// Counts the commit and gives the connection back to the pool.
    fn committed(&mut self) {
        self.pg.commits.fetch_add(1, Ordering::Relaxed);
        self.release();
    }

    /// The statements of [`Txn::commit`] and the work that sends them.
    #[allow(clippy::type_complexity)]
    fn committing(
        &self,
        pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> StoreResult<(
        u64,
        impl FnOnce(Arc<Held>) -> futures_util::future::BoxFuture<'static, StoreResult<()>>
            + Send
            + 'static,
    )> {
        // Each table's rows in one statement (a send writes about twenty rows in ten tables,
        // a new campaign candidate dozens of band keys).
        let mut puts: BTreeMap<usize, Vec<Row>> = BTreeMap::new();
        let mut deletes: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
        let mut locks = Vec::new();
        for (key, value) in pending {
            let table = table_index(&key)?;
            if self.scoped && shared_between_members(table) {
                locks.push(lock_id(&key));
            }
            match value {
                Some(value) => puts.entry(table).or_default().push((key, value)),
                None => deletes.entry(table).or_default().push(key),
            }
        }
        // Every table's writes in one statement (data-modifying `WITH` clauses): each
        // statement costs the server a round of bind, snapshot and executor start and end,
        // and a send writes about ten tables.
        let mut shape = Vec::new();
        let mut params: Vec<tables::Param> = Vec::new();
        for (table, rows) in puts {
            let (write, table_params) = match rows.as_slice() {
                [(key, value)] => (Write::Put, TABLES[table].put_params(key, value)),
                _ => (Write::PutMany, TABLES[table].put_many_params(&rows)),
            };
            shape.push((table, write));
            params.extend(table_params.ok_or_else(|| malformed(&TABLES[table], &rows[0].0))?);
        }
        for (table, mut keys) in deletes {
            match keys.len() {
                1 => {
                    shape.push((table, Write::Delete));
                    params.push(Box::new(keys.remove(0)));
                }
                _ => {
                    shape.push((table, Write::DeleteMany));
                    params.push(Box::new(keys));
                }
            }
        }
        let write_sql = (!shape.is_empty()).then(|| writes_sql(shape));
        let statements = u64::from(write_sql.is_some()) + u64::from(!locks.is_empty()) + 1;
        Ok((statements, move |connection: Arc<Held>| {
            Box::pin(async move {
                let lock_statement = connection
                    .prepare_cached(KEY_LOCKS)
                    .await
                    .map_err(pg_error)?;
                let prepared = match &write_sql {
                    Some(sql) => Some(connection.prepare_cached(sql).await.map_err(pg_error)?),
                    None => None,
                };
                let refs: Vec<&(dyn ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                let lock = async {
                    if !locks.is_empty() {
                        connection
                            .query_one(&lock_statement, &[&locks])
                            .await
                            .map_err(pg_error)?;
                    }
                    Ok::<_, StoreError>(())
                };
                let write = async {
                    if let Some(statement) = &prepared {
                        connection
                            .execute(statement, &refs)
                            .await
                            .map_err(pg_error)?;
                    }
                    Ok::<_, StoreError>(())
                };
                let commit = async { connection.batch_execute("COMMIT").await.map_err(pg_error) };
                // Polled in this order, so sent in this order: locks, writes, COMMIT.
                futures_util::future::try_join3(lock, write, commit).await?;
                Ok(())
            }) as futures_util::future::BoxFuture<'static, _>
        }))
    }

    /// Ends the transaction without writing (nothing to send if it never opened).
    pub fn rollback(mut self) {
        let opened = self
            .opening
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none();
        if !opened {
            self.release();
            return;
        }
        if let Ok(connection) = self.connection() {
            let rolled_back = self.pg.block(async move {
                count_round_trip(1, true);
                connection.batch_execute("ROLLBACK").await.map_err(pg_error)
            });
            if rolled_back.is_ok() {
                self.release();
            }
        }
    }

    /// Returns the connection to the pool (the transaction has ended, or never opened).
    fn release(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.open.store(false, Ordering::Release);
        }
    }
}

/// One table's part of a commit's statement.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Write {
    Put,
    PutMany,
    Delete,
    DeleteMany,
}

/// The tables a commit writes and how, in order.
type Shape = Vec<(usize, Write)>;

/// The commit statement of a write of `shape` (its tables' writes, in order), built once per
/// shape: each write a `WITH` clause but the last, which is the statement itself, its
/// parameters numbered after the previous writes'. A send's writes come in a few shapes.
fn writes_sql(shape: Shape) -> Arc<str> {
    static BUILT: LazyLock<Mutex<HashMap<Shape, Arc<str>>>> = LazyLock::new(Default::default);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(sql) = built.get(&shape) {
        return Arc::clone(sql);
    }
    let mut first = 1;
    let mut parts = Vec::new();
    for &(table, write) in &shape {
        let table = &TABLES[table];
        let sql = match write {
            Write::Put => table.put_sql_from(first),
            Write::PutMany => table.put_many_sql_from(first),
            Write::Delete => table.delete_sql_from(first),
            Write::DeleteMany => table.delete_many_sql_from(first),
        };
        first += match write {
            Write::Put | Write::PutMany => table.param_count(),
            Write::Delete | Write::DeleteMany => 1,
        };
        parts.push(sql);
    }
    let last = parts.pop().expect("a commit statement writes something");
    let sql: Arc<str> = if parts.is_empty() {
        last.into()
    } else {
        let clauses: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| format!("w{i} AS ({part})"))
            .collect();
        format!("WITH {} {last}", clauses.join(", ")).into()
    };
    built.insert(shape, Arc::clone(&sql));
    sql
}

// Dropped holding its connection, a transaction that may be open has it closed by `Held`
// (one that never opened goes back to the pool as it came).

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

    #[test]
    fn a_commit_writes_every_table_in_one_statement_numbering_parameters_in_order() {
        let messages = table_index(&keys::ids(keys::MESSAGE, &[1])).unwrap();
        let views = table_index(&keys::ids(keys::VIEW, &[1, 2])).unwrap();
        let folders =
            table_index(&keys::folder_entry(1, crate::domain::Folder::Inbox, 5, 2)).unwrap();
        let shape = vec![
            (messages, Write::Put),
            (views, Write::PutMany),
            (folders, Write::DeleteMany),
        ];
        let sql = writes_sql(shape.clone());
        assert!(
            sql.starts_with("WITH w0 AS (INSERT INTO messages (key, message_id, record) VALUES ($1, $2, $3::text::json)"),
            "{sql}"
        );
        assert!(
            sql.contains("w1 AS (INSERT INTO thread_views (key, member_id, thread_id, record) SELECT c0, c1, c2, c3::json FROM unnest($4::bytea[], $5::bigint[], $6::bigint[], $7::text[])"),
            "{sql}"
        );
        assert!(
            sql.ends_with(") DELETE FROM folder_entries WHERE key = ANY($8)"),
            "{sql}"
        );
        assert!(
            Arc::ptr_eq(&sql, &writes_sql(shape)),
            "built once per shape"
        );
        let alone = writes_sql(vec![(folders, Write::Delete)]);
        assert_eq!(&*alone, "DELETE FROM folder_entries WHERE key = $1");
    }
}
