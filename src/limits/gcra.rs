//! GCRA (the generic cell rate algorithm): a token bucket stored as one timestamp.
//!
//! A limit of `count` sends per `period` with a burst of `burst` has an emission interval
//! `T = period / count` (rounded up to a whole millisecond, so rounding can only make the
//! limit stricter by under a millisecond per send) and a tolerance of `burst × T`. The state
//! is the *theoretical arrival time* (TAT): when the sender's allowance would be fully spent
//! if sends had come at exactly the sustained rate. A send at `now` conforms when
//! `max(TAT, now) + T − now ≤ burst × T`, and moves TAT to `max(TAT, now) + T`. When it does
//! not conform, the earliest instant it would is known exactly: that is `Retry-After`.
//!
//! One `i64` per window, no timers, no background expiry: an old TAT is simply in the past.

use serde::{Deserialize, Serialize};

use crate::domain::Millis;

/// One rate window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Emission interval `T` in milliseconds.
    pub emission_ms: i64,
    /// Sends that may come back to back.
    pub burst: u32,
}

impl Gcra {
    /// `count` sends per `period_ms`, `burst` at once; `None` when `count` is 0 (disabled).
    pub fn new(count: u32, period_ms: i64, burst: u32) -> Option<Gcra> {
        if count == 0 {
            return None;
        }
        Some(Gcra {
            emission_ms: (period_ms + i64::from(count) - 1) / i64::from(count),
            burst: burst.max(1),
        })
    }

    /// `Ok` if a send at `now` conforms, else `Err(milliseconds until it would)`.
    pub fn check(&self, tat: Millis, now: Millis) -> Result<(), i64> {
        let allowed_at = tat.max(now) + self.emission_ms - self.tolerance_ms();
        if now >= allowed_at {
            Ok(())
        } else {
            Err(allowed_at - now)
        }
    }

    /// The TAT after a send at `now`.
    pub fn advance(&self, tat: Millis, now: Millis) -> Millis {
        tat.max(now) + self.emission_ms
    }

    fn tolerance_ms(&self) -> i64 {
        i64::from(self.burst) * self.emission_ms
    }
}

/// Seconds for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_secs(ms: i64) -> u64 {
    (ms.max(1) as u64).div_ceil(1000)
}

/// The TAT of each window: per minute, per hour, per day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateState {
    pub tat: [Millis; 3],
    /// The latest "now" these windows were advanced at. Concurrent sends of one sender take
    /// their time before they queue for the write, so they can be applied a few
    /// milliseconds out of order; judging each at no earlier than this keeps a full burst
    /// allowed (an earlier "now" would refuse the burst's last send by those milliseconds).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latest: Millis,
}

fn is_zero(value: &Millis) -> bool {
    *value == 0
}

impl RateState {
    /// `now`, or the latest time already applied if that is later: one sender's windows
    /// never see time run backwards.
    pub fn effective_now(&self, now: Millis) -> Millis {
        now.max(self.latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_sustained_pace() {
        let g = Gcra::new(10, 60_000, 10).unwrap();
        assert_eq!(g.emission_ms, 6_000);
        let mut tat = 0;
        let t0 = 1_000_000;
        for _ in 0..10 {
            assert_eq!(g.check(tat, t0), Ok(()));
            tat = g.advance(tat, t0);
        }
        assert_eq!(g.check(tat, t0), Err(6_000));
        assert_eq!(g.check(tat, t0 + 5_999), Err(1));
        assert_eq!(g.check(tat, t0 + 6_000), Ok(()));
        tat = g.advance(tat, t0 + 6_000);
        // Exactly one more every 6 seconds.
        assert_eq!(g.check(tat, t0 + 6_000), Err(6_000));
        assert_eq!(g.check(tat, t0 + 12_000), Ok(()));
    }

    #[test]
    fn burst_of_one_is_a_plain_spacing() {
        let g = Gcra::new(2, 60_000, 1).unwrap();
        let tat = g.advance(0, 0);
        assert_eq!(g.check(tat, 1), Err(29_999));
        assert_eq!(g.check(tat, 30_000), Ok(()));
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let g = Gcra::new(10, 60_000, 3).unwrap();
        let mut tat = g.advance(0, 0);
        let later = 3_600_000;
        for _ in 0..3 {
            assert!(g.check(tat, later).is_ok());
            tat = g.advance(tat, later);
        }
        assert!(g.check(tat, later).is_err());
    }

    #[test]
    fn a_burst_applied_slightly_out_of_order_is_still_allowed_in_full() {
        let g = Gcra::new(5, 60_000, 5).unwrap();
        let mut state = RateState::default();
        // The second-taken "now" is applied first, then four sends that took theirs 5 ms
        // earlier: all five fit the burst of five.
        for now in [1_005, 1_000, 1_000, 1_000, 1_000] {
            let now = state.effective_now(now);
            assert_eq!(g.check(state.tat[0], now), Ok(()), "at {now}");
            state.tat[0] = g.advance(state.tat[0], now);
            state.latest = now;
        }
        assert!(g.check(state.tat[0], state.effective_now(1_000)).is_err());
        // Without the clamp the fifth would have been refused by those 5 ms.
        let mut tat = g.advance(0, 1_005);
        for _ in 0..3 {
            tat = g.advance(tat, 1_000);
        }
        assert_eq!(g.check(tat, 1_000), Err(5));
    }

    #[test]
    fn uneven_periods_round_the_interval_up_and_zero_disables() {
        assert_eq!(Gcra::new(7, 60_000, 7).unwrap().emission_ms, 8_572);
        assert_eq!(Gcra::new(0, 60_000, 7), None);
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(6_000), 6);
        assert_eq!(retry_after_secs(6_001), 7);
    }
}
