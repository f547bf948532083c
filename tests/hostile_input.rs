//! Hostile input: pathological bodies, broken encodings, oversized headers and slow or
//! stalled clients. Each gets a clear error or a correct verdict within a bounded time, and
//! other members keep being served while it is in progress.

mod common;

use std::future::Future;
use std::time::Duration;

use common::{error_of, Server};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: a debug build on a busy 2-core machine; the point is "bounded", not "fast".
const BOUND: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {BOUND:?}"))
}

struct Members {
    hostile: String,
    target: u64,
    bystander: String,
    friend: u64,
}

/// Config for these tests: many sends from one member are the point, not abuse.
const CONFIG: &str = "[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.young_rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n";

async fn members(server: &Server) -> Members {
    let (_, hostile) = server.member("mallory", "free").await;
    let (target, _) = server.member("victim", "free").await;
    let (_, bystander) = server.member("bystander", "free").await;
    let (friend, _) = server.member("friend", "free").await;
    Members {
        hostile,
        target,
        bystander,
        friend,
    }
}

/// Runs `hostile` while another member sends an ordinary message; both must finish in
/// bounded time, and the ordinary send must succeed.
async fn alongside<T>(
    server: &Server,
    m: &Members,
    what: &str,
    hostile: impl Future<Output = T>,
) -> T {
    let probe = async {
        let (status, body) = server.send(&m.bystander, m.friend, "lunch at noon?").await;
        assert_eq!(status, 201, "a bystander's send during {what}: {body}");
    };
    let (result, ()) = within(what, async { tokio::join!(hostile, probe) }).await;
    result
}

async fn send_json(server: &Server, token: &str, body: &Value) -> (u16, Value) {
    server
        .request(
            reqwest::Method::POST,
            "/v1/messages",
            Some(token),
            Some(body),
        )
        .await
}

