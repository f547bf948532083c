//! `sendguard rescore`: the batch rescore of a store that no server holds, in this process
//! or (`--distributed`, PostgreSQL store) by `sendguard worker`s through NATS JetStream.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::batch::coordinator::{self, JobOptions, JobProgress};
use crate::batch::queue::Queue;
use crate::batch::{self, Inputs, Options, Report};
use crate::config::{Config, StoreBackend};
use crate::domain::Millis;
use crate::store::{Store, StoreError};

/// The command's arguments, as parsed by `main.rs`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub data: PathBuf,
    /// Overrides the config's model (itself the shipped model by default).
    pub model: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    /// `YYYY-MM-DD` or epoch milliseconds: messages sent before are left alone.
    pub since: Option<String>,
    pub apply: bool,
    /// The config file whose `[policy]` and `[engine]` the server runs with.
    pub config: Option<PathBuf>,
    pub max_messages: Option<u64>,
    pub now: Millis,
    /// A PostgreSQL store (overrides `data` and the config's `[store] url`).
    pub url: Option<String>,
    /// Split into tasks for `sendguard worker`s instead of scoring here.
    pub distributed: Option<Distributed>,
}

/// `--distributed` and its settings.
#[derive(Debug, Clone)]
pub struct Distributed {
    /// Overrides `[events.nats] url` and `subject_prefix`.
    pub nats: Option<String>,
    pub prefix: Option<String>,
    pub task_size: u64,
    pub chunk: usize,
    pub ack_wait: Duration,
    pub deadline: Option<Duration>,
}

/// The store a command names: `--url` (or a config whose `[store] backend` is `postgres`),
/// else the sled directory.
pub fn open_store(config: &Config, data: &Path, url: Option<String>) -> anyhow::Result<Store> {
    // The config's `[store] keys_file` opens sealed message text (the environment's keys
    // are read on open already).
    let keys = crate::store::crypt::Sealer::configured(config.store.keys_file.as_deref())?;
    if url.is_some() || config.store.backend == StoreBackend::Postgres {
        let settings = super::store::settings(&config.store, url)?;
        return Ok(Store::open_postgres(&settings)?.with_sealer(keys));
    }
    Ok(open(data)?.with_sealer(keys))
}

/// The NATS server and subject prefix of the work queue.
pub fn queue_target(
    config: &Config,
    nats: Option<String>,
    prefix: Option<String>,
) -> (String, String) {
    (
        nats.unwrap_or_else(|| config.events.nats.url.clone()),
        prefix.unwrap_or_else(|| config.events.nats.subject_prefix.clone()),
    )
}

/// Loads the engine the way `rescore` does, for a `since` (a worker gets it from a task).
pub fn load_inputs(
    config: &Config,
    model: Option<&Path>,
    rules: Option<&Path>,
    since: Option<Millis>,
) -> anyhow::Result<Inputs> {
    let rules = rules
        .map(Path::to_path_buf)
        .or(config.engine.rules_dir.clone());
    let model = model.map(Path::to_path_buf).or(config.engine.model.clone());
    Ok(Inputs::load_or_shipped(
        &config.policy,
        rules.as_deref(),
        model.as_deref(),
        since,
    )?)
}

