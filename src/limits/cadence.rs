//! Cadence: intervals between sends that are too regular to be typed by a person.
//!
//! People send in bursts and pauses: their inter-send intervals vary by more than their
//! mean (coefficient of variation, CV = standard deviation / mean, well above 0.5). A
//! scheduler sends every `x ± a little` seconds: CV near 0. The last `intervals` intervals
//! (this send's included) with CV below `max_cv` raise a signal with a score; it does not
//! refuse or hold the send by itself, and strikes at most once per cooldown.
//!
//! The state is a ring of the last `intervals` send times (at most 64): fixed size.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::config::CadenceConfig;
use super::LimitSignal;
use crate::domain::Millis;

/// The last send times, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadenceState {
    pub sends: VecDeque<Millis>,
}

/// Mean and coefficient of variation of the intervals ending with a send at `now`, when
/// there are enough of them.
pub fn regularity(config: &CadenceConfig, state: &CadenceState, now: Millis) -> Option<(f64, f64)> {
    let n = config.intervals as usize;
    if n < 2 || state.sends.len() < n {
        return None;
    }
    let max_interval = i64::try_from(config.max_interval_secs.saturating_mul(1000)).ok();
    let mut sum = 0.0;
    let mut sum_sq = 0.0;
    let mut previous = state.sends[state.sends.len() - n];
    for &t in state
        .sends
        .iter()
        .skip(state.sends.len() - n + 1)
        .chain([&now])
    {
        let interval = (t - previous).max(0);
        if max_interval.is_some_and(|max| interval > max) {
            return None;
        }
        let x = interval as f64;
        sum += x;
        sum_sq += x * x;
        previous = t;
    }
    let count = n as f64;
    let mean = sum / count;
    let variance = (sum_sq / count - mean * mean).max(0.0);
    let cv = if mean > 0.0 {
        variance.sqrt() / mean
    } else {
        0.0
    };
    Some((mean, cv))
}

/// The cadence signal for a send at `now`; `last_strike` is when cadence last struck.
pub fn check(
    config: &CadenceConfig,
    state: &CadenceState,
    now: Millis,
    last_strike: Option<Millis>,
) -> Option<LimitSignal> {
    let (mean, cv) = regularity(config, state, now)?;
    if cv >= config.max_cv {
        return None;
    }
    let cooldown_ms =
        i64::try_from(config.strike_cooldown_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
    let cooling = last_strike.is_some_and(|at| now - at < cooldown_ms);
    let score = if config.max_cv > 0.0 {
        (1.0 - cv / config.max_cv).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Some(LimitSignal {
        id: "cadence",
        hold: false,
        strike_weight: if cooling { 0 } else { config.strike_weight },
        score,
        detail: format!(
            "last {} intervals between sends are machine-regular: mean {:.1}s, \
             coefficient of variation {:.3} (below {})",
            config.intervals,
            mean / 1000.0,
            cv,
            config.max_cv
        ),
    })
}

/// Remembers a send at `now`, keeping the last `intervals` send times.
pub fn record(config: &CadenceConfig, state: &mut CadenceState, now: Millis) {
    let keep = config.intervals.min(super::config::MAX_CADENCE_INTERVALS) as usize;
    if keep == 0 {
        state.sends.clear();
        return;
    }
    state.sends.push_back(now);
    while state.sends.len() > keep {
        state.sends.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(config: &CadenceConfig, times: &[Millis]) -> CadenceState {
        let mut state = CadenceState::default();
        for &t in times {
            record(config, &mut state, t);
        }
        state
    }

    #[test]
    fn regular_intervals_signal_after_exactly_n_intervals() {
        let config = CadenceConfig::default();
        // Every 60 s ± 1 s.
        let times: Vec<Millis> = (0..11)
            .map(|i| i * 60_000 + if i % 2 == 0 { 1_000 } else { 0 })
            .collect();
        let state = feed(&config, &times[..9]);
        assert!(
            check(&config, &state, times[9], None).is_none(),
            "9 intervals"
        );
        let state = feed(&config, &times[..10]);
        let signal = check(&config, &state, times[10], None).unwrap();
        assert_eq!(signal.id, "cadence");
        assert!(!signal.hold);
        assert_eq!(signal.strike_weight, 1);
        assert!(signal.score > 0.5, "{}", signal.score);
        assert_eq!(state.sends.len(), 10);
        // Within the cooldown it still reports, without a strike.
        let cooled = check(&config, &state, times[10], Some(times[10] - 1_000)).unwrap();
        assert_eq!(cooled.strike_weight, 0);
    }

    #[test]
    fn human_bursts_and_pauses_do_not_signal() {
        let config = CadenceConfig::default();
        let gaps = [
            4_000, 95_000, 12_000, 600_000, 30_000, 7_000, 45_000, 1_800_000, 20_000, 9_000,
        ];
        let mut t = 0;
        let mut times = vec![0];
        for g in gaps {
            t += g;
            times.push(t);
        }
        let state = feed(&config, &times[..10]);
        let (_, cv) = regularity(&config, &state, times[10]).unwrap();
        assert!(cv > 1.0, "{cv}");
        assert!(check(&config, &state, times[10], None).is_none());
    }

    #[test]
    fn a_long_pause_inside_the_run_is_not_judged() {
        let config = CadenceConfig {
            max_interval_secs: 100,
            ..CadenceConfig::default()
        };
        let times: Vec<Millis> = (0..11).map(|i| i * 200_000).collect();
        let state = feed(&config, &times[..10]);
        assert!(check(&config, &state, times[10], None).is_none());
    }
}
