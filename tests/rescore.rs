//! Batch rescoring end to end through the library: a store of 3,002 messages sent under one
//! rule pack, rescored under another. Exact diff counts, `--apply` making exactly those
//! changes, a second apply changing nothing, and a run stopped midway that resumes to the
//! same diff and the same store as an uninterrupted one.
//!
//! The plan (no classifier, so every count follows from the rules alone): 20 pairs, sender
//! 2j → recipient 2j+1, connected when j is even; 150 messages per pair, 30 of each template:
//!
//! | template | old pack | new pack | connected | not connected |
//! |---|---|---|---|---|
//! | 0 benign | relationship | relationship | unchanged | unchanged |
//! | 1 zorblax | relationship | other | inbox->other | unchanged |
//! | 2 frobnicate | relationship | held | inbox->held | other->held |
//! | 3 quuxcoin | held | relationship | held->inbox | held->other |
//! | 4 quuxcoin frobnicate | held | held | unchanged | unchanged |
//!
//! Then: pair 2 recalls its zorblax messages (30 skipped), a reviewer removes pair 1's
//! quuxcoin messages (30 skipped) and releases pair 0's template-4 messages (30 protected:
//! the new pack would hold them again). Pair 20 (connected) sends one zorblax message and
//! pair 21 (connected) one frobnicate message, alone in their threads.

mod rescore_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rescore_common::*;
use sendguard::app::{NewMember, SendRequest};
use sendguard::batch::{self, Inputs, Options, Report};
use sendguard::clock::ManualClock;
use sendguard::domain::{Folder, MessageStatus, Plan, RenderedBody};
use sendguard::policy::PolicyConfig;
use sendguard::store::{Reader, ReviewReader};
use sendguard::{App, Engine, Store};

