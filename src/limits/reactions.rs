//! Recipients' reactions to a sender's outreach: of the non-connections the sender opened a
//! conversation with recently, who replied, blocked, reported, marked safe, or archived the
//! conversation unread.
//!
//! People judge outreach better than any text model: a spammer's first messages go
//! unanswered and get blocked, a recruiter's get answered. Each recipient is one entry with
//! one bit per reaction, so a recipient who reports five messages and blocks counts once
//! for each kind; the shares are over distinct recipients.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::config::ReactionsConfig;
use super::LimitSignal;
use crate::domain::{MemberId, Millis};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What a recipient did with the sender's outreach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Replied,
    Blocked,
    Reported,
    MarkedSafe,
    ArchivedUnread,
}

impl Reaction {
    fn bit(self) -> u8 {
        match self {
            Reaction::Replied => 1,
            Reaction::Blocked => 2,
            Reaction::Reported => 4,
            Reaction::MarkedSafe => 8,
            Reaction::ArchivedUnread => 16,
        }
    }
}

/// One outreach recipient: `(recipient, first message time, reaction bits, campaign)`,
/// serialized as a 4-element array; `campaign` is the campaign record the message joined
/// (0: none), so its recipients' reactions count for the campaign too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outreach(pub MemberId, pub Millis, pub u8, pub u64);

/// What a newly noted reaction changed, for the campaign the outreach belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noted {
    /// The outreach's campaign record (0: none).
    pub campaign: u64,
    /// The recipient's first reply.
    pub first_reply: bool,
    /// The recipient's first block or report (a recipient who does both counts once).
    pub first_negative: bool,
}

/// The sender's recent outreach, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionState {
    pub outreach: VecDeque<Outreach>,
}

impl ReactionState {
    pub fn is_empty(&self) -> bool {
        self.outreach.is_empty()
    }
}

/// Counts over distinct recipients in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionTally {
    pub outreach: u32,
    pub replied: u32,
    pub blocked: u32,
    pub reported: u32,
    pub marked_safe: u32,
    pub archived_unread: u32,
    /// Blocked or reported (a recipient who did both counts once).
    pub negative: u32,
}

impl ReactionTally {
    fn share(&self, n: u32) -> f64 {
        if self.outreach == 0 {
            0.0
        } else {
            f64::from(n) / f64::from(self.outreach)
        }
    }
}

/// Remembers that the sender opened a conversation with `recipient` (a non-connection).
pub fn record(
    config: &ReactionsConfig,
    state: &mut ReactionState,
    now: Millis,
    recipient: MemberId,
    campaign: u64,
) {
    prune(config, state, now);
    if config.history == 0 || state.outreach.iter().any(|o| o.0 == recipient) {
        return;
    }
    state
        .outreach
        .push_back(Outreach(recipient, now, 0, campaign));
    while state.outreach.len() > config.history as usize {
        state.outreach.pop_front();
    }
}

/// Whether [`note`] would note `reaction` from `recipient`: some outreach to them lacks it.
pub fn would_note(state: &ReactionState, recipient: MemberId, reaction: Reaction) -> bool {
    state
        .outreach
        .iter()
        .find(|o| o.0 == recipient)
        .is_some_and(|entry| entry.2 & reaction.bit() == 0)
}

/// Notes a reaction of `recipient`; `None` when nothing changed: the sender has no recent
/// outreach to them (a reaction to a connection's or an old message is not about outreach),
/// or they had already reacted so.
pub fn note(state: &mut ReactionState, recipient: MemberId, reaction: Reaction) -> Option<Noted> {
    let negative = Reaction::Blocked.bit() | Reaction::Reported.bit();
    let entry = state.outreach.iter_mut().find(|o| o.0 == recipient)?;
    if entry.2 & reaction.bit() != 0 {
        return None;
    }
    let before = entry.2;
    entry.2 |= reaction.bit();
    Some(Noted {
        campaign: entry.3,
        first_reply: reaction == Reaction::Replied,
        first_negative: before & negative == 0 && reaction.bit() & negative != 0,
    })
}

/// The tally over the window at `now`.
pub fn tally(config: &ReactionsConfig, state: &ReactionState, now: Millis) -> ReactionTally {
    let since = now - i64::from(config.window_days) * DAY_MS;
    let mut t = ReactionTally::default();
    for &Outreach(_, at, bits, _) in &state.outreach {
        if at <= since {
            continue;
        }
        t.outreach += 1;
        let has = |r: Reaction| u32::from(bits & r.bit() != 0);
        t.replied += has(Reaction::Replied);
        t.blocked += has(Reaction::Blocked);
        t.reported += has(Reaction::Reported);
        t.marked_safe += has(Reaction::MarkedSafe);
        t.archived_unread += has(Reaction::ArchivedUnread);
        t.negative += u32::from(bits & (Reaction::Blocked.bit() | Reaction::Reported.bit()) != 0);
    }
    t
}

