//! Issue 22's two cases over HTTP on the real server: a recruiter's personalized note to ten
//! candidates, minutes apart and before anyone answers, is neither held nor sanctioned
//! (near-identical outreach alone is no evidence); a sender whose first messages go
//! unanswered and get blocked and reported by their recipients is held and restricted even
//! though each message alone looks fine, and one recipient's repeated reactions count once.

mod common;

use common::{introductions, reason_ids, Server};
use serde_json::json;

const CANDIDATES: [(&str, &str, &str); 10] = [
    ("Priya", "senior data engineer", "the streaming platform"),
    ("Marco", "staff backend engineer", "the payments migration"),
    ("Lena", "platform SRE", "your incident tooling"),
    ("Rahul", "mobile developer", "the offline-first app"),
    ("Claire", "product designer", "the design system"),
    ("Jonas", "machine learning engineer", "the ranking model"),
    ("Sofia", "engineering manager", "the platform team"),
    ("Kenji", "QA lead", "the test automation suite"),
    ("Aisha", "data analyst", "the pricing dashboards"),
    ("Noah", "security engineer", "the bug bounty program"),
];

/// Established accounts and no per-minute throttle: the cases are about signals, not rates.
const CONFIG: &str = "[limits]\nyoung_account_age_days = 0\n\
                      [limits.rate]\nper_minute = 60\nminute_burst = 60\n";

fn note(i: usize) -> String {
    let (name, role, project) = CANDIDATES[i];
    format!(
        "Hi {name}, I'm hiring a {role} for our Rotterdam office. Your work on {project} stood \
         out. Would you be open to a 20-minute chat next week?"
    )
}

#[tokio::test]
async fn a_recruiters_personalized_notes_are_delivered_and_never_sanctioned() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(CONFIG));
    let (_, recruiter) = server.member("recruiter", "free").await;
    let mut near_identical = 0;
    for i in 0..CANDIDATES.len() {
        let (candidate, _) = server.member(&format!("candidate{i}"), "free").await;
        let (status, sent) = server.send(&recruiter, candidate, &note(i)).await;
        assert_eq!(status, 201, "note {}: {sent}", i + 1);
        assert_eq!(sent["decision"], "other", "note {}: {sent}", i + 1);
        assert_eq!(sent["sender_restricted"], false, "note {}: {sent}", i + 1);
        let ids = reason_ids(&sent);
        if ids
            .iter()
            .any(|id| id == "limit/fan_out" || id == "limit/template")
        {
            near_identical += 1;
            // The signal is there for reviewers, with why it did not hold.
            assert!(sent["reasons"].to_string().contains("not held"), "{sent}");
        }
    }
    // Fan-out still sees the template (from the 5th note on): it is weighed, not ignored.
    assert!(near_identical >= 5, "{near_identical}");
    let (status, statements) = server.get("/v1/statements", &recruiter).await;
    assert_eq!(status, 200, "{statements}");
    assert_eq!(statements["statements"], json!([]), "{statements}");
}

#[tokio::test]
async fn outreach_blocked_and_never_answered_is_held_and_restricted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(CONFIG));
    let (sender_member, sender) = server.member("outreach", "free").await;
    let mut recipients = Vec::new();
    for i in 0..12 {
        recipients.push(server.member(&format!("stranger{i}"), "free").await);
    }
    let mut messages = Vec::new();
    for (i, text) in introductions().iter().enumerate() {
        let (status, sent) = server.send(&sender, recipients[i].0, text).await;
        assert_eq!(status, 201, "{sent}");
        assert_eq!(sent["decision"], "other", "{sent}");
        messages.push(sent["message_id"].as_u64().unwrap());
    }
    // One recipient reports and blocks again and again: one negative recipient of eight.
    let (status, body) = server
        .post(
            &format!("/v1/messages/{}/report", messages[0]),
            &recipients[0].1,
            json!({"reason": "unsolicited"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    for _ in 0..3 {
        let (status, body) = server
            .post(
                "/v1/blocks",
                &recipients[0].1,
                json!({"member_id": sender_member}),
            )
            .await;
        assert!(status == 200 || status == 204, "{status} {body}");
    }
    let fresh = |i: usize| {
        format!(
            "Good afternoon, I am reaching out about topic number {i} of my consulting practice \
             and hope a short introduction is welcome; no pressure to reply at all."
        )
    };
    let (status, sent) = server.send(&sender, recipients[8].0, &fresh(8)).await;
    assert_eq!(status, 201, "{sent}");
    assert_ne!(
        sent["decision"], "held",
        "1 of 8 negative is below 20%: {sent}"
    );
    // A second recipient blocks: 2 of 9 is over 20% and nobody answered.
    let (status, body) = server
        .post(
            "/v1/blocks",
            &recipients[1].1,
            json!({"member_id": sender_member}),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let (status, sent) = server.send(&sender, recipients[9].0, &fresh(9)).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "held", "{sent}");
    assert!(
        reason_ids(&sent).contains(&"limit/poor_reactions".to_string()),
        "{sent}"
    );
    assert!(sent["reasons"].to_string().contains("2 blocked"), "{sent}");
    // Held sends strike; at three points new conversations with strangers are refused.
    let (status, sent) = server.send(&sender, recipients[10].0, &fresh(10)).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "held", "{sent}");
    let (status, sent) = server.send(&sender, recipients[11].0, &fresh(11)).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["sender_restricted"], true, "{sent}");
}
