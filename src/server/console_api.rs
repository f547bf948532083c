//! The JSON routes the review console needs beyond the review API: the queue as a board
//! (sorted, filtered, counted, claiming nothing), claim next, an item's evidence without
//! its text, the audited read with each message rendered for display, restrictions, the
//! audit log filtered newest first, and a member's thread rendered with its labels.

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{path_id, query_param, time_param, JsonBody, MemberCaller, ReviewerCaller};
use super::AppState;
use crate::app::{display, AuditFilter, QueueFilter, QueueSort};
use crate::domain::MessageKind;
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
        Some(_) => Err(ApiError(Error::invalid_field(
            "kind",
            "kind must be message or inmail",
        ))),
    }
}

/// An empty filter value means "any", as an unset select sends it.
fn non_empty(value: Option<&String>) -> Option<String> {
    value.filter(|v| !v.is_empty()).cloned()
}

/// `?sort=&reason=&rule=&lang=&kind=` as a filter.
fn filter_of(query: &HashMap<String, String>) -> Result<QueueFilter, ApiError> {
    Ok(QueueFilter {
        sort: parse_sort(
            query
                .get("sort")
                .map(String::as_str)
                .filter(|s| !s.is_empty()),
        )?,
        reason: non_empty(query.get("reason")),
        rule: non_empty(query.get("rule")),
        language: non_empty(query.get("lang")),
        kind: parse_kind(query.get("kind").map(String::as_str))?,
    })
}

pub async fn board(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = filter_of(&query)?;
    let limit = query_param(&query, "limit", 50usize, "a number from 1 to 200")?;
    Ok(Json(state.app.review_board(&filter, limit)?))
}

#[derive(Deserialize, Default)]
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
    item: Result<Path<u64>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let item = path_id(item, "item_not_found")?;
    Ok(Json(state.app.item_context(item)?))
}

/// The audited read ([`crate::App::review_item`]), each message with its visible text and
/// links' real targets, so the page shows what a click would open and parses nothing.
pub async fn content(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    item: Result<Path<u64>, PathRejection>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let item = path_id(item, "item_not_found")?;
    let view = state
        .app
        .review_item(me, item, query.get("justification").map(String::as_str))
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
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query_param(&query, "limit", 200usize, "a number from 1 to 1000")?;
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
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query_param(&query, "limit", 200usize, "a number from 1 to 1000")?;
    if limit == 0 || limit > MAX_AUDIT {
        return Err(ApiError(
            Error::invalid_field("limit", "limit must be 1-1000").limit(MAX_AUDIT as u64),
        ));
    }
    let reviewer = match query.get("reviewer").filter(|r| !r.is_empty()) {
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
        action: non_empty(query.get("action")),
        from: time_param(&query, "from")?.unwrap_or(0),
        to: time_param(&query, "to")?.unwrap_or(i64::MAX),
        limit,
    };
    Ok(Json(
        serde_json::json!({ "entries": state.app.audit_search(&filter)? }),
    ))
}

pub async fn thread_display(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    thread: Result<Path<u64>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let thread = path_id(thread, "thread_not_found")?;
    Ok(Json(state.app.thread_display(me, thread)?))
}
