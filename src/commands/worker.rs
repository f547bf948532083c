//! `sendguard worker`: a rescoring worker for `sendguard rescore --distributed`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::queue::Queue;
use crate::batch::worker::{run_worker, WorkerEvent, WorkerOptions};
use crate::config::Config;

/// The command's arguments, as parsed by `main.rs`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub config: Option<PathBuf>,
    /// The PostgreSQL store (overrides `[store] url`).
    pub url: Option<String>,
    pub nats: Option<String>,
    pub prefix: Option<String>,
    pub model: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub name: Option<String>,
    pub idle_exit_secs: Option<u64>,
    pub pace: u64,
    /// Seconds a task the store failed waits before it is tried again.
    pub retry_delay_secs: u64,
    /// Scoring threads; `None`: one per core.
    pub threads: Option<usize>,
}

/// Runs the worker; returns the number of tasks it did. Each task is logged on stderr.
pub async fn run(args: Args) -> anyhow::Result<u64> {
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| anyhow::anyhow!("--threads {threads}: {e}"))?;
    }
    let config = Config::load(args.config.as_deref())?;
    let settings = super::store::settings(&config.store, args.url.clone())?;
    // The config's `[store] keys_file` opens sealed message text.
    let keys = crate::store::crypt::Sealer::configured(config.store.keys_file.as_deref())?;
    let store = tokio::task::spawn_blocking(move || crate::Store::open_postgres(&settings))
        .await??
        .with_sealer(keys);
    let (nats, prefix) = super::rescore::queue_target(&config, args.nats, args.prefix);
    let queue = Queue::connect(&nats, &prefix).await?;
    let (model, rules) = (args.model, args.rules);
    let load = Arc::new(move |since| {
        super::rescore::load_inputs(&config, model.as_deref(), rules.as_deref(), since)
    });
    let name = args
        .name
        .unwrap_or_else(|| format!("worker-{}", std::process::id()));
    eprintln!("{name}: waiting for rescore tasks on {nats} (prefix {prefix})");
    let options = WorkerOptions {
        name: name.clone(),
        idle_exit: args.idle_exit_secs.map(Duration::from_secs),
        pace: args.pace,
        heartbeat: Duration::from_millis(500),
        retry_delay: Duration::from_secs(args.retry_delay_secs.max(1)),
    };
    run_worker(store, queue, load, options, &mut |event| match event {
        WorkerEvent::Started(task) => eprintln!(
            "{name}: task {} of job {} started (ids {}..{})",
            task.index, task.job, task.from, task.to
        ),
        WorkerEvent::Finished(result) => eprintln!(
            "{name}: task {} of job {} done: {} messages in {:.2} s{}",
            result.index,
            result.job,
            result.processed,
            result.elapsed_secs,
            result
                .error
                .as_deref()
                .map(|e| format!(", refused: {e}"))
                .unwrap_or_default()
        ),
        WorkerEvent::Retrying {
            task,
            attempt,
            delay,
            reason,
        } => eprintln!(
            "{name}: task {} of job {} back on the queue for {} s after try {attempt}: {reason}",
            task.index,
            task.job,
            delay.as_secs()
        ),
    })
    .await
}
