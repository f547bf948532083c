//! Load generator: many members sending a realistic mix through the real HTTP API, to one
//! server or to several replicas behind an imaginary load balancer.
//!
//! ```sh
//! # start a server itself (the bench-profile binary, a temp sled store, relaxed limits):
//! cargo bench --bench loadgen -- --members 500 --concurrency 64 --duration 20
//! # start 3 replicas on PostgreSQL + Redis + NATS (a schema, key prefix and subject prefix
//! # of this run's own, removed afterwards), 3 measured runs, and a sled baseline after:
//! cargo bench --bench loadgen -- --replicas 3 --runs 3 --baseline
//! # or drive servers that are already running (their admin token creates the members):
//! cargo bench --bench loadgen -- --target http://127.0.0.1:8080 --target http://127.0.0.1:8081 \
//!     --admin-token "$SENDGUARD_ADMIN_TOKEN"
//! ```
//!
//! Each of `--concurrency` workers sends back to back (closed loop), or at `--rate` sends
//! per second in total (open loop: latency then includes any queueing at the server), as a
//! randomly chosen member: replies to connections, new conversations with strangers,
//! InMail from premium members, spam from a few spammers and template fan-out from a few
//! bots. With several targets each send goes to the next one in turn (`--pick round-robin`,
//! the default) or to one drawn at random (`--pick random`), as a load balancer would. Every
//! send is acknowledged only once durable, so sends/sec here is durable sends. It reports
//! acknowledged sends/sec, latency percentiles of acknowledged sends, every refusal by
//! status and code, and the servers' own counters (refusals, flushes, and with the shared
//! backends PostgreSQL statements and round trips, Redis and NATS round trips), per send.
//!
//! When it starts the servers itself it also measures CPU per acknowledged send: of the
//! sendguard processes, of the PostgreSQL backends serving them (found by their
//! `application_name`), of the Redis and NATS servers (whole processes: shared with anything
//! else using them meanwhile) and of itself, from `/proc`.
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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// How a send picks its replica among several targets.
#[derive(Clone, Copy, PartialEq)]
enum Pick {
    RoundRobin,
    Random,
}

