//! Sponsored messages over HTTP against the real binary (issue #23): a sponsored campaign to
//! 100 members of whom 10 opted out and 10 received a sponsored message 3 days earlier
//! delivers exactly 80, marked sponsored with the advertiser's name, in the Inbox; the same
//! promotional text from a member is held as advertising; a look-alike phishing link holds
//! a sponsored campaign with its reason; a member token cannot send `kind: sponsored`.
//!
//! "Three days earlier" is a real earlier run of the server: the first campaign is sent by
//! the server started with `[server] clock_skew_ms` three days back, on the same store.

mod common;
mod replicas_common;
mod store_common;

use common::{error_of, Server, ADMIN_TOKEN};
use futures_util::StreamExt;
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;
/// 2100-01-01: a schedule window open for the whole test.
const FAR_FUTURE: i64 = 4_102_444_800_000;

const PROMOTION: &str = "Limited time offer! Buy now and save 40% on Acme CRM, \
    the flash sale ends tonight while supplies last.";

async fn advertiser(server: &Server, name: &str) -> (u64, String) {
    let (status, body) = server
        .post(
            "/v1/admin/advertisers",
            ADMIN_TOKEN,
            json!({ "name": name }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("sga_"), "{body}");
    (body["advertiser_id"].as_u64().unwrap(), token)
}

fn campaign_body(name: &str, body: &str, targets: &[u64], budget: u32) -> Value {
    json!({
        "name": name,
        "body": body,
        "cta": { "label": "Start a free trial", "url": "https://acme.example/trial" },
        "targets": targets,
        "budget": budget,
        "schedule": { "starts_at": 0, "ends_at": FAR_FUTURE },
    })
}

/// Creates a campaign as the advertiser; answers the stored campaign.
async fn create_campaign(server: &Server, token: &str, body: Value) -> Value {
    let (status, campaign) = server.post("/v1/advertiser/campaigns", token, body).await;
    assert_eq!(status, 201, "{campaign}");
    campaign
}

async fn send_campaign(server: &Server, token: &str, id: u64) -> (u16, Value) {
    server
        .post(
            &format!("/v1/advertiser/campaigns/{id}/send"),
            token,
            json!({}),
        )
        .await
}

/// The sponsored messages in a member's Inbox: (advertiser name, message).
async fn sponsored_in_inbox(server: &Server, token: &str) -> Vec<(String, Value)> {
    let (status, page) = server.get("/v1/folders/inbox?limit=100", token).await;
    assert_eq!(status, 200, "{page}");
    page["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|thread| thread["last_message"].clone())
        .filter(|message| message["kind"] == "sponsored")
        .map(|message| {
            let name = message["sponsored"]["advertiser_name"]
                .as_str()
                .unwrap_or_else(|| panic!("a sponsored message without its mark: {message}"))
                .to_string();
            (name, message)
        })
        .collect()
}

fn ids(members: &[(u64, String)]) -> Vec<u64> {
    members.iter().map(|(id, _)| *id).collect()
}

#[tokio::test]
async fn a_campaign_to_100_members_skips_10_opted_out_and_10_capped_and_delivers_80() {
    campaign_to_100_members("").await;
}

/// The same on PostgreSQL (a migrated schema of its own, dropped at the end).
#[tokio::test]
async fn on_postgres_a_campaign_to_100_members_delivers_80() {
    let schema = store_common::Schema::new("sponsored_100");
    sendguard::Store::migrate_postgres(&schema.settings()).unwrap();
    let store = format!(
        "[store]\nbackend = \"postgres\"\nurl = \"{}\"\n",
        schema.url()
    );
    campaign_to_100_members(&store).await;
}

/// 100 members; 10 got Globex's sponsored message three days earlier, 10 opt out; Acme's
/// campaign to all 100 delivers exactly 80. `store` is the config's `[store]` table, if any.
async fn campaign_to_100_members(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let three_days_ago = format!("{store}[server]\nclock_skew_ms = {}\n", -3 * DAY_MS);
    let now = (!store.is_empty()).then_some(store);

    let earlier = Server::start(&data, Some(&three_days_ago));
    let mut members = Vec::new();
    for n in 0..100 {
        members.push(earlier.member(&format!("member{n}"), "free").await);
    }
    let (_, globex) = advertiser(&earlier, "Globex").await;
    let first = create_campaign(
        &earlier,
        &globex,
        campaign_body(
            "spring",
            "Globex **spring** webinar.",
            &ids(&members[..10]),
            10,
        ),
    )
    .await;
    let (status, run) = send_campaign(&earlier, &globex, first["id"].as_u64().unwrap()).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["delivered"], 10, "{run}");
    assert!(earlier.terminate().success());

    let server = Server::start(&data, now);
    for (_, token) in &members[10..20] {
        let (status, body) = server
            .post("/v1/settings/sponsored", token, json!({ "opt_out": true }))
            .await;
        assert_eq!((status, &body["opt_out"]), (200, &json!(true)), "{body}");
    }
    let (acme_id, acme) = advertiser(&server, "Acme").await;
    let campaign = create_campaign(
        &server,
        &acme,
        campaign_body("launch", PROMOTION, &ids(&members), 100),
    )
    .await;
    assert_eq!(campaign["status"], "approved", "{campaign}");
    let allowed: Vec<&str> = campaign["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["detail"]
                .as_str()
                .unwrap()
                .contains("allowed in the sponsored")
        })
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        allowed.contains(&"advertising.promo_blast_phrases"),
        "the advertising rule is a reason without effect: {campaign}"
    );

    let (status, run) = send_campaign(&server, &acme, campaign["id"].as_u64().unwrap()).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["delivered"], 80, "{run}");
    assert_eq!(
        run["skipped"],
        json!({ "frequency_cap": 10, "opted_out": 10 }),
        "{run}"
    );
    assert_eq!(run["campaign"]["status"], "sent");
    assert_eq!(run["campaign"]["counts"]["delivered"], 80);

    for (n, (_, token)) in members.iter().enumerate() {
        let received = sponsored_in_inbox(&server, token).await;
        let names: Vec<&str> = received.iter().map(|(name, _)| name.as_str()).collect();
        match n {
            0..10 => assert_eq!(names, ["Globex"], "member{n} was capped"),
            10..20 => assert!(names.is_empty(), "member{n} opted out: {names:?}"),
            _ => {
                assert_eq!(names, ["Acme"], "member{n}");
                let message = &received[0].1;
                assert_eq!(message["from"], acme_id);
                assert_eq!(message["sponsored"]["campaign_id"], campaign["id"]);
                assert!(message["body"]
                    .as_str()
                    .unwrap()
                    .starts_with("Limited time offer!"));
            }
        }
    }

    // The whole message, read in its thread: the body and the call to action under it.
    let (status, page) = server
        .get("/v1/folders/inbox?limit=100", &members[20].1)
        .await;
    assert_eq!(status, 200);
    let thread = page["threads"][0]["thread_id"].as_u64().unwrap();
    assert_eq!(page["threads"][0]["with_handle"], "Acme");
    let (status, shown) = server
        .get(&format!("/v1/threads/{thread}/display"), &members[20].1)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["messages"][0]["sponsored"]["advertiser_name"], "Acme");
    assert_eq!(
        shown["messages"][0]["possible_spam"], false,
        "the classifier does not count in the sponsored channel: {shown}"
    );
    assert_eq!(
        shown["messages"][0]["links"][0]["target"],
        "https://acme.example/trial"
    );
    let (status, read) = server
        .get(&format!("/v1/threads/{thread}"), &members[20].1)
        .await;
    assert_eq!(status, 200, "{read}");
    let messages = read["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        1,
        "a sponsored message has a thread of its own"
    );
    assert_eq!(messages[0]["sponsored"]["advertiser_name"], "Acme");
    assert!(messages[0]["body"]
        .as_str()
        .unwrap()
        .ends_with("[Start a free trial](https://acme.example/trial)"));

    // A second send of the same campaign sends nothing more.
    let (status, again) = send_campaign(&server, &acme, campaign["id"].as_u64().unwrap()).await;
    error_of(status, &again, 409, "sponsored_campaign_sent");
}

