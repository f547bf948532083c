//! The decision stream on the real NATS server (127.0.0.1:4222, JetStream on;
//! `scripts/start-services` starts it): every kind of decision made through the HTTP API
//! arrives on `<PREFIX>_DECISIONS` as the versioned JSON docs/EVENTS.md documents, with ids
//! and never the message text; `sendguard events tail` prints it for a person and as JSON.

mod common;
mod replicas_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{Server, ADMIN_TOKEN};
use replicas_common::{Subjects, CROSSING_DEADLINE};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_sendguard");
/// A word no decision may carry: it is in every body sent.
const MARKER: &str = "quixotically";
const PHISHING: &str = "Your LinkedIn account will be suspended. Verify your account now at http://linkedln-security.com/verify";

/// The fields docs/EVENTS.md promises, per kind, besides the envelope's.
const ENVELOPE: [&str; 6] = ["schema", "version", "id", "at", "origin", "kind"];
const FIELDS: [(&str, &[&str]); 6] = [
    (
        "verdict",
        &[
            "message_id",
            "thread_id",
            "sender",
            "recipient",
            "decision",
            "score",
            "reasons",
        ],
    ),
    (
        "review_decision",
        &[
            "item_id",
            "message_id",
            "sender",
            "reviewer",
            "label",
            "action",
        ],
    ),
    (
        "appeal_outcome",
        &["appeal_id", "member", "reviewer", "outcome", "message_id"],
    ),
    ("restriction", &["member", "level", "automated"]),
    ("lift", &["member"]),
    ("recall", &["message_id", "sender", "recipient", "was_held"]),
];

