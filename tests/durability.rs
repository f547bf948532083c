//! Acknowledged means durable: SIGKILL right after a burst of acknowledged sends loses
//! none of them, and SIGTERM drains and exits 0.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::Server;

/// Bursts here are load, not abuse: rate limits off, so every send is acknowledged.
const NO_RATE_LIMITS: &str = "[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n[limits.young_rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n";

/// Sends `per_sender` messages from each of `senders` concurrently; returns acknowledged
/// (message id, thread id, sender token). The sender sees every message it sent, held or
/// delivered, so its view is the one to check.
async fn burst(server: &Arc<Server>, senders: usize, per_sender: usize) -> Vec<(u64, u64, String)> {
    let (recipient, _) = server.member("inbox-owner", "free").await;
    let mut tasks = Vec::new();
    for s in 0..senders {
        let (_, token) = server.member(&format!("sender{s}"), "free").await;
        let server = Arc::clone(server);
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..per_sender {
                let (status, body) = server
                    .send(&token, recipient, &format!("burst {s}/{i}"))
                    .await;
                assert_eq!(status, 201, "{body}");
                acked.push((
                    body["message_id"].as_u64().unwrap(),
                    body["thread_id"].as_u64().unwrap(),
                    token.clone(),
                ));
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for task in tasks {
        acked.extend(task.await.unwrap());
    }
    acked
}

async fn assert_all_present(server: &Server, acked: &[(u64, u64, String)]) {
    let threads: HashSet<(u64, &str)> = acked
        .iter()
        .map(|(_, thread, token)| (*thread, token.as_str()))
        .collect();
    let mut stored = HashSet::new();
    for (thread, token) in threads {
        stored.extend(server.thread_messages(token, thread).await);
    }
    for (message, _, _) in acked {
        assert!(
            stored.contains(message),
            "acknowledged message {message} lost"
        );
    }
    assert_eq!(
        stored.len(),
        acked.len(),
        "no message appears twice or unasked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_after_acknowledged_sends_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Arc::new(Server::start(&data, Some(NO_RATE_LIMITS)));
    let acked = burst(&server, 16, 25).await;
    assert_eq!(acked.len(), 400);
    Arc::try_unwrap(server).ok().unwrap().kill();

    let server = Server::start(&data, Some(NO_RATE_LIMITS));
    assert_all_present(&server, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_burst_drains_acknowledged_sends_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, Some(NO_RATE_LIMITS));
    let (recipient, _) = server.member("inbox-owner", "free").await;
    let mut senders = Vec::new();
    for s in 0..8 {
        senders.push(server.member(&format!("sender{s}"), "free").await.1);
    }
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let base = server.base.clone();
    let mut tasks = Vec::new();
    for (s, token) in senders.into_iter().enumerate() {
        let acked_tx = acked_tx.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            // Keep sending until the server stops answering.
            for i in 0..10_000 {
                let sent = client
                    .post(format!("{base}/v1/messages"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"to": recipient, "body": format!("burst {s}/{i}")}))
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status().as_u16() != 201 {
                    break;
                }
                let Ok(body) = response.json::<serde_json::Value>().await else {
                    break;
                };
                let message = body["message_id"].as_u64().unwrap();
                let thread = body["thread_id"].as_u64().unwrap();
                let _ = acked_tx.send((message, thread, token.clone()));
            }
        }));
    }
    drop(acked_tx);
    // Terminate once the burst is well under way, with sends in flight.
    let mut acked = Vec::new();
    while acked.len() < 200 {
        acked.push(acked_rx.recv().await.expect("senders stopped early"));
    }
    let status = server.terminate();
    for task in tasks {
        task.await.unwrap();
    }
    while let Some(more) = acked_rx.recv().await {
        acked.push(more);
    }
    assert!(status.success(), "exit status {status:?}");

    let server = Server::start(&data, Some(NO_RATE_LIMITS));
    assert_all_present(&server, &acked).await;
}

/// A client that never saw the answer retries after the server died: the retry, with the
/// same idempotency key, gets the original message back (200, `replayed`) and nothing new
/// is stored, because the key was written in the same durable batch as the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_retry_after_a_crash_replays_the_original_send() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, Some(NO_RATE_LIMITS));
    let (_, alice) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (_, carol) = server.member("carol", "free").await;
    let request =
        serde_json::json!({"to": bob, "body": "contract draft", "idempotency_key": "retry-1"});
    let (status, first) = server.post("/v1/messages", &alice, request.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["replayed"], false);
    server.kill();

    let server = Server::start(&data, Some(NO_RATE_LIMITS));
    let (status, again) = server.post("/v1/messages", &alice, request.clone()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["replayed"], true);
    for field in ["message_id", "thread_id", "decision", "folder", "score"] {
        assert_eq!(again[field], first[field], "{field} differs after restart");
    }
    // The key belongs to alice: carol using the same key sends her own message.
    let (status, carols) = server.post("/v1/messages", &carol, request).await;
    assert_eq!(status, 201, "{carols}");
    assert_ne!(carols["message_id"], first["message_id"]);
    server.terminate();

    // And once more across a clean restart: still one message in the thread.
    let server = Server::start(&data, Some(NO_RATE_LIMITS));
    let thread = first["thread_id"].as_u64().unwrap();
    let request =
        serde_json::json!({"to": bob, "body": "contract draft", "idempotency_key": "retry-1"});
    let (status, third) = server.post("/v1/messages", &alice, request).await;
    assert_eq!((status, &third["message_id"]), (200, &first["message_id"]));
    assert_eq!(
        server.thread_messages(&bob_token, thread).await,
        vec![first["message_id"].as_u64().unwrap()],
        "delivered exactly once"
    );
}