#[tokio::test]
async fn a_reviewer_approves_a_held_campaign_which_then_sends_and_refuses_another_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (buyer, buyer_token) = server.member("buyer", "free").await;
    let (_, acme) = advertiser(&server, "Acme").await;
    let (_, rita) = server.reviewer("rita").await;

    // An ad network's tracking link shows one domain and goes to another: held, and a
    // false positive a reviewer can clear. A look-alike domain is refused for good.
    let tracked = create_campaign(
        &server,
        &acme,
        campaign_body(
            "tracked",
            "Our autumn release is out: [acme.com/autumn](https://links.acme-mailer.net/c/41)",
            &[buyer],
            1,
        ),
    )
    .await;
    let lookalike = create_campaign(
        &server,
        &acme,
        campaign_body(
            "gift",
            "Your Premium gift is waiting: claim it at https://linkedin-premium-gift.com/claim",
            &[buyer],
            1,
        ),
    )
    .await;
    assert_eq!(
        (&tracked["status"], &lookalike["status"]),
        (&json!("held"), &json!("held"))
    );
    let (status, list) = server.get("/v1/review/sponsored", &rita).await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&Value> = list["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        listed,
        [&tracked["id"], &lookalike["id"]],
        "oldest first: {list}"
    );

    let decide = |id: &Value, body: Value| {
        let path = format!("/v1/review/sponsored/{id}/decision");
        let server = &server;
        let rita = rita.clone();
        async move { server.post(&path, &rita, body).await }
    };
    let (status, body) = decide(&tracked["id"], json!({"action": "approve", "note": "  "})).await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "note"
    );
    let (status, body) = decide(&tracked["id"], json!({"action": "approve", "note": "ok"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .post(
            &format!("/v1/review/sponsored/{}/decision", tracked["id"]),
            &acme,
            json!({"action": "approve", "note": "self-service"}),
        )
        .await;
    assert!(
        status == 401 || status == 403,
        "an advertiser cannot review: {status} {body}"
    );
    let (status, body) = decide(&tracked["id"], json!({"action": "refuse", "note": "again"})).await;
    error_of(status, &body, 409, "sponsored_campaign_not_held");

    // The advertiser reads the decision and its note, and the send delivers.
    let (_, read) = server
        .get(
            &format!("/v1/advertiser/campaigns/{}", tracked["id"]),
            &acme,
        )
        .await;
    assert_eq!(
        (
            &read["status"],
            &read["review"]["approved"],
            &read["review"]["note"]
        ),
        (&json!("approved"), &json!(true), &json!("ok")),
        "{read}"
    );
    let (status, run) = send_campaign(&server, &acme, tracked["id"].as_u64().unwrap()).await;
    assert_eq!((status, &run["delivered"]), (200, &json!(1)), "{run}");
    let reasons: Vec<&str> = run["campaign"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(
        reasons.contains(&"phishing.link_mismatch"),
        "the hold's reason stays beside the approval: {reasons:?}"
    );
    assert!(reasons.contains(&"sponsored_approved"), "{reasons:?}");
    let inbox = sponsored_in_inbox(&server, &buyer_token).await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");

    let (status, body) = decide(
        &lookalike["id"],
        json!({"action": "refuse", "note": "look-alike of linkedin.com"}),
    )
    .await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("refused")),
        "{body}"
    );
    let (status, refused) = send_campaign(&server, &acme, lookalike["id"].as_u64().unwrap()).await;
    error_of(status, &refused, 409, "sponsored_campaign_refused");
    let (_, list) = server.get("/v1/review/sponsored", &rita).await;
    assert_eq!(
        list["campaigns"],
        json!([]),
        "nothing left to review: {list}"
    );
    let (_, audit) = server.get("/v1/review/audit", &rita).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().filter(|a| a.starts_with("sponsored_")))
        .collect();
    assert_eq!(
        actions,
        ["sponsored_approve", "sponsored_refuse"],
        "{audit}"
    );
}

