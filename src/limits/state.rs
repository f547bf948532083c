//! One sender's limiter state: plain data, persisted by value.
//!
//! The store keeps it as JSON next to the sender, written in the same atomic batch as the
//! message it accounts for, so a restart resumes exactly where it stopped: a state that
//! went through `serde_json` behaves identically (tested in `tests/limits_clock.rs`).
//! Every part is bounded: three timestamps, at most `per_week` recipients, a ring of at
//! most `fanout.history` fingerprints and `cadence.intervals` send times, at most
//! `strikes.max_kept` strikes; expired entries are pruned on every [`Limiter::record`].
//!
//! [`Limiter::record`]: super::Limiter::record

use serde::{Deserialize, Serialize};

use super::cadence::CadenceState;
use super::config::LimitsConfig;
use super::conversations::{self, ConversationState};
use super::fanout::{self, FanoutState, Sent};
use super::gcra::RateState;
use super::ignored_refusals::RefusalState;
use super::reactions::{self, Outreach, ReactionState};
use super::strikes::{self, Restriction, Strike, StrikeState};
use super::template_fanout::{self, TemplateState};
use crate::domain::Millis;

/// Everything the limiter remembers about one sender.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SenderState {
    /// GCRA theoretical arrival times: per minute, per hour, per day.
    pub rate: RateState,
    /// Recipients of new conversations toward non-connections.
    pub conversations: ConversationState,
    /// Recent content fingerprints and their recipients.
    pub fanout: FanoutState,
    /// Recent send times.
    pub cadence: CadenceState,
    /// Recent rate-limit refusals, to tell a waiting person from a hammering script.
    #[serde(skip_serializing_if = "RefusalState::is_empty")]
    pub refusals: RefusalState,
    /// Strikes and the restriction.
    pub strikes: StrikeState,
    /// Recent template signatures of sends to non-connections.
    #[serde(skip_serializing_if = "TemplateState::is_empty")]
    pub template: TemplateState,
    /// Recent outreach to non-connections and how its recipients reacted.
    #[serde(skip_serializing_if = "ReactionState::is_empty")]
    pub reactions: ReactionState,
}

/// The `reactions` of a stored [`SenderState`] and nothing else, read from the state's
/// JSON. A reply asks only whether it answers the sender's outreach, and most do not:
/// decoding this field alone skips the template signatures and fingerprints (most of a
/// state's bytes) instead of parsing them into numbers.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StateReactions {
    pub reactions: ReactionState,
}

impl SenderState {
    /// Drops everything that expired by `now` (done by every `record`; callers that keep
    /// idle states around may call it before writing them back).
    pub fn prune(&mut self, config: &LimitsConfig, now: Millis) {
        conversations::prune(&config.new_conversations, &mut self.conversations, now);
        fanout::prune(&config.fanout, &mut self.fanout, now);
        strikes::prune(&config.strikes, &mut self.strikes, now);
        template_fanout::prune(&config.template, &mut self.template, now);
        reactions::prune(&config.reactions, &mut self.reactions, now);
    }

    /// The current restriction, with its reason and start.
    pub fn restriction(&self) -> Option<&Restriction> {
        self.strikes.restriction.as_ref()
    }

    /// Whether nothing in the state can affect a future decision at `now`, so the store may
    /// delete it (idle senders cost nothing).
    pub fn is_idle(&self, config: &LimitsConfig, now: Millis) -> bool {
        let mut copy = self.clone();
        copy.prune(config, now);
        copy.rate.tat.iter().all(|&tat| tat <= now)
            && copy.conversations.opened.is_empty()
            && copy.fanout.recent.is_empty()
            && copy.strikes == StrikeState::default()
            && copy.template.is_empty()
            && copy.reactions.is_empty()
            && copy
                .refusals
                .recent
                .iter()
                .all(|&at| now - at > config.ignored_refusals.window_secs as i64 * 1000)
            && copy
                .cadence
                .sends
                .back()
                .is_none_or(|&last| now - last > config.cadence.max_interval_secs as i64 * 1000)
    }

    /// Bytes this state occupies in memory: the struct plus its heap allocations (by
    /// capacity), for the "memory per active sender" figure.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.conversations.opened.capacity() * std::mem::size_of::<(u64, Millis)>()
            + self.fanout.recent.capacity() * std::mem::size_of::<Sent>()
            + self.cadence.sends.capacity() * std::mem::size_of::<Millis>()
            + self.refusals.recent.capacity() * std::mem::size_of::<Millis>()
            + self.strikes.strikes.capacity() * std::mem::size_of::<Strike>()
            + self
                .template
                .recent
                .iter()
                .map(|s| std::mem::size_of_val(s) + s.0 .0.capacity() * 2)
                .sum::<usize>()
            + self.reactions.outreach.capacity() * std::mem::size_of::<Outreach>()
            + self
                .strikes
                .strikes
                .iter()
                .map(|s| s.source.capacity() + s.detail.capacity())
                .sum::<usize>()
            + self
                .strikes
                .restriction
                .as_ref()
                .map_or(0, |r| r.reason.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_state_is_small_json_and_missing_fields_default() {
        let state = SenderState::default();
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.len() < 160, "{json}");
        assert_eq!(serde_json::from_str::<SenderState>("{}").unwrap(), state);
        assert!(state.is_idle(&LimitsConfig::default(), 0));
    }

    #[test]
    fn reactions_alone_read_as_the_whole_state_reads_them() {
        let mut state = SenderState::default();
        state.reactions.outreach.push_back(Outreach(9, 1_000, 1, 4));
        state
            .template
            .recent
            .push_back(crate::limits::template_fanout::TemplateSent(
                crate::limits::TemplateSignature(vec![1, 2, 3]),
                9,
                1_000,
                0,
            ));
        state.fanout.recent.push_back(Sent(1, 9, 1_000, 2));
        let json = serde_json::to_string(&state).unwrap();
        let alone: StateReactions = serde_json::from_str(&json).unwrap();
        assert_eq!(alone.reactions, state.reactions);
        let empty: StateReactions = serde_json::from_str("{}").unwrap();
        assert!(empty.reactions.is_empty());
    }

    #[test]
    fn fanout_entries_serialize_as_arrays() {
        let mut state = SenderState::default();
        state
            .fanout
            .recent
            .push_back(Sent(u64::MAX, 42, 1_700_000_000_000, 7));
        let json = serde_json::to_string(&state.fanout).unwrap();
        assert_eq!(
            json,
            r#"{"recent":[[18446744073709551615,42,1700000000000,7]]}"#
        );
        let back: SenderState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(back, state);
    }
}
