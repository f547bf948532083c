//! `[events] backend = "nats"` alone: two `sendguard serve` replicas on the real NATS server
//! (127.0.0.1:4222, JetStream on; `scripts/start-services` starts it), each with its own
//! sled store (the same members created in the same order so ids agree), so what crosses
//! can only have crossed on NATS: a restriction set through A reaches the member's stream on
//! B. Deliveries and rule reloads crossing replicas are shown on the whole shared
//! deployment in `replicas_shared.rs`. Every test uses its own subject prefix and deletes
//! its JetStream stream when done.

mod common;
mod replicas_common;

use common::{Server, ADMIN_TOKEN};
use replicas_common::{member_everywhere, Subjects};
use serde_json::json;

fn config(prefix: &str) -> String {
    format!("[events]\nbackend = \"nats\"\n[events.nats]\nsubject_prefix = \"{prefix}\"\ndecisions_max_bytes = 67108864\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restriction_set_through_a_reaches_the_members_stream_on_b() {
    let subjects = Subjects::new();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&subjects.prefix);
    let a = Server::start(&dir.path().join("a"), Some(&config));
    let b = Server::start(&dir.path().join("b"), Some(&config));
    let carol = member_everywhere(&[&a, &b], "carol").await;
    let carols_stream_on_b = b.open_events(&carol.tokens[1]).await;
    let (status, body) = a
        .post(
            &format!("/v1/admin/members/{}/restriction", carol.id),
            ADMIN_TOKEN,
            json!({"level": "full", "reason": "drill"}),
        )
        .await;
    assert!(status < 300, "{status} {body}");
    let received = common::events_until(carols_stream_on_b, "\"restricted\":true").await;
    assert!(
        received.contains("event: account.restriction"),
        "{received}"
    );
}
