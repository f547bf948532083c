//! The decision stream: every decision the pipeline or a person makes, as a versioned JSON
//! event on a JetStream stream, for the trust-and-safety team's other tools (analytics, a
//! warehouse, dashboards) to read at their own pace. The schema and retention are
//! documented in `docs/EVENTS.md`; a change that removes or renames a field raises
//! [`SCHEMA_VERSION`].
//!
//! Events carry ids (messages, members, reviewers, review items, appeals), decisions and
//! rule ids, never message text, nor the free-text notes and reasons people write (those
//! may quote a message): a reader that needs them asks the API, which checks its role.

use serde::{Deserialize, Serialize};

use crate::domain::{
    AppealOutcome, Decision as Placement, Label, MemberId, MessageId, Millis, RestrictionLevel,
    ReviewAction, ReviewerId, ThreadId,
};

/// The `schema` field of every event.
pub const SCHEMA: &str = "sendguard.decision";
/// Raised when a field is removed or changes meaning; adding a field keeps it.
pub const SCHEMA_VERSION: u32 = 1;

/// Every `kind` the stream carries, which is also the last token of the subject.
pub const DECISION_KINDS: [&str; 6] = [
    "verdict",
    "review_decision",
    "appeal_outcome",
    "restriction",
    "lift",
    "recall",
];

/// What was decided, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decided {
    /// The send path stored a message with this verdict.
    Verdict {
        message_id: MessageId,
        thread_id: ThreadId,
        sender: MemberId,
        recipient: MemberId,
        decision: Placement,
        /// Classifier spam probability, when a classifier ran.
        score: Option<f64>,
        /// The ids of the reasons (`source/id`, e.g. `rule/scam.advance_fee`).
        reasons: Vec<String>,
    },
    /// A reviewer decided a review item.
    ReviewDecision {
        item_id: u64,
        message_id: MessageId,
        sender: MemberId,
        reviewer: ReviewerId,
        label: Label,
        action: ReviewAction,
    },
    /// A reviewer decided an appeal; `message_id` is absent for an appeal of a restriction.
    AppealOutcome {
        appeal_id: u64,
        member: MemberId,
        reviewer: ReviewerId,
        outcome: AppealOutcome,
        message_id: Option<MessageId>,
    },
    /// A member was restricted (by the pipeline, a reviewer or an admin).
    Restriction {
        member: MemberId,
        level: Option<RestrictionLevel>,
        /// Raised by the pipeline rather than a person.
        automated: bool,
    },
    /// A member's restriction was lifted (by a reviewer, an admin or an appeal).
    Lift { member: MemberId },
    /// A sender recalled a message.
    Recall {
        message_id: MessageId,
        sender: MemberId,
        recipient: MemberId,
        /// It was held, so its recipient never saw it.
        was_held: bool,
    },
}

impl Decided {
    pub fn kind(&self) -> &'static str {
        match self {
            Decided::Verdict { .. } => "verdict",
            Decided::ReviewDecision { .. } => "review_decision",
            Decided::AppealOutcome { .. } => "appeal_outcome",
            Decided::Restriction { .. } => "restriction",
            Decided::Lift { .. } => "lift",
            Decided::Recall { .. } => "recall",
        }
    }
}

/// One event on the stream: the envelope fields, then the decision's (`kind` and its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionEvent {
    pub schema: String,
    pub version: u32,
    /// Unique per event (`<origin>-<sequence>`); also the JetStream message id, so a
    /// publish retried after a lost acknowledgement is stored once.
    pub id: String,
    /// When it was decided, epoch milliseconds.
    pub at: Millis,
    /// The replica that decided it.
    pub origin: String,
    #[serde(flatten)]
    pub decision: Decided,
}

impl DecisionEvent {
    pub fn new(origin: &str, sequence: u64, at: Millis, decision: Decided) -> DecisionEvent {
        DecisionEvent {
            schema: SCHEMA.to_string(),
            version: SCHEMA_VERSION,
            id: format!("{origin}-{sequence}"),
            at,
            origin: origin.to_string(),
            decision,
        }
    }

    /// One line for a person reading `sendguard events tail` (the command adds the time).
    pub fn describe(&self) -> String {
        let what = match &self.decision {
            Decided::Verdict {
                message_id,
                sender,
                recipient,
                decision,
                score,
                reasons,
                ..
            } => format!(
                "message {message_id} from {sender} to {recipient}: {}{}{}",
                decision.as_str(),
                score
                    .map(|s| format!(" (score {s:.3})"))
                    .unwrap_or_default(),
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", reasons.join(", "))
                }
            ),
            Decided::ReviewDecision {
                item_id,
                message_id,
                sender,
                reviewer,
                label,
                action,
            } => format!(
                "item {item_id} (message {message_id} from {sender}): reviewer {reviewer} \
                 labelled {} and chose {}",
                label.as_str(),
                serde_json::to_value(action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            Decided::AppealOutcome {
                appeal_id,
                member,
                reviewer,
                outcome,
                message_id,
            } => format!(
                "appeal {appeal_id} of member {member}{}: {} by reviewer {reviewer}",
                message_id
                    .map(|m| format!(" (message {m})"))
                    .unwrap_or_else(|| " (restriction)".to_string()),
                match outcome {
                    AppealOutcome::Upheld => "upheld",
                    AppealOutcome::Overturned => "overturned",
                }
            ),
            Decided::Restriction {
                member,
                level,
                automated,
            } => format!(
                "member {member} restricted{}{}",
                match level {
                    Some(RestrictionLevel::Full) => " (full)",
                    Some(RestrictionLevel::NewConversations) => " (new conversations)",
                    None => "",
                },
                if *automated { " by the pipeline" } else { "" }
            ),
            Decided::Lift { member } => format!("member {member}: restriction lifted"),
            Decided::Recall {
                message_id,
                sender,
                recipient,
                was_held,
            } => format!(
                "message {message_id} from {sender} to {recipient} recalled{}",
                if *was_held { " while held" } else { "" }
            ),
        };
        format!("{:<15} {what}", self.decision.kind())
    }
}

/// The stream's name for a subject prefix (stream names take no dots).
pub fn stream_name(prefix: &str) -> String {
    format!("{}_DECISIONS", super::stream_token(prefix))
}

/// The subject of one kind; the stream holds `<prefix>.decisions.>`.
pub fn subject(prefix: &str, kind: &str) -> String {
    format!("{prefix}.decisions.{kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_flat_json_with_the_envelope_and_read_back() {
        let event = DecisionEvent::new("abc", 7, 1_700_000_000_000, Decided::Lift { member: 42 });
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "schema": "sendguard.decision", "version": 1, "id": "abc-7",
                "at": 1_700_000_000_000i64, "origin": "abc", "kind": "lift", "member": 42
            })
        );
        assert_eq!(
            serde_json::from_value::<DecisionEvent>(json).unwrap(),
            event
        );
        assert_eq!(stream_name("sg.test-1"), "SG_TEST_1_DECISIONS");
        assert!(DECISION_KINDS.contains(&event.decision.kind()));
    }
}
