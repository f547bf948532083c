//! A newcomer's first hour (issue 26), against the real binary: it runs from any directory
//! on the rules and model built into it, `seed` leaves its tokens in a file, commands that
//! read a store refuse a path that is not one, errors say what and where once, and the
//! GTUBE test string is held.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{reason_ids, Server, ADMIN_TOKEN};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_sendguard");
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const PHISHING: &str =
    "Your account will be suspended. Verify your account at hxxp://linkedln-security[.]com";

/// Runs `sendguard ARGS` in `dir` (never the repository) with `stdin`.
fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("SENDGUARD_ADMIN_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn classify_json(dir: &Path, args: &[&str], text: &str) -> Value {
    let mut all = vec!["classify", "--json"];
    all.extend_from_slice(args);
    let output = run_in(dir, &all, &format!("{text}\n"));
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(stdout(&output).trim()).unwrap()
}

// Item 2 -----------------------------------------------------------------------------------

#[test]
fn classify_runs_from_any_directory_on_the_built_in_rules_and_model() {
    let elsewhere = tempfile::tempdir().unwrap();
    let verdict = classify_json(elsewhere.path(), &[], PHISHING);
    assert_eq!(verdict["decision"], "held", "{verdict}");
    let ids = reason_ids(&verdict);
    assert!(
        ids.contains(&"rule/phishing.account_suspension".to_string()),
        "{ids:?}"
    );
    assert!(
        verdict["score"].as_f64().is_some(),
        "the built-in model scored it: {verdict}"
    );
}

