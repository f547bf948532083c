//! Reports over a store seeded with known events (`report_common`): the JSON carries
//! exactly the expected figures, CSV and HTML carry the same, the CLI and the reviewer
//! route serve them, and no message text leaks into any format.

mod common;
mod report_common;

use std::process::Command;

use report_common::{day, seed, HOUR};
use sendguard::domain::Label;
use sendguard::report::{self, html, Format, ReportOptions};
use sendguard::Store;
use serde_json::{json, Value};

fn period(now: i64) -> ReportOptions {
    ReportOptions::new(Some(day(0)), Some(day(3)), now)
}

fn json_report(dir: &std::path::Path, options: &ReportOptions) -> Value {
    let store = Store::open(dir).unwrap();
    let text = report::render(&store, options, Format::Json).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The classifier figures the script implies, from the scores and reasons it was answered.
fn expected_classifier(seeded: &report_common::Seeded) -> Value {
    let mut bins = [(0u64, 0u64); 10];
    let (mut tp, mut fp, mut fn_, mut tn) = (0u64, 0u64, 0u64, 0u64);
    for (outcome, label) in &seeded.labelled {
        let score = outcome
            .score
            .expect("the shipped model scores every message");
        let bin = ((score * 10.0) as usize).min(9);
        let hold = outcome
            .reasons
            .iter()
            .any(|r| r.source == "classifier" && r.id == "spam_hold");
        let spam = *label == Label::Spam;
        if spam {
            bins[bin].1 += 1;
        } else {
            bins[bin].0 += 1;
        }
        match (hold, spam) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let ratio = |a: u64, b: u64| {
        if b == 0 {
            Value::Null
        } else {
            json!(a as f64 / b as f64)
        }
    };
    json!({
        "scored": 13,
        "labelled_spam": 2,
        "labelled_ham": 1,
        "bins": bins.iter().enumerate().map(|(i, (ham, spam))| json!({
            "from": i as f64 / 10.0, "to": (i + 1) as f64 / 10.0, "ham": ham, "spam": spam
        })).collect::<Vec<_>>(),
        "tp": tp, "fp": fp, "fn": fn_, "tn": tn,
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn_),
    })
}

#[tokio::test]
async fn the_json_report_has_exactly_the_expected_figures() {
    let dir = tempfile::tempdir().unwrap();
    let s = seed(dir.path()).await;
    let report = json_report(dir.path(), &period(s.end));
    let days = ["2026-11-02", "2026-11-03", "2026-11-04"];

    assert_eq!(report["schema_version"], 1);
    assert_eq!(
        report["period"],
        json!({
            "from": "2026-11-02", "from_ms": day(0), "to": "2026-11-05", "to_ms": day(3),
            "generated_at_ms": s.end, "days": days,
        })
    );
    // Languages are whatever the detector reads in the seeded texts; what must hold is that
    // every delivered or held message is counted under exactly one.
    let mut volume = report["volume"].clone();
    let by_language = volume
        .as_object_mut()
        .unwrap()
        .remove("by_language")
        .expect("volume by language");
    for (decision, total) in [("inbox", 3), ("other", 7), ("held", 3)] {
        let sum: u64 = by_language
            .as_object()
            .unwrap()
            .values()
            .map(|row| row[decision].as_u64().unwrap())
            .sum();
        assert_eq!(sum, total, "{decision} by language: {by_language}");
    }
    assert_eq!(
        volume,
        json!({
            "inbox": 3, "other": 7, "held": 3, "refused": 3,
            "refused_by_reason": {"rate_limited": 1, "sender_restricted": 1, "too_long": 1},
            "days": [
                {"day": days[0], "inbox": 2, "other": 5, "held": 2, "refused": 2},
                {"day": days[1], "inbox": 0, "other": 2, "held": 1, "refused": 1},
                {"day": days[2], "inbox": 1, "other": 0, "held": 0, "refused": 0},
            ],
        })
    );
    assert_eq!(
        report["rules"],
        json!([
            {"rule": "test.coupon", "hits": 2, "held": 2, "labelled_spam": 2, "labelled_ham": 0, "precision": 1.0},
            {"rule": "test.promo", "hits": 1, "held": 0, "labelled_spam": 0, "labelled_ham": 1, "precision": 0.0},
        ])
    );
    assert_eq!(report["classifier"], expected_classifier(&s));
    assert_eq!(
        report["limits"],
        json!({
            "rate_limited": {"per_day": 1},
            "sender_restricted": 1,
            "signals": [{"signal": "fan_out", "messages": 1, "held": 1}],
            "days": [
                {"day": days[0], "rate_limited": 1, "signals": 0},
                {"day": days[1], "rate_limited": 0, "signals": 1},
                {"day": days[2], "rate_limited": 0, "signals": 0},
            ],
        })
    );
    // Day 1: the bot's fan-out restricts it; the reviewer's removal of sam's second spam
    // crosses sam's strike threshold (automated) and restricts sam fully (reviewer).
    // Day 2: the bot's appeal lifts its restriction, a reviewer lifts sam's.
    assert_eq!(
        report["restrictions"],
        json!({
            "restricted": {"automated": 2, "reviewer": 1},
            "lifted": {"appeal": 1, "reviewer": 1},
            "members_restricted": 2, "members_lifted": 2,
            "days": [
                {"day": days[0], "restricted": 0, "lifted": 0},
                {"day": days[1], "restricted": 3, "lifted": 0},
                {"day": days[2], "restricted": 0, "lifted": 2},
            ],
        })
    );
    assert_eq!(
        report["review"],
        json!({
            "queued_held": 3, "queued_reported": 1,
            "decided": {"release": 1, "remove": 1, "restrict_sender": 1},
            "labelled": {"ham": 1, "spam": 2},
            // 2h45m, 24h40m and 43h from queueing to decision.
            "time_to_decision": {"count": 3, "median_ms": 88_800_000, "p90_ms": 154_800_000, "max_ms": 154_800_000},
            // The bot's held pitch, queued on day 1 at 10:02, is still open at day 2 12:00.
            "open_at_end": 1, "oldest_open_age_ms": 26 * HOUR - 2 * 60_000,
            "days": [
                {"day": days[0], "queued": 3, "decided": 1, "depth": 2},
                {"day": days[1], "queued": 1, "decided": 1, "depth": 2},
                {"day": days[2], "queued": 0, "decided": 1, "depth": 1},
            ],
        })
    );
    assert_eq!(
        report["appeals"],
        json!({
            "filed": 2, "on_messages": 1, "on_restrictions": 1,
            "upheld": 1, "overturned": 1, "open": 0,
            "time_to_decision": {"count": 2, "median_ms": 22 * HOUR, "p90_ms": 22 * HOUR + HOUR / 2, "max_ms": 22 * HOUR + HOUR / 2},
        })
    );
    assert_eq!(
        report["top_held_senders"],
        json!([
            {"member_id": s.sam, "held": 2, "labelled_spam": 2, "labelled_ham": 0},
            {"member_id": s.bot, "held": 1, "labelled_spam": 0, "labelled_ham": 0},
        ])
    );
}

#[tokio::test]
async fn a_narrower_period_counts_only_its_own_events() {
    let dir = tempfile::tempdir().unwrap();
    let s = seed(dir.path()).await;
    let report = json_report(
        dir.path(),
        &ReportOptions::new(Some(day(1)), Some(day(2)), s.end),
    );
    assert_eq!(report["period"]["days"], json!(["2026-11-03"]));
    assert_eq!(report["volume"]["inbox"], 0);
    assert_eq!(report["volume"]["other"], 2);
    assert_eq!(report["volume"]["held"], 1);
    assert_eq!(
        report["volume"]["refused_by_reason"],
        json!({"sender_restricted": 1})
    );
    // Items queued on day 0 still count toward the depth and the queue at the end of day 1.
    assert_eq!(report["review"]["days"][0]["depth"], 2);
    assert_eq!(report["review"]["open_at_end"], 2);
    assert_eq!(report["review"]["decided"], json!({"restrict_sender": 1}));
    assert_eq!(report["appeals"]["filed"], 2);
    assert_eq!(report["appeals"]["open"], 0);
}

#[tokio::test]
async fn csv_and_html_carry_the_same_figures_and_no_message_text() {
    let dir = tempfile::tempdir().unwrap();
    let s = seed(dir.path()).await;
    let store = Store::open(dir.path()).unwrap();
    let options = period(s.end);
    let csv = report::render(&store, &options, Format::Csv).unwrap();
    let html = report::render(&store, &options, Format::Html).unwrap();
    let json = report::render(&store, &options, Format::Json).unwrap();

    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("section,key,metric,value"));
    for row in [
        "volume,total,held,3",
        "volume,2026-11-02,other,5",
        "refused_by_reason,rate_limited,refused,1",
        "rules,test.coupon,precision,1",
        "rules,test.promo,labelled_ham,1",
        "rate_limits,per_day,refused,1",
        "bot_signals,fan_out,held,1",
        "restrictions,automated,restricted,2",
        "review,2026-11-03,depth,2",
        "review_time_to_decision,total,median_ms,88800000",
        "appeals,total,overturned,1",
        &format!("top_held_senders,{},held,2", s.sam),
    ] {
        assert!(csv.lines().any(|l| l == row), "missing CSV row {row}");
    }
    assert!(
        lines.all(|l| l.split(',').count() == 4),
        "every row has 4 fields"
    );

    for id in html::SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    // One chart per daily time series (volume, limits, restrictions, review) plus the
    // score distribution.
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(html.contains(&format!("<title>{}</title>", html::TITLE)));
    assert!(!html.contains("<script"), "no scripts");
    for fetch in ["src=", "href=", "<link", "@import", "url("] {
        assert!(
            !html.contains(fetch),
            "the page loads nothing: found {fetch}"
        );
    }
    assert!(html.contains(&format!("<td>{}</td>", s.sam)));

    for body in [
        "zzcoupon",
        "lunch on Thursday",
        "quick note",
        "incident reviews",
    ] {
        for (format, text) in [("csv", &csv), ("html", &html), ("json", &json)] {
            assert!(!text.contains(body), "{format} leaks message text {body:?}");
        }
    }
}

