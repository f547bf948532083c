//! The range scan of batch jobs (rescoring): large pages, each next page asked for as soon
//! as the one before arrives, so the database finds and sends rows while the caller scores
//! the rows it has. A plain [`Scan`](super::Scan) asks for a page only when the caller has
//! used up the last one, and in pages sized for listings; over a million messages that is
//! two thousand round trips during which nothing is scored.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use super::{
    clamp, count_round_trip, off_the_workers, pg_error, pool_error, table_index, unavailable,
    Postgres, SQL,
};
use crate::store::StoreResult;

/// Rows per page: a rescore chunk's worth (about 2 MB of message records), so one query's
/// fixed cost is spread over many rows and one page is scored while the next is read.
pub const BATCH_PAGE_ROWS: i64 = 4096;

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Keys and values in `[lo, hi)` of one table, in key order, one page always in flight.
pub struct BatchScan {
    pg: Arc<Postgres>,
    table: usize,
    hi: Vec<u8>,
    /// The page asked for and not yet taken.
    pending: Option<Receiver<StoreResult<Rows>>>,
    rows: std::vec::IntoIter<(Vec<u8>, Vec<u8>)>,
}

impl Postgres {
    /// Starts a batch scan of `[lo, hi)` (within one table); the first page is asked for now.
    pub fn batch_scan(self: &Arc<Self>, lo: Vec<u8>, hi: Vec<u8>) -> StoreResult<BatchScan> {
        let table = table_index(&lo)?;
        let hi = clamp(table, &hi);
        let pending = Some(self.ask_page(table, lo, true, hi.clone()));
        Ok(BatchScan {
            pg: Arc::clone(self),
            table,
            hi,
            pending,
            rows: Vec::new().into_iter(),
        })
    }

    /// Sends one page's query on the backend's runtime; the answer comes on the receiver.
    fn ask_page(
        &self,
        table: usize,
        lower: Vec<u8>,
        inclusive: bool,
        upper: Vec<u8>,
    ) -> Receiver<StoreResult<Rows>> {
        let (answer, page) = sync_channel(1);
        let (pool, timeout) = (self.pool(), self.timeout);
        let query = async move {
            let connection = pool.get().await.map_err(pool_error)?;
            let sql = &SQL[table].page[usize::from(inclusive)][0];
            let statement = connection.prepare_cached(sql).await.map_err(pg_error)?;
            count_round_trip(1, false);
            let rows = connection
                .query(&statement, &[&lower, &upper, &BATCH_PAGE_ROWS])
                .await
                .map_err(pg_error)?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        };
        let runtime = self.runtime.as_ref().expect("runtime lives until drop");
        runtime.spawn(async move {
            let outcome = tokio::time::timeout(timeout, query)
                .await
                .unwrap_or_else(|_| {
                    Err(unavailable(format!(
                        "PostgreSQL did not answer within {} ms",
                        timeout.as_millis()
                    )))
                });
            let _ = answer.send(outcome);
        });
        page
    }
}

impl Iterator for BatchScan {
    type Item = StoreResult<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.rows.next() {
                return Some(Ok(row));
            }
            let pending = self.pending.take()?;
            let page = off_the_workers(|| {
                pending
                    .recv()
                    .unwrap_or_else(|_| Err(unavailable("store runtime stopped")))
            });
            let rows = match page {
                Ok(rows) => rows,
                Err(error) => return Some(self.pg.with_retry_after(Err(error))),
            };
            if rows.len() as i64 == BATCH_PAGE_ROWS {
                if let Some((last, _)) = rows.last() {
                    let next = self
                        .pg
                        .ask_page(self.table, last.clone(), false, self.hi.clone());
                    self.pending = Some(next);
                }
            }
            self.rows = rows.into_iter();
        }
    }
}
