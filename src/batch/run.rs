//! The rescore loop: stream the store in chunks, score each chunk on all cores, apply (or
//! only count) the changes, checkpoint, repeat.
//!
//! Memory is one chunk of messages plus the diff (bounded by the number of rules and
//! transitions), whatever the size of the store. While the workers score one chunk the
//! calling thread reads the next one from the store (on PostgreSQL with the page after
//! it already asked for), so reading overlaps scoring.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::apply::apply_change;
use super::checkpoint::{self, Checkpoint, Start};
use super::diff::{Diff, Fate, Place, SkipReason};
use super::inputs::{Inputs, InputsSummary};
use crate::domain::{Message, MessageId, MessageStatus, Millis, RenderedBody, Verdict};
use crate::engine::{AssessInput, Engine};
use crate::error::Result;
use crate::store::{RawMessage, ReviewReader, Store, StoreResult};

/// Messages per chunk: one checkpoint (and with `--apply` one atomic write) each.
pub const DEFAULT_CHUNK: usize = 4096;

#[derive(Debug, Clone)]
pub struct Options {
    /// Make the changes; otherwise only report them (the default).
    pub apply: bool,
    /// Stop after this many messages (the checkpoint lets the next run continue).
    pub max_messages: Option<u64>,
    pub chunk: usize,
    /// Time of the audit entries and review items an apply writes.
    pub now: Millis,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            apply: false,
            max_messages: None,
            chunk: DEFAULT_CHUNK,
            now: 0,
        }
    }
}

/// The outcome of one run: the diff over every message done so far (including what a
/// resumed checkpoint had done) and this run's own figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = RescoreReport)]
pub struct Report {
    pub dry_run: bool,
    /// Every message was reached; false when `max_messages` stopped the run early.
    pub complete: bool,
    /// This run continued from a checkpoint.
    pub resumed: bool,
    /// A checkpoint of other inputs was found and dropped: this run started over.
    pub discarded_checkpoint: bool,
    pub inputs: InputsSummary,
    /// Messages this run read (the diff's `scanned` includes resumed work).
    pub processed: u64,
    pub elapsed_secs: f64,
    pub msgs_per_sec: f64,
    pub diff: Diff,
}

/// One message scored again.
pub(super) struct Scored {
    pub(super) message: Message,
    pub(super) verdict: Option<Verdict>,
    pub(super) fate: Fate,
}

