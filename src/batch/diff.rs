//! The before/after diff of a rescore: what trust and safety reads before deciding to apply.
//!
//! A [`Diff`] is a sum of per-message facts, so partial diffs merge in any order into the
//! same total. That is what lets worker threads fold chunks independently and lets a
//! resumed run add its part to the checkpointed diff and report exactly what one
//! uninterrupted run would have (examples are the lowest ids, not the first ones seen).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{Decision, Folder, Message, MessageId, MessageStatus, Verdict};

/// Example message ids kept per transition.
pub const EXAMPLES: usize = 5;

/// Where a message stands for the recipient: the two folders, or held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Inbox,
    Other,
    Held,
}

impl Place {
    /// The place of a stored message. A delivered message whose verdict says held was
    /// released by a person, into its relationship folder.
    pub fn of_stored(message: &Message) -> Place {
        if message.status == MessageStatus::Held {
            return Place::Held;
        }
        match message
            .verdict
            .decision
            .folder()
            .unwrap_or(message.verdict.route)
        {
            Folder::Other => Place::Other,
            Folder::Inbox | Folder::Archived => Place::Inbox,
        }
    }

    pub fn of_decision(decision: Decision) -> Place {
        match decision {
            Decision::Inbox => Place::Inbox,
            Decision::Other => Place::Other,
            Decision::Held => Place::Held,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Place::Inbox => "inbox",
            Place::Other => "other",
            Place::Held => "held",
        }
    }

    /// The recipient folder, `None` while held.
    pub fn folder(self) -> Option<Folder> {
        match self {
            Place::Inbox => Some(Folder::Inbox),
            Place::Other => Some(Folder::Other),
            Place::Held => None,
        }
    }
}

/// `before->after`, e.g. `held->inbox` (a release into the Inbox).
pub fn transition_name(before: Place, after: Place) -> String {
    format!("{}->{}", before.as_str(), after.as_str())
}

/// Decile of a classifier spam probability, `none` when no classifier ran.
pub fn score_band(score: Option<f64>) -> String {
    match score {
        Some(p) if p.is_finite() => {
            let decile = ((p.clamp(0.0, 1.0) * 10.0).floor() as u32).min(9);
            format!(
                "{:.1}-{:.1}",
                decile as f64 / 10.0,
                (decile + 1) as f64 / 10.0
            )
        }
        _ => "none".to_string(),
    }
}

/// Messages that moved one way, with the lowest example ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transition {
    pub count: u64,
    pub examples: Vec<MessageId>,
}

impl Transition {
    fn add(&mut self, id: MessageId) {
        self.count += 1;
        if self.examples.len() < EXAMPLES || self.examples.last().is_some_and(|&l| id < l) {
            self.examples.push(id);
            self.examples.sort_unstable();
            self.examples.dedup();
            self.examples.truncate(EXAMPLES);
        }
    }

    fn merge(&mut self, other: Transition) {
        self.count += other.count;
        self.examples.extend(other.examples);
        self.examples.sort_unstable();
        self.examples.dedup();
        self.examples.truncate(EXAMPLES);
    }
}

/// One rule (or one score band): how many messages it covered before and after, and the
/// transitions of the changed messages it is involved in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Breakdown {
    pub before: u64,
    pub after: u64,
    pub transitions: BTreeMap<String, u64>,
}

impl Breakdown {
    fn merge(&mut self, other: Breakdown) {
        self.before += other.before;
        self.after += other.after;
        for (name, count) in other.transitions {
            *self.transitions.entry(name).or_default() += count;
        }
    }
}

