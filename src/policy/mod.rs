//! Policy: one pure function from signals to a [`Verdict`].
//!
//! Every stage before it (relationship, rules, classifier, limits) only *reports*; this is
//! the single place that *decides*, so a decision can be replayed from its recorded signals
//! (batch rescoring) and every threshold lives in configuration, not in code.

use serde::{Deserialize, Serialize};

use crate::domain::{Decision, Reason, Verdict};

/// Who the sender is to the recipient, as the mailbox found it before scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Relationship {
    /// Sender and recipient are connections.
    pub connected: bool,
    /// The recipient already replied in this thread: they accepted the conversation.
    pub recipient_replied: bool,
    /// The message is a paid InMail whose credit the sender has.
    pub inmail: bool,
}

/// Everything the policy may rest a decision on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signals {
    pub relationship: Relationship,
}

/// Tunables of the policy; read from the `[policy]` table of the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Deliver messages from connections to the Inbox (the product's rule; off only in tests
    /// of other routing).
    pub connections_to_inbox: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            connections_to_inbox: true,
        }
    }
}

/// Decides where a message goes and why.
pub fn decide(signals: &Signals, config: &PolicyConfig) -> Verdict {
    let relationship = signals.relationship;
    let mut reasons = Vec::new();
    let decision = if relationship.connected && config.connections_to_inbox {
        reasons.push(Reason::new(
            "relationship",
            "connected",
            "sender and recipient are connected",
        ));
        Decision::Inbox
    } else if relationship.inmail {
        reasons.push(Reason::new(
            "relationship",
            "inmail",
            "paid InMail from a premium member",
        ));
        Decision::Inbox
    } else if relationship.recipient_replied {
        reasons.push(Reason::new(
            "relationship",
            "accepted_thread",
            "the recipient has replied in this conversation",
        ));
        Decision::Inbox
    } else {
        reasons.push(Reason::new(
            "relationship",
            "outside_network",
            "sender is outside the recipient's network",
        ));
        Decision::Other
    };
    Verdict {
        decision,
        inmail: relationship.inmail && !relationship.connected,
        reasons,
        score: None,
        sanction: None,
        automated: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide_for(relationship: Relationship) -> Verdict {
        decide(&Signals { relationship }, &PolicyConfig::default())
    }

    #[test]
    fn connections_land_in_inbox() {
        let verdict = decide_for(Relationship {
            connected: true,
            ..Default::default()
        });
        assert_eq!(verdict.decision, Decision::Inbox);
        assert_eq!(verdict.reasons[0].id, "connected");
        assert!(!verdict.inmail);
    }

    #[test]
    fn strangers_land_in_other_unless_inmail_or_accepted() {
        assert_eq!(
            decide_for(Relationship::default()).decision,
            Decision::Other
        );
        let inmail = decide_for(Relationship {
            inmail: true,
            ..Default::default()
        });
        assert_eq!((inmail.decision, inmail.inmail), (Decision::Inbox, true));
        let accepted = decide_for(Relationship {
            recipient_replied: true,
            ..Default::default()
        });
        assert_eq!(accepted.decision, Decision::Inbox);
        assert_eq!(accepted.reasons[0].id, "accepted_thread");
    }
}
