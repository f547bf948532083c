//! Load generator: many members sending a realistic mix through the real HTTP API.
//!
//! ```sh
//! # start a server itself (the bench-profile binary, a temp data dir, relaxed limits):
//! cargo bench --bench loadgen -- --members 500 --concurrency 64 --duration 20
//! # or drive one that is already running (its admin token creates the members):
//! cargo bench --bench loadgen -- --target http://127.0.0.1:8080 --admin-token "$SENDGUARD_ADMIN_TOKEN"
//! ```
//!
//! Each of `--concurrency` workers sends back to back (closed loop), or at `--rate` sends
//! per second in total (open loop: latency then includes any queueing at the server), as a
//! randomly chosen member: replies to connections, new conversations with strangers,
//! InMail from premium members, spam from a few spammers and template fan-out from a few
//! bots. Every send is acknowledged only once durable, so sends/sec here is durable sends.
//! It reports acknowledged sends/sec, latency percentiles of acknowledged sends, every
//! refusal by status and code, and the server's own refusal counters and flush count.
//!
//! Run a server started elsewhere with relaxed rate limits (see [`RELAXED`]), or the rate
//! limiter will (correctly) refuse most of this traffic.
//!
//! `--reset-rate P` injects network failures: every send carries an idempotency key, and a
//! fraction P of them is first written on a raw connection that is reset (RST) right after
//! the request, or a few milliseconds later, so the client never sees the answer; the send
//! is then retried with the same key, as a client would after a timeout. At the end the
//! sends the server stored (its own `sendguard_sends_total`, which replays do not count)
//! are compared with the distinct sends the clients had acknowledged: exactly once means
//! equal (on a server with no other traffic).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Load is not abuse: rate and new-conversation caps off, InMail credits plentiful.
/// Fan-out and cadence detection stay on, so bots are still held and restricted.
const RELAXED: &str = "[limits.rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.young_rate]\nper_minute = 0\nper_hour = 0\nper_day = 0\n\
[limits.new_conversations]\nper_day = 0\nper_week = 0\n\
[messaging]\ninmail_credits_premium = 1000000\n";

const ADMIN_TOKEN: &str = "loadgen-admin-token-0123456789";

struct Options {
    target: Option<String>,
    admin_token: String,
    server_bin: String,
    members: usize,
    concurrency: usize,
    duration: Duration,
    count: Option<u64>,
    rate: Option<f64>,
    warmup: Duration,
    seed: u64,
    reset_rate: f64,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen [--target URL --admin-token TOKEN | --server-bin PATH] [--members N] \
         [--concurrency N] [--duration SECS | --count N] [--rate SENDS_PER_SEC] \
         [--warmup SECS] [--seed N] [--reset-rate FRACTION]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options {
        target: None,
        admin_token: std::env::var("SENDGUARD_ADMIN_TOKEN").unwrap_or_else(|_| ADMIN_TOKEN.into()),
        server_bin: env!("CARGO_BIN_EXE_sendguard").into(),
        members: 500,
        concurrency: 64,
        duration: Duration::from_secs(20),
        count: None,
        rate: None,
        warmup: Duration::from_secs(2),
        seed: 1,
        reset_rate: 0.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        let number = |v: String| v.parse::<f64>().unwrap_or_else(|_| usage());
        match arg.as_str() {
            // `cargo bench` passes this to every bench target.
            "--bench" => {}
            "--target" => o.target = Some(value()),
            "--admin-token" => o.admin_token = value(),
            "--server-bin" => o.server_bin = value(),
            "--members" => o.members = number(value()) as usize,
            "--concurrency" => o.concurrency = number(value()) as usize,
            "--duration" => o.duration = Duration::from_secs_f64(number(value())),
            "--count" => o.count = Some(number(value()) as u64),
            "--rate" => o.rate = Some(number(value())),
            "--warmup" => o.warmup = Duration::from_secs_f64(number(value())),
            "--seed" => o.seed = number(value()) as u64,
            "--reset-rate" => o.reset_rate = number(value()),
            _ => usage(),
        }
    }
    if o.members < 10 || o.concurrency == 0 || !(0.0..=1.0).contains(&o.reset_rate) {
        usage();
    }
    o
}

