//! Search over the caller's own conversations.
//!
//! Scans only the caller's threads (archived included) and only messages shown to both
//! sides: held, recalled and removed messages, and conversations hidden by a block, never
//! match. Matching is case-insensitive substring on the body; cost grows with the caller's
//! own history, not the store's.

use serde::Serialize;

use super::App;
use crate::domain::{Folder, MemberId, MessageId, MessageStatus, Millis, ThreadId};
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
        for view in self.store.views_of(member) {
            let view = view?;
            if self.store.blocked_either_way(member, view.other)? {
                continue;
            }
            for message in self.store.thread_messages(view.thread_id)? {
                if message.status != MessageStatus::Delivered {
                    continue;
                }
                if message.body.to_lowercase().contains(&query) {
                    hits.push(SearchHit {
                        thread_id: view.thread_id,
                        message_id: message.id,
                        from: message.from,
                        folder: view.listed_in(),
                        created_at: message.created_at,
                        snippet: message.body.chars().take(SNIPPET_CHARS).collect(),
                    });
                }
            }
        }
        hits.sort_by_key(|hit| std::cmp::Reverse(hit.message_id));
        hits.truncate(MAX_HITS);
        Ok(hits)
    }
}
