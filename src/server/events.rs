//! `GET /v1/events`: server-sent events for the calling member (deliveries, recalls).
//! The stream ends when the server shuts down, so graceful shutdown is not held open.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::extract::MemberCaller;
use super::AppState;

pub async fn stream(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    // Subscribe before answering, so nothing sent after the response starts is missed.
    let events =
        BroadcastStream::new(state.app.events.subscribe(me)).filter_map(|event| async move {
            event.ok().map(|event| {
                Ok(SseEvent::default()
                    .event(event.kind)
                    .data(event.data.to_string()))
            })
        });
    let mut shutdown = state.shutdown.clone();
    let stopping = async move {
        let _ = shutdown.wait_for(|&stopping| stopping).await;
    };
    Sse::new(events.take_until(Box::pin(stopping))).keep_alive(KeepAlive::default())
}
