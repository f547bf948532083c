//! Admin rescore routes: start a job over the live store, then poll it.
//!
//! The CLI cannot open a store the server holds (sled: one process per store), so this is
//! how a live store is rescored; the job itself lives in [`crate::batch::job`].

use std::path::PathBuf;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{AdminCaller, JobPath, JsonBody};
use super::AppState;
use crate::batch::JobRequest;
use crate::error::{Error, ErrorKind};

fn dry_run_by_default() -> bool {
    true
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescoreRequest {
    /// Only report (the default); `false` applies the changes.
    #[serde(default = "dry_run_by_default")]
    dry_run: bool,
    /// Model file on the server; the server's own model by default.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    model: Option<PathBuf>,
    /// Rule pack directory on the server; the server's own by default.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    rules: Option<PathBuf>,
    /// `YYYY-MM-DD` or epoch milliseconds: only messages sent from then on.
    #[serde(default)]
    since: Option<String>,
}

/// `POST /v1/admin/rescore`: 202 `{job_id}`; bad inputs are 400 before any work starts.
pub async fn start(
    State(state): State<AppState>,
    _: AdminCaller,
    JsonBody(request): JsonBody<RescoreRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let since = request
        .since
        .as_deref()
        .map(|text| crate::dates::parse_time(text).map_err(|e| Error::invalid_field("since", e)))
        .transpose()?;
    let job = JobRequest {
        dry_run: request.dry_run,
        model: request.model,
        rules: request.rules,
        since,
    };
    let jobs = state.rescore.clone();
    let now = state.app.now();
    // Loading a model and rule packs, and counting the messages, is blocking work.
    let job_id = tokio::task::spawn_blocking(move || jobs.start(job, now))
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, "internal", e.to_string()))??;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "job_id": job_id })),
    ))
}

/// `GET /v1/admin/rescore/{job_id}`: progress, and the report once done; a distributed
/// job's from its record in the store.
pub async fn status(
    State(state): State<AppState>,
    _: AdminCaller,
    JobPath(id): JobPath,
) -> Result<impl IntoResponse, ApiError> {
    let jobs = state.rescore.clone();
    // A distributed job's record is read from the store: blocking work.
    let view = tokio::task::spawn_blocking(move || jobs.view(id))
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, "internal", e.to_string()))??
        .ok_or_else(|| Error::not_found("job_not_found", format!("no rescore job {id}")))?;
    Ok(Json(view))
}
