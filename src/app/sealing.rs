//! Encryption at rest as an operation: the census of how message text is sealed, and key
//! rotation in the background (batches of one write each, resumable from the store's
//! checkpoint: a restart mid-rotation continues where it stopped when asked again).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::App;
use crate::error::{Error, ErrorKind, Result};
use crate::store::crypt::{RotationCheckpoint, SealingCensus};

/// Messages looked at per write.
pub const RESEAL_BATCH: usize = 256;

/// One rotation at a time per process.
static ROTATING: AtomicBool = AtomicBool::new(false);

impl App {
    /// How the stored messages are sealed, by key, and the rotation under way.
    pub fn sealing_census(&self) -> Result<SealingCensus> {
        Ok(self.store.sealing_census()?)
    }

    /// The active key's id; `None` when message text is stored unencrypted.
    pub fn active_key(&self) -> Option<String> {
        self.store.sealer().map(|s| s.active_key().to_string())
    }

    /// A rotation needs a key to rotate to: without one, a clear refusal (409 on the server,
    /// the same message from the CLI) instead of the store's failure.
    fn require_key(&self) -> Result<()> {
        if self.store.sealer().is_none() {
            return Err(Error::new(
                ErrorKind::Conflict,
                "no_encryption_key",
                "no key is configured ([store] keys_file or SENDGUARD_STORE_KEYS): nothing to rotate to",
            ));
        }
        Ok(())
    }

    /// Reseals every message not sealed with the active key, on a blocking thread;
    /// `false` when a rotation already runs in this process. Fails at once without a key.
    pub fn start_key_rotation(self: &Arc<Self>) -> Result<bool> {
        self.require_key()?;
        if ROTATING.swap(true, Ordering::SeqCst) {
            return Ok(false);
        }
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let outcome = app.rotate_keys(RESEAL_BATCH, None);
            ROTATING.store(false, Ordering::SeqCst);
            match outcome {
                Ok(resealed) => tracing::info!(resealed, "key rotation finished"),
                Err(error) => {
                    tracing::error!(%error, "key rotation stopped; ask again to resume")
                }
            }
        });
        Ok(true)
    }

    /// Runs the rotation here, `batch` messages per write, at most `max_batches` writes
    /// (`None`: to the end); returns how many messages this call resealed. The CLI's
    /// `store rotate-key` and the server's background task both use it.
    pub fn rotate_keys(&self, batch: usize, max_batches: Option<usize>) -> Result<u64> {
        self.require_key()?;
        let start = self.store.rotation()?.map_or(0, |c| c.resealed);
        let mut last: Option<RotationCheckpoint> = None;
        let mut batches = 0;
        while max_batches.is_none_or(|max| batches < max) {
            batches += 1;
            match self.store.reseal_batch(batch.max(1))? {
                Some(checkpoint) => last = Some(checkpoint),
                None => {
                    return Ok(last.map_or(0, |c| c.resealed.saturating_sub(start)));
                }
            }
        }
        Ok(last.map_or(0, |c| c.resealed.saturating_sub(start)))
    }
}
