//! The record of a distributed rescore job, kept in the shared store: what a coordinator
//! restarted after a crash resumes from, and what `GET /v1/admin/rescore/{job_id}` shows
//! from any server of the store while the job runs and after it ends.
//!
//! Two keys in the rescore checkpoint space: `distributed/job/<id>`, the record itself
//! (kept after the job, with its report: a few KB per job), and `distributed/<mode>`
//! (`dry` or `apply`), the id of the mode's unfinished job, removed when the job ends. The
//! job's results stay on the results stream until the job ends, so a resumed coordinator
//! reads every partial diff again, keeps one per task, and counts none twice.

use serde::{Deserialize, Serialize};

use super::run::Report;
use crate::domain::{MessageId, Millis};
use crate::error::Result;
use crate::store::{Reader, Store};

/// Where a rescore job stands (a server's own jobs use it too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: u64,
    pub fingerprint: String,
    pub apply: bool,
    /// Time of the audit entries and review items an apply writes.
    pub now: Millis,
    /// The message ids the tasks split (`start..end`), and how.
    pub start: MessageId,
    pub end: MessageId,
    pub task_size: u64,
    pub chunk: usize,
    /// Every task is on the queue; a coordinator that died before that queues them again.
    pub published: bool,
    pub tasks_total: u64,
    pub tasks_done: u64,
    /// Messages read by the tasks that answered.
    pub messages: u64,
    /// Messages in the store when the job started.
    pub total: u64,
    /// Wall-clock milliseconds.
    pub started_at: Millis,
    pub updated_at: Millis,
    pub status: JobStatus,
    pub report: Option<Report>,
    pub error: Option<String>,
}

fn record_key(id: u64) -> String {
    format!("distributed/job/{id}")
}

fn unfinished_key(apply: bool) -> &'static str {
    if apply {
        "distributed/apply"
    } else {
        "distributed/dry"
    }
}

/// Milliseconds since the epoch, for the record's times.
pub fn wall_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

impl JobRecord {
    /// The job's name on the queue (subjects, message ids, task progress records).
    pub fn queue_name(&self) -> String {
        format!("{:016x}", self.id)
    }
}

/// The unfinished job of a mode, if any.
pub fn unfinished(store: &Store, apply: bool) -> Result<Option<JobRecord>> {
    match store.rescore_checkpoint::<u64>(unfinished_key(apply))? {
        Some(id) => load(store, id),
        None => Ok(None),
    }
}

pub fn load(store: &Store, id: u64) -> Result<Option<JobRecord>> {
    Ok(store.rescore_checkpoint(&record_key(id))?)
}

/// Writes the record; a running job is its mode's unfinished one, an ended one no longer.
pub fn save(store: &Store, record: &JobRecord) -> Result<()> {
    store.write(|txn| {
        txn.put_rescore_checkpoint(&record_key(record.id), record);
        let unfinished = unfinished_key(record.apply);
        if matches!(record.status, JobStatus::Running) {
            txn.put_rescore_checkpoint(unfinished, &record.id);
        } else {
            txn.delete_rescore_checkpoint(unfinished);
        }
        Ok::<_, crate::error::Error>(())
    })?;
    Ok(())
}