#[tokio::test]
async fn promotion_is_spam_from_a_member_and_phishing_is_held_in_the_sponsored_channel() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (seller, seller_token) = server.member("seller", "free").await;
    let (buyer, buyer_token) = server.member("buyer", "free").await;
    let (_, acme) = advertiser(&server, "Acme").await;

    let (status, sent) = server.send(&seller_token, buyer, PROMOTION).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["decision"], "held", "{sent}");
    assert!(
        sent["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "advertising.promo_blast_phrases"),
        "{sent}"
    );

    let phishing = "Your Premium gift is waiting: claim it at \
        https://linkedin-premium-gift.com/claim before Friday.";
    let held = create_campaign(
        &server,
        &acme,
        campaign_body("gift", phishing, &[buyer, seller], 2),
    )
    .await;
    assert_eq!(held["status"], "held", "{held}");
    let reasons = held["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r["id"] == "phishing.lookalike_domain_list"),
        "the advertiser sees why: {held}"
    );
    let (status, refused) = send_campaign(&server, &acme, held["id"].as_u64().unwrap()).await;
    let error = error_of(status, &refused, 409, "sponsored_campaign_held");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("phishing.lookalike_domain_list"),
        "{error}"
    );
    let (status, read) = server
        .get(&format!("/v1/advertiser/campaigns/{}", held["id"]), &acme)
        .await;
    assert_eq!((status, &read["status"]), (200, &json!("held")), "{read}");
    assert!(sponsored_in_inbox(&server, &buyer_token).await.is_empty());

    // Disguised link: the text shows one domain, the link goes to another.
    let disguised = create_campaign(
        &server,
        &acme,
        campaign_body(
            "invoice",
            "Your invoice is at [paypal.com/invoice](https://pay-secure-center.zzz/inv)",
            &[buyer],
            1,
        ),
    )
    .await;
    assert_eq!(disguised["status"], "held", "{disguised}");
    let (_, reviewer) = server.reviewer("rita").await;
    let (status, report) = server.get("/v1/review/report?format=json", &reviewer).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["sponsored"]["held"], &report["sponsored"]["sent"]),
        (&json!(2), &json!(0)),
        "{}",
        report["sponsored"]
    );
    assert!(
        disguised["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "phishing.link_mismatch"),
        "{disguised}"
    );
}

