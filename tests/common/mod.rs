//! Test harness: runs the real `sendguard` binary on a loopback port and talks HTTP to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct Server {
    child: Child,
    pub base: String,
    pub data: PathBuf,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts `sendguard serve` on `data`, with an optional config file body.
    pub fn start(data: &Path, config: Option<&str>) -> Server {
        Server::start_with(data, config, None)
    }

    /// Like [`Server::start`], writing the server's info-level log to `log`.
    pub fn start_logged(data: &Path, config: Option<&str>, log: &Path) -> Server {
        Server::start_with(data, config, Some(log))
    }

    fn start_with(data: &Path, config: Option<&str>, log: Option<&Path>) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sendguard"));
        command
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--addr")
            .arg("127.0.0.1:0")
            .env("SENDGUARD_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        match log {
            Some(path) => {
                let file = std::fs::File::create(path).unwrap();
                command
                    .env("SENDGUARD_LOG", "info")
                    .stderr(Stdio::from(file));
            }
            None => {
                command
                    .env("SENDGUARD_LOG", "warn")
                    .stderr(Stdio::inherit());
            }
        }
        if let Some(config) = config {
            let path = data.with_extension("toml");
            std::fs::write(&path, config).unwrap();
            command.arg("--config").arg(path);
        }
        let mut child = command.spawn().expect("starting sendguard");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        reader
            .read_line(&mut line)
            .expect("reading the listen line");
        let base = line
            .trim()
            .strip_prefix("sendguard listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Server {
            child,
            base,
            data: data.to_path_buf(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request failed");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON answer: {text}"))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, Some(token), Some(&body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, path, Some(token), None)
            .await
    }

    /// Creates a reviewer through the admin API; returns (id, token).
    pub async fn reviewer(&self, name: &str) -> (u64, String) {
        let (status, body) = self
            .post("/v1/admin/reviewers", ADMIN_TOKEN, json!({"name": name}))
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["reviewer_id"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    /// A reviewer's decision on a review item (`label` spam or ham, `action` remove,
    /// release or restrict_sender); asserts it is taken.
    pub async fn decide(&self, reviewer: &str, item: u64, label: &str, action: &str) {
        let (status, body) = self
            .post(
                &format!("/v1/review/items/{item}/decision"),
                reviewer,
                json!({"label": label, "action": action}),
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }

    /// Opens `token`'s event stream (`GET /v1/events`).
    pub async fn open_events(&self, token: &str) -> reqwest::Response {
        let response = self
            .client
            .get(self.url("/v1/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response
    }

    /// Creates a member through the admin API; returns (id, token).
    pub async fn member(&self, handle: &str, plan: &str) -> (u64, String) {
        let (status, body) = self
            .post(
                "/v1/admin/members",
                ADMIN_TOKEN,
                json!({"handle": handle, "plan": plan}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["member_id"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_string(),
        )
    }

    pub async fn connect(&self, a: u64, b: u64) {
        let (status, body) = self
            .post(
                "/v1/admin/connections",
                ADMIN_TOKEN,
                json!({"a": a, "b": b}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn send(&self, token: &str, to: u64, body: &str) -> (u16, Value) {
        self.post("/v1/messages", token, json!({"to": to, "body": body}))
            .await
    }

    /// A send's status, its `Retry-After` header (refusals and 503s carry one) and body.
    #[allow(dead_code)] // not every test binary refuses sends
    pub async fn send_with_retry_after(
        &self,
        token: &str,
        to: u64,
        body: &str,
    ) -> (u16, Option<String>, Value) {
        let response = self
            .client
            .post(self.url("/v1/messages"))
            .bearer_auth(token)
            .json(&json!({"to": to, "body": body}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        (status, retry_after, response.json().await.unwrap())
    }

    /// Thread ids listed in a folder (first page of 100).
    pub async fn folder(&self, token: &str, folder: &str) -> Vec<u64> {
        let (status, body) = self
            .get(&format!("/v1/folders/{folder}?limit=100"), token)
            .await;
        assert_eq!(status, 200, "{body}");
        body["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["thread_id"].as_u64().unwrap())
            .collect()
    }

    /// Message ids the member sees in a thread.
    pub async fn thread_messages(&self, token: &str, thread: u64) -> Vec<u64> {
        let (status, body) = self.get(&format!("/v1/threads/{thread}"), token).await;
        assert_eq!(status, 200, "{body}");
        body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message_id"].as_u64().unwrap())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts the API's error shape and returns the error object.
pub fn error_of(status: u16, body: &Value, want_status: u16, want_code: &str) -> Value {
    assert_eq!(status, want_status, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], want_code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    error.clone()
}

/// Runs the `sendguard` binary with `args` to its end: (succeeded, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sendguard"))
        .args(args)
        .output()
        .expect("running sendguard");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A verdict's reasons as `source/id`.
pub fn reason_ids(verdict: &Value) -> Vec<String> {
    verdict["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["source"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect()
}

/// Eight different, unremarkable first messages to strangers: nothing to hold on content
/// or template, so what a test shows comes from how recipients react.
pub fn introductions() -> Vec<String> {
    [
        "the product analytics role you posted last week",
        "your article about migrating a monolith to services",
        "the volunteer mentoring program you organise",
        "the conference panel on data privacy you moderated",
        "the open position on your logistics team",
        "your podcast episode about remote onboarding",
        "the hackathon your company sponsored in March",
        "the research paper on battery recycling you shared",
    ]
    .iter()
    .map(|topic| {
        format!(
            "Hello, I saw {topic} and wanted to introduce myself properly. I work on similar \
             problems at a small consultancy and would value hearing how you approached it."
        )
    })
    .collect()
}

/// Reads an event stream (`GET /v1/events`) until `wanted` appears in it, and returns all
/// it read: what arrived before a marker event is what the server announced before it.
/// Panics if nothing matches within 20 seconds.
pub async fn events_until(events: reqwest::Response, wanted: &str) -> String {
    use futures_util::StreamExt;
    let mut stream = events.bytes_stream();
    let mut received = String::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            received.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if received.contains(wanted) {
                return;
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .is_err()
    {
        panic!("{wanted:?} did not arrive; the stream had: {received}");
    }
    received
}
