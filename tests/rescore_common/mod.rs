//! The rescore plan shared by the rescore tests (`tests/rescore.rs` states it): a store of
//! 3,002 messages sent under one rule pack, to be rescored under another.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures_util::future::join_all;
use sendguard::app::{DecisionRequest, NewMember, SendRequest};
use sendguard::clock::ManualClock;
use sendguard::config::{Config, MessagingConfig};
use sendguard::domain::{Label, MessageStatus, Plan, ReviewAction};
use sendguard::limits::LimitsConfig;
use sendguard::policy::PolicyConfig;
use sendguard::store::ReviewReader;
use sendguard::{App, Engine, Store};

pub const START: i64 = 1_790_000_000_000;
pub const NOW: i64 = 1_800_000_000_000;
pub const PAIRS: u64 = 20;
pub const PER_TEMPLATE: u64 = 30;

pub const OLD_PACK: &str = r#"
category = "test"
[[rule]]
id = "test.quuxcoin"
description = "old pack: quuxcoin is held"
keywords = ["quuxcoin"]
action = "hold"
score = 5.0
examples = { match = ["buy quuxcoin"], no_match = ["buy coffee"] }
"#;

pub const NEW_PACK: &str = r#"
category = "test"
[[rule]]
id = "test.zorblax"
description = "new pack: zorblax goes to Other"
keywords = ["zorblax"]
action = "other"
score = 0.5
examples = { match = ["the zorblax report"], no_match = ["the report"] }
[[rule]]
id = "test.frobnicate"
description = "new pack: frobnicate is held"
keywords = ["frobnicate"]
action = "hold"
score = 5.0
examples = { match = ["frobnicate it"], no_match = ["fix it"] }
"#;

pub fn body(template: u64, n: u64) -> String {
    let topic = match template {
        0 => "are you free for a coffee next week",
        1 => "have you seen the zorblax report",
        2 => "we should frobnicate the roadmap",
        3 => "quuxcoin is the future of payments",
        _ => "frobnicate your savings with quuxcoin",
    };
    format!("Hello, {topic}? Reference {n}.")
}

/// Every limit off: the test is about content, not sending pace.
pub fn relaxed() -> Config {
    let mut limits = LimitsConfig::default();
    for rate in [&mut limits.rate, &mut limits.young_rate] {
        rate.per_minute = 0;
        rate.minute_burst = 0;
        rate.per_hour = 0;
        rate.per_day = 0;
    }
    limits.new_conversations.per_day = 0;
    limits.new_conversations.per_week = 0;
    limits.fanout.recipients = 0;
    limits.cadence.intervals = 0;
    Config {
        limits,
        messaging: MessagingConfig {
            recall_window_secs: 3600,
            ..MessagingConfig::default()
        },
        ..Config::default()
    }
}

/// Seeds `dir` with the plan above, sent through `App::send` under the old pack.
pub async fn seed(dir: &Path) {
    let rules =
        sendguard::rules::compile(&[("old.toml".to_string(), OLD_PACK.to_string())]).unwrap();
    let engine = Engine::new(PolicyConfig::default(), rules, None);
    let clock = Arc::new(ManualClock::at(START));
    let app = App::new(Store::open(dir).unwrap(), engine, &relaxed(), clock.clone());
    let mut members = Vec::new();
    for i in 0..(PAIRS + 2) * 2 {
        let created = app
            .create_member(NewMember {
                handle: format!("member{i}"),
                display_name: None,
                plan: Plan::Free,
            })
            .await
            .unwrap();
        members.push(created.member_id);
    }
    for j in 0..PAIRS + 2 {
        if j % 2 == 0 || j >= PAIRS {
            app.connect(members[2 * j as usize], members[2 * j as usize + 1])
                .await
                .unwrap();
        }
    }
    // One message per pair per round, the pairs concurrently (they share each fsync).
    let mut sent: BTreeMap<(u64, u64), Vec<u64>> = BTreeMap::new();
    for round in 0..5 * PER_TEMPLATE {
        let template = round / PER_TEMPLATE;
        clock.advance_ms(1000);
        let outcomes = join_all((0..PAIRS).map(|j| {
            let (from, to) = (members[2 * j as usize], members[2 * j as usize + 1]);
            app.send(
                from,
                SendRequest::text(to, body(template, round * PAIRS + j)),
            )
        }))
        .await;
        for (j, outcome) in outcomes.into_iter().enumerate() {
            let id = outcome.unwrap().message_id;
            sent.entry((j as u64, template)).or_default().push(id);
        }
    }
    for (j, template) in [(PAIRS, 1), (PAIRS + 1, 2)] {
        let (from, to) = (members[2 * j as usize], members[2 * j as usize + 1]);
        app.send(from, SendRequest::text(to, body(template, 0)))
            .await
            .unwrap();
    }
    // Pair 2 (connected) recalls its zorblax messages.
    for &id in &sent[&(2, 1)] {
        app.recall(members[4], id).await.unwrap();
    }
    let reviewer = app.create_reviewer("rita").await.unwrap().reviewer_id;
    let decide = |id: u64, label: Label, action: ReviewAction| {
        let app = &app;
        async move {
            let item = app.open_review_item_for(id).unwrap().unwrap();
            let request = DecisionRequest {
                label,
                action,
                note: None,
            };
            app.decide_item(reviewer, item, request).await.unwrap();
        }
    };
    for &id in &sent[&(1, 3)] {
        decide(id, Label::Spam, ReviewAction::Remove).await;
    }
    for &id in &sent[&(0, 4)] {
        decide(id, Label::Ham, ReviewAction::Release).await;
    }
    app.flush().unwrap();
}

/// A message as a rescore may change it: id, status, decision, verdict history length.
pub type MessageState = (u64, MessageStatus, String, usize);

/// Everything a rescore may change: each message's status, decision and history length,
/// the open review queue, and the rescore audit entries.
pub fn snapshot(store: &Store) -> (Vec<MessageState>, Vec<u64>, usize) {
    let messages = store
        .messages_from(0)
        .map(|raw| {
            let m = raw.unwrap().decode().unwrap();
            let decision = m.verdict.decision.as_str().to_string();
            (m.id, m.status, decision, m.previous_verdicts.len())
        })
        .collect();
    let mut queue: Vec<u64> = store
        .open_review_items()
        .map(|id| store.review_item(id.unwrap()).unwrap().unwrap().message_id)
        .collect();
    queue.sort_unstable();
    let audits = store
        .audit_range(0, i64::MAX)
        .filter(|e| e.as_ref().unwrap().action == "rescore_change")
        .count();
    (messages, queue, audits)
}