/// Rescores the store with `inputs`. `progress` is called after each chunk with the number
/// of messages done, resumed work included.
pub fn rescore(
    store: &Store,
    inputs: &Inputs,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Report> {
    let started = Instant::now();
    let apply = options.apply;
    let since = inputs.describe.since;
    let run = &inputs.fingerprint[..12.min(inputs.fingerprint.len())];
    let (mut total, next_id, started_at, resumed, discarded) =
        match checkpoint::load(store, apply, &inputs.fingerprint)? {
            Start::Fresh => (Diff::default(), 0, options.now, false, false),
            Start::Discard { .. } => (Diff::default(), 0, options.now, false, true),
            Start::Resume(c) => (c.diff, c.last_id + 1, c.started_at, true, false),
        };
    progress(total.scanned);
    let chunk = options.chunk.max(1);
    let room = |processed: u64| -> usize {
        options.max_messages.map_or(chunk, |max| {
            chunk.min(max.saturating_sub(processed) as usize)
        })
    };
    let mut messages = store.messages_for_batch(next_id, MessageId::MAX);
    let mut processed = 0u64;
    let mut current = read_chunk(&mut messages, room(0))?;
    let complete = loop {
        if current.is_empty() {
            // Either the store is exhausted or the limit was reached; tell them apart.
            break room(processed) > 0;
        }
        processed += current.len() as u64;
        let last_id = current.last().map_or(next_id, |m| m.id);
        let want = room(processed);
        let mut scored = None;
        // Workers score this chunk while this thread reads the next (sled's iterator
        // stays on the thread that made it).
        let next = rayon::in_place_scope(|scope| {
            scope.spawn(|_| scored = Some(score_chunk(&inputs.engine, store, &current, since)));
            read_chunk(&mut messages, want)
        });
        let mut scored = scored.expect("the scope waits for its spawned work")?;
        let (_, _ticket) = store.write(|txn| {
            if apply {
                for item in scored.iter_mut().filter(|s| s.fate == Fate::Changed) {
                    let verdict = item.verdict.as_ref().expect("changed messages have one");
                    if !apply_change(txn, &item.message, verdict, run, options.now)? {
                        item.fate = Fate::Conflict;
                    }
                }
            }
            total.merge(fold(&scored));
            checkpoint::save(
                txn,
                apply,
                &Checkpoint {
                    fingerprint: inputs.fingerprint.clone(),
                    last_id,
                    diff: total.clone(),
                    started_at,
                },
            );
            Ok::<_, crate::error::Error>(())
        })?;
        progress(total.scanned);
        current = next?;
    };
    if complete {
        store.write(|txn| {
            checkpoint::clear(txn, apply);
            Ok::<_, crate::error::Error>(())
        })?;
    }
    store.flush()?;
    let elapsed_secs = started.elapsed().as_secs_f64();
    Ok(Report {
        dry_run: !apply,
        complete,
        resumed,
        discarded_checkpoint: discarded,
        inputs: inputs.describe.clone(),
        processed,
        elapsed_secs,
        msgs_per_sec: processed as f64 / elapsed_secs.max(1e-9),
        diff: total,
    })
}

/// Up to `len` messages (fewer only at the end of the range).
pub(super) fn read_chunk(
    messages: &mut impl Iterator<Item = StoreResult<RawMessage>>,
    len: usize,
) -> StoreResult<Vec<RawMessage>> {
    messages.take(len).collect()
}

pub(super) fn score_chunk(
    engine: &Engine,
    store: &Store,
    chunk: &[RawMessage],
    since: Option<Millis>,
) -> Result<Vec<Scored>> {
    chunk
        .par_iter()
        .map(|raw| {
            // Batch work must not show up in the send path's latency and hit metrics.
            metrics::with_local_recorder(&metrics::NoopRecorder, || {
                score_one(engine, store, raw, since)
            })
        })
        .collect()
}

/// The same engine call as the send path, on the sender signals recorded at send time.
fn score_one(
    engine: &Engine,
    store: &Store,
    raw: &RawMessage,
    since: Option<Millis>,
) -> Result<Scored> {
    let message = raw.decode()?;
    let skip = match message.status {
        MessageStatus::Recalled => Some(SkipReason::Recalled),
        MessageStatus::Removed => Some(SkipReason::Removed),
        _ if message.text_removed.is_some() => Some(SkipReason::TextRemoved),
        _ if since.is_some_and(|s| message.created_at < s) => Some(SkipReason::BeforeSince),
        _ => None,
    };
    if let Some(reason) = skip {
        return Ok(Scored {
            message,
            verdict: None,
            fate: Fate::Skipped(reason),
        });
    }
    // The diff needs neither the language nor the classifier's top features; a verdict
    // that may be written is assessed again in full, so what `--apply` stores is what a
    // send would have stored.
    let body = RenderedBody::render(message.format, &message.body);
    let assess = |in_full: bool| {
        let normalized = if in_full {
            engine.normalize(&body)
        } else {
            engine.normalize_without_language(&body)
        };
        let input = AssessInput {
            message: &normalized,
            relationship: message.signals.relationship,
            behaviour: &message.signals.behaviour,
        };
        if in_full {
            engine.assess(&input)
        } else {
            engine.assess_decision(&input)
        }
    };
    let mut verdict = assess(false);
    let fate = if Place::of_stored(&message) == Place::of_decision(verdict.decision) {
        Fate::Unchanged
    } else if store.label(message.id)?.is_some() {
        Fate::Protected
    } else {
        verdict = assess(true);
        Fate::Changed
    };
    Ok(Scored {
        message,
        verdict: Some(verdict),
        fate,
    })
}

pub(super) fn fold(scored: &[Scored]) -> Diff {
    scored
        .par_iter()
        .fold(Diff::default, |mut diff, s| {
            diff.record(&s.message, s.verdict.as_ref(), &s.fate);
            diff
        })
        .reduce(Diff::default, |mut a, b| {
            a.merge(b);
            a
        })
}
