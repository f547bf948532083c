//! InMail credits as the product runs them (issue #23), on a manual clock through the
//! library API: a reply within the refund window returns the credit and one after it does
//! not; once the recipient replied, follow-ups cost nothing; unused credits roll over up
//! to the cap and no further.

mod common;
mod library_common;

use std::sync::Arc;

use serde_json::json;

use library_common::{app_with, member};
use sendguard::app::SendRequest;
use sendguard::clock::ManualClock;
use sendguard::config::{Config, MessagingConfig};
use sendguard::domain::{MessageKind, Plan};
use sendguard::{App, Engine, Store};

/// 2026-11-10T12:00:00Z.
const NOV_10_NOON: i64 = 1_794_312_000_000;
const DAY: i64 = 86_400_000;

fn app(dir: &std::path::Path, clock: Arc<ManualClock>, grant: u32, cap: u32) -> App {
    let messaging = MessagingConfig {
        inmail_credits_premium: grant,
        inmail_rollover_cap_premium: cap,
        inmail_refund_window_days: 90,
        ..MessagingConfig::default()
    };
    app_with(dir, clock, messaging)
}

fn inmail(to: u64, body: &str) -> SendRequest {
    SendRequest {
        kind: MessageKind::Inmail,
        ..SendRequest::text(to, body)
    }
}

#[tokio::test]
async fn a_reply_on_day_89_returns_the_credit_and_one_on_day_91_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOV_10_NOON));
    // Grant 2 and cap 2: month turns top the balance up to 2, so a refund shows as a 3.
    let app = app(dir.path(), Arc::clone(&clock), 2, 2);
    let recruiter = member(&app, "recruiter", Plan::Premium).await;
    let early = member(&app, "early", Plan::Free).await;
    let late = member(&app, "late", Plan::Free).await;

    let to_early = app
        .send(
            recruiter,
            inmail(early, "Would you like to talk about a role?"),
        )
        .await
        .unwrap();
    let to_late = app
        .send(
            recruiter,
            inmail(late, "Would you like to talk about a role?"),
        )
        .await
        .unwrap();
    assert!(to_early.inmail && to_late.inmail);
    let credits = app.inmail_credits(recruiter).unwrap();
    assert_eq!(credits.balance, 0);
    assert_eq!(credits.pending.len(), 2);
    assert_eq!(credits.pending[0].refund_until, NOV_10_NOON + 90 * DAY);

    clock.advance_ms(89 * DAY);
    assert_eq!(app.inmail_credits(recruiter).unwrap().balance, 2, "grants");
    let reply = app
        .send(early, SendRequest::text(recruiter, "Yes, happy to talk"))
        .await
        .unwrap();
    assert_eq!(reply.thread_id, to_early.thread_id);
    let credits = app.inmail_credits(recruiter).unwrap();
    assert_eq!(credits.balance, 3, "the day-89 reply returned its credit");
    let pending: Vec<u64> = credits.pending.iter().map(|p| p.message_id).collect();
    assert_eq!(pending, [to_late.message_id]);

    clock.advance_ms(2 * DAY);
    assert!(
        app.inmail_credits(recruiter).unwrap().pending.is_empty(),
        "past its window the late InMail is no longer pending"
    );
    let reply = app
        .send(
            late,
            SendRequest::text(recruiter, "Sorry for the delay, yes"),
        )
        .await
        .unwrap();
    assert_eq!(reply.thread_id, to_late.thread_id);
    assert_eq!(
        app.inmail_credits(recruiter).unwrap().balance,
        3,
        "the day-91 reply returned nothing"
    );
}

#[tokio::test]
async fn follow_ups_cost_a_credit_until_the_recipient_replies_and_nothing_after() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOV_10_NOON));
    let app = app(dir.path(), Arc::clone(&clock), 2, 2);
    let recruiter = member(&app, "recruiter", Plan::Premium).await;
    let candidate = member(&app, "candidate", Plan::Free).await;
    let other = member(&app, "other", Plan::Free).await;

    let first = app
        .send(
            recruiter,
            inmail(candidate, "A role in Lisbon, interested?"),
        )
        .await
        .unwrap();
    clock.advance_ms(60_000);
    let nudge = app
        .send(
            recruiter,
            inmail(candidate, "Just checking you saw my note"),
        )
        .await
        .unwrap();
    assert!(
        nudge.inmail,
        "before a reply a follow-up is still an InMail"
    );
    assert_eq!(app.inmail_credits(recruiter).unwrap().balance, 0);

    clock.advance_ms(DAY);
    app.send(candidate, SendRequest::text(recruiter, "Tell me more"))
        .await
        .unwrap();
    let credits = app.inmail_credits(recruiter).unwrap();
    assert_eq!(credits.balance, 2, "both charges of the thread came back");
    assert!(credits.pending.is_empty());

    for body in ["Great, the details are below", "And the salary band"] {
        clock.advance_ms(60_000);
        let follow_up = app.send(recruiter, inmail(candidate, body)).await.unwrap();
        assert_eq!(follow_up.thread_id, first.thread_id);
        assert!(!follow_up.inmail, "a conversation is not charged");
        assert_eq!(follow_up.decision.as_str(), "inbox");
        assert_eq!(app.inmail_credits(recruiter).unwrap().balance, 2);
    }
    let elsewhere = app
        .send(recruiter, inmail(other, "A role in Porto, interested?"))
        .await
        .unwrap();
    assert!(elsewhere.inmail);
    assert_eq!(app.inmail_credits(recruiter).unwrap().balance, 1);
}

