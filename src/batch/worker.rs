//! `sendguard worker`: takes rescore tasks from the work queue one at a time, scores them
//! with its own engine (refusing a task whose inputs fingerprint differs from its own, so
//! one job never mixes two sets of verdicts), and publishes each partial diff.
//!
//! Scoring runs on a blocking thread (the store is synchronous); meanwhile the async side
//! tells the queue the worker is alive after every chunk, so a long task is not handed to
//! another worker while this one is making progress, and one that dies is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::inputs::Inputs;
use super::queue::{Queue, QueueError, Taken};
use super::tasks::{score_task, TaskResult};
use crate::domain::Millis;
use crate::store::Store;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// A name for results and logs.
    pub name: String,
    /// Exit after the queue stayed empty this long (`None`: run until stopped).
    pub idle_exit: Option<Duration>,
    /// Messages per second this worker may score (0: no cap).
    pub pace: u64,
    /// How often to tell the queue the worker is alive while on a task.
    pub heartbeat: Duration,
}

/// What a worker tells its caller (the CLI prints it).
pub enum WorkerEvent<'a> {
    Started(&'a super::tasks::Task),
    Finished(&'a TaskResult),
}

/// The engine for a `since` (it is part of the fingerprint); built on first use.
pub type LoadInputs = dyn Fn(Option<Millis>) -> anyhow::Result<Inputs> + Send + Sync;

/// Runs until idle for `idle_exit` (or forever); returns the number of tasks done.
pub async fn run_worker(
    store: Store,
    queue: Queue,
    load: Arc<LoadInputs>,
    options: WorkerOptions,
    on_event: &mut (dyn FnMut(WorkerEvent<'_>) + Send),
) -> anyhow::Result<u64> {
    let mut engines: HashMap<Option<Millis>, Arc<Inputs>> = HashMap::new();
    let mut done = 0u64;
    let mut idle_since = Instant::now();
    let wait = Duration::from_secs(1);
    loop {
        let Some(taken) = queue.take(wait).await? else {
            if options
                .idle_exit
                .is_some_and(|idle| idle_since.elapsed() >= idle)
            {
                return Ok(done);
            }
            continue;
        };
        let since = taken.task.since;
        let inputs = match engines.get(&since) {
            Some(inputs) => inputs.clone(),
            None => {
                let load = load.clone();
                let inputs = Arc::new(tokio::task::spawn_blocking(move || load(since)).await??);
                engines.insert(since, inputs.clone());
                inputs
            }
        };
        on_event(WorkerEvent::Started(&taken.task));
        let result = work(&store, &queue, &taken, inputs, &options).await?;
        queue.finish(taken, &result).await?;
        on_event(WorkerEvent::Finished(&result));
        done += 1;
        idle_since = Instant::now();
    }
}

/// Scores one task while keeping it alive on the queue.
async fn work(
    store: &Store,
    queue: &Queue,
    taken: &Taken,
    inputs: Arc<Inputs>,
    options: &WorkerOptions,
) -> Result<TaskResult, QueueError> {
    let task = taken.task.clone();
    let started = Instant::now();
    let mut result = TaskResult {
        job: task.job.clone(),
        index: task.index,
        worker: options.name.clone(),
        processed: 0,
        elapsed_secs: 0.0,
        diff: None,
        error: None,
    };
    if inputs.fingerprint != task.fingerprint {
        result.error = Some(format!(
            "worker {} has inputs {} but the job was started with {}: start workers with the \
             coordinator's --rules, --model and [policy]",
            options.name,
            &inputs.fingerprint[..12.min(inputs.fingerprint.len())],
            &task.fingerprint[..12.min(task.fingerprint.len())]
        ));
        return Ok(result);
    }
    let chunks = Arc::new(AtomicU64::new(0));
    let scoring = {
        let (store, chunks, pace) = (store.clone(), chunks.clone(), options.pace);
        tokio::task::spawn_blocking(move || {
            score_task(&store, &inputs, &task, pace, &mut |_| {
                chunks.fetch_add(1, Ordering::Relaxed);
            })
        })
    };
    tokio::pin!(scoring);
    let mut heartbeat = tokio::time::interval(options.heartbeat);
    let mut reported = 0;
    let outcome = loop {
        tokio::select! {
            outcome = &mut scoring => break outcome,
            _ = heartbeat.tick() => {
                let now = chunks.load(Ordering::Relaxed);
                if now > reported {
                    reported = now;
                    queue.still_working(taken).await?;
                }
            }
        }
    };
    result.elapsed_secs = started.elapsed().as_secs_f64();
    match outcome {
        Ok(Ok((diff, processed))) => {
            result.processed = processed;
            result.diff = Some(diff);
        }
        Ok(Err(error)) => result.error = Some(error.to_string()),
        Err(panic) => result.error = Some(format!("scoring failed: {panic}")),
    }
    Ok(result)
}
