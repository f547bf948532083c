//! Search through PostgreSQL's full-text index.
//!
//! The embedded store scans a member's history; here the GIN index on the words of each
//! body (`messages.body_words`, `simple` configuration: no stemming, any language) finds
//! the messages holding every word of the query, and the same case-insensitive substring
//! check as the scan keeps only true matches. So a query of whole words finds what the scan
//! finds; a fragment of a word finds nothing here (the index holds whole words).

use std::sync::Arc;

use super::Postgres;
use crate::store::StoreResult;

const SEARCH: &str =
    "SELECT convert_to(v.record::text, 'UTF8'), convert_to(m.record::text, 'UTF8') \
     FROM thread_views v JOIN messages m ON m.thread_id = v.thread_id \
     WHERE v.member_id = $1 AND m.status = 'delivered' \
       AND (v.record->>'hidden_by_report') IS DISTINCT FROM 'true' \
       AND m.body_words @@ plainto_tsquery('simple'::regconfig, $2) \
       AND strpos(lower(m.record->>'body'), $2) > 0 \
       AND NOT EXISTS (SELECT 1 FROM blocks b \
           WHERE (b.blocker = v.member_id AND b.blocked = v.other_id) \
              OR (b.blocker = v.other_id AND b.blocked = v.member_id)) \
     ORDER BY m.message_id DESC LIMIT $3";

impl Postgres {
    /// `(view JSON, message JSON)` of the member's delivered messages matching `query`
    /// (already lower-cased), newest first, at most `limit`.
    pub fn search(
        self: &Arc<Self>,
        member: u64,
        query: &str,
        limit: usize,
    ) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.rows(
            SEARCH,
            vec![
                Box::new(member as i64),
                Box::new(query.to_string()),
                Box::new(limit as i64),
            ],
        )
    }
}
