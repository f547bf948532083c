//! What the retention sweep needs from the store beyond the typed reads: every sender's
//! limiter state, to drop those idle past the window.

use super::{decode, keys, Store, StoreResult};
use crate::domain::MemberId;
use crate::limits::SenderState;

impl Store {
    /// Every sender's limiter state, in member id order.
    pub fn sender_states(&self) -> impl Iterator<Item = StoreResult<(MemberId, SenderState)>> + '_ {
        self.scan_prefix(keys::SENDER_STATE.to_vec()).map(|entry| {
            let (key, value) = entry?;
            let member = keys::u64_at(&key, keys::SENDER_STATE.len());
            Ok((member, decode(&key, &value)?))
        })
    }
}
