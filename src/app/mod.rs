//! The application: every operation a member, an admin or a reviewer can ask for, on top
//! of the store, the engine and the notification hub.
//!
//! The HTTP server and the CLI are thin adapters over [`App`]; a Rust caller can embed it
//! directly. One file per concern: accounts, sending, folders, recall, blocks, search.

mod accounts;
mod blocks;
mod folders;
mod recall;
mod search;
mod send;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::MessagingConfig;
use crate::engine::Engine;
use crate::notify::EventHub;
use crate::store::Store;

pub use accounts::{CreatedMember, CreatedReviewer, NewMember};
pub use folders::{FolderPage, MessageView, ThreadPage, ThreadSummary};
pub use search::SearchHit;
pub use send::{SendOutcome, SendRequest};

pub struct App {
    pub store: Store,
    pub engine: Arc<Engine>,
    pub events: EventHub,
    pub config: MessagingConfig,
    pub clock: Arc<dyn Clock>,
}

impl App {
    pub fn new(
        store: Store,
        engine: Engine,
        config: MessagingConfig,
        clock: Arc<dyn Clock>,
    ) -> App {
        App {
            store,
            engine: Arc::new(engine),
            events: EventHub::default(),
            config,
            clock,
        }
    }
}
