//! `sendguard serve` on the PostgreSQL store, over real HTTP: the member and review flows
//! (the same scenario on sled, so the backends answer alike), a restart, the database going
//! away and coming back, `migrate`, and `store import` from a sled store.

mod common;
mod store_common;

use std::sync::Arc;

use common::{error_of, run_cli, Server, ADMIN_TOKEN};
use serde_json::{json, Value};
use store_common::{Proxy, Schema};

const PHISHING: &str = "Your LinkedIn account will be suspended. Verify your account now at http://linkedln-security.com/verify";
const JUSTIFICATION: &str = "reviewing held item from the queue";

/// A schema with the migrations applied through the CLI.
fn migrated(test: &str) -> Schema {
    let schema = Schema::new(test);
    let (ok, out, err) = run_cli(&["migrate", "--url", &schema.url()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("applied migration 0001 initial"), "{out}");
    schema
}

/// Send, folder, thread, search and review: what a member and a reviewer see. Returns the
/// sender's token.
async fn member_and_review_scenario(server: &Server) -> String {
    let (ada, ada_token) = server.member("ada", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(ada, bob).await;
    let (status, sent) = server
        .send(&ada_token, bob, "Hello Bob, lunch on Thursday?")
        .await;
    assert_eq!(status, 201, "{sent}");
    let thread = sent["thread_id"].as_u64().unwrap();
    let first = sent["message_id"].as_u64().unwrap();
    assert_eq!(server.folder(&bob_token, "inbox").await, [thread]);
    let (status, reply) = server.send(&bob_token, ada, "Thursday works").await;
    assert_eq!(status, 201, "{reply}");
    let second = reply["message_id"].as_u64().unwrap();
    assert_eq!(
        server.thread_messages(&ada_token, thread).await,
        [first, second]
    );

    // Search: whole words, case-insensitive, newest first; the held message never matches.
    let (status, held) = server.send(&ada_token, bob, PHISHING).await;
    assert_eq!(status, 201, "{held}");
    assert_eq!(held["decision"], "held");
    let search = |q: &'static str| {
        let token = ada_token.clone();
        async move {
            let (status, body) = server.get(&format!("/v1/search?q={q}"), &token).await;
            assert_eq!(status, 200, "{body}");
            body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|hit| hit["message_id"].as_u64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("thursday").await, [second, first]);
    assert_eq!(search("LUNCH").await, [first]);
    assert!(search("suspended").await.is_empty(), "held: not shown");
    let (status, body) = server.get("/v1/search?q=", &ada_token).await;
    error_of(status, &body, 400, "invalid_field");

    // Review: the held message is queued, read with a justification, released.
    let (_, reviewer) = server.reviewer("Rita").await;
    let (status, queue) = server.get("/v1/review/queue?limit=10", &reviewer).await;
    assert_eq!(status, 200, "{queue}");
    let item = queue["items"][0]["item_id"].as_u64().unwrap();
    let (status, view) = server
        .get(
            &format!("/v1/review/items/{item}?justification={JUSTIFICATION}"),
            &reviewer,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["message"]["body"], PHISHING);
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &reviewer,
            json!({"label": "ham", "action": "release", "note": "checked"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let released = held["message_id"].as_u64().unwrap();
    assert_eq!(
        server.thread_messages(&bob_token, thread).await,
        [first, second, released]
    );
    let (_, queue) = server.get("/v1/review/queue?limit=10", &reviewer).await;
    assert!(queue["items"].as_array().unwrap().is_empty(), "{queue}");
    ada_token
}

/// How many hits a search for `q` finds.
async fn hits(server: &Server, token: &str, q: &str) -> usize {
    let (status, body) = server.get(&format!("/v1/search?q={q}"), token).await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().unwrap().len()
}

#[tokio::test]
async fn serve_on_postgres_sends_lists_searches_and_reviews() {
    let schema = migrated("serve_flow");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("unused"), Some(&schema.store_config()));
    let (status, ready) = server.get("/readyz", "").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["store_backend"], "postgres");
    let token = member_and_review_scenario(&server).await;
    // The full-text index holds whole words: a fragment finds nothing (the scan on sled
    // finds it, below). This is the documented difference between the backends.
    assert_eq!(hits(&server, &token, "thurs").await, 0);
}

#[tokio::test]
async fn the_same_scenario_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["store_backend"], "sled");
    let token = member_and_review_scenario(&server).await;
    assert_eq!(hits(&server, &token, "thurs").await, 2);
}

