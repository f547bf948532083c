//! The JSON routes behind the review console, over HTTP against the real binary: the board
//! counts, filters and sorts without claiming; claim next honours other reviewers' leases
//! until they expire; an item's context carries no text and is not audited, its content is
//! audited and rendered; restrictions and the filtered audit log; a member's rendered
//! thread; bad input is a 400 naming the field.

mod common;

use std::time::{Duration, Instant};

use common::{error_of, Server, ADMIN_TOKEN};
use serde_json::{json, Value};

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const PHISHING: &str = "Your account will be suspended today. Verify your account at \
    [https://www.linkedin.com/security](https://linkedln-security.com/verify) to keep access.";
/// Short leases, so one expires within the test.
const CONFIG: &str = "[review]\nclaim_ttl_secs = 2\n";

fn item_ids(board: &Value) -> Vec<u64> {
    board["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_u64().unwrap())
        .collect()
}

async fn claim(server: &Server, token: &str, body: Value) -> Option<u64> {
    let (status, answer) = server.post("/v1/review/claim", token, body).await;
    assert_eq!(status, 200, "{answer}");
    answer["item"]["item_id"].as_u64()
}

#[tokio::test]
async fn the_console_routes_work_the_queue_without_leaking_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), Some(CONFIG));
    let (dave, dave_token) = server.member("dave", "free").await;
    let (_, mallory_token) = server.member("mallory", "free").await;
    let (carol, carol_token) = server.member("carol", "free").await;
    let (_, bob_token) = server.member("bob", "free").await;
    let (ann_id, ann) = server.reviewer("ann").await;
    let (_, ben) = server.reviewer("ben").await;

    let (status, phishing) = server
        .post(
            "/v1/messages",
            &dave_token,
            json!({"to": carol, "body": PHISHING, "format": "markdown"}),
        )
        .await;
    assert_eq!((status, &phishing["decision"]), (201, &json!("held")));
    let (status, gtube) = server.send(&mallory_token, carol, GTUBE).await;
    assert_eq!((status, &gtube["decision"]), (201, &json!("held")));

    // The board: both items, counted by reason, claimed by nobody.
    let (status, board) = server.get("/v1/review/board", &ann).await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(
        (board["open"].as_u64(), board["matching"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(board["by_reason"]["test_pattern/gtube"], 1, "{board}");
    assert_eq!(
        board["by_reason"]["rule/phishing.verify_account"], 1,
        "{board}"
    );
    assert!(board["by_reason"]
        .get("relationship/outside_network")
        .is_none());
    let oldest = item_ids(&board);
    assert!(board["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["claimed_by"].is_null()));
    let (phishing_item, gtube_item) = (oldest[0], oldest[1]);

    // Filters: by reason (a key or a whole source), by rule; sorting by score.
    let (_, by_source) = server
        .get("/v1/review/board?reason=test_pattern", &ann)
        .await;
    assert_eq!(item_ids(&by_source), [gtube_item]);
    assert_eq!(
        by_source["by_reason"]["test_pattern/gtube"], 1,
        "counts cover the whole queue"
    );
    let (_, by_rule) = server
        .get("/v1/review/board?rule=phishing.verify_account", &ann)
        .await;
    assert_eq!(item_ids(&by_rule), [phishing_item]);
    let (_, by_score) = server.get("/v1/review/board?sort=score", &ann).await;
    let scores: Vec<f64> = by_score["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"].as_f64().unwrap())
        .collect();
    assert!(scores[0] >= scores[1], "{scores:?}");
    let (_, none) = server.get("/v1/review/board?kind=inmail", &ann).await;
    assert_eq!(none["matching"], 0);

    // Claim next: ann gets the oldest, ben the other; with both leased, nothing is left.
    assert_eq!(claim(&server, &ann, json!({})).await, Some(phishing_item));
    assert_eq!(claim(&server, &ben, json!({})).await, Some(gtube_item));
    assert_eq!(
        claim(&server, &ben, json!({"skip": [gtube_item]})).await,
        None
    );
    let (_, board) = server.get("/v1/review/board", &ben).await;
    assert_eq!(board["items"][0]["claimed_by"], ann_id);
    // When ann's lease runs out, the item is ben's to claim.
    let started = Instant::now();
    loop {
        if claim(&server, &ben, json!({"skip": [gtube_item]})).await == Some(phishing_item) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Context: reasons, rules with descriptions, the sender; no text, nothing audited.
    let (status, context) = server
        .get(&format!("/v1/review/items/{phishing_item}/context"), &ann)
        .await;
    assert_eq!(status, 200, "{context}");
    assert!(
        !context.to_string().contains("Verify your account"),
        "{context}"
    );
    assert_eq!(context["sender"]["handle"], "dave");
    assert_eq!(context["sender"]["member_id"], dave);
    let rule = context["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "phishing.verify_account")
        .expect("the rule is described");
    assert!(!rule["description"].as_str().unwrap().is_empty());
    let (_, reads) = server
        .get("/v1/review/audit/search?action=read_item", &ann)
        .await;
    assert_eq!(reads["entries"], json!([]));

    // Content: a justification first; then the text, its links' real targets, audited.
    let path = format!("/v1/review/items/{phishing_item}/content");
    let (status, body) = server.get(&path, &ben).await;
    error_of(status, &body, 400, "invalid_field");
    assert_eq!(body["error"]["field"], "justification");
    // Ten zero-width spaces are ten characters nobody can read.
    let invisible = "%E2%80%8B".repeat(10);
    let (status, body) = server
        .get(&format!("{path}?justification={invisible}"), &ben)
        .await;
    error_of(status, &body, 400, "invalid_field");
    assert_eq!(body["error"]["field"], "justification");
    let (status, content) = server
        .get(
            &format!("{path}?justification=checking%20the%20phishing%20hold"),
            &ben,
        )
        .await;
    assert_eq!(status, 200, "{content}");
    assert!(content["message"]["visible_text"]
        .as_str()
        .unwrap()
        .contains("Verify your account"));
    assert_eq!(
        content["message"]["links"][0],
        json!({"text": "https://www.linkedin.com/security", "target": "https://linkedln-security.com/verify"})
    );
    let (_, reads) = server
        .get("/v1/review/audit/search?action=read_item", &ann)
        .await;
    assert_eq!(reads["entries"][0]["why"], "checking the phishing hold");

    // Decide both; the audit search matches an action by prefix up to ':', newest first,
    // and by reviewer.
    for (token, item, label, action) in [
        (&ben, phishing_item, "ham", "release"),
        (&ben, gtube_item, "spam", "remove"),
    ] {
        server.decide(token, item, label, action).await;
    }
    let (_, decided) = server
        .get("/v1/review/audit/search?action=decide_item", &ann)
        .await;
    let actions: Vec<&str> = decided["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["decide_item:remove", "decide_item:release"]);
    let (_, partial) = server
        .get("/v1/review/audit/search?action=decide", &ann)
        .await;
    assert_eq!(
        partial["entries"],
        json!([]),
        "a prefix matches only up to ':'"
    );
    let (_, by_ann) = server
        .get(&format!("/v1/review/audit/search?reviewer={ann_id}"), &ann)
        .await;
    assert_eq!(by_ann["entries"], json!([]), "ann read and decided nothing");

    // Restrictions: an admin restricts dave; the list names him.
    let (status, _) = server
        .post(
            &format!("/v1/admin/members/{dave}/restriction"),
            ADMIN_TOKEN,
            json!({"level": "full", "reason": "phishing"}),
        )
        .await;
    assert!(status < 300);
    let (status, restricted) = server.get("/v1/review/restrictions", &ann).await;
    assert_eq!(status, 200, "{restricted}");
    assert_eq!(restricted["members"][0]["member_id"], dave);
    assert_eq!(restricted["members"].as_array().unwrap().len(), 1);

    // The member's rendered thread: the released message with its link's real target; a
    // stranger's request is 404.
    let thread = phishing["thread_id"].as_u64().unwrap();
    let (status, shown) = server
        .get(&format!("/v1/threads/{thread}/display"), &carol_token)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        shown["messages"][0]["links"][0]["target"],
        "https://linkedln-security.com/verify"
    );
    // The label follows the classifier's own reason in the verdict, whatever the model.
    let labelled = phishing["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["source"] == "classifier" && r["id"] == "possible_spam");
    assert_eq!(
        shown["messages"][0]["possible_spam"], labelled,
        "{phishing}"
    );
    let (status, body) = server
        .get(&format!("/v1/threads/{thread}/display"), &bob_token)
        .await;
    error_of(status, &body, 404, "thread_not_found");

    // Bad input: a 400 naming the field; the wrong role is 401.
    for (path, field) in [
        ("/v1/review/board?sort=newest", "sort"),
        ("/v1/review/board?limit=0", "limit"),
        ("/v1/review/board?limit=201", "limit"),
        ("/v1/review/board?kind=letter", "kind"),
        ("/v1/review/restrictions?limit=5000", "limit"),
        ("/v1/review/audit/search?reviewer=rita", "reviewer"),
        ("/v1/review/audit/search?limit=0", "limit"),
        ("/v1/review/audit/search?from=yesterday", "from"),
    ] {
        let (status, body) = server.get(path, &ann).await;
        let error = error_of(status, &body, 400, "invalid_field");
        assert_eq!(error["field"], field, "{path}: {body}");
    }
    let skip: Vec<u64> = (0..501).collect();
    let (status, body) = server
        .post("/v1/review/claim", &ann, json!({"skip": skip}))
        .await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "skip"
    );
    let (status, body) = server
        .post("/v1/review/claim", &ann, json!({"sort": "newest"}))
        .await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "sort"
    );
    let (status, body) = server
        .post("/v1/review/claim", &ann, json!({"skip": "all"}))
        .await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "skip"
    );
    let (status, body) = server.get("/v1/review/board", &carol_token).await;
    error_of(status, &body, 401, "unauthorized");
    let (status, body) = server.get("/v1/review/items/1/context", &ann).await;
    error_of(status, &body, 404, "item_not_found");
}

#[tokio::test]
async fn the_console_page_is_served_with_a_strict_policy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    for path in ["/console", "/console/app.js", "/console/console.css"] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self';") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(csp.contains("require-trusted-types-for 'script'"), "{csp}");
        assert!(!csp.contains("unsafe-"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    let (status, body) = server
        .request(reqwest::Method::GET, "/console/../Cargo.toml", None, None)
        .await;
    assert!(status == 404, "{status} {body}");
    let (status, body) = server
        .request(reqwest::Method::GET, "/console/secrets.js", None, None)
        .await;
    error_of(status, &body, 404, "unknown_asset");
}
