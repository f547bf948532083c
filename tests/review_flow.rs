//! The trust-and-safety workflow over real HTTP: holds, the review queue and its claims,
//! audited reads, decisions, reports, appeals, statements of reasons, assess, labels.

mod common;

use common::{error_of, Server, ADMIN_TOKEN};
use serde_json::{json, Value};

const PHISHING: &str = "Your LinkedIn account will be suspended. Verify your account now at http://linkedln-security.com/verify";
const JUSTIFICATION: &str = "reviewing held item from the queue";

async fn reviewer(server: &Server, name: &str) -> String {
    server.reviewer(name).await.1
}

/// Removes the oldest open item as spam; its id.
async fn remove_first_in_queue(server: &Server, reviewer: &str) -> u64 {
    let (_, queue) = server.get("/v1/review/queue", reviewer).await;
    let item = items(&queue)[0];
    server.decide(reviewer, item, "spam", "remove").await;
    item
}

fn items(queue: &Value) -> Vec<u64> {
    queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn held_spam_is_reviewed_released_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(alice, bob).await;
    let first = reviewer(&server, "Rita").await;
    let second = reviewer(&server, "Sam").await;

    let (status, sent) = server.send(&alice_token, bob, PHISHING).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "held");
    assert_eq!(sent["folder"], Value::Null);
    let ids: Vec<&str> = sent["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"phishing.account_suspension"), "{sent}");
    let message = sent["message_id"].as_u64().unwrap();
    let thread = sent["thread_id"].as_u64().unwrap();
    // Invisible to the recipient: no thread in any folder, and the thread itself is 404.
    assert!(server.folder(&bob_token, "inbox").await.is_empty());
    assert!(server.folder(&bob_token, "other").await.is_empty());
    let (status, _) = server
        .get(&format!("/v1/threads/{thread}"), &bob_token)
        .await;
    assert_eq!(status, 404);

    // Two reviewers never get the same item.
    let (status, queue) = server.get("/v1/review/queue?limit=10", &first).await;
    assert_eq!(status, 200, "{queue}");
    let claimed = items(&queue);
    assert_eq!(claimed.len(), 1);
    assert!(
        queue["items"][0].get("body").is_none(),
        "the queue shows no content"
    );
    let item = claimed[0];
    let (_, queue) = server.get("/v1/review/queue?limit=10", &second).await;
    assert!(items(&queue).is_empty(), "claimed by the first reviewer");
    let (status, body) = server
        .get(
            &format!("/v1/review/items/{item}?justification=curious"),
            &second,
        )
        .await;
    error_of(status, &body, 400, "invalid_field");
    let (status, body) = server
        .get(
            &format!("/v1/review/items/{item}?justification={JUSTIFICATION}"),
            &second,
        )
        .await;
    error_of(status, &body, 409, "claimed_by_other");

    // Content only with a justification, and every read is audited with it.
    let (status, body) = server
        .get(&format!("/v1/review/items/{item}"), &first)
        .await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "justification"
    );
    let (status, view) = server
        .get(
            &format!("/v1/review/items/{item}?justification={JUSTIFICATION}"),
            &first,
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["message"]["body"], PHISHING);
    let (_, audit) = server.get("/v1/review/audit", &first).await;
    let reads: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "read_item")
        .collect();
    assert_eq!(reads.len(), 1, "{audit}");
    assert_eq!(reads[0]["why"], JUSTIFICATION);
    assert_eq!(reads[0]["message_id"].as_u64(), Some(message));

    // Release: the recipient now sees it in the folder the relationship gives (Inbox).
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &first,
            json!({"label": "ham", "action": "remove"}),
        )
        .await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "action"
    );
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &first,
            json!({"label": "ham", "action": "release", "note": "security team test"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.folder(&bob_token, "inbox").await, [thread]);
    assert_eq!(server.thread_messages(&bob_token, thread).await, [message]);
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &first,
            json!({"label": "spam", "action": "remove"}),
        )
        .await;
    error_of(status, &body, 409, "already_decided");
    let (_, audit) = server.get("/v1/review/audit", &first).await;
    assert!(audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "decide_item:release" && e["why"] == "security team test"));
}

