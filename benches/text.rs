//! Throughput of `text::normalize`, in messages per second, for short (~150 characters) and
//! long (~5,000 characters) messages. Each iteration normalizes a batch of varied messages;
//! criterion's `elem/s` figure is messages per second on one core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sendguard::text::normalize;

/// Short messages of about 150 characters: ordinary ones and spam with the usual tricks.
fn short_messages() -> Vec<String> {
    let base = [
        "Hi Anna, thanks for connecting! I saw your talk on distributed systems and would love to hear how your team handles on-call rotations. Coffee next week?",
        "Hello, we are hiring a senior Rust engineer for our payments team in Berlin. Remote friendly, competitive salary. Are you open to a quick chat this week?",
        "FR33 M0NEY!!! Earn $5,000 weekly from home, no experience needed. Click hxxp://get-rich[.]xyz/start now and message me on WhatsApp +1 (555) 123-4567",
        "Congrats on the new role 🎉🎉 Really well deserved. Let me know if you ever want to grab lunch when you are back in town, my treat this time 😀",
        "Dear friend, I have a 𝐆𝐔𝐀𝐑𝐀𝐍𝐓𝐄𝐄𝐃 investment opportunity. Send 0.05 BTC to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 and get double back in 24h.",
        "Your аccount has been limited. Verify your identity at paypal-secure dot com slash login within 24 hours or it will be closed permanently. Thanks",
        "Quick question about the Q3 roadmap: can we move the review to Thursday 3pm? I'll send the updated deck by email to jane.doe@example.com tonight.",
        "F R E E  iPhone giveaway for our top 100 followers, just fill the form at bit.ly/3xYzAbC and share with 5 friends before Friday!!! Limited offer",
    ];
    base.iter().map(|s| s.to_string()).collect()
}

/// Long messages of about 5,000 characters, built from the short ones.
fn long_messages() -> Vec<String> {
    let short = short_messages();
    (0..4)
        .map(|k| {
            let mut s = String::new();
            let mut i = k;
            while s.chars().count() < 5_000 {
                s.push_str(&short[i % short.len()]);
                s.push('\n');
                i += 3;
            }
            s
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalize");
    for (name, msgs) in [("short", short_messages()), ("long", long_messages())] {
        let avg = msgs.iter().map(|m| m.chars().count()).sum::<usize>() / msgs.len();
        eprintln!(
            "{name}: {} messages, {avg} characters on average",
            msgs.len()
        );
        group.throughput(Throughput::Elements(msgs.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for m in &msgs {
                    black_box(normalize(black_box(m)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
