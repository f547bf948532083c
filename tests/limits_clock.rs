//! The limits on a virtual clock: each trips exactly at its configured count, resets at
//! exactly the right instant, and a state that went through JSON (a restart) behaves the
//! same as one that never left memory.

mod limits_common;

use limits_common::{fingerprint, SplitMix};
use sendguard::domain::{MemberId, Millis, RestrictionLevel};
use sendguard::limits::config::RateConfig;
use sendguard::limits::{
    Check, LimitSignal, Limiter, LimitsConfig, Refusal, SendFacts, SenderState,
};

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// A fixed start: 2025-01-01T00:00:00Z.
const T0: Millis = 1_735_689_600_000;
/// An account well past the young-account age.
const OLD: Millis = T0 - 365 * DAY;

fn send(recipient: MemberId, now: Millis) -> SendFacts {
    SendFacts {
        now,
        account_created_at: OLD,
        recipient,
        connected: true,
        new_conversation: false,
        fingerprint: None,
    }
}

fn stranger(recipient: MemberId, now: Millis) -> SendFacts {
    SendFacts {
        connected: false,
        new_conversation: true,
        ..send(recipient, now)
    }
}

/// Checks and, when allowed, records; returns the refusal if refused.
fn attempt(
    limiter: &Limiter,
    state: &mut SenderState,
    facts: &SendFacts,
) -> Result<Vec<LimitSignal>, Refusal> {
    match limiter.check(state, facts) {
        Check::Refuse(refusal) => Err(refusal),
        Check::Proceed(signals) => {
            limiter.record(state, facts, &signals);
            Ok(signals)
        }
    }
}

fn only_rate(rate: RateConfig) -> Limiter {
    Limiter::new(LimitsConfig {
        rate,
        ..LimitsConfig::default()
    })
}

#[test]
fn burst_of_ten_per_minute_trips_at_the_eleventh_and_reopens_after_exactly_six_seconds() {
    let limiter = Limiter::default();
    let mut state = SenderState::default();
    for i in 0..10 {
        attempt(&limiter, &mut state, &send(i, T0)).unwrap();
    }
    let refusal = attempt(&limiter, &mut state, &send(10, T0)).unwrap_err();
    assert_eq!(refusal.code, "rate_limited");
    assert_eq!(refusal.limit_name, "per_minute");
    assert_eq!(refusal.limit, 10);
    assert_eq!(refusal.retry_after_secs, 6);
    assert!(attempt(&limiter, &mut state, &send(10, T0 + 6 * SEC - 1)).is_err());
    attempt(&limiter, &mut state, &send(10, T0 + 6 * SEC)).unwrap();
    // Then the sustained pace: one every six seconds, not a second earlier.
    let refusal = attempt(&limiter, &mut state, &send(11, T0 + 6 * SEC)).unwrap_err();
    assert_eq!(refusal.retry_after_secs, 6);
    attempt(&limiter, &mut state, &send(11, T0 + 12 * SEC)).unwrap();
    // A minute of silence refills the whole burst, and no more.
    let later = T0 + 12 * SEC + 60 * SEC;
    for i in 0..10 {
        attempt(&limiter, &mut state, &send(i, later)).unwrap();
    }
    assert!(attempt(&limiter, &mut state, &send(10, later)).is_err());
}

#[test]
fn hour_and_day_allowances_trip_at_their_counts_and_refill_at_their_pace() {
    // Per-minute off, to look at the hour alone.
    let limiter = only_rate(RateConfig {
        per_minute: 0,
        minute_burst: 1,
        per_hour: 100,
        per_day: 0,
    });
    let mut state = SenderState::default();
    for i in 0..100 {
        attempt(&limiter, &mut state, &send(i, T0)).unwrap();
    }
    let refusal = attempt(&limiter, &mut state, &send(100, T0)).unwrap_err();
    assert_eq!(
        (refusal.limit_name, refusal.limit, refusal.retry_after_secs),
        ("per_hour", 100, 36)
    );
    attempt(&limiter, &mut state, &send(100, T0 + 36 * SEC)).unwrap();

    let limiter = only_rate(RateConfig {
        per_minute: 0,
        minute_burst: 1,
        per_hour: 0,
        per_day: 300,
    });
    let mut state = SenderState::default();
    for i in 0..300 {
        attempt(&limiter, &mut state, &send(i, T0 + i as i64)).unwrap();
    }
    let refusal = attempt(&limiter, &mut state, &send(300, T0 + 300)).unwrap_err();
    assert_eq!((refusal.limit_name, refusal.limit), ("per_day", 300));
    // 288 s per send; the first was at T0, so the 301st fits at T0 + 288 s.
    assert_eq!(refusal.retry_after_secs, 288);
    assert!(attempt(&limiter, &mut state, &send(300, T0 + 288 * SEC - 1)).is_err());
    attempt(&limiter, &mut state, &send(300, T0 + 288 * SEC)).unwrap();
}

