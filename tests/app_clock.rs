//! Time-dependent rules of the library API on a manual clock: the recall window and the
//! InMail credit month, tested exactly and without sleeps.

mod library_common;

use std::sync::Arc;

use library_common::{app_with, member};
use sendguard::app::SendRequest;
use sendguard::clock::ManualClock;
use sendguard::config::{Config, MessagingConfig};
use sendguard::domain::{MessageKind, Plan};
use sendguard::{App, Engine, Store};

/// 2026-11-30T23:00:00Z: an hour before the month turns.
const NOV_30_2300: i64 = 1_796_079_600_000;

fn app(dir: &std::path::Path, clock: Arc<ManualClock>) -> App {
    let messaging = MessagingConfig {
        recall_window_secs: 60,
        inmail_credits_premium: 1,
        ..MessagingConfig::default()
    };
    app_with(dir, clock, messaging)
}

fn message(to: u64, kind: MessageKind) -> SendRequest {
    SendRequest {
        kind,
        ..SendRequest::text(to, "hello")
    }
}

#[tokio::test]
async fn recall_is_allowed_up_to_the_window_and_refused_one_millisecond_later() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOV_30_2300));
    let app = app(dir.path(), Arc::clone(&clock));
    let alice = member(&app, "alice", Plan::Free).await;
    let bob = member(&app, "bob", Plan::Free).await;

    let first = app
        .send(alice, message(bob, MessageKind::Message))
        .await
        .unwrap();
    let second = app
        .send(alice, message(bob, MessageKind::Message))
        .await
        .unwrap();
    clock.advance_ms(60_000);
    app.recall(alice, first.message_id).await.unwrap();
    clock.advance_ms(1);
    let error = app.recall(alice, second.message_id).await.unwrap_err();
    assert_eq!(error.code, "recall_window_expired");
    assert_eq!(error.limit, Some(60));
}

#[tokio::test]
async fn inmail_credits_renew_when_the_calendar_month_turns() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOV_30_2300));
    let app = app(dir.path(), Arc::clone(&clock));
    let recruiter = member(&app, "recruiter", Plan::Premium).await;
    let a = member(&app, "a", Plan::Free).await;
    let b = member(&app, "b", Plan::Free).await;

    let sent = app
        .send(recruiter, message(a, MessageKind::Inmail))
        .await
        .unwrap();
    assert!(sent.inmail);
    let error = app
        .send(recruiter, message(b, MessageKind::Inmail))
        .await
        .unwrap_err();
    assert_eq!(error.code, "inmail_quota_exhausted");
    clock.advance_ms(3_600_000 - 1); // 23:59:59.999, still November
    let error = app
        .send(recruiter, message(b, MessageKind::Inmail))
        .await
        .unwrap_err();
    assert_eq!(error.code, "inmail_quota_exhausted");
    clock.advance_ms(1); // December
    let sent = app
        .send(recruiter, message(b, MessageKind::Inmail))
        .await
        .unwrap();
    assert!(sent.inmail);
}

#[tokio::test]
async fn an_abandoned_review_claim_expires_and_another_reviewer_takes_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOV_30_2300));
    let pack = r#"
category = "test"
[[rule]]
id = "test.hold_me"
description = "holds"
keywords = ["wire the fee"]
action = "hold"
examples = { match = ["please wire the fee"] }
"#;
    let rules = sendguard::rules::compile(&[("test.toml".into(), pack.into())]).unwrap();
    let engine = Engine::new(Default::default(), rules, None);
    let config = Config::default();
    let app = App::new(
        Store::open(dir.path()).unwrap(),
        engine,
        &config,
        clock.clone(),
    );
    let alice = member(&app, "alice", Plan::Free).await;
    let bob = member(&app, "bob", Plan::Free).await;
    let mut request = message(bob, MessageKind::Message);
    request.body = "Please w1re the f.e.e today".into();
    let sent = app.send(alice, request).await.unwrap();
    assert_eq!(sent.decision.as_str(), "held");
    let first = app.create_reviewer("first").await.unwrap().reviewer_id;
    let second = app.create_reviewer("second").await.unwrap().reviewer_id;

    assert_eq!(app.review_queue(first, 10).unwrap().len(), 1);
    assert!(app.review_queue(second, 10).unwrap().is_empty());
    clock.advance_ms(config.review.claim_ttl_secs as i64 * 1000 - 1);
    assert!(
        app.review_queue(second, 10).unwrap().is_empty(),
        "claim still valid at its last ms"
    );
    clock.advance_ms(1);
    let taken = app.review_queue(second, 10).unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].message_id, sent.message_id);
    assert!(app.review_queue(first, 10).unwrap().is_empty());
}
