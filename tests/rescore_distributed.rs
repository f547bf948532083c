//! Distributed rescoring on the real PostgreSQL and NATS servers: the store of
//! `rescore_common` (3,002 messages, a reviewer's decisions, recalls) copied into PostgreSQL
//! schemas of its own, rescored under the new pack by `sendguard rescore --distributed`
//! and `sendguard worker` processes, compared with one process (`sendguard rescore --url`)
//! on a copy of the same data.
//!
//! - two workers give the one-process diff;
//! - a worker SIGKILLed in the middle of a task (held there by `--pace`) loses nothing:
//!   the task goes to the other worker after the ack deadline, and the diff is the same;
//! - `--apply` with a worker killed mid-task leaves the store exactly as a one-process
//!   apply does, and a second run changes nothing;
//! - a coordinator SIGKILLed after queueing its job, run again, takes the same job over (no
//!   task redone, no partial diff counted twice), and a server of the store shows the job
//!   over HTTP, running and then done;
//! - a task whose store reads time out (the messages table locked by the test) goes back
//!   on the queue with a delay, and is done once the table is free again.

mod common;
mod replicas_common;
mod rescore_common;
mod store_common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use common::{Server, ADMIN_TOKEN};
use replicas_common::{require_service, unique_prefix, NATS_ADDR};
use rescore_common::{seed, snapshot, NEW_PACK};
use sendguard::Store;
use serde_json::Value;
use store_common::{Schema, SERVER};

const BIN: &str = env!("CARGO_BIN_EXE_sendguard");
/// A bound on a whole job or a worker's line, not a measured time.
const DEADLINE: Duration = Duration::from_secs(120);

/// The work-queue streams of a prefix, deleted when dropped.
struct QueuePrefix(String);

impl Drop for QueuePrefix {
    fn drop(&mut self) {
        let streams = sendguard::batch::queue::stream_names(&self.0);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(client) = async_nats::connect(NATS_ADDR).await {
                    let jetstream = async_nats::jetstream::new(client);
                    for stream in &streams {
                        let _ = jetstream.delete_stream(stream).await;
                    }
                }
            });
        })
        .join();
    }
}

/// A copy of the seeded sled store in a new schema.
fn postgres_copy(sled: &Path, test: &str) -> Schema {
    let schema = Schema::new(test);
    let settings = schema.settings();
    Store::migrate_postgres(&settings).unwrap();
    let from = Store::open_existing(sled).unwrap();
    let to = Store::open_postgres(&settings).unwrap();
    sendguard::store::import_sled(&from, &to).unwrap();
    schema
}

