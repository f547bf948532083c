//! A member's InMail credits as a ledger: a balance carried from month to month, and the
//! InMails charged to it that a reply within the refund window would pay back.
//!
//! Pure arithmetic on a record both store backends keep as one JSON value, so a send
//! reads, changes and writes it inside its one atomic batch. Months are `yyyymm` numbers
//! (the caller turns a time into one); every number comes from `[messaging]`.

use serde::{Deserialize, Serialize};

use super::{MemberId, MessageId, Millis, ThreadId};

/// The numbers of a member's plan, from `[messaging]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditTerms {
    /// Credits granted at each calendar month's turn.
    pub monthly_grant: u32,
    /// The most credits a balance may carry into a month, grant included: unused credits
    /// roll over up to here and no further.
    pub rollover_cap: u32,
    /// How long a charged InMail waits for the reply that returns its credit.
    pub refund_window_ms: Millis,
}

impl CreditTerms {
    /// The cap, never below one month's grant (a cap under the grant would take credits away).
    fn cap(&self) -> u32 {
        self.rollover_cap.max(self.monthly_grant)
    }
}

/// One charged InMail whose credit comes back if its recipient replies in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingRefund {
    pub message_id: MessageId,
    pub thread_id: ThreadId,
    pub recipient: MemberId,
    pub sent_at: Millis,
    /// The last moment a reply returns the credit: fixed when charged, so a later change
    /// of the window does not move it.
    pub refund_until: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InmailLedger {
    pub balance: u32,
    /// The month (`yyyymm`) whose grant the balance already holds.
    pub granted_month: u32,
    /// Charged InMails still inside their refund window, oldest first.
    #[serde(default)]
    pub pending: Vec<PendingRefund>,
    /// The plan's grant and cap as of the last [`InmailLedger::advance`], so a refund
    /// written where the config is not at hand (a reply delivered on review) brings the
    /// ledger to its month first, and the grant cannot swallow the refund.
    #[serde(default)]
    pub monthly_grant: u32,
    #[serde(default)]
    pub rollover_cap: u32,
}

/// A `yyyymm` month as a count of months, so month turns are a subtraction.
fn month_index(month: u32) -> i64 {
    i64::from(month / 100) * 12 + i64::from(month % 100) - 1
}

impl InmailLedger {
    /// A ledger opened in `month` with `balance` credits (the month's grant, less what the
    /// member already spent of it under the per-month count that preceded the ledger).
    pub fn opened(month: u32, balance: u32, terms: &CreditTerms) -> InmailLedger {
        InmailLedger {
            balance,
            granted_month: month,
            pending: Vec::new(),
            monthly_grant: terms.monthly_grant,
            rollover_cap: terms.rollover_cap,
        }
    }

    /// Brings the ledger to `now` in `month`: one grant per month turned since the last
    /// (each capped), and charges whose refund window closed are no longer pending.
    pub fn advance(&mut self, month: u32, now: Millis, terms: &CreditTerms) {
        self.monthly_grant = terms.monthly_grant;
        self.rollover_cap = terms.rollover_cap;
        let turns = month_index(month) - month_index(self.granted_month);
        if turns > 0 {
            let cap = terms.cap();
            for _ in 0..turns.min(i64::from(cap) + 1) {
                // A balance above the cap (refunds) keeps what it has; it only stops growing.
                if self.balance < cap {
                    self.balance = self.balance.saturating_add(terms.monthly_grant).min(cap);
                }
            }
            self.granted_month = month;
        }
        self.pending.retain(|pending| now <= pending.refund_until);
    }

    /// [`InmailLedger::advance`] with the grant and cap it was last advanced with.
    pub fn advance_as_recorded(&mut self, month: u32, now: Millis) {
        let terms = CreditTerms {
            monthly_grant: self.monthly_grant,
            rollover_cap: self.rollover_cap,
            refund_window_ms: 0,
        };
        self.advance(month, now, &terms);
    }

    /// Spends one credit on `inmail`; false (nothing changed) when the balance is empty.
    pub fn charge(&mut self, inmail: PendingRefund) -> bool {
        if self.balance == 0 {
            return false;
        }
        self.balance -= 1;
        self.pending.push(inmail);
        true
    }

