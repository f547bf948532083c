//! Strikes against senders, from recipient reports and reviewer removals.

use super::App;
use crate::domain::{Message, Millis};
use crate::error::Result;
use crate::store::WriteTxn;

impl App {
    pub(super) fn strike_for_report(
        &self,
        _txn: &mut WriteTxn<'_>,
        _message: &Message,
        _now: Millis,
    ) -> Result<()> {
        Ok(())
    }
}
