//! The application: every operation a member, an admin or a reviewer can ask for, on top
//! of the store, the engine and the notification hub.
//!
//! The HTTP server and the CLI are thin adapters over [`App`]; a Rust caller can embed it
//! directly. One file per concern: accounts, sending, folders, recall, blocks, search.

mod accounts;
mod appeals;
mod assess;
mod blocks;
mod folders;
mod labels;
mod recall;
mod recipient_signals;
mod report_evidence;
mod review;
mod review_board;
mod sanctions;
mod search;
mod send;
mod statements;
mod thread_display;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, MessagingConfig, ReportsConfig, ReviewConfig};
use crate::engine::Engine;
use crate::limits::Limiter;
use crate::notify::EventHub;
use crate::store::Store;

pub use accounts::{CreatedMember, CreatedReviewer, CreatedService, NewMember};
pub use appeals::{AppealDecisionRequest, AppealRequest, CreatedAppeal};
pub use assess::AssessRequest;
pub use folders::{FolderPage, MessageView, ThreadPage, ThreadSummary};
pub use review::{DecisionRequest, ItemView, QueueEntry};
pub use review_board::{AuditFilter, Board, ItemContext, QueueFilter, QueueSort};
pub use search::SearchHit;
pub use send::{SendOutcome, SendRequest};
pub use statements::Statement;
pub use thread_display::{display, DisplayMessage, ThreadDisplay};

/// The mailbox moves a batch rescore shares with review and sending (one implementation).
pub(crate) use review::{enqueue, release_to, withdraw_held_item};

pub struct App {
    pub store: Store,
    pub engine: Arc<Engine>,
    pub events: EventHub,
    pub config: MessagingConfig,
    pub review: ReviewConfig,
    pub reports: ReportsConfig,
    pub limiter: Limiter,
    pub clock: Arc<dyn Clock>,
}

impl App {
    pub fn new(store: Store, engine: Engine, config: &Config, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            engine: Arc::new(engine),
            events: EventHub::default(),
            config: config.messaging.clone(),
            review: config.review.clone(),
            reports: config.reports.clone(),
            limiter: Limiter::new(config.limits.clone()),
            clock,
        }
    }
}
