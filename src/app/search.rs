//! Search over the caller's own conversations.
//!
//! Only the caller's threads (archived included) and only messages shown to both sides:
//! held, recalled and removed messages, and conversations hidden by a block, never match.
//! Matching is case-insensitive substring on the body. On sled the caller's history is
//! scanned (cost grows with it, not with the store); on PostgreSQL the full-text index
//! finds the candidates, which holds whole words only, so there a query matches when each
//! of its words is a whole word of the body (see `store/pg/search.rs`).

use serde::Serialize;

use super::App;
use crate::domain::{
    Folder, MemberId, Message, MessageId, MessageStatus, Millis, ThreadId, ThreadView,
};
use crate::error::Result;
use crate::store::Reader;

const MAX_QUERY_CHARS: usize = 200;
const MAX_HITS: usize = 50;
const SNIPPET_CHARS: usize = 160;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub thread_id: ThreadId,
    pub message_id: MessageId,
    pub from: MemberId,
    pub folder: Folder,
    pub created_at: Millis,
    pub snippet: String,
}

impl App {
    pub fn search(&self, member: MemberId, query: &str) -> Result<Vec<SearchHit>> {
        let query = query.trim().to_lowercase();
        super::text_fields::bounded_text("q", &query, 1, MAX_QUERY_CHARS)?;
        let mut hits = Vec::new();
        let hit = |view: &ThreadView, message: &Message| SearchHit {
            thread_id: view.thread_id,
            message_id: message.id,
            from: message.from,
            folder: view.listed_in(),
            created_at: message.created_at,
            snippet: message.body.chars().take(SNIPPET_CHARS).collect(),
        };
        if let Some(found) = self.store.indexed_search(member, &query, MAX_HITS)? {
            // The index query applies the same rules; checked again here, as the scan does.
            for (view, message) in found {
                if view.is_listed()
                    && message.status == MessageStatus::Delivered
                    && message.body.to_lowercase().contains(&query)
                {
                    hits.push(hit(&view, &message));
                }
            }
            return Ok(hits);
        }
        for view in self.store.views_of(member) {
            let view = view?;
            if !view.is_listed() || self.store.blocked_either_way(member, view.other)? {
                continue;
            }
            for message in self.store.thread_messages(view.thread_id)? {
                if message.status != MessageStatus::Delivered {
                    continue;
                }
                if message.body.to_lowercase().contains(&query) {
                    hits.push(hit(&view, &message));
                }
            }
        }
        hits.sort_by_key(|hit| std::cmp::Reverse(hit.message_id));
        hits.truncate(MAX_HITS);
        Ok(hits)
    }
}
