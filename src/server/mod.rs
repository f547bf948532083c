//! The HTTP service: axum on tokio.
//!
//! Routes are declared here, in one table (every route is listed in `docs/API.md` and
//! `openapi.rs`), and handled in one file per audience: `admin` (members, connections,
//! reviewers, services, restrictions, advertisers, rule reload, `/v1/assess`), `rescore`
//! (admin batch jobs), `member` (messages, folders, threads, blocks, search, reports,
//! mark-safe, appeals, statements, credits, settings), `advertiser` (sponsored campaigns), `events` (the SSE stream), `review` (queue, items, decisions,
//! restrictions, appeals, audit, report) and `ops` (`/`, health, readiness, metrics,
//! `/openapi.json`). Around them: `extract` (callers, JSON bodies, path ids, typed queries),
//! `error` (the JSON error shape), `request_log`, `connections` (timeouts and limits per
//! connection) and `head_errors` (JSON bodies for hyper's own head errors).
//!
//! Handlers only translate HTTP to [`App`] calls and back (`App`'s fields are private); all
//! decisions live below them.

mod admin;
mod advertiser;
mod bodies;
mod connections;
mod console;
mod console_api;
pub mod error;
mod events;
mod export;
pub mod extract;
mod head_errors;
mod member;
pub mod openapi;
mod ops;
mod request_log;
mod rescore;
mod review;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::{delete, get, post};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

use crate::app::App;
use crate::auth;
use crate::batch::{Defaults, Jobs};
use crate::clock::SkewedClock;
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::store::Store;
use error::ApiError;

/// How long shutdown waits for in-flight requests before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub admin_token_hash: Option<[u8; 32]>,
    pub max_request_bytes: usize,
    /// How long a request body may take to arrive in full.
    pub body_read_timeout: Duration,
    /// Most open event streams per member.
    pub max_event_streams_per_member: usize,
    pub metrics: Option<PrometheusHandle>,
    /// Flips to true when shutdown starts, ending long-lived event streams.
    pub shutdown: watch::Receiver<bool>,
    /// Where rule packs are reloaded from (SIGHUP, `POST /v1/admin/rules/reload`); `None`
    /// for the built-in packs, which a reload leaves as they are.
    pub rules_dir: Option<std::path::PathBuf>,
    /// A model is configured, so `/readyz` waits for it.
    pub model_required: bool,
    /// Batch rescore jobs over this server's store.
    pub rescore: Arc<Jobs>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(ops::index))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/v1/admin/members", post(admin::create_member))
        .route(
            "/v1/admin/members/{member_id}/restriction",
            post(admin::restrict).delete(admin::lift),
        )
        .route(
            "/v1/admin/members/{member_id}/erasure",
            post(admin::erase_member),
        )
        .route("/v1/admin/retention/sweep", post(admin::retention_sweep))
        .route("/v1/admin/encryption", get(admin::encryption))
        .route("/v1/admin/encryption/rotate", post(admin::rotate_key))
        .route("/v1/admin/connections", post(admin::connect))
        .route("/v1/admin/reviewers", post(admin::create_reviewer))
        .route("/v1/admin/services", post(admin::create_service))
        .route("/v1/admin/rules/reload", post(admin::reload_rules))
        .route("/v1/admin/rescore", post(rescore::start))
        .route("/v1/admin/rescore/{job_id}", get(rescore::status))
        .route("/v1/assess", post(admin::assess))
        .route("/v1/messages", post(member::send))
        .route("/v1/messages/{message_id}", delete(member::recall))
        .route("/v1/folders/{folder}", get(member::list_folder))
        .route("/v1/threads/{thread_id}", get(member::read_thread))
        .route("/v1/threads/{thread_id}/archive", post(member::archive))
        .route("/v1/threads/{thread_id}/unarchive", post(member::unarchive))
        .route("/v1/blocks", post(member::block))
        .route("/v1/blocks/{member_id}", delete(member::unblock))
        .route("/v1/search", get(member::search))
        .route("/v1/events", get(events::stream))
        .route("/v1/messages/{message_id}/report", post(member::report))
        .route(
            "/v1/messages/{message_id}/mark-safe",
            post(member::mark_safe),
        )
        .route("/v1/appeals", post(member::appeal))
        .route("/v1/statements", get(member::statements))
        .route("/v1/credits", get(member::credits))
        .route(
            "/v1/settings/sponsored",
            get(member::sponsored_setting).post(member::set_sponsored_setting),
        )
        .route("/v1/admin/advertisers", post(admin::create_advertiser))
        .route(
            "/v1/admin/advertisers/{advertiser_id}/campaigns",
            post(admin::create_sponsored_campaign),
        )
        .route(
            "/v1/advertiser/campaigns",
            get(advertiser::campaigns).post(advertiser::create_campaign),
        )
        .route(
            "/v1/advertiser/campaigns/{campaign_id}",
            get(advertiser::campaign),
        )
        .route(
            "/v1/advertiser/campaigns/{campaign_id}/send",
            post(advertiser::send_campaign),
        )
        .route(
            "/v1/advertiser/campaigns/{campaign_id}/replies",
            get(advertiser::replies),
        )
        .route("/v1/me/export", get(export::export))
        .route("/v1/review/queue", get(review::queue))
        .route("/v1/review/items/{item_id}", get(review::item))
        .route("/v1/review/items/{item_id}/decision", post(review::decide))
        .route(
            "/v1/review/members/{member_id}/lift-restriction",
            post(review::lift_restriction),
        )
        .route("/v1/review/appeals", get(review::appeals))
        .route(
            "/v1/review/appeals/{appeal_id}/decision",
            post(review::decide_appeal),
        )
        .route("/v1/review/audit", get(review::audit))
        .route("/v1/review/campaigns", get(review::campaigns))
        .route("/v1/review/campaigns/{campaign_id}", get(review::campaign))
        .route(
            "/v1/review/campaigns/{campaign_id}/action",
            post(review::act_on_campaign),
        )
        .route("/v1/review/sponsored", get(review::held_sponsored))
        .route(
            "/v1/review/sponsored/{campaign_id}/decision",
            post(review::review_sponsored),
        )
        .route("/v1/review/report", get(review::report))
        .route("/v1/review/board", get(console_api::board))
        .route("/v1/review/claim", post(console_api::claim))
        .route(
            "/v1/review/items/{item_id}/context",
            get(console_api::context),
        )
        .route(
            "/v1/review/items/{item_id}/content",
            get(console_api::content),
        )
        .route("/v1/review/restrictions", get(console_api::restrictions))
        .route("/v1/review/audit/search", get(console_api::audit_search))
        .route(
            "/v1/threads/{thread_id}/display",
            get(console_api::thread_display),
        )
        .route("/console", get(console::page))
        .route("/console/{asset}", get(console::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(request_log::log_requests))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError(Error::not_found("not_found", "no such route"))
}

