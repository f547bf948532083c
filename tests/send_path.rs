//! The send path over real HTTP: routing, InMail, blocks, recall, archive, search, events.

mod common;

use common::{error_of, Server};
use serde_json::json;

#[tokio::test]
async fn connections_land_in_inbox_and_strangers_in_other_until_they_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (carol, carol_token) = server.member("carol", "free").await;
    server.connect(alice, bob).await;

    let (status, sent) = server.send(&alice_token, bob, "Hi Bob, lunch?").await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "inbox");
    assert_eq!(sent["folder"], "inbox");
    assert_eq!(sent["reasons"][0]["source"], "relationship");
    assert_eq!(sent["reasons"][0]["id"], "connected");
    let friends_thread = sent["thread_id"].as_u64().unwrap();
    assert_eq!(server.folder(&bob_token, "inbox").await, [friends_thread]);

    let (status, sent) = server
        .send(&carol_token, bob, "Hello, we met at the meetup")
        .await;
    assert_eq!(status, 201);
    assert_eq!(sent["decision"], "other");
    assert_eq!(sent["reasons"][0]["id"], "outside_network");
    let stranger_thread = sent["thread_id"].as_u64().unwrap();
    assert_eq!(server.folder(&bob_token, "other").await, [stranger_thread]);
    assert_eq!(server.folder(&bob_token, "inbox").await, [friends_thread]);
    // The sender keeps their own conversation in their Inbox.
    assert_eq!(
        server.folder(&carol_token, "inbox").await,
        [stranger_thread]
    );

    // Bob answers carol: the conversation is accepted, so both now see it in the Inbox.
    let (status, reply) = server
        .post(
            "/v1/messages",
            &bob_token,
            json!({"to": carol, "body": "Nice to meet you", "thread_id": stranger_thread}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["thread_id"].as_u64(), Some(stranger_thread));
    assert_eq!(server.folder(&bob_token, "other").await, Vec::<u64>::new());
    let (_, next) = server.send(&carol_token, bob, "Great, let's talk").await;
    assert_eq!(next["decision"], "inbox");
    assert_eq!(next["reasons"][0]["id"], "accepted_thread");
    let inbox = server.folder(&bob_token, "inbox").await;
    assert_eq!(inbox, [stranger_thread, friends_thread], "newest first");
}

#[tokio::test]
async fn inmail_goes_to_the_inbox_and_runs_out_of_credit() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[messaging]\ninmail_credits_premium = 2\n";
    let server = Server::start(&dir.path().join("data"), Some(config));
    let (_, premium) = server.member("premium", "premium").await;
    let (_, free) = server.member("free", "free").await;
    let mut targets = Vec::new();
    for i in 0..3 {
        targets.push(server.member(&format!("target{i}"), "free").await);
    }
    let inmail = |to: u64| json!({"to": to, "body": "We have an opening for a senior data engineer on my team and your background looks like a great fit", "kind": "inmail"});

    for (to, to_token) in &targets[..2] {
        let (status, sent) = server.post("/v1/messages", &premium, inmail(*to)).await;
        assert_eq!(status, 201, "{sent}");
        assert_eq!(sent["decision"], "inbox");
        assert_eq!(sent["inmail"], true);
        let thread = sent["thread_id"].as_u64().unwrap();
        assert_eq!(server.folder(to_token, "inbox").await, [thread]);
        let (_, page) = server.get(&format!("/v1/threads/{thread}"), to_token).await;
        assert_eq!(page["messages"][0]["inmail"], true);
    }
    let (status, body) = server
        .post("/v1/messages", &premium, inmail(targets[2].0))
        .await;
    let error = error_of(status, &body, 403, "inmail_quota_exhausted");
    assert_eq!(error["limit"], 2);
    // A refused InMail leaves no trace in the recipient's folders.
    assert!(server.folder(&targets[2].1, "inbox").await.is_empty());

    let (status, body) = server
        .post("/v1/messages", &free, inmail(targets[0].0))
        .await;
    error_of(status, &body, 403, "inmail_not_allowed");
}

#[tokio::test]
async fn a_block_stops_messages_and_hides_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice_id, alice_token) = server.member("alice", "free").await;
    let (dave, dave_token) = server.member("dave", "free").await;
    let (status, sent) = server.send(&alice_token, dave, "hello dave").await;
    assert_eq!(status, 201);
    let thread = sent["thread_id"].as_u64().unwrap();

    let (status, _) = server
        .post("/v1/blocks", &dave_token, json!({"member_id": alice_id}))
        .await;
    assert_eq!(status, 204);
    let (status, body) = server
        .send(&alice_token, dave, "why did you block me")
        .await;
    error_of(status, &body, 403, "blocked");
    let (status, body) = server.send(&dave_token, alice_id, "one more thing").await;
    error_of(status, &body, 403, "blocked");
    assert!(server.folder(&dave_token, "other").await.is_empty());
    let (status, body) = server
        .get(&format!("/v1/threads/{thread}"), &dave_token)
        .await;
    error_of(status, &body, 404, "thread_not_found");
    let (status, body) = server.get("/v1/search?q=hello", &dave_token).await;
    assert_eq!(status, 200);
    assert_eq!(body["results"].as_array().unwrap().len(), 0);

    let (status, _) = server
        .delete(&format!("/v1/blocks/{alice_id}"), &dave_token)
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .send(&alice_token, dave, "thanks for unblocking")
        .await;
    assert_eq!(status, 201);
    assert_eq!(server.folder(&dave_token, "other").await, [thread]);
}

