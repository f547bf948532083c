//! The signals every stage reports and the policy decides on: who the sender is to the
//! recipient, which rules matched, what the classifier and the limiters saw.
//!
//! They are vocabulary, not policy: rules produce `RuleHit`s, the engine a
//! `ClassifierSignal`, the limiters `BehaviourSignal`s, and a stored message keeps its
//! `Relationship` and behaviour (`SendSignals`) so a rescore can replay the decision.

use serde::{Deserialize, Serialize};

/// Who the sender is to the recipient, as the mailbox found it before scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Relationship {
    /// Sender and recipient are connections.
    pub connected: bool,
    /// The recipient has written in this thread (started it, or replied): they accepted
    /// the conversation.
    pub recipient_replied: bool,
    /// The message is a paid InMail whose credit the sender has.
    pub inmail: bool,
    /// The message comes through the sponsored channel (an advertiser's campaign), whose
    /// policy allows promotional language.
    #[serde(default)]
    pub sponsored: bool,
}

/// What a rule asks for when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Only add the rule's score.
    Score,
    /// At least Other.
    Other,
    /// Hold for review.
    Hold,
    /// Refuse the send outright.
    Reject,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleHit {
    pub id: String,
    pub category: String,
    pub action: RuleAction,
    pub score: f64,
    /// Shadow rules are recorded and counted but never act.
    pub shadow: bool,
    /// A weak sign that counts, and is named, only beside another sign of spam.
    #[serde(default)]
    pub supporting: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierSignal {
    /// P(spam) from the model, for display.
    pub spam_probability: f64,
    /// The model's logit.
    pub log_odds: f64,
    /// The length-normalized log-odds the thresholds compare against (probabilities round
    /// to 1.0 long before Naive Bayes log-odds stop growing, and grow with length).
    pub decision_score: f64,
    /// The model's own thresholds on the decision score, chosen on held-out data for target
    /// ham false-positive rates: hold when `decision_score > hold_above`.
    pub hold_above: f64,
    pub other_above: f64,
    pub model: String,
    /// Distinct features of the message the model knows.
    #[serde(default)]
    pub known_features: u32,
    /// Tokens of the message the model never saw.
    #[serde(default)]
    pub unknown_tokens: u32,
    /// The features that pushed the score toward spam most, with their share of the
    /// decision score, for reviewers.
    #[serde(default)]
    pub top_features: Vec<(String, f64)>,
}

impl ClassifierSignal {
    /// Share of the message's tokens the model knows.
    pub fn coverage(&self) -> f64 {
        let total = self.known_features + self.unknown_tokens;
        if total == 0 {
            0.0
        } else {
            f64::from(self.known_features) / f64::from(total)
        }
    }
}

/// A behaviour signal from the limiters (fan-out, cadence, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourSignal {
    pub id: String,
    pub hold: bool,
    pub score: f64,
    pub detail: String,
}