#[test]
fn rules_and_model_given_on_the_command_line_win_over_the_built_in_ones() {
    let elsewhere = tempfile::tempdir().unwrap();
    let packs = elsewhere.path().join("my-rules");
    std::fs::create_dir(&packs).unwrap();
    std::fs::write(
        packs.join("test.toml"),
        r#"category = "test"
[[rule]]
id = "test.zorblax"
description = "a made-up word"
keywords = ["zorblax"]
action = "hold"
examples = { match = ["zorblax"], no_match = ["hello"] }
"#,
    )
    .unwrap();
    let text = "a zorblax for you";
    let built_in = classify_json(elsewhere.path(), &[], text);
    assert!(!reason_ids(&built_in).contains(&"rule/test.zorblax".to_string()));
    let own = classify_json(elsewhere.path(), &["--rules", "my-rules"], text);
    assert_eq!(own["decision"], "held", "{own}");
    assert!(reason_ids(&own).contains(&"rule/test.zorblax".to_string()));
    // The phishing packs are not in my-rules, so they no longer fire.
    let phishing = classify_json(elsewhere.path(), &["--rules", "my-rules"], PHISHING);
    assert!(
        !reason_ids(&phishing)
            .iter()
            .any(|id| id.starts_with("rule/phishing.")),
        "{phishing}"
    );

    let model = elsewhere.path().join("broken.sgnb");
    std::fs::write(&model, b"not a model").unwrap();
    let output = run_in(
        elsewhere.path(),
        &["classify", "--model", "broken.sgnb"],
        "hi\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("broken.sgnb: not a sendguard model file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rules_check_without_a_directory_checks_the_built_in_packs() {
    let elsewhere = tempfile::tempdir().unwrap();
    let output = run_in(elsewhere.path(), &["rules", "check"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("0 failed (built-in rules)"),
        "{}",
        stdout(&output)
    );
}

/// Starts `serve` in `dir` on a free port; returns the child and the base URL and the lines
/// printed after the listen line.
fn serve_in(dir: &Path) -> (std::process::Child, String, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data", "store", "--addr", "127.0.0.1:0"])
        .current_dir(dir)
        .env("SENDGUARD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("sendguard listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let next = vec![
        lines.next().unwrap().unwrap(),
        lines.next().unwrap().unwrap(),
    ];
    std::thread::spawn(move || for _ in lines {});
    (child, base, next)
}

#[tokio::test]
async fn serve_runs_from_any_directory_and_points_to_the_api_documents() {
    let elsewhere = tempfile::tempdir().unwrap();
    let (mut child, base, next) = serve_in(elsewhere.path());
    let client = reqwest::Client::new();
    let ready: Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    assert!(ready["rules"].as_u64().unwrap() > 10, "{ready}");
    assert_eq!(ready["model"], "default.sgnb", "{ready}");

    // Item 3: the start-up lines and `GET /` say where the API is described.
    assert!(
        next[0].contains(&format!("{base}/openapi.json")) && next[0].contains("docs/API.md"),
        "{next:?}"
    );
    assert!(next[1].contains("sendguard seed --data store"), "{next:?}");
    let index = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let index: Value = index.json().await.unwrap();
    assert_eq!(index["openapi"], "/openapi.json", "{index}");
    assert_eq!(index["docs"], "docs/API.md", "{index}");
    let _ = child.kill();
    let _ = child.wait();
}

// Item 4 -----------------------------------------------------------------------------------

#[test]
fn seed_leaves_its_tokens_in_a_file_and_a_second_seed_says_where_they_are() {
    let elsewhere = tempfile::tempdir().unwrap();
    let first = run_in(
        elsewhere.path(),
        &["seed", "--data", "store", "--shell"],
        "",
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let env_file = elsewhere.path().join("store/demo.env");
    let saved = std::fs::read_to_string(&env_file).unwrap();
    assert_eq!(saved, stdout(&first), "the file holds what --shell printed");
    assert!(
        stderr(&first).contains("source store/demo.env"),
        "{}",
        stderr(&first)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "tokens readable by others: {mode:o}");
    }
    // A shell that sources the file has the tokens.
    let sourced = Command::new("sh")
        .args([
            "-c",
            ". store/demo.env && printf '%s %s' \"$ALICE_TOKEN\" \"$REVIEWER_TOKEN\"",
        ])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let sourced = String::from_utf8(sourced.stdout).unwrap();
    let (alice, reviewer) = sourced.split_once(' ').unwrap();
    assert!(saved.contains(&format!("export ALICE_TOKEN={alice}\n")) && alice.len() > 10);
    assert!(saved.contains(&format!("export REVIEWER_TOKEN={reviewer}\n")) && reviewer.len() > 10);

    let second = run_in(elsewhere.path(), &["seed", "--data", "store"], "");
    assert!(!second.status.success());
    let message = stderr(&second);
    assert!(message.contains("source store/demo.env"), "{message}");
    assert!(message.contains("rm -rf store"), "{message}");
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        saved,
        "the refused seed left the tokens alone"
    );
}

// Item 5 -----------------------------------------------------------------------------------

#[test]
fn commands_that_read_a_store_refuse_a_path_that_is_not_one() {
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = elsewhere.path();
    std::fs::create_dir(dir.join("empty")).unwrap();
    for data in ["nope", "empty"] {
        let commands: [&[&str]; 3] = [
            &[
                "report", "--data", data, "--format", "json", "--out", "r.json",
            ],
            &["labels", "export", "--data", data, "--out", "labels.tsv"],
            &["rescore", "--data", data],
        ];
        for args in commands {
            let output = run_in(dir, args, "");
            assert!(!output.status.success(), "{args:?} succeeded");
            assert!(
                stderr(&output).contains(&format!("{data} is not a sendguard store")),
                "{args:?}: {}",
                stderr(&output)
            );
        }
    }
    assert!(
        !dir.join("nope").exists(),
        "a store was created at the typo"
    );
    assert_eq!(std::fs::read_dir(dir.join("empty")).unwrap().count(), 0);
    assert!(!dir.join("r.json").exists() && !dir.join("labels.tsv").exists());

    // A real store is still read.
    assert!(run_in(dir, &["seed", "--data", "store"], "")
        .status
        .success());
    let output = run_in(
        dir,
        &[
            "report", "--data", "store", "--format", "json", "--out", "r.json",
        ],
        "",
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

// Item 6 -----------------------------------------------------------------------------------

/// The repository, for item 6's checks, which must not depend on item 2.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_missing_model_is_reported_once() {
    let output = run_in(repo(), &["classify", "--model", "nope.sgnb"], "hi\n");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("nope.sgnb"), "{message}");
    assert_eq!(
        message.matches("No such file or directory").count(),
        1,
        "{message}"
    );
}

#[test]
fn a_missing_data_file_is_named_without_a_line_zero() {
    let output = run_in(repo(), &["eval", "--data", "nope.tsv"], "");
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("nope.tsv: No such file"), "{message}");
    assert!(!message.contains(":0:"), "{message}");
}

#[test]
fn an_address_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let output = run_in(
        repo(),
        &["serve", "--data", data.to_str().unwrap(), "--addr", &addr],
        "",
    );
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&addr), "{message}");
    assert!(message.contains("in use"), "{message}");
}

