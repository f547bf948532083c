//! InMail credits as members know them: a monthly grant per plan that rolls over up to a
//! cap, a credit returned when the recipient replies within the refund window, and no
//! charge at all once the recipient has replied (the thread is a conversation).
//!
//! The arithmetic is `domain::credits`; this file reads a member's ledger as of now,
//! charges it on the send path, refunds it when a reply is delivered or a held InMail is
//! removed, and answers the member's own view of it.

use serde::Serialize;

use super::App;
use crate::domain::{InmailLedger, Member, MemberId, Message, Millis, PendingRefund};
use crate::error::{Error, Result};
use crate::store::{CreditReader, Reader, WriteTxn};

/// What a member sees of their credits (`GET /v1/credits`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreditsView {
    pub balance: u32,
    /// Credits added at each calendar month's turn (UTC).
    pub monthly_grant: u32,
    /// The most a balance carries into a month; unused credits roll over up to here.
    pub rollover_cap: u32,
    pub refund_window_days: u32,
    /// Charged InMails whose credit a reply before `refund_until` returns, oldest first.
    pub pending: Vec<PendingRefund>,
}

impl App {
    /// The member's ledger as of `now`: grants of the months turned since added, expired
    /// charges dropped. Members get one when created; one created before ledgers existed
    /// opens it now with this month's grant, less what they spent this month under the
    /// per-month count that preceded the ledger.
    pub(super) fn inmail_ledger_at(
        &self,
        reader: &impl Reader,
        member: &Member,
        now: Millis,
    ) -> Result<InmailLedger> {
        let terms = self.config.credit_terms(member.plan);
        let month = crate::dates::month_of(now);
        let mut ledger = match reader.inmail_ledger(member.id)? {
            Some(ledger) => ledger,
            None => {
                let spent = reader.inmail_spent(member.id, month)?;
                InmailLedger::opened(month, terms.monthly_grant.saturating_sub(spent), &terms)
            }
        };
        ledger.advance(month, now, &terms);
        Ok(ledger)
    }

    /// The ledger a new InMail of `sender` is charged to, or why it cannot be sent.
    pub(super) fn ledger_to_charge(
        &self,
        reader: &impl Reader,
        sender: &Member,
        now: Millis,
    ) -> Result<InmailLedger> {
        let ledger = self.inmail_ledger_at(reader, sender, now)?;
        if ledger.balance > 0 {
            return Ok(ledger);
        }
        let grant = self.config.inmail_credits(sender.plan);
        if grant == 0 {
            return Err(Error::forbidden(
                "inmail_not_allowed",
                "your plan does not include InMail",
            )
            .field("kind"));
        }
        Err(Error::forbidden(
            "inmail_quota_exhausted",
            format!(
                "no InMail credits left: {grant} are granted when the month turns, and a reply \
                 to a pending InMail returns its credit"
            ),
        )
        .field("kind")
        .limit(u64::from(grant)))
    }

    /// Charges `ledger` (read by [`App::ledger_to_charge`]) for the stored InMail `message`.
    pub(super) fn charge_inmail(
        &self,
        txn: &mut WriteTxn<'_>,
        sender: &Member,
        mut ledger: InmailLedger,
        message: &Message,
    ) {
        let window = self.config.credit_terms(sender.plan).refund_window_ms;
        let charged = ledger.charge(PendingRefund {
            message_id: message.id,
            thread_id: message.thread_id,
            recipient: message.to,
            sent_at: message.created_at,
            refund_until: message.created_at.saturating_add(window),
        });
        if charged {
            txn.put_inmail_ledger(sender.id, &ledger);
        }
    }

    /// The member's balance and what is pending refund, as of now.
    pub fn inmail_credits(&self, member: MemberId) -> Result<CreditsView> {
        let record = self
            .store
            .member(member)?
            .ok_or_else(|| Error::unauthorized("the token's member no longer exists"))?;
        let ledger = self.inmail_ledger_at(&self.store, &record, self.clock.now())?;
        let terms = self.config.credit_terms(record.plan);
        Ok(CreditsView {
            balance: ledger.balance,
            monthly_grant: terms.monthly_grant,
            rollover_cap: terms.rollover_cap.max(terms.monthly_grant),
            refund_window_days: self.config.inmail_refund_window_days,
            pending: ledger.pending,
        })
    }
}

/// A delivered `message` is its sender's reply to the other side: every InMail the other
/// side charged in this thread whose window is still open at the reply's time is refunded.
/// Called for each delivery (at send, or on release after review).
pub(crate) fn refund_on_reply(txn: &mut WriteTxn<'_>, message: &Message) -> Result<()> {
    let inmail_sender = message.to;
    let Some(mut ledger) = txn.inmail_ledger(inmail_sender)? else {
        return Ok(());
    };
    if !ledger
        .pending
        .iter()
        .any(|p| p.thread_id == message.thread_id)
    {
        return Ok(());
    }
    // The grants of the months turned since come first, so they cannot swallow the refund.
    let replied_at = message.created_at;
    ledger.advance_as_recorded(crate::dates::month_of(replied_at), replied_at);
    let refunded = ledger.refund_replied(message.thread_id, message.from, message.created_at);
    if !refunded.is_empty() {
        txn.put_inmail_ledger(inmail_sender, &ledger);
    }
    Ok(())
}

/// A held InMail removed for good never reached its recipient: its credit comes back.
pub(crate) fn refund_removed(txn: &mut WriteTxn<'_>, message: &Message, now: Millis) -> Result<()> {
    if let Some(mut ledger) = txn.inmail_ledger(message.from)? {
        if !ledger.pending.iter().any(|p| p.message_id == message.id) {
            return Ok(());
        }
        // Not `advance`, which would drop a charge past its reply window: a removal
        // refunds whatever the window. Only the grants of the months turned come first.
        let pending = std::mem::take(&mut ledger.pending);
        ledger.advance_as_recorded(crate::dates::month_of(now), now);
        ledger.pending = pending;
        if ledger.refund_message(message.id) {
            txn.put_inmail_ledger(message.from, &ledger);
        }
    }
    Ok(())
}
