//! The campaign view over HTTP on the real server: a template sent by several new accounts
//! is recognized and listed; reviewers read a campaign's detail and act on it as a whole
//! (hold the rest, release it, restrict every account), each action audited and reported.

mod common;

use common::{error_of, Server, ADMIN_TOKEN};
use serde_json::{json, Value};

const NAMES: [&str; 8] = [
    "Dana", "Marco", "Priya", "Lena", "Rahul", "Claire", "Jonas", "Sofia",
];
const LINKS: [&str; 3] = [
    "https://bit.ly/panel-25",
    "https://tinyurl.com/paid-study",
    "https://surveys-panel.net/join",
];

/// One variant of the campaign's template: the name, one phrase and the link change.
fn variant(n: usize) -> String {
    let greeting = ["Hi", "Hello", "Hey"][n % 3];
    let pay = ["pays 150 dollars", "pays a generous fee", "is paid well"][n % 3];
    format!(
        "{greeting} {}, I am contacting selected professionals in your field about a short paid \
         research study on remote collaboration tools. It takes fifteen minutes online and {pay}. \
         Places are limited and we close registration this week, sign up here: {}",
        NAMES[n % NAMES.len()],
        LINKS[n % LINKS.len()]
    )
}

fn reasons(sent: &Value) -> String {
    sent["reasons"].to_string()
}

