//! Group commit: many writers, one fsync.
//!
//! Each committed batch takes a sequence number *after* it is applied. A flusher thread
//! reads the newest number, flushes sled (which makes every write applied before the call
//! durable) and publishes that number as durable. Writers wait until the durable number
//! reaches theirs, so concurrent sends share one flush instead of paying one fsync each.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use tokio::sync::watch;

/// A committed write's place in the flush order; await it with [`GroupCommit::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(pub(crate) u64);

impl Ticket {
    /// A write durable when it was acknowledged (a committed PostgreSQL transaction).
    pub(crate) const DURABLE: Ticket = Ticket(0);
}

pub struct GroupCommit {
    applied: AtomicU64,
    wake: Mutex<bool>,
    wake_signal: Condvar,
    durable: watch::Sender<u64>,
    stopping: AtomicBool,
    flushes: AtomicU64,
}

impl GroupCommit {
    /// Starts the flusher thread for `db`; join the handle after [`GroupCommit::stop`] so
    /// the database (and its file lock) is released when the store is dropped.
    pub fn start(db: sled::Db) -> (Arc<GroupCommit>, thread::JoinHandle<()>) {
        let (durable, _) = watch::channel(0);
        let shared = Arc::new(GroupCommit {
            applied: AtomicU64::new(0),
            wake: Mutex::new(false),
            wake_signal: Condvar::new(),
            durable,
            stopping: AtomicBool::new(false),
            flushes: AtomicU64::new(0),
        });
        let flusher = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("sendguard-flush".into())
            .spawn(move || flusher.run(db))
            .expect("spawning the flush thread");
        (shared, handle)
    }

    /// Records that a batch has been applied and asks for a flush; call after the write.
    pub fn applied(&self) -> Ticket {
        let ticket = Ticket(self.applied.fetch_add(1, Ordering::SeqCst) + 1);
        let mut pending = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        *pending = true;
        self.wake_signal.notify_one();
        ticket
    }

    /// Resolves once the write behind `ticket` is on disk.
    pub async fn wait(&self, ticket: Ticket) {
        let mut durable = self.durable.subscribe();
        // The sender lives as long as `self`, so this only fails if the flusher is gone.
        let _ = durable.wait_for(|&done| done >= ticket.0).await;
    }

    /// How many fsyncs have been made (group commit's effect is sends per flush).
    pub fn flush_count(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Take the lock so the flag cannot slip between the flusher's check and its wait.
        let _pending = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        self.wake_signal.notify_one();
    }

    fn run(&self, db: sled::Db) {
        loop {
            {
                let mut pending = self.wake.lock().unwrap_or_else(|e| e.into_inner());
                while !*pending && !self.stopping.load(Ordering::SeqCst) {
                    pending = self
                        .wake_signal
                        .wait(pending)
                        .unwrap_or_else(|e| e.into_inner());
                }
                if !*pending && self.stopping.load(Ordering::SeqCst) {
                    return;
                }
                *pending = false;
            }
            let target = self.applied.load(Ordering::SeqCst);
            match db.flush() {
                Ok(_) => {
                    self.flushes.fetch_add(1, Ordering::Relaxed);
                    self.durable.send_replace(target);
                }
                Err(error) => {
                    // Nobody is acknowledged until a flush succeeds; retry shortly.
                    tracing::error!(%error, "store flush failed; retrying");
                    *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = true;
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}
