//! Events across replicas on NATS (`[events] backend = "nats"`).
//!
//! Two kinds of traffic, on two transports:
//!
//! - **Member events** (a delivery, a recall) go on core NATS, subject
//!   `<prefix>.member.<id>`. Every replica subscribes to `<prefix>.member.*` and hands what
//!   arrives to its local [`EventHub`](super::EventHub), which holds the open `/v1/events`
//!   streams. A stream is live-only (the message itself is durable in the store and shows in
//!   the folder), so there is nothing to replay to a stream that was not open: core NATS,
//!   at-most-once and one hop, is the right weight; JetStream would add a disk write per send
//!   for a replay nobody asks for.
//! - **Control events** (rule reloads, restrictions and lifts) go on JetStream, stream
//!   `<PREFIX>_CONTROL` over `<prefix>.control.>`, published with the stream's
//!   acknowledgement. Each replica reads it with an ordered consumer starting at the
//!   replica's start; after a disconnection the consumer resumes after the last message it
//!   saw, so a replica that lost NATS for a moment still applies the reload it missed.
//!   Messages expire after `control_max_age_secs`.
//!
//! Every message carries the publishing replica's id (`origin`), so a replica skips its
//! own control events (it already acted on them).

use std::time::Duration;

use async_nats::jetstream;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::Event;
use crate::domain::MemberId;

/// `[events.nats]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// `nats://host:port`.
    pub url: String,
    /// First token of every subject, and (upper-cased) of the control stream's name, so
    /// deployments and tests can share one NATS server.
    pub subject_prefix: String,
    /// How long control events are kept on the stream for replicas that reconnect.
    pub control_max_age_secs: u64,
    /// Connection attempt deadline.
    pub connect_timeout_ms: u64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://127.0.0.1:4222".to_string(),
            subject_prefix: "sendguard".to_string(),
            control_max_age_secs: 24 * 3600,
            connect_timeout_ms: 2000,
        }
    }
}

/// What every replica must hear about: changes of shared behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Control {
    /// Rule packs were reloaded: reload yours from your rules directory.
    RulesReloaded,
    /// A member's restriction was raised (`restricted`) or lifted.
    Restriction { member: MemberId, restricted: bool },
}

/// A control event with the replica that published it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControlEnvelope {
    pub origin: String,
    pub control: Control,
}

/// A member event on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemberEnvelope {
    member: MemberId,
    kind: String,
    data: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("nats: {0}")]
    Nats(String),
}

fn nats_error(error: impl std::fmt::Display) -> BusError {
    BusError::Nats(error.to_string())
}

/// The connection, the JetStream context and this replica's id.
#[derive(Debug, Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    config: NatsConfig,
    origin: String,
}

/// The control stream's name for a subject prefix (stream names take no dots).
pub fn control_stream_name(prefix: &str) -> String {
    let clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}_CONTROL")
}

