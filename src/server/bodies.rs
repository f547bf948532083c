//! Schemas of the response bodies handlers spell with `serde_json::json!` (an envelope
//! around an app result, or a few fields): what `/openapi.json` documents for them. They
//! deny unknown fields, so the document says `additionalProperties: false`, and the
//! schemathesis run (`scripts/schemathesis`) holds every live answer to them: a field added
//! in a handler and not here fails CI.

use serde::Serialize;
use utoipa::ToSchema;

use crate::app::{QueueEntry, SearchHit, Statement};
use crate::domain::{Appeal, AuditEntry, MemberId};

/// `GET /`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Index {
    pub service: String,
    pub version: String,
    pub openapi: String,
    pub docs: String,
    pub health: String,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz`, 200 or 503.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Readiness {
    pub ready: bool,
    /// The store answers.
    pub store: bool,
    /// Where the store is kept: `sled` or `postgres`.
    pub store_backend: String,
    /// Rules loaded.
    pub rules: u64,
    /// The loaded model's name.
    pub model: Option<String>,
    /// Redis answers; present only with `[limits] backend = "redis"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<bool>,
    /// NATS is connected; present only with `[events] backend = "nats"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats: Option<bool>,
    /// The id of the key that seals message text at rest, or `null` when none is configured
    /// (text is then stored in plaintext).
    pub encryption_key: Option<String>,
}

/// `GET /v1/search`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
}

/// `POST /v1/messages/{message_id}/report`, 202.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ReportQueued {
    /// Always `queued`.
    pub status: String,
}

/// `GET /v1/statements`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Statements {
    pub statements: Vec<Statement>,
}

/// `GET /v1/review/queue`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ReviewQueue {
    pub items: Vec<QueueEntry>,
}

/// `GET /v1/review/appeals`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct OpenAppeals {
    pub appeals: Vec<Appeal>,
}

/// `GET /v1/review/campaigns`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CampaignList {
    pub campaigns: Vec<crate::app::CampaignView>,
}

/// `GET /v1/advertiser/campaigns`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SponsoredCampaignList {
    pub campaigns: Vec<crate::domain::SponsoredCampaign>,
}

/// `GET /v1/advertiser/campaigns/{campaign_id}/replies`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SponsoredReplies {
    pub replies: Vec<crate::app::SponsoredReply>,
}

/// `GET /v1/review/audit`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
}

/// `POST /v1/admin/connections`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Connected {
    pub a: MemberId,
    pub b: MemberId,
    pub connected: bool,
}

/// `POST /v1/admin/rules/reload`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RulesReloaded {
    /// Rules now loaded.
    pub rules: u64,
}

/// `POST /v1/admin/rescore`, 202.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RescoreStarted {
    pub job_id: u64,
}

/// `POST /v1/admin/encryption/rotate`.
#[derive(Serialize, ToSchema)]
pub struct RotationStarted {
    /// A rotation started now.
    pub started: bool,
    /// One was already running in this process.
    pub already_running: bool,
}
