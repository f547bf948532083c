//! What the service around the operations asks of the [`App`]: readiness and store figures
//! for the operations routes, event subscriptions, rule reloads, reports, the time, and a
//! flush for embedders. Handlers call these instead of reaching the store, the engine or
//! the clock, so the HTTP layer stays a translation of requests into `App` calls.

use std::path::Path;

use tokio::sync::broadcast;

use super::App;
use crate::domain::{MemberId, MessageId, Millis};
use crate::error::Result;
use crate::notify::Event;
use crate::report::{self, Format, ReportOptions};
use crate::rules::RulesError;
use crate::store::{ReviewReader, StoreResult};

/// What `/readyz` reports: the store answers (and on which backend), how many rules and
/// which model are loaded, and each shared backend configured (`None`: not configured).
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub store: bool,
    /// `sled` or `postgres`.
    pub store_backend: &'static str,
    /// When the store is unavailable, when to ask again.
    pub retry_after_secs: Option<u64>,
    pub rules: usize,
    pub model: Option<String>,
    /// Redis answers `PING` (`[limits] backend = "redis"`).
    pub redis: Option<bool>,
    /// NATS is connected (`[events] backend = "nats"`).
    pub nats: Option<bool>,
    /// The key message text is sealed with; `null`: no key is configured and message
    /// text is stored unencrypted.
    pub encryption_key: Option<String>,
}

/// Store gauges for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoreFigures {
    pub bytes: u64,
    pub flushes: u64,
}

impl App {
    /// The time every operation of this `App` uses.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Asks the store (one round trip on PostgreSQL, waited for in `block_in_place` by the
    /// store itself), Redis and NATS.
    pub async fn readiness(&self) -> Readiness {
        let (store, retry_after_secs) = match self.store.backend_name() {
            "sled" => (self.store.size_on_disk() > 0, None),
            _ => match self.store.ping() {
                Ok(()) => (true, None),
                Err(crate::store::StoreError::Unavailable {
                    retry_after_secs, ..
                }) => (false, Some(retry_after_secs)),
                Err(_) => (false, None),
            },
        };
        Readiness {
            store,
            store_backend: self.store.backend_name(),
            retry_after_secs,
            rules: self.engine.rules().len(),
            model: self.engine.classifier().map(|c| c.name.clone()),
            redis: self.redis_ready().await,
            nats: self.nats_ready(),
            encryption_key: self.active_key(),
        }
    }

    pub fn store_figures(&self) -> StoreFigures {
        StoreFigures {
            bytes: self.store.size_on_disk(),
            flushes: self.store.flush_count(),
        }
    }

    /// A live event stream for `member`, unless they already have `max_streams` open.
    pub(crate) fn subscribe(
        &self,
        member: MemberId,
        max_streams: usize,
    ) -> Option<broadcast::Receiver<Event>> {
        self.events.subscribe(member, max_streams)
    }

    /// How many rules the engine serves.
    pub fn rule_count(&self) -> usize {
        self.engine.rules().len()
    }

    /// Recompiles the packs in `dir` and swaps them in; on error the current set serves on.
    /// A reload that succeeded is announced to the other replicas, which reload theirs.
    pub fn reload_rules(&self, dir: &Path) -> std::result::Result<usize, RulesError> {
        let count = self.engine.reload_rules(dir)?;
        self.announce(crate::notify::nats::Control::RulesReloaded);
        Ok(count)
    }

    /// The trust-and-safety report of the store. Reads the whole store: call it off the
    /// async workers.
    pub fn safety_report(&self, options: &ReportOptions, format: Format) -> StoreResult<String> {
        report::render(&self.store, options, format)
    }

    /// Whether any member exists (the demo seed refuses a store that has some).
    pub fn has_members(&self) -> Result<bool> {
        Ok(self.store.member_count() > 0)
    }

    /// The open review item of a message, if any.
    pub fn open_review_item_for(&self, message: MessageId) -> Result<Option<u64>> {
        Ok(self.store.open_review_item_for(message)?)
    }

    /// Writes everything to disk now (sends are already durable when answered; this is
    /// for embedders and tests that copy the store directory).
    pub fn flush(&self) -> Result<()> {
        Ok(self.store.flush()?)
    }
}
