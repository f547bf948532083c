//! Records of a member's data lifecycle: an account's erasure, kept after the member is
//! gone so a repeated request is recognized, an interrupted one resumes, and reports can
//! count erasures without naming anyone.

use serde::{Deserialize, Serialize};

use super::{MemberId, Millis};

/// What an erasure removed or rewrote, counted as it goes (a resumed erasure adds to the
/// counts of the run it resumes; steps done already count nothing the second time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ErasureCounts {
    /// Profile, handle, limiter state, views, folder entries, connections, blocks,
    /// idempotency keys, credits and other per-member records deleted.
    pub records_deleted: u64,
    pub tokens_deleted: u64,
    /// Messages the member sent whose text was removed.
    pub messages_redacted: u64,
    /// Labels of those messages deleted (they would otherwise be exported as training data).
    pub labels_deleted: u64,
    pub appeals_deleted: u64,
    /// Review items, audit entries and reports rewritten to the pseudonym, without text.
    pub review_items_pseudonymized: u64,
    pub audit_entries_pseudonymized: u64,
    pub reports_removed: u64,
}

/// One erased account. Kept under the erased id: the pseudonym is the only link between
/// the audit trail and the request, and it is not the id any other record still uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErasureRecord {
    /// The id the erased member had.
    pub member_id: MemberId,
    /// A fresh store id that replaces the member's id in the audit log and review items.
    pub pseudonym: u64,
    pub requested_at: Millis,
    /// `None` while the erasure is under way (a crash leaves it so; the next request
    /// resumes it).
    pub completed_at: Option<Millis>,
    pub counts: ErasureCounts,
}