#[tokio::test]
async fn the_sender_recalls_and_the_recipient_no_longer_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (_, eve_token) = server.member("eve", "free").await;
    let (_, first) = server.send(&alice_token, bob, "first message").await;
    let (_, oops) = server.send(&alice_token, bob, "wrong person, sorry").await;
    let thread = first["thread_id"].as_u64().unwrap();
    let oops_id = oops["message_id"].as_u64().unwrap();
    assert_eq!(server.thread_messages(&bob_token, thread).await.len(), 2);

    let (status, body) = server
        .delete(&format!("/v1/messages/{oops_id}"), &bob_token)
        .await;
    error_of(status, &body, 403, "not_sender");
    let (status, body) = server
        .delete(&format!("/v1/messages/{oops_id}"), &eve_token)
        .await;
    error_of(status, &body, 404, "message_not_found");
    let (status, _) = server
        .delete(&format!("/v1/messages/{oops_id}"), &alice_token)
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .delete(&format!("/v1/messages/{oops_id}"), &alice_token)
        .await;
    assert_eq!(status, 204, "recall is idempotent");

    let seen = server.thread_messages(&bob_token, thread).await;
    assert_eq!(seen, [first["message_id"].as_u64().unwrap()]);
    let (_, results) = server.get("/v1/search?q=wrong%20person", &bob_token).await;
    assert_eq!(results["results"].as_array().unwrap().len(), 0);
    let (status, body) = server
        .delete(&format!("/v1/messages/{oops_id}"), &bob_token)
        .await;
    error_of(status, &body, 404, "message_not_found");
}

#[tokio::test]
async fn archive_then_search_still_finds_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(alice, bob).await;
    let (_, sent) = server
        .send(&alice_token, bob, "The Quarterly Roadmap draft is ready")
        .await;
    let thread = sent["thread_id"].as_u64().unwrap();

    let (status, _) = server
        .post(
            &format!("/v1/threads/{thread}/archive"),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    assert!(server.folder(&bob_token, "inbox").await.is_empty());
    assert_eq!(server.folder(&bob_token, "archived").await, [thread]);

    let (status, results) = server
        .get("/v1/search?q=quarterly%20roadmap", &bob_token)
        .await;
    assert_eq!(status, 200);
    let hits = results["results"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{results}");
    assert_eq!(hits[0]["thread_id"].as_u64(), Some(thread));
    assert_eq!(hits[0]["folder"], "archived");
    let (_, none) = server
        .get(
            "/v1/search?q=roadmap",
            &server.member("carol", "free").await.1,
        )
        .await;
    assert_eq!(
        none["results"].as_array().unwrap().len(),
        0,
        "only one's own conversations"
    );

    let (status, _) = server
        .post(
            &format!("/v1/threads/{thread}/unarchive"),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(server.folder(&bob_token, "inbox").await, [thread]);

    // A new message also brings an archived conversation back.
    server
        .post(
            &format!("/v1/threads/{thread}/archive"),
            &bob_token,
            json!({}),
        )
        .await;
    server.send(&alice_token, bob, "ping").await;
    assert_eq!(server.folder(&bob_token, "inbox").await, [thread]);
    assert!(server.folder(&bob_token, "archived").await.is_empty());
}

#[tokio::test]
async fn unread_counts_fall_when_the_thread_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    for text in ["one", "two", "three"] {
        server.send(&alice_token, bob, text).await;
    }
    let (_, page) = server.get("/v1/folders/other", &bob_token).await;
    assert_eq!(page["threads"][0]["unread"], 3);
    assert_eq!(page["threads"][0]["last_message"]["body"], "three");
    let thread = page["threads"][0]["thread_id"].as_u64().unwrap();
    server.thread_messages(&bob_token, thread).await;
    let (_, page) = server.get("/v1/folders/other", &bob_token).await;
    assert_eq!(page["threads"][0]["unread"], 0);
    let (_, alice_view) = server.get("/v1/folders/inbox", &alice_token).await;
    assert_eq!(
        alice_view["threads"][0]["unread"], 0,
        "own messages are never unread"
    );
}

#[tokio::test]
async fn folder_listing_pages_with_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (bob, bob_token) = server.member("bob", "free").await;
    let mut threads = Vec::new();
    for i in 0..5 {
        let (_, token) = server.member(&format!("sender{i}"), "free").await;
        let (_, sent) = server.send(&token, bob, &format!("hello {i}")).await;
        threads.push(sent["thread_id"].as_u64().unwrap());
    }
    threads.reverse(); // newest first
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/folders/other?limit=2&cursor={c}"),
            None => "/v1/folders/other?limit=2".to_string(),
        };
        let (status, page) = server.get(&path, &bob_token).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["threads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["thread_id"].as_u64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, threads);
    let (status, body) = server.get("/v1/folders/other?limit=0", &bob_token).await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "limit"
    );
    let (status, body) = server.get("/v1/folders/other?cursor=zz", &bob_token).await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "cursor"
    );
    let (status, body) = server.get("/v1/folders/spam", &bob_token).await;
    error_of(status, &body, 404, "unknown_folder");
}

