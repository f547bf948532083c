//! The console in a real browser (headless Chromium through chromedriver), against the real
//! server binary: a reviewer signs in, claims a held phishing message, cannot see its text
//! before typing a justification, releases it (with an undo first), and finds the read and
//! the decision in the audit log; the recipient, signed in as a member in a second browser,
//! sees the released message arrive live in Other; a hostile message is reviewed with the
//! keyboard alone and renders inert, in the review and the member view alike.
//!
//! `SENDGUARD_SAVE_CONSOLE_PNG=DIR` keeps the screenshots of the queue, an item and the
//! member view (that is how `docs/console-*.png` were made).

mod browser_common;
mod common;

use std::path::Path;

use browser_common::{click, eval, press, text, type_into, until, Driver, ENTER, ESCAPE};
use common::Server;
use fantoccini::Client;
use serde_json::{json, Value};

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const PHISHING: &str = "Your account will be suspended today. Verify your account at \
    [https://www.linkedin.com/security](https://linkedln-security.com/verify) to keep access.";
/// Markup, a `javascript:` link and a right-to-left override, as plain text (the send path
/// refuses `javascript:` links in markdown, so a hostile sender would try plain text).
fn hostile_text() -> String {
    format!(
        "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"> \
         [click](javascript:document.title='pwned') invoice_\u{202E}fdp.exe {GTUBE}"
    )
}
/// Markup and a right-to-left override in markdown from a connection: the override sends it
/// to Other (a link whose text names another site would have it held).
const HOSTILE_MARKDOWN: &str = "Notes from today <img src=x onerror=\"document.title='pwned'\">\
    <script>document.title='pwned'</script> are at [the notes](https://notes.example.org/x) \
    and the file is report_\u{202E}txt.exe";