struct Options {
    targets: Vec<String>,
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
    pick: Pick,
    /// Replicas to start on the shared backends (0: one sled server).
    replicas: usize,
    runs: usize,
    /// After the shared runs, the same runs against one sled server, for the ratio.
    baseline: bool,
    pg_url: String,
    pool_size: usize,
    redis_url: String,
    nats_url: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen [--target URL ... --admin-token TOKEN | --server-bin PATH \
         [--replicas N [--baseline] [--pg-url URL] [--pool-size N] [--redis-url URL] \
         [--nats-url URL]]] [--pick round-robin|random] [--members N] [--concurrency N] \
         [--duration SECS | --count N] [--runs N] [--rate SENDS_PER_SEC] [--warmup SECS] \
         [--seed N] [--reset-rate FRACTION]"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let mut o = Options {
        targets: Vec::new(),
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
        pick: Pick::RoundRobin,
        replicas: 0,
        runs: 1,
        baseline: false,
        pg_url: "postgres://postgres@127.0.0.1:5432/test".into(),
        pool_size: 16,
        redis_url: "redis://127.0.0.1:6379/".into(),
        nats_url: "nats://127.0.0.1:4222".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        let number = |v: String| v.parse::<f64>().unwrap_or_else(|_| usage());
        match arg.as_str() {
            // `cargo bench` passes this to every bench target.
            "--bench" => {}
            "--target" => o.targets.push(value().trim_end_matches('/').to_string()),
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
            "--pick" => {
                o.pick = match value().as_str() {
                    "round-robin" => Pick::RoundRobin,
                    "random" => Pick::Random,
                    _ => usage(),
                }
            }
            "--replicas" => o.replicas = number(value()) as usize,
            "--runs" => o.runs = number(value()) as usize,
            "--baseline" => o.baseline = true,
            "--pg-url" => o.pg_url = value(),
            "--pool-size" => o.pool_size = number(value()) as usize,
            "--redis-url" => o.redis_url = value(),
            "--nats-url" => o.nats_url = value(),
            _ => usage(),
        }
    }
    let self_started = o.targets.is_empty();
    if o.members < 10
        || o.concurrency == 0
        || o.runs == 0
        || !(0.0..=1.0).contains(&o.reset_rate)
        || (!self_started && (o.replicas > 0 || o.baseline))
        || (o.baseline && o.replicas == 0)
    {
        usage();
    }
    o
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`; 0 if gone.
fn process_cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in
    // USER_HZ ticks (100 a second on Linux).
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Pids of the processes whose command name is `name` (the shared services' servers).
fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .collect()
}

/// A server this process started; killed when dropped.
struct OwnServer {
    child: Child,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(
    o: &Options,
    data: &std::path::Path,
    config: &std::path::Path,
) -> (OwnServer, String) {
    let mut child = Command::new(&o.server_bin)
        .arg("serve")
        .arg("--data")
        .arg(data)
        .arg("--addr")
        .arg("127.0.0.1:0")
        .arg("--config")
        .arg(config)
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
    (OwnServer { child }, base)
}

/// What this run made on the shared services, removed when dropped (after the replicas,
/// which are declared after it): the schema, the Redis keys under the prefix, the NATS
/// control stream.
struct SharedServices {
    pg_url: String,
    schema: String,
    redis_url: String,
    key_prefix: String,
    nats_url: String,
    subject_prefix: String,
    /// Identifies this run's PostgreSQL backends in `pg_stat_activity`.
    application_name: String,
}

impl SharedServices {
    async fn create(o: &Options) -> SharedServices {
        let tag = format!("{}_{:08x}", std::process::id(), rand::random::<u32>());
        let services = SharedServices {
            pg_url: o.pg_url.clone(),
            schema: format!("loadgen_{tag}"),
            redis_url: o.redis_url.clone(),
            key_prefix: format!("loadgen_{tag}:"),
            nats_url: o.nats_url.clone(),
            subject_prefix: format!("loadgen_{tag}"),
            application_name: format!("sendguard-loadgen-{tag}"),
        };
        services
            .sql(&format!("CREATE SCHEMA {}", services.schema))
            .await;
        services
    }

    /// The URL the replicas use: this run's schema, and its application name.
    fn store_url(&self) -> String {
        let separator = if self.pg_url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}&application_name={}",
            self.pg_url, self.schema, self.application_name
        )
    }

    async fn sql(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        let (client, connection) = tokio_postgres::connect(&self.pg_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {}: {e} (scripts/start-services starts it)",
                    self.pg_url
                )
            });
        let driver = tokio::spawn(connection);
        let rows = client
            .query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = driver.await;
        rows
    }

    /// The server's WAL position in bytes (any database: the server is shared).
    async fn wal_bytes(&self) -> f64 {
        let rows = self
            .sql("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::float8")
            .await;
        rows.first().map_or(0.0, |row| row.get(0))
    }

    /// Bytes of this run's tables and indexes, and the messages stored in them.
    async fn store_size(&self) -> (f64, f64) {
        let rows = self
            .sql(&format!(
                "SELECT (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{0}' \
                 AND c.relkind = 'r')::float8, (SELECT count(*) FROM {0}.messages)::float8",
                self.schema
            ))
            .await;
        rows.first()
            .map_or((0.0, 0.0), |row| (row.get(0), row.get(1)))
    }

    /// The pids of the PostgreSQL backends the replicas have open.
    async fn backend_pids(&self) -> Vec<u32> {
        let rows = self
            .sql(&format!(
                "SELECT pid FROM pg_stat_activity WHERE application_name = '{}'",
                self.application_name
            ))
            .await;
        rows.iter().map(|row| row.get::<_, i32>(0) as u32).collect()
    }

    /// The replicas' config: relaxed limits on the three shared backends.
    fn config(&self, pool_size: usize) -> String {
        format!(
            "{RELAXED}[store]\nbackend = \"postgres\"\nurl = \"{}\"\npool_size = {pool_size}\n\
             [limits]\nbackend = \"redis\"\n[limits.redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\n\
             [events]\nbackend = \"nats\"\n[events.nats]\nurl = \"{}\"\nsubject_prefix = \"{}\"\ndecisions_max_bytes = 1073741824\n",
            self.store_url(),
            self.redis_url,
            self.key_prefix,
            self.nats_url,
            self.subject_prefix
        )
    }

    /// `MEMORY USAGE` of the limiter keys under the prefix: (keys, mean bytes per key).
    fn redis_key_memory(&self) -> Option<(usize, f64)> {
        let client = redis::Client::open(self.redis_url.as_str()).ok()?;
        let mut connection = client.get_connection().ok()?;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.key_prefix))
            .query(&mut connection)
            .ok()?;
        if keys.is_empty() {
            return None;
        }
        let mut total = 0u64;
        for key in &keys {
            let bytes: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .arg("SAMPLES")
                .arg(0)
                .query(&mut connection)
                .ok()?;
            total += bytes.unwrap_or(0);
        }
        Some((keys.len(), total as f64 / keys.len() as f64))
    }

    /// Redis's own count of commands processed (any client: the server is shared).
    fn redis_commands(&self) -> f64 {
        let Ok(client) = redis::Client::open(self.redis_url.as_str()) else {
            return 0.0;
        };
        let Ok(mut connection) = client.get_connection() else {
            return 0.0;
        };
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query(&mut connection)
            .unwrap_or_default();
        info.lines()
            .find_map(|line| line.strip_prefix("total_commands_processed:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for SharedServices {
    fn drop(&mut self) {
        let pg_url = self.pg_url.clone();
        let schema = self.schema.clone();
        let nats_url = self.nats_url.clone();
        // Both streams of the run's prefix: a decision stream left behind keeps its storage
        // reservation, and a few of them starve JetStream for everything else.
        let streams = sendguard::event_stream_names(&self.subject_prefix);
        let removed = streams.join(" and ");
        // Drop may run inside the runtime: the async clean-up gets a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&pg_url, tokio_postgres::NoTls).await
                {
                    let driver = tokio::spawn(connection);
                    if let Err(e) = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await
                    {
                        eprintln!("loadgen: dropping schema {schema}: {e}");
                    }
                    drop(client);
                    let _ = driver.await;
                }
                if let Ok(client) = async_nats::connect(nats_url.as_str()).await {
                    let jetstream = async_nats::jetstream::new(client);
                    for stream in &streams {
                        let _ = jetstream.delete_stream(stream).await;
                    }
                }
            });
        })
        .join();
        if let Ok(client) = redis::Client::open(self.redis_url.as_str()) {
            if let Ok(mut connection) = client.get_connection() {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{}*", self.key_prefix))
                    .query(&mut connection)
                    .unwrap_or_default();
                for chunk in keys.chunks(500) {
                    let _: redis::RedisResult<i64> =
                        redis::cmd("DEL").arg(chunk).query(&mut connection);
                }
            }
        }
        eprintln!(
            "loadgen: removed schema {}, Redis keys {}*, NATS streams {removed}",
            self.schema, self.key_prefix
        );
    }
}

/// Servers this process started (and the shared services they use), or none.
struct Deployment {
    name: String,
    bases: Vec<String>,
    servers: Vec<OwnServer>,
    shared: Option<SharedServices>,
    _dir: Option<tempfile::TempDir>,
}

impl Deployment {
    /// Servers started elsewhere.
    fn external(o: &Options) -> Deployment {
        Deployment {
            name: format!("{} target(s)", o.targets.len()),
            bases: o.targets.clone(),
            servers: Vec::new(),
            shared: None,
            _dir: None,
        }
    }

    /// One server on a temp sled store.
    fn sled(o: &Options) -> Deployment {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("loadgen.toml");
        std::fs::write(&config, RELAXED).unwrap();
        let (server, base) = start_server(o, &dir.path().join("data"), &config);
        Deployment {
            name: "sled, 1 process".into(),
            bases: vec![base],
            servers: vec![server],
            shared: None,
            _dir: Some(dir),
        }
    }

    /// `--replicas` servers on PostgreSQL + Redis + NATS, on this run's own schema, key
    /// prefix and subject prefix.
    async fn replicas(o: &Options) -> Deployment {
        let shared = SharedServices::create(o).await;
        let migrated = Command::new(&o.server_bin)
            .args(["migrate", "--url", &shared.store_url()])
            .output()
            .expect("running sendguard migrate");
        assert!(
            migrated.status.success(),
            "sendguard migrate: {}",
            String::from_utf8_lossy(&migrated.stderr)
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("loadgen.toml");
        std::fs::write(&config, shared.config(o.pool_size)).unwrap();
        let mut servers = Vec::new();
        let mut bases = Vec::new();
        for n in 0..o.replicas {
            let (server, base) = start_server(o, &dir.path().join(format!("replica{n}")), &config);
            servers.push(server);
            bases.push(base);
        }
        Deployment {
            name: format!("{} replica(s) on PostgreSQL + Redis + NATS", o.replicas),
            bases,
            servers,
            shared: Some(shared),
            _dir: Some(dir),
        }
    }

    /// CPU seconds used so far by each process of each part: this process, the servers it
    /// started, their PostgreSQL backends, and the Redis and NATS servers.
    async fn cpu(&self) -> CpuSample {
        let mut sample = CpuSample::new();
        let mut add = |part: &'static str, pids: Vec<u32>| {
            let entry = sample.entry(part).or_default();
            for pid in pids {
                entry.insert(pid, process_cpu_secs(pid));
            }
        };
        add("loadgen", vec![std::process::id()]);
        if self.servers.is_empty() {
            return sample;
        }
        add(
            "sendguard",
            self.servers.iter().map(|s| s.child.id()).collect(),
        );
        if let Some(shared) = &self.shared {
            add("postgres backends", shared.backend_pids().await);
            add("redis-server", pids_named("redis-server"));
            add("nats-server", pids_named("nats-server"));
        }
        sample
    }
}

/// CPU seconds by part, by pid.
type CpuSample = BTreeMap<&'static str, BTreeMap<u32, f64>>;

/// CPU seconds each part used between two samples: a process that ended in between is left
/// out, one that started counts whole.
fn cpu_used(before: &CpuSample, after: &CpuSample) -> BTreeMap<&'static str, f64> {
    after
        .iter()
        .map(|(part, pids)| {
            let used = pids
                .iter()
                .map(|(pid, secs)| {
                    let start = before
                        .get(part)
                        .and_then(|b| b.get(pid))
                        .copied()
                        .unwrap_or(0.0);
                    (secs - start).max(0.0)
                })
                .sum();
            (*part, used)
        })
        .collect()
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
    bases: Vec<String>,
    pick: Pick,
    /// The next target in turn (round robin).
    turn: AtomicUsize,
    members: Arc<Vec<Member>>,
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
        bases,
        pick,
        turn,
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
    let urls: Vec<String> = bases.iter().map(|b| format!("{b}/v1/messages")).collect();
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
        let target = match pick {
            Pick::RoundRobin => turn.fetch_add(1, Ordering::Relaxed) % bases.len(),
            Pick::Random => rng.random_range(0..bases.len()),
        };
        let (base, url) = (&bases[target], &urls[target]);
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
            .post(url)
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
/// Summed over every server.
async fn server_counters(client: &reqwest::Client, bases: &[String]) -> BTreeMap<String, f64> {
    let mut counters = BTreeMap::new();
    for base in bases {
        server_counters_of(client, base, &mut counters).await;
    }
    counters
}

async fn server_counters_of(
    client: &reqwest::Client,
    base: &str,
    counters: &mut BTreeMap<String, f64>,
) {
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
        return;
    };
    let text = response.text().await.unwrap_or_default();
    for line in text.lines() {
        let wanted = [
            "sendguard_send_refusals_total",
            "sendguard_sends_total",
            "sendguard_store_flushes",
            "sendguard_pg_",
            "sendguard_redis_",
            "sendguard_nats_",
            "sendguard_limits_cas_retries_total",
        ];
        if wanted.iter().any(|w| line.starts_with(w)) {
            if let Some((name, value)) = line.rsplit_once(' ') {
                *counters.entry(name.to_string()).or_default() += value.parse().unwrap_or(0.0);
            }
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// What one measured run saw.
struct Run {
    elapsed: f64,
    tally: Tally,
    /// Server counters' change over the run, warm-up included.
    counters: BTreeMap<String, f64>,
    /// CPU seconds by part over the run, warm-up included.
    cpu: BTreeMap<&'static str, f64>,
    /// Commands the Redis server processed over the run (any client).
    redis_commands: f64,
    /// WAL the PostgreSQL server wrote over the run (any client).
    wal_bytes: f64,
}

impl Run {
    fn acked_per_sec(&self) -> f64 {
        self.tally.latencies.len() as f64 / self.elapsed
    }

    fn latency(&self, p: f64) -> f64 {
        percentile(&self.tally.latencies, p)
    }

    /// Sends the servers stored over the run (their own counter: replays not counted).
    fn stored(&self) -> f64 {
        self.counters
            .iter()
            .filter(|(k, _)| k.starts_with("sendguard_sends_total"))
            .map(|(_, v)| v)
            .sum()
    }

    /// A counter's change per stored send (labels summed).
    fn per_send(&self, counter: &str) -> f64 {
        let total: f64 = self
            .counters
            .iter()
            .filter(|(k, _)| k.split('{').next() == Some(counter))
            .map(|(_, v)| v)
            .sum();
        total / self.stored().max(1.0)
    }
}

/// One measured run: warm-up, then `--duration` (or `--count` sends) against `deployment`.
async fn measure(
    o: &Options,
    client: &reqwest::Client,
    deployment: &Deployment,
    members: &Arc<Vec<Member>>,
    run: usize,
) -> Run {
    let before = server_counters(client, &deployment.bases).await;
    let cpu_before = deployment.cpu().await;
    let redis_before = deployment
        .shared
        .as_ref()
        .map_or(0.0, |s| s.redis_commands());
    let wal_before = match &deployment.shared {
        Some(shared) => shared.wal_bytes().await,
        None => 0.0,
    };
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let deadline = if o.count.is_some() {
        start + Duration::from_secs(24 * 3600)
    } else {
        measure_from + o.duration
    };
    let plan = Arc::new(Plan {
        bases: deployment.bases.clone(),
        pick: o.pick,
        turn: AtomicUsize::new(0),
        members: Arc::clone(members),
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
        let seed = o
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add((run * o.concurrency + w) as u64);
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
    let cpu_after = deployment.cpu().await;
    let redis_after = deployment
        .shared
        .as_ref()
        .map_or(0.0, |s| s.redis_commands());
    let wal_after = match &deployment.shared {
        Some(shared) => shared.wal_bytes().await,
        None => 0.0,
    };
    let after = server_counters(client, &deployment.bases).await;
    total.latencies.sort_unstable();
    let mut counters = BTreeMap::new();
    for (name, value) in &after {
        let d = value - before.get(name).copied().unwrap_or(0.0);
        if d != 0.0 {
            counters.insert(name.clone(), d);
        }
    }
    Run {
        elapsed,
        tally: total,
        counters,
        cpu: cpu_used(&cpu_before, &cpu_after),
        redis_commands: redis_after - redis_before,
        wal_bytes: wal_after - wal_before,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn print_run(o: &Options, index: usize, run: &Run) {
    let acked = run.tally.latencies.len();
    let refused: u64 = run.tally.refusals.values().sum();
    println!(
        "run {}: {acked} acknowledged sends in {:.1}s ({:.0}/s); p50 {:.2} ms  p99 {:.2} ms  \
         p99.9 {:.2} ms  max {:.2} ms; refused {refused}; transport errors {}",
        index + 1,
        run.elapsed,
        run.acked_per_sec(),
        run.latency(50.0),
        run.latency(99.0),
        run.latency(99.9),
        run.latency(100.0),
        run.tally.transport_errors
    );
    println!("  decisions: {:?}", run.tally.decisions);
    if !run.tally.refusals.is_empty() {
        println!("  client-seen refusals: {:?}", run.tally.refusals);
    }
    println!(
        "  server counters during the run (incl. warm-up): {:?}",
        run.counters
    );
    let flushes = run.per_send("sendguard_store_flushes");
    if flushes > 0.0 {
        println!(
            "  sends per flush (sled fsync or PostgreSQL commit): {:.1}",
            1.0 / flushes
        );
    }
    if o.reset_rate > 0.0 {
        let stored = run.stored();
        println!(
            "  resets: {} sends reset before their answer; the retry found {} already stored \
             (replayed); servers stored {stored} sends, clients acknowledged {} distinct sends: {}",
            run.tally.resets,
            run.tally.replayed_after_reset,
            run.tally.acked_all,
            if stored as u64 == run.tally.acked_all {
                "exactly once"
            } else {
                "MISMATCH"
            }
        );
    }
}

/// The per-send cost lines: counters and CPU per stored send, medians over the runs.
fn print_costs(runs: &[Run]) {
    let per_send = |counter: &str| median(runs.iter().map(|r| r.per_send(counter)).collect());
    let pg_statements = per_send("sendguard_pg_statements_total");
    if pg_statements > 0.0 {
        println!(
            "  per stored send: PostgreSQL {:.1} statements in {:.1} round trips ({:.1} inside \
             the write transaction), {:.2} commits, {:.0} WAL bytes (server-wide); Redis {:.2} \
             round trips (server-wide {:.2} commands); NATS {:.2} publishes, {:.3} \
             acknowledged round trips",
            pg_statements,
            per_send("sendguard_pg_round_trips_total"),
            per_send("sendguard_pg_locked_round_trips_total"),
            per_send("sendguard_store_flushes"),
            median(
                runs.iter()
                    .map(|r| r.wal_bytes / r.stored().max(1.0))
                    .collect()
            ),
            per_send("sendguard_redis_round_trips_total"),
            median(
                runs.iter()
                    .map(|r| r.redis_commands / r.stored().max(1.0))
                    .collect()
            ),
            per_send("sendguard_nats_publishes_total"),
            per_send("sendguard_nats_round_trips_total"),
        );
    }
    let parts: Vec<&'static str> = runs
        .first()
        .map(|r| r.cpu.keys().copied().collect())
        .unwrap_or_default();
    let mut line = Vec::new();
    let mut total = 0.0;
    for part in parts {
        let us = median(
            runs.iter()
                .map(|r| r.cpu.get(part).copied().unwrap_or(0.0) * 1e6 / r.stored().max(1.0))
                .collect(),
        );
        total += us;
        line.push(format!("{part} {us:.0}"));
    }
    println!(
        "  CPU µs per stored send: {} (sum {total:.0}; 2 cores give 2,000,000 µs a second)",
        line.join(", ")
    );
}

/// Sets members up once, then `--runs` measured runs; prints each and the medians.
async fn exercise(o: &Options, client: &reqwest::Client, deployment: &Deployment) -> Vec<Run> {
    let setup_started = Instant::now();
    let members = Arc::new(setup(client, &deployment.bases[0], o).await);
    eprintln!(
        "loadgen: {} members set up in {:.1?} through {}",
        members.len(),
        setup_started.elapsed(),
        deployment.bases[0]
    );
    println!(
        "== {}: {} ==\nmembers={} concurrency={} rate={} duration={:.0}s after {:.1}s warm-up, \
         pick={}",
        deployment.name,
        deployment.bases.join(" "),
        o.members,
        o.concurrency,
        o.rate.map_or("max".to_string(), |r| format!("{r}/s")),
        o.duration.as_secs_f64(),
        o.warmup.as_secs_f64(),
        if o.pick == Pick::RoundRobin {
            "round-robin"
        } else {
            "random"
        }
    );
    let mut runs = Vec::new();
    for index in 0..o.runs {
        let run = measure(o, client, deployment, &members, index).await;
        print_run(o, index, &run);
        runs.push(run);
    }
    let of = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
    println!(
        "median of {} run(s): {:.0} acknowledged sends/s; p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms",
        runs.len(),
        of(&|r| r.acked_per_sec()),
        of(&|r| r.latency(50.0)),
        of(&|r| r.latency(99.0)),
        of(&|r| r.latency(99.9)),
    );
    print_costs(&runs);
    runs
}

#[tokio::main]
async fn main() {
    let o = options();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let deployment = if !o.targets.is_empty() {
        Deployment::external(&o)
    } else if o.replicas > 0 {
        Deployment::replicas(&o).await
    } else {
        Deployment::sled(&o)
    };
    let runs = exercise(&o, &client, &deployment).await;
    if let Some(shared) = &deployment.shared {
        if let Some((keys, mean)) = shared.redis_key_memory() {
            println!(
                "Redis: {keys} limiter keys, MEMORY USAGE {mean:.0} bytes per key (mean), i.e. \
                 per sender active within the keys' expiry"
            );
        }
        let (bytes, messages) = shared.store_size().await;
        println!(
            "PostgreSQL: {messages:.0} messages, tables and indexes {:.1} MB: {:.0} bytes per \
             message (all tables)",
            bytes / 1e6,
            bytes / messages.max(1.0)
        );
    }
    drop(deployment);
    if o.baseline {
        let sled = Deployment::sled(&o);
        let baseline = exercise(&o, &client, &sled).await;
        let rate = |runs: &[Run]| median(runs.iter().map(Run::acked_per_sec).collect());
        let p99 = |runs: &[Run]| median(runs.iter().map(|r| r.latency(99.0)).collect());
        println!(
            "ratio shared / sled baseline (medians): throughput {:.2} ({:.0} / {:.0} sends/s), \
             p99 {:.2} ({:.2} / {:.2} ms)",
            rate(&runs) / rate(&baseline),
            rate(&runs),
            rate(&baseline),
            p99(&runs) / p99(&baseline),
            p99(&runs),
            p99(&baseline)
        );
    }
}
