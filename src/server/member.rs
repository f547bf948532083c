//! Member routes: send, recall, folders, threads, archive, blocks, search. A member only
//! ever reaches their own data; anything else answers 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{
    JsonBody, MemberCaller, MemberPath, MessagePath, QueryFields, QueryParams, ThreadPath,
};
use super::AppState;
use crate::app::{AppealRequest, SendRequest, SponsoredSetting};
use crate::domain::{Folder, MemberId};
use crate::error::Error;

const DEFAULT_PAGE: usize = 20;

/// `?limit=&cursor=` of a folder listing.
#[derive(Deserialize)]
pub struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

impl QueryFields for PageQuery {
    fn expected(field: &str) -> Option<&'static str> {
        (field == "limit").then_some("a number from 1 to 100")
    }
}

/// `?q=` of a search; required.
#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
}

impl QueryFields for SearchQuery {
    fn expected(_: &str) -> Option<&'static str> {
        None
    }
}

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
    MessagePath(message): MessagePath,
) -> Result<StatusCode, ApiError> {
    state.app.recall(me, message).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_folder(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    Path(folder): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let folder = Folder::parse(&folder)
        .ok_or_else(|| Error::not_found("unknown_folder", "folders are inbox, other, archived"))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let page = state
        .app
        .list_folder(me, folder, query.cursor.as_deref(), limit)?;
    Ok(Json(page))
}

pub async fn read_thread(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    ThreadPath(thread): ThreadPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.read_thread(me, thread)?))
}

pub async fn archive(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    ThreadPath(thread): ThreadPath,
) -> Result<StatusCode, ApiError> {
    state.app.set_archived(me, thread, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unarchive(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    ThreadPath(thread): ThreadPath,
) -> Result<StatusCode, ApiError> {
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
    MemberPath(member): MemberPath,
) -> Result<StatusCode, ApiError> {
    state.app.set_block(me, member, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn search(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let hits = state.app.search(me, &query.q)?;
    Ok(Json(serde_json::json!({ "results": hits })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReportRequest {
    reason: String,
}

pub async fn report(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    MessagePath(message): MessagePath,
    JsonBody(request): JsonBody<ReportRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state.app.report(me, message, &request.reason).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "status": "queued" })),
    ))
}

pub async fn mark_safe(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    MessagePath(message): MessagePath,
) -> Result<StatusCode, ApiError> {
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

/// The caller's sponsored-message setting.
pub async fn sponsored_setting(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.sponsored_setting(me)?))
}

/// Opts the caller out of sponsored messages (or back in).
pub async fn set_sponsored_setting(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
    JsonBody(setting): JsonBody<SponsoredSetting>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        state.app.set_sponsored_opt_out(me, setting.opt_out).await?,
    ))
}

/// The caller's InMail credits: balance and the charges a reply would refund.
pub async fn credits(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.inmail_credits(me)?))
}

pub async fn statements(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        serde_json::json!({ "statements": state.app.statements(me)? }),
    ))
}