/// No script from a message ran, no markup from one was built, the policy blocked nothing.
async fn assert_inert(client: &Client, scope: &str) {
    let state = eval(
        client,
        &format!(
            "const s = document.querySelector('{scope}');
             return {{
               title: document.title,
               built: s.querySelectorAll('script, img, iframe, a, object, embed').length,
               markup: s.textContent.includes('<script>') && s.textContent.includes('onerror'),
               bidi_applied: s.textContent.includes('\\u202E'),
               bidi_shown: s.querySelectorAll('.ctl').length,
               violations: document.body.dataset.cspViolations || '0',
             }};"
        ),
    )
    .await;
    assert_eq!(state["title"], "sendguard console", "{scope}: {state}");
    assert_eq!(
        state["built"], 0,
        "{scope}: elements built from a message: {state}"
    );
    assert_eq!(
        state["markup"], true,
        "{scope}: markup shown as text: {state}"
    );
    assert_eq!(state["bidi_applied"], false, "{scope}: {state}");
    assert!(state["bidi_shown"].as_u64() >= Some(1), "{scope}: {state}");
    assert_eq!(state["violations"], "0", "{scope}: {state}");
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{name}: screenshot looks empty ({} bytes)",
        png.len()
    );
    if let Ok(dir) = std::env::var("SENDGUARD_SAVE_CONSOLE_PNG") {
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

async fn sign_in(client: &Client, base: &str, role: &str, token: &str) {
    client.goto(&format!("{base}/console")).await.unwrap();
    until(
        client,
        "the page's scripts",
        "return document.body.dataset.ready === 'yes';",
    )
    .await;
    client
        .find(fantoccini::Locator::Css("#role"))
        .await
        .unwrap()
        .select_by_value(role)
        .await
        .unwrap();
    // The keyboard: type the token and press Enter.
    type_into(client, "#token", &format!("{token}{ENTER}")).await;
    until(
        client,
        "signed in",
        &format!("return document.body.dataset.role === '{role}';"),
    )
    .await;
}

async fn audit(server: &Server, token: &str, action: &str) -> Vec<Value> {
    let (status, body) = server
        .get(&format!("/v1/review/audit/search?action={action}"), token)
        .await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_review_and_member_view_in_chromium() {
    let driver = Driver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start_logged(&dir.path().join("data"), None, &log);
    let base = server.base.clone();

    let (_, dave_token) = server.member("dave", "free").await;
    let (_, mallory_token) = server.member("mallory", "free").await;
    let (carol, carol_token) = server.member("carol", "free").await;
    let (bob, bob_token) = server.member("bob", "free").await;
    server.connect(bob, carol).await;
    let (reviewer_id, reviewer_token) = server.reviewer("rita").await;

    let (status, phishing) = server
        .post(
            "/v1/messages",
            &dave_token,
            json!({"to": carol, "body": PHISHING, "format": "markdown"}),
        )
        .await;
    assert_eq!(
        (status, &phishing["decision"]),
        (201, &json!("held")),
        "{phishing}"
    );
    let (status, hostile) = server.send(&mallory_token, carol, &hostile_text()).await;
    assert_eq!(
        (status, &hostile["decision"]),
        (201, &json!("held")),
        "{hostile}"
    );
    let (status, inbox) = server
        .post(
            "/v1/messages",
            &bob_token,
            json!({"to": carol, "body": HOSTILE_MARKDOWN, "format": "markdown"}),
        )
        .await;
    assert_eq!(
        (status, &inbox["decision"]),
        (201, &json!("other")),
        "{inbox}"
    );

    // The member, in a browser of her own, follows her event stream.
    let member = driver.session().await;
    sign_in(&member, &base, "member", &carol_token).await;
    until(
        &member,
        "the live stream",
        "return document.getElementById('live').dataset.state === 'live';",
    )
    .await;
    eval(&member, "window.sgNoReload = true; return true;").await;

    // Her Other folder holds the connection's hostile markdown: shown as text, nothing built.
    click(&member, "#folder-other").await;
    until(
        &member,
        "the thread in Other",
        "return !!document.querySelector('#thread-list [data-with=\"bob\"]');",
    )
    .await;
    click(&member, "#thread-list [data-with=\"bob\"]").await;
    until(
        &member,
        "the thread",
        "return !!document.querySelector('#thread-messages .message');",
    )
    .await;
    assert_inert(&member, "#thread-messages").await;
    let links = text(&member, "#thread-messages .links").await;
    assert!(
        links.contains("the notes → https://notes.example.org/x"),
        "{links}"
    );
    assert_eq!(
        eval(
            &member,
            "return document.getElementById('thread-list').dataset.count;"
        )
        .await,
        "1"
    );

    // The reviewer signs in: two held items, counted by reason.
    let review = driver.session().await;
    sign_in(&review, &base, "reviewer", &reviewer_token).await;
    until(
        &review,
        "two queued items",
        "return document.getElementById('queue-list').dataset.count === '2';",
    )
    .await;
    let counts = text(&review, "#reason-counts").await;
    assert!(counts.contains("test_pattern/gtube"), "{counts}");
    screenshot(&review, "console-queue").await;
    // j and k move the selection down and up the list.
    let selected =
        "return Number(document.querySelector('#queue-list .row.selected').dataset.item);";
    let first = eval(&review, selected).await;
    press(&review, "j").await;
    until(
        &review,
        "the second row selected",
        &format!("{} !== {first};", selected.trim_end_matches(';')),
    )
    .await;
    press(&review, "k").await;
    assert_eq!(eval(&review, selected).await, first);

    // Claim next: the oldest, the phishing message. Evidence, but no text.
    click(&review, "#claim-next").await;
    until(
        &review,
        "the claimed item",
        "return !document.getElementById('item-view').hidden;",
    )
    .await;
    let item_id: u64 = eval(
        &review,
        "return Number(document.getElementById('item-view').dataset.item);",
    )
    .await
    .as_u64()
    .unwrap();
    let reasons = text(&review, "#item-reasons").await;
    assert!(
        reasons.contains("phishing"),
        "the rules behind the hold: {reasons}"
    );
    let lease = text(&review, "#lease").await;
    assert!(lease.starts_with("claimed until"), "{lease}");
    let page = eval(&review, "return document.body.innerText;").await;
    assert!(
        !page.as_str().unwrap().contains("Verify your account"),
        "text shown before a justification"
    );
    assert_eq!(
        eval(
            &review,
            "return document.getElementById('item-content').dataset.state;"
        )
        .await,
        "hidden"
    );

    // Reading without a justification is refused, and still shows nothing.
    click(&review, "#read-button").await;
    until(&review, "the justification error", "return document.getElementById('justification-error').textContent.includes('justification');").await;
    assert_eq!(
        eval(
            &review,
            "return document.getElementById('item-content').dataset.state;"
        )
        .await,
        "hidden"
    );

    type_into(&review, "#justification", "checking a phishing hold").await;
    click(&review, "#read-button").await;
    until(
        &review,
        "the message text",
        "return document.getElementById('item-content').dataset.state === 'shown';",
    )
    .await;
    let body = text(&review, "#message-body").await;
    assert!(body.contains("Verify your account"), "{body}");
    assert!(
        body.contains("https://linkedln-security.com/verify")
            && body.contains("shown as linkedin.com"),
        "the real target, flagged: {body}"
    );
    assert_eq!(
        eval(
            &review,
            "return document.querySelectorAll('#item-content a').length;"
        )
        .await,
        0
    );
    screenshot(&review, "console-item").await;

    // Release, undo, release again: nothing is sent until the next item.
    click(&review, "#do-release").await;
    until(
        &review,
        "the staged release",
        "return document.getElementById('item-decision-banner').dataset.state === 'pending';",
    )
    .await;
    click(&review, "#do-undo").await;
    until(&review, "the undo", "return document.getElementById('item-decision-banner').hidden && !document.getElementById('do-release').disabled;").await;
    assert!(audit(&server, &reviewer_token, "decide_item")
        .await
        .is_empty());
    click(&review, "#do-release").await;
    until(
        &review,
        "the staged release",
        "return document.getElementById('item-decision-banner').dataset.state === 'pending';",
    )
    .await;
    assert!(
        audit(&server, &reviewer_token, "decide_item")
            .await
            .is_empty(),
        "sent before the next item"
    );

    // From here on, the keyboard only: `n` sends the release and claims the next item.
    press(&review, "n").await;
    until(
        &review,
        "the next item",
        &format!("return Number(document.getElementById('item-view').dataset.item) > {item_id};"),
    )
    .await;

    // The member sees the release arrive in Other, live: no reload, no click.
    until(
        &member,
        "the released message in Other",
        "return !!document.querySelector('#thread-list [data-with=\"dave\"]');",
    )
    .await;
    assert_eq!(eval(&member, "return window.sgNoReload === true && Number(document.getElementById('live').dataset.events) >= 1;").await, true);
    click(&member, "#thread-list [data-with=\"dave\"]").await;
    until(&member, "the released message", "return document.getElementById('thread-messages').textContent.includes('Verify your account');").await;
    screenshot(&member, "console-member").await;

    // The hostile item, by keyboard: `/` to the justification, Enter to read.
    assert_eq!(
        eval(
            &review,
            "return document.getElementById('item-content').dataset.state;"
        )
        .await,
        "hidden"
    );
    press(&review, "/").await;
    press(&review, &format!("reviewing a hostile hold{ENTER}")).await;
    until(
        &review,
        "the hostile text",
        "return document.getElementById('item-content').dataset.state === 'shown';",
    )
    .await;
    assert_inert(&review, "#item-content").await;
    let body = text(&review, "#message-body").await;
    assert!(
        body.contains("javascript:document.title") && body.contains("⟦U+202E RLO⟧"),
        "{body}"
    );

    // `d` stages a removal, `u` undoes it, `d` again, `n` sends it: the queue is empty.
    press(&review, "d").await;
    until(
        &review,
        "the staged removal",
        "return document.getElementById('item-decision-banner').dataset.state === 'pending';",
    )
    .await;
    press(&review, "u").await;
    until(
        &review,
        "the undo",
        "return document.getElementById('item-decision-banner').hidden;",
    )
    .await;
    press(&review, "d").await;
    until(
        &review,
        "the staged removal",
        "return document.getElementById('item-decision-banner').dataset.state === 'pending';",
    )
    .await;
    press(&review, "n").await;
    until(&review, "an empty queue", "return document.getElementById('queue-list').dataset.count === '0' && !document.getElementById('item-empty').hidden;").await;

    let decided = audit(&server, &reviewer_token, "decide_item").await;
    let actions: Vec<&str> = decided
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["decide_item:remove", "decide_item:release"],
        "newest first"
    );
    assert_eq!(decided[1]["message_id"], phishing["message_id"]);
    assert_eq!(decided[0]["message_id"], hostile["message_id"]);

    // The audit log tab (key 3): the read with its justification, and the decision.
    press(&review, "3").await;
    type_into(&review, "#a-action", &format!("read_item{ENTER}")).await;
    until(&review, "the reads", "return document.querySelectorAll('#audit-rows tr[data-action=\"read_item\"]').length === 2;").await;
    let rows = text(&review, "#audit-rows").await;
    assert!(
        rows.contains("checking a phishing hold") && rows.contains(&item_id.to_string()),
        "{rows}"
    );
    let action = review
        .find(fantoccini::Locator::Css("#a-action"))
        .await
        .unwrap();
    action.clear().await.unwrap();
    action
        .send_keys(&format!("decide_item{ENTER}"))
        .await
        .unwrap();
    until(
        &review,
        "the release in the log",
        "return !!document.querySelector('#audit-rows tr[data-action=\"decide_item:release\"]');",
    )
    .await;
    // By reviewer: this one has them all, another has none.
    type_into(
        &review,
        "#a-reviewer",
        &format!("{}{ENTER}", reviewer_id + 1000),
    )
    .await;
    until(
        &review,
        "no entries for another reviewer",
        "return document.getElementById('audit-rows').textContent.includes('No entries match');",
    )
    .await;

    // The report tab (key 5) embeds the HTML report in a sandboxed frame, styled.
    press(&review, &format!("{ESCAPE}5")).await;
    until(
        &review,
        "the report",
        "return document.getElementById('report-frame').dataset.loaded === 'yes';",
    )
    .await;
    review.enter_frame(0).await.unwrap();
    let heading = browser_common::text(&review, "h1").await;
    assert_eq!(heading, "sendguard trust-and-safety report");
    let body = review.find(fantoccini::Locator::Css("body")).await.unwrap();
    assert_eq!(
        body.css_value("max-width").await.unwrap(),
        "1040px",
        "the report's stylesheet applies"
    );
    review.enter_parent_frame().await.unwrap();
    assert_eq!(
        eval(
            &review,
            "return document.body.dataset.cspViolations || '0';"
        )
        .await,
        "0"
    );

    // No token in an address, or in the server's log.
    for client in [&review, &member] {
        let url = client.current_url().await.unwrap();
        assert_eq!(url.as_str(), format!("{base}/console"));
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    for token in [&reviewer_token, &carol_token, &dave_token] {
        assert!(
            !logged.contains(token.as_str()),
            "a token is in the server log"
        );
    }
    assert!(
        logged.contains("/v1/review/items/{item_id}/content"),
        "the log names routes"
    );

    review.close().await.unwrap();
    member.close().await.unwrap();
}
