//! A client that loses its connection mid-send and retries with the same idempotency key
//! gets exactly one message, wherever the reset fell: before the server read the request,
//! while it was assessing, or after it stored the message but before the answer arrived.

mod common;

use std::time::Duration;

use common::Server;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const NO_RATE_LIMITS: &str = "[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.young_rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n";

/// Writes `cut` bytes of the request, waits `pause`, then resets the connection (RST, via
/// a zero linger), as a network failure or a client timeout would.
async fn send_then_reset(address: &str, request: &[u8], cut: usize, pause: Duration) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let _ = stream.write_all(&request[..cut]).await;
    tokio::time::sleep(pause).await;
    stream.set_zero_linger().unwrap();
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_retried_after_connection_resets_is_stored_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(NO_RATE_LIMITS));
    let (_, alice) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let address = server.base.trim_start_matches("http://").to_string();

    let mut stored = Vec::new();
    let mut replayed = 0;
    for i in 0..40usize {
        let body = json!({"to": bob, "body": format!("update {i}"),
                          "idempotency_key": format!("send-{i}")})
        .to_string();
        let request = format!(
            "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
        // Resets at every stage: mid-headers, mid-body, and after the whole request with
        // the server likely still assessing or already done.
        let (cut, pause) = match i % 4 {
            0 => (request.len() / 3, Duration::ZERO),
            1 => (request.len() - 5, Duration::ZERO),
            2 => (request.len(), Duration::ZERO),
            _ => (request.len(), Duration::from_millis(5 * (i as u64 % 8))),
        };
        send_then_reset(&address, &request, cut, pause).await;
        // A reset attempt may be stored or not; either way it must not be stored twice.
        let retry: serde_json::Value = serde_json::from_str(&body).unwrap();
        let (status, answer) = server.post("/v1/messages", &alice, retry.clone()).await;
        assert!(status == 201 || status == 200, "{status}: {answer}");
        assert_eq!(answer["replayed"], status == 200, "{answer}");
        replayed += usize::from(status == 200);
        let (status, again) = server.post("/v1/messages", &alice, retry).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["message_id"], answer["message_id"]);
        stored.push(answer["message_id"].as_u64().unwrap());
    }
    let thread = {
        let (_, page) = server.get("/v1/folders/other?limit=100", &bob_token).await;
        page["threads"][0]["thread_id"].as_u64().unwrap()
    };
    let mut seen = server.thread_messages(&bob_token, thread).await;
    seen.sort_unstable();
    stored.sort_unstable();
    assert_eq!(seen, stored, "each send delivered exactly once");
    eprintln!("40 sends reset mid-flight: {replayed} had been stored before the reset");
}
