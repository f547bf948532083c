//! Erasure (account closure): the member's profile, tokens, per-member records and the
//! text of every message they sent are removed; the audit log and review items keep a
//! pseudonym and no text. The work is a series of small writes after a first one that
//! records the erasure (and its pseudonym), so a crash or a step budget leaves a record
//! under way, and the next request resumes it: every step only changes what is still
//! there, which also makes a repeated request harmless.

use serde::Serialize;

use super::App;
use crate::domain::{Actor, AuditEntry, ErasureCounts, ErasureRecord, MemberId, TextRemovalReason};
use crate::error::{Error, Result};
use crate::store::{LifecycleReader, Reader, ReviewReader, WriteTxn};

/// Review items and audit entries rewritten per write.
const REWRITES_PER_WRITE: usize = 256;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErasureOutcome {
    /// `completed` (now), `already_erased` (by an earlier request), or `in_progress` (the
    /// step budget ran out; ask again to resume).
    pub status: &'static str,
    pub erasure: ErasureRecord,
}

/// Steps left before an erasure pauses; `None`: no limit.
struct Budget(Option<usize>);

impl Budget {
    /// Takes one step; false when none is left.
    fn take(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(0) => false,
            Some(left) => {
                *left -= 1;
                true
            }
        }
    }
}

impl App {
    /// Erases `member` completely (or finishes an erasure a crash interrupted).
    pub async fn erase_member(&self, member: MemberId) -> Result<ErasureOutcome> {
        self.erase_member_in_steps(member, None).await
    }

    /// Erases `member`, stopping after `max_steps` writes (the CLI's `--max-steps`; the
    /// next call resumes). Unknown members are 404, unless already erased.
    pub async fn erase_member_in_steps(
        &self,
        member: MemberId,
        max_steps: Option<usize>,
    ) -> Result<ErasureOutcome> {
        let mut budget = Budget(max_steps);
        let now = self.clock.now();
        // Step 1: the record, the tokens (no further request as this member) and every
        // record keyed by the member, in one write.
        let Some(start) = self.store.erasure(member)? else {
            if !budget.take() {
                return Err(Error::invalid_field(
                    "max_steps",
                    "max_steps must be at least 1",
                ));
            }
            self.begin_erasure(member, now).await?;
            return self.continue_erasure(member, budget).await;
        };
        if start.completed_at.is_some() {
            return Ok(ErasureOutcome {
                status: "already_erased",
                erasure: start,
            });
        }
        self.continue_erasure(member, budget).await
    }

    async fn begin_erasure(&self, member: MemberId, now: i64) -> Result<()> {
        let tokens = self.store.token_hashes_of(member)?;
        self.commit(|txn| {
            if txn.member(member)?.is_none() {
                return Err(
                    Error::not_found("unknown_member", format!("no member {member}"))
                        .field("member_id"),
                );
            }
            let mut record = ErasureRecord {
                member_id: member,
                pseudonym: txn.next_id()?,
                requested_at: now,
                completed_at: None,
                counts: ErasureCounts::default(),
            };
            for hash in &tokens {
                txn.delete_token(hash);
                record.counts.tokens_deleted += 1;
            }
            record.counts.records_deleted += txn.erase_member_records(member)?;
            txn.put_erasure(&record);
            Ok(())
        })
        .await
    }