#[test]
fn default_windows_together_a_steady_sender_hits_the_hour_then_the_day() {
    let limiter = Limiter::default();
    let mut state = SenderState::default();
    // One send every 6 s, the sustained per-minute pace: the hour allowance (100 at once,
    // refilling one per 36 s) lasts for n sends while 36(n+1) − 6n ≤ 3600, i.e. 118 sends.
    let mut n = 0;
    let refusal = loop {
        match attempt(&limiter, &mut state, &send(n, T0 + n as i64 * 6 * SEC)) {
            Ok(_) => n += 1,
            Err(r) => break r,
        }
    };
    assert_eq!(n, 119);
    assert_eq!(refusal.limit_name, "per_hour");
}

#[test]
fn young_accounts_get_their_own_lower_limits_until_they_come_of_age() {
    let limiter = Limiter::default();
    let created = T0 - 7 * DAY + HOUR; // one hour short of seven days
    let young = |recipient, now| SendFacts {
        account_created_at: created,
        ..send(recipient, now)
    };
    let mut state = SenderState::default();
    for i in 0..5 {
        attempt(&limiter, &mut state, &young(i, T0)).unwrap();
    }
    let refusal = attempt(&limiter, &mut state, &young(5, T0)).unwrap_err();
    assert_eq!(
        (refusal.limit_name, refusal.limit, refusal.retry_after_secs),
        ("young_per_minute", 5, 12)
    );
    assert!(refusal.detail.contains("new account"));
    // At exactly seven days old the established limits apply to the same state.
    let of_age = created + 7 * DAY;
    let mut state = SenderState::default();
    for i in 0..10 {
        attempt(&limiter, &mut state, &young(i, of_age)).unwrap();
    }
    assert_eq!(
        attempt(&limiter, &mut state, &young(10, of_age))
            .unwrap_err()
            .limit_name,
        "per_minute"
    );
}

#[test]
fn new_conversations_with_strangers_count_distinct_recipients_per_day() {
    let limiter = Limiter::default();
    let mut state = SenderState::default();
    let mut now = T0;
    for r in 0..20u64 {
        attempt(&limiter, &mut state, &stranger(r, now)).unwrap();
        // Replies, connections and the same strangers again do not count.
        attempt(
            &limiter,
            &mut state,
            &SendFacts {
                new_conversation: false,
                ..stranger(r, now + MIN)
            },
        )
        .unwrap();
        attempt(&limiter, &mut state, &send(1_000 + r, now + 2 * MIN)).unwrap();
        attempt(&limiter, &mut state, &stranger(r / 2, now + 3 * MIN)).unwrap();
        now += 10 * MIN;
    }
    let refusal = attempt(&limiter, &mut state, &stranger(20, now)).unwrap_err();
    assert_eq!(refusal.code, "rate_limited");
    assert_eq!(
        (refusal.limit_name, refusal.limit),
        ("new_conversations_per_day", 20)
    );
    // The wait ends when the recipient opened longest ago leaves the 24 h window: that
    // is recipient 0, last re-opened at T0 + 13 min (counted once however often opened).
    let oldest = T0 + 13 * MIN;
    assert_eq!(state.conversations.opened[0], (0, oldest));
    assert_eq!(refusal.retry_after_secs as i64 * SEC, oldest + DAY - now);
    // Still fine: replies, connections, and a stranger already counted.
    attempt(
        &limiter,
        &mut state,
        &SendFacts {
            new_conversation: false,
            ..stranger(20, now)
        },
    )
    .unwrap();
    attempt(&limiter, &mut state, &stranger(5, now + SEC)).unwrap();
    assert!(attempt(&limiter, &mut state, &stranger(20, oldest + DAY - 1)).is_err());
    attempt(&limiter, &mut state, &stranger(20, oldest + DAY)).unwrap();
}

#[test]
fn the_weekly_cap_holds_across_days_and_frees_a_week_later() {
    let limiter = Limiter::default();
    let mut state = SenderState::default();
    let mut recipient = 0;
    for day in 0..3 {
        for i in 0..20 {
            attempt(
                &limiter,
                &mut state,
                &stranger(
                    recipient,
                    T0 + day * DAY + i * 20 * MIN + (i * i % 11) * MIN,
                ),
            )
            .unwrap();
            recipient += 1;
        }
    }
    let refusal = attempt(&limiter, &mut state, &stranger(recipient, T0 + 4 * DAY)).unwrap_err();
    assert_eq!(
        (refusal.limit_name, refusal.limit),
        ("new_conversations_per_week", 60)
    );
    assert_eq!(refusal.retry_after_secs as i64 * SEC, 3 * DAY);
    attempt(&limiter, &mut state, &stranger(recipient, T0 + 7 * DAY)).unwrap();
    // Only the last week is kept.
    assert!(state.conversations.opened.len() <= 60);
}

