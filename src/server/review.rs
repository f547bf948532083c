//! Reviewer routes: the queue, audited reads, decisions, restrictions, appeals, the audit log.

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{path_id, query_param, time_param, JsonBody, ReviewerCaller};
use super::AppState;
use crate::app::{AppealDecisionRequest, DecisionRequest};
use crate::error::{Error, ErrorKind};
use crate::report::{self, Format, ReportOptions};

pub async fn queue(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query_param(&query, "limit", 20usize, "a number from 1 to 100")?;
    let items = state.app.review_queue(me, limit)?;
    Ok(Json(serde_json::json!({ "items": items })))
}

pub async fn item(
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
    Ok(Json(view))
}

pub async fn decide(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    item: Result<Path<u64>, PathRejection>,
    JsonBody(request): JsonBody<DecisionRequest>,
) -> Result<StatusCode, ApiError> {
    let item = path_id(item, "item_not_found")?;
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
    member: Result<Path<u64>, PathRejection>,
    JsonBody(request): JsonBody<LiftRequest>,
) -> Result<StatusCode, ApiError> {
    let member = path_id(member, "unknown_member")?;
    state
        .app
        .lift_restriction(me, member, &request.note)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn appeals(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = query_param(&query, "limit", 50usize, "a number")?.min(500);
    Ok(Json(
        serde_json::json!({ "appeals": state.app.open_appeals(limit)? }),
    ))
}

pub async fn decide_appeal(
    State(state): State<AppState>,
    ReviewerCaller(me): ReviewerCaller,
    appeal: Result<Path<u64>, PathRejection>,
    JsonBody(request): JsonBody<AppealDecisionRequest>,
) -> Result<StatusCode, ApiError> {
    let appeal = path_id(appeal, "appeal_not_found")?;
    state.app.decide_appeal(me, appeal, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn audit(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let from = time_param(&query, "from")?.unwrap_or(0);
    let to = time_param(&query, "to")?.unwrap_or(i64::MAX);
    let limit = query_param(&query, "limit", 1000usize, "a number")?.min(10_000);
    Ok(Json(
        serde_json::json!({ "entries": state.app.audit_log(from, to, limit)? }),
    ))
}

/// The trust-and-safety report of `[from, to)` as `format` (html, json or csv; default json).
pub async fn report(
    State(state): State<AppState>,
    ReviewerCaller(_): ReviewerCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let (from, to) = (time_param(&query, "from")?, time_param(&query, "to")?);
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return Err(ApiError(Error::invalid_field(
                "to",
                "to must be after from (the end is exclusive)",
            )));
        }
    }
    let name = query.get("format").map_or("json", String::as_str);
    let format = Format::parse(name).ok_or_else(|| {
        ApiError(Error::invalid_field(
            "format",
            "format must be html, json or csv",
        ))
    })?;
    let options = ReportOptions::new(from, to, state.app.clock.now());
    let store = state.app.store.clone();
    // A report reads the whole store: keep it off the async workers.
    let body = tokio::task::spawn_blocking(move || report::render(&store, &options, format))
        .await
        .map_err(|e| ApiError(Error::new(ErrorKind::Internal, "internal", e.to_string())))??;
    Ok(([(header::CONTENT_TYPE, format.content_type())], body))
}