#[tokio::test]
async fn member_tokens_get_nothing_from_review_routes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, member) = server.member("mallory", "free").await;
    let routes = [
        ("GET", "/v1/review/queue"),
        ("GET", "/v1/review/items/1?justification=looking%20at%20it"),
        ("POST", "/v1/review/items/1/decision"),
        ("POST", "/v1/review/members/1/lift-restriction"),
        ("GET", "/v1/review/appeals"),
        ("POST", "/v1/review/appeals/1/decision"),
        ("GET", "/v1/review/audit"),
    ];
    for (method, path) in routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let body = json!({"label": "spam", "action": "remove", "outcome": "upheld", "note": "x"});
        for token in [Some(member.as_str()), None] {
            let (status, answer) = server
                .request(method.clone(), path, token, Some(&body))
                .await;
            assert!(
                status == 401 || status == 404,
                "{method} {path} with {token:?}: {status} {answer}"
            );
        }
    }
}

#[tokio::test]
async fn removal_appeal_and_overturn_deliver_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let rita = reviewer(&server, "Rita").await;

    let (_, sent) = server.send(&alice_token, bob, PHISHING).await;
    let message = sent["message_id"].as_u64().unwrap();
    remove_first_in_queue(&server, &rita).await;

    // The sender's statement of reasons: what, facts, automated or not, how to appeal.
    let (status, statements) = server.get("/v1/statements", &alice_token).await;
    assert_eq!(status, 200);
    let hold = &statements["statements"][0];
    assert_eq!(hold["kind"], "hold");
    assert_eq!(hold["status"], "removed");
    assert!(
        hold["action"].as_str().unwrap().contains("removed"),
        "{hold}"
    );
    assert_eq!(hold["automated"], false, "a reviewer decided it");
    assert!(hold["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["source"] == "rule"));
    assert_eq!(hold["appeal"]["allowed"], true);
    assert!(hold["appeal"]["how"]
        .as_str()
        .unwrap()
        .contains("/v1/appeals"));

    let appeal = json!({"message_id": message, "reason": "This was a real security notice from our IT team"});
    let (status, created) = server
        .post("/v1/appeals", &alice_token, appeal.clone())
        .await;
    assert_eq!(status, 201, "{created}");
    let appeal_id = created["appeal_id"].as_u64().unwrap();
    let (status, body) = server.post("/v1/appeals", &alice_token, appeal).await;
    error_of(status, &body, 409, "already_appealed");
    let (status, body) = server
        .post(
            "/v1/appeals",
            &bob_token,
            json!({"message_id": message, "reason": "not mine"}),
        )
        .await;
    error_of(status, &body, 404, "message_not_found");

    let (_, open) = server.get("/v1/review/appeals", &rita).await;
    assert_eq!(open["appeals"][0]["id"].as_u64(), Some(appeal_id));
    let (status, _) = server
        .post(
            &format!("/v1/review/appeals/{appeal_id}/decision"),
            &rita,
            json!({"outcome": "overturned", "note": "confirmed with the sender's IT team"}),
        )
        .await;
    assert_eq!(status, 204);
    let thread = sent["thread_id"].as_u64().unwrap();
    assert_eq!(server.thread_messages(&bob_token, thread).await, [message]);
    let (_, open) = server.get("/v1/review/appeals", &rita).await;
    assert!(open["appeals"].as_array().unwrap().is_empty());
    let (_, statements) = server.get("/v1/statements", &alice_token).await;
    assert_eq!(statements["statements"][0]["status"], "released");
    let action = statements["statements"][0]["action"].as_str().unwrap();
    assert!(
        action.contains("released") && !action.contains("not shown"),
        "the statement still tells of a hold: {action}"
    );
    assert_eq!(
        statements["statements"][0]["appeal"]["outcome"],
        "overturned"
    );

    // The overturned removal's strike (+2) is taken back: one more removal leaves alice at
    // 2 points, under the first restriction's 3, so she can still start conversations.
    let (_, again) = server.send(&alice_token, bob, PHISHING).await;
    assert_eq!(again["decision"], "held", "{again}");
    remove_first_in_queue(&server, &rita).await;
    let (carol, _) = server.member("carol", "free").await;
    let (status, sent) = server
        .send(
            &alice_token,
            carol,
            "Hi Carol, we met at the product meetup last week",
        )
        .await;
    assert_eq!(
        status, 201,
        "restricted for a removal that was overturned: {sent}"
    );
}

#[tokio::test]
async fn reports_hide_the_thread_queue_the_message_and_strike_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, carol_token) = server.member("carol", "free").await;
    let rita = reviewer(&server, "Rita").await;
    let mut recipients = Vec::new();
    for name in ["bob", "dave", "erin"] {
        recipients.push(server.member(name, "free").await);
    }
    let texts = [
        "Hello Bob, saw your post about the conference and wanted to say hi",
        "Dave, quick question about your team's hiring process this quarter",
        "Erin, would love to hear how you moved from design into product",
    ];
    for ((id, token), text) in recipients.iter().zip(texts) {
        let (status, sent) = server.send(&carol_token, *id, text).await;
        assert_eq!(status, 201, "{sent}");
        assert_ne!(sent["decision"], "held", "{sent}");
        let message = sent["message_id"].as_u64().unwrap();
        let (status, body) = server
            .post(
                &format!("/v1/messages/{message}/report"),
                token,
                json!({"reason": "unwanted contact"}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        assert!(
            server.folder(token, "other").await.is_empty(),
            "the thread leaves the recipient's view"
        );
    }
    let (_, queue) = server.get("/v1/review/queue?limit=10", &rita).await;
    assert_eq!(items(&queue).len(), 3);
    assert!(queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["origin"] == "reported"));

    // Three reports are three strikes: carol can no longer open conversations with strangers.
    let (frank, _) = server.member("frank", "free").await;
    let (status, body) = server
        .send(&carol_token, frank, "Hi Frank, nice to meet you")
        .await;
    error_of(status, &body, 403, "sender_restricted");
    let (_, statements) = server.get("/v1/statements", &carol_token).await;
    let restriction = statements["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "restriction")
        .cloned()
        .expect("a restriction statement");
    assert_eq!(restriction["restriction"], "new_conversations");
    assert_eq!(restriction["automated"], true);

    // A reviewer lifts it; carol may write to strangers again.
    let carol = queue["items"][0]["sender"].as_u64().unwrap();
    let (status, _) = server
        .post(
            &format!("/v1/review/members/{carol}/lift-restriction"),
            &rita,
            json!({"note": "reports were a misunderstanding"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server
        .send(&carol_token, frank, "Hi Frank, nice to meet you")
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn mark_safe_is_a_ham_label_and_moves_the_thread_to_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (_, sent) = server
        .send(
            &alice_token,
            bob,
            "Hi Bob, we met at the data meetup last week",
        )
        .await;
    assert_eq!(sent["decision"], "other", "{sent}");
    let message = sent["message_id"].as_u64().unwrap();
    let (status, _) = server
        .post(
            &format!("/v1/messages/{message}/mark-safe"),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        server.folder(&bob_token, "inbox").await,
        [sent["thread_id"].as_u64().unwrap()]
    );
    let (status, body) = server
        .post(
            &format!("/v1/messages/{message}/mark-safe"),
            &alice_token,
            json!({}),
        )
        .await;
    error_of(status, &body, 404, "message_not_found");
}

#[tokio::test]
async fn assess_answers_a_verdict_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (status, verdict) = server
        .post(
            "/v1/assess",
            ADMIN_TOKEN,
            json!({"body": PHISHING, "from": alice, "to": bob}),
        )
        .await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["decision"], "held");
    assert!(verdict["reasons"].as_array().unwrap().len() >= 2);
    assert!(server.folder(&bob_token, "other").await.is_empty());
    assert!(server.folder(&alice_token, "inbox").await.is_empty());
    let (status, body) = server
        .post("/v1/assess", &alice_token, json!({"body": "hi"}))
        .await;
    error_of(status, &body, 401, "unauthorized");
    let (status, service) = server
        .post(
            "/v1/admin/services",
            ADMIN_TOKEN,
            json!({"name": "profiles"}),
        )
        .await;
    assert_eq!(status, 201);
    let token = service["token"].as_str().unwrap();
    let (status, verdict) = server
        .post(
            "/v1/assess",
            token,
            json!({"body": "Congratulations on the new role!"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(verdict["decision"], "held");
}

#[tokio::test]
async fn reviewer_labels_export_as_training_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, None);
    let (_, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let rita = reviewer(&server, "Rita").await;
    server.send(&alice_token, bob, PHISHING).await;
    let (_, ham) = server
        .send(
            &alice_token,
            bob,
            "Hi Bob, we met at the data meetup last week",
        )
        .await;
    let (_, queue) = server.get("/v1/review/queue", &rita).await;
    let item = items(&queue)[0];
    server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &rita,
            json!({"label": "spam", "action": "remove"}),
        )
        .await;
    server
        .post(
            &format!("/v1/messages/{}/mark-safe", ham["message_id"]),
            &bob_token,
            json!({}),
        )
        .await;
    assert!(server.terminate().success());

    let out = dir.path().join("labels.tsv");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_sendguard"))
        .args(["labels", "export", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let tsv = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = tsv.lines().collect();
    assert_eq!(rows[0], "label\ttext\tsource\tmessage_id");
    assert_eq!(rows.len(), 3, "{tsv}");
    assert!(rows
        .iter()
        .any(|r| r.starts_with("spam\tYour LinkedIn account") && r.contains("\treviewer\t")));
    assert!(rows
        .iter()
        .any(|r| r.starts_with("ham\tHi Bob") && r.contains("\tmark_safe\t")));

    // `train` reads the export as it is.
    let model = dir.path().join("labels.sgnb");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sendguard"))
        .args(["train", "--data"])
        .arg(&out)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(model.exists());
}

#[tokio::test]
async fn a_held_inmail_removed_as_spam_gets_its_credit_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[messaging]\ninmail_credits_premium = 1\n";
    let server = Server::start(&dir.path().join("data"), Some(config));
    let (_, recruiter) = server.member("recruiter", "premium").await;
    let (dave, _) = server.member("dave", "free").await;
    let (erin, _) = server.member("erin", "free").await;
    let rita = reviewer(&server, "Rita").await;
    let inmail = |to: u64, body: &str| json!({"to": to, "body": body, "kind": "inmail"});

    let (status, sent) = server
        .post("/v1/messages", &recruiter, inmail(dave, PHISHING))
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "held");
    let genuine = "We have an opening for a senior data engineer on my team and your background looks like a great fit";
    let (status, body) = server
        .post("/v1/messages", &recruiter, inmail(erin, genuine))
        .await;
    error_of(status, &body, 403, "inmail_quota_exhausted");

    let (_, queue) = server.get("/v1/review/queue", &rita).await;
    let item = items(&queue)[0];
    let (status, _) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &rita,
            json!({"label": "spam", "action": "remove"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, sent) = server
        .post("/v1/messages", &recruiter, inmail(erin, genuine))
        .await;
    assert_eq!(
        status, 201,
        "the removed InMail's credit was refunded: {sent}"
    );
    assert_eq!(sent["inmail"], true);
}

/// Many sends in a row are the setting here, not the abuse under test.
const RELAXED: &str = "[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.young_rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.new_conversations]\nper_day = 0\nper_week = 0\n";

async fn report(server: &Server, token: &str, message: u64) -> u16 {
    let (status, body) = server
        .post(
            &format!("/v1/messages/{message}/report"),
            token,
            json!({"reason": "I do not like this person"}),
        )
        .await;
    assert!(status == 202 || status == 404, "{status}: {body}");
    status
}

/// Whether `token`'s member may still open a conversation with a stranger.
async fn can_open_conversations(server: &Server, token: &str, stranger: &str) -> bool {
    let (to, _) = server.member(stranger, "free").await;
    let (status, body) = server.send(token, to, "Hello, glad to connect").await;
    assert!(status == 201 || status == 403, "{status}: {body}");
    status == 201
}

#[tokio::test]
async fn one_member_reporting_fifty_times_restricts_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(RELAXED));
    let (_, carol_token) = server.member("carol", "premium").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let rita = reviewer(&server, "Rita").await;
    let mut messages = Vec::new();
    for i in 0..5 {
        let (status, sent) = server
            .post(
                "/v1/messages",
                &carol_token,
                json!({"to": bob, "body": format!("Hello Bob, following up on our chat ({i})"),
                       "kind": "inmail"}),
            )
            .await;
        assert_eq!(status, 201, "{sent}");
        messages.push(sent["message_id"].as_u64().unwrap());
    }
    let mut accepted = 0;
    for round in 0..10 {
        for &message in &messages {
            accepted += usize::from(report(&server, &bob_token, message).await == 202);
        }
        assert!(round > 0 || accepted == 5, "each message can be reported");
    }
    assert!(accepted >= 5, "{accepted}");
    assert!(
        can_open_conversations(&server, &carol_token, "frank").await,
        "one reporter restricted carol"
    );
    let (_, statements) = server.get("/v1/statements", &carol_token).await;
    assert!(
        !statements["statements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "restriction"),
        "{statements}"
    );
    // The reports still reach a reviewer: each message is queued once.
    let (_, queue) = server.get("/v1/review/queue?limit=100", &rita).await;
    assert_eq!(items(&queue).len(), 5, "{queue}");
}

#[tokio::test]
async fn a_reporter_whose_reports_are_overturned_counts_less() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(RELAXED));
    let rita = reviewer(&server, "Rita").await;
    let (_, carol_token) = server.member("carol", "free").await;
    let (_, dave_token) = server.member("dave", "free").await;
    let mut reporters = Vec::new();
    for name in ["mallory", "bob", "erin", "gina"] {
        reporters.push(server.member(name, "free").await);
    }
    // Mallory reports dave's harmless note; a reviewer overturns it.
    let (mallory, mallory_token) = reporters[0].clone();
    let (_, sent) = server
        .send(&dave_token, mallory, "Hi Mallory, congrats on the new role")
        .await;
    let note = sent["message_id"].as_u64().unwrap();
    assert_eq!(report(&server, &mallory_token, note).await, 202);
    let (_, queue) = server.get("/v1/review/queue?limit=10", &rita).await;
    let item = items(&queue)[0];
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &rita,
            json!({"label": "ham", "action": "release", "note": "a friendly note"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // Carol writes to all four; mallory (weight 1/2), bob and erin report her: 2.5 < 3.
    let mut sent_to = Vec::new();
    for (id, token) in &reporters {
        let (status, sent) = server
            .send(&carol_token, *id, "Hi, would you like to join our meetup?")
            .await;
        assert_eq!(status, 201, "{sent}");
        sent_to.push((token.clone(), sent["message_id"].as_u64().unwrap()));
    }
    for (token, message) in &sent_to[..3] {
        assert_eq!(report(&server, token, *message).await, 202);
    }
    assert!(
        can_open_conversations(&server, &carol_token, "henry").await,
        "2.5 weighted reporters are below the threshold of 3"
    );
    // A fourth reporter in good standing reaches it: every reporter's strike counts.
    let (token, message) = &sent_to[3];
    assert_eq!(report(&server, token, *message).await, 202);
    assert!(
        !can_open_conversations(&server, &carol_token, "ivan").await,
        "3.5 weighted reporters restrict"
    );
}

#[tokio::test]
async fn recalling_a_held_message_tells_the_recipient_nothing_and_keeps_it_in_review() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(alice, bob).await;
    let rita = reviewer(&server, "Rita").await;
    let events = server.open_events(&bob_token).await;

    let (_, held) = server.send(&alice_token, bob, PHISHING).await;
    assert_eq!(held["decision"], "held", "{held}");
    let held_id = held["message_id"].as_u64().unwrap();
    let (status, _) = server
        .delete(&format!("/v1/messages/{held_id}"), &alice_token)
        .await;
    assert_eq!(status, 204);
    // A later ordinary message marks the point by which any recall event would have come.
    let (_, later) = server.send(&alice_token, bob, "lunch tomorrow?").await;
    let later_id = later["message_id"].as_u64().unwrap();
    let received = common::events_until(events, &format!("\"message_id\":{later_id}")).await;
    assert!(!received.contains("message.recalled"), "{received}");
    assert!(
        !received.contains(&format!("\"message_id\":{held_id}")),
        "{received}"
    );

    // The review item stays in the queue, the recall audited on it: recalling a hold does
    // not take it out of review.
    let (_, queue) = server.get("/v1/review/queue?limit=10", &rita).await;
    let item = items(&queue)[0];
    let (_, audit) = server.get("/v1/review/audit", &rita).await;
    let recalled = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "recall_held")
        .cloned()
        .unwrap_or_else(|| panic!("no recall in {audit}"));
    assert_eq!(recalled["message_id"].as_u64(), Some(held_id));
    assert_eq!(recalled["item_id"].as_u64(), Some(item));
    // A removal strikes the sender as for any hold (two points: under the first
    // restriction, so the restrictions board shows alice with her points).
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &rita,
            json!({"label": "spam", "action": "remove"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, alice_statements) = server.get("/v1/statements", &alice_token).await;
    assert_eq!(
        alice_statements["statements"][0]["status"], "recalled",
        "{alice_statements}"
    );
    // Nothing reached bob: the recalled message is not in his thread.
    let thread = held["thread_id"].as_u64().unwrap();
    assert!(!server
        .thread_messages(&bob_token, thread)
        .await
        .contains(&held_id));
}

#[tokio::test]
async fn an_overturned_restriction_keeps_its_statement_marked_overturned() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice, alice_token) = server.member("alice", "free").await;
    let rita = reviewer(&server, "Rita").await;
    let (status, body) = server
        .post(
            &format!("/v1/admin/members/{alice}/restriction"),
            ADMIN_TOKEN,
            json!({"level": "full", "reason": "suspected account takeover"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, created) = server
        .post(
            "/v1/appeals",
            &alice_token,
            json!({"reason": "I secured my account and changed my password"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let appeal_id = created["appeal_id"].as_u64().unwrap();
    let (status, _) = server
        .post(
            &format!("/v1/review/appeals/{appeal_id}/decision"),
            &rita,
            json!({"outcome": "overturned", "note": "account recovered"}),
        )
        .await;
    assert_eq!(status, 204);

    let (_, statements) = server.get("/v1/statements", &alice_token).await;
    let restriction = statements["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "restriction")
        .cloned()
        .unwrap_or_else(|| panic!("the statement is gone: {statements}"));
    assert_eq!(restriction["status"], "overturned", "{restriction}");
    assert_eq!(restriction["restriction"], "full");
    assert_eq!(restriction["appeal"]["outcome"], "overturned");
    assert_eq!(restriction["appeal"]["allowed"], false);
    assert!(restriction["facts"]
        .to_string()
        .contains("suspected account takeover"));
}
