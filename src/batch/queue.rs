//! The JetStream streams of distributed rescoring.
//!
//! - `<PREFIX>_RESCORE_TASKS` over `<prefix>.rescore.tasks.>`: a **work queue** (a task is
//!   removed once a worker acknowledges it). All workers share one durable pull consumer,
//!   `workers`, with explicit acks: a worker takes one task at a time, tells the server it
//!   is alive after each chunk, and acknowledges after its result is stored; a worker that
//!   dies stops both, and the server hands the task to another worker once the ack
//!   deadline (`ack_wait`) passes.
//! - `<PREFIX>_RESCORE_RESULTS` over `<prefix>.rescore.results.<job>`: partial diffs, kept
//!   (limits retention, a day) until the coordinator has merged them and purges its job.
//!
//! Every publish carries a `Nats-Msg-Id` (`<job>-t<index>`, `<job>-r<index>`), so a retried
//! publish is stored once; the coordinator also keeps one result per task index.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;

use super::tasks::{Task, TaskResult};

/// The shared consumer of every worker.
const WORKERS: &str = "workers";

#[derive(Debug, thiserror::Error)]
#[error("nats: {0}")]
pub struct QueueError(pub String);

fn error(error: impl std::fmt::Display) -> QueueError {
    QueueError(error.to_string())
}

/// A connection and the subject prefix the streams live under.
#[derive(Clone)]
pub struct Queue {
    jetstream: jetstream::Context,
    prefix: String,
}

/// A task taken from the queue, to be acknowledged once its result is stored.
pub struct Taken {
    pub task: Task,
    message: jetstream::Message,
}

/// The two stream names of a prefix.
pub fn stream_names(prefix: &str) -> [String; 2] {
    let token = crate::notify::stream_token(prefix);
    [
        format!("{token}_RESCORE_TASKS"),
        format!("{token}_RESCORE_RESULTS"),
    ]
}