/// Opens the store, rescores it and returns the report.
pub fn run(args: &Args) -> anyhow::Result<Report> {
    let config = Config::load(args.config.as_deref())?;
    let since = args
        .since
        .as_deref()
        .map(|text| crate::dates::parse_time(text).map_err(|e| anyhow::anyhow!("--since: {e}")))
        .transpose()?;
    let inputs = load_inputs(&config, args.model.as_deref(), args.rules.as_deref(), since)?;
    let store = open_store(&config, &args.data, args.url.clone())?;
    if let Some(distributed) = &args.distributed {
        return run_distributed(&store, &config, &inputs, args, distributed);
    }
    let options = Options {
        apply: args.apply,
        max_messages: args.max_messages,
        now: args.now,
        ..Options::default()
    };
    // Counting costs a pass over the keys: only worth it when a bar shows the ETA.
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| super::train::progress(store.message_count(), "rescoring"));
    let report = batch::rescore(&store, &inputs, &options, &mut |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

/// The coordinator, with a bar of tasks done and messages per second on a terminal.
fn run_distributed(
    store: &Store,
    config: &Config,
    inputs: &Inputs,
    args: &Args,
    distributed: &Distributed,
) -> anyhow::Result<Report> {
    if store.backend_name() != "postgres" {
        anyhow::bail!(
            "--distributed needs a store every worker can reach: a PostgreSQL store \
             (--url or [store] backend = \"postgres\"), not a sled directory"
        );
    }
    if args.max_messages.is_some() {
        anyhow::bail!("--max-messages is for one-process runs; --distributed runs a whole job");
    }
    let (nats, prefix) = queue_target(config, distributed.nats.clone(), distributed.prefix.clone());
    let options = JobOptions {
        apply: args.apply,
        task_size: distributed.task_size,
        chunk: distributed.chunk,
        now: args.now,
        ack_wait: distributed.ack_wait,
        deadline: distributed.deadline,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "rescoring [{bar:30}] {pos}/{len} tasks, {msg} ({elapsed} elapsed)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut announced = false;
    let report = runtime.block_on(async {
        let queue = Queue::connect(&nats, &prefix).await?;
        coordinator::coordinate(store, &queue, inputs, &options, &mut |p: JobProgress| {
            if !announced {
                // The id to follow the job by over HTTP, and to tell a resumed job apart.
                let how = if p.resumed { "resumed" } else { "queued" };
                let line = format!(
                    "rescore job {}: {} tasks {how} (GET /v1/admin/rescore/{} on any server of the store)",
                    p.job_id, p.tasks_total, p.job_id
                );
                match &bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
                announced = true;
            }
            if let Some(bar) = &bar {
                bar.set_length(p.tasks_total);
                bar.set_position(p.tasks_done);
                bar.set_message(format!(
                    "{} messages, {:.0} msgs/sec",
                    p.messages, p.msgs_per_sec
                ));
            }
        })
        .await
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

fn open(data: &Path) -> anyhow::Result<Store> {
    Store::open_existing(data).map_err(|error| match error {
        StoreError::Locked { path } => anyhow::anyhow!(
            "store at {path} is in use by another process, most likely a running server \
             (sled allows one process per store); rescore a live store through the server \
             instead: POST /v1/admin/rescore with the admin token"
        ),
        other => other.into(),
    })
}

/// The report for a person: counts, transitions with examples, rules and score bands.
pub fn print(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let d = &report.diff;
    let mode = if report.dry_run { "dry run" } else { "apply" };
    writeln!(
        out,
        "{mode}: rescored {} of {} messages (skipped: {} recalled, {} removed, {} text removed, {} before --since); \
         {} this run in {:.2} s, {:.0} msgs/sec{}",
        d.rescored,
        d.scanned,
        d.skipped.recalled,
        d.skipped.removed,
        d.skipped.text_removed,
        d.skipped.before_since,
        report.processed,
        report.elapsed_secs,
        report.msgs_per_sec,
        if report.resumed { ", resumed from a checkpoint" } else { "" }
    )?;
    let verb = if report.dry_run {
        "would change"
    } else {
        "changed"
    };
    writeln!(
        out,
        "{} {verb}, {} unchanged, {} left alone because a reviewer decided them{}",
        d.changed,
        d.unchanged,
        d.protected.values().map(|t| t.count).sum::<u64>(),
        if report.dry_run {
            String::new()
        } else {
            format!(
                ", {} changed meanwhile and left for the next run",
                d.conflicts
            )
        }
    )?;
    for (title, map) in [("transitions", &d.transitions), ("protected", &d.protected)] {
        if map.is_empty() {
            continue;
        }
        writeln!(out, "{title}:")?;
        for (name, t) in map {
            let examples: Vec<String> = t.examples.iter().map(u64::to_string).collect();
            writeln!(
                out,
                "  {name:<14} {:>9}  e.g. {}",
                t.count,
                examples.join(", ")
            )?;
        }
    }
    for (title, map) in [("rules", &d.rules), ("score bands", &d.score_bands)] {
        if map.is_empty() {
            continue;
        }
        writeln!(out, "{title} (messages before -> after; changes involved):")?;
        for (name, b) in map {
            let moves: Vec<String> = b
                .transitions
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            writeln!(
                out,
                "  {name:<40} {:>9} -> {:<9} {}",
                b.before,
                b.after,
                moves.join(", ")
            )?;
        }
    }
    if !report.complete {
        writeln!(
            out,
            "stopped early: run the same command again to continue from the checkpoint"
        )?;
    } else if report.dry_run && d.changed > 0 {
        writeln!(out, "run again with --apply to make these changes")?;
    }
    Ok(())
}