/// 405; axum adds the `Allow` header listing the route's methods.
async fn method_not_allowed() -> ApiError {
    ApiError(Error::new(
        ErrorKind::MethodNotAllowed,
        "method_not_allowed",
        "this route does not take that method",
    ))
}

/// Opens the store, loads the engine, binds, prints the address, and serves until
/// SIGINT/SIGTERM; then drains in-flight requests and flushes the store.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = Store::open_configured(&config.store)?;
    let engine = crate::shipped::engine(
        config.policy.clone(),
        config.engine.rules_dir.as_deref(),
        config.engine.model.as_deref(),
    )?;
    let app = Arc::new(
        App::new(
            store.clone(),
            engine,
            &config,
            Arc::new(SkewedClock {
                skew_ms: config.server.clock_skew_ms,
            }),
        )
        .with_backends(&config)
        .await?,
    );
    app.start_replica_listeners(config.engine.rules_dir.clone())
        .await;
    let metrics = install_metrics();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let state = AppState {
        app,
        admin_token_hash: config.server.admin_token.as_deref().map(auth::hash_token),
        max_request_bytes: config.server.max_request_bytes,
        body_read_timeout: Duration::from_secs(config.server.body_read_timeout_secs),
        max_event_streams_per_member: config.server.max_event_streams_per_member,
        metrics,
        shutdown: shutdown_rx.clone(),
        rules_dir: config.engine.rules_dir.clone(),
        model_required: true,
        rescore: Arc::new(Jobs::new(
            Defaults {
                policy: config.policy.clone(),
                rules_dir: config.engine.rules_dir.clone(),
                model: config.engine.model.clone(),
            },
            store.clone(),
        )),
    };
    spawn_reload_on_hangup(state.app.clone(), config.engine.rules_dir.clone());
    spawn_retention_sweeps(state.app.clone());
    match state.app.active_key() {
        Some(key) => tracing::info!(key, "message text is encrypted at rest"),
        None => tracing::warn!(
            "no encryption key configured ([store] keys_file or SENDGUARD_STORE_KEYS): \
             message text is stored unencrypted"
        ),
    }
    if state.admin_token_hash.is_none() {
        tracing::warn!("no admin token configured: the admin API is disabled");
    }
    let listener = tokio::net::TcpListener::bind(config.server.addr)
        .await
        .map_err(|e| anyhow::anyhow!("listening on {} (server.addr): {e}", config.server.addr))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this first line to learn the port when started on :0.
    println!("sendguard listening on http://{addr}");
    let data_dir = match config.store.backend {
        crate::config::StoreBackend::Sled => Some(config.store.data_dir.as_path()),
        crate::config::StoreBackend::Postgres => None,
    };
    println!("{}", ops::next_steps(addr, data_dir));
    match data_dir {
        Some(data) => tracing::info!(%addr, data = %data.display(), "serving"),
        None => tracing::info!(%addr, store = "postgres", "serving"),
    }

    let mut drained = shutdown_rx.clone();
    let server = connections::serve(
        listener,
        router(state),
        connections::Limits::of(&config.server),
        async move {
            shutdown_signal().await;
            tracing::info!("shutdown requested: draining in-flight requests");
            let _ = shutdown_tx.send(true);
        },
    );
    let serving = tokio::spawn(server);
    // Once shutdown starts, in-flight requests get a bounded grace period.
    let _ = drained.wait_for(|&stopping| stopping).await;
    match tokio::time::timeout(SHUTDOWN_GRACE, serving).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("requests still running after the grace period; stopping"),
    }
    store.flush()?;
    tracing::info!("store flushed; bye");
    Ok(())
}