impl Queue {
    pub async fn connect(url: &str, prefix: &str) -> Result<Queue, QueueError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| QueueError(format!("{url}: {e}")))?;
        Ok(Queue {
            jetstream: jetstream::new(client),
            prefix: prefix.to_string(),
        })
    }

    fn tasks_subject(&self, job: &str) -> String {
        format!("{}.rescore.tasks.{job}", self.prefix)
    }

    fn results_subject(&self, job: &str) -> String {
        format!("{}.rescore.results.{job}", self.prefix)
    }

    async fn tasks_stream(&self) -> Result<stream::Stream, QueueError> {
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: stream_names(&self.prefix)[0].clone(),
                subjects: vec![format!("{}.rescore.tasks.>", self.prefix)],
                retention: stream::RetentionPolicy::WorkQueue,
                max_age: Duration::from_secs(7 * 24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(error)
    }

    async fn results_stream(&self) -> Result<stream::Stream, QueueError> {
        self.jetstream
            .get_or_create_stream(stream::Config {
                name: stream_names(&self.prefix)[1].clone(),
                subjects: vec![format!("{}.rescore.results.>", self.prefix)],
                max_age: Duration::from_secs(24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(error)
    }

    /// Creates the streams and the workers' consumer (or sets its ack deadline).
    pub async fn prepare(&self, ack_wait: Duration) -> Result<(), QueueError> {
        let tasks = self.tasks_stream().await?;
        self.results_stream().await?;
        tasks
            .create_consumer(consumer::pull::Config {
                durable_name: Some(WORKERS.to_string()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait,
                ..Default::default()
            })
            .await
            .map_err(error)?;
        Ok(())
    }

    /// Puts the job's tasks on the work queue.
    pub async fn publish_tasks(&self, tasks: &[Task]) -> Result<(), QueueError> {
        let mut acks = Vec::with_capacity(tasks.len());
        for task in tasks {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(
                "Nats-Msg-Id",
                format!("{}-t{}", task.job, task.index).as_str(),
            );
            let payload = serde_json::to_vec(task).map_err(error)?;
            acks.push(
                self.jetstream
                    .publish_with_headers(self.tasks_subject(&task.job), headers, payload.into())
                    .await
                    .map_err(error)?,
            );
        }
        for ack in acks {
            ack.await.map_err(error)?;
        }
        Ok(())
    }

    /// The next task, waiting at most `wait`; `None` when the queue stayed empty (or the
    /// workers' consumer does not exist yet: no coordinator has run).
    pub async fn take(&self, wait: Duration) -> Result<Option<Taken>, QueueError> {
        let Ok(tasks) = self
            .jetstream
            .get_stream(&stream_names(&self.prefix)[0])
            .await
        else {
            tokio::time::sleep(wait).await;
            return Ok(None);
        };
        let Ok(consumer) = tasks.get_consumer::<consumer::pull::Config>(WORKERS).await else {
            tokio::time::sleep(wait).await;
            return Ok(None);
        };
        let mut batch = consumer
            .batch()
            .max_messages(1)
            .expires(wait)
            .messages()
            .await
            .map_err(error)?;
        while let Some(message) = batch.next().await {
            let message = message.map_err(error)?;
            match serde_json::from_slice::<Task>(&message.payload) {
                Ok(task) => return Ok(Some(Taken { task, message })),
                Err(parse) => {
                    // Not a task this build reads: dropped, or it would come back forever.
                    tracing::warn!(%parse, "rescore task not understood; dropped");
                    message
                        .ack_with(jetstream::AckKind::Term)
                        .await
                        .map_err(error)?;
                }
            }
        }
        Ok(None)
    }

    /// Tells the server the worker is still on the task (resets its ack deadline).
    pub async fn still_working(&self, taken: &Taken) -> Result<(), QueueError> {
        taken
            .message
            .ack_with(jetstream::AckKind::Progress)
            .await
            .map_err(error)
    }

    /// How many times the task has been handed out, this time included.
    pub fn deliveries(&self, taken: &Taken) -> u64 {
        taken
            .message
            .info()
            .map_or(1, |info| info.delivered.max(1) as u64)
    }

    /// Hands the task back to the queue, to be delivered again (to any worker) after
    /// `delay`: the worker could not do it for now (the store did not answer).
    pub async fn retry_later(&self, taken: Taken, delay: Duration) -> Result<(), QueueError> {
        taken
            .message
            .ack_with(jetstream::AckKind::Nak(Some(delay)))
            .await
            .map_err(error)
    }

    /// Stores the task's result, then acknowledges the task (so a task is never lost: at
    /// worst its result is stored twice, and the coordinator keeps one).
    pub async fn finish(&self, taken: Taken, result: &TaskResult) -> Result<(), QueueError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Nats-Msg-Id",
            format!("{}-r{}", result.job, result.index).as_str(),
        );
        let payload = serde_json::to_vec(result).map_err(error)?;
        self.jetstream
            .publish_with_headers(self.results_subject(&result.job), headers, payload.into())
            .await
            .map_err(error)?
            .await
            .map_err(error)?;
        taken.message.double_ack().await.map_err(error)
    }

    /// The job's results as they arrive (from the first).
    pub async fn results(
        &self,
        job: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<TaskResult, QueueError>>, QueueError>
    {
        let stream = self.results_stream().await?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.results_subject(job),
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(error)?;
        let messages = consumer.messages().await.map_err(error)?;
        Ok(messages
            .map(|message| {
                let message = message.map_err(error)?;
                serde_json::from_slice::<TaskResult>(&message.payload).map_err(error)
            })
            .boxed())
    }

    /// Drops what is left of a job: its results, and tasks no worker took (a job given up).
    pub async fn purge(&self, job: &str) -> Result<(), QueueError> {
        let results = self.results_stream().await?;
        results
            .purge()
            .filter(self.results_subject(job))
            .await
            .map_err(error)?;
        let tasks = self.tasks_stream().await?;
        tasks
            .purge()
            .filter(self.tasks_subject(job))
            .await
            .map_err(error)?;
        Ok(())
    }
}