/// Whether a dry-run and an apply checkpoint are stored.
fn checkpoints(store: &Store) -> (bool, bool) {
    let held = |mode| {
        store
            .rescore_checkpoint::<serde_json::Value>(mode)
            .unwrap()
            .is_some()
    };
    (held("dry"), held("apply"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn new_inputs(rules_dir: &Path) -> Inputs {
    Inputs::load(&PolicyConfig::default(), rules_dir, None, None).unwrap()
}

fn run(store: &Store, inputs: &Inputs, apply: bool, max: Option<u64>) -> Report {
    let options = Options {
        apply,
        max_messages: max,
        chunk: 256,
        now: NOW,
    };
    batch::rescore(store, inputs, &options, &mut |_| {}).unwrap()
}

fn counts(report: &Report) -> BTreeMap<String, u64> {
    report
        .diff
        .transitions
        .iter()
        .map(|(name, t)| (name.clone(), t.count))
        .collect()
}

fn expected_transitions() -> BTreeMap<String, u64> {
    [
        ("inbox->other", 270 + 1),
        ("inbox->held", 300 + 1),
        ("other->held", 300),
        ("held->inbox", 300),
        ("held->other", 270),
    ]
    .into_iter()
    .map(|(name, count)| (name.to_string(), count))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescore_diffs_applies_once_and_resumes_to_the_same_result() {
    let root = tempfile::tempdir().unwrap();
    let seeded = root.path().join("seeded");
    seed(&seeded).await;
    let rules = root.path().join("rules_new");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("test.toml"), NEW_PACK).unwrap();
    let inputs = new_inputs(&rules);
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    copy_dir(&seeded, &a);
    copy_dir(&seeded, &b);

    // Dry run: exact counts, and nothing in the store changes.
    let store = Store::open(&a).unwrap();
    let before = snapshot(&store);
    assert_eq!(
        before.1.len(),
        570 + 570,
        "held quuxcoin messages in the queue"
    );
    let dry = run(&store, &inputs, false, None);
    assert!(dry.dry_run && dry.complete && !dry.resumed);
    let d = &dry.diff;
    assert_eq!(d.scanned, 3002);
    assert_eq!((d.skipped.recalled, d.skipped.removed), (30, 30));
    assert_eq!(d.skipped.before_since, 0);
    assert_eq!(d.rescored, 2942);
    assert_eq!(d.changed, 1442);
    assert_eq!(d.unchanged, 600 + 300 + 570);
    assert_eq!(counts(&dry), expected_transitions());
    assert_eq!(d.protected.len(), 1);
    assert_eq!(d.protected["inbox->held"].count, 30);
    assert_eq!(d.conflicts, 0);
    assert_eq!(d.rules["test.quuxcoin"].before, 570 + 600);
    assert_eq!(d.rules["test.quuxcoin"].after, 0);
    assert_eq!(d.rules["test.frobnicate"].after, 601 + 600);
    assert_eq!(d.rules["test.zorblax"].after, 571);
    assert_eq!(d.rules["test.zorblax"].transitions["inbox->other"], 271);
    assert_eq!(d.rules["test.quuxcoin"].transitions["held->other"], 270);
    assert_eq!(d.score_bands["none"].after, 2942);
    for t in d.transitions.values() {
        assert_eq!(t.examples.len(), batch::diff::EXAMPLES);
        assert!(t.examples.windows(2).all(|w| w[0] < w[1]));
    }
    assert_eq!(snapshot(&store), before, "a dry run changes nothing");

    // Apply: exactly the dry run's changes.
    let applied = run(&store, &inputs, true, None);
    assert!(!applied.dry_run && applied.complete);
    assert_eq!(applied.diff.transitions, dry.diff.transitions);
    assert_eq!(applied.diff.protected, dry.diff.protected);
    let after = snapshot(&store);
    assert_eq!(after.2, 1442, "one audit entry per change");
    assert_eq!(
        after.1.len(),
        570 + 601,
        "template-4 holds plus the new holds"
    );
    let changed: Vec<_> = before
        .0
        .iter()
        .zip(&after.0)
        .filter(|(old, new)| old != new)
        .collect();
    assert_eq!(changed.len(), 1442);
    for (old, new) in &changed {
        assert_eq!(new.3, old.3 + 1, "the old verdict is kept");
    }
    let holds = after
        .0
        .iter()
        .filter(|m| m.1 == MessageStatus::Held)
        .count();
    assert_eq!(holds, 570 + 601);
    let examples = &dry.diff.transitions["held->other"].examples;
    let released = store.message(examples[0]).unwrap().unwrap();
    assert_eq!(released.status, MessageStatus::Delivered);
    assert_eq!(store.open_review_item_for(released.id).unwrap(), None);
    // The diff skips language identification; a verdict it writes has the language a send
    // would have stored.
    let language = Engine::default()
        .normalize(&RenderedBody::render(released.format, &released.body))
        .language;
    assert!(language.is_some(), "{:?}", released.body);
    assert_eq!(released.verdict.language, language);
    let protected = dry.diff.protected["inbox->held"].examples[0];
    let kept = store.message(protected).unwrap().unwrap();
    assert_eq!(
        kept.status,
        MessageStatus::Delivered,
        "a reviewer's release stands"
    );
    assert!(kept.previous_verdicts.is_empty());

    // The lone threads: pair 20's moves to Other, pair 21's leaves the recipient's folders.
    let last = after.0.len();
    let lone_other = store.message(after.0[last - 2].0).unwrap().unwrap();
    let view = store
        .view(lone_other.to, lone_other.thread_id)
        .unwrap()
        .unwrap();
    assert_eq!(view.placement, Folder::Other);
    let lone_held = store.message(after.0[last - 1].0).unwrap().unwrap();
    assert_eq!(lone_held.status, MessageStatus::Held);
    assert_eq!(store.view(lone_held.to, lone_held.thread_id).unwrap(), None);
    assert!(store
        .view(lone_held.from, lone_held.thread_id)
        .unwrap()
        .is_some());
    assert_eq!(
        checkpoints(&store),
        (false, false),
        "a finished run leaves no checkpoint"
    );

    // A second apply with the same inputs changes nothing.
    let again = run(&store, &inputs, true, None);
    assert_eq!(again.diff.changed, 0);
    assert!(again.diff.transitions.is_empty());
    assert_eq!(again.diff.unchanged, 1470 + 1442);
    assert_eq!(again.diff.protected["inbox->held"].count, 30);
    assert_eq!(snapshot(&store), after);
    drop(store);

    // Stopped after 1,000 messages, then resumed: the same diff and the same store.
    let store = Store::open(&b).unwrap();
    let first = run(&store, &inputs, true, Some(1000));
    assert!(!first.complete && !first.resumed);
    assert_eq!(first.processed, 1000);
    assert_eq!(checkpoints(&store), (false, true));
    drop(store);
    let store = Store::open(&b).unwrap();
    let rest = run(&store, &inputs, true, None);
    assert!(rest.complete && rest.resumed);
    assert_eq!(rest.processed, 2002);
    assert_eq!(rest.diff, applied.diff);
    assert_eq!(snapshot(&store), after);
}

#[tokio::test]
async fn changed_inputs_discard_the_checkpoint_and_start_over() {
    let root = tempfile::tempdir().unwrap();
    let rules = root.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("test.toml"), NEW_PACK).unwrap();
    let store = Store::open(&root.path().join("data")).unwrap();
    let app = App::new(
        store.clone(),
        Engine::default(),
        &relaxed(),
        Arc::new(ManualClock::at(START)),
    );
    let mut ids = Vec::new();
    for handle in ["ann", "ben"] {
        let new = NewMember {
            handle: handle.into(),
            display_name: None,
            plan: Plan::Free,
        };
        ids.push(app.create_member(new).await.unwrap().member_id);
    }
    for n in 0..10 {
        app.send(ids[0], SendRequest::text(ids[1], body(2, n)))
            .await
            .unwrap();
    }
    let stopped = run(&store, &new_inputs(&rules), false, Some(4));
    assert!(!stopped.complete);
    let resumed = run(&store, &new_inputs(&rules), false, Some(2));
    assert!(resumed.resumed);
    assert_eq!(resumed.diff.scanned, 6);

    let milder = NEW_PACK.replace(
        "action = \"hold\"\nscore = 5.0",
        "action = \"other\"\nscore = 0.5",
    );
    std::fs::write(rules.join("test.toml"), milder).unwrap();
    let fresh = run(&store, &new_inputs(&rules), false, None);
    assert!(fresh.discarded_checkpoint && !fresh.resumed && fresh.complete);
    assert_eq!(fresh.diff.scanned, 10);
    assert_eq!((fresh.diff.changed, fresh.diff.unchanged), (0, 10));
}