#[tokio::test]
async fn only_advertisers_send_sponsored_and_members_can_report_opt_out_and_not_reply() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (sender, sender_token) = server.member("sender", "premium").await;
    let (reader, reader_token) = server.member("reader", "free").await;
    let (_, acme) = advertiser(&server, "Acme").await;

    let (status, body) = server
        .post(
            "/v1/messages",
            &sender_token,
            json!({ "to": reader, "body": "hello", "kind": "sponsored" }),
        )
        .await;
    let error = error_of(status, &body, 403, "sponsored_not_allowed");
    assert_eq!(error["field"], "kind");
    let (status, body) = server
        .post(
            "/v1/advertiser/campaigns",
            &sender_token,
            campaign_body("x", PROMOTION, &[reader], 1),
        )
        .await;
    error_of(status, &body, 401, "unauthorized");
    let mut bad = campaign_body("x", PROMOTION, &[reader], 1);
    bad["cta"]["url"] = json!("javascript:alert(1)");
    let (status, body) = server.post("/v1/advertiser/campaigns", &acme, bad).await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "cta.url"
    );
    let mut bad = campaign_body("x", PROMOTION, &[reader], 1);
    bad["schedule"] = json!({ "starts_at": 10, "ends_at": 5 });
    let (status, body) = server.post("/v1/advertiser/campaigns", &acme, bad).await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "schedule.ends_at"
    );
    let mut expired = campaign_body("late", PROMOTION, &[reader], 1);
    expired["schedule"] = json!({ "starts_at": 0, "ends_at": 1 });
    let expired = create_campaign(&server, &acme, expired).await;
    let (status, body) = send_campaign(&server, &acme, expired["id"].as_u64().unwrap()).await;
    assert_eq!(
        error_of(status, &body, 409, "outside_schedule")["field"],
        "schedule"
    );

    let campaign = create_campaign(
        &server,
        &acme,
        campaign_body("launch", PROMOTION, &[reader, sender, reader, 999_999], 5),
    )
    .await;
    let id = campaign["id"].as_u64().unwrap();
    let events = server
        .client
        .get(server.url("/v1/events"))
        .bearer_auth(&reader_token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let (status, run) = send_campaign(&server, &acme, id).await;
    // The reader's event stream announces the delivery as sponsored, with the name.
    let mut stream = events.bytes_stream();
    let mut received = String::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            received.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if received.contains("\"advertiser_name\":\"Acme\"") {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), read)
        .await
        .expect("no sponsored delivery event within 20 s");
    assert!(received.contains("event: message.delivered"), "{received}");
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["delivered"], 2);
    assert_eq!(
        run["skipped"],
        json!({ "duplicate_target": 1, "unknown_member": 1 })
    );

    let received = sponsored_in_inbox(&server, &reader_token).await;
    assert_eq!(received.len(), 1);
    let message = &received[0].1;
    let message_id = message["message_id"].as_u64().unwrap();
    let (status, page) = server
        .get("/v1/folders/inbox?limit=100", &reader_token)
        .await;
    assert_eq!(status, 200);
    let thread_id = page["threads"][0]["thread_id"].as_u64().unwrap();
    let (status, body) = server
        .post(
            "/v1/messages",
            &reader_token,
            json!({ "to": message["from"], "thread_id": thread_id, "body": "stop" }),
        )
        .await;
    let error = error_of(status, &body, 403, "sponsored_reply_not_allowed");
    assert_eq!(error["field"], "thread_id");

    let (status, body) = server
        .post(
            &format!("/v1/messages/{message_id}/report"),
            &reader_token,
            json!({ "reason": "misleading" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = server
        .post(
            "/v1/settings/sponsored",
            &reader_token,
            json!({ "opt_out": true }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.get("/v1/settings/sponsored", &reader_token).await;
    assert_eq!((status, &body["opt_out"]), (200, &json!(true)));

    let (status, read) = server
        .get(&format!("/v1/advertiser/campaigns/{id}"), &acme)
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["counts"]["reports"], 1, "{read}");
    assert_eq!(read["counts"]["opt_outs"], 1, "{read}");
    let (status, list) = server.get("/v1/advertiser/campaigns", &acme).await;
    assert_eq!(status, 200);
    assert_eq!(
        list["campaigns"].as_array().unwrap().len(),
        2,
        "refused bodies store nothing"
    );

    // The trust-and-safety report, in each format, beside volume.
    let (_, reviewer) = server.reviewer("rita").await;
    let (status, report) = server.get("/v1/review/report?format=json", &reviewer).await;
    assert_eq!(status, 200, "{report}");
    let sponsored = &report["sponsored"];
    assert_eq!(sponsored["sent"], 1, "{sponsored}");
    assert_eq!(sponsored["delivered"], 2);
    assert_eq!(
        sponsored["skipped"],
        json!({ "duplicate_target": 1, "unknown_member": 1 })
    );
    assert_eq!(
        (&sponsored["reports"], &sponsored["opt_outs"]),
        (&json!(1), &json!(1))
    );
    let row = &sponsored["campaigns"][0];
    assert_eq!(
        (&row["id"], &row["status"]),
        (&json!(id), &json!("sent")),
        "{sponsored}"
    );
    assert_eq!((&row["reports"], &row["opt_outs"]), (&json!(1), &json!(1)));
    assert!(
        report["volume"]["inbox"].as_u64().unwrap() >= 2,
        "sponsored messages count in the volume: {}",
        report["volume"]
    );
    let text = |format: &'static str| {
        let request = server
            .client
            .get(server.url(&format!("/v1/review/report?format={format}")))
            .bearer_auth(&reviewer);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let csv = text("csv").await;
    for line in [
        format!("sponsored,{id},reports,1"),
        format!("sponsored,{id},opt_outs,1"),
        format!("sponsored,{id},delivered,2"),
        "sponsored_skipped,unknown_member,targets,1".to_string(),
    ] {
        assert!(
            csv.lines().any(|l| l == line),
            "{line} not in the CSV:\n{csv}"
        );
    }
    let html = text("html").await;
    assert!(html.contains("id=\"sponsored\""), "{html}");
    assert!(html.contains("<td>unknown_member</td>"));

    // The reported message is in review; its sender is the advertiser, not a member.
    let (status, board) = server.get("/v1/review/board", &reviewer).await;
    assert_eq!(status, 200, "{board}");
    let item = board["items"][0]["item_id"].as_u64().unwrap();
    let (status, context) = server
        .get(&format!("/v1/review/items/{item}/context"), &reviewer)
        .await;
    assert_eq!(status, 200, "{context}");
    assert_eq!(context["sender"]["handle"], "advertiser:Acme", "{context}");
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &reviewer,
            json!({ "label": "spam", "action": "restrict_sender" }),
        )
        .await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "action"
    );
    let (status, body) = server
        .post(
            &format!("/v1/review/items/{item}/decision"),
            &reviewer,
            json!({ "label": "spam", "action": "remove" }),
        )
        .await;
    assert_eq!(status, 204, "{body}");

    let (_, other) = advertiser(&server, "Globex").await;
    let (status, body) = server
        .get(&format!("/v1/advertiser/campaigns/{id}"), &other)
        .await;
    error_of(status, &body, 404, "sponsored_campaign_not_found");
}

#[tokio::test]
async fn a_campaign_that_takes_replies_lets_members_answer_the_advertiser() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (reader, reader_token) = server.member("reader", "free").await;
    let (acme_id, acme, id, page) = campaign_taking_replies(&server, reader, &reader_token).await;
    let thread = page["threads"][0]["thread_id"].as_u64().unwrap();
    let (status, assessed) = server
        .post(
            "/v1/assess",
            ADMIN_TOKEN,
            json!({ "body": PROMOTION, "kind": "sponsored" }),
        )
        .await;
    assert_eq!(
        (status, &assessed["decision"]),
        (200, &json!("inbox")),
        "{assessed}"
    );
    let (status, assessed) = server
        .post("/v1/assess", ADMIN_TOKEN, json!({ "body": PROMOTION }))
        .await;
    assert_eq!(
        (status, &assessed["decision"]),
        (200, &json!("held")),
        "{assessed}"
    );
    assert_eq!(
        page["threads"][0]["last_message"]["sponsored"]["allow_replies"],
        true
    );
    let reply = json!({
        "to": acme_id,
        "thread_id": thread,
        "body": "It looks useful, what does it cost?",
        "idempotency_key": "reply-1",
    });
    let (status, sent) = server
        .post("/v1/messages", &reader_token, reply.clone())
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["thread_id"], thread);
    assert_eq!(sent["replayed"], false);
    // A client's retry replays the stored reply: the advertiser gets and counts one.
    let (status, again) = server
        .post("/v1/messages", &reader_token, reply.clone())
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (&again["message_id"], &again["replayed"]),
        (&sent["message_id"], &json!(true))
    );
    let mut changed = reply.clone();
    changed["body"] = json!("Another question entirely");
    let (status, body) = server.post("/v1/messages", &reader_token, changed).await;
    assert_eq!(
        error_of(status, &body, 422, "idempotency_key_reused")["field"],
        "idempotency_key"
    );
    let (status, replies) = server
        .get(&format!("/v1/advertiser/campaigns/{id}/replies"), &acme)
        .await;
    assert_eq!(status, 200, "{replies}");
    let replies = replies["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["from"], reader);
    assert_eq!(replies[0]["message_id"], sent["message_id"]);
    let (_, read) = server
        .get(&format!("/v1/advertiser/campaigns/{id}"), &acme)
        .await;
    assert_eq!(read["counts"]["replies"], 1, "{read}");
    let messages = server.thread_messages(&reader_token, thread).await;
    assert_eq!(
        messages.len(),
        2,
        "the member sees their reply in the thread"
    );

    let (status, body) = server
        .post(
            "/v1/messages",
            &reader_token,
            json!({ "to": reader + 1000, "thread_id": thread, "body": "hello" }),
        )
        .await;
    assert_eq!(error_of(status, &body, 400, "invalid_field")["field"], "to");

    // A fully restricted member cannot go on messaging through a sponsored thread either;
    // a restriction from new conversations only still lets them answer in it.
    for (level, expected) in [("new_conversations", 201), ("full", 403)] {
        let (status, body) = server
            .post(
                &format!("/v1/admin/members/{reader}/restriction"),
                ADMIN_TOKEN,
                json!({ "level": level, "reason": "test" }),
            )
            .await;
        assert!(status < 300, "{status} {body}");
        let (status, body) = server
            .post(
                "/v1/messages",
                &reader_token,
                json!({ "to": acme_id, "thread_id": thread, "body": format!("Still there? ({level})") }),
            )
            .await;
        assert_eq!(status, expected, "{level}: {body}");
        if expected == 403 {
            error_of(status, &body, 403, "sender_restricted");
        }
    }
    let (_, read) = server
        .get(&format!("/v1/advertiser/campaigns/{id}"), &acme)
        .await;
    assert_eq!(read["counts"]["replies"], 2, "{read}");
}