#[tokio::test]
async fn the_recipient_is_notified_of_each_delivery_over_server_sent_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let response = server
        .client
        .get(server.url("/v1/events"))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let (_, sent) = server.send(&alice_token, bob, "are you there?").await;
    let message_id = sent["message_id"].as_u64().unwrap();

    let wanted = format!("\"message_id\":{message_id}");
    let received = common::events_until(response, &wanted).await;
    assert!(received.contains("event: message.delivered"), "{received}");
    assert!(received.contains(&wanted), "{received}");
    assert!(
        !received.contains("are you there"),
        "events carry no message text"
    );
}

#[tokio::test]
async fn a_retried_send_with_the_same_idempotency_key_delivers_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let request = json!({"to": bob, "body": "invoice attached", "idempotency_key": "k-1"});
    let (status, first) = server
        .post("/v1/messages", &alice_token, request.clone())
        .await;
    assert_eq!(status, 201);
    let (status, again) = server.post("/v1/messages", &alice_token, request).await;
    assert_eq!(status, 200);
    assert_eq!(again["message_id"], first["message_id"]);
    assert_eq!(again["replayed"], true);
    let thread = first["thread_id"].as_u64().unwrap();
    assert_eq!(server.thread_messages(&bob_token, thread).await.len(), 1);
}

#[tokio::test]
async fn a_used_idempotency_key_with_a_different_request_is_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (carol, _) = server.member("carol", "free").await;
    let first = json!({"to": bob, "body": "invoice attached", "idempotency_key": "k-1"});
    let (status, sent) = server.post("/v1/messages", &alice_token, first).await;
    assert_eq!(status, 201, "{sent}");
    let thread = sent["thread_id"].as_u64().unwrap();

    for (what, other) in [
        (
            "another body",
            json!({"to": bob, "body": "a different message", "idempotency_key": "k-1"}),
        ),
        (
            "another recipient",
            json!({"to": carol, "body": "invoice attached", "idempotency_key": "k-1"}),
        ),
        (
            "another format",
            json!({"to": bob, "body": "invoice attached", "format": "markdown",
                   "idempotency_key": "k-1"}),
        ),
    ] {
        let (status, body) = server.post("/v1/messages", &alice_token, other).await;
        let error = error_of(status, &body, 422, "idempotency_key_reused");
        assert_eq!(error["field"], "idempotency_key", "{what}: {body}");
    }
    // The same request is still a replay, and nothing else was stored.
    let same = json!({"to": bob, "body": "invoice attached", "idempotency_key": "k-1"});
    let (status, again) = server.post("/v1/messages", &alice_token, same).await;
    assert_eq!((status, &again["replayed"]), (200, &json!(true)), "{again}");
    assert_eq!(server.thread_messages(&bob_token, thread).await.len(), 1);
}

#[tokio::test]
async fn an_attachments_url_is_judged_like_a_link_in_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, _) = server.member("bob", "free").await;
    let reason_ids = |sent: &serde_json::Value| -> Vec<String> {
        sent["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let gif = |url: &str, body: &str| json!({"to": bob, "body": body, "attachments": [{"type": "gif", "url": url}]});

    // A look-alike domain held in the body is held as a GIF's address too, even with no text.
    for body in ["see this", ""] {
        let (status, sent) = server
            .post(
                "/v1/messages",
                &alice_token,
                gif("http://linkedln-security.com/verify.gif", body),
            )
            .await;
        assert_eq!(status, 201, "{sent}");
        assert_eq!(sent["decision"], "held", "{sent}");
        assert!(
            reason_ids(&sent).contains(&"phishing.lookalike_domain_pattern".to_string()),
            "{sent}"
        );
    }
    // An ordinary GIF host adds no link reason.
    let (status, sent) = server
        .post(
            "/v1/messages",
            &alice_token,
            gif("https://media.giphy.com/media/abc/giphy.gif", "congrats!"),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_ne!(sent["decision"], "held", "{sent}");
    assert!(
        !reason_ids(&sent)
            .iter()
            .any(|id| id.starts_with("phishing.")),
        "{sent}"
    );
}
