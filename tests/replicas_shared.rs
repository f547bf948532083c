//! Several `sendguard serve` replicas on ONE shared PostgreSQL schema, Redis and NATS: the
//! deployment behind a load balancer. Unlike `limits_redis.rs` and `events_nats.rs` (each
//! replica with its own sled store), every replica here reads and writes the same store, so
//! a member created through one replica signs in on every replica, and what one replica
//! acknowledged is readable through the others. Each test has its own schema (migrated
//! through `sendguard migrate`), Redis key prefix and NATS subject prefix, all removed when
//! it ends, failed or not. The services: PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379,
//! NATS with JetStream 127.0.0.1:4222 (`scripts/start-services` starts them).

mod common;
mod replicas_common;
mod store_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{error_of, Server, ADMIN_TOKEN};
use futures_util::future::join_all;
use replicas_common::{RedisKeys, Subjects, CROSSING_DEADLINE};
use serde_json::{json, Value};
use store_common::{Proxy, Schema};

/// One test's share of the services: a migrated schema, a Redis key prefix, a NATS subject
/// prefix and a directory for configs and rule packs. Replicas are declared after it in a
/// test, so they stop before it drops what it made.
struct Backends {
    schema: Schema,
    keys: RedisKeys,
    subjects: Subjects,
    dir: tempfile::TempDir,
}