/// Replies in a sponsored thread count toward the sender's rate limits like any send, with
/// the limits in the store and on Redis: five go through, the sixth is 429, and the
/// advertiser counts five.
#[tokio::test]
async fn replies_in_a_sponsored_thread_count_toward_the_senders_rate_limit() {
    let day_limit =
        "[limits.rate]\nper_minute = 60\nminute_burst = 60\nper_hour = 60\nper_day = 5\n\
         [limits.young_rate]\nper_minute = 60\nminute_burst = 60\nper_hour = 60\nper_day = 5\n";
    replies_metered(day_limit).await;
    let keys = replicas_common::RedisKeys::new();
    replies_metered(&format!(
        "[limits]\nbackend = \"redis\"\n[limits.redis]\nkey_prefix = \"{}\"\ntimeout_ms = 10000\n{day_limit}",
        keys.prefix
    ))
    .await;
    assert!(
        !keys.keys().is_empty(),
        "the replies were metered on Redis, under the test's prefix"
    );
}

async fn replies_metered(config: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(config));
    let (reader, reader_token) = server.member("reader", "free").await;
    let (acme_id, acme, id, page) = campaign_taking_replies(&server, reader, &reader_token).await;
    let thread = page["threads"][0]["thread_id"].as_u64().unwrap();
    let reply = |i: u32| json!({ "to": acme_id, "thread_id": thread, "body": format!("Question number {i} about the pricing") });
    for i in 0..5 {
        let (status, sent) = server.post("/v1/messages", &reader_token, reply(i)).await;
        assert_eq!(status, 201, "{config}: reply {i}: {sent}");
    }
    let (status, body) = server.post("/v1/messages", &reader_token, reply(5)).await;
    let error = error_of(status, &body, 429, "rate_limited");
    assert_eq!(error["limit"], 5, "{body}");
    let (_, read) = server
        .get(&format!("/v1/advertiser/campaigns/{id}"), &acme)
        .await;
    assert_eq!(read["counts"]["replies"], 5, "{read}");
}

/// Acme's campaign that takes replies, delivered to `reader`: (Acme's id, Acme's token, the
/// campaign's id, the reader's Inbox page holding it).
async fn campaign_taking_replies(
    server: &Server,
    reader: u64,
    reader_token: &str,
) -> (u64, String, u64, Value) {
    let (acme_id, acme) = advertiser(server, "Acme").await;
    let mut body = campaign_body(
        "survey",
        "Tell us what you think of **Acme CRM**.",
        &[reader],
        1,
    );
    body["allow_replies"] = json!(true);
    let id = create_campaign(server, &acme, body).await["id"]
        .as_u64()
        .unwrap();
    let (status, run) = send_campaign(server, &acme, id).await;
    assert_eq!((status, &run["delivered"]), (200, &json!(1)), "{run}");
    let (_, page) = server
        .get("/v1/folders/inbox?limit=100", reader_token)
        .await;
    (acme_id, acme, id, page)
}
