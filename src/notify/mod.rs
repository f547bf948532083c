//! Notifications to members: an in-process hub that the `/v1/events` stream subscribes to.
//! With `[events] backend = "nats"` ([`nats`]) every replica feeds its hub from NATS, so a
//! member's stream on one replica hears of a delivery made through another.
//!
//! A member with no open stream has no channel, so publishing to them costs one map lookup.
//! Events carry ids and folders, never message text.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::domain::MemberId;

pub mod decisions;
pub mod nats;

/// The `[events]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// `embedded` (this process only) or `nats` (every replica).
    pub backend: EventsBackend,
    /// The NATS connection and subject prefix.
    pub nats: nats::NatsConfig,
}

/// `[events] backend`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventsBackend {
    /// Events reach streams held by this process only.
    #[default]
    Embedded,
    /// Events go through NATS to the streams of every replica.
    Nats,
}

/// Every event kind a stream may carry.
pub const EVENT_KINDS: [&str; 3] = [
    "message.delivered",
    "message.recalled",
    "account.restriction",
];

/// Every JetStream stream the events of a subject prefix create (the control stream and the
/// decision stream): what a deployment, a bench or a test removes when it is done with a
/// prefix, named here so none of them spells the names again.
pub fn event_stream_names(prefix: &str) -> [String; 2] {
    [
        nats::control_stream_name(prefix),
        decisions::stream_name(prefix),
    ]
}

/// A subject prefix as a stream-name token: upper case, anything but letters and digits
/// turned into `_`.
pub(crate) fn stream_token(prefix: &str) -> String {
    prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Events buffered per member stream before a slow reader starts missing some.
const STREAM_BUFFER: usize = 256;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `message.delivered`, `message.recalled`, ...
    pub kind: &'static str,
    pub data: serde_json::Value,
}

impl Event {
    /// The static name of a kind read off the wire (`None`: not one this build sends).
    pub fn known_kind(kind: &str) -> Option<&'static str> {
        EVENT_KINDS.iter().copied().find(|known| *known == kind)
    }
}

#[derive(Debug, Default)]
pub struct EventHub {
    channels: Mutex<HashMap<MemberId, broadcast::Sender<Event>>>,
}

impl EventHub {
    /// A new stream for `member`, unless they already have `max_streams` open: each
    /// stream holds a connection and a buffer, so one member must not open them unbounded.
    pub fn subscribe(
        &self,
        member: MemberId,
        max_streams: usize,
    ) -> Option<broadcast::Receiver<Event>> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let sender = channels
            .entry(member)
            .or_insert_with(|| broadcast::channel(STREAM_BUFFER).0);
        // Receivers of closed streams are dropped with them, so this counts open streams.
        (sender.receiver_count() < max_streams).then(|| sender.subscribe())
    }

    pub fn publish(&self, member: MemberId, event: Event) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = channels.get(&member) {
            if sender.send(event).is_err() {
                // Every stream of this member has closed.
                channels.remove(&member);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The names a bench or test removes are the ones the bus creates for that prefix.
    #[test]
    fn event_stream_names_are_the_streams_the_bus_creates() {
        assert_eq!(
            super::event_stream_names("sg.test-1"),
            ["SG_TEST_1_CONTROL", "SG_TEST_1_DECISIONS"]
        );
    }
}