/// The reactions signals at `now`: `poor_reactions` (hold + strike) when enough outreach is
/// unanswered and often blocked or reported; `answered` (no effect of its own; the policy
/// lets it outweigh a template or fan-out signal) when enough is answered.
pub fn check(config: &ReactionsConfig, state: &ReactionState, now: Millis) -> Option<LimitSignal> {
    if config.min_outreach == 0 {
        return None;
    }
    let t = tally(config, state, now);
    if t.outreach < config.min_outreach {
        return None;
    }
    let negative = t.negative;
    let replied = t.share(t.replied);
    let negative_share = t.share(negative);
    let described = format!(
        "of {} members outside the network messaged first in {} days: {} replied, {} blocked, \
         {} reported, {} marked safe, {} archived unread",
        t.outreach,
        config.window_days,
        t.replied,
        t.blocked,
        t.reported,
        t.marked_safe,
        t.archived_unread
    );
    if replied <= config.max_reply_share && negative_share >= config.min_negative_share {
        return Some(LimitSignal {
            id: "poor_reactions",
            hold: true,
            strike_weight: config.strike_weight,
            score: negative_share.min(1.0),
            detail: format!(
                "{described} (answered {:.0}% <= {:.0}%, blocked or reported {:.0}% >= {:.0}%)",
                replied * 100.0,
                config.max_reply_share * 100.0,
                negative_share * 100.0,
                config.min_negative_share * 100.0
            ),
        });
    }
    (replied >= config.answered_share).then(|| LimitSignal {
        id: "answered",
        hold: false,
        strike_weight: 0,
        score: 0.0,
        detail: format!(
            "{described} (answered {:.0}% >= {:.0}%)",
            replied * 100.0,
            config.answered_share * 100.0
        ),
    })
}

pub fn prune(config: &ReactionsConfig, state: &mut ReactionState, now: Millis) {
    let since = now - i64::from(config.window_days) * DAY_MS;
    while state.outreach.front().is_some_and(|o| o.1 <= since) {
        state.outreach.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn would_note_answers_what_note_does() {
        let config = ReactionsConfig::default();
        let mut s = ReactionState::default();
        record(&config, &mut s, 1, 7, 0);
        for (who, reaction) in [
            (7, Reaction::Replied),
            (7, Reaction::Replied),
            (7, Reaction::Blocked),
            (8, Reaction::Replied),
        ] {
            let predicted = would_note(&s, who, reaction);
            assert_eq!(
                predicted,
                note(&mut s, who, reaction).is_some(),
                "{who} {reaction:?}"
            );
        }
        assert!(!would_note(&s, 7, Reaction::Replied));
        assert!(would_note(&s, 7, Reaction::Reported));
    }

    #[test]
    fn unanswered_and_blocked_outreach_holds_and_answered_outreach_is_recognized() {
        let config = ReactionsConfig::default();
        let mut s = ReactionState::default();
        for r in 1..=8 {
            record(&config, &mut s, r as i64, r, 0);
        }
        assert!(check(&config, &s, 10).is_none());
        assert!(note(&mut s, 1, Reaction::Blocked).is_some_and(|n| n.first_negative));
        // One recipient blocking and reporting many times counts once.
        assert!(note(&mut s, 1, Reaction::Reported).is_some_and(|n| !n.first_negative));
        assert!(note(&mut s, 1, Reaction::Reported).is_none());
        assert!(check(&config, &s, 10).is_none(), "1 of 8 is below 20%");
        note(&mut s, 2, Reaction::Reported);
        let signal = check(&config, &s, 10).unwrap();
        assert_eq!(
            (signal.id, signal.hold, signal.strike_weight),
            ("poor_reactions", true, 1)
        );
        assert!(
            signal.detail.contains("1 blocked, 2 reported"),
            "{}",
            signal.detail
        );
        // Answers turn it around.
        note(&mut s, 3, Reaction::Replied);
        note(&mut s, 4, Reaction::Replied);
        let signal = check(&config, &s, 10).unwrap();
        assert_eq!((signal.id, signal.hold), ("answered", false));
        // A reaction from someone never messaged first is not outreach.
        assert!(note(&mut s, 99, Reaction::Blocked).is_none());
        // The window forgets.
        let later = 10 + i64::from(config.window_days) * DAY_MS;
        assert!(check(&config, &s, later).is_none());
        prune(&config, &mut s, later);
        assert!(s.is_empty());
    }
}
