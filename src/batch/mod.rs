//! Batch rescoring: what a new model or rule pack would do to the messages already stored,
//! shown as a diff, and applied only when asked.
//!
//! A rescore streams every stored message through the very [`Engine::assess`] of the send
//! path, with the sender signals recorded at send time (relationship, behaviour), and
//! compares the new decision with the stored one. One concern per file:
//!
//! - [`inputs`]: the engine to rescore with, and the fingerprint of its inputs;
//! - [`run`]: the streaming loop (chunks, scoring on all cores with rayon, checkpoints);
//! - [`diff`]: the before/after counts per transition, rule and score band;
//! - [`apply`]: one change made in the mailbox (`--apply` only);
//! - [`checkpoint`]: resuming an interrupted run; a finished one starts over next time;
//! - [`job`]: rescore jobs inside the server, which alone can open a live store;
//! - distributed rescoring over a shared (PostgreSQL) store: [`tasks`] (an id range scored
//!   into a partial diff), [`queue`] (the JetStream work queue and results stream),
//!   [`worker`] (`sendguard worker`), [`coordinator`] (`sendguard rescore --distributed`),
//!   [`job_record`] (the job in the store: resuming, and its status over HTTP).
//!
//! A dry run is the default and changes no message. A message a person already decided
//! (it has a label) is never changed; a second run with the same inputs finds nothing to
//! change, because every change brings the stored decision in line with the new one.
//!
//! [`Engine::assess`]: crate::engine::Engine::assess

pub mod apply;
pub mod checkpoint;
pub mod coordinator;
pub mod diff;
pub mod inputs;
pub mod job;
pub mod job_record;
pub mod queue;
pub mod run;
pub mod tasks;
pub mod worker;

pub use diff::Diff;
pub use inputs::{InputError, Inputs};
pub use job::{Defaults, JobRequest, JobView, Jobs};
pub use run::{rescore, Options, Report};
