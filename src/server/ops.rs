//! Operations endpoints: liveness, readiness and Prometheus metrics. No auth; the service
//! binds to loopback by default.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use super::AppState;

pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready once the store, model and rules are loaded, which `run` does before binding.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store_ok = state.app.store.size_on_disk() > 0;
    let status = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "ready": store_ok, "store": store_ok })),
    )
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("sendguard_store_bytes").set(state.app.store.size_on_disk() as f64);
    metrics::gauge!("sendguard_store_flushes").set(state.app.store.flush_count() as f64);
    let body = state
        .metrics
        .as_ref()
        .map(|handle| handle.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
