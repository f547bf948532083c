//! The admin rescore routes on a live server: a job over the store the server holds, its
//! progress and diff, bad input refused up front, and the CLI told to use the route.

mod common;

use std::time::{Duration, Instant};

use common::{error_of, Server, ADMIN_TOKEN};
use serde_json::{json, Value};

const NEW_PACK: &str = r#"
category = "test"
[[rule]]
id = "test.frobnicate"
description = "new pack: frobnicate is held"
keywords = ["frobnicate"]
action = "hold"
score = 5.0
examples = { match = ["frobnicate it"], no_match = ["fix it"] }
"#;

/// Polls the job until it is no longer running (bounded; no sleeping, each poll is a
/// request round trip).
async fn finished(server: &Server, job: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = server
            .get(&format!("/v1/admin/rescore/{job}"), ADMIN_TOKEN)
            .await;
        assert_eq!(status, 200, "{body}");
        if body["status"] != "running" {
            return body;
        }
        assert!(Instant::now() < deadline, "job {job} still running: {body}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_live_store_is_rescored_through_the_admin_route() {
    let root = tempfile::tempdir().unwrap();
    let rules = root.path().join("rules_new");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("test.toml"), NEW_PACK).unwrap();
    let data = root.path().join("data");
    // The new pack holds ordinary sentences, which the classifier would veto: an operator
    // who means such a hold to stand lists its category as exempt.
    let server = Server::start(
        &data,
        Some("[policy]\nclassifier_veto_exempt_categories = [\"test\"]\n"),
    );
    let (_, ann) = server.member("ann", "free").await;
    let (ben, ben_token) = server.member("ben", "free").await;
    for n in 0..3 {
        let (status, sent) = server
            .send(
                &ann,
                ben,
                &format!("We should frobnicate the roadmap, part {n}"),
            )
            .await;
        assert_eq!(status, 201, "{sent}");
        assert_eq!(sent["decision"], "other");
    }
    assert_eq!(server.folder(&ben_token, "other").await.len(), 1);
    let rules_path = rules.display().to_string();

    // Dry run: 202 with a job id, then the diff.
    let (status, started) = server
        .post(
            "/v1/admin/rescore",
            ADMIN_TOKEN,
            json!({"rules": rules_path}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let job = started["job_id"].as_u64().unwrap();
    let done = finished(&server, job).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["dry_run"], true);
    assert_eq!(done["processed"], 3);
    let diff = &done["report"]["diff"];
    assert_eq!(diff["transitions"]["other->held"]["count"], 3, "{done}");
    assert_eq!(diff["changed"], 3);
    assert_eq!(server.folder(&ben_token, "other").await.len(), 1);

    // Bad input is refused before any work; unknown jobs are 404; members are 401.
    let (status, body) = server
        .post(
            "/v1/admin/rescore",
            ADMIN_TOKEN,
            json!({"rules": "/nonexistent/rules"}),
        )
        .await;
    assert_eq!(
        error_of(status, &body, 400, "invalid_field")["field"],
        "rules"
    );
    let (status, body) = server
        .post("/v1/admin/rescore", ADMIN_TOKEN, json!({"dryrun": false}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.get("/v1/admin/rescore/999999", ADMIN_TOKEN).await;
    error_of(status, &body, 404, "job_not_found");
    let (status, _) = server.post("/v1/admin/rescore", &ann, json!({})).await;
    assert_eq!(status, 401);

    // The CLI cannot open the store the server holds, and says what to do instead.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sendguard"))
        .args(["rescore", "--data"])
        .arg(&data)
        .args(["--rules", &rules_path])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("POST /v1/admin/rescore"), "{stderr}");

    // Apply: the three messages are held and leave ben's Other folder.
    let (status, started) = server
        .post(
            "/v1/admin/rescore",
            ADMIN_TOKEN,
            json!({"dry_run": false, "rules": rules_path}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let done = finished(&server, started["job_id"].as_u64().unwrap()).await;
    assert_eq!(done["report"]["diff"]["changed"], 3, "{done}");
    assert_eq!(done["report"]["dry_run"], false);
    assert!(server.folder(&ben_token, "other").await.is_empty());
    server.terminate();
}
