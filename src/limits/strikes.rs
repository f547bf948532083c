//! Strikes and the restriction they lead to.
//!
//! A strike has a weight, a time and a reason (the signal id or `report`/`reviewer`, and a
//! human sentence). Points are the weights of strikes younger than `expiry_days`. When
//! points reach `restrict_new_conversations_at`, the sender may no longer open
//! conversations with non-connections (replies still go); at `restrict_full_at`, only
//! existing connections can be messaged. A restriction never lapses by itself: it only
//! rises, and only a reviewer lifts it (which also clears the strikes it rested on).
//! Every restriction carries the reason that names the strikes behind it.

use serde::{Deserialize, Serialize};

use super::config::StrikesConfig;
use crate::domain::{Millis, RestrictionLevel, Sanction};

/// One strike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strike {
    pub at: Millis,
    pub weight: u32,
    /// What gave it: a signal id (`fan_out`, `cadence`) or the caller's source (`report`).
    pub source: String,
    /// Why, in a sentence without message text.
    pub detail: String,
}

/// A restriction the limiter imposed (mirrors `domain::Restriction`, which the store puts
/// on the member; kept here too so the limiter's own decisions need no second lookup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    pub level: RestrictionLevel,
    pub reason: String,
    pub since: Millis,
}

/// Live strikes (oldest first) and the current restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrikeState {
    pub strikes: Vec<Strike>,
    pub restriction: Option<Restriction>,
}

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Longest `detail` kept per strike (characters).
const MAX_DETAIL_CHARS: usize = 240;

fn expiry_ms(config: &StrikesConfig) -> i64 {
    i64::from(config.expiry_days) * DAY_MS
}

/// Points of the strikes still live at `now`.
pub fn points(config: &StrikesConfig, state: &StrikeState, now: Millis) -> u32 {
    let since = now - expiry_ms(config);
    state
        .strikes
        .iter()
        .filter(|s| s.at > since)
        .map(|s| s.weight)
        .fold(0u32, u32::saturating_add)
}

/// When `source` last struck, among live strikes.
pub fn last_strike(state: &StrikeState, source: &str) -> Option<Millis> {
    state
        .strikes
        .iter()
        .rev()
        .find(|s| s.source == source)
        .map(|s| s.at)
}

/// The level that `points` reach.
pub fn level_for(config: &StrikesConfig, points: u32) -> Option<RestrictionLevel> {
    let reached = |threshold: u32| threshold > 0 && points >= threshold;
    if reached(config.restrict_full_at) {
        Some(RestrictionLevel::Full)
    } else if reached(config.restrict_new_conversations_at) {
        Some(RestrictionLevel::NewConversations)
    } else {
        None
    }
}

/// Adds a strike; returns the sanction if the restriction rose.
pub fn add(
    config: &StrikesConfig,
    state: &mut StrikeState,
    now: Millis,
    weight: u32,
    source: &str,
    detail: &str,
) -> Option<Sanction> {
    prune(config, state, now);
    if weight == 0 {
        return None;
    }
    state.strikes.push(Strike {
        at: now,
        weight,
        source: source.to_string(),
        detail: detail.chars().take(MAX_DETAIL_CHARS).collect(),
    });
    let keep = config.max_kept.max(1) as usize;
    if state.strikes.len() > keep {
        let excess = state.strikes.len() - keep;
        state.strikes.drain(..excess);
    }
    let points = points(config, state, now);
    let level = level_for(config, points)?;
    if state.restriction.as_ref().is_some_and(|r| r.level >= level) {
        return None;
    }
    let reason = restriction_reason(config, state, level, points);
    state.restriction = Some(Restriction {
        level,
        reason: reason.clone(),
        since: now,
    });
    Some(Sanction {
        restrict: level,
        reason,
    })
}

/// Takes back the strikes `source` gave for `detail` (a reversed decision: a removal
/// overturned on appeal); returns how many. A restriction already imposed stays: it is
/// lifted by its own appeal or a reviewer, not by arithmetic after the fact.
pub fn withdraw(state: &mut StrikeState, source: &str, detail: &str) -> usize {
    let before = state.strikes.len();
    state
        .strikes
        .retain(|strike| strike.source != source || strike.detail != detail);
    before - state.strikes.len()
}

fn restriction_reason(
    config: &StrikesConfig,
    state: &StrikeState,
    level: RestrictionLevel,
    points: u32,
) -> String {
    let (what, threshold) = match level {
        RestrictionLevel::NewConversations => (
            "no new conversations with non-connections",
            config.restrict_new_conversations_at,
        ),
        RestrictionLevel::Full => (
            "messages to existing connections only",
            config.restrict_full_at,
        ),
    };
    // The most recent strikes, newest first, at most five.
    let strikes: Vec<String> = state
        .strikes
        .iter()
        .rev()
        .take(5)
        .map(|s| format!("{} (+{}): {}", s.source, s.weight, s.detail))
        .collect();
    format!(
        "restricted to {what}: {points} strike points within {} days reached {threshold}; \
         latest: {}",
        config.expiry_days,
        strikes.join("; ")
    )
}

