//! `sendguard rescore --distributed`: splits the store's message ids into tasks, puts them
//! on the work queue, and merges the workers' partial diffs into the report one process
//! would have made ([`Report`], the same JSON as `rescore`).
//!
//! Results are kept by task index (a task done twice, because its first worker died after
//! publishing, counts once), and merged only when every task has answered; the merged diff
//! does not depend on which worker did what, nor in what order (see `diff.rs`). With
//! `--apply` the workers make the changes (`tasks.rs` says why each is made once); the
//! coordinator removes the tasks' progress records when the job is complete.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::diff::Diff;
use super::inputs::Inputs;
use super::queue::Queue;
use super::run::Report;
use super::tasks::{self, Task, TaskResult};
use crate::domain::Millis;
use crate::store::Store;

/// Message ids per task by default: big enough that a task's overhead (a queue round trip,
/// a store page query) is noise, small enough that a lost worker costs seconds of work.
pub const DEFAULT_TASK_SIZE: u64 = 50_000;

#[derive(Debug, Clone)]
pub struct JobOptions {
    pub apply: bool,
    pub task_size: u64,
    /// Messages per chunk inside a task (one transaction each with `--apply`).
    pub chunk: usize,
    pub now: Millis,
    /// How long a silent worker keeps a task before the queue hands it to another.
    pub ack_wait: Duration,
    /// Give up when the job is not done by then.
    pub deadline: Option<Duration>,
}

/// Progress for a bar or a status route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobProgress {
    pub tasks_done: u64,
    pub tasks_total: u64,
    pub messages: u64,
    pub msgs_per_sec: f64,
}

/// Runs one job to completion and returns the merged report.
pub async fn coordinate(
    store: &Store,
    queue: &Queue,
    inputs: &Inputs,
    options: &JobOptions,
    progress: &mut (dyn FnMut(JobProgress) + Send),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let bounds = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || tasks::id_bounds(&store)).await??
    };
    let (start, end) = bounds.unwrap_or((0, 0));
    let job = format!("{:016x}", rand::random::<u64>());
    let ranges = tasks::split(start, end, options.task_size);
    let total = ranges.len() as u64;
    let job_tasks: Vec<Task> = ranges
        .into_iter()
        .map(|(index, from, to)| Task {
            job: job.clone(),
            index,
            total,
            from,
            to,
            fingerprint: inputs.fingerprint.clone(),
            since: inputs.describe.since,
            apply: options.apply,
            now: options.now,
            chunk: options.chunk,
        })
        .collect();
    queue.prepare(options.ack_wait).await?;
    queue.publish_tasks(&job_tasks).await?;
    // Read from the first result on, so results of tasks done while the rest were being
    // queued are there too; made after publishing, because an idle consumer expires.
    let mut results = queue.results(&job).await?;
    tracing::info!(job, tasks = total, end, "rescore job queued");

    let mut answered: BTreeMap<u64, TaskResult> = BTreeMap::new();
    let mut messages = 0u64;
    progress(JobProgress {
        tasks_done: 0,
        tasks_total: total,
        messages: 0,
        msgs_per_sec: 0.0,
    });
    let gather = async {
        while (answered.len() as u64) < total {
            let Some(result) = results.next().await else {
                anyhow::bail!("the results stream ended before every task answered");
            };
            let result = result?;
            if let Some(error) = &result.error {
                anyhow::bail!("task {} of job {job}: {error}", result.index);
            }
            if answered.contains_key(&result.index) || result.index >= total {
                continue;
            }
            messages += result.processed;
            answered.insert(result.index, result);
            progress(JobProgress {
                tasks_done: answered.len() as u64,
                tasks_total: total,
                messages,
                msgs_per_sec: messages as f64 / started.elapsed().as_secs_f64().max(1e-9),
            });
        }
        Ok(())
    };
    let gathered = match options.deadline {
        Some(deadline) => tokio::time::timeout(deadline, gather)
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "job {job} not done within {} s: are workers running \
                     (`sendguard worker`) with the same --prefix?",
                    deadline.as_secs()
                ))
            }),
        None => gather.await,
    };
    if let Err(error) = gathered {
        let _ = queue.purge(&job).await;
        return Err(error);
    }
    let mut diff = Diff::default();
    let mut processed = 0;
    for result in answered.into_values() {
        processed += result.processed;
        diff.merge(result.diff.unwrap_or_default());
    }
    if options.apply {
        let store = store.clone();
        let job = job.clone();
        tokio::task::spawn_blocking(move || tasks::clear_records(&store, &job, total)).await??;
    }
    queue.purge(&job).await?;
    let elapsed_secs = started.elapsed().as_secs_f64();
    Ok(Report {
        dry_run: !options.apply,
        complete: true,
        resumed: false,
        discarded_checkpoint: false,
        inputs: inputs.describe.clone(),
        processed,
        elapsed_secs,
        msgs_per_sec: processed as f64 / elapsed_secs.max(1e-9),
        diff,
    })
}