#[tokio::test]
async fn unused_credits_roll_over_until_the_cap_and_no_further() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOV_10_NOON));
    let app = app(dir.path(), Arc::clone(&clock), 2, 5);
    let recruiter = member(&app, "recruiter", Plan::Premium).await;
    let candidate = member(&app, "candidate", Plan::Free).await;

    let mut balances = vec![app.inmail_credits(recruiter).unwrap().balance];
    for _ in 0..3 {
        clock.advance_ms(31 * DAY); // Dec 11, Jan 11, Feb 11
        balances.push(app.inmail_credits(recruiter).unwrap().balance);
    }
    assert_eq!(balances, [2, 4, 5, 5]);
    let credits = app.inmail_credits(recruiter).unwrap();
    assert_eq!((credits.monthly_grant, credits.rollover_cap), (2, 5));

    app.send(
        recruiter,
        inmail(candidate, "A role in Lisbon, interested?"),
    )
    .await
    .unwrap();
    assert_eq!(app.inmail_credits(recruiter).unwrap().balance, 4);
    clock.advance_ms(28 * DAY); // March 11
    assert_eq!(
        app.inmail_credits(recruiter).unwrap().balance,
        5,
        "the March grant fills up to the cap, not 6"
    );
}

/// The member's view over HTTP: balance, grant, cap, window and what is pending refund.
#[tokio::test]
async fn get_credits_shows_the_balance_and_what_a_reply_would_refund() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[messaging]\ninmail_credits_premium = 3\ninmail_rollover_cap_premium = 6\n";
    let server = common::Server::start(&dir.path().join("data"), Some(config));
    let (recruiter_id, recruiter) = server.member("recruiter", "premium").await;
    let (candidate, candidate_token) = server.member("candidate", "free").await;
    let (_, free) = server.member("free", "free").await;

    let (status, credits) = server.get("/v1/credits", &recruiter).await;
    assert_eq!(status, 200, "{credits}");
    assert_eq!(
        credits,
        json!({"balance": 3, "monthly_grant": 3, "rollover_cap": 6,
               "refund_window_days": 90, "pending": []})
    );
    let (status, sent) = server
        .post(
            "/v1/messages",
            &recruiter,
            json!({"to": candidate, "kind": "inmail",
                   "body": "We have an opening for a senior data engineer on my team"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let (_, credits) = server.get("/v1/credits", &recruiter).await;
    assert_eq!(credits["balance"], 2);
    let pending = &credits["pending"][0];
    assert_eq!(pending["message_id"], sent["message_id"]);
    assert_eq!(pending["recipient"], candidate);
    assert_eq!(
        pending["refund_until"].as_i64().unwrap() - pending["sent_at"].as_i64().unwrap(),
        90 * DAY
    );

    let (status, reply) = server
        .send(&candidate_token, recruiter_id, "Sounds good, tell me more")
        .await;
    assert_eq!(
        (status, &reply["thread_id"]),
        (201, &sent["thread_id"]),
        "{reply}"
    );
    let (_, credits) = server.get("/v1/credits", &recruiter).await;
    assert_eq!(
        (&credits["balance"], &credits["pending"]),
        (&json!(3), &json!([]))
    );
    let (status, body) = server.get("/v1/credits", &free).await;
    assert_eq!((status, &body["monthly_grant"]), (200, &json!(0)));
}

/// A reply held for review counts from when it was written: released after the window has
/// closed, it still returns the credit.
#[tokio::test]
async fn a_held_reply_released_after_the_window_still_returns_the_credit() {
    use sendguard::app::DecisionRequest;
    use sendguard::domain::{Label, ReviewAction};
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at(NOV_10_NOON));
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
    let config = Config {
        messaging: MessagingConfig {
            inmail_credits_premium: 1,
            inmail_rollover_cap_premium: 1,
            ..MessagingConfig::default()
        },
        ..Config::default()
    };
    let app = App::new(
        Store::open(dir.path()).unwrap(),
        Engine::new(Default::default(), rules, None),
        &config,
        Arc::clone(&clock) as Arc<dyn sendguard::clock::Clock>,
    );
    let recruiter = member(&app, "recruiter", Plan::Premium).await;
    let candidate = member(&app, "candidate", Plan::Free).await;
    app.send(
        recruiter,
        inmail(candidate, "A role in Lisbon, interested?"),
    )
    .await
    .unwrap();
    clock.advance_ms(80 * DAY);
    let reply = app
        .send(
            candidate,
            SendRequest::text(recruiter, "Yes! But first please wire the fee"),
        )
        .await
        .unwrap();
    assert_eq!(reply.decision.as_str(), "held");
    assert_eq!(
        app.inmail_credits(recruiter).unwrap().balance,
        1,
        "grants only"
    );

    clock.advance_ms(15 * DAY); // day 95: the window has closed
    let reviewer = app.create_reviewer("rita").await.unwrap().reviewer_id;
    let item = app.review_queue(reviewer, 10).unwrap()[0].item_id;
    app.decide_item(
        reviewer,
        item,
        DecisionRequest {
            label: Label::Ham,
            action: ReviewAction::Release,
            note: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.inmail_credits(recruiter).unwrap().balance,
        2,
        "the day-80 reply returned the credit on top of the capped grant"
    );
}