    /// `replier` answered in `thread` at `replied_at`: every InMail charged to them in that
    /// thread whose window was still open is paid back. Returns the refunded messages.
    pub fn refund_replied(
        &mut self,
        thread: ThreadId,
        replier: MemberId,
        replied_at: Millis,
    ) -> Vec<MessageId> {
        let (refunded, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|pending| {
                pending.thread_id == thread
                    && pending.recipient == replier
                    && (pending.sent_at..=pending.refund_until).contains(&replied_at)
            });
        self.pending = kept;
        self.balance = self.balance.saturating_add(refunded.len() as u32);
        refunded.iter().map(|pending| pending.message_id).collect()
    }

    /// Pays back the credit of `message` whatever the window (a held InMail removed by a
    /// reviewer never reached its recipient); false when it was not pending.
    pub fn refund_message(&mut self, message: MessageId) -> bool {
        let before = self.pending.len();
        self.pending.retain(|pending| pending.message_id != message);
        if self.pending.len() == before {
            return false;
        }
        self.balance = self.balance.saturating_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    fn terms() -> CreditTerms {
        CreditTerms {
            monthly_grant: 2,
            rollover_cap: 5,
            refund_window_ms: 90 * DAY,
        }
    }

    fn inmail(message_id: u64, thread_id: u64, sent_at: Millis) -> PendingRefund {
        PendingRefund {
            message_id,
            thread_id,
            recipient: 9,
            sent_at,
            refund_until: sent_at + terms().refund_window_ms,
        }
    }

    #[test]
    fn unused_credits_roll_over_up_to_the_cap() {
        let mut ledger = InmailLedger::opened(202611, 2, &terms());
        let balances: Vec<u32> = [202612, 202701, 202702, 202703]
            .iter()
            .map(|&month| {
                ledger.advance(month, 0, &terms());
                ledger.balance
            })
            .collect();
        assert_eq!(balances, [4, 5, 5, 5]);
        ledger.advance(203012, 0, &terms());
        assert_eq!(ledger.balance, 5, "years of turns stop at the cap as well");
    }

    #[test]
    fn a_reply_inside_the_window_refunds_only_that_threads_charges() {
        let mut ledger = InmailLedger::opened(202611, 3, &terms());
        assert!(ledger.charge(inmail(1, 10, 0)));
        assert!(ledger.charge(inmail(2, 20, 0)));
        assert_eq!(ledger.balance, 1);
        assert_eq!(
            ledger.refund_replied(10, 8, 90 * DAY),
            Vec::<u64>::new(),
            "not the recipient"
        );
        assert_eq!(ledger.refund_replied(10, 9, 90 * DAY), [1]);
        assert_eq!(ledger.balance, 2);
        assert_eq!(
            ledger.refund_replied(20, 9, 90 * DAY + 1),
            Vec::<u64>::new()
        );
        assert_eq!(ledger.balance, 2);
    }

    #[test]
    fn an_empty_balance_refuses_a_charge_and_a_removal_refunds_once() {
        let mut ledger = InmailLedger::opened(202611, 1, &terms());
        assert!(ledger.charge(inmail(1, 10, 0)));
        assert!(!ledger.charge(inmail(2, 11, 0)));
        assert!(ledger.refund_message(1));
        assert!(!ledger.refund_message(1));
        assert_eq!(ledger.balance, 1);
    }

    #[test]
    fn a_refund_after_month_turns_lands_on_top_of_the_grants() {
        let mut ledger = InmailLedger::opened(202611, 1, &terms());
        ledger.charge(inmail(1, 10, 0));
        ledger.advance_as_recorded(202702, 80 * DAY);
        assert_eq!(
            ledger.balance, 5,
            "three grants of 2 from 0 stop at the cap"
        );
        assert_eq!(ledger.refund_replied(10, 9, 80 * DAY), [1]);
        assert_eq!(
            ledger.balance, 6,
            "a refund is the member's own credit, above the cap"
        );
    }

    #[test]
    fn charges_past_their_window_are_no_longer_pending() {
        let mut ledger = InmailLedger::opened(202611, 2, &terms());
        ledger.charge(inmail(1, 10, 0));
        ledger.advance(202611, 90 * DAY, &terms());
        assert_eq!(ledger.pending.len(), 1);
        ledger.advance(202611, 90 * DAY + 1, &terms());
        assert!(ledger.pending.is_empty());
    }
}
