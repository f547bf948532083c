//! Reports as evidence: when a recipient's report may count toward an automated sanction.
//!
//! A report always hides the conversation for the reporter and queues the message for a
//! reviewer. It strikes the sender only when enough *distinct* members reported them within
//! `reports.window_days`, each weighed by their standing with reviewers: otherwise one
//! member (or one grudge) could restrict anyone by reporting the same polite message six
//! times. A reporter counts once per sender in the window, however many messages they
//! report; reviewers' decisions on reported messages raise or lower the reporters' weight.

use super::App;
use crate::domain::{Label, MemberId, Message, MessageId, Millis, ReportEntry};
use crate::error::Result;
use crate::store::{ReviewReader, WriteTxn};

const DAY_MS: Millis = 24 * 3600 * 1000;

impl App {
    /// Records `reporter`'s report of `message` and strikes the sender if the reports of
    /// distinct reporters, weighted by standing, have reached `reports.min_reporters`.
    pub(super) fn weigh_report(
        &self,
        txn: &mut WriteTxn<'_>,
        reporter: MemberId,
        message: &Message,
        now: Millis,
    ) -> Result<()> {
        let config = &self.reports;
        let sender = message.from;
        let mut against = txn.reports_against(sender)?;
        let since = now - Millis::from(config.window_days) * DAY_MS;
        against.entries.retain(|entry| entry.at > since);
        let counted_before = against.entries.iter().any(|e| e.reporter == reporter);
        let repeat = against
            .entries
            .iter()
            .any(|e| e.reporter == reporter && e.message_id == message.id);
        if !repeat {
            against.entries.push(ReportEntry {
                reporter,
                message_id: message.id,
                at: now,
            });
            against.trim(config.max_kept);
        }
        txn.put_reports_against(sender, &against);
        if counted_before {
            return Ok(());
        }
        let mut reporters: Vec<MemberId> = against.entries.iter().map(|e| e.reporter).collect();
        reporters.sort_unstable();
        reporters.dedup();
        let mut weight = 0.0;
        for member in &reporters {
            weight += txn
                .reporter_standing(*member)?
                .weight(config.standing_prior);
        }
        if weight + 1e-9 < config.min_reporters {
            metrics::counter!("sendguard_reports_total", "counted" => "false").increment(1);
            return Ok(());
        }
        metrics::counter!("sendguard_reports_total", "counted" => "true").increment(1);
        // The report that reaches the threshold brings in every reporter's strike at once
        // (they were evidence all along); each later distinct reporter adds one.
        let mine = txn
            .reporter_standing(reporter)?
            .weight(config.standing_prior);
        let just_reached = weight - mine + 1e-9 < config.min_reporters;
        let strikes = if just_reached {
            reporters.len() as u32
        } else {
            1
        };
        self.strike(
            txn,
            sender,
            config.strike_weight.saturating_mul(strikes),
            "report",
            &format!(
                "{} distinct members reported this sender within {} days (weighted {weight:.1})",
                reporters.len(),
                config.window_days
            ),
            now,
        )?;
        Ok(())
    }

    /// A reviewer's label on a reported message updates the standing of everyone who
    /// reported it: spam upholds their reports, ham overturns them.
    pub(super) fn judge_reporters(
        &self,
        txn: &mut WriteTxn<'_>,
        sender: MemberId,
        message: MessageId,
        label: Label,
    ) -> Result<()> {
        let against = txn.reports_against(sender)?;
        let mut reporters: Vec<MemberId> = against
            .entries
            .iter()
            .filter(|e| e.message_id == message)
            .map(|e| e.reporter)
            .collect();
        reporters.sort_unstable();
        reporters.dedup();
        for reporter in reporters {
            let mut standing = txn.reporter_standing(reporter)?;
            match label {
                Label::Spam => standing.upheld = standing.upheld.saturating_add(1),
                Label::Ham => standing.overturned = standing.overturned.saturating_add(1),
            }
            txn.put_reporter_standing(reporter, &standing);
        }
        Ok(())
    }
}
