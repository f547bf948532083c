//! Accepting and serving connections, with the limits `axum::serve` lacks.
//!
//! A hostile client can hold a socket open by sending nothing, or one byte now and then;
//! each one costs a descriptor and a task until the process runs out. So every connection
//! here is bounded: its headers must arrive within `header_read_timeout_secs` (hyper's own
//! timer, which also runs while a kept-alive connection waits for its next request), its
//! body within `body_read_timeout_secs` (the JSON extractor, which answers 408), and it is
//! closed once it has had no request in flight for `idle_timeout_secs`. At most
//! `max_connections` are served at once: one more is told 503 and closed at once, without
//! reading it, so descriptors stay bounded whatever clients do. Heads over
//! `max_header_bytes` or `max_headers` get 431, with a JSON body (`head_errors`).
//!
//! Graceful shutdown: the accept loop stops, each connection finishes its in-flight request
//! and closes (hyper's graceful shutdown), and `run` waits for them with a deadline.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::head_errors::{head_too_large, too_large_response, HeadErrors, HeadLimits};
use crate::config::ServerConfig;

/// The connection limits, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub head: HeadLimits,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(config: &ServerConfig) -> Limits {
        Limits {
            head: HeadLimits {
                max_header_bytes: config.max_header_bytes,
                max_headers: config.max_headers,
            },
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
            max_connections: config.max_connections,
        }
    }
}

/// How long the 503 for a connection over the cap may take to write before it is dropped.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` resolves, then drains the connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors or similar: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("sendguard_connections_refused_total").increment(1);
            tokio::spawn(refuse(stream, limits.max_connections));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = service.clone();
        let tracked = activity.clone();
        let head_limits = limits.head;
        let handler = hyper::service::service_fn(move |request: Request<Incoming>| {
            let guard = tracked.begin();
            let (head, body) = request.into_parts();
            let oversized = head_too_large(&head, head_limits);
            let response = (!oversized)
                .then(|| hyper::service::Service::call(&service, Request::from_parts(head, body)));
            async move {
                let response = match response {
                    Some(response) => response.await?,
                    None => too_large_response(head_limits),
                };
                // The guard lives as long as the response body, so a long event stream
                // or a slow download counts as "in flight", not idle.
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &guard;
                        frame
                    }))
                }))
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.head.max_header_bytes)
            .max_headers(limits.head.max_headers)
            .serve_connection(TokioIo::new(HeadErrors::new(stream, limits.head)), handler);
        let connection = graceful.watch(connection);
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                () = activity.idle_for(idle_timeout) => {
                    tracing::debug!("idle connection closed");
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection over the cap with 503 and a JSON error, then closes it.
async fn refuse(mut stream: TcpStream, limit: usize) {
    let body = serde_json::json!({"error": {
        "code": "too_many_connections",
        "message": format!("the server is serving its maximum of {limit} connections; retry shortly"),
        "field": "connections",
        "limit": limit,
    }})
    .to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Requests in flight on one connection, and when the last one ended.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `started` at which the connection last went quiet.
    quiet_since_ms: AtomicI64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            quiet_since_ms: AtomicI64::new(0),
        }
    }

    fn elapsed_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Resolves once the connection has had nothing in flight for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        let timeout_ms = timeout.as_millis() as i64;
        loop {
            let quiet_for = self.elapsed_ms() - self.quiet_since_ms.load(Ordering::SeqCst);
            if self.in_flight.load(Ordering::SeqCst) == 0 && quiet_for >= timeout_ms {
                return;
            }
            // Busy: look again a full timeout later; quiet: when the timeout would be due.
            let wait = if self.in_flight.load(Ordering::SeqCst) > 0 {
                timeout_ms
            } else {
                (timeout_ms - quiet_for).max(1)
            };
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
    }
}

/// One request in flight; dropping it marks the time the connection went quiet.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.0.elapsed_ms();
        self.0.quiet_since_ms.store(now, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
