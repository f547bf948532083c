//! `sendguard worker`: takes rescore tasks from the work queue one at a time, scores them
//! with its own engine (refusing a task whose inputs fingerprint differs from its own, so
//! one job never mixes two sets of verdicts), and publishes each partial diff.
//!
//! Scoring runs on a blocking thread (the store is synchronous); meanwhile the async side
//! tells the queue the worker is alive after every chunk, so a long task is not handed to
//! another worker while this one is making progress, and one that dies is.
//!
//! A task the store could not serve for now (unavailable: a timeout, a lost connection, a
//! failover) is handed back to the queue with a delay instead of failing the job; an apply
//! resumes from its progress record, a dry run scores the range again. Only after
//! [`MAX_DELIVERIES`] tries does the error go to the coordinator, which stops the job.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::inputs::Inputs;
use super::queue::{Queue, QueueError, Taken};
use super::tasks::{score_task, TaskResult};
use crate::domain::Millis;
use crate::error::ErrorKind;
use crate::store::Store;

/// Tries of one task before a store that keeps failing fails the job.
pub const MAX_DELIVERIES: u64 = 5;

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
    /// How long a task the store failed stays off the queue before it is tried again.
    pub retry_delay: Duration,
}

/// What a worker tells its caller (the CLI prints it).
pub enum WorkerEvent<'a> {
    Started(&'a super::tasks::Task),
    Finished(&'a TaskResult),
    /// The store failed the task for now; it is back on the queue after `delay`.
    Retrying {
        task: &'a super::tasks::Task,
        attempt: u64,
        delay: Duration,
        reason: &'a str,
    },
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
        let (result, transient) = work(&store, &queue, &taken, inputs, &options).await?;
        let attempt = queue.deliveries(&taken);
        if transient && attempt < MAX_DELIVERIES {
            let task = taken.task.clone();
            queue.retry_later(taken, options.retry_delay).await?;
            on_event(WorkerEvent::Retrying {
                task: &task,
                attempt,
                delay: options.retry_delay,
                reason: result.error.as_deref().unwrap_or_default(),
            });
            idle_since = Instant::now();
            continue;
        }
        queue.finish(taken, &result).await?;
        on_event(WorkerEvent::Finished(&result));
        done += 1;
        idle_since = Instant::now();
    }
}

/// Scores one task while keeping it alive on the queue; the flag says the error (if any)
/// was the store being unavailable, worth another try.
async fn work(
    store: &Store,
    queue: &Queue,
    taken: &Taken,
    inputs: Arc<Inputs>,
    options: &WorkerOptions,
) -> Result<(TaskResult, bool), QueueError> {
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
        return Ok((result, false));
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
    let mut transient = false;
    match outcome {
        Ok(Ok((diff, processed))) => {
            result.processed = processed;
            result.diff = Some(diff);
        }
        Ok(Err(error)) => {
            transient = error.kind == ErrorKind::Unavailable;
            result.error = Some(error.to_string());
        }
        Err(panic) => result.error = Some(format!("scoring failed: {panic}")),
    }
    Ok((result, transient))
}
