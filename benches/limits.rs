//! Limiter decision cost per send, and memory per active sender.
//!
//! `cargo bench --bench limits -- --warm-up-time 1 --measurement-time 3`
//!
//! The state is warmed to its worst steady size: a full fan-out ring (`fanout.history`
//! fingerprints), a full cadence ring, a week of new conversations at the weekly cap and a
//! few strikes, so the figures are the ceiling for an active sender, not an empty one.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sendguard::domain::Millis;
use sendguard::limits::{Check, Limiter, LimitsConfig, SendFacts, SenderState};

const T0: Millis = 1_735_689_600_000;
const DAY: i64 = 24 * 3600 * 1000;

/// 64 distinct ~40-word messages as words + adjacent-pair features (~80 each).
fn messages() -> Vec<Vec<String>> {
    let vocab: Vec<String> = (0..500).map(|i| format!("word{i}")).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..64)
        .map(|_| {
            let words: Vec<&str> = (0..40)
                .map(|_| vocab[(next() % 500) as usize].as_str())
                .collect();
            let mut f: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            f.extend(words.windows(2).map(|p| format!("{} {}", p[0], p[1])));
            f
        })
        .collect()
}

/// Irregular gaps of 290–890 s: inside the 300/day sustained rate, so every send is
/// accepted and recorded (a refused send would only measure the cheap path), and not
/// machine-regular (no cadence strikes piling up).
fn pace(i: u64) -> i64 {
    290_000 + ((i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % 600_000) as i64
}

fn warmed(limiter: &Limiter, feats: &[Vec<&str>]) -> (SenderState, Millis) {
    let mut state = SenderState::default();
    let mut now = T0;
    // A week of new conversations with strangers, at the weekly cap.
    for r in 0..60u64 {
        now += ((r as i64 * 37) % 11 + 1) * 25 * 60_000; // irregular, ~2.5 h apart
        let facts = SendFacts {
            now,
            account_created_at: T0 - 400 * DAY,
            recipient: 1_000 + r,
            connected: false,
            new_conversation: true,
            fingerprint: limiter.fingerprint(&feats[r as usize % feats.len()]),
        };
        if let Check::Proceed(s) = limiter.check(&state, &facts) {
            limiter.record(&mut state, &facts, &s);
        }
    }
    limiter.add_strike(&mut state, now, 1, "reported by a recipient as unwanted");
    limiter.add_strike(&mut state, now, 1, "reported by a recipient as unwanted");
    // Then a day of ordinary traffic to connections fills the rings.
    for i in 0..200u64 {
        now += pace(i);
        let facts = SendFacts {
            now,
            account_created_at: T0 - 400 * DAY,
            recipient: i % 50,
            connected: true,
            new_conversation: false,
            fingerprint: limiter.fingerprint(&feats[i as usize % feats.len()]),
        };
        if let Check::Proceed(s) = limiter.check(&state, &facts) {
            limiter.record(&mut state, &facts, &s);
        }
    }
    (state, now)
}

fn bench(c: &mut Criterion) {
    let limiter = Limiter::new(LimitsConfig::default());
    let owned = messages();
    let feats: Vec<Vec<&str>> = owned
        .iter()
        .map(|m| m.iter().map(String::as_str).collect())
        .collect();
    let (state, start) = warmed(&limiter, &feats);

    let json = serde_json::to_string(&state).unwrap();
    println!(
        "memory per active sender (warmed: {} fingerprints, {} send times, {} conversations, \
         {} strikes): JSON {} bytes; in memory size_of {} + heap = {} bytes",
        state.fanout.recent.len(),
        state.cadence.sends.len(),
        state.conversations.opened.len(),
        state.strikes.strikes.len(),
        json.len(),
        std::mem::size_of::<SenderState>(),
        state.memory_bytes()
    );

    let mut group = c.benchmark_group("limits");
    group.bench_function("fingerprint + check (warmed state)", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            let facts = SendFacts {
                now: start + 60_000,
                account_created_at: T0 - 400 * DAY,
                recipient: (i % 50) as u64,
                connected: true,
                new_conversation: false,
                fingerprint: limiter.fingerprint(&feats[i % feats.len()]),
            };
            black_box(limiter.check(black_box(&state), &facts))
        })
    });
    let (mut accepted, mut refused) = (0u64, 0u64);
    group.bench_function(
        "fingerprint + check + record per send (warmed state)",
        |b| {
            let mut state = state.clone();
            let mut now = start;
            let mut i = 0usize;
            b.iter(|| {
                i += 1;
                now += pace(i as u64);
                let facts = SendFacts {
                    now,
                    account_created_at: T0 - 400 * DAY,
                    recipient: (i % 50) as u64,
                    connected: true,
                    new_conversation: false,
                    fingerprint: limiter.fingerprint(&feats[i % feats.len()]),
                };
                match limiter.check(&state, &facts) {
                    Check::Proceed(signals) => {
                        accepted += 1;
                        black_box(limiter.record(&mut state, &facts, &signals));
                    }
                    refusal => {
                        refused += 1;
                        black_box(refusal);
                    }
                }
            })
        },
    );
    group.bench_function("simhash (80 features)", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            black_box(sendguard::limits::simhash(&feats[i % feats.len()]))
        })
    });
    group.finish();
    println!(
        "fingerprint + check + record: {accepted} sends accepted and recorded, {refused} refused"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