    /// The steps after the first; each is one write that also saves the counts.
    async fn continue_erasure(
        &self,
        member: MemberId,
        mut budget: Budget,
    ) -> Result<ErasureOutcome> {
        let paused = |record| ErasureOutcome {
            status: "in_progress",
            erasure: record,
        };
        // Messages the member sent, thread by thread.
        for thread in self.store.threads_of(member)? {
            let pending: Vec<u64> = self
                .store
                .thread_messages(thread)?
                .into_iter()
                .filter(|m| m.from == member && m.text_removed.is_none())
                .map(|m| m.id)
                .collect();
            if pending.is_empty() {
                continue;
            }
            if !budget.take() {
                return Ok(paused(self.erasure_record(member)?));
            }
            let now = self.clock.now();
            self.erasure_step(member, |txn, counts| {
                for id in &pending {
                    let Some(mut message) = txn.message(*id)? else {
                        continue;
                    };
                    message.remove_text(now, TextRemovalReason::Erasure);
                    txn.put_message(&message);
                    counts.messages_redacted += 1;
                    if txn.label(*id)?.is_some() {
                        txn.delete_label(*id);
                        counts.labels_deleted += 1;
                    }
                }
                Ok(())
            })
            .await?;
        }
        let pseudonym = self.erasure_record(member)?.pseudonym;
        // Review items about the member's messages, and the words of the member's reports.
        let reported: std::collections::BTreeSet<u64> = self
            .store
            .reports_by(member)?
            .into_iter()
            .map(|(_, report)| report.message_id)
            .collect();
        let mut items = Vec::new();
        for item in self.store.review_items() {
            let item = item?;
            let about_member = item.sender == member;
            let their_words = reported.contains(&item.message_id) && item.report_reason.is_some();
            if about_member || their_words {
                items.push(item);
            }
        }
        for chunk in items.chunks(REWRITES_PER_WRITE) {
            if !budget.take() {
                return Ok(paused(self.erasure_record(member)?));
            }
            let now = self.clock.now();
            self.erasure_step(member, |txn, counts| {
                for item in chunk {
                    let mut item = item.clone();
                    if item.sender == member {
                        item.sender = pseudonym;
                        if let Some(decision) = &mut item.decision {
                            decision.note = None;
                        }
                        if item.is_open() {
                            item.withdrawn_at = Some(now);
                        }
                    }
                    item.report_reason = None;
                    txn.put_review_item(&item);
                    counts.review_items_pseudonymized += 1;
                }
                Ok(())
            })
            .await?;
        }
        // Appeals the member made (their own words).
        let appeals: Vec<_> = self
            .store
            .appeals()
            .filter(|a| a.as_ref().map_or(true, |a| a.member == member))
            .collect::<crate::store::StoreResult<_>>()?;
        if !appeals.is_empty() {
            if !budget.take() {
                return Ok(paused(self.erasure_record(member)?));
            }
            self.erasure_step(member, |txn, counts| {
                for appeal in &appeals {
                    txn.delete_appeal(appeal);
                    counts.appeals_deleted += 1;
                }
                Ok(())
            })
            .await?;
        }
        // The member's reports of other senders leave the evidence against them.
        let senders: std::collections::BTreeSet<MemberId> = self
            .store
            .reports_by(member)?
            .into_iter()
            .map(|(sender, _)| sender)
            .collect();
        if !senders.is_empty() {
            if !budget.take() {
                return Ok(paused(self.erasure_record(member)?));
            }
            self.erasure_step(member, |txn, counts| {
                for sender in &senders {
                    let mut reports = txn.reports_against(*sender)?;
                    let before = reports.entries.len();
                    reports.entries.retain(|r| r.reporter != member);
                    counts.reports_removed += (before - reports.entries.len()) as u64;
                    txn.put_reports_against(*sender, &reports);
                }
                Ok(())
            })
            .await?;
        }
        // Audit entries about or by the member: the pseudonym, no text.
        let mut entries = Vec::new();
        for entry in self.store.audit_range(0, i64::MAX) {
            let entry = entry?;
            if entry.member_id == Some(member) || entry.actor == Actor::Member(member) {
                entries.push(entry);
            }
        }
        for chunk in entries.chunks(REWRITES_PER_WRITE) {
            if !budget.take() {
                return Ok(paused(self.erasure_record(member)?));
            }
            self.erasure_step(member, |txn, counts| {
                for entry in chunk {
                    let mut entry = entry.clone();
                    if entry.member_id == Some(member) {
                        entry.member_id = Some(pseudonym);
                    }
                    if entry.actor == Actor::Member(member) {
                        entry.actor = Actor::Member(pseudonym);
                    }
                    entry.why = None;
                    txn.rewrite_audit(&entry);
                    counts.audit_entries_pseudonymized += 1;
                }
                Ok(())
            })
            .await?;
        }
        if !budget.take() {
            return Ok(paused(self.erasure_record(member)?));
        }
        // The limiter state on Redis (`[limits] backend = "redis"`) goes too; unreachable,
        // the erasure stays under way and the next request finishes it.
        let forgot_shared_state = match &self.shared_limits {
            Some(shared) => shared.forget(member).await.map_err(|error| {
                Error::new(
                    crate::error::ErrorKind::Unavailable,
                    "limits_unavailable",
                    format!("the limiter state on Redis could not be deleted ({error}); ask again"),
                )
                .retry_after(1)
            })?,
            None => false,
        };
        let now = self.clock.now();
        let record = self
            .commit(|txn| {
                let mut record = txn
                    .erasure(member)?
                    .ok_or_else(|| Error::not_found("unknown_member", "erasure record vanished"))?;
                record.completed_at = Some(now);
                record.counts.records_deleted += u64::from(forgot_shared_state);
                txn.put_erasure(&record);
                txn.audit(
                    AuditEntry::new(now, Actor::Admin, "erase_member")
                        .member(record.pseudonym)
                        .why(format!(
                            "messages redacted {}, records deleted {}",
                            record.counts.messages_redacted, record.counts.records_deleted
                        )),
                )?;
                Ok(record)
            })
            .await?;
        metrics::counter!("sendguard_erasures_total").increment(1);
        Ok(ErasureOutcome {
            status: "completed",
            erasure: record,
        })
    }

    fn erasure_record(&self, member: MemberId) -> Result<ErasureRecord> {
        self.store
            .erasure(member)?
            .ok_or_else(|| Error::not_found("unknown_member", format!("no member {member}")))
    }

    /// One step: `work` changes records and counts them; the counts are saved with it.
    async fn erasure_step(
        &self,
        member: MemberId,
        work: impl FnOnce(&mut WriteTxn<'_>, &mut ErasureCounts) -> Result<()>,
    ) -> Result<()> {
        self.commit(|txn| {
            let mut record = txn
                .erasure(member)?
                .ok_or_else(|| Error::not_found("unknown_member", "erasure record vanished"))?;
            work(txn, &mut record.counts)?;
            txn.put_erasure(&record);
            Ok(())
        })
        .await
    }
}
