//! The checkpoint that makes a rescore resumable.
//!
//! After every chunk the run stores, under `rescore/dry` or `rescore/apply`, the last
//! message id it finished and the diff so far, tagged with the inputs' fingerprint. With
//! `--apply` the checkpoint goes into the same atomic batch as the chunk's changes, so a
//! run killed at any point has either made a chunk's changes *and* recorded them, or
//! neither: the next run resumes after the last recorded id and nothing is done twice.
//! A finished run deletes its checkpoint, so the next run starts from the first message.

use serde::{Deserialize, Serialize};

use super::diff::Diff;
use crate::domain::{MessageId, Millis};
use crate::store::{Reader, StoreResult, WriteTxn};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Fingerprint of the inputs (see `inputs.rs`); another fingerprint starts over.
    pub fingerprint: String,
    /// Every message up to and including this id is done.
    pub last_id: MessageId,
    pub diff: Diff,
    pub started_at: Millis,
}

/// The key's mode: a dry run and an apply run never resume each other.
pub fn mode(apply: bool) -> &'static str {
    if apply {
        "apply"
    } else {
        "dry"
    }
}

/// What a new run starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    Fresh,
    Resume(Checkpoint),
    /// A checkpoint of other inputs was found and will be overwritten.
    Discard {
        fingerprint: String,
    },
}

pub fn load(reader: &impl Reader, apply: bool, fingerprint: &str) -> StoreResult<Start> {
    Ok(
        match reader.rescore_checkpoint::<Checkpoint>(mode(apply))? {
            None => Start::Fresh,
            Some(checkpoint) if checkpoint.fingerprint == fingerprint => Start::Resume(checkpoint),
            Some(checkpoint) => Start::Discard {
                fingerprint: checkpoint.fingerprint,
            },
        },
    )
}

pub fn save(txn: &mut WriteTxn<'_>, apply: bool, checkpoint: &Checkpoint) {
    txn.put_rescore_checkpoint(mode(apply), checkpoint);
}

pub fn clear(txn: &mut WriteTxn<'_>, apply: bool) {
    txn.delete_rescore_checkpoint(mode(apply));
}
