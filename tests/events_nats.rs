//! `[events] backend = "nats"`: two `sendguard serve` replicas on the real NATS server
//! (127.0.0.1:4222, JetStream on; `scripts/start-services` starts it). A delivery through A
//! reaches the recipient's event stream held by B; a rule reload through A changes B's
//! verdicts; a restriction set through A reaches the member's stream on B. Each replica has
//! its own sled store (the shared store is the PostgreSQL backend's part), with the same
//! members created in the same order so ids agree. Every test uses its own subject prefix
//! and deletes its JetStream stream when done.

mod common;
mod replicas_common;

use std::path::Path;
use std::time::Duration;

use common::{Server, ADMIN_TOKEN};
use replicas_common::{
    connect_everywhere, member_everywhere, open_stream, read_until, Subjects, CROSSING_DEADLINE,
};
use serde_json::{json, Value};

fn config(prefix: &str, rules_dir: Option<&Path>) -> String {
    let engine = rules_dir
        .map(|dir| format!("[engine]\nrules_dir = \"{}\"\n", dir.display()))
        .unwrap_or_default();
    format!("{engine}[events]\nbackend = \"nats\"\n[events.nats]\nsubject_prefix = \"{prefix}\"\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_through_a_reaches_the_recipients_stream_on_b() {
    let subjects = Subjects::new();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&subjects.prefix, None);
    let a = Server::start(&dir.path().join("a"), Some(&config));
    let b = Server::start(&dir.path().join("b"), Some(&config));
    let replicas = [&a, &b];
    let alice = member_everywhere(&replicas, "alice").await;
    let bob = member_everywhere(&replicas, "bob").await;
    connect_everywhere(&replicas, alice.id, bob.id).await;

    let bobs_stream_on_b = open_stream(&b, &bob.tokens[1]).await;
    let (status, sent) = a
        .send(&alice.tokens[0], bob.id, "Lunch at noon on Thursday?")
        .await;
    assert_eq!(status, 201, "{sent}");
    let message_id = sent["message_id"].as_u64().unwrap();
    let received = read_until(bobs_stream_on_b, &format!("\"message_id\":{message_id}")).await;
    assert!(received.contains("event: message.delivered"), "{received}");
    assert!(
        received.contains(&format!("\"from\":{}", alice.id)),
        "{received}"
    );

    // Both replicas report NATS.
    for replica in replicas {
        let (status, ready) = replica.get("/readyz", ADMIN_TOKEN).await;
        assert_eq!((status, &ready["nats"]), (200, &json!(true)), "{ready}");
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
    let subjects = Subjects::new();
    let dir = tempfile::tempdir().unwrap();
    // Each replica reads its own copy of the packs, as on separate machines.
    let (rules_a, rules_b) = (dir.path().join("rules_a"), dir.path().join("rules_b"));
    for rules in [&rules_a, &rules_b] {
        std::fs::create_dir(rules).unwrap();
        std::fs::write(rules.join("test.toml"), pack("wire the fee")).unwrap();
    }
    let a = Server::start(
        &dir.path().join("a"),
        Some(&config(&subjects.prefix, Some(&rules_a))),
    );
    let b = Server::start(
        &dir.path().join("b"),
        Some(&config(&subjects.prefix, Some(&rules_b))),
    );
    let body = "Please confirm the zebracorn invoice today";
    assert!(!cites(&assessed(&b, body).await, "test.replicated_hold"));

    // The new packs are deployed to both machines; only A is told to reload.
    for rules in [&rules_a, &rules_b] {
        std::fs::write(rules.join("test.toml"), pack("zebracorn invoice")).unwrap();
    }
    let (status, reloaded) = a
        .post("/v1/admin/rules/reload", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(status, 200, "{reloaded}");
    assert!(cites(&assessed(&a, body).await, "test.replicated_hold"));

    // B follows: wait (bounded) for its verdict to change.
    let deadline = tokio::time::Instant::now() + CROSSING_DEADLINE;
    loop {
        let verdict = assessed(&b, body).await;
        if cites(&verdict, "test.replicated_hold") {
            assert_eq!(verdict["decision"], "held", "{verdict}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never reloaded: {verdict}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restriction_set_through_a_reaches_the_members_stream_on_b() {
    let subjects = Subjects::new();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&subjects.prefix, None);
    let a = Server::start(&dir.path().join("a"), Some(&config));
    let b = Server::start(&dir.path().join("b"), Some(&config));
    let carol = member_everywhere(&[&a, &b], "carol").await;
    let carols_stream_on_b = open_stream(&b, &carol.tokens[1]).await;
    let (status, body) = a
        .post(
            &format!("/v1/admin/members/{}/restriction", carol.id),
            ADMIN_TOKEN,
            json!({"level": "full", "reason": "drill"}),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let received = read_until(carols_stream_on_b, "\"restricted\":true").await;
    assert!(
        received.contains("event: account.restriction"),
        "{received}"
    );
}
