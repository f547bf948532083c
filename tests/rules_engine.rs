//! Rules over real HTTP: a hold rule holds, a shadow rule only counts, obfuscated variants
//! match, and hot reload (admin route and SIGHUP) swaps packs without dropping requests
//! while a broken pack is refused with its file and rule named.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{error_of, Server, ADMIN_TOKEN};
use serde_json::json;

fn pack(keyword: &str, shadow: bool) -> String {
    format!(
        r#"category = "test"

[[rule]]
id = "test.keyword_hold"
description = "holds the test keyword"
keywords = ["{keyword}"]
action = "hold"
examples = {{ match = ["say {keyword} please"], no_match = ["nothing here"] }}

[[rule]]
id = "test.shadow_trial"
description = "a trial rule in shadow mode"
keywords = ["quarterly synergy"]
action = "hold"
shadow = {shadow}
examples = {{ match = ["our quarterly synergy plan"] }}
"#
    )
}

fn config(rules: &Path) -> String {
    format!(
        "[engine]\nrules_dir = \"{}\"\n[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n[limits.young_rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n[limits.new_conversations]\nper_day = 0\nper_week = 0\n",
        rules.display()
    )
}

async fn decision(server: &Server, token: &str, to: u64, body: &str) -> String {
    let (status, sent) = server.send(token, to, body).await;
    assert_eq!(status, 201, "{sent}");
    sent["decision"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn hold_rules_hold_obfuscated_variants_and_shadow_rules_only_count() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("test.toml"), pack("wire the fee", true)).unwrap();
    let server = Server::start(&dir.path().join("data"), Some(&config(&rules)));
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, _) = server.member("bob", "free").await;
    server.connect(alice, bob).await;

    for variant in [
        "Please wire the fee today",
        "Please w1re the f33 today",                 // leetspeak
        "Please wіre thе fee today",                 // Cyrillic і and е
        "Please wi\u{200b}re the fe\u{200b}e today", // zero-width spaces
        "Please W I R E the F E E today",            // spaced letters
    ] {
        assert_eq!(
            decision(&server, &alice_token, bob, variant).await,
            "held",
            "{variant}"
        );
    }
    assert_eq!(
        decision(
            &server,
            &alice_token,
            bob,
            "Let us review our quarterly synergy plan"
        )
        .await,
        "inbox",
        "a shadow rule changes nothing"
    );
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let shadow_line = metrics
        .lines()
        .find(|l| l.starts_with("sendguard_rule_hits_total") && l.contains("test.shadow_trial"))
        .unwrap_or_else(|| panic!("no shadow hit counted in:\n{metrics}"));
    assert!(
        shadow_line.contains("shadow=\"true\"") && shadow_line.ends_with(" 1"),
        "{shadow_line}"
    );
    let hold_line = metrics
        .lines()
        .find(|l| l.starts_with("sendguard_rule_hits_total") && l.contains("test.keyword_hold"))
        .unwrap();
    assert!(hold_line.ends_with(" 5"), "{hold_line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hot_reload_swaps_packs_without_dropping_requests_and_refuses_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("test.toml"), pack("alpha omega", false)).unwrap();
    let server = Arc::new(Server::start(
        &dir.path().join("data"),
        Some(&config(&rules)),
    ));
    let (alice, alice_token) = server.member("alice", "free").await;
    let (bob, _) = server.member("bob", "free").await;
    server.connect(alice, bob).await;
    assert_eq!(
        decision(&server, &alice_token, bob, "zeta zeta").await,
        "inbox"
    );

    // Sends keep flowing while packs are swapped back and forth.
    let sender = {
        let server = Arc::clone(&server);
        let token = alice_token.clone();
        tokio::spawn(async move {
            for i in 0..150 {
                let (status, body) = server
                    .send(&token, bob, &format!("status update {i}"))
                    .await;
                assert_eq!(status, 201, "send {i} failed during reload: {body}");
            }
        })
    };
    for i in 0..20 {
        let keyword = if i % 2 == 0 {
            "zeta zeta"
        } else {
            "alpha omega"
        };
        std::fs::write(rules.join("test.toml"), pack(keyword, false)).unwrap();
        let (status, body) = server
            .post("/v1/admin/rules/reload", ADMIN_TOKEN, json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["rules"], 2);
    }
    sender.await.unwrap();
    // The last swap (i = 19) loaded "alpha omega".
    assert_eq!(
        decision(&server, &alice_token, bob, "alpha omega").await,
        "held"
    );
    std::fs::write(rules.join("test.toml"), pack("zeta zeta", false)).unwrap();
    server
        .post("/v1/admin/rules/reload", ADMIN_TOKEN, json!({}))
        .await;
    assert_eq!(
        decision(&server, &alice_token, bob, "zeta zeta").await,
        "held"
    );

    // A broken pack is refused, naming file and rule; the old set keeps serving.
    let broken = pack("zeta zeta", false).replace(
        "action = \"hold\"\nexamples = { match = [\"say",
        "action = \"explode\"\nexamples = { match = [\"say",
    );
    std::fs::write(rules.join("test.toml"), &broken).unwrap();
    let (status, body) = server
        .post("/v1/admin/rules/reload", ADMIN_TOKEN, json!({}))
        .await;
    let error = error_of(status, &body, 422, "rules_invalid");
    assert!(
        error["field"].as_str().unwrap().ends_with("test.toml"),
        "{body}"
    );
    assert_eq!(
        decision(&server, &alice_token, bob, "zeta zeta").await,
        "held"
    );
    std::fs::write(
        rules.join("test.toml"),
        pack("zeta zeta", false).replace(
            "keywords = [\"quarterly synergy\"]",
            "pattern = \"(unclosed\"",
        ),
    )
    .unwrap();
    let (status, body) = server
        .post("/v1/admin/rules/reload", ADMIN_TOKEN, json!({}))
        .await;
    let error = error_of(status, &body, 422, "rules_invalid");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("test.shadow_trial"),
        "{body}"
    );

    // SIGHUP reloads too: poll (bounded) until the new pack answers.
    std::fs::write(rules.join("test.toml"), pack("omicron", false)).unwrap();
    let pid = server.pid().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut reloaded = false;
    while std::time::Instant::now() < deadline {
        if decision(&server, &alice_token, bob, "omicron").await == "held" {
            reloaded = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(reloaded, "SIGHUP did not reload the packs");
}
