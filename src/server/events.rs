//! `GET /v1/events`: server-sent events for the calling member (deliveries, recalls).
//! The stream ends when the server shuts down, so graceful shutdown is not held open.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::error::ApiError;
use super::extract::MemberCaller;
use super::AppState;
use crate::error::{Error, ErrorKind};

pub async fn stream(
    State(state): State<AppState>,
    MemberCaller(me): MemberCaller,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let max = state.max_event_streams_per_member;
    // Subscribe before answering, so nothing sent after the response starts is missed.
    let receiver = state.app.subscribe(me, max).ok_or_else(|| {
        Error::new(
            ErrorKind::RateLimited,
            "too_many_streams",
            format!("at most {max} event streams may be open at once; close one first"),
        )
        .field("events")
        .limit(max as u64)
    })?;
    let events = BroadcastStream::new(receiver).filter_map(|event| async move {
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
    Ok(Sse::new(events.take_until(Box::pin(stopping))).keep_alive(KeepAlive::default()))
}