/// Sends raw bytes as the JSON body, for encodings `serde_json::json!` cannot produce.
async fn send_raw(server: &Server, token: &str, raw: Vec<u8>) -> (u16, Value) {
    let response = server
        .client
        .post(server.url("/v1/messages"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap();
    (status, body)
}

fn assert_verdict(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 201, "{what}: {body}");
    assert!(
        matches!(body["decision"].as_str(), Some("inbox" | "other" | "held")),
        "{what}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pathological_bodies_get_a_verdict_or_a_clear_error_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(CONFIG));
    let m = members(&server).await;

    let mut combining = String::from("e");
    combining.push_str(&"\u{301}".repeat(27_999));
    let nested_links = "[a](".repeat(5_000) + &")".repeat(5_000);
    let verdicts: Vec<(&str, String, &str)> = vec![
        (
            "28,000 characters: one letter and 27,999 combining marks",
            combining,
            "text",
        ),
        (
            "28,000 lone combining marks",
            "\u{301}".repeat(28_000),
            "text",
        ),
        (
            "zero-width characters around one word",
            "\u{200b}".repeat(27_990) + "hi",
            "text",
        ),
        (
            "28,000 emoji modifiers and joiners",
            "\u{200d}\u{1f3fd}".repeat(14_000),
            "text",
        ),
        (
            "blockquotes nested 27,000 deep",
            ">".repeat(27_000) + " x",
            "markdown",
        ),
        (
            "lists nested 9,000 deep",
            "- ".repeat(9_000) + "x",
            "markdown",
        ),
        (
            "emphasis nested 9,000 deep",
            "*".repeat(9_000) + "x" + &"*".repeat(9_000),
            "markdown",
        ),
        ("27,000 unclosed brackets", "[".repeat(27_000), "markdown"),
        ("links nested 5,000 deep", nested_links, "markdown"),
        (
            "700 links whose text names another domain",
            "[bank.example](https://phish.example/x)\n".repeat(700),
            "markdown",
        ),
        ("5,000 bare links", "a.co/x ".repeat(4_000), "text"),
        (
            "NUL bytes (JSON-escaped) inside the body",
            "hello\0world\0".repeat(1_000),
            "text",
        ),
        (
            "control characters",
            "\u{7}\u{1b}[31m\u{8}x".repeat(3_000),
            "text",
        ),
        (
            "right-to-left overrides",
            "\u{202e}moc.knab\u{202c} ".repeat(2_000),
            "text",
        ),
    ];
    for (what, body, format) in verdicts {
        assert!(body.chars().count() <= 28_000, "{what} is a valid length");
        let request = json!({"to": m.target, "body": body, "format": format});
        let (status, answer) =
            alongside(&server, &m, what, send_json(&server, &m.hostile, &request)).await;
        assert_verdict(status, &answer, what);
    }

    // 10,000 links cannot fit in 28,000 characters: refused, by length, without parsing.
    let links = "[x](https://a.co)".repeat(10_000);
    let request = json!({"to": m.target, "body": links, "format": "markdown"});
    let (status, answer) = alongside(
        &server,
        &m,
        "10,000 links",
        send_json(&server, &m.hostile, &request),
    )
    .await;
    error_of(status, &answer, 422, "too_long");

    // The NUL bytes are kept as sent: what the recipient reads is what was assessed.
    let (status, answer) = send_json(
        &server,
        &m.hostile,
        &json!({"to": m.friend, "body": "before\0after"}),
    )
    .await;
    assert_verdict(status, &answer, "NUL");
    let thread = answer["thread_id"].as_u64().unwrap();
    let (_, page) = server
        .get(&format!("/v1/threads/{thread}"), &m.hostile)
        .await;
    assert_eq!(page["messages"][0]["body"], "before\0after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_encodings_are_invalid_json_not_errors_of_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(CONFIG));
    let m = members(&server).await;
    let to = m.target;
    let invalid: Vec<(&str, Vec<u8>)> = vec![
        (
            "lone high surrogate",
            format!(r#"{{"to": {to}, "body": "a\ud800b"}}"#).into_bytes(),
        ),
        (
            "lone low surrogate",
            format!(r#"{{"to": {to}, "body": "\udc00"}}"#).into_bytes(),
        ),
        (
            "high surrogate then a letter",
            format!(r#"{{"to": {to}, "body": "\ud800\u0041"}}"#).into_bytes(),
        ),
        (
            "surrogate at the end",
            format!(r#"{{"to": {to}, "body": "x\ud83d"}}"#).into_bytes(),
        ),
        (
            "truncated escape",
            format!(r#"{{"to": {to}, "body": "\u12"}}"#).into_bytes(),
        ),
        (
            "raw NUL byte in a string",
            format!("{{\"to\": {to}, \"body\": \"a\0b\"}}").into_bytes(),
        ),
        (
            "invalid UTF-8",
            [
                format!(r#"{{"to": {to}, "body": "a"#).into_bytes(),
                vec![0xff, 0xfe],
                b"\"}".to_vec(),
            ]
            .concat(),
        ),
        (
            "overlong UTF-8 encoding of '/'",
            [
                format!(r#"{{"to": {to}, "body": "a"#).into_bytes(),
                vec![0xc0, 0xaf],
                b"\"}".to_vec(),
            ]
            .concat(),
        ),
        (
            "10,000 nested arrays in an extra field",
            format!(
                r#"{{"to": {to}, "body": "x", "extra": {}"#,
                "[".repeat(10_000)
            )
            .into_bytes(),
        ),
    ];
    for (what, raw) in invalid {
        let (status, answer) =
            alongside(&server, &m, what, send_raw(&server, &m.hostile, raw)).await;
        let error = error_of(status, &answer, 400, "invalid_json");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("malformed JSON"),
            "{what}: {answer}"
        );
    }
    // A correctly paired surrogate escape is an ordinary emoji.
    let raw = format!(r#"{{"to": {to}, "body": "hi \ud83d\ude00"}}"#).into_bytes();
    let (status, answer) = send_raw(&server, &m.hostile, raw).await;
    assert_verdict(status, &answer, "paired surrogates");
}

/// The port of a server's `http://127.0.0.1:PORT` base.
fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

/// Writes `request` on a fresh connection and reads the status code of the answer.
async fn raw_status(server: &Server, request: Vec<u8>) -> Option<u16> {
    let mut stream = TcpStream::connect(addr(server)).await.unwrap();
    // The server may answer (and close) before all of an oversized request is written.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                answer.extend_from_slice(&buffer[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let line = String::from_utf8_lossy(&answer);
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Writes `request` on a fresh connection and reads the whole answer, until the server
/// closes the connection (it does after a refused head).
async fn raw_answer(server: &Server, request: Vec<u8>) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr(server)).await.unwrap();
    let _ = stream.write_all(&request).await;
    read_until_closed(&mut stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_headers_are_refused_with_431() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(CONFIG));
    let m = members(&server).await;

    let one_huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let many: String = (0..500)
        .map(|i| format!("X-Pad-{i}: {}\r\n", "b".repeat(100)))
        .collect();
    let many = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let huge_token = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "t".repeat(600_000)
    );
    // Under hyper's read buffer in one read, so only the exact check refuses it.
    let over_by_a_read = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "c".repeat(400 * 1024)
    );
    let just_over = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "d".repeat(256 * 1024 - 40)
    );
    for (what, request) in [
        ("a 1 MiB header", one_huge),
        ("500 headers", many),
        ("a 600 KB bearer token", huge_token),
        ("a 400 KB header", over_by_a_read),
        ("a head a few bytes over 256 KB", just_over),
    ] {
        let answer = alongside(&server, &m, what, raw_answer(&server, request.into_bytes())).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 431"), "{what}: {text}");
        // The same JSON error shape as every other refusal, naming the limit.
        let body = json_body(&answer);
        let error = error_of(431, &body, 431, "headers_too_large");
        assert_eq!(error["field"], "headers", "{what}: {body}");
        assert_eq!(error["limit"], 256 * 1024, "{what}: {body}");
    }
    // A head of exactly the limit is served.
    let at_limit = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
        "e".repeat(256 * 1024 - 62)
    );
    assert_eq!(at_limit.len(), 256 * 1024);
    let answer = raw_answer(&server, at_limit.into_bytes()).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // A head that is not HTTP at all: 400, also with a JSON body.
    for (what, request) in [
        ("a garbage request line", "NOT HTTP AT ALL\r\n\r\n"),
        (
            "a header without a colon",
            "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
        ),
    ] {
        let answer = raw_answer(&server, request.as_bytes().to_vec()).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 400"), "{what}: {text}");
        let body = json_body(&answer);
        assert_eq!(
            error_of(400, &body, 400, "malformed_request")["field"],
            "headers"
        );
    }
    // A long but legal token is simply unknown.
    let (status, answer) = server.get("/v1/folders/inbox", &"t".repeat(8_000)).await;
    error_of(status, &answer, 401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_stalled_clients_do_not_hold_up_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(CONFIG));
    let m = members(&server).await;
    let address = addr(&server);

    // 200 connections that start a request and then stall: mid-headers, and mid-body.
    let mut stalled = Vec::new();
    for i in 0..200 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        let partial = if i % 2 == 0 {
            "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthor".to_string()
        } else {
            format!(
                "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"to\": ",
                m.hostile
            )
        };
        stream.write_all(partial.as_bytes()).await.unwrap();
        stalled.push(stream);
    }

    // One client that dribbles a whole valid send a few bytes at a time.
    let body = json!({"to": m.target, "body": "sent very slowly"}).to_string();
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        m.hostile,
        body.len()
    );
    let dribble = async {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        for chunk in request.as_bytes().chunks(8) {
            stream.write_all(chunk).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };

    // Meanwhile everyone else is served: a run of ordinary sends and reads.
    let others = async {
        for i in 0..20 {
            let (status, body) = server
                .send(&m.bystander, m.friend, &format!("still here {i}"))
                .await;
            assert_eq!(status, 201, "{body}");
        }
        let (status, _) = server
            .request(reqwest::Method::GET, "/healthz", None, None)
            .await;
        assert_eq!(status, 200);
    };
    let (answer, ()) = within("slow client", async { tokio::join!(dribble, others) }).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(answer.contains("\"decision\""), "{answer}");

    // The stalled connections are still open, and still harmless.
    drop(stalled);
    let (status, body) = server.send(&m.bystander, m.friend, "after").await;
    assert_eq!(status, 201, "{body}");
}

/// Open descriptors of the server process (Linux), to show stalled sockets are released.
fn open_descriptors(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

/// Polls `condition` until it holds or `deadline` passes; returns whether it held.
async fn eventually(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return answer,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
}

/// The JSON body of a raw HTTP answer.
fn json_body(answer: &[u8]) -> Value {
    let text = String::from_utf8_lossy(answer);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|_| panic!("no JSON body in {text:?}"))
}

/// Short limits so the tests see them act; still long enough for a debug build.
const TIMEOUTS: &str = "[server]\nheader_read_timeout_secs = 2\nbody_read_timeout_secs = 2\n\
idle_timeout_secs = 30\n[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_header_sockets_are_dropped_and_their_descriptors_released() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(TIMEOUTS));
    let m = members(&server).await;
    let address = addr(&server);
    let before = open_descriptors(&server);

    // 200 clients that send one header byte, then another every half second, forever.
    let started = tokio::time::Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"P").await.unwrap();
        stalled.push(tokio::spawn(async move {
            let (mut reader, mut writer) = stream.into_split();
            let mut bytes = b"OST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: "
                .iter()
                .cycle();
            let mut buffer = [0u8; 256];
            loop {
                tokio::select! {
                    read = reader.read(&mut buffer) => match read {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    },
                    () = tokio::time::sleep(Duration::from_millis(500)) => {
                        let byte = *bytes.next().unwrap();
                        if writer.write_all(&[byte]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            started.elapsed()
        }));
    }
    assert!(
        eventually(BOUND, || open_descriptors(&server) >= before + 200).await,
        "the server holds the 200 stalled sockets ({} descriptors, {before} before)",
        open_descriptors(&server)
    );
    let peak = open_descriptors(&server);
    // A bystander is served meanwhile.
    let (status, body) = server.send(&m.bystander, m.friend, "still here").await;
    assert_eq!(status, 201, "{body}");

    // Each stalled socket is closed by the server once its header time is up.
    let mut slowest = Duration::ZERO;
    for task in stalled {
        let dropped_after = within("a stalled socket to be dropped", task)
            .await
            .unwrap();
        slowest = slowest.max(dropped_after);
    }
    assert!(
        slowest < Duration::from_secs(2) + BOUND,
        "dropped after {slowest:?}"
    );
    assert!(
        eventually(BOUND, || open_descriptors(&server) <= before + 5).await,
        "descriptors return to {before}: {}",
        open_descriptors(&server)
    );
    let after = open_descriptors(&server);
    eprintln!(
        "descriptors: {before} before, {peak} with 200 stalled sockets, {after} after; \
         slowest stalled socket dropped after {slowest:.1?} (header timeout 2 s)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_naming_the_body_and_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(TIMEOUTS));
    let m = members(&server).await;
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    let partial = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"to\": ",
        m.hostile
    );
    stream.write_all(partial.as_bytes()).await.unwrap();
    let started = tokio::time::Instant::now();
    let answer = within("a stalled body", read_until_closed(&mut stream)).await;
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = json_body(&answer);
    let error = error_of(408, &body, 408, "request_timeout");
    assert_eq!(error["field"], "body", "{body}");
    assert_eq!(error["limit"], 2, "{body}");
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[server]\nheader_read_timeout_secs = 30\nidle_timeout_secs = 1\n";
    let server = Server::start(&dir.path().join("data"), Some(config));
    let mut stream = TcpStream::connect(addr(&server)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    // The answer arrives, the connection stays open for the next request, then closes.
    let answer = within("an idle connection", read_until_closed(&mut stream)).await;
    let waited = started.elapsed();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{answer:?}"
    );
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "closed after {waited:?}, idle timeout 1 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_get_503_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[server]\nmax_connections = 20\nheader_read_timeout_secs = 60\n";
    let server = Server::start(&dir.path().join("data"), Some(config));
    let address = addr(&server);
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    let mut extra = TcpStream::connect(&address).await.unwrap();
    let answer = within("the 21st connection", read_until_closed(&mut extra)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    let body = json_body(&answer);
    let error = error_of(503, &body, 503, "too_many_connections");
    assert_eq!(error["limit"], 20, "{body}");

    // Closing the held connections frees their places.
    drop(held);
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let status = raw_status(
            &server,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        )
        .await;
        if status == Some(200) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still refused: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_per_member_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[server]\nmax_event_streams_per_member = 2\n";
    let server = Server::start(&dir.path().join("data"), Some(config));
    let m = members(&server).await;
    let open = || async {
        server
            .client
            .get(server.url("/v1/events"))
            .bearer_auth(&m.hostile)
            .send()
            .await
            .unwrap()
    };
    let first = open().await;
    let second = open().await;
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let third = open().await;
    let status = third.status().as_u16();
    let body: Value = third.json().await.unwrap();
    let error = error_of(status, &body, 429, "too_many_streams");
    assert_eq!(error["field"], "events", "{body}");
    assert_eq!(error["limit"], 2, "{body}");

    // Another member is not affected.
    let other = server
        .client
        .get(server.url("/v1/events"))
        .bearer_auth(&m.bystander)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    // Closing a stream frees its place.
    drop(first);
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let again = open().await;
        if again.status() == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", again.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(second);
}
