//! Trust-and-safety records: review items, labels, appeals and the audit log.

use serde::{Deserialize, Serialize};

use super::{MemberId, MessageId, Millis, ReviewerId};

/// Why a message is in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOrigin {
    /// The pipeline held it on the send path (or a rescore did).
    Held,
    /// The recipient reported it after delivery.
    Reported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Spam,
    Ham,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Spam => "spam",
            Label::Ham => "ham",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    /// Deliver the message to the folder it would have had.
    Release,
    /// Keep it out of the recipient's view, and strike the sender.
    Remove,
    /// Remove, and restrict the sender fully.
    RestrictSender,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewDecision {
    pub reviewer: ReviewerId,
    pub label: Label,
    pub action: ReviewAction,
    pub note: Option<String>,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    pub reviewer: ReviewerId,
    pub until: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub id: u64,
    pub message_id: MessageId,
    pub sender: MemberId,
    pub origin: ReviewOrigin,
    /// The recipient's words when reported; never message text.
    pub report_reason: Option<String>,
    pub created_at: Millis,
    pub claim: Option<Claim>,
    pub decision: Option<ReviewDecision>,
    /// Set when a batch rescore released the held message before anyone reviewed it: the
    /// item leaves the queue without a human decision (and without a label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<Millis>,
}

impl ReviewItem {
    /// Whether the item still waits in the queue for a reviewer.
    pub fn is_open(&self) -> bool {
        self.decision.is_none() && self.withdrawn_at.is_none()
    }
}

/// A restriction an appeal overturned, kept so the member's statement of reasons stays
/// (marked overturned) after the restriction itself is lifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverturnedRestriction {
    pub restriction: super::Restriction,
    pub appeal_id: u64,
    pub overturned_at: Millis,
}

/// One member's report of one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportEntry {
    pub reporter: MemberId,
    pub message_id: MessageId,
    pub at: Millis,
}

/// Recent reports of a sender's messages: the evidence automated sanctions weigh, kept
/// per reporter so that one member reporting many times counts once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportsAgainst {
    /// Oldest first; entries older than the report window are pruned on each report.
    pub entries: Vec<ReportEntry>,
}

impl ReportsAgainst {
    /// Keeps at most `max` entries. Entries of reporters who have another one go first
    /// (oldest first), so one member reporting many messages cannot push the other
    /// reporters out of the count; only then the oldest overall.
    pub fn trim(&mut self, max: usize) {
        while self.entries.len() > max {
            let repeated = self.entries.iter().position(|entry| {
                self.entries
                    .iter()
                    .filter(|other| other.reporter == entry.reporter)
                    .count()
                    > 1
            });
            self.entries.remove(repeated.unwrap_or(0));
        }
    }
}

/// How reviewers decided a member's reports: a reporter whose reports keep being
/// overturned weighs less when reports are counted toward a sanction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReporterStanding {
    /// Reports a reviewer confirmed (labelled spam).
    pub upheld: u32,
    /// Reports a reviewer overturned (labelled ham).
    pub overturned: u32,
}

impl ReporterStanding {
    /// The weight of this member's report, in (0, 1]: `(upheld + prior) / (upheld +
    /// overturned + prior)`, so a new reporter counts fully and each overturn costs.
    pub fn weight(&self, prior: f64) -> f64 {
        let upheld = f64::from(self.upheld) + prior;
        upheld / (upheld + f64::from(self.overturned))
    }
}

/// Where a label came from; every source is exported, and training can filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    Reviewer,
    MarkSafe,
    Appeal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub message_id: MessageId,
    pub label: Label,
    pub source: LabelSource,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppealTarget {
    Message { message_id: MessageId },
    Restriction { since: Millis },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    /// The original decision stands.
    Upheld,
    /// The original decision is reversed: the message is released or the restriction lifted.
    Overturned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Appeal {
    pub id: u64,
    pub member: MemberId,
    pub target: AppealTarget,
    pub reason: String,
    pub created_at: Millis,
    pub outcome: Option<AppealOutcome>,
    pub decided_by: Option<ReviewerId>,
    pub note: Option<String>,
    pub decided_at: Option<Millis>,
}

/// Who did something recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    Reviewer(ReviewerId),
    Member(MemberId),
    Admin,
    System,
}

/// One append-only audit record: who, when, what, on which subject, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: u64,
    pub at: Millis,
    pub actor: Actor,
    /// e.g. `read_item`, `decide_item`, `lift_restriction`, `decide_appeal`, `rescore_change`.
    pub action: String,
    pub message_id: Option<MessageId>,
    pub member_id: Option<MemberId>,
    pub item_id: Option<u64>,
    /// The reviewer's justification or note; never message text.
    pub why: Option<String>,
}

impl AuditEntry {
    /// An entry with no subject yet; the store gives it its id when it is appended.
    pub fn new(at: Millis, actor: Actor, action: impl Into<String>) -> AuditEntry {
        AuditEntry {
            id: 0,
            at,
            actor,
            action: action.into(),
            message_id: None,
            member_id: None,
            item_id: None,
            why: None,
        }
    }

    pub fn message(mut self, id: impl Into<Option<MessageId>>) -> AuditEntry {
        self.message_id = id.into();
        self
    }

    pub fn member(mut self, id: impl Into<Option<MemberId>>) -> AuditEntry {
        self.member_id = id.into();
        self
    }

    pub fn item(mut self, id: impl Into<Option<u64>>) -> AuditEntry {
        self.item_id = id.into();
        self
    }

    pub fn why(mut self, why: impl Into<Option<String>>) -> AuditEntry {
        self.why = why.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_every_distinct_reporter_while_it_can() {
        let entry = |reporter, message_id| ReportEntry {
            reporter,
            message_id,
            at: 0,
        };
        let mut reports = ReportsAgainst {
            entries: vec![entry(1, 10), entry(2, 11)],
        };
        // Member 3 reports 50 messages: members 1 and 2 stay.
        for message in 0..50 {
            reports.entries.push(entry(3, 100 + message));
            reports.trim(5);
        }
        let reporters: Vec<u64> = reports.entries.iter().map(|e| e.reporter).collect();
        assert_eq!(reporters, [1, 2, 3, 3, 3]);
        assert_eq!(reports.entries[4].message_id, 149);
    }
}