/// A reviewer lifts the restriction; the strikes it rested on are cleared with it.
pub fn lift(state: &mut StrikeState) -> Option<Restriction> {
    state.strikes.clear();
    state.restriction.take()
}

/// Drops expired strikes.
pub fn prune(config: &StrikesConfig, state: &mut StrikeState, now: Millis) {
    let since = now - expiry_ms(config);
    state.strikes.retain(|s| s.at > since);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_escalate_once_each_with_reasons() {
        let config = StrikesConfig::default();
        let mut state = StrikeState::default();
        assert_eq!(add(&config, &mut state, 0, 1, "fan_out", "a"), None);
        assert_eq!(add(&config, &mut state, 1, 1, "fan_out", "b"), None);
        let s = add(&config, &mut state, 2, 1, "cadence", "c").unwrap();
        assert_eq!(s.restrict, RestrictionLevel::NewConversations);
        assert!(s
            .reason
            .contains("3 strike points within 30 days reached 3"));
        assert!(s.reason.contains("cadence (+1): c; fan_out (+1): b"));
        assert_eq!(add(&config, &mut state, 3, 2, "report", "d"), None);
        let s = add(&config, &mut state, 4, 1, "report", "e").unwrap();
        assert_eq!(s.restrict, RestrictionLevel::Full);
        assert_eq!(state.restriction.as_ref().unwrap().since, 4);
        assert_eq!(last_strike(&state, "cadence"), Some(2));
        assert_eq!(last_strike(&state, "nothing"), None);
    }

    #[test]
    fn a_withdrawn_strike_no_longer_counts_and_the_others_stay() {
        let config = StrikesConfig::default();
        let mut state = StrikeState::default();
        add(
            &config,
            &mut state,
            0,
            2,
            "reviewer",
            "a reviewer removed message 7",
        );
        add(
            &config,
            &mut state,
            1,
            2,
            "report",
            "a reviewer removed message 7",
        );
        add(
            &config,
            &mut state,
            2,
            2,
            "reviewer",
            "a reviewer removed message 8",
        );
        assert_eq!(
            withdraw(&mut state, "reviewer", "a reviewer removed message 7"),
            1
        );
        assert_eq!(points(&config, &state, 3), 4);
        assert_eq!(
            withdraw(&mut state, "reviewer", "a reviewer removed message 7"),
            0
        );
        // Two points short of the first threshold (3) now: one more point does not restrict.
        let mut fresh = StrikeState::default();
        add(
            &config,
            &mut fresh,
            0,
            2,
            "reviewer",
            "a reviewer removed message 1",
        );
        withdraw(&mut fresh, "reviewer", "a reviewer removed message 1");
        assert_eq!(
            add(
                &config,
                &mut fresh,
                1,
                2,
                "reviewer",
                "a reviewer removed message 2"
            ),
            None
        );
    }

    #[test]
    fn strikes_expire_but_restriction_stays_until_lifted() {
        let config = StrikesConfig::default();
        let mut state = StrikeState::default();
        add(&config, &mut state, 0, 2, "report", "x");
        let expiry = 30 * DAY_MS;
        assert_eq!(points(&config, &state, expiry - 1), 2);
        assert_eq!(points(&config, &state, expiry), 0);
        // Expired points do not add up with new ones.
        assert_eq!(add(&config, &mut state, expiry, 1, "report", "y"), None);
        assert_eq!(state.strikes.len(), 1);
        add(&config, &mut state, expiry + 1, 5, "report", "z").unwrap();
        // Long after every strike expired, the restriction still holds.
        prune(&config, &mut state, 10 * expiry);
        assert!(state.strikes.is_empty());
        assert_eq!(
            state.restriction.as_ref().unwrap().level,
            RestrictionLevel::Full
        );
        assert_eq!(lift(&mut state).unwrap().level, RestrictionLevel::Full);
        assert_eq!(state, StrikeState::default());
    }

    #[test]
    fn kept_strikes_are_capped() {
        let config = StrikesConfig {
            max_kept: 4,
            restrict_new_conversations_at: 0,
            restrict_full_at: 0,
            ..StrikesConfig::default()
        };
        let mut state = StrikeState::default();
        for i in 0..20 {
            assert_eq!(
                add(&config, &mut state, i, 1, "report", &"long ".repeat(100)),
                None
            );
        }
        assert_eq!(state.strikes.len(), 4);
        assert_eq!(state.strikes[0].at, 16);
        assert_eq!(state.strikes[0].detail.chars().count(), MAX_DETAIL_CHARS);
    }
}
