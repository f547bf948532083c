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
//! - **Decision events** (`decisions.rs`: verdicts, review decisions, appeal outcomes,
//!   restrictions, lifts, recalls) go on JetStream, stream `<PREFIX>_DECISIONS` over
//!   `<prefix>.decisions.>`, for other tools rather than replicas. One task per process
//!   publishes them in the order they were decided; `sendguard events tail` reads them.
//!
//! Every message carries the publishing replica's id (`origin`), so a replica skips its
//! own control events (it already acted on them).

use std::time::Duration;

use async_nats::jetstream;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::decisions::{self, Decided, DecisionEvent};
use super::Event;
use crate::domain::{MemberId, Millis};

/// Decisions waiting for the publishing task; beyond this a burst is dropped (and counted)
/// rather than holding memory while NATS is away.
const DECISION_QUEUE: usize = 65_536;

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
    /// Publish the decision stream (`<PREFIX>_DECISIONS`).
    pub decisions: bool,
    /// How long the decision stream keeps an event (default 7 days).
    pub decisions_max_age_secs: u64,
    /// The decision stream's size cap; the oldest events go first (default 10 GiB).
    pub decisions_max_bytes: i64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://127.0.0.1:4222".to_string(),
            subject_prefix: "sendguard".to_string(),
            control_max_age_secs: 24 * 3600,
            connect_timeout_ms: 2000,
            decisions: true,
            decisions_max_age_secs: 7 * 24 * 3600,
            decisions_max_bytes: 10 << 30,
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
    /// The queue of the task that publishes decisions in order.
    decisions: tokio::sync::mpsc::Sender<DecisionEvent>,
    decision_sequence: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Where `sendguard events tail` starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailFrom {
    /// The oldest event the stream still keeps.
    Start,
    /// Events published from now on.
    New,
    /// This stream sequence and after.
    Sequence(u64),
}

/// The control stream's name for a subject prefix (stream names take no dots).
pub fn control_stream_name(prefix: &str) -> String {
    format!("{}_CONTROL", super::stream_token(prefix))
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
        let (decisions, queue) = tokio::sync::mpsc::channel(DECISION_QUEUE);
        if config.decisions {
            tokio::spawn(publish_decisions(jetstream.clone(), config.clone(), queue));
        }
        Ok(NatsBus {
            client,
            jetstream,
            config: config.clone(),
            origin,
            decisions,
            decision_sequence: Default::default(),
        })
    }

    /// Queues a decision for the decision stream; returns at once (the send path does not
    /// wait for NATS). Dropped, counted and logged when the queue is full.
    pub fn publish_decision(&self, at: Millis, decision: Decided) {
        if !self.config.decisions {
            return;
        }
        let sequence = self
            .decision_sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let event = DecisionEvent::new(&self.origin, sequence, at, decision);
        if let Err(error) = self.decisions.try_send(event) {
            metrics::counter!("sendguard_decision_events_dropped_total").increment(1);
            tracing::warn!(%error, "decision event dropped: the publishing queue is full");
        }
    }

    /// The decision stream, as `(stream sequence, raw JSON event)` from `from` on. Ends on
    /// an error the ordered consumer could not recover from.
    pub async fn decision_events(
        &self,
        from: TailFrom,
    ) -> Result<BoxStream<'static, Result<(u64, Vec<u8>), BusError>>, BusError> {
        let stream = decision_stream(&self.jetstream, &self.config).await?;
        let deliver_policy = match from {
            TailFrom::Start => jetstream::consumer::DeliverPolicy::All,
            TailFrom::New => jetstream::consumer::DeliverPolicy::New,
            TailFrom::Sequence(start_sequence) => {
                jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence }
            }
        };
        let consumer = stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig {
                deliver_policy,
                ..Default::default()
            })
            .await
            .map_err(nats_error)?;
        let messages = consumer.messages().await.map_err(nats_error)?;
        Ok(messages
            .map(|message| {
                let message = message.map_err(nats_error)?;
                let sequence = message.info().map_err(nats_error)?.stream_sequence;
                Ok((sequence, message.payload.to_vec()))
            })
            .boxed())
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

/// Creates the decision stream if it is missing (the settings of an existing stream are
/// left as an operator may have changed them).
async fn decision_stream(
    jetstream: &jetstream::Context,
    config: &NatsConfig,
) -> Result<jetstream::stream::Stream, BusError> {
    jetstream
        .get_or_create_stream(jetstream::stream::Config {
            name: decisions::stream_name(&config.subject_prefix),
            subjects: vec![decisions::subject(&config.subject_prefix, ">")],
            max_age: Duration::from_secs(config.decisions_max_age_secs.max(1)),
            max_bytes: config.decisions_max_bytes,
            storage: jetstream::stream::StorageType::File,
            // A publish retried within this window with the same event id is stored once.
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(nats_error)
}

/// The publishing task: one event at a time in queue order, each waiting for the stream's
/// acknowledgement, so the stream's order is the order of decisions in this process. A
/// failed publish is retried a few times (the event id makes a retry idempotent), then
/// dropped and counted: the store and its audit log stay the record.
async fn publish_decisions(
    jetstream: jetstream::Context,
    config: NatsConfig,
    mut queue: tokio::sync::mpsc::Receiver<DecisionEvent>,
) {
    const ATTEMPTS: u32 = 5;
    let mut stream_ready = false;
    while let Some(event) = queue.recv().await {
        let Ok(payload) = serde_json::to_vec(&event) else {
            continue;
        };
        let subject = decisions::subject(&config.subject_prefix, event.decision.kind());
        let mut published = false;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            if !stream_ready {
                match decision_stream(&jetstream, &config).await {
                    Ok(_) => stream_ready = true,
                    Err(error) => {
                        tracing::warn!(%error, "decision stream not available");
                        continue;
                    }
                }
            }
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.id.as_str());
            let acked = match jetstream
                .publish_with_headers(subject.clone(), headers, payload.clone().into())
                .await
            {
                Ok(ack) => ack.await.map(|_| ()).map_err(nats_error),
                Err(error) => Err(nats_error(error)),
            };
            match acked {
                Ok(()) => {
                    published = true;
                    break;
                }
                Err(error) => tracing::warn!(%error, id = %event.id, "decision event publish"),
            }
        }
        if !published {
            metrics::counter!("sendguard_decision_events_dropped_total").increment(1);
        }
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
