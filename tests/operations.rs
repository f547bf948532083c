//! Operations over real HTTP: Prometheus metrics with the expected counts, readiness,
//! request ids, and logs that never contain message text.

mod common;

use std::collections::HashMap;

use common::{Server, ADMIN_TOKEN};
use serde_json::json;

/// Parses Prometheus text format strictly enough to catch malformed output: every sample
/// line is `name{labels} value` with a numeric value, every `# TYPE` names a known type.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let kind = rest
                .split_whitespace()
                .nth(1)
                .unwrap_or_else(|| panic!("bad TYPE line {line:?}"));
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad sample {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let name_end = series.find('{').unwrap_or(series.len());
        assert!(
            series[..name_end]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "bad metric name in {line:?}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unclosed labels in {line:?}");
        }
        samples.insert(series.to_string(), value);
    }
    samples
}

#[tokio::test]
async fn metrics_count_sends_and_refusals_and_logs_carry_no_text() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start_logged(&dir.path().join("data"), None, &log);
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (carol, _) = server.member("carol", "free").await;
    server.connect(alice, bob).await;

    let secret = "Zanzibar-42 lunch plans for Friday";
    assert_eq!(
        server.send(&alice_token, bob, secret).await.1["decision"],
        "inbox"
    );
    assert_eq!(
        server
            .send(&alice_token, bob, "See you at the standup")
            .await
            .1["decision"],
        "inbox"
    );
    assert_eq!(
        server
            .send(
                &alice_token,
                carol,
                "Hello Carol, we met at the data meetup"
            )
            .await
            .1["decision"],
        "other"
    );
    let phishing = "Your LinkedIn account will be suspended. Verify your account now at http://linkedln-security.com/verify";
    assert_eq!(
        server.send(&alice_token, carol, phishing).await.1["decision"],
        "held"
    );
    assert_eq!(server.send(&alice_token, bob, "   ").await.0, 422);
    server
        .post("/v1/blocks", &bob_token, json!({"member_id": alice}))
        .await;
    assert_eq!(server.send(&alice_token, bob, "hello?").await.0, 403);

    let response = server
        .client
        .get(server.url("/metrics"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    let samples = parse_prometheus(&response.text().await.unwrap());
    let value = |series: &str| {
        samples
            .get(series)
            .copied()
            .unwrap_or_else(|| panic!("no {series}"))
    };
    assert_eq!(value("sendguard_sends_total{decision=\"inbox\"}"), 2.0);
    assert_eq!(value("sendguard_sends_total{decision=\"other\"}"), 1.0);
    assert_eq!(value("sendguard_sends_total{decision=\"held\"}"), 1.0);
    assert_eq!(
        value("sendguard_send_refusals_total{code=\"empty_body\"}"),
        1.0
    );
    assert_eq!(
        value("sendguard_send_refusals_total{code=\"blocked\"}"),
        1.0
    );
    assert_eq!(value("sendguard_review_queue_depth"), 1.0);
    assert!(
        value("sendguard_rule_hits_total{rule=\"phishing.account_suspension\",shadow=\"false\"}")
            >= 1.0
    );
    for stage in ["normalize", "rules", "classify", "limits", "store"] {
        assert!(
            samples
                .keys()
                .any(|k| k.starts_with("sendguard_stage_seconds")
                    && k.contains(&format!("stage=\"{stage}\""))),
            "no latency for stage {stage}"
        );
    }
    assert!(samples
        .keys()
        .any(|k| k.starts_with("sendguard_send_seconds")));
    // Labels are bounded: route templates, never raw ids or text.
    assert!(samples.keys().all(|k| !k.contains("Zanzibar")));
    for key in samples.keys().filter(|k| k.contains("route=\"")) {
        let route = key
            .split("route=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let known = sendguard::server::openapi::ROUTES
            .iter()
            .any(|r| r.path == route);
        assert!(known || route == "(unmatched)", "{key}");
    }
    let _ = secret;

    let (status, ready) = server
        .request(reqwest::Method::GET, "/readyz", None, None)
        .await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["ready"], true);
    assert!(ready["rules"].as_u64().unwrap() > 0);
    assert_eq!(ready["model"], "default.sgnb");
    let response = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!generated.is_empty());

    let _ = ADMIN_TOKEN;
    assert!(server.terminate().success());
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("trace-me-123"),
        "request ids are logged:\n{log}"
    );
    assert!(log.contains("/v1/messages"), "routes are logged");
    assert!(
        !log.contains("Zanzibar"),
        "message text leaked into the log:\n{log}"
    );
    assert!(
        !log.contains("linkedln-security"),
        "message text leaked into the log"
    );
}