/// Runs `sendguard events tail` until it has printed `count` lines, within the deadline.
fn tail(prefix: &str, extra: &[&str], count: usize) -> Vec<String> {
    let mut child = Command::new(BIN)
        .args(["events", "tail", "--prefix", prefix, "--from", "start"])
        .args(["--count", &count.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + CROSSING_DEADLINE;
    let mut lines = Vec::new();
    while lines.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!(
                    "only {} of {count} events arrived: {lines:#?}\nstderr: {}",
                    lines.len(),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "tail exited with {status}");
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_kind_of_decision_arrives_with_its_fields_and_no_message_text() {
    let subjects = Subjects::new();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[events]\nbackend = \"nats\"\n[events.nats]\nsubject_prefix = \"{}\"\ndecisions_max_bytes = 67108864\n",
        subjects.prefix
    );
    let server = Server::start(&dir.path().join("data"), Some(&config));
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, _) = server.member("bob", "free").await;
    server.connect(alice, bob).await;
    let (rita, rita_token) = server.reviewer("Rita").await;

    // A delivered message, and one recalled.
    let (status, lunch) = server
        .send(&alice_token, bob, &format!("Lunch at noon, {MARKER}?"))
        .await;
    assert_eq!(status, 201, "{lunch}");
    let (status, oops) = server
        .send(&alice_token, bob, &format!("Wrong thread, {MARKER} sorry"))
        .await;
    assert_eq!(status, 201, "{oops}");
    let oops_id = oops["message_id"].as_u64().unwrap();
    let (status, body) = server
        .delete(&format!("/v1/messages/{oops_id}"), &alice_token)
        .await;
    assert!(status < 300, "{status} {body}");

    // A hold, removed by a reviewer who restricts the sender; then lifted; then appealed.
    let (status, held) = server
        .send(&alice_token, bob, &format!("{PHISHING} {MARKER}"))
        .await;
    assert_eq!((status, &held["decision"]), (201, &json!("held")), "{held}");
    let held_id = held["message_id"].as_u64().unwrap();
    let (_, queue) = server.get("/v1/review/queue", &rita_token).await;
    let item = queue["items"][0]["item_id"].as_u64().unwrap();
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &rita_token,
            json!({"label": "spam", "action": "restrict_sender", "note": format!("{MARKER} scam")}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server
        .post(
            &format!("/v1/review/members/{alice}/lift-restriction"),
            &rita_token,
            json!({"note": format!("{MARKER} second chance")}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, appeal) = server
        .post(
            "/v1/appeals",
            &alice_token,
            json!({"message_id": held_id, "reason": format!("It was real, {MARKER}")}),
        )
        .await;
    assert_eq!(status, 201, "{appeal}");
    let appeal_id = appeal["appeal_id"].as_u64().unwrap();
    let (status, body) = server
        .post(
            &format!("/v1/review/appeals/{appeal_id}/decision"),
            &rita_token,
            json!({"outcome": "upheld", "note": MARKER}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // A sponsored message: its verdict is on the stream too, from the advertiser.
    let (status, created) = server
        .post(
            "/v1/admin/advertisers",
            ADMIN_TOKEN,
            json!({"name": "Acme"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let acme = created["advertiser_id"].as_u64().unwrap();
    let acme_token = created["token"].as_str().unwrap();
    let campaign = json!({
        "name": "Autumn",
        "body": format!("Acme CRM keeps your pipeline tidy, {MARKER}."),
        "cta": {"label": "Start a free trial", "url": "https://acme.example/trial"},
        "targets": [bob],
        "budget": 1,
        "schedule": {"starts_at": 0, "ends_at": 4_102_444_800_000_i64},
    });
    let (status, campaign) = server
        .post("/v1/advertiser/campaigns", acme_token, campaign)
        .await;
    assert_eq!(status, 201, "{campaign}");
    let (status, run) = server
        .post(
            &format!("/v1/advertiser/campaigns/{}/send", campaign["id"]),
            acme_token,
            json!({}),
        )
        .await;
    assert_eq!((status, &run["delivered"]), (200, &json!(1)), "{run}");

    // 4 verdicts, a recall, a review decision, a restriction, a lift, an appeal outcome.
    let lines = tail(&subjects.prefix, &["--json"], 9);
    let events: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for line in &lines {
        assert!(
            !line.contains(MARKER),
            "message or note text on the stream: {line}"
        );
        assert!(
            !line.contains("suspended"),
            "message text on the stream: {line}"
        );
    }
    for (kind, fields) in FIELDS {
        let of_kind: Vec<&Value> = events.iter().filter(|e| e["kind"] == kind).collect();
        assert!(!of_kind.is_empty(), "no {kind} event in {events:#?}");
        for event in &of_kind {
            let object = event.as_object().unwrap();
            for field in ENVELOPE.iter().chain(fields.iter()) {
                assert!(object.contains_key(*field), "{kind} lacks {field}: {event}");
            }
            assert_eq!(
                object.len(),
                ENVELOPE.len() + fields.len(),
                "undocumented field: {event}"
            );
            assert_eq!(event["schema"], "sendguard.decision");
            assert_eq!(event["version"], 1);
        }
    }
    let ids: std::collections::HashSet<&str> =
        events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
    let by_kind =
        |kind: &str| -> Vec<&Value> { events.iter().filter(|e| e["kind"] == kind).collect() };
    let verdicts = by_kind("verdict");
    assert_eq!(verdicts.len(), 4, "{verdicts:#?}");
    let sponsored = verdicts
        .iter()
        .find(|v| v["sender"] == acme)
        .expect("the sponsored message's verdict");
    assert_eq!(
        (&sponsored["recipient"], &sponsored["decision"]),
        (&json!(bob), &json!("inbox")),
        "{sponsored}"
    );
    let held_verdict = verdicts
        .iter()
        .find(|v| v["message_id"] == held_id)
        .expect("the held message's verdict");
    assert_eq!(held_verdict["decision"], "held");
    assert_eq!(held_verdict["sender"], alice);
    assert!(
        held_verdict["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "rule/phishing.account_suspension"),
        "{held_verdict}"
    );
    assert_eq!(by_kind("recall")[0]["message_id"], oops_id);
    assert_eq!(by_kind("recall")[0]["was_held"], false);
    let decision = by_kind("review_decision")[0];
    assert_eq!(
        (
            &decision["item_id"],
            &decision["reviewer"],
            &decision["action"]
        ),
        (&json!(item), &json!(rita), &json!("restrict_sender"))
    );
    let restriction = by_kind("restriction")[0];
    assert_eq!(
        (
            &restriction["member"],
            &restriction["level"],
            &restriction["automated"]
        ),
        (&json!(alice), &json!("full"), &json!(false))
    );
    assert_eq!(by_kind("lift")[0]["member"], alice);
    let outcome = by_kind("appeal_outcome")[0];
    assert_eq!(
        (
            &outcome["appeal_id"],
            &outcome["outcome"],
            &outcome["message_id"]
        ),
        (&json!(appeal_id), &json!("upheld"), &json!(held_id))
    );
    // Within one replica the stream's order is the order of decisions.
    let position = |kind: &str| events.iter().position(|e| e["kind"] == kind).unwrap();
    assert!(position("review_decision") < position("lift"));
    assert!(position("lift") < position("appeal_outcome"));

    // For a person: one line per event, filtered by kind.
    let lines = tail(&subjects.prefix, &["--kind", "recall"], 1);
    assert!(
        lines[0].contains(&format!("message {oops_id} from {alice} to {bob} recalled")),
        "{lines:?}"
    );
}

#[test]
fn tail_names_a_bad_flag_value() {
    let output = Command::new(BIN)
        .args(["events", "tail", "--from", "yesterday"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--from"), "{stderr}");
    let output = Command::new(BIN)
        .args(["events", "tail", "--kind", "verdicts"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("--kind"),
        "{stderr}"
    );
}