/// Messages the run did not rescore, by why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Skipped {
    /// Sent before `--since`.
    pub before_since: u64,
    pub recalled: u64,
    /// Removed by a reviewer.
    pub removed: u64,
    /// Text removed (the sender's account erased, or a retention window passed): nothing
    /// is left to judge.
    #[serde(default)]
    pub text_removed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Diff {
    /// Messages read from the store.
    pub scanned: u64,
    pub skipped: Skipped,
    /// Messages run through the engine again: `scanned` minus `skipped`.
    pub rescored: u64,
    pub unchanged: u64,
    /// Messages whose place changes (dry run) or changed (apply), by transition.
    pub changed: u64,
    pub transitions: BTreeMap<String, Transition>,
    /// Changes the new verdict asks for on messages a person already decided (a label):
    /// reported, never made.
    pub protected: BTreeMap<String, Transition>,
    /// Apply only: changes not made because the message changed meanwhile (a reviewer, a
    /// recall) between scoring and writing; the next run sees the new state.
    pub conflicts: u64,
    /// Per rule id (non-shadow hits cited in verdict reasons).
    pub rules: BTreeMap<String, Breakdown>,
    /// Per decile of the classifier's spam probability (`none` without a classifier).
    pub score_bands: BTreeMap<String, Breakdown>,
}

/// What became of one stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Skipped(SkipReason),
    Unchanged,
    Changed,
    /// Would change, but a person decided it.
    Protected,
    /// Would change, but it changed meanwhile.
    Conflict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    BeforeSince,
    Recalled,
    Removed,
    TextRemoved,
}

impl Diff {
    /// Adds one message: its stored state, the new verdict (absent when skipped) and fate.
    pub fn record(&mut self, message: &Message, new: Option<&Verdict>, fate: &Fate) {
        self.scanned += 1;
        let new = match (fate, new) {
            (Fate::Skipped(reason), _) => {
                match reason {
                    SkipReason::BeforeSince => self.skipped.before_since += 1,
                    SkipReason::Recalled => self.skipped.recalled += 1,
                    SkipReason::Removed => self.skipped.removed += 1,
                    SkipReason::TextRemoved => self.skipped.text_removed += 1,
                }
                return;
            }
            (_, Some(new)) => new,
            (_, None) => return,
        };
        self.rescored += 1;
        let before = Place::of_stored(message);
        let after = Place::of_decision(new.decision);
        let name = transition_name(before, after);
        let moved = match fate {
            Fate::Unchanged => {
                self.unchanged += 1;
                None
            }
            Fate::Changed => {
                self.changed += 1;
                self.transitions
                    .entry(name.clone())
                    .or_default()
                    .add(message.id);
                Some(name)
            }
            Fate::Protected => {
                self.protected.entry(name).or_default().add(message.id);
                None
            }
            Fate::Conflict => {
                self.conflicts += 1;
                None
            }
            Fate::Skipped(_) => None,
        };
        let old_rules = rule_ids(&message.verdict);
        let new_rules = rule_ids(new);
        for id in &old_rules {
            self.rules.entry(id.to_string()).or_default().before += 1;
        }
        for id in &new_rules {
            self.rules.entry(id.to_string()).or_default().after += 1;
        }
        let old_band = score_band(message.verdict.score);
        let new_band = score_band(new.score);
        self.score_bands.entry(old_band).or_default().before += 1;
        let band = self.score_bands.entry(new_band).or_default();
        band.after += 1;
        if let Some(name) = moved {
            *band.transitions.entry(name.clone()).or_default() += 1;
            let mut involved: Vec<&str> = old_rules.into_iter().chain(new_rules).collect();
            involved.sort_unstable();
            involved.dedup();
            for id in involved {
                *self
                    .rules
                    .entry(id.to_string())
                    .or_default()
                    .transitions
                    .entry(name.clone())
                    .or_default() += 1;
            }
        }
    }

    pub fn merge(&mut self, other: Diff) {
        self.scanned += other.scanned;
        self.skipped.before_since += other.skipped.before_since;
        self.skipped.recalled += other.skipped.recalled;
        self.skipped.removed += other.skipped.removed;
        self.skipped.text_removed += other.skipped.text_removed;
        self.rescored += other.rescored;
        self.unchanged += other.unchanged;
        self.changed += other.changed;
        self.conflicts += other.conflicts;
        for (name, t) in other.transitions {
            self.transitions.entry(name).or_default().merge(t);
        }
        for (name, t) in other.protected {
            self.protected.entry(name).or_default().merge(t);
        }
        for (id, b) in other.rules {
            self.rules.entry(id).or_default().merge(b);
        }
        for (band, b) in other.score_bands {
            self.score_bands.entry(band).or_default().merge(b);
        }
    }
}