impl Backends {
    fn new(test: &str) -> Backends {
        let schema = Schema::new(test);
        let output = Command::new(env!("CARGO_BIN_EXE_sendguard"))
            .args(["migrate", "--url", &schema.url()])
            .output()
            .expect("running sendguard migrate");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Backends {
            schema,
            keys: RedisKeys::new(),
            subjects: Subjects::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A replica's config on the shared services; `store_url` replaces the schema's own URL
    /// (a proxy in front of PostgreSQL); `limits` adds `[limits.*]` tables.
    fn config(&self, store_url: Option<&str>, limits: &str, rules_dir: Option<&Path>) -> String {
        let engine = rules_dir
            .map(|dir| format!("[engine]\nrules_dir = \"{}\"\n", dir.display()))
            .unwrap_or_default();
        let url = store_url.map_or_else(|| self.schema.url(), str::to_string);
        // The generous Redis deadline keeps a loaded test machine from being taken for an
        // unreachable Redis.
        format!(
            "{engine}[store]\nbackend = \"postgres\"\nurl = \"{url}\"\npool_size = 4\ntimeout_ms = 3000\nretry_after_secs = 7\n\
             [events]\nbackend = \"nats\"\n[events.nats]\nsubject_prefix = \"{}\"\ndecisions_max_bytes = 67108864\n\
             [limits]\nbackend = \"redis\"\n[limits.redis]\nkey_prefix = \"{}\"\ntimeout_ms = 10000\n{limits}",
            self.subjects.prefix, self.keys.prefix
        )
    }

    /// Starts replica `name` with `config` (the data directory is unused: the store is
    /// PostgreSQL).
    fn replica(&self, name: &str, config: &str) -> Server {
        Server::start(&self.dir.path().join(name), Some(config))
    }

    /// `count` replicas with the same config.
    fn replicas(&self, count: usize, limits: &str) -> Vec<Server> {
        let config = self.config(None, limits, None);
        (0..count)
            .map(|n| self.replica(&format!("replica{n}"), &config))
            .collect()
    }
}

/// The same rate for every account age, `per_minute` a minute with a burst of as many.
fn rate(per_minute: u32) -> String {
    format!(
        "[limits.rate]\nper_minute = {per_minute}\nminute_burst = {per_minute}\nper_hour = 1000\nper_day = 1000\n\
         [limits.young_rate]\nper_minute = {per_minute}\nminute_burst = {per_minute}\nper_hour = 1000\nper_day = 1000\n"
    )
}

/// Sends (with `idempotency_key`, if given) and returns (status, body, Retry-After); a
/// connection error (a killed replica) is status 0.
async fn send_to(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    request: &Value,
) -> (u16, Value, Option<String>) {
    let sent = client
        .post(format!("{base}/v1/messages"))
        .bearer_auth(token)
        .json(request)
        .send()
        .await;
    let Ok(response) = sent else {
        return (0, Value::Null, None);
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    match response.json().await {
        Ok(body) => (status, body, retry_after),
        // The replica died between the status line and the body: not acknowledged.
        Err(_) => (0, Value::Null, None),
    }
}

async fn send(server: &Server, token: &str, to: u64, body: &str) -> (u16, Value, Option<String>) {
    let request = json!({"to": to, "body": body});
    send_to(&server.client, &server.base, token, &request).await
}

/// Every message id `token`'s member sees in `thread`, read through `server`.
async fn visible(server: &Server, token: &str, thread: u64) -> BTreeSet<u64> {
    server
        .thread_messages(token, thread)
        .await
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_message_sent_through_a_is_in_the_folder_and_event_stream_on_b() {
    let backends = Backends::new("rep_delivery");
    let replicas = backends.replicas(2, "");
    let (a, b) = (&replicas[0], &replicas[1]);
    // Members are made through A only: the store is shared, so B knows them and their tokens.
    let (alice, alice_token) = a.member("alice", "free").await;
    let (bob, bob_token) = a.member("bob", "free").await;
    a.connect(alice, bob).await;
    assert!(b.folder(&bob_token, "inbox").await.is_empty());

    let bobs_stream_on_b = b.open_events(&bob_token).await;
    let (status, sent, _) = send(a, &alice_token, bob, "Lunch at noon on Thursday?").await;
    assert_eq!(status, 201, "{sent}");
    let message = sent["message_id"].as_u64().unwrap();
    let thread = sent["thread_id"].as_u64().unwrap();

    assert_eq!(b.folder(&bob_token, "inbox").await, [thread]);
    assert_eq!(b.thread_messages(&bob_token, thread).await, [message]);
    let received =
        common::events_until(bobs_stream_on_b, &format!("\"message_id\":{message}")).await;
    assert!(received.contains("event: message.delivered"), "{received}");
    assert!(
        received.contains(&format!("\"from\":{alice}")),
        "{received}"
    );

    // Bob answers through B; Alice reads the whole thread through A.
    let (status, reply, _) = send(b, &bob_token, alice, "Thursday works").await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["thread_id"].as_u64(), Some(thread), "one thread");
    let reply = reply["message_id"].as_u64().unwrap();
    assert_eq!(
        a.thread_messages(&alice_token, thread).await,
        [message, reply]
    );

    for replica in &replicas {
        let (status, ready) = replica.get("/readyz", ADMIN_TOKEN).await;
        assert_eq!(status, 200, "{ready}");
        assert_eq!(ready["store_backend"], "postgres", "{ready}");
        assert_eq!(
            (&ready["redis"], &ready["nats"]),
            (&json!(true), &json!(true))
        );
    }
}

const BOT_TEXT: &str = "Hello there, our agency places senior engineers at leading startups in \
                        your area; reply with your resume and we will match you with roles \
                        this week";

/// Creates `sender` and 12 fresh recipients, then sends them the same text, alternating
/// `replicas`, until a send is held for fan-out; returns how many sends that took.
async fn sends_until_fan_out_caught(replicas: &[&Server], sender: &str) -> usize {
    let (_, bot_token) = replicas[0].member(sender, "free").await;
    let mut recipients = Vec::new();
    for n in 0..12 {
        let replica = replicas[n % replicas.len()];
        recipients.push(replica.member(&format!("{sender}_to_{n}"), "free").await.0);
    }
    for (attempt, recipient) in recipients.into_iter().enumerate() {
        let replica = replicas[attempt % replicas.len()];
        let (status, body, _) = send(replica, &bot_token, recipient, BOT_TEXT).await;
        assert_eq!(status, 201, "{body}");
        let fan_out = body["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|reason| reason["id"] == "fan_out");
        if fan_out {
            assert_eq!(body["decision"], "held", "{body}");
            return attempt + 1;
        }
    }
    panic!("fan-out never caught");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fan_out_bot_alternating_replicas_is_caught_within_as_many_sends_as_on_one() {
    let backends = Backends::new("rep_fan_out");
    let replicas = backends.replicas(3, "");
    let [a, b, c] = [&replicas[0], &replicas[1], &replicas[2]];
    let alternating = sends_until_fan_out_caught(&[a, b, c], "roundrobin_bot").await;
    let on_one = sends_until_fan_out_caught(&[a], "single_bot").await;
    assert_eq!(
        alternating, on_one,
        "alternating replicas buys the bot nothing"
    );
    // The default: the same content to 5 distinct recipients is a fan-out.
    assert_eq!(on_one, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_sends_over_three_replicas_get_exactly_the_allowed_number_through() {
    let backends = Backends::new("rep_rate");
    let replicas = backends.replicas(3, &rate(5));
    let (alice, alice_token) = replicas[0].member("alice", "free").await;
    let (bob, bob_token) = replicas[1].member("bob", "free").await;
    replicas[2].connect(alice, bob).await;

    let sends = (0..20).map(|i| {
        let server = &replicas[i % replicas.len()];
        let body = format!("Following up on the design review, note number {i}");
        let token = alice_token.clone();
        async move { send(server, &token, bob, &body).await }
    });
    let answers = join_all(sends).await;
    let accepted: BTreeSet<u64> = answers
        .iter()
        .filter(|(status, _, _)| *status == 201)
        .map(|(_, body, _)| body["message_id"].as_u64().unwrap())
        .collect();
    let limited: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == 429)
        .collect();
    assert_eq!(accepted.len(), 5, "exactly the burst of 5: {answers:?}");
    assert_eq!(limited.len(), 15, "{answers:?}");
    for (_, body, retry_after) in &limited {
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        let wait: u64 = retry_after.as_deref().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{body}");
    }
    // The shared store holds exactly what was acknowledged, whichever replica is asked.
    for replica in &replicas {
        let threads = replica.folder(&bob_token, "inbox").await;
        assert_eq!(threads.len(), 1, "{threads:?}");
        assert_eq!(visible(replica, &bob_token, threads[0]).await, accepted);
    }
}

fn pack(keyword: &str) -> String {
    format!(
        r#"category = "test"

[[rule]]
id = "test.replicated_hold"
description = "holds the test keyword"
keywords = ["{keyword}"]
action = "hold"
examples = {{ match = ["say {keyword} please"], no_match = ["nothing here"] }}
"#
    )
}

async fn assessed(server: &Server, body: &str) -> Value {
    let (status, verdict) = server
        .post("/v1/assess", ADMIN_TOKEN, json!({ "body": body }))
        .await;
    assert_eq!(status, 200, "{verdict}");
    verdict
}

fn cites(verdict: &Value, rule: &str) -> bool {
    verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|reason| reason["id"] == rule)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rule_reload_through_a_changes_the_verdicts_of_b() {
    let backends = Backends::new("rep_reload");
    // Each replica reads its own copy of the packs, as on separate machines.
    let rules: Vec<PathBuf> = ["rules_a", "rules_b"]
        .iter()
        .map(|name| backends.dir.path().join(name))
        .collect();
    for dir in &rules {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("test.toml"), pack("wire the fee")).unwrap();
    }
    // The test pack holds an ordinary sentence, which the classifier would veto: an
    // operator who means such a hold to stand lists its category as exempt.
    let config = |dir: &Path| {
        backends.config(None, "", Some(dir))
            + "[policy]\nclassifier_veto_exempt_categories = [\"test\"]\n"
    };
    let a = backends.replica("a", &config(&rules[0]));
    let b = backends.replica("b", &config(&rules[1]));
    let (ada, ada_token) = a.member("ada", "free").await;
    let (bob, bob_token) = a.member("bob", "free").await;
    a.connect(ada, bob).await;
    let body = "Please confirm the zebracorn invoice today";
    let (status, before, _) = send(&b, &ada_token, bob, body).await;
    assert_eq!(
        (status, &before["decision"]),
        (201, &json!("inbox")),
        "{before}"
    );
    assert!(!cites(&before, "test.replicated_hold"), "{before}");

    // The new packs are deployed to both machines; only A is told to reload.
    for dir in &rules {
        std::fs::write(dir.join("test.toml"), pack("zebracorn invoice")).unwrap();
    }
    let (status, reloaded) = a
        .post("/v1/admin/rules/reload", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{reloaded}");
    assert!(cites(&assessed(&a, body).await, "test.replicated_hold"));

    // B follows: wait (bounded) for its verdict to change, then a send through B is held.
    let deadline = tokio::time::Instant::now() + CROSSING_DEADLINE;
    while !cites(&assessed(&b, body).await, "test.replicated_hold") {
        assert!(tokio::time::Instant::now() < deadline, "B never reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, after, _) = send(&b, &ada_token, bob, body).await;
    assert_eq!(status, 201, "{after}");
    assert_eq!(after["decision"], "held", "{after}");
    assert!(cites(&after, "test.replicated_hold"), "{after}");
    // The recipient sees the first copy only, through either replica.
    let thread = before["thread_id"].as_u64().unwrap();
    for replica in [&a, &b] {
        assert_eq!(
            replica.thread_messages(&bob_token, thread).await,
            [before["message_id"].as_u64().unwrap()]
        );
    }
}

/// What the clients of the SIGKILL test saw: every acknowledged message with its sender's
/// token, thread and whether it was delivered (a hold is stored but not shown to the
/// recipient).
#[derive(Default)]
struct Acknowledged {
    messages: Mutex<Vec<(String, u64, u64, bool)>>,
    through_victim: AtomicUsize,
    /// Sends the victim never answered (in flight when it died, or sent after).
    unanswered: AtomicUsize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_of_one_replica_under_load_loses_no_acknowledged_message() {
    const SENDERS: usize = 4;
    const SENDS_EACH: usize = 30;
    /// Acknowledgements through the victim before it is killed.
    const KILL_AFTER: usize = 12;
    let backends = Backends::new("rep_sigkill");
    let config = backends.config(None, &rate(500), None);
    let victim = backends.replica("victim", &config);
    let survivor = backends.replica("survivor", &config);
    let (rita, rita_token) = survivor.member("rita", "free").await;
    let mut senders = Vec::new();
    let mut sender_ids = Vec::new();
    for n in 0..SENDERS {
        let (id, token) = survivor.member(&format!("sender{n}"), "free").await;
        survivor.connect(id, rita).await;
        senders.push(token);
        sender_ids.push(id);
    }

    let acknowledged = Arc::new(Acknowledged::default());
    let targets = [
        (victim.client.clone(), victim.base.clone()),
        (survivor.client.clone(), survivor.base.clone()),
    ];
    let mut clients = Vec::new();
    for (n, token) in senders.into_iter().enumerate() {
        let (acknowledged, targets) = (Arc::clone(&acknowledged), targets.clone());
        clients.push(tokio::spawn(async move {
            for round in 0..SENDS_EACH {
                let which = (n + round) % 2;
                let (client, base) = &targets[which];
                let request = json!({
                    "to": rita,
                    "body": format!("progress note {round} from sender {n}"),
                    "idempotency_key": format!("sender{n}-round{round}"),
                });
                let (mut status, mut body, _) = send_to(client, base, &token, &request).await;
                let answered_by_victim = which == 0 && status != 0;
                if status == 0 {
                    // The victim died before answering: the client retries the same send
                    // through the survivor, as it would behind a load balancer.
                    assert_eq!(which, 0, "the survivor dropped a connection");
                    acknowledged.unanswered.fetch_add(1, Ordering::SeqCst);
                    let (client, base) = &targets[1];
                    (status, body, _) = send_to(client, base, &token, &request).await;
                    // 200 `replayed`: the victim had committed it before dying.
                    if status == 200 {
                        assert_eq!(body["replayed"], true, "{body}");
                        status = 201;
                    }
                }
                assert_eq!(status, 201, "{body}");
                let message = body["message_id"].as_u64().unwrap();
                let thread = body["thread_id"].as_u64().unwrap();
                let delivered = body["decision"] != "held";
                acknowledged.messages.lock().unwrap().push((
                    token.clone(),
                    thread,
                    message,
                    delivered,
                ));
                if answered_by_victim {
                    acknowledged.through_victim.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    // Kill the victim once it has acknowledged some sends, with the others in flight.
    let deadline = tokio::time::Instant::now() + CROSSING_DEADLINE;
    while acknowledged.through_victim.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the victim never acknowledged {KILL_AFTER} sends"
        );
        tokio::task::yield_now().await;
    }
    victim.kill();
    for client in clients {
        client.await.unwrap();
    }

    // The kill came while the clients were still sending through the victim.
    assert!(acknowledged.unanswered.load(Ordering::SeqCst) > 0);
    // Every acknowledged message is readable through the survivor, by its sender and by
    // the recipient.
    let acknowledged = acknowledged.messages.lock().unwrap().clone();
    // Every send was acknowledged in the end, once (a retry of a send the victim had
    // committed answers with the stored message).
    assert_eq!(acknowledged.len(), SENDERS * SENDS_EACH);
    let mut per_thread: BTreeMap<(String, u64), (BTreeSet<u64>, BTreeSet<u64>)> = BTreeMap::new();
    for (token, thread, message, delivered) in &acknowledged {
        let (all, shown) = per_thread.entry((token.clone(), *thread)).or_default();
        all.insert(*message);
        if *delivered {
            shown.insert(*message);
        }
    }
    assert_eq!(per_thread.len(), SENDERS, "one thread per sender");
    for ((token, thread), (all, shown)) in &per_thread {
        assert_eq!(all.len(), SENDS_EACH, "one message per send");
        let seen_by_sender = visible(&survivor, token, *thread).await;
        assert_eq!(
            &seen_by_sender, all,
            "the stored messages are exactly the acknowledged ones: nothing lost, no duplicate"
        );
        let seen_by_recipient = visible(&survivor, &rita_token, *thread).await;
        assert!(shown.is_subset(&seen_by_recipient));
    }
    // The survivor keeps serving: new sends, and a fresh member.
    let (status, body, _) = send(
        &survivor,
        &rita_token,
        sender_ids[0],
        "all received, thanks",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    survivor.member("latecomer", "free").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_cut_off_from_both_replicas_gives_503s_then_recovers_with_nothing_lost() {
    let backends = Backends::new("rep_outage");
    let proxy = Proxy::start().await;
    let config = backends.config(Some(&proxy.url(&backends.schema)), &rate(50), None);
    let a = backends.replica("a", &config);
    let b = backends.replica("b", &config);
    let (ada, ada_token) = a.member("ada", "free").await;
    let (bob, bob_token) = b.member("bob", "free").await;
    a.connect(ada, bob).await;
    let (status, before, _) = send(&a, &ada_token, bob, "before the outage").await;
    assert_eq!(status, 201, "{before}");
    let thread = before["thread_id"].as_u64().unwrap();

    proxy.cut();
    for replica in [&a, &b] {
        let (status, body, retry_after) = send(replica, &ada_token, bob, "during").await;
        error_of(status, &body, 503, "store_unavailable");
        assert_eq!(retry_after.as_deref(), Some("7"));
        let response = replica
            .client
            .get(replica.url("/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
        let ready: Value = response.json().await.unwrap();
        assert_eq!(ready["store"], false, "{ready}");
    }

    proxy.restore().await;
    for replica in [&a, &b] {
        // Each pooled connection the cut closed fails at most once before a new one is made.
        let mut ready_again = false;
        for _ in 0..6 {
            if replica.get("/readyz", "").await.0 == 200 {
                ready_again = true;
                break;
            }
        }
        assert!(ready_again, "{} ready again", replica.base);
    }
    let (status, after, _) = send(&b, &ada_token, bob, "after the outage").await;
    assert_eq!(status, 201, "{after}");
    let expected = [
        before["message_id"].as_u64().unwrap(),
        after["message_id"].as_u64().unwrap(),
    ];
    for replica in [&a, &b] {
        assert_eq!(
            replica.thread_messages(&bob_token, thread).await,
            expected,
            "the refused sends left nothing behind"
        );
    }
}

/// A client whose first attempt seems slow sends the same request again through the other
/// replica while the first is still in flight: the store serializes the two, and the second
/// answers with the first's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_send_through_two_replicas_at_once_is_stored_once() {
    const SENDS: usize = 5;
    let backends = Backends::new("rep_duplicate");
    let replicas = backends.replicas(2, &rate(50));
    let (ada, ada_token) = replicas[0].member("ada", "free").await;
    let (bob, bob_token) = replicas[1].member("bob", "free").await;
    replicas[0].connect(ada, bob).await;
    let ada_token = &ada_token;
    let attempts = (0..SENDS).flat_map(|n| {
        let request = json!({
            "to": bob,
            "body": format!("Agenda item {n} for Monday"),
            "idempotency_key": format!("agenda-{n}"),
        });
        replicas.iter().map(move |replica| {
            let (request, token) = (request.clone(), ada_token.clone());
            async move {
                (
                    n,
                    send_to(&replica.client, &replica.base, &token, &request).await,
                )
            }
        })
    });
    let answers = join_all(attempts).await;
    let mut per_send: BTreeMap<usize, BTreeSet<u64>> = BTreeMap::new();
    let mut statuses: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    for (n, (status, body, _)) in &answers {
        // One attempt stores it (201), the other answers with it (200, `replayed`).
        assert_eq!(body["replayed"], *status == 200, "{status} {body}");
        statuses.entry(*n).or_default().push(*status);
        per_send
            .entry(*n)
            .or_default()
            .insert(body["message_id"].as_u64().unwrap());
    }
    for attempts in statuses.values_mut() {
        attempts.sort_unstable();
        assert_eq!(attempts, &[200, 201], "{answers:?}");
    }
    assert!(
        per_send.values().all(|ids| ids.len() == 1),
        "both attempts of a send answer with one message: {per_send:?}"
    );
    let acknowledged: BTreeSet<u64> = per_send.values().flatten().copied().collect();
    let threads = replicas[1].folder(&bob_token, "inbox").await;
    assert_eq!(threads.len(), 1, "{threads:?}");
    for replica in &replicas {
        assert_eq!(visible(replica, &bob_token, threads[0]).await, acknowledged);
    }
}

/// The sender's state on Redis as stored: its version and its JSON.
fn stored_state(keys: &RedisKeys, member: u64) -> (u64, Value) {
    let client = redis::Client::open("redis://127.0.0.1:6379/").unwrap();
    let mut connection = client.get_connection().unwrap();
    let (version, state): (Option<String>, Option<String>) = redis::cmd("HMGET")
        .arg(format!("{}{{sender:{member}}}:limits", keys.prefix))
        .arg("v")
        .arg("s")
        .query(&mut connection)
        .unwrap();
    (
        version.map_or(0, |v| v.parse().unwrap()),
        state.map_or(Value::Null, |s| serde_json::from_str(&s).unwrap()),
    )
}

/// A stranger's reply to outreach is noted on the outreach sender's state on Redis, once
/// (admission reads the recipient's reactions beside the replier's own state, and the write
/// notes the reply only when they answer outreach); a second reply notes nothing and leaves
/// that state as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reply_to_outreach_through_another_replica_is_noted_once_on_redis() {
    let backends = Backends::new("rep_reply_noted");
    let replicas = backends.replicas(2, "");
    let (a, b) = (&replicas[0], &replicas[1]);
    let (alice, alice_token) = a.member("alice", "free").await;
    let (bob, bob_token) = a.member("bob", "free").await;
    let (status, sent, _) = send(
        a,
        &alice_token,
        bob,
        "Hello Bob, I enjoyed your talk on bridge design last week and would like to ask \
         one question about the load tests you described.",
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_ne!(sent["decision"], "held", "{sent}");
    let outreach = |state: &Value| state["reactions"]["outreach"].clone();
    let (_, before) = stored_state(&backends.keys, alice);
    let entry = outreach(&before)[0].clone();
    assert_eq!(entry[0].as_u64(), Some(bob), "{before}");
    assert_eq!(entry[2].as_u64(), Some(0), "no reaction yet: {before}");

    let (status, reply, _) = send(b, &bob_token, alice, "Sure, ask away").await;
    assert_eq!(status, 201, "{reply}");
    let (noted_version, noted) = stored_state(&backends.keys, alice);
    assert_eq!(outreach(&noted)[0][2].as_u64(), Some(1), "replied: {noted}");

    let (status, again, _) = send(b, &bob_token, alice, "Any time this week works").await;
    assert_eq!(status, 201, "{again}");
    let (version, state) = stored_state(&backends.keys, alice);
    assert_eq!(
        (version, &state),
        (noted_version, &noted),
        "nothing more to note"
    );
}
