//! Admin routes: members, connections, reviewers, restrictions, advertisers and their
//! sponsored campaigns.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{AdminCaller, AdvertiserPath, AssessCaller, JsonBody, MemberPath};
use super::AppState;
use crate::app::{AssessRequest, NewAdvertiser, NewMember, NewSponsoredCampaign};
use crate::domain::{MemberId, RestrictionLevel};

pub async fn create_member(
    State(state): State<AppState>,
    _: AdminCaller,
    JsonBody(new): JsonBody<NewMember>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.app.create_member(new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Connection {
    a: MemberId,
    b: MemberId,
}

pub async fn connect(
    State(state): State<AppState>,
    _: AdminCaller,
    JsonBody(pair): JsonBody<Connection>,
) -> Result<impl IntoResponse, ApiError> {
    state.app.connect(pair.a, pair.b).await?;
    // A body, so a curl shows what happened instead of nothing.
    Ok(Json(
        serde_json::json!({ "a": pair.a, "b": pair.b, "connected": true }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewReviewer {
    name: String,
}

pub async fn create_reviewer(
    State(state): State<AppState>,
    _: AdminCaller,
    JsonBody(new): JsonBody<NewReviewer>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.app.create_reviewer(&new.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RestrictionRequest {
    level: RestrictionLevel,
    reason: String,
}

pub async fn restrict(
    State(state): State<AppState>,
    _: AdminCaller,
    MemberPath(member): MemberPath,
    JsonBody(request): JsonBody<RestrictionRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_restriction(member, Some(request.level), &request.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn lift(
    State(state): State<AppState>,
    _: AdminCaller,
    MemberPath(member): MemberPath,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .set_restriction(member, None, "lifted by admin")
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn create_service(
    State(state): State<AppState>,
    _: AdminCaller,
    JsonBody(new): JsonBody<NewReviewer>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.app.create_service(&new.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `POST /v1/assess`: the verdict a send would get; nothing is stored.
pub async fn assess(
    State(state): State<AppState>,
    _: AssessCaller,
    JsonBody(request): JsonBody<AssessRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.assess(&request).await?))
}

/// `POST /v1/admin/rules/reload`: recompile the packs; 422 naming file and rule if broken.
pub async fn reload_rules(
    State(state): State<AppState>,
    _: AdminCaller,
) -> Result<impl IntoResponse, ApiError> {
    match super::reload_rules(&state.app, state.rules_dir.as_deref()) {
        Ok(count) => Ok(Json(serde_json::json!({ "rules": count }))),
        Err(error) => {
            let mut refusal = crate::error::Error::new(
                crate::error::ErrorKind::Unprocessable,
                "rules_invalid",
                error.to_string(),
            )
            .field(error.file.clone());
            if let Some(rule) = &error.rule {
                refusal.message = format!("{} (rule {rule})", refusal.message);
            }
            Err(ApiError(refusal))
        }
    }
}

pub async fn create_advertiser(
    State(state): State<AppState>,
    _: AdminCaller,
    JsonBody(new): JsonBody<NewAdvertiser>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.app.create_advertiser(new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A sponsored campaign created for an advertiser (the advertiser may also create its own).
pub async fn create_sponsored_campaign(
    State(state): State<AppState>,
    _: AdminCaller,
    AdvertiserPath(advertiser): AdvertiserPath,
    JsonBody(new): JsonBody<NewSponsoredCampaign>,
) -> Result<impl IntoResponse, ApiError> {
    let campaign = state.app.create_sponsored_campaign(advertiser, new).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// `POST /v1/admin/members/{member_id}/erasure`: erases the account (or resumes an
/// interrupted erasure); asking again answers `already_erased` with the same record.
pub async fn erase_member(
    State(state): State<AppState>,
    _: AdminCaller,
    MemberPath(member): MemberPath,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.erase_member(member).await?))
}

/// `POST /v1/admin/retention/sweep`: runs the `[retention]` sweep now (the server also
/// runs it every `sweep_interval_secs`); answers what it removed.
pub async fn retention_sweep(
    State(state): State<AppState>,
    _: AdminCaller,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.app.retention_sweep().await?))
}

/// `GET /v1/admin/encryption`: how the stored messages are sealed, by key (a pass over the
/// messages), and the rotation under way.
pub async fn encryption(
    State(state): State<AppState>,
    _: AdminCaller,
) -> Result<impl IntoResponse, ApiError> {
    let app = state.app.clone();
    let census = tokio::task::spawn_blocking(move || app.sealing_census())
        .await
        .map_err(|e| {
            crate::error::Error::new(crate::error::ErrorKind::Internal, "census", e.to_string())
        })??;
    Ok(Json(census))
}

/// `POST /v1/admin/encryption/rotate`: reseals every message not under the active key,
/// in the background (resumes a rotation a restart interrupted); 202.
pub async fn rotate_key(
    State(state): State<AppState>,
    _: AdminCaller,
) -> Result<impl IntoResponse, ApiError> {
    let started = state.app.start_key_rotation()?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "started": started, "already_running": !started })),
    ))
}