impl NatsBus {
    /// Connects (retrying in the background when the server is not up yet, so a replica
    /// starts and reports NATS as not ready instead of failing).
    pub async fn connect(config: &NatsConfig) -> Result<NatsBus, BusError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_millis(config.connect_timeout_ms.max(1)))
            .retry_on_initial_connect()
            .connect(config.url.as_str())
            .await
            .map_err(nats_error)?;
        let jetstream = jetstream::new(client.clone());
        let origin = format!("{:016x}", rand::random::<u64>());
        Ok(NatsBus {
            client,
            jetstream,
            config: config.clone(),
            origin,
        })
    }

    fn member_subject(&self, member: MemberId) -> String {
        format!("{}.member.{member}", self.config.subject_prefix)
    }

    fn control_subject(&self, control: &Control) -> String {
        let what = match control {
            Control::RulesReloaded => "rules",
            Control::Restriction { .. } => "restriction",
        };
        format!("{}.control.{what}", self.config.subject_prefix)
    }

    /// Whether the connection is up (for `/readyz`).
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Waits until what was published and subscribed so far has reached the server.
    pub async fn flush(&self) {
        if let Err(error) = self.client.flush().await {
            tracing::warn!(%error, "nats flush");
        }
    }

    /// Publishes a member event for whichever replica holds the member's streams.
    pub async fn publish_member(&self, member: MemberId, event: &Event) -> Result<(), BusError> {
        let envelope = MemberEnvelope {
            member,
            kind: event.kind.to_string(),
            data: event.data.clone(),
        };
        let payload = serde_json::to_vec(&envelope).map_err(nats_error)?;
        // Core NATS: written to the connection, no answer awaited (no round trip).
        metrics::counter!("sendguard_nats_publishes_total").increment(1);
        self.client
            .publish(self.member_subject(member), payload.into())
            .await
            .map_err(nats_error)
    }

    /// Member events from every replica, as (member, event); kinds this build does not
    /// know are dropped.
    pub async fn member_events(&self) -> Result<BoxStream<'static, (MemberId, Event)>, BusError> {
        let subscriber = self
            .client
            .subscribe(format!("{}.member.*", self.config.subject_prefix))
            .await
            .map_err(nats_error)?;
        Ok(subscriber
            .filter_map(|message| async move {
                let envelope: MemberEnvelope = serde_json::from_slice(&message.payload).ok()?;
                let kind = Event::known_kind(&envelope.kind)?;
                Some((
                    envelope.member,
                    Event {
                        kind,
                        data: envelope.data,
                    },
                ))
            })
            .boxed())
    }

    async fn control_stream(&self) -> Result<jetstream::stream::Stream, BusError> {
        self.jetstream
            .get_or_create_stream(jetstream::stream::Config {
                name: control_stream_name(&self.config.subject_prefix),
                subjects: vec![format!("{}.control.>", self.config.subject_prefix)],
                max_age: Duration::from_secs(self.config.control_max_age_secs.max(1)),
                ..Default::default()
            })
            .await
            .map_err(nats_error)
    }

    /// Publishes a control event and waits for the stream to store it.
    pub async fn publish_control(&self, control: Control) -> Result<(), BusError> {
        // Two round trips: the stream's lookup, the stored message's acknowledgement.
        metrics::counter!("sendguard_nats_publishes_total").increment(1);
        metrics::counter!("sendguard_nats_round_trips_total").increment(2);
        self.control_stream().await?;
        let subject = self.control_subject(&control);
        let envelope = ControlEnvelope {
            origin: self.origin.clone(),
            control,
        };
        let payload = serde_json::to_vec(&envelope).map_err(nats_error)?;
        self.jetstream
            .publish(subject, payload.into())
            .await
            .map_err(nats_error)?
            .await
            .map_err(nats_error)?;
        Ok(())
    }

    /// Control events other replicas publish from now on, in order. Ends on an error the
    /// ordered consumer could not recover from; the caller subscribes again.
    pub async fn control_events(&self) -> Result<BoxStream<'static, Control>, BusError> {
        let stream = self.control_stream().await?;
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig {
                deliver_policy: jetstream::consumer::DeliverPolicy::New,
                ..Default::default()
            })
            .await
            .map_err(nats_error)?;
        let messages = consumer.messages().await.map_err(nats_error)?;
        let origin = self.origin.clone();
        Ok(messages
            .take_while(|message| std::future::ready(message.is_ok()))
            .filter_map(move |message| {
                let origin = origin.clone();
                async move {
                    let message = message.ok()?;
                    let envelope: ControlEnvelope =
                        serde_json::from_slice(&message.payload).ok()?;
                    (envelope.origin != origin).then_some(envelope.control)
                }
            })
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_take_no_dots_and_control_events_round_trip() {
        assert_eq!(control_stream_name("sg.test-1"), "SG_TEST_1_CONTROL");
        let json = serde_json::to_string(&Control::Restriction {
            member: 7,
            restricted: true,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"kind":"restriction","member":7,"restricted":true}"#
        );
        assert_eq!(
            serde_json::from_str::<Control>(r#"{"kind":"rules_reloaded"}"#).unwrap(),
            Control::RulesReloaded
        );
    }
}
