//! The application: every operation a member, an admin or a reviewer can ask for, on top
//! of the store, the engine and the notification hub.
//!
//! The HTTP server and the CLI are thin adapters over [`App`]; a Rust caller can embed it
//! directly. `App`'s fields are private: callers ask for operations. One file per concern:
//!
//! - `pipeline`: the judging pipeline, top-down, shared by `send` and `assess`;
//! - `send` (a send and its writes), `assess` (the same verdict, nothing stored);
//! - `mailbox`: deliver, hold, enqueue, release, remove, view refresh (the placement rule);
//! - `credits`: InMail credits (grant, rollover, refund on reply, free conversations);
//! - `accounts`, `folders`, `recall`, `blocks`, `search`;
//! - `campaigns` (one template from many accounts, matched and counted on the send path),
//!   `campaign_review` (campaigns listed and acted on by reviewers), `reactions`
//!   (recipients' reactions to outreach);
//! - `review` (the queue and decisions), `appeals`, `recipient_signals` (report,
//!   mark-safe), `report_evidence` (when reports count), `sanctions`, `statements`, `labels`;
//! - `operations`: readiness, store gauges, events, rule reloads and reports for the server;
//! - `review_board` (the console's queue board, claim next, item context, audit search) and
//!   `thread_display` (a thread rendered for display);
//! - `sponsored`: advertisers, sponsored campaigns (judged by the sponsored channel's
//!   policy, sent under the frequency cap and opt-outs), the member's opt-out, replies;
//!   `sponsored_threads`: what a sponsored thread allows a member (the pipeline asks);
//! - `text_fields`: the one bounded-text validator;
//! - `shared_limits` (the limiter with its state on Redis) and `replicas` (connecting the
//!   shared backends; events and reloads between replicas over NATS).

mod accounts;
mod appeals;
mod assess;
mod blocks;
mod campaign_review;
mod campaigns;
mod credits;
mod decisions;
mod erasure;
mod export;
mod folders;
mod labels;
pub(crate) mod mailbox;
mod operations;
mod pipeline;
mod reactions;
mod recall;
mod recipient_signals;
mod replicas;
mod report_evidence;
mod retention;
mod review;
mod review_board;
mod sanctions;
mod sealing;
mod search;
mod send;
mod shared_limits;
mod sponsored;
mod sponsored_review;
mod sponsored_threads;
mod statements;
mod text_fields;
mod thread_display;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{
    CampaignsConfig, Config, MessagingConfig, ReportsConfig, RetentionConfig, ReviewConfig,
    SponsoredConfig,
};
use crate::engine::Engine;
use crate::error::Result;
use crate::limits::redis_state::RedisSenderStates;
use crate::limits::Limiter;
use crate::notify::nats::NatsBus;
use crate::notify::EventHub;
use crate::store::{Store, WriteTxn};

pub use accounts::{CreatedMember, CreatedReviewer, CreatedService, NewMember};
pub use appeals::{AppealDecisionRequest, AppealRequest, CreatedAppeal};
pub use assess::AssessRequest;
pub use campaign_review::{
    CampaignAction, CampaignActionOutcome, CampaignActionRequest, CampaignDetail, CampaignMessage,
    CampaignView,
};
pub use credits::CreditsView;
pub use erasure::ErasureOutcome;
pub use export::EXPORT_FORMAT;
pub use folders::{FolderPage, MessageView, ThreadPage, ThreadSummary};
pub use operations::{Readiness, StoreFigures};
pub use retention::SweepReport;
pub use review::{DecisionRequest, ItemView, QueueEntry};
pub use review_board::{AuditFilter, Board, ItemContext, QueueFilter, QueueSort};
pub use sealing::RESEAL_BATCH;
pub use search::SearchHit;
pub use send::{SendOutcome, SendRequest};
pub use sponsored::{
    CreatedAdvertiser, NewAdvertiser, NewSponsoredCampaign, SponsoredReply, SponsoredRun,
    SponsoredSetting,
};
pub use sponsored_review::{SponsoredReviewAction, SponsoredReviewRequest};
pub use statements::Statement;
pub use thread_display::{display, DisplayMessage, ThreadDisplay};

/// The operations, over the store, the engine and the notification hub. The fields are
/// private: callers (the HTTP handlers, the CLI, batch jobs) ask for an operation, so every
/// rule about the store, the clock and the engine is kept here.
pub struct App {
    store: Store,
    engine: Arc<Engine>,
    events: EventHub,
    config: MessagingConfig,
    review: ReviewConfig,
    reports: ReportsConfig,
    limiter: Limiter,
    campaigns: CampaignsConfig,
    sponsored: SponsoredConfig,
    retention: RetentionConfig,
    clock: Arc<dyn Clock>,
    /// The limiter state on Redis (`[limits] backend = "redis"`); `None`: in the store.
    shared_limits: Option<Arc<RedisSenderStates>>,
    /// Events between replicas (`[events] backend = "nats"`); `None`: this process only.
    bus: Option<NatsBus>,
}

impl App {
    /// Builds one atomic batch under the write lock and waits until it is durable, so an
    /// operation is acknowledged only once it would survive a crash. Nothing is written
    /// when `build` fails.
    async fn commit<T>(&self, build: impl FnOnce(&mut WriteTxn<'_>) -> Result<T>) -> Result<T> {
        let (value, ticket) = self.store.write(build)?;
        self.store.durable(ticket).await;
        Ok(value)
    }

    /// An `App` on the embedded backends; [`App::with_backends`] connects the shared ones
    /// the config names.
    pub fn new(store: Store, engine: Engine, config: &Config, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            engine: Arc::new(engine),
            events: EventHub::default(),
            config: config.messaging.clone(),
            review: config.review.clone(),
            reports: config.reports.clone(),
            limiter: Limiter::new(config.limits.clone()),
            campaigns: config.campaigns.clone(),
            sponsored: config.sponsored.clone(),
            retention: config.retention.clone(),
            clock,
            shared_limits: None,
            bus: None,
        }
    }
}
