//! Member routes: send, recall, folders, threads, archive, blocks, search. A member only
//! ever reaches their own data; anything else answers 404.

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{path_id, query_param, JsonBody, MemberCaller};
use super::AppState;
use crate::app::{AppealRequest, SendRequest};
use crate::domain::{Folder, MemberId};
use crate::error::Error;

const DEFAULT_PAGE: usize = 20;

pub async fn send(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    JsonBody(request): JsonBody<SendRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = state.app.send(me, request).await?;
    let status = if outcome.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(outcome)))
}

pub async fn recall(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    message: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let message = path_id(message, "message_not_found")?;
    state.app.recall(me, message).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_folder(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    Path(folder): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let folder = Folder::parse(&folder)
        .ok_or_else(|| Error::not_found("unknown_folder", "folders are inbox, other, archived"))?;
    let limit = query_param(&query, "limit", DEFAULT_PAGE, "a number from 1 to 100")?;
    let page = state
        .app
        .list_folder(me, folder, query.get("cursor").map(String::as_str), limit)?;
    Ok(Json(page))
}

pub async fn read_thread(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    thread: Result<Path<u64>, PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let thread = path_id(thread, "thread_not_found")?;
    Ok(Json(state.app.read_thread(me, thread)?))
}

pub async fn archive(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    thread: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let thread = path_id(thread, "thread_not_found")?;
    state.app.set_archived(me, thread, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unarchive(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    thread: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let thread = path_id(thread, "thread_not_found")?;
    state.app.set_archived(me, thread, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BlockRequest {
    member_id: MemberId,
}

pub async fn block(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    JsonBody(request): JsonBody<BlockRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.set_block(me, request.member_id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unblock(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    member: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let member = path_id(member, "unknown_member")?;
    state.app.set_block(me, member, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn search(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let q = query
        .get("q")
        .ok_or_else(|| Error::invalid_field("q", "q is required"))?;
    let hits = state.app.search(me, q)?;
    Ok(Json(serde_json::json!({ "results": hits })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReportRequest {
    reason: String,
}

pub async fn report(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    message: Result<Path<u64>, PathRejection>,
    JsonBody(request): JsonBody<ReportRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let message = path_id(message, "message_not_found")?;
    state.app.report(me, message, &request.reason).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "status": "queued" })),
    ))
}

pub async fn mark_safe(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    message: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let message = path_id(message, "message_not_found")?;
    state.app.mark_safe(me, message).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn appeal(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    JsonBody(request): JsonBody<AppealRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.app.appeal(me, request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn statements(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        serde_json::json!({ "statements": state.app.statements(me)? }),
    ))
}