async fn campaigns(server: &Server, token: &str) -> Vec<Value> {
    let (status, body) = server.get("/v1/review/campaigns", token).await;
    assert_eq!(status, 200, "{body}");
    body["campaigns"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_campaign_is_listed_held_released_and_restricted_as_a_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        Some("[campaigns]\nmin_accounts = 3\n"),
    );
    let (_, reviewer) = server.reviewer("rita").await;
    let mut accounts = Vec::new();
    for i in 0..4 {
        accounts.push(server.member(&format!("panel{i}"), "free").await);
    }
    let mut recipients = Vec::new();
    for i in 0..12 {
        recipients.push(server.member(&format!("person{i}"), "free").await);
    }
    let mut n = 0;
    let mut send = |account: usize| {
        n += 1;
        (account, recipients[n - 1].0, variant(n - 1))
    };

    // Two accounts: a candidate, not listed yet.
    for account in [0, 0, 1] {
        let (a, to, text) = send(account);
        let (status, sent) = server.send(&accounts[a].1, to, &text).await;
        assert_eq!(status, 201, "{sent}");
        assert!(!reasons(&sent).contains("campaign"), "{sent}");
    }
    assert!(campaigns(&server, &reviewer).await.is_empty());

    // The third account makes it a campaign: recognized, listed, its signal on the send.
    let (a, to, text) = send(2);
    let (status, sent) = server.send(&accounts[a].1, to, &text).await;
    assert_eq!(status, 201, "{sent}");
    assert!(
        reasons(&sent).contains("limit/campaign") || reasons(&sent).contains("campaign"),
        "{sent}"
    );
    let listed = campaigns(&server, &reviewer).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let campaign = &listed[0];
    let id = campaign["id"].as_u64().unwrap();
    assert_eq!(campaign["status"], "recognized");
    assert_eq!(campaign["accounts_total"], 3);
    assert_eq!(campaign["volume"], 4);
    assert!(campaign["recognized_at"].as_i64().is_some());
    assert!(campaign.get("variants").is_some_and(Value::is_u64));

    let (status, detail) = server
        .get(&format!("/v1/review/campaigns/{id}"), &reviewer)
        .await;
    assert_eq!(status, 200, "{detail}");
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert!(messages.iter().all(|m| m.get("body").is_none()));
    let senders: Vec<u64> = messages
        .iter()
        .map(|m| m["from"].as_u64().unwrap())
        .collect();
    assert_eq!(
        senders,
        [accounts[0].0, accounts[0].0, accounts[1].0, accounts[2].0]
    );

    // Bad input: named fields, nothing changed.
    let action = |body: Value| async {
        server
            .post(
                &format!("/v1/review/campaigns/{id}/action"),
                &reviewer,
                body,
            )
            .await
    };
    let (status, body) = action(json!({"action": "hold", "reason": "  "})).await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "reason"
    );
    let (status, body) = action(json!({"action": "explode", "reason": "x"})).await;
    assert!(status == 400 || status == 422, "{status} {body}");
    assert_eq!(body["error"]["field"], "action", "{body}");
    let (status, body) = server
        .post(
            "/v1/review/campaigns/999999/action",
            &reviewer,
            json!({"action": "hold", "reason": "x"}),
        )
        .await;
    error_of(status, &body, 404, "campaign_not_found");
    let (status, body) = server
        .get(&format!("/v1/review/campaigns/{id}"), &accounts[0].1)
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        campaigns(&server, &reviewer).await[0]["status"],
        "recognized"
    );

    // Hold the rest: the next variant, from a fourth account, is held for the campaign.
    let (status, acted) = action(json!({"action": "hold", "reason": "paid-survey lure"})).await;
    assert_eq!(status, 200, "{acted}");
    assert_eq!(acted["campaign"]["status"], "holding");
    let (a, to, text) = send(3);
    let (status, sent) = server.send(&accounts[a].1, to, &text).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "held", "{sent}");
    assert!(reasons(&sent).contains("campaign_held"), "{sent}");
    let held_recipient = recipients
        .iter()
        .find(|(id, _)| *id == to)
        .map(|(_, token)| token.clone())
        .unwrap();
    assert!(server.folder(&held_recipient, "other").await.is_empty());

    // Release: its held messages reach their recipients; new sends are not held for it.
    let (status, acted) =
        action(json!({"action": "release", "reason": "a real study after all"})).await;
    assert_eq!(status, 200, "{acted}");
    assert_eq!(acted["campaign"]["status"], "released");
    let released = acted["released_messages"].as_u64().unwrap();
    assert!(released >= 1, "{acted}");
    assert_eq!(acted["campaign"]["held"], 0, "{acted}");
    assert_eq!(server.folder(&held_recipient, "other").await.len(), 1);
    let (a, to, text) = send(1);
    let (status, sent) = server.send(&accounts[a].1, to, &text).await;
    assert_eq!(status, 201, "{sent}");
    assert!(!reasons(&sent).contains("campaign_held"), "{sent}");

    // Restrict every account: each can no longer open conversations with strangers.
    let (status, acted) =
        action(json!({"action": "restrict", "reason": "survey scam confirmed"})).await;
    assert_eq!(status, 200, "{acted}");
    assert_eq!(acted["restricted_accounts"], 4, "{acted}");
    assert_eq!(acted["campaign"]["outcome"], "restricted");
    for (_, token) in &accounts {
        let (a_to, _, text) = (recipients[11].0, 0, variant(7));
        let (status, body) = server.send(token, a_to, &text).await;
        error_of(status, &body, 403, "sender_restricted");
    }

    // Every action is in the audit log, with the reviewer's reason.
    let (status, audit) = server.get("/v1/review/audit", &reviewer).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    let with = |action: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["why"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(with("campaign_recognized").len(), 1);
    assert_eq!(
        with("campaign_hold"),
        [format!("campaign {id}: paid-survey lure")]
    );
    assert_eq!(
        with("campaign_release"),
        [format!("campaign {id}: a real study after all")]
    );
    assert_eq!(
        with("campaign_restrict"),
        [format!("campaign {id}: survey scam confirmed")]
    );
    assert_eq!(with("restrict").len(), 4);
    assert_eq!(with("release").len() as u64, released);

    // The report's campaigns section.
    let (status, report) = server.get("/v1/review/report", &reviewer).await;
    assert_eq!(status, 200, "{report}");
    let section = &report["campaigns"];
    assert_eq!(section["recognized"], 1, "{section}");
    assert_eq!(section["accounts"], 4, "{section}");
    assert_eq!(section["by_outcome"], json!({"restricted": 1}), "{section}");
    assert_eq!(section["campaigns"][0]["id"], id);
    let _ = ADMIN_TOKEN;
}