const TEMPLATE: &str = "Hi NAME, I came across your profile and was impressed by your background. \
    We are offering an exclusive opportunity to grow your income from home with our proven \
    system. Reply today to learn more and claim your free spot before Friday.";

#[test]
fn fan_out_of_a_lightly_edited_template_is_held_at_the_fifth_recipient_and_strikes_escalate() {
    let limiter = Limiter::default();
    let mut state = SenderState::default();
    let names = [
        "Anna", "Bob", "Carla", "Dmitri", "Eve", "Frank", "Gina", "Hugo",
    ];
    let edits = [
        ("", ""),
        ("today", "now"),
        ("Friday", "Monday"),
        ("impressed", "amazed"),
        ("", ""),
    ];
    let mut outcomes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (from, to) = edits[i % edits.len()];
        let mut text = TEMPLATE.replace("NAME", name);
        if !from.is_empty() {
            text = text.replace(from, to);
        }
        if i % 3 == 2 {
            text = text.replace("profile", "prоfile"); // Cyrillic о
        }
        let facts = SendFacts {
            fingerprint: fingerprint(&limiter, &text),
            // Irregular timing, connections: only fan-out is in play.
            ..send(i as u64, T0 + (i as i64 * i as i64 + 1) * 7 * MIN)
        };
        let Check::Proceed(signals) = limiter.check(&state, &facts) else {
            panic!("refused")
        };
        let sanction = limiter.record(&mut state, &facts, &signals);
        outcomes.push((
            signals.iter().any(|s| s.id == "fan_out" && s.hold),
            sanction,
        ));
    }
    let held: Vec<bool> = outcomes.iter().map(|o| o.0).collect();
    assert_eq!(held, [false, false, false, false, true, true, true, true]);
    assert_eq!(
        outcomes[6].1.as_ref().unwrap().restrict,
        RestrictionLevel::NewConversations
    );
    assert!(outcomes[6]
        .1
        .as_ref()
        .unwrap()
        .reason
        .contains("fan_out (+1): near-identical content"));
    assert_eq!(limiter.strike_points(&state, T0 + DAY), 4);
    // The sixth strike makes it full.
    let sanction = limiter
        .add_strike(
            &mut state,
            T0 + DAY,
            2,
            "reported as spam by two recipients",
        )
        .unwrap();
    assert_eq!(sanction.restrict, RestrictionLevel::Full);
    assert!(sanction.reason.contains("6 strike points"));
}

#[test]
fn cadence_signals_on_the_tenth_regular_interval_without_refusing() {
    let limiter = Limiter::default();
    let mut state = SenderState::default();
    for i in 0..10 {
        let signals = attempt(
            &limiter,
            &mut state,
            &send(i, T0 + i as i64 * 90 * SEC + (i as i64 % 3) * SEC),
        )
        .unwrap();
        assert!(signals.is_empty(), "send {i}");
    }
    let signals = attempt(&limiter, &mut state, &send(10, T0 + 900 * SEC + SEC)).unwrap();
    assert_eq!(signals.len(), 1);
    let cadence = &signals[0];
    assert_eq!(
        (cadence.id, cadence.hold, cadence.strike_weight),
        ("cadence", false, 1)
    );
    assert!(cadence.score > 0.8 && cadence.score <= 1.0);
    // Struck once; the next regular sends report without a strike until the cooldown ends.
    let signals = attempt(&limiter, &mut state, &send(11, T0 + 990 * SEC)).unwrap();
    assert_eq!(signals[0].strike_weight, 0);
    assert_eq!(limiter.strike_points(&state, T0 + 990 * SEC), 1);
}

#[test]
fn strikes_expire_after_thirty_days_and_the_restriction_waits_for_a_reviewer() {
    let limiter = Limiter::default();
    let mut state = SenderState::default();
    limiter.add_strike(&mut state, T0, 2, "report");
    assert_eq!(limiter.strike_points(&state, T0 + 30 * DAY - 1), 2);
    assert_eq!(limiter.strike_points(&state, T0 + 30 * DAY), 0);
    assert!(limiter
        .add_strike(&mut state, T0 + 30 * DAY, 1, "report")
        .is_none());
    limiter
        .add_strike(&mut state, T0 + 31 * DAY, 2, "report")
        .unwrap();
    assert_eq!(
        limiter.restriction_level(&state, T0 + 400 * DAY),
        Some(RestrictionLevel::NewConversations)
    );
    assert!(attempt(&limiter, &mut state, &stranger(1, T0 + 400 * DAY)).is_err());
    limiter.lift_restriction(&mut state).unwrap();
    attempt(&limiter, &mut state, &stranger(1, T0 + 400 * DAY)).unwrap();
}

