//! Near-duplicate fan-out: the same content to many distinct recipients in a short window.
//!
//! Every fingerprinted send is remembered as `(simhash, recipient, time, family)` in a ring
//! of the last `history` sends. A send joins the *family* of the nearest remembered send
//! within `max_hamming` bits (or founds its own, named by its fingerprint). A new send
//! counts the distinct recipients, within `window_secs`, of every family it is near; with
//! its own recipient, reaching `recipients` is automation.
//!
//! Families make the count robust to edits that accumulate: two variants of a template
//! that are each a few words from the original can be further apart from each other than
//! from it, but both join the original's family. SimHash distances between a template's
//! light edits spread over 2–12 bits, unrelated messages over 20–40; the family link only
//! has to be made once per variant.
//!
//! Cost: one XOR and popcount per remembered send (100 by default), twice.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::config::FanoutConfig;
use super::fingerprint::{hamming, Fingerprint};
use super::LimitSignal;
use crate::domain::{MemberId, Millis};

/// One remembered send: `(fingerprint, recipient, time, family)`, serialized as a 4-element
/// array. The family is the fingerprint of the send that founded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent(pub Fingerprint, pub MemberId, pub Millis, pub Fingerprint);

/// The ring of recent fingerprinted sends, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutState {
    pub recent: VecDeque<Sent>,
}

/// The fan-out signal for a send of `fingerprint` to `recipient` at `now`, if it trips.
pub fn check(
    config: &FanoutConfig,
    state: &FanoutState,
    now: Millis,
    recipient: MemberId,
    fingerprint: Option<Fingerprint>,
) -> Option<LimitSignal> {
    let fingerprint = fingerprint?;
    if config.recipients == 0 {
        return None;
    }
    let needed = config.recipients as usize - 1; // other recipients besides this one
    let live = live(config, state, now);
    // The families this content is near, and the closest distance.
    let mut families: Vec<Fingerprint> = Vec::new();
    let mut closest = u32::MAX;
    for &Sent(fp, _, _, family) in live.clone() {
        let distance = hamming(fp, fingerprint);
        if distance <= config.max_hamming {
            closest = closest.min(distance);
            if !families.contains(&family) {
                families.push(family);
            }
        }
    }
    if families.is_empty() {
        return None;
    }
    let mut others: Vec<MemberId> = Vec::new();
    for &Sent(_, to, _, family) in live.rev() {
        if to != recipient && families.contains(&family) && !others.contains(&to) {
            others.push(to);
            if others.len() >= needed {
                break;
            }
        }
    }
    if others.len() < needed {
        return None;
    }
    Some(LimitSignal {
        id: "fan_out",
        hold: true,
        strike_weight: config.strike_weight,
        score: 1.0,
        detail: format!(
            "near-identical content (closest {} of 64 bits apart, limit {}) sent to {} \
             distinct recipients within {}",
            closest,
            config.max_hamming,
            config.recipients,
            human_duration(config.window_secs)
        ),
    })
}

/// Remembers a send; drops sends outside the window and beyond `history`.
pub fn record(
    config: &FanoutConfig,
    state: &mut FanoutState,
    now: Millis,
    recipient: MemberId,
    fingerprint: Option<Fingerprint>,
) {
    prune(config, state, now);
    if let Some(fp) = fingerprint {
        if config.history > 0 {
            let family = state
                .recent
                .iter()
                .map(|s| (hamming(s.0, fp), s.3))
                .filter(|&(distance, _)| distance <= config.max_hamming)
                .min_by_key(|&(distance, _)| distance)
                .map_or(fp, |(_, family)| family);
            state.recent.push_back(Sent(fp, recipient, now, family));
        }
    }
    while state.recent.len() > config.history as usize {
        state.recent.pop_front();
    }
}

/// The remembered sends still inside the window at `now` (a suffix of the ring).
fn live<'a>(
    config: &FanoutConfig,
    state: &'a FanoutState,
    now: Millis,
) -> std::collections::vec_deque::Iter<'a, Sent> {
    let since = now - window_ms(config);
    let start = state.recent.partition_point(|s| s.2 <= since);
    state.recent.range(start..)
}

pub fn prune(config: &FanoutConfig, state: &mut FanoutState, now: Millis) {
    let since = now - window_ms(config);
    while state.recent.front().is_some_and(|s| s.2 <= since) {
        state.recent.pop_front();
    }
}

fn window_ms(config: &FanoutConfig) -> i64 {
    i64::try_from(config.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2)
}

/// "24h", "90min", "45s": for reasons shown to people.
pub fn human_duration(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}min", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FanoutConfig {
        FanoutConfig {
            recipients: 3,
            window_secs: 3600,
            max_hamming: 4,
            history: 8,
            ..FanoutConfig::default()
        }
    }

    #[test]
    fn trips_at_the_nth_distinct_recipient_of_similar_content() {
        let c = config();
        let mut s = FanoutState::default();
        let fp = 0xF0F0_F0F0_F0F0_F0F0u64;
        // Same recipient twice and a far fingerprint do not count.
        record(&c, &mut s, 0, 1, Some(fp));
        record(&c, &mut s, 1, 1, Some(fp ^ 0b1));
        record(&c, &mut s, 2, 2, Some(!fp));
        assert!(check(&c, &s, 3, 3, Some(fp)).is_none());
        record(&c, &mut s, 3, 3, Some(fp ^ 0b1111)); // 4 bits away: still the same content
        let signal = check(&c, &s, 4, 4, Some(fp)).unwrap();
        assert_eq!(signal.id, "fan_out");
        assert!(signal.hold);
        assert_eq!(signal.strike_weight, 1);
        assert!(signal.detail.contains("3 distinct recipients within 1h"));
        // Sending again to a recipient already counted is not a new fan-out.
        assert!(check(&c, &s, 4, 3, Some(fp)).is_none());
        // No fingerprint (too short a message): never a signal.
        assert!(check(&c, &s, 4, 4, None).is_none());
    }

    #[test]
    fn window_expiry_and_history_cap_bound_the_ring() {
        let c = config();
        let mut s = FanoutState::default();
        record(&c, &mut s, 0, 1, Some(7));
        record(&c, &mut s, 1, 2, Some(7));
        assert!(check(&c, &s, 3_599_999, 3, Some(7)).is_some());
        assert!(check(&c, &s, 3_600_000, 3, Some(7)).is_none());
        for i in 0..50 {
            record(&c, &mut s, 10_000_000 + i, i as u64, Some(i as u64 * 977));
        }
        assert_eq!(s.recent.len(), 8);
        record(&c, &mut s, 20_000_000, 1, None);
        assert!(s.recent.is_empty());
    }
}
