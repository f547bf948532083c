//! `sendguard rescore --distributed`: splits the store's message ids into tasks, puts them
//! on the work queue, and merges the workers' partial diffs into the report one process
//! would have made ([`Report`], the same JSON as `rescore`).
//!
//! Results are kept by task index (a task done twice, because its first worker died after
//! publishing, counts once), and merged only when every task has answered; the merged diff
//! does not depend on which worker did what, nor in what order (see `diff.rs`). With
//! `--apply` the workers make the changes (`tasks.rs` says why each is made once); the
//! coordinator removes the tasks' progress records when the job is complete.
//!
//! The job is recorded in the store (`job_record.rs`) before its tasks are queued, and its
//! progress after every result: a coordinator that dies is simply run again, with the same
//! inputs and mode, and takes the job over instead of starting over.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::diff::Diff;
use super::inputs::Inputs;
use super::job_record::{self, JobRecord, JobStatus};
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
    /// The job's id (`GET /v1/admin/rescore/{job_id}` on any server of the store).
    pub job_id: u64,
    /// The job was started by a coordinator that stopped, and this one took it over.
    pub resumed: bool,
    pub tasks_done: u64,
    pub tasks_total: u64,
    pub messages: u64,
    pub msgs_per_sec: f64,
}

/// Runs `work` on a blocking thread with a clone of the store.
async fn blocking<T: Send + 'static>(
    store: &Store,
    work: impl FnOnce(&Store) -> crate::error::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || work(&store)).await??)
}

/// The mode's unfinished job if it has these inputs (resumed), else a new one; an
/// unfinished job of other inputs is given up (its tasks dropped) and reported discarded.
async fn job_to_run(
    store: &Store,
    queue: &Queue,
    inputs: &Inputs,
    options: &JobOptions,
) -> anyhow::Result<(JobRecord, bool, bool)> {
    let apply = options.apply;
    let unfinished = blocking(store, move |store| job_record::unfinished(store, apply)).await?;
    if let Some(record) = &unfinished {
        if record.fingerprint == inputs.fingerprint {
            return Ok((record.clone(), true, false));
        }
        let mut record = record.clone();
        queue.purge(&record.queue_name()).await?;
        record.status = JobStatus::Failed;
        record.error = Some("given up: a job with other inputs was started".into());
        record.updated_at = job_record::wall_clock();
        let (name, total) = (record.queue_name(), record.tasks_total);
        blocking(store, move |store| {
            if record.apply {
                tasks::clear_records(store, &name, total)?;
            }
            job_record::save(store, &record)
        })
        .await?;
    }
    let (bounds, id, total) = blocking(store, |store| {
        Ok((
            store.message_id_bounds()?,
            store.next_id()?,
            store.message_count() as u64,
        ))
    })
    .await?;
    let (start, end) = bounds.unwrap_or((0, 0));
    let now = job_record::wall_clock();
    let record = JobRecord {
        id,
        fingerprint: inputs.fingerprint.clone(),
        apply,
        now: options.now,
        start,
        end,
        task_size: options.task_size.max(1),
        chunk: options.chunk,
        published: false,
        tasks_total: tasks::split(start, end, options.task_size).len() as u64,
        tasks_done: 0,
        messages: 0,
        total,
        started_at: now,
        updated_at: now,
        status: JobStatus::Running,
        report: None,
        error: None,
    };
    Ok((record, false, unfinished.is_some()))
}

/// Runs one job to completion and returns the merged report. The job is recorded in the
/// store first, so a coordinator run again after this one died takes the same job over:
/// the tasks still queued or in flight are done once, and the results already sent are
/// read again from the results stream.
pub async fn coordinate(
    store: &Store,
    queue: &Queue,
    inputs: &Inputs,
    options: &JobOptions,
    progress: &mut (dyn FnMut(JobProgress) + Send),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let (mut record, resumed, discarded) = job_to_run(store, queue, inputs, options).await?;
    let job = record.queue_name();
    let ranges = tasks::split(record.start, record.end, record.task_size);
    let total = ranges.len() as u64;
    queue.prepare(options.ack_wait).await?;
    if !record.published {
        let job_tasks: Vec<Task> = ranges
            .into_iter()
            .map(|(index, from, to)| Task {
                job: job.clone(),
                index,
                total,
                from,
                to,
                fingerprint: record.fingerprint.clone(),
                since: inputs.describe.since,
                apply: record.apply,
                now: record.now,
                chunk: record.chunk,
            })
            .collect();
        let saved = record.clone();
        blocking(store, move |store| job_record::save(store, &saved)).await?;
        queue.publish_tasks(&job_tasks).await?;
        record.published = true;
        let saved = record.clone();
        blocking(store, move |store| job_record::save(store, &saved)).await?;
    }
    // Read from the first result on, so results of tasks done while the rest were being
    // queued (or before this coordinator took the job over) are there too; made after
    // publishing, because an idle consumer expires.
    let mut results = queue.results(&job).await?;
    tracing::info!(job, tasks = total, resumed, "rescore job queued");

    let mut answered: BTreeMap<u64, TaskResult> = BTreeMap::new();
    let mut messages = 0u64;
    let mut this_run = 0u64;
    progress(JobProgress {
        job_id: record.id,
        resumed,
        tasks_done: 0,
        tasks_total: total,
        messages: 0,
        msgs_per_sec: 0.0,
    });
    let job_id = record.id;
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
            this_run += result.processed;
            answered.insert(result.index, result);
            record.tasks_done = answered.len() as u64;
            record.messages = messages;
            record.updated_at = job_record::wall_clock();
            let saved = record.clone();
            blocking(store, move |store| job_record::save(store, &saved)).await?;
            progress(JobProgress {
                job_id,
                resumed,
                tasks_done: answered.len() as u64,
                tasks_total: total,
                messages,
                msgs_per_sec: this_run as f64 / started.elapsed().as_secs_f64().max(1e-9),
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
        record.status = JobStatus::Failed;
        record.error = Some(format!("{error:#}"));
        record.updated_at = job_record::wall_clock();
        let _ = blocking(store, move |store| job_record::save(store, &record)).await;
        return Err(error);
    }
    let mut diff = Diff::default();
    let mut processed = 0;
    for result in answered.into_values() {
        processed += result.processed;
        diff.merge(result.diff.unwrap_or_default());
    }
    if options.apply {
        let job = job.clone();
        blocking(store, move |store| tasks::clear_records(store, &job, total)).await?;
    }
    queue.purge(&job).await?;
    let elapsed_secs = started.elapsed().as_secs_f64();
    let report = Report {
        dry_run: !options.apply,
        complete: true,
        resumed,
        discarded_checkpoint: discarded,
        inputs: inputs.describe.clone(),
        processed,
        elapsed_secs,
        msgs_per_sec: processed as f64 / elapsed_secs.max(1e-9),
        diff,
    };
    record.status = JobStatus::Done;
    record.report = Some(report.clone());
    record.updated_at = job_record::wall_clock();
    blocking(store, move |store| job_record::save(store, &record)).await?;
    Ok(report)
}