/// A mixed, seeded workload driven twice in lockstep: once in memory, once through JSON
/// before every send (a restart between every two sends). Every decision and the final
/// state must be identical.
#[test]
fn restart_keeps_state_a_state_through_json_decides_identically() {
    let limiter = Limiter::new(LimitsConfig {
        new_conversations: sendguard::limits::config::NewConversationsConfig {
            per_day: 6,
            per_week: 15,
        },
        ..LimitsConfig::default()
    });
    let mut rng = SplitMix(42);
    let mut memory = SenderState::default();
    let mut persisted = serde_json::to_string(&SenderState::default()).unwrap();
    let mut now = T0;
    let mut refused = 0;
    let mut signalled = 0;
    for i in 0..3_000u64 {
        now += match rng.below(4) {
            0 => 0,
            1 => rng.below(20) as i64 * SEC,
            2 => 60 * SEC + rng.below(5) as i64 * SEC,
            _ => rng.below(4 * 3600) as i64 * SEC,
        };
        let text = if rng.chance(0.5) {
            TEMPLATE.replace("NAME", &format!("n{}", rng.below(50)))
        } else {
            format!(
                "message {i} about {} and {}",
                rng.below(1000),
                rng.below(1000)
            )
        };
        let facts = SendFacts {
            now,
            account_created_at: T0 - 3 * DAY,
            recipient: rng.below(40) as u64,
            connected: rng.chance(0.4),
            new_conversation: rng.chance(0.5),
            fingerprint: fingerprint(&limiter, &text),
        };
        let mut restored: SenderState = serde_json::from_str(&persisted).unwrap();
        assert_eq!(
            restored, memory,
            "state differs after a restart at send {i}"
        );
        let a = limiter.check(&memory, &facts);
        let b = limiter.check(&restored, &facts);
        assert_eq!(a, b, "decision differs at send {i}");
        match a {
            Check::Refuse(_) => refused += 1,
            Check::Proceed(signals) => {
                signalled += usize::from(!signals.is_empty());
                let sa = limiter.record(&mut memory, &facts, &signals);
                let sb = limiter.record(&mut restored, &facts, &signals);
                assert_eq!(sa, sb);
            }
        }
        if i % 500 == 0 && rng.chance(0.5) {
            limiter.lift_restriction(&mut memory);
            limiter.lift_restriction(&mut restored);
        }
        persisted = serde_json::to_string(&restored).unwrap();
    }
    // The workload exercised refusals and signals, not only the happy path.
    assert!(
        refused > 100 && signalled > 100,
        "refused {refused}, signalled {signalled}"
    );
    assert_eq!(
        serde_json::from_str::<SenderState>(&persisted).unwrap(),
        memory
    );
}

#[test]
fn state_stays_bounded_under_a_flood_and_shrinks_when_idle() {
    let limiter = Limiter::new(LimitsConfig {
        rate: RateConfig {
            per_minute: 0,
            minute_burst: 1,
            per_hour: 0,
            per_day: 0,
        },
        ..LimitsConfig::default()
    });
    let mut state = SenderState::default();
    let mut rng = SplitMix(7);
    for i in 0..20_000u64 {
        // Near-duplicates: the words the fingerprint reads are the same in every copy
        // (single letters would be joined into one word by the normalizer, as spaced-out
        // letters are).
        let text = format!(
            "{i} {} alpha bravo charlie delta echo foxtrot golf",
            rng.next_u64()
        );
        let facts = SendFacts {
            fingerprint: fingerprint(&limiter, &text),
            connected: i % 2 == 0,
            new_conversation: i % 4 == 1,
            ..stranger(i, T0 + i as i64 * 3 * SEC)
        };
        if let Check::Proceed(signals) = limiter.check(&state, &facts) {
            limiter.record(&mut state, &facts, &signals);
        }
    }
    let config = limiter.config();
    assert!(state.fanout.recent.len() <= config.fanout.history as usize);
    assert!(state.cadence.sends.len() <= config.cadence.intervals as usize);
    assert!(state.conversations.opened.len() <= config.new_conversations.per_week as usize);
    assert!(state.strikes.strikes.len() <= config.strikes.max_kept as usize);
    let bytes = serde_json::to_string(&state).unwrap().len();
    assert!(bytes < 16 * 1024, "{bytes} bytes");
    // Two months later everything but the send times has expired.
    let later = T0 + 60 * DAY;
    state.prune(config, later);
    assert!(state.fanout.recent.is_empty() && state.conversations.opened.is_empty());
    assert!(state.strikes.strikes.is_empty());
    // A sender at a metronome's pace was restricted on the way (a cadence strike an hour),
    // and that stays.
    assert_eq!(
        state.restriction().map(|r| r.level),
        Some(RestrictionLevel::Full)
    );
}
