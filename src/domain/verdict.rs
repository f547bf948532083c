//! The verdict: what the pipeline decided about one message, and why.
//!
//! Reasons travel with every verdict so a reviewer, an appealing member and a developer all
//! see the same facts the decision rested on.

use serde::{Deserialize, Serialize};

use super::{BehaviourSignal, Folder, Relationship, RestrictionLevel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Inbox,
    Other,
    Held,
}

impl Decision {
    /// The recipient folder a delivered message lands in; `None` while held.
    pub fn folder(self) -> Option<Folder> {
        match self {
            Decision::Inbox => Some(Folder::Inbox),
            Decision::Other => Some(Folder::Other),
            Decision::Held => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Inbox => "inbox",
            Decision::Other => "other",
            Decision::Held => "held",
        }
    }
}

/// One fact the decision relied on: `source` names the stage (relationship, rule, classifier,
/// limit, policy), `id` the rule or signal, `detail` a human sentence without message text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reason {
    pub source: String,
    pub id: String,
    pub detail: String,
    /// What a reviewer weighs behind the reason (the tokens that pushed the classifier's
    /// score most, with their weights). Never shown to the sender: [`Reason::for_member`]
    /// drops it, so a statement stays general and no spammer learns which words to avoid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl Reason {
    pub fn new(source: &str, id: &str, detail: impl Into<String>) -> Reason {
        Reason {
            source: source.to_string(),
            id: id.to_string(),
            detail: detail.into(),
            evidence: Vec::new(),
        }
    }

    /// The reason as a member may read it: without the reviewer's evidence.
    pub fn for_member(&self) -> Reason {
        Reason {
            evidence: Vec::new(),
            ..self.clone()
        }
    }
}

/// A consequence for the sender that comes with a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sanction {
    pub restrict: RestrictionLevel,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verdict {
    pub decision: Decision,
    /// Where the relationship alone would put the message: a released hold goes here.
    pub route: Folder,
    /// Whether the message was sent as (and charged as) an InMail.
    pub inmail: bool,
    pub reasons: Vec<Reason>,
    /// Classifier spam probability, when a classifier ran.
    pub score: Option<f64>,
    pub sanction: Option<Sanction>,
    /// True when no human took part in the decision.
    pub automated: bool,
    /// Set when a `reject` rule matched: the send is refused rather than delivered or held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Reason>,
    /// The message's language as identified (ISO 639-3), for reports and reviewers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Verdict {
    pub fn folder(&self) -> Option<Folder> {
        self.decision.folder()
    }

    /// The folder a delivered message is in: the verdict's, or for a released hold the
    /// one its relationship gives.
    pub fn route_or_folder(&self) -> Folder {
        self.folder().unwrap_or(self.route)
    }
}

/// The sender-side facts a send was decided on, kept with the message so a rescore can
/// replay the decision with new rules or a new model but the same context.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SendSignals {
    pub relationship: Relationship,
    #[serde(default)]
    pub behaviour: Vec<BehaviourSignal>,
}