#[tokio::test]
async fn the_cli_and_the_reviewer_route_serve_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = seed(&data).await;
    let expected = json_report(&data, &period(s.end));
    let without_time = |mut v: Value| {
        // The report time differs (the CLI and server read the system clock), and so does
        // the age of the open item, measured at min(to, report time).
        v["period"]["generated_at_ms"] = Value::Null;
        v["review"]["oldest_open_age_ms"] = Value::Null;
        v
    };

    let out = dir.path().join("report.json");
    let status = Command::new(env!("CARGO_BIN_EXE_sendguard"))
        .args(["report", "--from", "2026-11-02", "--to", "2026-11-05"])
        .args(["--format", "json", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let written: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(without_time(written), without_time(expected.clone()));

    let bad = Command::new(env!("CARGO_BIN_EXE_sendguard"))
        .args(["report", "--format", "pdf", "--out"])
        .arg(&out)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--format must be html, json or csv"));

    let server = common::Server::start(&data, None);
    let (status, body) = server
        .post(
            "/v1/admin/reviewers",
            common::ADMIN_TOKEN,
            json!({"name": "rex"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let reviewer = body["token"].as_str().unwrap().to_string();
    let path = "/v1/review/report?from=2026-11-02&to=2026-11-05&format=json";
    let (status, body) = server.get(path, &reviewer).await;
    assert_eq!(status, 200);
    assert_eq!(without_time(body), without_time(expected));

    let (status, body) = server.get("/v1/review/report?format=pdf", &reviewer).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "format");
    let (status, _) = server.get(path, common::ADMIN_TOKEN).await;
    assert_eq!(status, 401, "only reviewers read reports");

    let html = server
        .client
        .get(server.url("/v1/review/report?format=html"))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    assert!(html
        .text()
        .await
        .unwrap()
        .contains("id=\"top-held-senders\""));
    assert!(server.terminate().success());
}

#[test]
fn an_empty_store_gives_a_complete_report_of_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let options = ReportOptions::new(None, None, day(0));
    let json: Value =
        serde_json::from_str(&report::render(&store, &options, Format::Json).unwrap()).unwrap();
    assert_eq!(json["volume"]["inbox"], 0);
    assert_eq!(json["period"]["days"], json!([]));
    assert_eq!(json["classifier"]["precision"], Value::Null);
    assert_eq!(json["review"]["time_to_decision"]["median_ms"], Value::Null);
    let html = report::render(&store, &options, Format::Html).unwrap();
    for id in html::SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    assert!(
        !html.contains("chart unavailable"),
        "charts draw with no data"
    );
}