/// The rule ids a verdict cites.
fn rule_ids(verdict: &Verdict) -> Vec<&str> {
    verdict
        .reasons
        .iter()
        .filter(|r| r.source == "rule")
        .map(|r| r.id.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Reason, SendSignals};

    fn verdict(decision: Decision, rule: Option<&str>, score: Option<f64>) -> Verdict {
        Verdict {
            decision,
            route: Folder::Inbox,
            inmail: false,
            reasons: rule
                .map(|id| vec![Reason::new("rule", id, "test")])
                .unwrap_or_default(),
            score,
            sanction: None,
            automated: true,
            refused: None,
            language: None,
        }
    }

    fn message(id: u64, status: MessageStatus, verdict: Verdict) -> Message {
        Message {
            id,
            thread_id: 1,
            from: 1,
            to: 2,
            body: String::new(),
            format: Default::default(),
            kind: Default::default(),
            attachments: Vec::new(),
            created_at: 0,
            status,
            verdict,
            signals: SendSignals::default(),
            recalled_at: None,
            previous_verdicts: Vec::new(),
            sponsored: None,
            text_removed: None,
            sealed_body: None,
        }
    }

    #[test]
    fn bands_are_deciles_with_one_at_the_top() {
        assert_eq!(score_band(Some(0.0)), "0.0-0.1");
        assert_eq!(score_band(Some(0.95)), "0.9-1.0");
        assert_eq!(score_band(Some(1.0)), "0.9-1.0");
        assert_eq!(score_band(None), "none");
    }

    #[test]
    fn released_holds_count_from_their_relationship_folder() {
        let released = message(
            1,
            MessageStatus::Delivered,
            verdict(Decision::Held, None, None),
        );
        assert_eq!(Place::of_stored(&released), Place::Inbox);
        let held = message(2, MessageStatus::Held, verdict(Decision::Held, None, None));
        assert_eq!(Place::of_stored(&held), Place::Held);
    }

    #[test]
    fn merging_in_any_split_gives_the_same_diff() {
        let facts: Vec<(Message, Verdict, Fate)> = (1..=40u64)
            .map(|id| {
                let old = verdict(Decision::Inbox, Some("a.old"), Some(0.05));
                let (new, fate) = match id % 4 {
                    0 => (
                        verdict(Decision::Held, Some("b.new"), Some(0.97)),
                        Fate::Changed,
                    ),
                    1 => (verdict(Decision::Inbox, None, Some(0.05)), Fate::Unchanged),
                    2 => (verdict(Decision::Other, None, Some(0.5)), Fate::Protected),
                    _ => (verdict(Decision::Other, None, Some(0.5)), Fate::Changed),
                };
                (message(id, MessageStatus::Delivered, old), new, fate)
            })
            .collect();
        let mut whole = Diff::default();
        for (m, v, f) in &facts {
            whole.record(m, Some(v), f);
        }
        let mut back = Diff::default();
        for part in facts.rchunks(7) {
            let mut diff = Diff::default();
            for (m, v, f) in part {
                diff.record(m, Some(v), f);
            }
            back.merge(diff);
        }
        assert_eq!(whole, back);
        assert_eq!(whole.changed, 20);
        assert_eq!(whole.transitions["inbox->held"].count, 10);
        assert_eq!(
            whole.transitions["inbox->held"].examples,
            [4, 8, 12, 16, 20]
        );
        assert_eq!(whole.protected["inbox->other"].count, 10);
        assert_eq!(whole.rules["a.old"].before, 40);
        assert_eq!(whole.rules["b.new"].after, 10);
        assert_eq!(whole.rules["b.new"].transitions["inbox->held"], 10);
        assert_eq!(whole.score_bands["0.9-1.0"].transitions["inbox->held"], 10);
        assert_eq!(whole.score_bands["0.0-0.1"].before, 40);
    }
}
