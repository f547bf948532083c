//! Ignoring 429s: a sender who keeps sending while rate-limited.
//!
//! A person told "retry after 40 seconds" waits (or gives up); a script that fires again
//! and again regardless is automation, and being refused costs it nothing, so refusals
//! alone never slow it down. Each rate-limit refusal is noted; `refusals` of them within
//! `window_secs` earn a strike (at most one per `strike_cooldown_secs`), through the same
//! ledger as every other strike, so persistent hammering ends in a restriction.

use serde::{Deserialize, Serialize};

use super::config::IgnoredRefusalsConfig;
use super::strikes::{self, StrikeState};
use super::LimitsConfig;
use crate::domain::{Millis, Sanction};

/// The strike source, as statements and reports name it.
pub const SOURCE: &str = "ignored_retry_after";

/// Times of recent rate-limit refusals, oldest first; at most `refusals` are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefusalState {
    pub recent: Vec<Millis>,
}

impl RefusalState {
    /// Nothing noted: the state is then left out of the stored JSON.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

/// Notes a rate-limit refusal at `now`; returns the sanction if the strike it may earn
/// raised the sender's restriction.
pub fn note(
    config: &LimitsConfig,
    refusals: &mut RefusalState,
    strike_state: &mut StrikeState,
    now: Millis,
) -> Option<Sanction> {
    let c: &IgnoredRefusalsConfig = &config.ignored_refusals;
    if c.refusals == 0 {
        return None;
    }
    let since = now - (c.window_secs as Millis).saturating_mul(1000);
    refusals.recent.retain(|&at| at > since);
    refusals.recent.push(now);
    let keep = c.refusals as usize;
    if refusals.recent.len() > keep {
        let excess = refusals.recent.len() - keep;
        refusals.recent.drain(..excess);
    }
    if refusals.recent.len() < keep {
        return None;
    }
    let cooldown = (c.strike_cooldown_secs as Millis).saturating_mul(1000);
    if strikes::last_strike(strike_state, SOURCE).is_some_and(|at| now - at < cooldown) {
        return None;
    }
    refusals.recent.clear();
    strikes::add(
        &config.strikes,
        strike_state,
        now,
        c.strike_weight,
        SOURCE,
        &format!(
            "kept sending through {} rate-limit refusals within {} seconds instead of waiting for Retry-After",
            c.refusals, c.window_secs
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_strikes_once_per_cooldown() {
        let mut config = LimitsConfig::default();
        config.ignored_refusals.refusals = 3;
        config.strikes.restrict_new_conversations_at = 2;
        let (mut refusals, mut strikes) = (RefusalState::default(), StrikeState::default());
        let mut sanctions = Vec::new();
        for i in 0..9 {
            sanctions.push(note(&config, &mut refusals, &mut strikes, 1_000 + i * 100));
        }
        // One strike at the third refusal; the cooldown keeps the rest from striking.
        assert_eq!(strikes.strikes.len(), 1);
        assert!(sanctions.iter().all(Option::is_none));
        // Past the hour's cooldown, three more refusals strike again and restrict.
        let later = 1_200 + 3_600_000;
        let last = (0..3)
            .map(|i| note(&config, &mut refusals, &mut strikes, later + i))
            .last()
            .unwrap();
        assert!(last.is_some(), "{strikes:?}");
    }

    #[test]
    fn refusals_spread_beyond_the_window_do_not_strike() {
        let mut config = LimitsConfig::default();
        config.ignored_refusals.refusals = 3;
        let (mut refusals, mut strikes) = (RefusalState::default(), StrikeState::default());
        for i in 0..10 {
            note(&config, &mut refusals, &mut strikes, i * 61_000);
        }
        assert!(strikes.strikes.is_empty());
    }
}