fn install_metrics() -> Option<PrometheusHandle> {
    match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => {
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    upkeep.run_upkeep();
                }
            });
            Some(handle)
        }
        Err(error) => {
            tracing::warn!(%error, "metrics recorder not installed");
            None
        }
    }
}

/// Runs the `[retention]` sweep every `sweep_interval_secs` (none without a window), on
/// the app's clock, logging what each sweep removed.
fn spawn_retention_sweeps(app: Arc<App>) {
    let Some(every) = app.retention_interval_secs() else {
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(every));
        loop {
            tick.tick().await;
            match app.retention_sweep().await {
                Ok(report) => tracing::info!(
                    removed_message_texts = report.removed_message_texts,
                    review_texts = report.review_texts,
                    audit_entries = report.audit_entries,
                    limiter_states = report.limiter_states,
                    "retention sweep"
                ),
                Err(error) => tracing::error!(%error, "retention sweep failed; retried next time"),
            }
        }
    });
}

/// SIGHUP recompiles the rule packs and swaps them in; a broken pack is refused with a log
/// line naming the file and rule, and the running set keeps serving.
fn spawn_reload_on_hangup(app: Arc<App>, rules_dir: Option<std::path::PathBuf>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("SIGHUP handler not installed; use POST /v1/admin/rules/reload");
            return;
        };
        while hangups.recv().await.is_some() {
            // The outcome is logged and counted inside; nothing else to do here.
            let _ = reload_rules(&app, rules_dir.as_deref());
        }
    });
    #[cfg(not(unix))]
    let _ = (app, rules_dir);
}

/// Reloads the packs, logging the outcome; the error names the file and rule.
pub fn reload_rules(
    app: &App,
    rules_dir: Option<&std::path::Path>,
) -> Result<usize, crate::rules::RulesError> {
    let Some(rules_dir) = rules_dir else {
        tracing::info!("built-in rule packs: nothing to reload");
        return Ok(app.rule_count());
    };
    match app.reload_rules(rules_dir) {
        Ok(count) => {
            tracing::info!(rules = count, dir = %rules_dir.display(), "rule packs reloaded");
            metrics::counter!("sendguard_rule_reloads_total", "outcome" => "ok").increment(1);
            Ok(count)
        }
        Err(error) => {
            tracing::error!(%error, "rule reload refused; the previous rules keep serving");
            metrics::counter!("sendguard_rule_reloads_total", "outcome" => "refused").increment(1);
            Err(error)
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