fn sendguard(args: &[&str]) -> Value {
    let output = Command::new(BIN).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A running `sendguard worker`, its stderr lines on a channel.
struct Worker {
    child: Child,
    lines: Receiver<String>,
}

impl Worker {
    fn start(url: &str, prefix: &str, rules: &Path, extra: &[&str]) -> Worker {
        let mut child = Command::new(BIN)
            .args(["worker", "--url", url, "--prefix", prefix, "--rules"])
            .arg(rules)
            .args(["--idle-exit-secs", "120"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Worker { child, lines }
    }

    /// Waits for a line containing `wanted`; returns it.
    fn wait_for(&self, wanted: &str) -> String {
        loop {
            match self.lines.recv_timeout(DEADLINE) {
                Ok(line) if line.contains(wanted) => return line,
                Ok(_) => {}
                Err(error) => panic!("no worker line with {wanted:?}: {error}"),
            }
        }
    }

    /// Every line so far.
    fn lines(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn distributed(url: &str, prefix: &str, rules: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["rescore", "--url", url, "--distributed", "--prefix", prefix])
        .args([
            "--task-size",
            "300",
            "--ack-wait-secs",
            "2",
            "--timeout-secs",
            "120",
        ])
        .arg("--rules")
        .arg(rules)
        .arg("--json")
        .args(extra);
    command
}

fn report_of(command: &mut Command) -> Value {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Starts a job in the background, SIGKILLs `victim` once it has started a task, starts
/// `rescuer`, and returns the job's report with the index of the task killed mid-way.
fn job_with_a_killed_worker(
    mut job: Command,
    mut victim: Worker,
    rescuer: impl FnOnce() -> Worker,
) -> (Value, String, Worker) {
    let coordinator = job
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = victim.wait_for("started");
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    assert!(
        !victim.lines().iter().any(|l| l.contains(" done")),
        "the paced worker finished a task before it was killed"
    );
    let task = started.split(' ').nth(2).unwrap().to_string();
    let rescuer = rescuer();
    let output = coordinator.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        serde_json::from_slice(&output.stdout).unwrap(),
        task,
        rescuer,
    )
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    require_service("NATS", NATS_ADDR);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("new.toml"), NEW_PACK).unwrap();
    (dir, rules)
}

/// A seeded store copied into a PostgreSQL schema of its own, a queue prefix, and the
/// one-process dry-run report the distributed runs must reproduce.
struct DryRunPlan {
    dir: tempfile::TempDir,
    rules: std::path::PathBuf,
    schema: Schema,
    url: String,
    prefix: QueuePrefix,
    one: Value,
}

async fn dry_run_plan(schema_name: &'static str) -> DryRunPlan {
    let (dir, rules) = setup();
    let sled = dir.path().join("sled");
    seed(&sled).await;
    let schema = tokio::task::spawn_blocking(move || postgres_copy(&sled, schema_name))
        .await
        .unwrap();
    let url = schema.url();
    let prefix = QueuePrefix(unique_prefix("rescore"));
    let one = sendguard(&[
        "rescore",
        "--url",
        &url,
        "--rules",
        rules.to_str().unwrap(),
        "--json",
    ]);
    DryRunPlan {
        dir,
        rules,
        schema,
        url,
        prefix,
        one,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_and_a_killed_one_give_the_one_process_diff() {
    // The temporary directory and the schema live until the test ends.
    let DryRunPlan {
        dir: _dir,
        rules,
        schema: _schema,
        url,
        prefix,
        one,
    } = dry_run_plan("rescore_dist").await;
    assert!(one["diff"]["changed"].as_u64().unwrap() > 1000, "{one}");

    let (a, b) = (
        // Two workers sharing one machine split its cores.
        Worker::start(&url, &prefix.0, &rules, &["--name", "a", "--threads", "1"]),
        Worker::start(&url, &prefix.0, &rules, &["--name", "b", "--threads", "1"]),
    );
    let two = report_of(&mut distributed(&url, &prefix.0, &rules, &[]));
    assert_eq!(two["diff"], one["diff"]);
    assert_eq!(two["processed"], one["processed"]);
    drop((a, b));

    // One paced worker (about 3 s a task) killed inside its first task; another finishes.
    let victim = Worker::start(
        &url,
        &prefix.0,
        &rules,
        &["--name", "victim", "--pace", "100"],
    );
    let job = distributed(&url, &prefix.0, &rules, &["--chunk", "50"]);
    let (killed, task, rescuer) = job_with_a_killed_worker(job, victim, || {
        Worker::start(&url, &prefix.0, &rules, &["--name", "rescuer"])
    });
    assert_eq!(killed["diff"], one["diff"]);
    let redone = format!("rescuer: task {task} of job");
    assert!(
        rescuer
            .lines()
            .iter()
            .any(|l| l.starts_with(&redone) && l.contains(" done")),
        "task {task} was not redone by the rescuer: {:?}",
        rescuer.lines()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_with_a_killed_worker_changes_the_store_as_one_process_and_once() {
    let (dir, rules) = setup();
    let sled = dir.path().join("sled");
    seed(&sled).await;
    let (distributed_copy, one_copy) = tokio::task::spawn_blocking(move || {
        (
            postgres_copy(&sled, "rescore_dist_apply"),
            postgres_copy(&sled, "rescore_one_apply"),
        )
    })
    .await
    .unwrap();
    let prefix = QueuePrefix(unique_prefix("rescore"));
    let rules_arg = rules.to_str().unwrap();
    let url = distributed_copy.url();

    let one = sendguard(&[
        "rescore",
        "--url",
        &one_copy.url(),
        "--rules",
        rules_arg,
        "--apply",
        "--json",
    ]);
    let victim = Worker::start(
        &url,
        &prefix.0,
        &rules,
        &["--name", "victim", "--pace", "100"],
    );
    let job = distributed(&url, &prefix.0, &rules, &["--chunk", "50", "--apply"]);
    let (applied, _, rescuer) = job_with_a_killed_worker(job, victim, || {
        Worker::start(&url, &prefix.0, &rules, &["--name", "rescuer"])
    });
    assert_eq!(applied["diff"], one["diff"]);
    assert_eq!(applied["dry_run"], false);
    assert!(applied["diff"]["changed"].as_u64().unwrap() > 1000);
    assert!(!applied["diff"]["protected"].as_object().unwrap().is_empty());

    let (settings_a, settings_b) = (distributed_copy.settings(), one_copy.settings());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            snapshot(&Store::open_postgres(&settings_a).unwrap()),
            snapshot(&Store::open_postgres(&settings_b).unwrap()),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        a, b,
        "the store after a distributed apply differs from one process's"
    );

    let again = report_of(&mut distributed(&url, &prefix.0, &rules, &["--apply"]));
    assert_eq!(again["diff"]["changed"], 0, "{again}");
    assert!(
        again["diff"]["transitions"].as_object().unwrap().is_empty(),
        "{again}"
    );
    assert_eq!(again["diff"]["protected"], one["diff"]["protected"]);
    drop(rescuer);
}

/// Reads `child`'s stderr until a line containing `wanted`; returns it.
fn stderr_line(child: &mut Child, wanted: &str) -> String {
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("stderr ended before a line with {wanted:?}"))
            .unwrap();
        if line.contains(wanted) {
            return line;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_takes_its_job_over_and_servers_show_it() {
    let DryRunPlan {
        dir,
        rules,
        schema,
        url,
        prefix,
        one,
    } = dry_run_plan("rescore_resume").await;

    // The first coordinator queues the job and dies before any worker has started.
    let mut first = distributed(&url, &prefix.0, &rules, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let queued = stderr_line(&mut first, "tasks queued");
    first.kill().unwrap();
    first.wait().unwrap();
    let words: Vec<&str> = queued.split([' ', ':']).collect();
    let job_id: u64 = words[2].parse().unwrap();
    let tasks: u64 = words[4].parse().unwrap();
    assert!(tasks > 1, "{queued}");

    let server = Server::start(&dir.path().join("unused"), Some(&schema.store_config()));
    let status_path = format!("/v1/admin/rescore/{job_id}");
    let (status, view) = server.get(&status_path, ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "running", "{view}");
    assert_eq!(view["distributed"]["tasks_done"], 0, "{view}");
    assert_eq!(view["distributed"]["tasks_total"], tasks, "{view}");

    // A worker does every task while no coordinator runs.
    let worker = Worker::start(&url, &prefix.0, &rules, &["--name", "w"]);
    let mut started = 0;
    let mut done = 0;
    while done < tasks {
        let line = worker.lines.recv_timeout(DEADLINE).unwrap();
        started += u64::from(line.contains(" started"));
        done += u64::from(line.contains(" done"));
    }
    assert_eq!(started, tasks);

    // Run again, the coordinator takes the job over: every result counted once.
    let second = report_of(&mut distributed(&url, &prefix.0, &rules, &[]));
    assert_eq!(second["resumed"], true, "{second}");
    assert_eq!(second["diff"], one["diff"]);
    assert_eq!(second["processed"], one["processed"]);
    assert!(
        !worker.lines().iter().any(|l| l.contains(" started")),
        "a task was queued again: {:?}",
        worker.lines()
    );

    let (status, view) = server.get(&status_path, ADMIN_TOKEN).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "done", "{view}");
    assert_eq!(view["distributed"]["tasks_done"], tasks, "{view}");
    assert_eq!(view["processed"], one["processed"], "{view}");
    assert_eq!(view["report"]["diff"], one["diff"], "{view}");
    let (status, missing) = server.get("/v1/admin/rescore/999999999", ADMIN_TOKEN).await;
    assert_eq!(status, 404, "{missing}");
}

/// Holds `LOCK TABLE … messages` in an open transaction until dropped.
struct LockedMessages {
    client: tokio_postgres::Client,
}

impl LockedMessages {
    async fn lock(schema: &Schema) -> LockedMessages {
        let (client, connection) = tokio_postgres::connect(SERVER, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "BEGIN; LOCK TABLE {}.messages IN ACCESS EXCLUSIVE MODE",
                schema.name
            ))
            .await
            .unwrap();
        LockedMessages { client }
    }

    async fn release(self) {
        self.client.batch_execute("ROLLBACK").await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_the_store_fails_for_a_while_is_retried_not_lost() {
    let DryRunPlan {
        dir,
        rules,
        schema,
        url,
        prefix,
        one,
    } = dry_run_plan("rescore_retry").await;

    let mut coordinator = distributed(&url, &prefix.0, &rules, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    stderr_line(&mut coordinator, "tasks queued");
    // Reads of the messages table now wait, and time out after the worker's 1 s.
    let locked = LockedMessages::lock(&schema).await;
    let config = dir.path().join("worker.toml");
    std::fs::write(
        &config,
        format!("{}timeout_ms = 1000\n", schema.store_config()),
    )
    .unwrap();
    let worker = Worker::start(
        &url,
        &prefix.0,
        &rules,
        &[
            "--name",
            "w",
            "--config",
            config.to_str().unwrap(),
            "--retry-delay-secs",
            "1",
        ],
    );
    let retried = worker.wait_for("back on the queue");
    assert!(retried.contains("after try 1"), "{retried}");
    locked.release().await;

    let output = tokio::task::spawn_blocking(move || coordinator.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["diff"], one["diff"]);
    assert_eq!(report["processed"], one["processed"]);
}

#[test]
fn a_worker_refuses_zero_threads_naming_the_flag() {
    let out = Command::new(BIN)
        .args(["worker", "--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--threads"), "{stderr}");
}
