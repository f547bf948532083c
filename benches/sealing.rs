//! The cost of encrypting message text at rest, before and after in one run: the whole
//! send path (`App::send` on a sled store, group commit included) and the store's write and
//! read of one message alone, each without a key and with one; and the cipher alone.
//!
//! `cargo bench --bench sealing -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use sendguard::app::{NewMember, SendRequest};
use sendguard::clock::ManualClock;
use sendguard::config::Config;
use sendguard::domain::{Message, Plan};
use sendguard::store::crypt::Sealer;
use sendguard::store::{Reader, StoreError};
use sendguard::{App, Engine, Store};

const T0: i64 = 1_735_689_600_000;
const DAY: i64 = 24 * 3600 * 1000;

/// 64 distinct messages of about 300 characters.
fn texts() -> Vec<String> {
    (0..64)
        .map(|i| {
            (0..40)
                .map(|w| format!("w{}", (i * 7919 + w * 104_729) % 997))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Irregular gaps inside the sustained rate, so every send is accepted and recorded.
fn pace(i: u64) -> i64 {
    290_000 + ((i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % 600_000) as i64
}

fn sealer() -> Option<Sealer> {
    let line = format!("bench {}", "ab".repeat(32));
    Some(Sealer::parse(&[line], "bench").unwrap())
}

fn send_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let texts = texts();
    let mut group = c.benchmark_group("send_path");
    for (name, keys) in [("plaintext", None), ("sealed", sealer())] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at(T0));
        let store = Store::open(dir.path()).unwrap().with_sealer(keys);
        let app = App::new(store, Engine::default(), &Config::default(), clock.clone());
        let (a, b) = runtime.block_on(async {
            let mut ids = Vec::new();
            for handle in ["ada", "bob"] {
                let new = NewMember {
                    handle: handle.into(),
                    display_name: None,
                    plan: Plan::Free,
                };
                ids.push(app.create_member(new).await.unwrap().member_id);
            }
            app.connect(ids[0], ids[1]).await.unwrap();
            (ids[0], ids[1])
        });
        clock.advance_ms(30 * DAY);
        let mut i = 0u64;
        group.bench_function(name, |bench| {
            bench.iter(|| {
                i += 1;
                clock.advance_ms(pace(i));
                let text = &texts[(i % 64) as usize];
                let sent = runtime
                    .block_on(app.send(a, SendRequest::text(b, text)))
                    .expect("every send is accepted");
                black_box(sent.message_id)
            })
        });
    }
    group.finish();
}

fn store_message(c: &mut Criterion) {
    let texts = texts();
    let mut group = c.benchmark_group("store_message_write_read");
    for (name, keys) in [("plaintext", None), ("sealed", sealer())] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap().with_sealer(keys);
        let mut id = 0u64;
        group.bench_function(name, |bench| {
            bench.iter(|| {
                id += 1;
                let message: Message = serde_json::from_value(serde_json::json!({
                    "id": id, "thread_id": 1, "from": 1, "to": 2,
                    "body": texts[(id % 64) as usize],
                    "format": "text", "kind": "message", "created_at": T0, "status": "delivered",
                    "verdict": {"decision": "inbox", "route": "inbox", "inmail": false,
                                "reasons": [], "score": null, "sanction": null, "automated": true},
                }))
                .unwrap();
                store
                    .write::<_, StoreError>(|txn| {
                        txn.put_message(&message);
                        Ok(())
                    })
                    .unwrap();
                black_box(store.message(id).unwrap().unwrap().body.len())
            })
        });
    }
    group.finish();
}

/// The cipher alone: seal and open one ~300-character body.
fn seal_open(c: &mut Criterion) {
    let sealer = sealer().unwrap();
    let text = &texts()[0];
    c.bench_function("seal_open_300_chars", |bench| {
        bench.iter(|| {
            let sealed = sealer.seal(7, black_box(text));
            black_box(sealer.open(7, &sealed).unwrap().len())
        })
    });
}

criterion_group!(benches, send_path, store_message, seal_open);
criterion_main!(benches);
