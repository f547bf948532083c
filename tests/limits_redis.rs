//! `[limits] backend = "redis"`: two `sendguard serve` replicas share one sender's limits
//! through the real Redis (127.0.0.1:6379; `scripts/start-services` starts it). Each replica
//! has its own sled store here (the shared store is the PostgreSQL backend's part), with the
//! same members created in the same order so ids agree. Every test uses its own key prefix
//! and deletes its keys when done.

mod common;
mod replicas_common;

use std::net::TcpListener;

use common::{introductions, Server, ADMIN_TOKEN};
use futures_util::future::join_all;
use replicas_common::{connect_everywhere, member_everywhere, RedisKeys};
use serde_json::{json, Value};

/// A Redis-backed config: `extra` is appended after `[limits.redis]` (its keys first, then
/// more `[limits]` tables). The generous deadline keeps a loaded test machine from being
/// taken for an unreachable Redis (which would let sends through unlimited).
fn config(prefix: &str, extra: &str) -> String {
    format!(
        "[server]\n[limits]\nbackend = \"redis\"\n[limits.redis]\nkey_prefix = \"{prefix}\"\ntimeout_ms = 10000\n{extra}"
    )
}

/// The same rate for every account age (a skewed replica could otherwise make an account
/// look younger than it is).
fn rate(per_minute: u32) -> String {
    format!(
        "[limits.rate]\nper_minute = {per_minute}\nminute_burst = {per_minute}\nper_hour = 1000\nper_day = 1000\n\
         [limits.young_rate]\nper_minute = {per_minute}\nminute_burst = {per_minute}\nper_hour = 1000\nper_day = 1000\n"
    )
}

fn with_skew(config: &str, skew_ms: i64) -> String {
    config.replacen(
        "[server]\n",
        &format!("[server]\nclock_skew_ms = {skew_ms}\n"),
        1,
    )
}

/// Sends and returns (status, body, Retry-After header).
async fn send(server: &Server, token: &str, to: u64, body: &str) -> (u16, Value, Option<u64>) {
    let (status, retry_after, body) = server.send_with_retry_after(token, to, body).await;
    (status, body, retry_after.map(|v| v.parse().unwrap()))
}

fn start_pair(dir: &std::path::Path, config_a: &str, config_b: &str) -> (Server, Server) {
    (
        Server::start(&dir.join("a"), Some(config_a)),
        Server::start(&dir.join("b"), Some(config_b)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_sends_over_two_replicas_get_exactly_the_allowed_number_through() {
    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&keys.prefix, &rate(5));
    let (a, b) = start_pair(dir.path(), &config, &config);
    let replicas = [&a, &b];
    let alice = member_everywhere(&replicas, "alice").await;
    let bob = member_everywhere(&replicas, "bob").await;
    connect_everywhere(&replicas, alice.id, bob.id).await;

    let sends = (0..20).map(|i| {
        let (server, token) = if i % 2 == 0 {
            (&a, &alice.tokens[0])
        } else {
            (&b, &alice.tokens[1])
        };
        let body = format!("Following up on the design review, note number {i}");
        async move { send(server, token, bob.id, &body).await }
    });
    let answers = join_all(sends).await;
    let accepted = answers
        .iter()
        .filter(|(status, _, _)| *status == 201)
        .count();
    let limited: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == 429)
        .collect();
    assert_eq!(
        accepted, 5,
        "exactly the burst of 5 goes through: {answers:?}"
    );
    assert_eq!(limited.len(), 15, "{answers:?}");
    for (_, body, retry_after) in &limited {
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)), "{body}");
    }
    // Both replicas took part, and each stored only what it acknowledged.
    let per_replica = |parity: usize| {
        answers
            .iter()
            .enumerate()
            .filter(|(i, (status, _, _))| i % 2 == parity && *status == 201)
            .count()
    };
    assert_eq!(per_replica(0) + per_replica(1), 5);

    // One key for the sender, with an expiry (memory stays bounded).
    let sender_key = format!("{}{{sender:{}}}:limits", keys.prefix, alice.id);
    assert!(keys.keys().contains(&sender_key), "{:?}", keys.keys());
    let ttl = keys.pttl(&sender_key);
    assert!(ttl > 0, "the sender's key expires: pttl {ttl}");
}

