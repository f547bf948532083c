//! Rescore jobs inside the server: `POST /v1/admin/rescore` starts one, `GET
//! /v1/admin/rescore/{job_id}` shows its progress and, when done, its report.
//!
//! sled lets one process open a store, so a live store is rescored here, by the server
//! that holds it, on its own thread (scoring on the rayon pool, writes through the same
//! `Store::write` lock as sends, one chunk at a time, so sends wait at most one chunk's
//! write). One job runs at a time: the checkpoint is per mode, and two runs over the same
//! messages would only race each other. The registry lives in memory; a job cut short by
//! a restart resumes from its checkpoint when the same request is posted again.
//!
//! A distributed job (`sendguard rescore --distributed` on a PostgreSQL store) keeps its
//! record in the store (`job_record.rs`), so every server of that store shows it under
//! the same route, with its tasks done.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use super::inputs::Inputs;
pub use super::job_record::JobStatus;
use super::job_record::{self, JobRecord};
use super::run::{rescore, Options, Report};
use crate::domain::Millis;
use crate::error::{Error, ErrorKind};
use crate::policy::PolicyConfig;
use crate::store::Store;

/// What a job runs with when the request names no model or rules: the server's own.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub policy: PolicyConfig,
    /// `None`: the built-in packs.
    pub rules_dir: Option<PathBuf>,
    /// `None`: the built-in model.
    pub model: Option<PathBuf>,
}

/// A started job's request, resolved.
pub struct JobRequest {
    pub dry_run: bool,
    pub model: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub since: Option<Millis>,
}

/// A job as `GET /v1/admin/rescore/{job_id}` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub job_id: u64,
    pub status: JobStatus,
    pub dry_run: bool,
    /// Messages done, resumed work included, and the store's message count at the start.
    pub processed: u64,
    pub total: u64,
    pub msgs_per_sec: f64,
    pub eta_secs: Option<f64>,
    pub report: Option<Report>,
    pub error: Option<String>,
    /// Set for a distributed job: its tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributed: Option<DistributedProgress>,
}

/// A distributed job's tasks, as its coordinator last recorded them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DistributedProgress {
    pub tasks_done: u64,
    pub tasks_total: u64,
    /// When the coordinator last wrote the record (epoch milliseconds): a running job
    /// whose record stopped changing has lost its coordinator (run it again to resume).
    pub updated_at: Millis,
}

struct Job {
    id: u64,
    dry_run: bool,
    started: Instant,
    resumed_from: AtomicU64,
    processed: AtomicU64,
    total: u64,
    outcome: Mutex<Option<Result<Report, String>>>,
}

impl Job {
    fn view(&self) -> JobView {
        let processed = self.processed.load(Ordering::Relaxed);
        let outcome = self
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let this_run = processed.saturating_sub(self.resumed_from.load(Ordering::Relaxed));
        let rate = this_run as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let (status, report, error) = match outcome {
            None => (JobStatus::Running, None, None),
            Some(Ok(report)) => (JobStatus::Done, Some(report), None),
            Some(Err(error)) => (JobStatus::Failed, None, Some(error)),
        };
        let eta_secs = (matches!(status, JobStatus::Running) && rate > 0.0)
            .then(|| self.total.saturating_sub(processed) as f64 / rate);
        JobView {
            job_id: self.id,
            status,
            dry_run: self.dry_run,
            processed,
            total: self.total,
            msgs_per_sec: report.as_ref().map_or(rate, |r| r.msgs_per_sec),
            eta_secs,
            report,
            error,
            distributed: None,
        }
    }

    fn running(&self) -> bool {
        self.outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }
}

/// The server's rescore jobs, over the store the server opened.
pub struct Jobs {
    defaults: Defaults,
    store: Store,
    jobs: Mutex<BTreeMap<u64, Arc<Job>>>,
}

impl Jobs {
    pub fn new(defaults: Defaults, store: Store) -> Jobs {
        Jobs {
            defaults,
            store,
            jobs: Mutex::new(BTreeMap::new()),
        }
    }

    /// Loads the inputs (bad paths are the caller's error, answered before any work) and
    /// starts the job on its own thread. Blocking: call it off the async runtime.
    pub fn start(&self, request: JobRequest, now: Millis) -> Result<u64, Error> {
        let rules = request.rules.or_else(|| self.defaults.rules_dir.clone());
        let model = request.model.or_else(|| self.defaults.model.clone());
        let inputs = Inputs::load_or_shipped(
            &self.defaults.policy,
            rules.as_deref(),
            model.as_deref(),
            request.since,
        )
        .map_err(|error| Error::invalid_field(error.field, error.to_string()))?;
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = jobs.values().find(|job| job.running()) {
            return Err(Error::new(
                ErrorKind::Conflict,
                "rescore_running",
                format!("rescore job {} is still running", running.id),
            ));
        }
        let store = &self.store;
        let job = Arc::new(Job {
            id: store.next_id()?,
            dry_run: request.dry_run,
            started: Instant::now(),
            resumed_from: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            total: store.message_count() as u64,
            outcome: Mutex::new(None),
        });
        jobs.insert(job.id, Arc::clone(&job));
        drop(jobs);
        let store = store.clone();
        let id = job.id;
        let options = Options {
            apply: !request.dry_run,
            now,
            ..Options::default()
        };
        std::thread::Builder::new()
            .name(format!("rescore-{id}"))
            .spawn(move || {
                let mut first = true;
                let result = rescore(&store, &inputs, &options, &mut |done| {
                    if first {
                        job.resumed_from.store(done, Ordering::Relaxed);
                        first = false;
                    }
                    job.processed.store(done, Ordering::Relaxed);
                });
                if let Err(error) = &result {
                    tracing::error!(job = id, %error, "rescore failed");
                }
                *job.outcome.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(result.map_err(|e| e.to_string()));
            })
            .map_err(|e| Error::new(ErrorKind::Internal, "internal", e.to_string()))?;
        Ok(id)
    }

    /// A job of this server, else a distributed job recorded in the store.
    pub fn view(&self, id: u64) -> Result<Option<JobView>, Error> {
        let local = {
            let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            jobs.get(&id).map(|job| job.view())
        };
        match local {
            Some(view) => Ok(Some(view)),
            None => Ok(job_record::load(&self.store, id)?.map(|record| view_of(&record))),
        }
    }
}

/// A distributed job as its record in the store shows it.
fn view_of(record: &JobRecord) -> JobView {
    let secs = (record.updated_at - record.started_at).max(1) as f64 / 1000.0;
    let msgs_per_sec = record
        .report
        .as_ref()
        .map_or(record.messages as f64 / secs, |r| r.msgs_per_sec);
    let running = matches!(record.status, JobStatus::Running);
    JobView {
        job_id: record.id,
        status: record.status.clone(),
        dry_run: !record.apply,
        processed: record.messages,
        total: record.total,
        msgs_per_sec,
        eta_secs: (running && msgs_per_sec > 0.0)
            .then(|| record.total.saturating_sub(record.messages) as f64 / msgs_per_sec),
        report: record.report.clone(),
        error: record.error.clone(),
        distributed: Some(DistributedProgress {
            tasks_done: record.tasks_done,
            tasks_total: record.tasks_total,
            updated_at: record.updated_at,
        }),
    }
}
