//! Reviewer routes: the queue, audited reads, decisions, restrictions, appeals, the audit log.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{
    time_param, AppealPath, CampaignPath, ItemPath, JsonBody, MemberPath, QueryFields, QueryParams,
    ReviewerCaller, SponsoredCampaignPath,
};
use super::AppState;
use crate::app::{
    AppealDecisionRequest, CampaignActionRequest, DecisionRequest, SponsoredReviewRequest,
};
use crate::domain::Millis;
use crate::error::{Error, ErrorKind};

/// `?limit=` of the queue.
#[derive(Deserialize)]
pub struct QueueQuery {
    limit: Option<usize>,
}

impl QueryFields for QueueQuery {
    fn expected(_: &str) -> Option<&'static str> {
        Some("a number from 1 to 100")
    }
}

/// `?justification=` of an audited read.
#[derive(Deserialize)]
pub struct ItemQuery {
    justification: Option<String>,
}

impl QueryFields for ItemQuery {
    fn expected(_: &str) -> Option<&'static str> {
        None
    }
}

/// `?limit=` of the appeals queue.
#[derive(Deserialize)]
pub struct AppealsQuery {
    limit: Option<usize>,
}

impl QueryFields for AppealsQuery {
    fn expected(_: &str) -> Option<&'static str> {
        Some("a number")
    }
}

/// `?limit=` of the campaign list.
#[derive(Deserialize)]
pub struct CampaignsQuery {
    limit: Option<usize>,
}

impl QueryFields for CampaignsQuery {
    fn expected(_: &str) -> Option<&'static str> {
        Some("a number from 1 to 500")
    }
}

/// `?from=&to=&limit=` of the audit log; times are `YYYY-MM-DD` or epoch milliseconds.
#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default, deserialize_with = "time_param")]
    from: Option<Millis>,
    #[serde(default, deserialize_with = "time_param")]
    to: Option<Millis>,
    limit: Option<usize>,
}

impl QueryFields for AuditQuery {
    fn expected(field: &str) -> Option<&'static str> {
        (field == "limit").then_some("a number")
    }
}

/// `?from=&to=&format=` of the report.
#[derive(Deserialize)]
pub struct ReportQuery {
    #[serde(default, deserialize_with = "time_param")]
    from: Option<Millis>,
    #[serde(default, deserialize_with = "time_param")]
    to: Option<Millis>,
    format: Option<String>,
}

impl QueryFields for ReportQuery {
    fn expected(_: &str) -> Option<&'static str> {
        None
    }
}
use crate::report::{Format, ReportOptions};

pub async fn queue(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    QueryParams(query): QueryParams<QueueQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(20);
    let items = state.app.review_queue(me, limit)?;
    Ok(Json(serde_json::json!({ "items": items })))
}

pub async fn item(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    ItemPath(item): ItemPath,
    QueryParams(query): QueryParams<ItemQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state
        .app
        .review_item(me, item, query.justification.as_deref())
        .await?;
    Ok(Json(view))
}

pub async fn decide(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    ItemPath(item): ItemPath,
    JsonBody(request): JsonBody<DecisionRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.decide_item(me, item, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LiftRequest {
    note: String,
}

pub async fn lift_restriction(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    MemberPath(member): MemberPath,
    JsonBody(request): JsonBody<LiftRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .lift_restriction(me, member, &request.note)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn appeals(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<AppealsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(50).min(500);
    Ok(Json(
        serde_json::json!({ "appeals": state.app.open_appeals(limit)? }),
    ))
}

pub async fn decide_appeal(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    AppealPath(appeal): AppealPath,
    JsonBody(request): JsonBody<AppealDecisionRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.decide_appeal(me, appeal, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A campaign list's `limit`: 1-500, 50 when absent.
fn list_limit(query: &CampaignsQuery) -> Result<usize, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError(
            Error::invalid_field("limit", "limit must be 1-500").limit(500),
        ));
    }
    Ok(limit)
}

/// Recognized campaigns (and those reviewers acted on), newest first.
pub async fn campaigns(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<CampaignsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = list_limit(&query)?;
    Ok(Json(
        serde_json::json!({ "campaigns": state.app.campaigns(limit)? }),
    ))
}

pub async fn campaign(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    CampaignPath(campaign): CampaignPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.campaign_detail(campaign)?))
}

/// Hold the rest, restrict every account, or release a campaign as a whole.
pub async fn act_on_campaign(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    CampaignPath(campaign): CampaignPath,
    JsonBody(request): JsonBody<CampaignActionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        state.app.act_on_campaign(me, campaign, request).await?,
    ))
}

/// Held sponsored campaigns, oldest first.
pub async fn held_sponsored(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<CampaignsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = list_limit(&query)?;
    Ok(Json(
        serde_json::json!({ "campaigns": state.app.held_sponsored_campaigns(limit)? }),
    ))
}

/// Approve or refuse a held sponsored campaign (audited; the note goes to the advertiser).
pub async fn review_sponsored(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    SponsoredCampaignPath(campaign): SponsoredCampaignPath,
    JsonBody(request): JsonBody<SponsoredReviewRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        state
            .app
            .review_sponsored_campaign(me, campaign, request)
            .await?,
    ))
}

pub async fn audit(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let from = query.from.unwrap_or(0);
    let to = query.to.unwrap_or(i64::MAX);
    let limit = query.limit.unwrap_or(1000).min(10_000);
    Ok(Json(
        serde_json::json!({ "entries": state.app.audit_log(from, to, limit)? }),
    ))
}

/// The trust-and-safety report of `[from, to)` as `format` (html, json or csv; default json).
pub async fn report(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<ReportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (from, to) = (query.from, query.to);
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return Err(ApiError(Error::invalid_field(
                "to",
                "to must be after from (the end is exclusive)",
            )));
        }
    }
    let name = query.format.as_deref().unwrap_or("json");
    let format = Format::parse(name).ok_or_else(|| {
        ApiError(Error::invalid_field(
            "format",
            "format must be html, json or csv",
        ))
    })?;
    let options = ReportOptions::new(from, to, state.app.now());
    let app = state.app.clone();
    // A report reads the whole store: keep it off the async workers.
    let body = tokio::task::spawn_blocking(move || app.safety_report(&options, format))
        .await
        .map_err(|e| ApiError(Error::new(ErrorKind::Internal, "internal", e.to_string())))??;
    Ok(([(header::CONTENT_TYPE, format.content_type())], body))
}
