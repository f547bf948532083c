//! Retention: the `[retention]` windows, enforced by a sweep on the app's clock (the
//! server runs it every `sweep_interval_secs`; tests drive it on a manual clock). Each
//! kind is found by a pass over its records and changed in small writes; a sweep only
//! touches what is past its window and not done already, so sweeps can overlap a crash or
//! each other and end in the same state.

use serde::Serialize;

use super::App;
use crate::domain::{MessageStatus, Millis, TextRemovalReason};
use crate::error::Result;
use crate::store::Reader;

const DAY_MS: i64 = 86_400_000;
/// Records changed per write.
const PER_WRITE: usize = 256;

/// What one sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SweepReport {
    /// The sweep's "now", on the app's clock.
    pub at: Millis,
    /// Held messages a reviewer removed whose text is now gone.
    pub removed_message_texts: u64,
    /// Decided review items whose reporter's words and reviewer's note are now gone.
    pub review_texts: u64,
    pub audit_entries: u64,
    /// Limiter states deleted (idle for the whole window).
    pub limiter_states: u64,
}

fn cutoff(now: Millis, days: Option<u32>) -> Option<Millis> {
    days.map(|days| now - i64::from(days) * DAY_MS)
}

impl App {
    /// Runs every configured window once; returns what it removed.
    pub async fn retention_sweep(&self) -> Result<SweepReport> {
        let now = self.clock.now();
        let mut report = SweepReport {
            at: now,
            ..SweepReport::default()
        };
        let removed_before = cutoff(now, self.retention.removed_text_days);
        let review_before = cutoff(now, self.retention.review_text_days);
        if removed_before.is_some() || review_before.is_some() {
            let mut texts = Vec::new();
            let mut items = Vec::new();
            for item in self.store.review_items() {
                let item = item?;
                let Some(decided) = item.decision.as_ref().map(|d| d.at) else {
                    continue;
                };
                let has_text = item.report_reason.is_some()
                    || item.decision.as_ref().is_some_and(|d| d.note.is_some());
                if has_text && review_before.is_some_and(|before| decided <= before) {
                    items.push(item.clone());
                }
                if removed_before.is_some_and(|before| decided <= before) {
                    texts.push(item.message_id);
                }
            }
            for chunk in texts.chunks(PER_WRITE) {
                report.removed_message_texts += self
                    .commit(|txn| {
                        let mut removed = 0;
                        for id in chunk {
                            let Some(mut message) = txn.message(*id)? else {
                                continue;
                            };
                            if message.status == MessageStatus::Removed
                                && message.text_removed.is_none()
                            {
                                message.remove_text(now, TextRemovalReason::Retention);
                                txn.put_message(&message);
                                removed += 1;
                            }
                        }
                        Ok(removed)
                    })
                    .await?;
            }
            for chunk in items.chunks(PER_WRITE) {
                self.commit(|txn| {
                    for item in chunk {
                        let mut item = item.clone();
                        item.report_reason = None;
                        if let Some(decision) = &mut item.decision {
                            decision.note = None;
                        }
                        txn.put_review_item(&item);
                    }
                    Ok(())
                })
                .await?;
                report.review_texts += chunk.len() as u64;
            }
        }
        if let Some(before) = cutoff(now, self.retention.audit_days) {
            let expired: Vec<_> = self
                .store
                .audit_range(0, before)
                .collect::<crate::store::StoreResult<_>>()?;
            for chunk in expired.chunks(PER_WRITE) {
                self.commit(|txn| {
                    for entry in chunk {
                        txn.delete_audit(entry);
                    }
                    Ok(())
                })
                .await?;
                report.audit_entries += chunk.len() as u64;
            }
        }
        if let Some(before) = cutoff(now, self.retention.limiter_history_days) {
            let config = self.limiter.config();
            let mut idle = Vec::new();
            for state in self.store.sender_states() {
                let (member, state) = state?;
                // Idle already at the window's start: nothing happened in it since.
                if state.is_idle(config, before) && state.is_idle(config, now) {
                    idle.push(member);
                }
            }
            for chunk in idle.chunks(PER_WRITE) {
                report.limiter_states += self
                    .commit(|txn| {
                        let mut deleted = 0;
                        for member in chunk {
                            // Re-checked inside the write: a send may have come meanwhile.
                            if txn.sender_state(*member)?.is_some_and(|s| {
                                s.is_idle(config, before) && s.is_idle(config, now)
                            }) {
                                txn.delete_sender_state(*member);
                                deleted += 1;
                            }
                        }
                        Ok(deleted)
                    })
                    .await?;
            }
        }
        metrics::counter!("sendguard_retention_removed_total", "kind" => "message_text")
            .increment(report.removed_message_texts);
        metrics::counter!("sendguard_retention_removed_total", "kind" => "review_text")
            .increment(report.review_texts);
        metrics::counter!("sendguard_retention_removed_total", "kind" => "audit_entry")
            .increment(report.audit_entries);
        metrics::counter!("sendguard_retention_removed_total", "kind" => "limiter_state")
            .increment(report.limiter_states);
        Ok(report)
    }

    /// Seconds between background sweeps; `None` when no window is set or sweeps are off.
    pub fn retention_interval_secs(&self) -> Option<u64> {
        (self.retention.any() && self.retention.sweep_interval_secs > 0)
            .then_some(self.retention.sweep_interval_secs)
    }
}
