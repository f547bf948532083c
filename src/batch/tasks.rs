//! Distributed rescoring's unit of work: a range of message ids, scored by one worker into
//! a partial [`Diff`].
//!
//! Ids are dense (the store hands them out in sequence), so equal id ranges are tasks of
//! about equal work, and splitting needs nothing but the next id. A task is scored with
//! the very loop of the one-process rescore (`run.rs`: chunks on all cores, the same
//! engine), and diffs are sums, so the merged partial diffs are the diff of one process.
//!
//! With `--apply` each chunk's changes are written together with the task's progress
//! record (`rescore/task/<job>/<index>`) in one transaction, as the one-process checkpoint
//! is. A task redelivered after its worker died resumes from the record, and a finished
//! one answers with the recorded diff: no change is made twice, and the partial diff is
//! the one an uninterrupted worker would have sent. A dry run writes nothing and simply
//! scores the range again.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::apply::apply_change;
use super::diff::{Diff, Fate};
use super::inputs::Inputs;
use super::run::{fold, read_chunk, score_chunk};
use crate::domain::{MessageId, Millis};
use crate::error::Result;
use crate::store::{Reader, Store};

/// One task as it travels on the work queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub job: String,
    pub index: u64,
    pub total: u64,
    /// Message ids in `from..to`.
    pub from: MessageId,
    pub to: MessageId,
    /// The coordinator's inputs; a worker with other inputs refuses the task.
    pub fingerprint: String,
    pub since: Option<Millis>,
    pub apply: bool,
    /// Time of the audit entries and review items an apply writes.
    pub now: Millis,
    pub chunk: usize,
}

/// A worker's answer to one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub job: String,
    pub index: u64,
    pub worker: String,
    /// Messages this delivery read (a resumed apply reads only the rest).
    pub processed: u64,
    pub elapsed_secs: f64,
    pub diff: Option<Diff>,
    /// Why the task was not done (other inputs, a store error); the coordinator stops.
    pub error: Option<String>,
}

/// The progress record of an applying task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TaskRecord {
    fingerprint: String,
    /// The next id to score.
    next: MessageId,
    diff: Diff,
    done: bool,
}

/// The record's key (a rescore checkpoint mode of its own).
pub fn record_key(job: &str, index: u64) -> String {
    format!("task/{job}/{index}")
}

/// Splits ids `start..end` into tasks of `size` ids: `(index, from, to)`.
pub fn split(start: MessageId, end: MessageId, size: u64) -> Vec<(u64, MessageId, MessageId)> {
    let size = size.max(1);
    let count = end.saturating_sub(start).div_ceil(size);
    (0..count)
        .map(|index| {
            let from = start + index * size;
            (index, from, (from + size).min(end))
        })
        .collect()
}

/// Scores (and with `apply` changes) the task's messages; `progress` is called after each
/// chunk, so a long task can tell the queue it is alive. `pace` caps this worker's
/// messages per second (0: no cap), to spare a database the send path also uses.
pub fn score_task(
    store: &Store,
    inputs: &Inputs,
    task: &Task,
    pace: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(Diff, u64)> {
    let key = record_key(&task.job, task.index);
    let (mut total, mut next) = (Diff::default(), task.from);
    if task.apply {
        if let Some(record) = store.rescore_checkpoint::<TaskRecord>(&key)? {
            if record.fingerprint == task.fingerprint {
                if record.done {
                    return Ok((record.diff, 0));
                }
                (total, next) = (record.diff, record.next);
            }
        }
    }
    let run = &task.fingerprint[..12.min(task.fingerprint.len())];
    let started = Instant::now();
    let mut processed = 0u64;
    let len = task.chunk.max(1);
    let mut messages = store.messages_for_batch(next, task.to);
    let mut current = read_chunk(&mut messages, len)?;
    loop {
        let done = current.len() < len;
        processed += current.len() as u64;
        if let Some(last) = current.last() {
            next = last.id + 1;
        }
        // The workers score this chunk while this thread reads the next, as in `run.rs`.
        let mut scored = None;
        let following = if done {
            Ok(Vec::new())
        } else {
            rayon::in_place_scope(|scope| {
                scope.spawn(|_| {
                    scored = Some(score_chunk(&inputs.engine, store, &current, task.since));
                });
                read_chunk(&mut messages, len)
            })
        };
        let mut scored = match scored {
            Some(scored) => scored?,
            None => score_chunk(&inputs.engine, store, &current, task.since)?,
        };
        if task.apply {
            store.write(|txn| {
                for item in scored.iter_mut().filter(|s| s.fate == Fate::Changed) {
                    let verdict = item.verdict.as_ref().expect("changed messages have one");
                    if !apply_change(txn, &item.message, verdict, run, task.now)? {
                        item.fate = Fate::Conflict;
                    }
                }
                total.merge(fold(&scored));
                txn.put_rescore_checkpoint(
                    &key,
                    &TaskRecord {
                        fingerprint: task.fingerprint.clone(),
                        next,
                        diff: total.clone(),
                        done,
                    },
                );
                Ok::<_, crate::error::Error>(())
            })?;
        } else {
            total.merge(fold(&scored));
        }
        progress(processed);
        if done {
            break;
        }
        if pace > 0 {
            let due = Duration::from_secs_f64(processed as f64 / pace as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        current = following?;
    }
    Ok((total, processed))
}

/// Deletes the progress records of a finished job's tasks.
pub fn clear_records(store: &Store, job: &str, total: u64) -> Result<()> {
    store.write(|txn| {
        for index in 0..total {
            txn.delete_rescore_checkpoint(&record_key(job, index));
        }
        Ok::<_, crate::error::Error>(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_cover_every_id_once() {
        assert_eq!(split(0, 10, 4), vec![(0, 0, 4), (1, 4, 8), (2, 8, 10)]);
        assert_eq!(split(5, 13, 4), vec![(0, 5, 9), (1, 9, 13)]);
        assert!(split(7, 7, 4).is_empty());
        assert_eq!(split(0, 3, 0), vec![(0, 0, 1), (1, 1, 2), (2, 2, 3)]);
    }
}