/// A server this process started; killed when dropped, with its temp dir.
struct OwnServer {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(o: &Options) -> (OwnServer, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("loadgen.toml");
    std::fs::write(&config, RELAXED).unwrap();
    let mut child = Command::new(&o.server_bin)
        .arg("serve")
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--addr")
        .arg("127.0.0.1:0")
        .arg("--config")
        .arg(&config)
        .env("SENDGUARD_ADMIN_TOKEN", &o.admin_token)
        .env("SENDGUARD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", o.server_bin));
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("sendguard listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    std::thread::spawn(move || for _ in reader.lines() {});
    (OwnServer { child, _dir: dir }, base)
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Person,
    Premium,
    Spammer,
    Bot,
}

struct Member {
    id: u64,
    token: String,
    role: Role,
    connections: Vec<usize>,
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("setup request");
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "setup: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Members with roles (2% bots, 3% spammers, 10% premium) and ~6 connections each.
async fn setup(client: &reqwest::Client, base: &str, o: &Options) -> Vec<Member> {
    let mut rng = StdRng::seed_from_u64(o.seed);
    let run = rng.random::<u32>();
    let mut members = Vec::with_capacity(o.members);
    for i in 0..o.members {
        let role = match i % 100 {
            0 | 1 => Role::Bot,
            2..=4 => Role::Spammer,
            5..=14 => Role::Premium,
            _ => Role::Person,
        };
        let plan = if role == Role::Premium {
            "premium"
        } else {
            "free"
        };
        let created = post(
            client,
            format!("{base}/v1/admin/members"),
            &o.admin_token,
            json!({"handle": format!("load{run}-{i}"), "plan": plan}),
        )
        .await;
        members.push(Member {
            id: created["member_id"].as_u64().unwrap(),
            token: created["token"].as_str().unwrap().to_string(),
            role,
            connections: Vec::new(),
        });
    }
    for a in 0..o.members {
        for _ in 0..3 {
            let b = rng.random_range(0..o.members);
            if b == a || members[a].connections.contains(&b) {
                continue;
            }
            let (ida, idb) = (members[a].id, members[b].id);
            post(
                client,
                format!("{base}/v1/admin/connections"),
                &o.admin_token,
                json!({"a": ida, "b": idb}),
            )
            .await;
            members[a].connections.push(b);
            members[b].connections.push(a);
        }
    }
    members
}

const WORDS: &[&str] = &[
    "thanks",
    "for",
    "the",
    "intro",
    "meeting",
    "next",
    "week",
    "project",
    "role",
    "team",
    "would",
    "love",
    "to",
    "chat",
    "about",
    "your",
    "experience",
    "with",
    "rust",
    "hiring",
    "contract",
    "deadline",
    "proposal",
    "draft",
    "review",
    "call",
    "tomorrow",
    "great",
    "idea",
];
const SPAM: &[&str] = &[
    "Earn $5000 a week from home! No experience needed, click https://bit.ly/quick-cash now",
    "As next of kin you are the beneficiary of the funds; send your bank details for the release of the funds",
    "Your account is suspended, verify your password at http://linkedin-security.example/login",
    "Buy 10,000 followers today, 90% off, limited offer, DM me on whatsapp",
];
const BOT_TEMPLATE: &str = "Hi there, I came across your profile and I'm impressed by your \
background. We help professionals like you grow revenue with our automated outreach \
platform used by thousands of companies. Are you free for a quick fifteen minute call this \
week to see if it's a fit? Reply yes and I'll send a calendar link.";

/// One send: who sends what to whom.
fn next_send(members: &[Member], rng: &mut StdRng) -> (usize, Value) {
    let n = members.len();
    let from = rng.random_range(0..n);
    let m = &members[from];
    let stranger = |rng: &mut StdRng| loop {
        let to = rng.random_range(0..n);
        if to != from && !m.connections.contains(&to) {
            return to;
        }
    };
    let sentence = |rng: &mut StdRng| {
        let len = rng.random_range(5..40);
        (0..len)
            .map(|_| WORDS[rng.random_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (to, body) = match m.role {
        Role::Bot => (stranger(rng), json!({"body": BOT_TEMPLATE})),
        Role::Spammer => (
            stranger(rng),
            json!({"body": SPAM[rng.random_range(0..SPAM.len())]}),
        ),
        Role::Premium if rng.random_bool(0.3) => (
            stranger(rng),
            json!({"body": sentence(rng), "kind": "inmail"}),
        ),
        _ if !m.connections.is_empty() && rng.random_bool(0.7) => {
            let to = m.connections[rng.random_range(0..m.connections.len())];
            let format = if rng.random_bool(0.2) {
                "markdown"
            } else {
                "text"
            };
            (
                to,
                json!({"body": format!("**Re:** {}", sentence(rng)), "format": format}),
            )
        }
        _ => (stranger(rng), json!({"body": sentence(rng)})),
    };
    let mut body = body;
    body["to"] = json!(members[to].id);
    (from, body)
}

#[derive(Default)]
struct Tally {
    /// Microseconds per acknowledged (201) send.
    latencies: Vec<u32>,
    decisions: BTreeMap<String, u64>,
    refusals: BTreeMap<String, u64>,
    transport_errors: u64,
    /// Sends whose first attempt was reset (`--reset-rate`), and of those, how many the
    /// retry found already stored (200 `replayed`).
    resets: u64,
    replayed_after_reset: u64,
    /// Distinct sends acknowledged (201, or 200 replayed), warm-up included.
    acked_all: u64,
}

/// What every worker shares: where to send, as whom, how fast, and until when.
struct Plan {
    base: String,
    members: Vec<Member>,
    pace: Option<Duration>,
    measure_from: Instant,
    deadline: Instant,
    /// Sends left when `--count` bounds the run.
    budget: AtomicU64,
    reset_rate: f64,
}

/// Writes `body` as a send on a raw connection, then resets it after `pause` (zero linger:
/// RST), so whether the server stored it is unknown to the client.
async fn send_then_reset(base: &str, token: &str, body: &Value, pause: Duration) {
    use tokio::io::AsyncWriteExt;
    let address = base.trim_start_matches("http://");
    let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
        return;
    };
    let json = body.to_string();
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    let _ = stream.write_all(request.as_bytes()).await;
    tokio::time::sleep(pause).await;
    let _ = stream.set_zero_linger();
}

async fn worker(client: reqwest::Client, plan: Arc<Plan>, seed: u64) -> Tally {
    let Plan {
        base,
        members,
        pace,
        measure_from,
        deadline,
        budget,
        reset_rate,
    } = &*plan;
    let (measure_from, deadline) = (*measure_from, *deadline);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    let url = format!("{base}/v1/messages");
    let mut ticker = pace.map(|pace| {
        let mut t = tokio::time::interval(pace);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        t
    });
    while Instant::now() < deadline {
        if budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
            .is_err()
        {
            break;
        }
        if let Some(ticker) = &mut ticker {
            ticker.tick().await;
        }
        let (from, mut body) = next_send(members, &mut rng);
        let started = Instant::now();
        let mut was_reset = false;
        if *reset_rate > 0.0 {
            body["idempotency_key"] = json!(format!("lg-{seed}-{}", rng.random::<u64>()));
            if rng.random_bool(*reset_rate) {
                let pause = Duration::from_millis(rng.random_range(0..5));
                send_then_reset(base, &members[from].token, &body, pause).await;
                was_reset = true;
            }
        }
        let response = client
            .post(&url)
            .bearer_auth(&members[from].token)
            .json(&body)
            .send()
            .await;
        let result = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                response.json::<Value>().await.map(|v| (status, v))
            }
            Err(e) => Err(e),
        };
        let elapsed = started.elapsed();
        if matches!(result, Ok((200 | 201, _))) {
            tally.acked_all += 1;
        }
        if was_reset {
            tally.resets += 1;
            tally.replayed_after_reset += u64::from(matches!(result, Ok((200, _))));
        }
        if started < measure_from {
            continue;
        }
        match result {
            Ok((200 | 201, answer)) => {
                tally
                    .latencies
                    .push(elapsed.as_micros().min(u32::MAX as u128) as u32);
                let decision = answer["decision"].as_str().unwrap_or("?").to_string();
                *tally.decisions.entry(decision).or_default() += 1;
            }
            Ok((status, answer)) => {
                let code = answer["error"]["code"].as_str().unwrap_or("?");
                *tally
                    .refusals
                    .entry(format!("{status} {code}"))
                    .or_default() += 1;
            }
            Err(_) => tally.transport_errors += 1,
        }
    }
    tally
}

/// The server's own counters: refusals by code, sends by decision, flushes.
async fn server_counters(client: &reqwest::Client, base: &str) -> BTreeMap<String, f64> {
    let mut counters = BTreeMap::new();
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
        return counters;
    };
    let text = response.text().await.unwrap_or_default();
    for line in text.lines() {
        let wanted = [
            "sendguard_send_refusals_total",
            "sendguard_sends_total",
            "sendguard_store_flushes",
        ];
        if wanted.iter().any(|w| line.starts_with(w)) {
            if let Some((name, value)) = line.rsplit_once(' ') {
                counters.insert(name.to_string(), value.parse().unwrap_or(0.0));
            }
        }
    }
    counters
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let o = options();
    let (_own, base) = match &o.target {
        Some(target) => (None, target.trim_end_matches('/').to_string()),
        None => {
            let (server, base) = start_server(&o);
            (Some(server), base)
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let setup_started = Instant::now();
    let members = setup(&client, &base, &o).await;
    eprintln!(
        "loadgen: {} members set up in {:.1?} at {base}",
        members.len(),
        setup_started.elapsed()
    );

    let before = server_counters(&client, &base).await;
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let deadline = if o.count.is_some() {
        start + Duration::from_secs(24 * 3600)
    } else {
        measure_from + o.duration
    };
    let plan = Arc::new(Plan {
        base: base.clone(),
        members,
        pace: o
            .rate
            .map(|rate| Duration::from_secs_f64(o.concurrency as f64 / rate)),
        measure_from,
        deadline,
        budget: AtomicU64::new(o.count.unwrap_or(u64::MAX)),
        reset_rate: o.reset_rate,
    });
    let mut tasks = Vec::new();
    for w in 0..o.concurrency {
        let seed = o.seed.wrapping_mul(1_000_003).wrapping_add(w as u64);
        tasks.push(tokio::spawn(worker(client.clone(), plan.clone(), seed)));
    }
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await.unwrap();
        total.latencies.extend(t.latencies);
        total.transport_errors += t.transport_errors;
        total.resets += t.resets;
        total.replayed_after_reset += t.replayed_after_reset;
        total.acked_all += t.acked_all;
        for (k, v) in t.decisions {
            *total.decisions.entry(k).or_default() += v;
        }
        for (k, v) in t.refusals {
            *total.refusals.entry(k).or_default() += v;
        }
    }
    let elapsed = Instant::now()
        .min(deadline)
        .saturating_duration_since(measure_from)
        .as_secs_f64();
    let after = server_counters(&client, &base).await;

    total.latencies.sort_unstable();
    let acked = total.latencies.len();
    let refused: u64 = total.refusals.values().sum();
    println!(
        "members={} concurrency={} rate={} measured={elapsed:.1}s (after {:.1}s warm-up)",
        o.members,
        o.concurrency,
        o.rate.map_or("max".to_string(), |r| format!("{r}/s")),
        o.warmup.as_secs_f64()
    );
    println!(
        "acknowledged sends: {acked} ({:.0}/s); refused: {refused}; transport errors: {}",
        acked as f64 / elapsed,
        total.transport_errors
    );
    println!(
        "latency ms (acknowledged): p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        percentile(&total.latencies, 50.0),
        percentile(&total.latencies, 99.0),
        percentile(&total.latencies, 99.9),
        percentile(&total.latencies, 100.0)
    );
    println!("decisions: {:?}", total.decisions);
    println!("client-seen refusals: {:?}", total.refusals);
    let mut delta = BTreeMap::new();
    for (name, value) in &after {
        let d = value - before.get(name).copied().unwrap_or(0.0);
        if d != 0.0 {
            delta.insert(name.clone(), d);
        }
    }
    println!("server counters during the run (incl. warm-up): {delta:?}");
    let flushes = delta.get("sendguard_store_flushes").copied().unwrap_or(0.0);
    if flushes > 0.0 {
        let sends: f64 = delta
            .iter()
            .filter(|(k, _)| k.starts_with("sendguard_sends_total"))
            .map(|(_, v)| v)
            .sum();
        println!("sends per flush: {:.1}", sends / flushes);
    }
    if o.reset_rate > 0.0 {
        let stored: f64 = delta
            .iter()
            .filter(|(k, _)| k.starts_with("sendguard_sends_total"))
            .map(|(_, v)| v)
            .sum();
        println!(
            "resets: {} sends reset before their answer; the retry found {} already stored \
             (replayed); server stored {stored} sends, clients acknowledged {} distinct sends: {}",
            total.resets,
            total.replayed_after_reset,
            total.acked_all,
            if stored as u64 == total.acked_all {
                "exactly once"
            } else {
                "MISMATCH"
            }
        );
    }
}
