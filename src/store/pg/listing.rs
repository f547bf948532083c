//! The folder listing and the thread read as one joined query each, where the embedded
//! store walks an index and then reads each record: over a network that would be a round
//! trip per thread or message.

use std::sync::Arc;

use super::Postgres;
use crate::store::StoreResult;

const FOLDER_PAGE: &str = "SELECT f.key, convert_to(v.record::text, 'UTF8') \
     FROM folder_entries f \
     JOIN thread_views v ON v.member_id = f.member_id AND v.thread_id = f.thread_id \
     WHERE f.key >= $1 AND f.key < $2 ORDER BY f.key LIMIT $3";

const THREAD_MESSAGES: &str = "SELECT t.key, convert_to(m.record::text, 'UTF8') \
     FROM thread_messages t JOIN messages m ON m.message_id = t.message_id \
     WHERE t.key >= $1 AND t.key < $2 ORDER BY t.key";

impl Postgres {
    /// Folder entries in `[from, to)` with their views' JSON, at most `limit`.
    pub fn folder_entries(
        self: &Arc<Self>,
        from: Vec<u8>,
        to: Vec<u8>,
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.rows(
            FOLDER_PAGE,
            vec![Box::new(from), Box::new(to), Box::new(limit as i64)],
        )
    }

    /// The JSON of a thread's messages whose index keys lie in `[from, to)`, in key order.
    pub fn thread_message_records(
        self: &Arc<Self>,
        from: Vec<u8>,
        to: Vec<u8>,
    ) -> StoreResult<Vec<Vec<u8>>> {
        let rows = self.rows(THREAD_MESSAGES, vec![Box::new(from), Box::new(to)])?;
        Ok(rows.into_iter().map(|(_, record)| record).collect())
    }
}
