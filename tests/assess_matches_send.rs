//! `POST /v1/assess` judges exactly as a send would, less the writes: each request below is
//! first assessed, then sent, over HTTP against the real server, and the two answers must
//! agree — the same decision, route, InMail flag, reasons and score, or the same refusal.
//! The requests cover the whole context a send reads: connections, a recipient's reply in
//! the thread, InMail credit, blocks, a restriction, fan-out over look-alike letters, and
//! the rate limit.

mod common;

use common::{Server, ADMIN_TOKEN};
use serde_json::{json, Value};

const PHISHING: &str = "Your LinkedIn account will be suspended. Verify your account now at http://linkedln-security.com/verify";

/// Reasons as a member reads them (the send response drops reviewers' evidence).
fn member_reasons(reasons: &Value) -> Value {
    let mut reasons = reasons.clone();
    for reason in reasons.as_array_mut().unwrap() {
        reason.as_object_mut().unwrap().remove("evidence");
    }
    reasons
}

struct Case<'a> {
    token: &'a str,
    from: u64,
    to: u64,
    body: String,
    extra: Value,
}

/// Assesses, then sends, one request; asserts both answers agree and returns the decision
/// (or the error code).
async fn assess_then_send(server: &Server, case: Case<'_>) -> String {
    let mut send = json!({"to": case.to, "body": case.body});
    for (key, value) in case.extra.as_object().unwrap() {
        send[key] = value.clone();
    }
    let mut assess = send.clone();
    assess["from"] = json!(case.from);
    let (assess_status, verdict) = server.post("/v1/assess", ADMIN_TOKEN, assess).await;
    let (send_status, sent) = server.post("/v1/messages", case.token, send).await;
    let what = format!(
        "{}: assess {assess_status} {verdict}\nsend {send_status} {sent}",
        case.body
    );
    if send_status >= 400 {
        assert_eq!(assess_status, send_status, "{what}");
        assert_eq!(verdict["error"]["code"], sent["error"]["code"], "{what}");
        assert_eq!(verdict["error"]["field"], sent["error"]["field"], "{what}");
        return sent["error"]["code"].as_str().unwrap().to_string();
    }
    assert_eq!(assess_status, 200, "{what}");
    assert_eq!(verdict["decision"], sent["decision"], "{what}");
    assert_eq!(verdict["inmail"], sent["inmail"], "{what}");
    assert_eq!(verdict["score"], sent["score"], "{what}");
    assert_eq!(
        member_reasons(&verdict["reasons"]),
        sent["reasons"],
        "{what}"
    );
    if sent["decision"] != "held" {
        assert!(verdict["route"].as_str().is_some(), "{what}");
        assert_eq!(verdict["decision"], sent["folder"], "{what}");
    }
    sent["decision"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn assess_gives_the_verdict_or_the_refusal_a_send_gets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (alice, alice_token) = server.member("alice", "premium").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    let (carol, carol_token) = server.member("carol", "free").await;
    let (dave, dave_token) = server.member("dave", "free").await;
    let (frank, frank_token) = server.member("frank", "free").await;
    let (gina, gina_token) = server.member("gina", "free").await;
    server.connect(alice, bob).await;
    let case = |token, from, to, body: &str, extra: Value| Case {
        token,
        from,
        to,
        body: body.to_string(),
        extra,
    };
    let mut decisions = Vec::new();

    // A connection, a stranger, phishing, markdown with a link.
    for (token, from, body) in [
        (&alice_token, alice, "Lunch tomorrow at noon?"),
        (
            &carol_token,
            carol,
            "Hi Bob, I enjoyed your talk on distributed systems.",
        ),
        (&dave_token, dave, PHISHING),
    ] {
        decisions.push(assess_then_send(&server, case(token, from, bob, body, json!({}))).await);
    }
    let markdown = "Slides are [on my site](https://example.org/slides), see you soon";
    decisions.push(
        assess_then_send(
            &server,
            case(
                &alice_token,
                alice,
                bob,
                markdown,
                json!({"format": "markdown"}),
            ),
        )
        .await,
    );

    // Bob replies to Carol: her next message is an accepted conversation.
    let (status, reply) = server.send(&bob_token, carol, "Thanks Carol!").await;
    assert_eq!(status, 201, "{reply}");
    let thread = reply["thread_id"].clone();
    decisions.push(
        assess_then_send(
            &server,
            case(
                &carol_token,
                carol,
                bob,
                "Great, talk soon",
                json!({"thread_id": thread}),
            ),
        )
        .await,
    );

    // InMail: a premium member to a stranger, and a free member who has none.
    decisions.push(
        assess_then_send(
            &server,
            case(
                &alice_token,
                alice,
                frank,
                "Would you like to join our team?",
                json!({"kind": "inmail"}),
            ),
        )
        .await,
    );
    decisions.push(
        assess_then_send(
            &server,
            case(
                &frank_token,
                frank,
                carol,
                "Would you like to join our team?",
                json!({"kind": "inmail"}),
            ),
        )
        .await,
    );

    // A block, and a restriction.
    let (status, _) = server
        .post("/v1/blocks", &bob_token, json!({"member_id": dave}))
        .await;
    assert_eq!(status, 204);
    decisions.push(
        assess_then_send(
            &server,
            case(&dave_token, dave, bob, "Sorry, one more thing", json!({})),
        )
        .await,
    );
    let (status, _) = server
        .post(
            &format!("/v1/admin/members/{gina}/restriction"),
            ADMIN_TOKEN,
            json!({"level": "full", "reason": "test"}),
        )
        .await;
    assert_eq!(status, 204);
    decisions.push(
        assess_then_send(
            &server,
            case(&gina_token, gina, carol, "Hello there", json!({})),
        )
        .await,
    );

    // An unsafe link is refused by both.
    decisions.push(
        assess_then_send(
            &server,
            case(
                &alice_token,
                alice,
                bob,
                "[click](javascript:alert(1))",
                json!({"format": "markdown"}),
            ),
        )
        .await,
    );

    // Fan-out: one text to many strangers, look-alike letters swapped in each copy, until
    // the fan-out signal holds it and then the rate limit refuses.
    let (harry, harry_token) = server.member("harry", "free").await;
    let pitch = [
        "Exclusive offer for professionals like you: grow your network with our premium program today",
        "Exclusive оffer for professionals like you: grow your network with our premium program today",
        "Exclusive offer fоr professionals like yоu: grow your network with our premium program today",
        "Exclusivе offer for professionals like you: grow your nеtwork with our premium program today",
        "Exclusive offer for profеssionals like you: grоw your network with our premium program today",
        "Exclusive offer for professionals like you: grow yоur network with оur premium program today",
        "Exclusive offer for professionals like you: grow your network with our prеmium program tоday",
    ];
    for (i, body) in pitch.iter().enumerate() {
        let (stranger, _) = server.member(&format!("stranger{i}"), "free").await;
        decisions.push(
            assess_then_send(
                &server,
                case(&harry_token, harry, stranger, body, json!({})),
            )
            .await,
        );
    }

    // The cases are not vacuous: each kind of outcome was reached.
    for want in [
        "inbox",
        "other",
        "held",
        "blocked",
        "sender_restricted",
        "inmail_not_allowed",
        "unsafe_link",
        "rate_limited",
    ] {
        assert!(
            decisions.iter().any(|d| d == want),
            "no {want} among {decisions:?}"
        );
    }
    let fan_out_held = decisions
        .iter()
        .rev()
        .take(pitch.len())
        .filter(|d| *d == "held")
        .count();
    assert!(fan_out_held >= 1, "fan-out never held: {decisions:?}");
}
