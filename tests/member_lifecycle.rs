//! Issue 24, a member's data lifecycle, over the real binary and the real PostgreSQL:
//! erasure (admin route and CLI, resumable, idempotent, audited, with a scan of the store's
//! files and rows for the erased member's text), the streamed export, and key rotation.

mod common;
mod store_common;

use std::path::Path;

use common::{error_of, run_cli, Server, ADMIN_TOKEN};
use serde_json::{json, Value};
use store_common::Schema;

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// Text no other test and no shipped file contains: the erased member's words.
fn marker(name: &str) -> String {
    format!("{name}q{:016x}z", rand::random::<u64>())
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else {
            let bytes = std::fs::read(&path).unwrap();
            if bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Alice writes to Bob (delivered) and to Carol (held, then removed by a reviewer), and
/// appeals the removal; every text of hers carries `mark`. Returns the ids.
struct Scenario {
    alice: u64,
    alice_token: String,
    bob: u64,
    bob_token: String,
    carol: u64,
    reviewer: String,
    thread: u64,
    delivered: u64,
    reply: u64,
}

async fn scenario(server: &Server, mark: &str) -> Scenario {
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (carol, _) = server.member("carol", "free").await;
    server.connect(alice, bob).await;
    let (status, sent) = server
        .send(&alice_token, bob, &format!("Lunch on Thursday? {mark}"))
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "inbox", "{sent}");
    let (status, reply) = server.send(&bob_token, alice, "Thursday works").await;
    assert_eq!(status, 201, "{reply}");
    let (status, held) = server
        .send(&alice_token, carol, &format!("{GTUBE} {mark}"))
        .await;
    assert_eq!(status, 201, "{held}");
    assert_eq!(held["decision"], "held", "{held}");
    let (_, reviewer) = server.reviewer("Rita").await;
    let (status, queue) = server.get("/v1/review/queue?limit=10", &reviewer).await;
    assert_eq!(status, 200, "{queue}");
    let item = queue["items"][0]["item_id"].as_u64().unwrap();
    let (status, view) = server
        .get(
            &format!("/v1/review/items/{item}?justification=queue%20review"),
            &reviewer,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &reviewer,
            json!({"label": "spam", "action": "remove", "note": "test pattern"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, appeal) = server
        .post(
            "/v1/appeals",
            &alice_token,
            json!({"message_id": held["message_id"], "reason": format!("it was mine {mark}")}),
        )
        .await;
    assert_eq!(status, 201, "{appeal}");
    Scenario {
        alice,
        alice_token,
        bob,
        bob_token,
        carol,
        reviewer,
        thread: sent["thread_id"].as_u64().unwrap(),
        delivered: sent["message_id"].as_u64().unwrap(),
        reply: reply["message_id"].as_u64().unwrap(),
    }
}

/// After Alice's erasure: her token is refused, Bob's thread shows her message removed
/// (no text) next to his intact reply, and the audit log names her only by pseudonym.
async fn assert_erased(server: &Server, s: &Scenario, pseudonym: u64) {
    let (status, body) = server.get("/v1/folders/inbox", &s.alice_token).await;
    error_of(status, &body, 401, "unauthorized");
    let (status, thread) = server
        .get(&format!("/v1/threads/{}", s.thread), &s.bob_token)
        .await;
    assert_eq!(status, 200, "{thread}");
    let messages = thread["messages"].as_array().unwrap();
    let theirs = messages
        .iter()
        .find(|m| m["message_id"] == s.delivered)
        .expect("the erased member's message stays in the thread, as removed");
    assert_eq!(theirs["text_removed"], true, "{theirs}");
    assert_eq!(theirs["body"], "", "{theirs}");
    let mine = messages
        .iter()
        .find(|m| m["message_id"] == s.reply)
        .unwrap();
    assert_eq!(mine["body"], "Thursday works");
    assert_eq!(mine["text_removed"], false);
    let (status, audit) = server.get("/v1/review/audit", &s.reviewer).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    assert!(
        entries.iter().all(|e| e["member_id"] != s.alice),
        "no audit entry names the erased id: {audit}"
    );
    let erased = entries
        .iter()
        .find(|e| e["action"] == "erase_member")
        .expect("the erasure is audited");
    assert_eq!(erased["member_id"], pseudonym, "{erased}");
    assert!(
        entries
            .iter()
            .filter(|e| e["member_id"] == pseudonym && e["action"] != "erase_member")
            .all(|e| e["why"].is_null()),
        "pseudonymized entries keep no text: {audit}"
    );
}

#[tokio::test]
async fn erasure_on_sled_resumes_is_idempotent_and_leaves_no_byte_of_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mark = marker("sled");
    let server = Server::start(&data, None);
    let s = scenario(&server, &mark).await;
    assert!(server.terminate().success());
    // The control: the scan finds the text while it is stored.
    assert!(
        !files_containing(&data, &mark).is_empty(),
        "the marker is in the store files before the erasure"
    );

    // The CLI, stopped after one write (the record, tokens, profile), then resumed.
    let alice = s.alice.to_string();
    let data_arg = data.to_str().unwrap();
    let (ok, out, err) = run_cli(&[
        "member",
        "erase",
        "--data",
        data_arg,
        "--member",
        &alice,
        "--max-steps",
        "1",
    ]);
    assert!(ok, "{out}{err}");
    let paused: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(paused["status"], "in_progress", "{paused}");
    assert!(paused["erasure"]["completed_at"].is_null());
    assert_eq!(paused["erasure"]["counts"]["tokens_deleted"], 1);
    assert_eq!(paused["erasure"]["counts"]["messages_redacted"], 0);
    let (ok, out, err) = run_cli(&["member", "erase", "--data", data_arg, "--member", &alice]);
    assert!(ok, "{out}{err}");
    assert!(err.contains("compacted"), "{err}");
    let done: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    let counts = &done["erasure"]["counts"];
    assert_eq!(counts["tokens_deleted"], 1, "{done}");
    assert_eq!(counts["messages_redacted"], 2, "{done}");
    assert_eq!(counts["appeals_deleted"], 1, "{done}");
    assert_eq!(counts["labels_deleted"], 1, "{done}");
    assert!(counts["review_items_pseudonymized"].as_u64().unwrap() >= 1);
    assert!(counts["audit_entries_pseudonymized"].as_u64().unwrap() >= 1);
    let pseudonym = done["erasure"]["pseudonym"].as_u64().unwrap();
    assert_eq!(pseudonym, paused["erasure"]["pseudonym"].as_u64().unwrap());
    assert_ne!(pseudonym, s.alice);

    assert_eq!(
        files_containing(&data, &mark),
        Vec::<String>::new(),
        "no byte of the erased text is left in the store files"
    );
    assert!(
        !files_containing(&data, "Thursday works").is_empty(),
        "the other side's text is still there"
    );

    let server = Server::start(&data, None);
    assert_erased(&server, &s, pseudonym).await;
    // Asking again changes nothing and answers with the same record.
    let path = format!("/v1/admin/members/{}/erasure", s.alice);
    let (status, again) = server.post(&path, ADMIN_TOKEN, json!({})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "already_erased");
    assert_eq!(again["erasure"], done["erasure"]);
    let (status, body) = server
        .post(
            "/v1/admin/members/987654321/erasure",
            ADMIN_TOKEN,
            json!({}),
        )
        .await;
    error_of(status, &body, 404, "unknown_member");
    // Through the admin route: Carol (who only received) is erased at once; Bob's
    // messages to nobody else are untouched.
    let path = format!("/v1/admin/members/{}/erasure", s.carol);
    let (status, carol) = server.post(&path, ADMIN_TOKEN, json!({})).await;
    assert_eq!(status, 200, "{carol}");
    assert_eq!(carol["status"], "completed", "{carol}");
    assert_eq!(carol["erasure"]["counts"]["messages_redacted"], 0);
    // Reports count erasures, naming nobody.
    let (status, report) = server.get("/v1/review/report", &s.reviewer).await;
    assert_eq!(status, 200, "{report}");
    let erasures = &report["erasures"];
    assert_eq!(erasures["requested"], 2, "{report}");
    assert_eq!(erasures["completed"], 2, "{report}");
    assert_eq!(erasures["messages_redacted"], 2, "{report}");
    assert!(
        erasures["audit_entries_pseudonymized"].as_u64()
            >= counts["audit_entries_pseudonymized"].as_u64(),
        "{report}"
    );
    // Ids are never reused across the compaction.
    let (dave, _) = server.member("dave", "free").await;
    assert!(dave > pseudonym && dave > s.reply, "{dave}");
    assert_eq!(
        server.thread_messages(&s.bob_token, s.thread).await,
        [s.delivered, s.reply]
    );
    assert!(s.bob < dave);
}

/// All rows of every table of `schema` whose text contains `needle`, as `table: count`.
async fn rows_containing(schema: &Schema, needle: &str) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(store_common::SERVER, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
            &[&schema.name],
        )
        .await
        .unwrap();
    let mut found = Vec::new();
    for row in tables {
        let table: String = row.get(0);
        let sql = format!(
            // bytea columns print as hex: look for the needle in both spellings.
            "SELECT count(*) FROM {}.{table} AS r WHERE r::text LIKE $1 OR r::text LIKE $2",
            schema.name
        );
        let count: i64 = client
            .query_one(
                &sql,
                &[
                    &format!("%{needle}%"),
                    &format!("%{}%", hex::encode(needle)),
                ],
            )
            .await
            .unwrap()
            .get(0);
        if count > 0 {
            found.push(format!("{table}: {count}"));
        }
    }
    drop(client);
    driver.abort();
    found
}

#[tokio::test]
async fn erasure_on_postgres_leaves_no_row_with_the_text() {
    let schema = Schema::new("erasure");
    let (ok, out, err) = run_cli(&["migrate", "--url", &schema.url()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("0003 member_lifecycle"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("unused"), Some(&schema.store_config()));
    let mark = marker("pg");
    let s = scenario(&server, &mark).await;
    assert!(
        !rows_containing(&schema, &mark).await.is_empty(),
        "the marker is in the rows before the erasure"
    );
    let path = format!("/v1/admin/members/{}/erasure", s.alice);
    let (status, done) = server.post(&path, ADMIN_TOKEN, json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["erasure"]["counts"]["messages_redacted"], 2, "{done}");
    assert_eq!(rows_containing(&schema, &mark).await, Vec::<String>::new());
    let pseudonym = done["erasure"]["pseudonym"].as_u64().unwrap();
    assert_erased(&server, &s, pseudonym).await;
    let (status, again) = server.post(&path, ADMIN_TOKEN, json!({})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "already_erased");
}

/// Every key of every object in `value`, recursively.
fn keys_of(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                out.push(key.clone());
                keys_of(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys_of(v, out)),
        _ => {}
    }
}

/// `GET /v1/me/export` for `token`: the status, whether the answer was streamed (no
/// `Content-Length`), and the document.
async fn export(server: &Server, token: &str) -> (u16, bool, Value) {
    let response = server
        .client
        .get(server.url("/v1/me/export"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let streamed = response.headers().get("content-length").is_none();
    let text = response.text().await.unwrap();
    (status, streamed, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn the_export_streams_a_members_own_data_and_statements_not_scores() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let mark = marker("export");
    let s = scenario(&server, &mark).await;
    let (status, body) = server
        .request(reqwest::Method::GET, "/v1/me/export", None, None)
        .await;
    error_of(status, &body, 401, "unauthorized");

    let (status, streamed, alice) = export(&server, &s.alice_token).await;
    assert_eq!(status, 200, "{alice}");
    assert!(streamed, "the document is streamed, not sized up front");
    assert_eq!(alice["format"], "sendguard-export/1");
    assert_eq!(alice["member"]["member_id"], s.alice);
    assert_eq!(alice["member"]["handle"], "alice");
    let threads = alice["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 2, "{alice}");
    let with_bob = threads.iter().find(|t| t["with"] == s.bob).unwrap();
    let bodies: Vec<(&str, &str)> = with_bob["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap(),
                m["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [
            ("sent", format!("Lunch on Thursday? {mark}").as_str()),
            ("received", "Thursday works")
        ]
    );
    let with_carol = threads.iter().find(|t| t["with"] == s.carol).unwrap();
    let held = &with_carol["messages"][0];
    assert_eq!(held["status"], "removed", "{held}");
    assert_eq!(held["decision"], "held");
    assert_eq!(held["review"], "A reviewer labelled this message spam.");
    assert!(held["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == "test_pattern/gtube" || r["source"] == "test_pattern"));
    assert_eq!(alice["appeals"].as_array().unwrap().len(), 1);
    assert_eq!(
        alice["appeals"][0]["reason"],
        format!("it was mine {mark}").as_str()
    );
    assert!(!alice["statements"].as_array().unwrap().is_empty());
    let mut keys = Vec::new();
    keys_of(&alice, &mut keys);
    for internal in ["score", "evidence", "signals", "sealed_body", "verdict"] {
        assert!(
            !keys.iter().any(|k| k == internal),
            "no model internals in the export ({internal}): {alice}"
        );
    }

    // Bob reports Alice's message; his export lists the report and her delivered message,
    // never her held message to Carol.
    let (status, body) = server
        .post(
            &format!("/v1/messages/{}/report", s.delivered),
            &s.bob_token,
            json!({"reason": "unwanted"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, _, bob) = export(&server, &s.bob_token).await;
    assert_eq!(status, 200, "{bob}");
    assert_eq!(bob["threads"].as_array().unwrap().len(), 1, "{bob}");
    let received = &bob["threads"][0]["messages"][0];
    assert_eq!(received["direction"], "received");
    assert!(received.get("decision").is_none(), "{received}");
    assert_eq!(bob["reports_made"][0]["message_id"], s.delivered, "{bob}");
    assert_eq!(bob["reports_made"][0]["sender"], s.alice);
    assert!(!bob.to_string().contains(GTUBE));
}

mod retention {
    use std::sync::Arc;

    use sendguard::app::{DecisionRequest, NewMember, SendRequest};
    use sendguard::clock::ManualClock;
    use sendguard::config::{Config, RetentionConfig};
    use sendguard::domain::{Label, Plan, ReviewAction};
    use sendguard::{App, Engine, Store};

    const DAY: i64 = 86_400_000;
    /// 2026-11-01T00:00:00Z.
    const T0: i64 = 1_793_491_200_000;

    async fn member(app: &App, handle: &str) -> u64 {
        app.create_member(NewMember {
            handle: handle.into(),
            display_name: None,
            plan: Plan::Free,
        })
        .await
        .unwrap()
        .member_id
    }

    /// The windows on the app's clock: nothing goes before its window, everything past it
    /// goes once, a second sweep finds nothing, and removed text leaves the label export.
    #[tokio::test]
    async fn the_sweep_removes_what_is_past_each_window_on_the_virtual_clock() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at(T0));
        let config = Config {
            retention: RetentionConfig {
                removed_text_days: Some(30),
                review_text_days: Some(7),
                audit_days: Some(90),
                limiter_history_days: Some(30),
                ..RetentionConfig::default()
            },
            ..Config::default()
        };
        let app = App::new(
            Store::open(dir.path()).unwrap(),
            Engine::default(),
            &config,
            clock.clone(),
        );
        let alice = member(&app, "alice").await;
        let bob = member(&app, "bob").await;
        let reviewer = app.create_reviewer("Rita").await.unwrap().reviewer_id;
        let held = app
            .send(alice, SendRequest::text(bob, super::GTUBE))
            .await
            .unwrap();
        app.send(bob, SendRequest::text(alice, "hello there"))
            .await
            .unwrap();
        let item = app.review_queue(reviewer, 10).unwrap()[0].item_id;
        let seen = app
            .review_item(reviewer, item, Some("queue review"))
            .await
            .unwrap();
        assert_eq!(seen.message.body, super::GTUBE);
        app.decide_item(
            reviewer,
            item,
            DecisionRequest {
                label: Label::Spam,
                action: ReviewAction::Remove,
                note: Some("the test pattern".into()),
            },
        )
        .await
        .unwrap();
        let mut labels = Vec::new();
        assert_eq!(app.export_labels(&mut labels).unwrap(), 1);

        let first = app.retention_sweep().await.unwrap();
        assert_eq!(
            (
                first.removed_message_texts,
                first.review_texts,
                first.audit_entries,
                first.limiter_states
            ),
            (0, 0, 0, 0),
            "nothing is past a window yet: {first:?}"
        );

        // Eight days on: the review item's note is gone, the message text not yet.
        clock.advance_ms(8 * DAY);
        let week = app.retention_sweep().await.unwrap();
        assert_eq!(week.at, T0 + 8 * DAY);
        assert_eq!(week.review_texts, 1, "{week:?}");
        assert_eq!(week.removed_message_texts, 0, "{week:?}");
        let view = app
            .review_item(reviewer, item, Some("queue review"))
            .await
            .unwrap();
        assert_eq!(view.item.decision.as_ref().unwrap().note, None);
        assert_eq!(view.message.body, super::GTUBE);

        // Thirty-one days on: the removed message's text, and Bob's idle limiter state.
        clock.advance_ms(23 * DAY);
        let month = app.retention_sweep().await.unwrap();
        assert_eq!(month.removed_message_texts, 1, "{month:?}");
        assert!(month.limiter_states >= 1, "{month:?}");
        assert_eq!(month.review_texts, 0, "done already: {month:?}");
        let view = app
            .review_item(reviewer, item, Some("queue review"))
            .await
            .unwrap();
        assert_eq!(view.message.message_id, held.message_id);
        assert_eq!(view.message.body, "");
        assert!(view.message.text_removed);
        let mut labels = Vec::new();
        assert_eq!(
            app.export_labels(&mut labels).unwrap(),
            0,
            "text past retention is not exported as training data"
        );

        // Ninety-one days on: the audit entries of the first day go, later ones stay.
        clock.advance_ms(60 * DAY);
        let quarter = app.retention_sweep().await.unwrap();
        assert!(quarter.audit_entries >= 2, "{quarter:?}");
        let left = app.audit_log(0, i64::MAX, 1000).unwrap();
        assert!(!left.is_empty());
        assert!(left.iter().all(|e| e.at >= T0 + DAY), "{left:?}");
        let again = app.retention_sweep().await.unwrap();
        assert_eq!(
            (
                again.removed_message_texts,
                again.review_texts,
                again.audit_entries
            ),
            (0, 0, 0),
            "a second sweep finds nothing: {again:?}"
        );
    }
}

fn key_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A server config whose `[store] keys_file` holds `lines`.
fn keyed_config(dir: &Path, lines: &[(&str, &str)]) -> String {
    let file = dir.join("keys");
    let text: String = lines
        .iter()
        .map(|(id, key)| format!("{id} {key}\n"))
        .collect();
    std::fs::write(&file, text).unwrap();
    format!("[store]\nkeys_file = \"{}\"\n", file.display())
}

async fn census(server: &Server) -> Value {
    let (status, census) = server.get("/v1/admin/encryption", ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{census}");
    census
}

#[tokio::test]
async fn key_rotation_reseals_every_message_and_retires_the_old_key_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (k1, k2) = (key_hex(), key_hex());
    let mark = marker("sealed");

    // Sealed with k1 from the first message on: the text is not in the files.
    let server = Server::start(&data, Some(&keyed_config(dir.path(), &[("k1", &k1)])));
    let (status, ready) = server.get("/readyz", "").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["encryption_key"], "k1");
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(alice, bob).await;
    let mut texts = Vec::new();
    for n in 0..3 {
        for (token, to) in [(&alice_token, bob), (&bob_token, alice)] {
            let text = format!("note {n} from {to} {mark}");
            let (status, sent) = server.send(token, to, &text).await;
            assert_eq!(status, 201, "{sent}");
            texts.push(text);
        }
    }
    let thread = server.folder(&bob_token, "inbox").await[0];
    assert!(server.terminate().success());
    assert_eq!(
        files_containing(&data, &mark),
        Vec::<String>::new(),
        "sealed text is not readable in the store files"
    );

    // k2 becomes active, k1 still opens. The CLI reseals one batch of 2, then stops.
    let both = keyed_config(dir.path(), &[("k2", &k2), ("k1", &k1)]);
    let config_file = dir.path().join("rotate.toml");
    std::fs::write(&config_file, &both).unwrap();
    let (ok, out, err) = run_cli(&[
        "store",
        "rotate-key",
        "--data",
        data.to_str().unwrap(),
        "--config",
        config_file.to_str().unwrap(),
        "--batch",
        "2",
        "--max-batches",
        "1",
    ]);
    assert!(ok, "{out}{err}");
    let partial: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        partial["messages_by_key"],
        json!({"k1": 4, "k2": 2}),
        "{partial}"
    );
    assert_eq!(partial["rotation"]["resealed"], 2, "{partial}");

    // The server resumes it in the background; a new message is sealed with k2 already.
    let server = Server::start(&data, Some(&both));
    let (_, ready) = server.get("/readyz", "").await;
    assert_eq!(ready["encryption_key"], "k2");
    let before = census(&server).await;
    assert_eq!(
        before["rotation"]["next_message"],
        partial["rotation"]["next_message"]
    );
    let text = format!("after the new key {mark}");
    let (status, sent) = server.send(&alice_token, bob, &text).await;
    assert_eq!(status, 201, "{sent}");
    texts.push(text);
    let (status, started) = server
        .post("/v1/admin/encryption/rotate", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 202, "{started}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let done = loop {
        let now = census(&server).await;
        if now["rotation"].is_null() && now["messages_by_key"] == json!({"k2": 7}) {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotation did not finish: {now}"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(done["plaintext"], 0);
    assert!(server.terminate().success());

    // k1 retired: with k2 alone every message reads as sent, after a restart.
    let server = Server::start(&data, Some(&keyed_config(dir.path(), &[("k2", &k2)])));
    let (status, page) = server
        .get(&format!("/v1/threads/{thread}"), &bob_token)
        .await;
    assert_eq!(status, 200, "{page}");
    let read: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(read, texts);
    assert!(server.terminate().success());

    // The control: with k1 alone nothing opens any more.
    let server = Server::start(&data, Some(&keyed_config(dir.path(), &[("k1", &k1)])));
    let (status, body) = server
        .get(&format!("/v1/threads/{thread}"), &bob_token)
        .await;
    error_of(status, &body, 500, "internal");
}

/// `[retention]` read from the config file of the real server, and the sweep on demand:
/// with windows of zero days, everything decided before now goes at once, and only once.
#[tokio::test]
async fn the_sweep_route_applies_the_configured_windows() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        "[retention]\nremoved_text_days = 0\nreview_text_days = 0\nsweep_interval_secs = 0\n";
    let server = Server::start(&dir.path().join("data"), Some(config));
    let mark = marker("retained");
    let s = scenario(&server, &mark).await;
    let (status, body) = server
        .post("/v1/admin/retention/sweep", &s.bob_token, json!({}))
        .await;
    error_of(status, &body, 401, "unauthorized");
    let (status, swept) = server
        .post("/v1/admin/retention/sweep", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{swept}");
    assert_eq!(swept["removed_message_texts"], 1, "{swept}");
    assert_eq!(swept["review_texts"], 1, "{swept}");
    assert_eq!(swept["audit_entries"], 0, "no audit window: {swept}");
    let (_, _, export) = export(&server, &s.alice_token).await;
    let with_carol = export["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["with"] == s.carol)
        .unwrap()
        .clone();
    assert_eq!(with_carol["messages"][0]["body"], "", "{with_carol}");
    assert_eq!(with_carol["messages"][0]["text_removed"], true);
    let (status, again) = server
        .post("/v1/admin/retention/sweep", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["removed_message_texts"], 0, "{again}");
    assert_eq!(again["review_texts"], 0, "{again}");
    // The delivered conversation is not touched by retention.
    let (_, thread) = server
        .get(&format!("/v1/threads/{}", s.thread), &s.bob_token)
        .await;
    assert_eq!(
        thread["messages"][0]["body"],
        format!("Lunch on Thursday? {mark}").as_str()
    );
}

/// Rotating without a key says why, from the CLI as from the server's 409.
#[test]
fn rotating_without_a_key_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = run_cli(&["seed", "--data", data.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run_cli(&["store", "rotate-key", "--data", data.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(err.contains("no key is configured"), "{err}");
}
