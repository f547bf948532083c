//! Driving Debian's Chromium through chromedriver (WebDriver, with fantoccini) for the
//! console's browser tests: chromedriver runs on a free loopback port, each session is a
//! headless Chromium with its own profile, and every wait polls with a deadline.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long any one wait may take before the test fails, naming what it waited for.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// Between two polls of a waited-for condition.
const POLL: Duration = Duration::from_millis(50);

fn which(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

/// Chromium and chromedriver, or a panic naming the packages that provide them. A test
/// never changes the machine; `scripts/test` installs them.
pub fn tools() -> (PathBuf, PathBuf) {
    let browser = which(&["chromium", "chromium-browser"]);
    let driver = which(&["chromedriver"]);
    match (browser, driver) {
        (Some(browser), Some(driver)) => (browser, driver),
        _ => panic!(
            "the console's browser test needs Debian's `chromium` and `chromium-driver` \
             (apt-get install chromium chromium-driver), or run `scripts/test`, which installs \
             them; to leave it out: cargo test -- --skip console"
        ),
    }
}

/// A chromedriver process on a free loopback port; killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
    browser: PathBuf,
}

impl Driver {
    pub async fn start() -> Driver {
        let (browser, driver) = tools();
        // The OS picks a free port; chromedriver takes it a moment later (a race only with
        // another process binding that exact port in between).
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let driver = Driver {
            child,
            url,
            browser,
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ready = client
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(response) = ready {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                started.elapsed() < DEADLINE,
                "chromedriver did not answer on {}",
                driver.url
            );
            tokio::time::sleep(POLL).await;
        }
        driver
    }

    /// A new headless Chromium session, 1400×900.
    pub async fn session(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.browser,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    "--disable-extensions",
                    "--no-first-run",
                    "--window-size=1400,900",
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("starting a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `script` (a JavaScript expression body that `return`s) until it answers true.
pub async fn until(client: &Client, what: &str, script: &str) {
    let started = Instant::now();
    loop {
        let last = match client.execute(script, vec![]).await {
            Ok(Value::Bool(true)) => return,
            Ok(other) => other,
            Err(error) => Value::String(error.to_string()),
        };
        if started.elapsed() >= DEADLINE {
            // The page's last status line usually says what went wrong.
            let status = client
                .execute(
                    "const t = document.getElementById('toast'); return t ? t.textContent : '';",
                    vec![],
                )
                .await
                .unwrap_or_default();
            panic!("timed out waiting for {what} (last answer: {last}; page status: {status})");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs a script that returns a value.
pub async fn eval(client: &Client, script: &str) -> Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// The text of the element with this CSS selector.
pub async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
}

/// Types into the element with this selector (it gets the focus).
pub async fn type_into(client: &Client, css: &str, keys: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

/// Presses keys wherever the focus is, as a keyboard user would: WebDriver key actions go
/// to the page's focus, whatever holds it. (Sending them to the active element instead
/// fails when the focused button has just been hidden by the click before: "element not
/// interactable".)
pub async fn press(client: &Client, keys: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut typing = KeyActions::new("keyboard".to_string());
    for key in keys.chars() {
        typing = typing
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    client
        .perform_actions(typing)
        .await
        .unwrap_or_else(|e| panic!("pressing {keys:?}: {e}"));
}

/// WebDriver's key code for Enter.
pub const ENTER: &str = "\u{E007}";

/// WebDriver's key code for Escape.
pub const ESCAPE: &str = "\u{E00C}";
