//! InMail credit ledgers in the store: one record per member (`crd/`), read and written in
//! the send's batch, so a charge, a refund and the message itself commit together.

use super::{encode, keys, Reader, StoreResult, WriteTxn};
use crate::domain::{InmailLedger, MemberId};

/// Reads shared by the store and a write in progress.
pub trait CreditReader: Reader {
    /// The member's ledger; `None` before their first InMail under the ledger.
    fn inmail_ledger(&self, member: MemberId) -> StoreResult<Option<InmailLedger>> {
        self.json(&keys::ids(keys::INMAIL_LEDGER, &[member]))
    }
}

impl<R: Reader> CreditReader for R {}

impl WriteTxn<'_> {
    pub fn put_inmail_ledger(&mut self, member: MemberId, ledger: &InmailLedger) {
        self.put(keys::ids(keys::INMAIL_LEDGER, &[member]), encode(ledger));
    }
}
