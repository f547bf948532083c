//! The JSON routes the review console needs beyond the review API: the queue as a board
//! (sorted, filtered, counted, claiming nothing), claim next, an item's evidence without
//! its text, the audited read with each message rendered for display, restrictions, the
//! audit log filtered newest first, and a member's thread rendered with its labels.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{
    time_param, ItemPath, JsonBody, MemberCaller, QueryFields, QueryParams, ReviewerCaller,
    ThreadPath,
};
use super::AppState;
use crate::app::{display, AuditFilter, QueueFilter, QueueSort};
use crate::domain::{MessageKind, Millis};
use crate::error::Error;

/// Most restricted members one page lists.
const MAX_RESTRICTIONS: usize = 1000;
/// Most audit entries one search answers.
const MAX_AUDIT: usize = 1000;

fn parse_sort(name: Option<&str>) -> Result<QueueSort, ApiError> {
    match name {
        None => Ok(QueueSort::default()),
        Some(name) => QueueSort::parse(name).ok_or_else(|| {
            ApiError(Error::invalid_field(
                "sort",
                "sort must be oldest, score or reports",
            ))
        }),
    }
}

fn parse_kind(name: Option<&str>) -> Result<Option<MessageKind>, ApiError> {
    match name {
        None | Some("") => Ok(None),
        Some("message") => Ok(Some(MessageKind::Message)),
        Some("inmail") => Ok(Some(MessageKind::Inmail)),
        Some("sponsored") => Ok(Some(MessageKind::Sponsored)),
        Some(_) => Err(ApiError(Error::invalid_field(
            "kind",
            "kind must be message, inmail or sponsored",
        ))),
    }
}

/// An empty filter value means "any", as an unset select sends it.
fn non_empty(value: Option<&String>) -> Option<String> {
    value.filter(|v| !v.is_empty()).cloned()
}

/// `?sort=&reason=&rule=&lang=&kind=&limit=` of the board.
#[derive(Deserialize)]
pub struct BoardQuery {
    sort: Option<String>,
    reason: Option<String>,
    rule: Option<String>,
    lang: Option<String>,
    kind: Option<String>,
    limit: Option<usize>,
}

impl QueryFields for BoardQuery {
    fn expected(field: &str) -> Option<&'static str> {
        (field == "limit").then_some("a number from 1 to 200")
    }
}

pub async fn board(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<BoardQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = QueueFilter {
        sort: parse_sort(query.sort.as_deref().filter(|s| !s.is_empty()))?,
        reason: non_empty(query.reason.as_ref()),
        rule: non_empty(query.rule.as_ref()),
        language: non_empty(query.lang.as_ref()),
        kind: parse_kind(query.kind.as_deref())?,
    };
    Ok(Json(
        state.app.review_board(&filter, query.limit.unwrap_or(50))?,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    /// Items the reviewer passed over in this session, so "next" moves on.
    #[serde(default)]
    skip: Vec<u64>,
}

pub async fn claim(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    JsonBody(request): JsonBody<ClaimRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = QueueFilter {
        sort: parse_sort(request.sort.as_deref().filter(|s| !s.is_empty()))?,
        reason: non_empty(request.reason.as_ref()),
        rule: non_empty(request.rule.as_ref()),
        language: non_empty(request.lang.as_ref()),
        kind: parse_kind(request.kind.as_deref())?,
    };
    let item = state.app.claim_next(me, &filter, &request.skip)?;
    Ok(Json(serde_json::json!({ "item": item })))
}

pub async fn context(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    ItemPath(item): ItemPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.item_context(item)?))
}

/// `?justification=` of the audited read.
#[derive(Deserialize)]
pub struct ContentQuery {
    justification: Option<String>,
}

impl QueryFields for ContentQuery {
    fn expected(_: &str) -> Option<&'static str> {
        None
    }
}

/// `?limit=` of the restrictions list.
#[derive(Deserialize)]
pub struct LimitQuery {
    limit: Option<usize>,
}

impl QueryFields for LimitQuery {
    fn expected(_: &str) -> Option<&'static str> {
        Some("a number from 1 to 1000")
    }
}

/// `?reviewer=&action=&from=&to=&limit=` of the audit search; times are `YYYY-MM-DD` or
/// epoch milliseconds.
#[derive(Deserialize)]
pub struct AuditSearchQuery {
    reviewer: Option<String>,
    action: Option<String>,
    #[serde(default, deserialize_with = "time_param")]
    from: Option<Millis>,
    #[serde(default, deserialize_with = "time_param")]
    to: Option<Millis>,
    limit: Option<usize>,
}

impl QueryFields for AuditSearchQuery {
    fn expected(field: &str) -> Option<&'static str> {
        (field == "limit").then_some("a number from 1 to 1000")
    }
}

/// The audited read ([`crate::App::review_item`]), each message with its visible text and
/// links' real targets, so the page shows what a click would open and parses nothing.
pub async fn content(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    ItemPath(item): ItemPath,
    QueryParams(query): QueryParams<ContentQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state
        .app
        .review_item(me, item, query.justification.as_deref())
        .await?;
    Ok(Json(serde_json::json!({
        "item": view.item,
        "verdict": view.verdict,
        "message": display(view.message, false),
        "thread": view.thread.into_iter().map(|m| display(m, false)).collect::<Vec<_>>(),
    })))
}

pub async fn restrictions(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<LimitQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(200);
    if limit == 0 || limit > MAX_RESTRICTIONS {
        return Err(ApiError(
            Error::invalid_field("limit", "limit must be 1-1000").limit(MAX_RESTRICTIONS as u64),
        ));
    }
    Ok(Json(
        serde_json::json!({ "members": state.app.restricted_members(limit)? }),
    ))
}

pub async fn audit_search(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    QueryParams(query): QueryParams<AuditSearchQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(200);
    if limit == 0 || limit > MAX_AUDIT {
        return Err(ApiError(
            Error::invalid_field("limit", "limit must be 1-1000").limit(MAX_AUDIT as u64),
        ));
    }
    let reviewer = match query.reviewer.as_ref().filter(|r| !r.is_empty()) {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            ApiError(Error::invalid_field(
                "reviewer",
                "reviewer must be a reviewer id",
            ))
        })?),
    };
    let filter = AuditFilter {
        reviewer,
        action: non_empty(query.action.as_ref()),
        from: query.from.unwrap_or(0),
        to: query.to.unwrap_or(i64::MAX),
        limit,
    };
    Ok(Json(
        serde_json::json!({ "entries": state.app.audit_search(&filter)? }),
    ))
}

pub async fn thread_display(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    ThreadPath(thread): ThreadPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.thread_display(me, thread)?))
}