/// The folders (all three) that list `thread` for the member.
async fn folders_listing(server: &Server, token: &str, thread: u64) -> Vec<&'static str> {
    let mut listing = Vec::new();
    for folder in ["inbox", "other", "archived"] {
        if server.folder(token, folder).await.contains(&thread) {
            listing.push(folder);
        }
    }
    listing
}

/// A report hides the conversation for good: neither what the reported member sends later
/// (or recalls) nor a reviewer's release of the reported message brings it back or is
/// announced to the reporter; the reporter writing in it does bring it back.
async fn a_report_hides_the_thread_for_good(server: &Server) {
    let (ada, ada_token) = server.member("ada", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (carol, carol_token) = server.member("carol", "free").await;
    server.connect(ada, bob).await;
    server.connect(carol, bob).await;
    let (_, rita) = server.reviewer("Rita").await;
    let events = server.open_events(&bob_token).await;

    let (status, first) = server
        .send(
            &ada_token,
            bob,
            "Hello Bob, are you free for a call this week?",
        )
        .await;
    assert_eq!(status, 201, "{first}");
    let thread = first["thread_id"].as_u64().unwrap();
    let first_id = first["message_id"].as_u64().unwrap();
    assert_eq!(folders_listing(server, &bob_token, thread).await, ["inbox"]);
    let (status, body) = server
        .post(
            &format!("/v1/messages/{first_id}/report"),
            &bob_token,
            json!({"reason": "keeps pestering me"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert!(folders_listing(server, &bob_token, thread).await.is_empty());

    // The reported member writes again; a reviewer releases the reported message.
    let (status, again) = server
        .send(&ada_token, bob, "Bob, following up on my last message")
        .await;
    assert_eq!(status, 201, "{again}");
    assert_ne!(again["decision"], "held", "{again}");
    let again_id = again["message_id"].as_u64().unwrap();
    // A recall in the hidden thread is not announced either.
    let (status, recalled) = server
        .send(&ada_token, bob, "Bob, one more thing about that call")
        .await;
    assert_eq!(status, 201, "{recalled}");
    let recalled_id = recalled["message_id"].as_u64().unwrap();
    let (status, body) = server
        .delete(&format!("/v1/messages/{recalled_id}"), &ada_token)
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, queue) = server.get("/v1/review/queue?limit=10", &rita).await;
    let item = queue["items"][0]["item_id"].as_u64().unwrap();
    assert_eq!(queue["items"][0]["message_id"].as_u64(), Some(first_id));
    server.decide(&rita, item, "ham", "release").await;
    assert!(
        folders_listing(server, &bob_token, thread).await.is_empty(),
        "neither brings the thread back"
    );
    let (status, body) = server
        .get(&format!("/v1/threads/{thread}"), &bob_token)
        .await;
    error_of(status, &body, 404, "thread_not_found");
    assert_eq!(hits(server, &bob_token, "following").await, 0);

    // A message from someone else marks the point by which any announcement would have come.
    let (status, marker) = server.send(&carol_token, bob, "Lunch on Friday?").await;
    assert_eq!(status, 201, "{marker}");
    let wanted = format!("\"message_id\":{}", marker["message_id"]);
    let received = common::events_until(events, &wanted).await;
    assert!(received.contains("message.delivered"), "{received}");
    for hidden in [again_id, recalled_id] {
        assert!(
            !received.contains(&format!("\"message_id\":{hidden}")),
            "{received}"
        );
    }
    assert!(!received.contains("message.recalled"), "{received}");
    assert_eq!(
        received
            .matches(&format!("\"message_id\":{first_id}"))
            .count(),
        1,
        "the first message was announced once, when it arrived: {received}"
    );

    // Writing in the thread brings it back, with what arrived meanwhile.
    let (status, reply) = server.send(&bob_token, ada, "Please stop.").await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["thread_id"].as_u64(), Some(thread));
    assert_eq!(folders_listing(server, &bob_token, thread).await, ["inbox"]);
    assert_eq!(
        server.thread_messages(&bob_token, thread).await,
        [first_id, again_id, reply["message_id"].as_u64().unwrap()]
    );
    assert_eq!(hits(server, &bob_token, "following").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_hides_the_thread_for_good_on_postgres() {
    let schema = migrated("report_hides");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("unused"), Some(&schema.store_config()));
    a_report_hides_the_thread_for_good(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_hides_the_thread_for_good_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    a_report_hides_the_thread_for_good(&server).await;
}

#[tokio::test]
async fn a_killed_server_restarts_with_everything_acknowledged() {
    let schema = migrated("restart");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("unused");
    let config = schema.store_config();
    let server = Server::start(&data, Some(&config));
    let (ada, ada_token) = server.member("ada", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(ada, bob).await;
    let mut sent = Vec::new();
    for n in 0..5 {
        let (status, body) = server.send(&ada_token, bob, &format!("note {n}")).await;
        assert_eq!(status, 201, "{body}");
        sent.push(body["message_id"].as_u64().unwrap());
    }
    let thread = server.folder(&bob_token, "inbox").await;
    server.kill(); // SIGKILL: nothing but what was committed survives

    let server = Server::start(&data, Some(&config));
    assert_eq!(server.folder(&bob_token, "inbox").await, thread);
    assert_eq!(server.thread_messages(&bob_token, thread[0]).await, sent);
    let (status, body) = server.send(&bob_token, ada, "got them all").await;
    assert_eq!(status, 201, "{body}");
    let newest = body["message_id"].as_u64().unwrap();
    assert!(
        sent.iter().all(|&id| id < newest),
        "ids keep growing across restarts"
    );
}

#[test]
fn migrate_is_idempotent_and_serve_refuses_an_unmigrated_schema() {
    let schema = Schema::new("migrate");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sendguard.toml");
    std::fs::write(&config, schema.store_config()).unwrap();
    let config = config.to_str().unwrap();
    let (ok, _, err) = run_cli(&["serve", "--config", config, "--addr", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(err.contains("sendguard migrate"), "{err}");
    let (ok, out, err) = run_cli(&["migrate", "--config", config]);
    assert!(ok && out.contains("applied migration 0001"), "{out}{err}");
    let (ok, out, err) = run_cli(&["migrate", "--config", config]);
    assert!(ok && out.contains("no migration to apply"), "{out}{err}");
    let (ok, _, err) = run_cli(&["migrate"]);
    assert!(!ok && err.contains("--url"), "{err}");
}

#[tokio::test]
async fn store_import_copies_a_sled_store_and_verifies_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, None);
    let (ada, ada_token) = server.member("ada", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(ada, bob).await;
    let mut sent = Vec::new();
    for body in ["first", "second", PHISHING] {
        let (status, reply) = server.send(&ada_token, bob, body).await;
        assert_eq!(status, 201, "{reply}");
        sent.push(reply["message_id"].as_u64().unwrap());
    }
    let inbox = server.folder(&bob_token, "inbox").await;
    let (_, reviewer) = server.reviewer("Rita").await;
    let report_on_sled = report_and_rescore(&server, &reviewer).await;
    assert!(server.terminate().success());

    let schema = Schema::new("import");
    let url = schema.url();
    let from = data.to_str().unwrap();
    let (ok, out, err) = run_cli(&["store", "import", "--from", from, "--to", &url]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("import verified"), "{out}");
    let messages = out
        .lines()
        .find(|line| line.starts_with("messages "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        messages.split_whitespace().collect::<Vec<_>>(),
        ["messages", "3", "3"]
    );
    assert!(out.contains("checksums: "), "{out}");
    // A second import into the same (now full) schema is refused, the copy untouched.
    let (ok, _, err) = run_cli(&["store", "import", "--from", from, "--to", &url]);
    assert!(!ok && err.contains("not empty"), "{err}");

    let server = Server::start(&dir.path().join("unused"), Some(&schema.store_config()));
    assert_eq!(
        server.folder(&bob_token, "inbox").await,
        inbox,
        "tokens and folders copied"
    );
    assert_eq!(
        server.thread_messages(&ada_token, inbox[0]).await,
        sent,
        "the sender sees all three, the held one included"
    );
    assert_eq!(
        report_and_rescore(&server, &reviewer).await,
        report_on_sled,
        "the report and a dry-run rescore of the copy equal the original's"
    );
    let (status, reply) = server.send(&bob_token, ada, "after the move").await;
    assert_eq!(status, 201, "{reply}");
    let newest = reply["message_id"].as_u64().unwrap();
    assert!(
        sent.iter().all(|&id| id < newest),
        "no id reused after the import"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_postgres_the_server_answers_503_and_recovers_with_nothing_lost() {
    let schema = migrated("outage");
    let proxy = Proxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[store]\nbackend = \"postgres\"\nurl = \"{}\"\npool_size = 2\ntimeout_ms = 3000\nretry_after_secs = 7\n",
        proxy.url(&schema)
    );
    let server = Server::start(&dir.path().join("unused"), Some(&config));
    let (ada, ada_token) = server.member("ada", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(ada, bob).await;
    let (status, _, before) = server
        .send_with_retry_after(&ada_token, bob, "before")
        .await;
    assert_eq!(status, 201, "{before}");
    let thread = before["thread_id"].as_u64().unwrap();

    proxy.cut();
    let (status, retry, body) = server
        .send_with_retry_after(&ada_token, bob, "during")
        .await;
    error_of(status, &body, 503, "store_unavailable");
    assert_eq!(retry.as_deref(), Some("7"));
    let response = server
        .client
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap(),
        "7"
    );
    let ready: Value = response.json().await.unwrap();
    assert_eq!(
        (ready["store"].clone(), ready["store_backend"].clone()),
        (json!(false), json!("postgres"))
    );

    proxy.restore().await;
    // Each pooled connection the cut closed fails at most once before a new one is made.
    let mut ready_again = false;
    for _ in 0..6 {
        let (status, _) = server.get("/readyz", "").await;
        if status == 200 {
            ready_again = true;
            break;
        }
    }
    assert!(ready_again, "ready again once the database is back");
    let (status, _, after) = server.send_with_retry_after(&ada_token, bob, "after").await;
    assert_eq!(status, 201, "{after}");
    let ids = server.thread_messages(&bob_token, thread).await;
    assert_eq!(
        ids,
        [
            before["message_id"].as_u64().unwrap(),
            after["message_id"].as_u64().unwrap()
        ],
        "the refused send left nothing behind"
    );
}

/// The JSON report (its clock-dependent fields blanked) and a dry-run rescore's diff.
async fn report_and_rescore(server: &Server, reviewer: &str) -> (Value, Value) {
    let (status, mut report) = server.get("/v1/review/report?format=json", reviewer).await;
    assert_eq!(status, 200, "{report}");
    report["period"]["generated_at_ms"] = Value::Null;
    report["review"]["oldest_open_age_ms"] = Value::Null;
    let (status, started) = server
        .post("/v1/admin/rescore", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 202, "{started}");
    let job = started["job_id"].as_u64().unwrap();
    // Polls until the job is done (bounded; each poll is a request round trip).
    for _ in 0..10_000 {
        let (status, body) = server
            .get(&format!("/v1/admin/rescore/{job}"), ADMIN_TOKEN)
            .await;
        assert_eq!(status, 200, "{body}");
        if body["status"] != "running" {
            assert_eq!(body["status"], "done", "{body}");
            assert_eq!(body["processed"], 3, "{body}");
            return (report, body["report"]["diff"].clone());
        }
        tokio::task::yield_now().await;
    }
    panic!("rescore job {job} did not finish");
}

/// Concurrent sends through a small pool: writes wait for each other (none holds a pooled
/// connection while it waits), every send is acknowledged once and stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_through_a_small_pool_are_each_stored_once() {
    let schema = migrated("concurrent");
    let dir = tempfile::tempdir().unwrap();
    let config = schema
        .store_config()
        .replace("pool_size = 4", "pool_size = 2");
    let server = Arc::new(Server::start(&dir.path().join("unused"), Some(&config)));
    let (rita, rita_token) = server.member("rita", "free").await;
    let mut senders = Vec::new();
    for n in 0..4 {
        let (id, token) = server.member(&format!("sender{n}"), "free").await;
        server.connect(id, rita).await;
        senders.push(token);
    }
    let mut sends = Vec::new();
    for round in 0..5 {
        for token in &senders {
            let (server, token) = (Arc::clone(&server), token.clone());
            sends.push(tokio::spawn(async move {
                let (status, body) = server.send(&token, rita, &format!("update {round}")).await;
                assert_eq!(status, 201, "{body}");
                body["message_id"].as_u64().unwrap()
            }));
        }
    }
    let mut acknowledged = Vec::new();
    for send in sends {
        acknowledged.push(send.await.unwrap());
    }
    let mut stored = Vec::new();
    for thread in server.folder(&rita_token, "inbox").await {
        stored.extend(server.thread_messages(&rita_token, thread).await);
    }
    acknowledged.sort_unstable();
    stored.sort_unstable();
    assert_eq!(acknowledged.len(), 20);
    assert_eq!(stored, acknowledged);
}

/// A send's transaction dropped while open (its request went away between the opening and
/// the commit) must not go back to the pool still inside the transaction: its connection
/// is closed, so PostgreSQL rolls it back and releases the two members' locks. If it were
/// pooled instead, the other store's send between the same members would wait for those
/// locks until its timeout (503), and the first store's next sends would run inside the
/// abandoned transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_transaction_dropped_while_open_releases_its_members() {
    let schema = Schema::new("dropped_send_transaction");
    sendguard::Store::migrate_postgres(&schema.settings()).unwrap();
    let first = sendguard::Store::open_postgres(&schema.settings()).unwrap();
    let mut impatient = schema.settings();
    impatient.timeout = std::time::Duration::from_secs(3);
    let second = sendguard::Store::open_postgres(&impatient).unwrap();

    // Opened: the members are locked, the context read in the transaction.
    let open = first.open_send(7, 8, None, true).await.unwrap();
    drop(open);

    let other_replica = second.open_send(8, 7, None, true).await;
    assert!(
        other_replica.is_ok(),
        "the dropped transaction's locks were released: {:?}",
        other_replica.as_ref().err()
    );
    other_replica.unwrap().abandon();
    // Every connection of the first store's pool (4) opens a fresh transaction.
    for _ in 0..4 {
        first.open_send(7, 8, None, true).await.unwrap().abandon();
    }
}

/// A counter of the server's `/metrics` (0 before its first increment).
async fn counter(server: &Server, name: &str) -> f64 {
    let text = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The PostgreSQL round trips and statements the server counted so far.
async fn pg_work(server: &Server) -> (f64, f64) {
    (
        counter(server, "sendguard_pg_round_trips_total").await,
        counter(server, "sendguard_pg_statements_total").await,
    )
}

/// A reply in an existing thread costs the database three round trips and six statements:
/// the token lookup; the transaction's opening (`BEGIN`, then the locks with the ids) with
/// the whole context in one statement (the database follows the pair record to its thread
/// there, where a second round trip waited for the thread's id); the writes of every table
/// in one statement with the `COMMIT`. And the reply lands where the context says: the
/// same thread, both views moved.
#[tokio::test]
async fn a_reply_costs_three_round_trips_and_six_statements() {
    let schema = migrated("reply_cost");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("unused"), Some(&schema.store_config()));
    let (ada, ada_token) = server.member("ada", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(ada, bob).await;
    let (status, first) = server.send(&ada_token, bob, "Hello Bob").await;
    assert_eq!(status, 201, "{first}");
    let thread = first["thread_id"].as_u64().unwrap();
    // Back and forth (a statement prepared for the first time on a connection costs a
    // round trip more, not counted; young accounts may send five a minute).
    for n in 0..2 {
        let (status, body) = server.send(&bob_token, ada, &format!("back {n}")).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = server.send(&ada_token, bob, &format!("forth {n}")).await;
        assert_eq!(status, 201, "{body}");
    }
    // What reading /metrics costs by itself, then what one reply adds to it.
    let before = pg_work(&server).await;
    let idle = pg_work(&server).await;
    let (status, reply) = server.send(&bob_token, ada, "Thursday works").await;
    let after = pg_work(&server).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["thread_id"].as_u64(), Some(thread));
    let metrics_alone = (idle.0 - before.0, idle.1 - before.1);
    let reply_cost = (
        after.0 - idle.0 - metrics_alone.0,
        after.1 - idle.1 - metrics_alone.1,
    );
    assert_eq!(reply_cost, (3.0, 6.0), "(round trips, statements)");

    let reply_id = reply["message_id"].as_u64().unwrap();
    assert_eq!(
        server.thread_messages(&ada_token, thread).await.last(),
        Some(&reply_id)
    );
    assert_eq!(server.folder(&ada_token, "inbox").await, [thread]);
    assert_eq!(server.folder(&bob_token, "inbox").await, [thread]);
}