/// Alternates `a` and `b` (starting with `b`) for `sends` sends; returns how many got
/// through and the longest Retry-After.
async fn alternate(a: &Server, b: &Server, sends: usize) -> (usize, u64) {
    let replicas = [a, b];
    let alice = member_everywhere(&replicas, "alice").await;
    let bob = member_everywhere(&replicas, "bob").await;
    connect_everywhere(&replicas, alice.id, bob.id).await;
    let mut accepted = 0;
    let mut longest_wait = 0;
    for i in 0..sends {
        let which = (i + 1) % 2;
        let (status, body, retry_after) = send(
            replicas[which],
            &alice.tokens[which],
            bob.id,
            &format!("Status update number {i} on the quarterly planning"),
        )
        .await;
        match status {
            201 => accepted += 1,
            429 => longest_wait = longest_wait.max(retry_after.unwrap()),
            _ => panic!("{status} {body}"),
        }
    }
    (accepted, longest_wait)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_with_skewed_clocks_keep_the_limit_on_redis_time() {
    const HALF_HOUR_MS: i64 = 30 * 60 * 1000;
    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let base = config(&keys.prefix, &rate(3));
    let (a, b) = start_pair(
        dir.path(),
        &with_skew(&base, HALF_HOUR_MS),
        &with_skew(&base, -HALF_HOUR_MS),
    );
    let (accepted, longest_wait) = alternate(&a, &b, 10).await;
    assert_eq!(
        accepted, 3,
        "the burst of 3, whatever the replicas' clocks say"
    );
    assert!(
        longest_wait <= 60,
        "waits are measured on one clock: {longest_wait}s"
    );
}

/// The counter-test: with the replicas' own (skewed) clocks the same sends break the limit
/// or get an hour's wait, which is why the default clock is Redis's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn skewed_local_clocks_would_break_the_limit() {
    const HALF_HOUR_MS: i64 = 30 * 60 * 1000;
    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let base = config(&keys.prefix, &format!("clock = \"local\"\n{}", rate(3)));
    let (a, b) = start_pair(
        dir.path(),
        &with_skew(&base, HALF_HOUR_MS),
        &with_skew(&base, -HALF_HOUR_MS),
    );
    let (accepted, longest_wait) = alternate(&a, &b, 10).await;
    assert!(
        accepted > 3 || longest_wait > 60,
        "local clocks half an hour apart: {accepted} accepted, longest wait {longest_wait}s"
    );
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn unreachable_config(when: &str) -> String {
    format!(
        "[limits]\nbackend = \"redis\"\nwhen_unreachable = \"{when}\"\n[limits.redis]\nurl = \"redis://127.0.0.1:{}/\"\ntimeout_ms = 200\nretry_after_secs = 3\n",
        closed_port()
    )
}

/// (status, code, Retry-After) of a reply to a connection and of a first message to a
/// stranger, on a replica whose Redis is unreachable.
async fn unreachable_answers(when: &str) -> [(u16, String, Option<u64>); 2] {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(&unreachable_config(when)));
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, _) = server.member("bob", "free").await;
    let (carol, _) = server.member("carol", "free").await;
    server.connect(alice, bob).await;
    let _ = alice;
    let mut answers = Vec::new();
    for to in [bob, carol] {
        let (status, body, retry_after) = send(
            &server,
            &alice_token,
            to,
            "Are we still on for the review at noon?",
        )
        .await;
        let code = body["error"]["code"].as_str().unwrap_or("").to_string();
        answers.push((status, code, retry_after));
    }
    // Readiness names the backend that is down.
    let response = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let ready: Value = response.json().await.unwrap();
    assert_eq!(ready["redis"], false, "{ready}");
    assert_eq!(ready["ready"], false, "{ready}");
    answers.try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_redis_refuses_first_contacts_and_lets_connections_through_by_default() {
    let [to_connection, to_stranger] = unreachable_answers("refuse_new_conversations").await;
    assert_eq!(to_connection.0, 201, "{to_connection:?}");
    assert_eq!(
        to_stranger,
        (503, "limits_unavailable".to_string(), Some(3)),
        "a first message to a non-connection waits for the limiter"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_redis_refuses_every_send_or_none_as_configured() {
    let refuse_all = unreachable_answers("refuse_all").await;
    for answer in &refuse_all {
        assert_eq!(answer.0, 503, "{refuse_all:?}");
        assert_eq!(answer.1, "limits_unavailable");
    }
    let allow_all = unreachable_answers("allow_all").await;
    for answer in &allow_all {
        assert_eq!(answer.0, 201, "{allow_all:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_reports_redis_when_configured_and_not_otherwise() {
    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let shared = Server::start(&dir.path().join("shared"), Some(&config(&keys.prefix, "")));
    let (status, ready) = shared.get("/readyz", ADMIN_TOKEN).await;
    assert_eq!((status, &ready["redis"]), (200, &json!(true)), "{ready}");
    let embedded = Server::start(&dir.path().join("embedded"), None);
    let (status, ready) = embedded.get("/readyz", ADMIN_TOKEN).await;
    assert_eq!(status, 200);
    assert!(ready.get("redis").is_none(), "{ready}");
}

/// The sender's state as stored on Redis.
fn ledger(keys: &RedisKeys, sender: u64) -> Value {
    let client = redis::Client::open(format!("redis://{}/", replicas_common::REDIS_ADDR)).unwrap();
    let mut connection = client.get_connection().unwrap();
    let json: String = redis::cmd("HGET")
        .arg(format!("{}{{sender:{sender}}}:limits", keys.prefix))
        .arg("s")
        .query(&mut connection)
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

/// A reviewer removes `message`'s open review item as spam.
async fn remove_as_spam(server: &Server, reviewer: &str, message: u64) {
    let (status, queue) = server.get("/v1/review/queue?limit=10", reviewer).await;
    assert_eq!(status, 200, "{queue}");
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["message_id"].as_u64() == Some(message))
        .map(|i| i["item_id"].as_u64().unwrap())
        .expect("the message is queued");
    server.decide(reviewer, item, "spam", "remove").await;
}

/// The points of a sender's strikes on a Redis ledger.
fn strike_points(state: &Value) -> u64 {
    state["strikes"]["strikes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["weight"].as_u64().unwrap())
        .sum()
}

/// A removal strikes on the Redis ledger; its appeal, overturned, takes the strike back
/// there too (the embedded store's ledger is not the one that counts on this backend).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_overturned_removal_takes_its_strike_off_the_redis_ledger() {
    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let a = Server::start(&dir.path().join("a"), Some(&config(&keys.prefix, "")));
    let replicas = [&a];
    let alice = member_everywhere(&replicas, "alice").await;
    let bob = member_everywhere(&replicas, "bob").await;
    let phishing = "Your LinkedIn account will be suspended. Verify your account now at \
                    http://linkedln-security.com/verify";
    let (status, sent, _) = send(&a, &alice.tokens[0], bob.id, phishing).await;
    assert_eq!(
        (status, sent["decision"].as_str()),
        (201, Some("held")),
        "{sent}"
    );
    let message = sent["message_id"].as_u64().unwrap();
    let (_, reviewer) = a.reviewer("Rita").await;
    remove_as_spam(&a, &reviewer, message).await;
    let struck = strike_points(&ledger(&keys, alice.id));
    assert!(
        struck >= 2,
        "the removal's strike is on the ledger: {struck}"
    );

    let (status, appeal) = a
        .post(
            "/v1/appeals",
            &alice.tokens[0],
            json!({"message_id": message, "reason": "a real notice from our IT team"}),
        )
        .await;
    assert_eq!(status, 201, "{appeal}");
    let appeal = appeal["appeal_id"].as_u64().unwrap();
    let (status, body) = a
        .post(
            &format!("/v1/review/appeals/{appeal}/decision"),
            &reviewer,
            json!({"outcome": "overturned", "note": "confirmed with the sender's IT team"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        strike_points(&ledger(&keys, alice.id)),
        struck - 2,
        "the removal's two points are withdrawn"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reviewers_strike_adds_to_the_fan_out_strikes_on_redis_and_a_lift_clears_them() {
    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let a = Server::start(
        &dir.path().join("a"),
        Some(&config(&keys.prefix, &rate(50))),
    );
    let replicas = [&a];
    let text = "Hello there, our agency places senior engineers at leading startups in your \
                area; reply with your resume and we will match you with roles this week";
    let bot = member_everywhere(&replicas, "bot").await;
    let mut held = None;
    for i in 0..5 {
        let to = member_everywhere(&replicas, &format!("to_{i}")).await;
        let (status, body, _) = send(&a, &bot.tokens[0], to.id, text).await;
        assert_eq!(status, 201, "{body}");
        if body["decision"] == "held" {
            held = body["message_id"].as_u64();
        }
    }
    let held = held.expect("the fifth copy is a fan-out hold");
    // The held copy strikes once for fan-out and once for the template (the template
    // history is on the Redis ledger too), as on the embedded limiter.
    assert_eq!(
        strike_points(&ledger(&keys, bot.id)),
        2,
        "the fan-out and template strikes"
    );

    // A reviewer removes the held copy: 2 more points on the same ledger reach 4, past the
    // new-conversations restriction at 3 (the store's ledger alone would have had 2).
    let (_, reviewer) = a.reviewer("Rita").await;
    remove_as_spam(&a, &reviewer, held).await;
    let state = ledger(&keys, bot.id);
    assert_eq!(strike_points(&state), 4, "{state}");
    assert_eq!(
        state["strikes"]["restriction"]["level"],
        "new_conversations"
    );
    let stranger = member_everywhere(&replicas, "stranger").await;
    let (status, body, _) = send(&a, &bot.tokens[0], stranger.id, "A different note").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("sender_restricted"))
    );

    // The reviewer lifts it: the Redis ledger is cleared with the member record.
    let (status, body) = a
        .post(
            &format!("/v1/review/members/{}/lift-restriction", bot.id),
            &reviewer,
            json!({"note": "appeal upheld on a call"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let state = ledger(&keys, bot.id);
    assert!(state["strikes"]["restriction"].is_null(), "{state}");
    assert_eq!(strike_points(&state), 0, "{state}");
    let (status, body, _) = send(
        &a,
        &bot.tokens[0],
        stranger.id,
        "Thanks for the call earlier, notes attached",
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// `[limits.redis] clock = "local"` takes "now" from the `App`'s clock, so the library's
/// virtual clock drives the shared limiter exactly, as it drives the embedded one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_virtual_clock_drives_the_redis_limiter_with_the_local_clock_source() {
    use sendguard::app::{NewMember, SendRequest};
    use sendguard::clock::ManualClock;
    use sendguard::config::Config;
    use sendguard::domain::Plan;
    use sendguard::limits::config::{RateConfig, RedisLimitsConfig};
    use sendguard::limits::{LimitsBackend, LimitsClock, LimitsConfig};
    use sendguard::{App, Engine, Store};
    use std::sync::Arc;

    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let rate = RateConfig {
        per_minute: 2,
        minute_burst: 2,
        per_hour: 1000,
        per_day: 1000,
    };
    let config = Config {
        limits: LimitsConfig {
            backend: LimitsBackend::Redis,
            rate: rate.clone(),
            young_rate: rate,
            redis: RedisLimitsConfig {
                key_prefix: keys.prefix.clone(),
                clock: LimitsClock::Local,
                timeout_ms: 10_000,
                ..RedisLimitsConfig::default()
            },
            ..LimitsConfig::default()
        },
        ..Config::default()
    };
    let clock = Arc::new(ManualClock::at(1_800_000_000_000));
    let app = App::new(
        Store::open(dir.path()).unwrap(),
        Engine::default(),
        &config,
        clock.clone(),
    )
    .with_backends(&config)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for handle in ["alice", "bob"] {
        let created = app
            .create_member(NewMember {
                handle: handle.into(),
                display_name: None,
                plan: Plan::Free,
            })
            .await
            .unwrap();
        ids.push(created.member_id);
    }
    let (alice, bob) = (ids[0], ids[1]);
    let send = || app.send(alice, SendRequest::text(bob, "hello again"));
    send().await.unwrap();
    send().await.unwrap();
    let refused = send().await.unwrap_err();
    assert_eq!(refused.code, "rate_limited");
    assert_eq!(refused.retry_after_secs, Some(30));
    clock.advance_ms(29_999);
    assert_eq!(send().await.unwrap_err().code, "rate_limited");
    clock.advance_ms(1);
    send().await.unwrap();
    assert_eq!(keys.keys().len(), 1, "one key for the one sender");
}

/// The outreach record (recipients of first messages and their reactions, template
/// signatures) lives in the sender's state on Redis with this backend: a sender whose
/// unremarkable first messages to strangers go unanswered and get blocked is held on poor
/// reactions, exactly as on the embedded limiter (`tests/outreach_reactions.rs`). Before the
/// record was kept on Redis, the signal could never fire here.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poor_reactions_to_outreach_hold_the_sender_on_redis_too() {
    let keys = RedisKeys::new();
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        &keys.prefix,
        "[limits.rate]\nper_minute = 60\nminute_burst = 60\n",
    )
    .replace("[limits]\n", "[limits]\nyoung_account_age_days = 0\n");
    let server = Server::start(&dir.path().join("a"), Some(&config));
    let (sender_member, sender) = server.member("outreach", "free").await;
    let mut recipients = Vec::new();
    for i in 0..10 {
        recipients.push(server.member(&format!("stranger{i}"), "free").await);
    }
    for (i, text) in introductions().iter().enumerate() {
        let (status, sent, _) = send(&server, &sender, recipients[i].0, text).await;
        assert_eq!(status, 201, "{sent}");
        assert_ne!(sent["decision"], "held", "{sent}");
    }
    let state_key = format!("{}{{sender:{sender_member}}}:limits", keys.prefix);
    assert!(
        keys.keys().contains(&state_key),
        "the sender's state is on Redis: {:?}",
        keys.keys()
    );
    // Two of the eight recipients block the sender: 2 of 8 is over 20%, nobody answered.
    for recipient in &recipients[..2] {
        let (status, body) = server
            .post(
                "/v1/blocks",
                &recipient.1,
                json!({"member_id": sender_member}),
            )
            .await;
        assert!(status == 200 || status == 204, "{status} {body}");
    }
    let text = "Good afternoon, I am reaching out about topic number 9 of my consulting practice \
                and hope a short introduction is welcome; no pressure to reply at all.";
    let (status, sent, _) = send(&server, &sender, recipients[9].0, text).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "held", "{sent}");
    let on_reactions = sent["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|reason| reason["source"] == "limit" && reason["id"] == "poor_reactions");
    assert!(on_reactions, "{sent}");
    assert!(sent["reasons"].to_string().contains("2 blocked"), "{sent}");
}
