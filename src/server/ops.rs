//! Operations endpoints: liveness, readiness and Prometheus metrics. No auth; the service
//! binds to loopback by default.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::AppState;
use crate::app::Readiness;

/// The project's HTTP and CLI reference, in the repository.
pub const API_DOC: &str = "docs/API.md";

/// `GET /`: what this is and where to read on, for someone who opens the address.
pub async fn index() -> impl IntoResponse {
    Json(serde_json::json!({
        "service": "sendguard",
        "version": env!("CARGO_PKG_VERSION"),
        "openapi": "/openapi.json",
        "docs": API_DOC,
        "health": "/healthz",
    }))
}

/// What `serve` prints after the address: the API documents and the next step. `data` is
/// the sled store's directory; `None` on PostgreSQL, which the demo seed does not fill.
pub fn next_steps(addr: std::net::SocketAddr, data: Option<&std::path::Path>) -> String {
    let Some(data) = data else {
        return format!(
            "API: http://{addr}/openapi.json (OpenAPI 3.1), {API_DOC} in the repository
             store on PostgreSQL: create members with POST /v1/admin/members, or copy a              sled store in with `sendguard store import`"
        );
    };
    let env = data.join(crate::seed::ENV_FILE);
    let next = if env.is_file() {
        format!("demo tokens: source {}", env.display())
    } else {
        format!(
            "no demo members yet: stop the server, run `sendguard seed --data {}`, serve \
             again (the store takes one process at a time)",
            data.display()
        )
    };
    format!("API: http://{addr}/openapi.json (OpenAPI 3.1), {API_DOC} in the repository\n{next}")
}

pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the store answers, rule packs are loaded, the model (if configured) is, and
/// each configured shared backend (Redis, NATS) answers. A store that is unavailable adds
/// `Retry-After`.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let Readiness {
        store: store_ok,
        store_backend,
        retry_after_secs,
        rules,
        model,
        redis,
        nats,
        encryption_key,
    } = state.app.readiness().await;
    let ready = store_ok
        && rules > 0
        && (model.is_some() || !state.model_required)
        && redis != Some(false)
        && nats != Some(false);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::json!({
        "ready": ready,
        "store": store_ok,
        "store_backend": store_backend,
        "rules": rules,
        "model": model,
        // `null`: no key configured, message text stored unencrypted.
        "encryption_key": encryption_key,
    });
    // Each shared backend is reported only when configured.
    if let Some(redis) = redis {
        body["redis"] = serde_json::json!(redis);
    }
    if let Some(nats) = nats {
        body["nats"] = serde_json::json!(nats);
    }
    let mut response = (status, Json(body)).into_response();
    if let Some(secs) = retry_after_secs {
        if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.app.store_figures();
    metrics::gauge!("sendguard_store_bytes").set(store.bytes as f64);
    metrics::gauge!("sendguard_store_flushes").set(store.flushes as f64);
    if let Ok((depth, oldest)) = state.app.review_queue_stats() {
        metrics::gauge!("sendguard_review_queue_depth").set(depth as f64);
        metrics::gauge!("sendguard_review_queue_oldest_seconds").set(oldest);
    }
    let body = state
        .metrics
        .as_ref()
        .map(|handle| handle.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

pub async fn openapi() -> impl IntoResponse {
    Json(super::openapi::spec())
}