#[tokio::test]
async fn logs_written_to_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start_logged(&dir.path().join("data"), None, &log);
    // A request logs a line, and shows the server is past installing its signal handlers.
    let (status, _) = server.get("/healthz", "none").await;
    assert_eq!(status, 200);
    assert!(server.terminate().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("serving"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escapes in the log: {text:?}"
    );
}

#[tokio::test]
async fn connecting_two_members_answers_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), None);
    let (a, _) = server.member("ann", "free").await;
    let (b, _) = server.member("ben", "free").await;
    let (status, body) = server
        .post(
            "/v1/admin/connections",
            ADMIN_TOKEN,
            json!({"a": a, "b": b}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"a": a, "b": b, "connected": true}));
}

#[test]
fn plain_classify_output_has_named_columns_and_no_trailing_tab() {
    let elsewhere = tempfile::tempdir().unwrap();
    let output = run_in(
        elsewhere.path(),
        &["classify"],
        "Hi Bob, coffee on Friday?\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "n\tdecision\tscore\treasons", "{text}");
    assert_eq!(lines.len(), 2, "{text}");
    let columns: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(columns.len(), 4, "{text}");
    assert!(
        columns.iter().all(|c| !c.is_empty()),
        "an empty column: {text:?}"
    );
    // classify judges every message as a stranger's: its ordinary message goes to Other,
    // and the row says why.
    assert_eq!(columns[1], "other", "{text}");
    assert!(
        columns[3].split(',').any(|id| id == "outside_network"),
        "the relationship reason is missing: {text:?}"
    );
}

#[test]
fn json_and_out_options_explain_themselves() {
    let elsewhere = tempfile::tempdir().unwrap();
    for (command, option) in [
        (&["classify", "--help"][..], "--json"),
        (&["report", "--help"][..], "--out <OUT>"),
        (&["labels", "export", "--help"][..], "--out <OUT>"),
    ] {
        let output = run_in(elsewhere.path(), command, "");
        let help = stdout(&output);
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(option))
            .unwrap_or_else(|| panic!("{command:?}: no {option}: {help}"));
        assert!(
            line.trim_start().len() > option.len() + 5,
            "{command:?}: {option} has no help text: {line:?}"
        );
    }
}

// Item 8 -----------------------------------------------------------------------------------

#[test]
fn the_gtube_string_is_held_with_its_own_reason() {
    let elsewhere = tempfile::tempdir().unwrap();
    let verdict = classify_json(
        elsewhere.path(),
        &[],
        &format!("Hello, this is a test of the filter: {GTUBE} thanks"),
    );
    assert_eq!(verdict["decision"], "held", "{verdict}");
    assert!(reason_ids(&verdict).contains(&"test_pattern/gtube".to_string()));
    let near_miss = classify_json(elsewhere.path(), &[], &GTUBE.replace("GTUBE", "GTUBX"));
    assert!(!reason_ids(&near_miss).contains(&"test_pattern/gtube".to_string()));
}

#[tokio::test]
async fn the_config_switches_gtube_recognition_off() {
    for (config, held) in [("", true), ("[policy]\ntest_pattern = false\n", false)] {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(&dir.path().join("data"), Some(config));
        let (status, verdict) = server
            .post("/v1/assess", ADMIN_TOKEN, json!({ "body": GTUBE }))
            .await;
        assert_eq!(status, 200, "{verdict}");
        assert_eq!(
            reason_ids(&verdict).contains(&"test_pattern/gtube".to_string()),
            held,
            "config {config:?}: {verdict}"
        );
        assert_eq!(verdict["decision"] == "held", held, "{verdict}");
    }
}
