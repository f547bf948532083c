//! Generates a store of N synthetic messages (default 1,000,000) over 30 days, then times
//! the report over it in every format. Not part of `cargo test`; run it in release:
//!
//! ```sh
//! cargo run --release --example report_scale -- /tmp/sg-1m 1000000
//! ./target/release/sendguard report --data /tmp/sg-1m --format html --out /tmp/r.html
//! ```
//!
//! Messages are written straight through the store's batch API (the send path's fsync per
//! acknowledged message would make generating a million take hours), with verdicts shaped
//! like the pipeline's: relationship reasons, rule hits, classifier scores, holds; plus
//! review items, labels, audit entries and refusal counters in similar proportions.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sendguard::dates::{parse_time, DAY_MS};
use sendguard::domain::{
    Actor, AuditEntry, Decision, Folder, Format, Label, LabelRecord, LabelSource, Message,
    MessageKind, MessageStatus, Reason, ReviewAction, ReviewDecision, ReviewItem, ReviewOrigin,
    SendSignals, Verdict,
};
use sendguard::report::{self, ReportOptions};
use sendguard::store::StoreError;
use sendguard::Store;

const BATCH: usize = 10_000;
const MEMBERS: u64 = 50_000;
const DAYS: i64 = 30;
const RULES: [&str; 8] = [
    "advertising.promo_blast_phrases",
    "crypto.guaranteed_returns",
    "phishing.link_text_mismatch",
    "scams.advance_fee",
    "contact_harvesting.off_platform",
    "adult.explicit",
    "harassment.insults",
    "scams.job_fee",
];
const WORDS: [&str; 12] = [
    "hello", "meeting", "project", "thanks", "offer", "role", "team", "coffee", "update",
    "schedule", "review", "network",
];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "/tmp/sendguard-report-scale".into());
    let count: usize = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let start = parse_time("2026-10-01").map_err(anyhow::Error::msg)?;
    let store = Store::open(std::path::Path::new(&dir))?;
    let mut rng = StdRng::seed_from_u64(9);

    let generating = Instant::now();
    let mut written = 0;
    while written < count {
        let n = BATCH.min(count - written);
        store.write(|txn| {
            for i in 0..n {
                let at = start + ((written + i) as i64 * DAYS * DAY_MS) / count as i64;
                let message = synthetic(&mut rng, txn.next_id()?, at);
                txn.put_message(&message);
                if message.verdict.decision == Decision::Held {
                    let decided = rng.random_bool(0.8);
                    let label = if rng.random_bool(0.85) {
                        Label::Spam
                    } else {
                        Label::Ham
                    };
                    let decision_at = at + rng.random_range(600_000..172_800_000);
                    txn.put_review_item(&ReviewItem {
                        id: txn.next_id()?,
                        message_id: message.id,
                        sender: message.from,
                        origin: ReviewOrigin::Held,
                        report_reason: None,
                        created_at: at,
                        claim: None,
                        withdrawn_at: None,
                        decision: decided.then(|| ReviewDecision {
                            reviewer: 1,
                            label,
                            action: if label == Label::Ham {
                                ReviewAction::Release
                            } else {
                                ReviewAction::Remove
                            },
                            note: None,
                            at: decision_at,
                        }),
                    });
                    if decided {
                        txn.put_label(&LabelRecord {
                            message_id: message.id,
                            label,
                            source: LabelSource::Reviewer,
                            at: decision_at,
                        });
                    }
                    if rng.random_bool(0.02) {
                        txn.audit(AuditEntry {
                            id: 0,
                            at,
                            actor: Actor::System,
                            action: "restrict:automated".into(),
                            message_id: None,
                            member_id: Some(message.from),
                            item_id: None,
                            why: Some("fan-out strikes".into()),
                        })?;
                    }
                }
            }
            Ok::<_, StoreError>(())
        })?;
        for _ in 0..n / 100 {
            let at = start + rng.random_range(0..DAYS * DAY_MS);
            let reason = match rng.random_range(0..4) {
                0 => "rate_limited/per_minute",
                1 => "rate_limited/per_day",
                2 => "too_long",
                _ => "sender_restricted",
            };
            store.count_refusal(at, reason)?;
        }
        written += n;
    }
    store.flush()?;
    println!(
        "generated {count} messages in {:.1}s; store {} MB",
        generating.elapsed().as_secs_f64(),
        store.size_on_disk() / 1_000_000
    );

    let options = ReportOptions::new(None, None, start + DAYS * DAY_MS);
    for format in [
        report::Format::Json,
        report::Format::Csv,
        report::Format::Html,
    ] {
        let timing = Instant::now();
        let text = report::render(&store, &options, format)?;
        println!(
            "{format:?}: {} bytes in {:.2}s",
            text.len(),
            timing.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn synthetic(rng: &mut StdRng, id: u64, at: i64) -> Message {
    let from = rng.random_range(1..=MEMBERS);
    let mut to = rng.random_range(1..=MEMBERS);
    if to == from {
        to = from % MEMBERS + 1;
    }
    let words = rng.random_range(8..60);
    let body: Vec<&str> = (0..words)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect();
    let connected = rng.random_bool(0.6);
    let mut reasons = vec![if connected {
        Reason::new(
            "relationship",
            "connected",
            "sender and recipient are connected",
        )
    } else {
        Reason::new(
            "relationship",
            "outside_network",
            "sender is outside the network",
        )
    }];
    let score: f64 = rng.random();
    let roll: f64 = rng.random();
    let decision = if roll < 0.08 {
        let rule = RULES[rng.random_range(0..RULES.len())];
        reasons.push(Reason::new("rule", rule, "matched (category)"));
        if score > 0.5 {
            reasons.push(Reason::new(
                "classifier",
                "spam_hold",
                "above the hold threshold",
            ));
        }
        Decision::Held
    } else if roll < 0.10 {
        reasons.push(Reason::new(
            "limit",
            "fan_out",
            "same content to many recipients",
        ));
        Decision::Held
    } else if connected {
        Decision::Inbox
    } else {
        Decision::Other
    };
    Message {
        id,
        thread_id: id,
        from,
        to,
        body: body.join(" "),
        format: Format::Text,
        kind: MessageKind::Message,
        attachments: Vec::new(),
        created_at: at,
        status: if decision == Decision::Held {
            MessageStatus::Held
        } else {
            MessageStatus::Delivered
        },
        previous_verdicts: Vec::new(),
        sponsored: None,
        text_removed: None,
        sealed_body: None,
        verdict: Verdict {
            decision,
            route: if connected {
                Folder::Inbox
            } else {
                Folder::Other
            },
            inmail: false,
            reasons,
            score: Some(score),
            sanction: None,
            automated: true,
            refused: None,
            language: None,
        },
        signals: SendSignals::default(),
        recalled_at: None,
    }
}
