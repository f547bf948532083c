//! Issue 24, a member's data lifecycle, over the real binary and the real PostgreSQL:
//! erasure (admin route and CLI, resumable, idempotent, audited, with a scan of the store's
//! files and rows for the erased member's text), the streamed export, and key rotation.

mod common;
mod store_common;

use std::path::Path;
use std::process::Command;

use common::{error_of, Server, ADMIN_TOKEN};
use serde_json::{json, Value};
use store_common::Schema;

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn sendguard(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sendguard"))
        .args(args)
        .output()
        .expect("running sendguard");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

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
    let (ok, out, err) = sendguard(&[
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
    let (ok, out, err) = sendguard(&["member", "erase", "--data", data_arg, "--member", &alice]);
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
    let (ok, out, err) = sendguard(&["migrate", "--url", &schema.url()]);
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
