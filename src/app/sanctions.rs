//! Strikes and restrictions: the limiter keeps the strike ledger in each sender's state;
//! this module applies what it decides to the member record, which every send checks.

use super::App;
use crate::domain::{Actor, AuditEntry, MemberId, Millis, Restriction, RestrictionLevel, Sanction};
use crate::error::Result;
use crate::store::{Reader, WriteTxn};

/// Strike weight of a reviewer's removal.
pub const REMOVAL_STRIKE: u32 = 2;

/// Source and detail of the strike a reviewer's removal of `message_id` gives: one
/// spelling, so that an appeal that overturns the removal finds the strike to take back.
pub(super) fn removal_strike(message_id: u64) -> (&'static str, String) {
    (
        "reviewer",
        format!("a reviewer removed message {message_id}"),
    )
}

/// Raises the member's restriction to `level` (restrictions never fall here); returns
/// whether it rose.
pub(super) fn raise_restriction(
    txn: &mut WriteTxn<'_>,
    member: MemberId,
    level: RestrictionLevel,
    reason: &str,
    automated: bool,
    now: Millis,
) -> Result<bool> {
    let Some(mut record) = txn.member(member)? else {
        return Ok(false);
    };
    if record
        .restriction
        .as_ref()
        .is_some_and(|r| r.level >= level)
    {
        return Ok(false);
    }
    record.restriction = Some(Restriction {
        level,
        reason: reason.to_string(),
        since: now,
        automated,
    });
    txn.put_member(&record);
    metrics::counter!("sendguard_restrictions_total", "automated" => if automated { "true" } else { "false" })
        .increment(1);
    Ok(true)
}

/// Applies an automated sanction, and audits it when the restriction rose (reviewers'
/// restrictions are audited with their decision).
pub(super) fn apply(
    txn: &mut WriteTxn<'_>,
    member: MemberId,
    sanction: &Sanction,
    now: Millis,
) -> Result<()> {
    if raise_restriction(txn, member, sanction.restrict, &sanction.reason, true, now)? {
        // Recorded so reports and audits see every restriction, not just reviewers'.
        txn.audit(
            AuditEntry::new(now, Actor::System, "restrict:automated")
                .member(member)
                .why(sanction.reason.clone()),
        )?;
    }
    Ok(())
}

impl App {
    /// Adds a strike to `member`'s ledger; a threshold crossed restricts them.
    pub(super) fn strike(
        &self,
        txn: &mut WriteTxn<'_>,
        member: MemberId,
        weight: u32,
        source: &str,
        reason: &str,
        now: Millis,
    ) -> Result<Option<Sanction>> {
        let sanction = self.change_sender_state(txn, member, now, |state, at| {
            self.limiter
                .add_strike_from(state, at, weight, source, reason)
        })?;
        if let Some(sanction) = &sanction {
            apply(txn, member, sanction, now)?;
        }
        Ok(sanction)
    }

    /// Takes back the strikes `source` gave `member` for `reason` (see
    /// [`crate::limits::strikes::withdraw`]); how many.
    pub(super) fn withdraw_strike(
        &self,
        txn: &mut WriteTxn<'_>,
        member: MemberId,
        source: &str,
        reason: &str,
        now: Millis,
    ) -> Result<usize> {
        self.change_sender_state(txn, member, now, |state, _| {
            self.limiter.withdraw_strike(state, source, reason)
        })
    }

    /// Applies `change` to `member`'s limiter state where the limits live: on Redis when
    /// configured (falling back to the store's copy when Redis does not answer), else in
    /// the store, in `txn`.
    fn change_sender_state<T>(
        &self,
        txn: &mut WriteTxn<'_>,
        member: MemberId,
        now: Millis,
        mut change: impl FnMut(&mut crate::limits::SenderState, Millis) -> T,
    ) -> Result<T> {
        match self.shared_state_change(member, now, &mut change) {
            Some(Ok(changed)) => return Ok(changed),
            Some(Err(error)) => {
                tracing::warn!(%error, member, "limiter state changed in the store: redis unreachable");
            }
            None => {}
        }
        let mut state = txn.sender_state(member)?.unwrap_or_default();
        let changed = change(&mut state, now);
        txn.put_sender_state(member, &state);
        Ok(changed)
    }

    /// Notes that `member` was refused for a rate limit; persistent sending through such
    /// refusals strikes (see `limits::ignored_refusals`). Not awaited for durability: a
    /// crash may lose the last few refusals noted, never an acknowledged send.
    pub(super) fn note_rate_limit_refusal(&self, member: MemberId) {
        let now = self.clock.now();
        let result = self.store.write(|txn| {
            let Some(mut state) = txn.sender_state(member)? else {
                return Ok::<_, crate::error::Error>(false);
            };
            let sanction = self.limiter.note_refusal(&mut state, now);
            if let Some(sanction) = &sanction {
                apply(txn, member, sanction, now)?;
            }
            txn.put_sender_state(member, &state);
            Ok(sanction.is_some())
        });
        match result {
            Ok((true, _)) => self.restriction_changed(member, true),
            Ok((false, _)) => {}
            Err(error) => tracing::warn!(%error, member, "rate-limit refusal not noted"),
        }
    }

    /// Clears the member's restriction and the strikes behind it.
    pub(super) fn clear_restriction(
        &self,
        txn: &mut WriteTxn<'_>,
        member: MemberId,
    ) -> Result<bool> {
        let shared_ledger = self.shared_lift(member).unwrap_or(false);
        let mut state = txn.sender_state(member)?.unwrap_or_default();
        let had_ledger = self.limiter.lift_restriction(&mut state).is_some() || shared_ledger;
        txn.put_sender_state(member, &state);
        let mut had_record = false;
        if let Some(mut record) = txn.member(member)? {
            had_record = record.restriction.take().is_some();
            txn.put_member(&record);
        }
        Ok(had_ledger || had_record)
    }
}
