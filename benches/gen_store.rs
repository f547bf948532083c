//! Writes a large store for the rescore bench: members, threads and messages whose
//! verdicts come from the shipped rules and model, as the send path would have stored them.
//!
//! `cargo bench --bench gen_store -- --out /tmp/sg-1m [--messages 1000000]`, then time
//! `target/release/sendguard rescore --data /tmp/sg-1m --json` (see `benches/rescore.sh`).
//! `--url postgres://…` writes the same store into PostgreSQL instead (migrated first; the
//! schema must be empty), for the distributed rescore bench (`benches/rescore_pg.sh`).
//!
//! Bodies are the project's LinkedIn-style corpus (`datasets/linkedin/messages.tsv`, ham
//! and spam) each behind one of 64 greetings, so texts vary the way real ones do. A third
//! of the pairs are connections. The store has no thread views or review queue: a dry run
//! reads only messages. Writes go through `Store::write` in batches of 10,000 messages.
//! Ids are assigned here rather than by the store: the result is for benches, not serving.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use sendguard::domain::Relationship;
use sendguard::domain::{
    Member, Message, MessageStatus, Plan, RenderedBody, SendSignals, Thread, Verdict,
};
use sendguard::engine::AssessInput;
use sendguard::policy::PolicyConfig;
use sendguard::store::StoreError;
use sendguard::{Engine, Store};

const MEMBERS: u64 = 20_000;
const BATCH: usize = 10_000;
const T0: i64 = 1_780_000_000_000;
const NAMES: [&str; 8] = [
    "Priya", "Marcus", "Lena", "Tomás", "Aiko", "Chidi", "Sofia", "Omar",
];
const GREETINGS: [&str; 8] = [
    "Hi",
    "Hello",
    "Hey",
    "Dear",
    "Good morning",
    "Hi there",
    "Greetings",
    "Hiya",
];

fn main() -> anyhow::Result<()> {
    let mut out = None;
    let mut url = None;
    let mut messages: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--url" => url = args.next(),
            "--messages" => {
                let value = args.next().unwrap_or_default();
                messages = value
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--messages: {value:?} is not a count"))?;
            }
            "--bench" => {} // passed by `cargo bench`
            other => anyhow::bail!(
                "unknown argument {other:?}; use (--out DIR | --url URL) [--messages N]"
            ),
        }
    }
    let corpus = sendguard::tsv::read_file(std::path::Path::new("datasets/linkedin/messages.tsv"))?;
    let engine = Engine::load(
        PolicyConfig::default(),
        std::path::Path::new("rules"),
        Some(std::path::Path::new(sendguard::config::DEFAULT_MODEL)),
    )?;
    let store = match (out, url) {
        (Some(out), None) => {
            if out.exists() {
                anyhow::bail!("{}: already exists; give a new directory", out.display());
            }
            Store::open(&out)?
        }
        (None, Some(url)) => {
            let settings = sendguard::store::PgSettings {
                url,
                pool_size: 4,
                timeout: std::time::Duration::from_secs(600),
                retry_after_secs: 1,
            };
            Store::migrate_postgres(&settings)?;
            let store = Store::open_postgres(&settings)?;
            if store.message_count() > 0 {
                anyhow::bail!("the PostgreSQL store already has messages; give an empty schema");
            }
            store
        }
        _ => anyhow::bail!("give one of --out DIR and --url URL"),
    };
    let started = Instant::now();

    let pairs = MEMBERS / 2;
    store.write(|txn| {
        for id in 1..=MEMBERS {
            txn.put_member(&Member {
                id,
                handle: format!("member{id}"),
                display_name: format!("Member {id}"),
                plan: Plan::Free,
                created_at: T0,
                restriction: None,
            });
        }
        for pair in 0..pairs {
            txn.put_thread(&Thread {
                id: MEMBERS + 1 + pair,
                members: [1 + 2 * pair, 2 + 2 * pair],
                created_at: T0,
            });
        }
        Ok::<_, StoreError>(())
    })?;
    let first_message = MEMBERS + pairs + 1;
    let mut written = 0u64;
    while written < messages {
        let n = BATCH.min((messages - written) as usize) as u64;
        let batch: Vec<Message> = (written..written + n)
            .into_par_iter()
            .map(|i| message(&engine, &corpus, first_message + i, i, pairs))
            .collect();
        store.write(|txn| {
            for message in &batch {
                txn.put_message(message);
            }
            Ok::<_, StoreError>(())
        })?;
        written += n;
        if written.is_multiple_of(100_000) {
            eprintln!(
                "{written} messages, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.flush()?;
    eprintln!(
        "wrote {written} messages to the {} store in {:.0} s ({} MB on disk)",
        store.backend_name(),
        started.elapsed().as_secs_f64(),
        store.size_on_disk() / 1_000_000
    );
    Ok(())
}

/// Message number `i`, decided as the send path would (same engine call).
fn message(
    engine: &Engine,
    corpus: &[sendguard::tsv::Row],
    id: u64,
    i: u64,
    pairs: u64,
) -> Message {
    let row = &corpus[(i as usize * 7919) % corpus.len()];
    let body = format!(
        "{} {}, {}",
        GREETINGS[(i % 8) as usize],
        NAMES[((i / 8) % 8) as usize],
        row.text
    );
    let pair = (i * 2_654_435_761) % pairs;
    let relationship = Relationship {
        connected: pair.is_multiple_of(3),
        ..Relationship::default()
    };
    let normalized = engine.normalize(&RenderedBody::render(Default::default(), &body));
    let verdict: Verdict = engine.assess(&AssessInput {
        message: &normalized,
        relationship,
        behaviour: &[],
    });
    let held = verdict.decision == sendguard::domain::Decision::Held;
    Message {
        id,
        thread_id: MEMBERS + 1 + pair,
        from: 1 + 2 * pair,
        to: 2 + 2 * pair,
        body,
        format: Default::default(),
        kind: Default::default(),
        attachments: Vec::new(),
        created_at: T0 + i as i64 * 1000,
        status: if held {
            MessageStatus::Held
        } else {
            MessageStatus::Delivered
        },
        verdict,
        signals: SendSignals {
            relationship,
            behaviour: Vec::new(),
        },
        recalled_at: None,
        previous_verdicts: Vec::new(),
        sponsored: None,
        text_removed: None,
        sealed_body: None,
    }
}
