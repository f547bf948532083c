//! Several replicas acting as one: connecting the shared backends the config names, and
//! what goes between replicas over NATS (`notify::nats`).
//!
//! - A member event is published to NATS instead of the local hub; every replica,
//!   this one included, feeds what arrives into its own hub, so the stream gets it once
//!   whichever replica holds it.
//! - A rule reload announces itself; the other replicas reload from their own rules
//!   directory. A restriction raised or lifted is announced too, and each replica passes it
//!   to the member's open streams (`account.restriction`).
//!
//! Subscriptions are made before [`App::start_replica_listeners`] returns, so a replica
//! that answers on its port already hears what other replicas publish.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::App;
use crate::config::Config;
use crate::domain::MemberId;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::redis_state::RedisSenderStates;
use crate::limits::LimitsBackend;
use crate::notify::nats::{Control, NatsBus};
use crate::notify::{Event, EventsBackend};

/// How long startup waits for a subscription to reach NATS before going on without it
/// (the listener keeps trying in the background).
const SUBSCRIBE_DEADLINE: Duration = Duration::from_secs(5);
/// Pause before subscribing again after NATS dropped a subscription.
const RESUBSCRIBE_PAUSE: Duration = Duration::from_secs(1);

fn backend_error(what: &str, error: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Internal,
        "backend_unavailable",
        format!("{what}: {error}"),
    )
}

/// The stream event of a restriction change (no reason: the statement route has it).
fn restriction_event(restricted: bool) -> Event {
    Event {
        kind: "account.restriction",
        data: serde_json::json!({ "restricted": restricted }),
    }
}

impl App {
    /// Connects the backends the config names: the limiter state on Redis, the events on
    /// NATS. The embedded defaults need nothing, and this returns the `App` unchanged.
    pub async fn with_backends(mut self, config: &Config) -> Result<App> {
        if config.limits.backend == LimitsBackend::Redis {
            let states = RedisSenderStates::new(&config.limits.redis)
                .map_err(|e| backend_error("limits.redis.url", e))?;
            self.shared_limits = Some(Arc::new(states));
        }
        if config.events.backend == EventsBackend::Nats {
            let bus = NatsBus::connect(&config.events.nats)
                .await
                .map_err(|e| backend_error("events.nats.url", e))?;
            self.bus = Some(bus);
        }
        Ok(self)
    }

    /// Hands a member event to their streams, on whichever replica they are.
    pub(super) fn publish_event(&self, member: MemberId, event: Event) {
        let Some(bus) = self.bus.clone() else {
            self.events.publish(member, event);
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.events.publish(member, event);
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = bus.publish_member(member, &event).await {
                tracing::warn!(%error, member, "event not published to nats");
            }
        });
    }

    /// Tells the other replicas (nothing to do without NATS).
    pub(super) fn announce(&self, control: Control) {
        let Some(bus) = self.bus.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = bus.publish_control(control.clone()).await {
                tracing::warn!(%error, ?control, "control event not published to nats");
            }
        });
    }

    /// A restriction raised or lifted: the member's open streams hear of it here, and every
    /// other replica is told, whose streams hear of it there.
    pub(super) fn restriction_changed(&self, member: MemberId, restricted: bool) {
        self.events.publish(member, restriction_event(restricted));
        self.announce(Control::Restriction { member, restricted });
        self.restriction_decided(member, restricted);
    }

    /// Whether NATS is connected, when events use it (`None`: embedded backend).
    pub(super) fn nats_ready(&self) -> Option<bool> {
        self.bus.as_ref().map(NatsBus::connected)
    }

    /// Subscribes to the other replicas' member and control events and applies them for as
    /// long as the process runs. `rules_dir` is where this replica reloads rules from when
    /// another one announces a reload (`None`: the built-in packs, which a reload keeps).
    pub async fn start_replica_listeners(self: &Arc<Self>, rules_dir: Option<PathBuf>) {
        let Some(bus) = self.bus.clone() else {
            return;
        };
        let first_members = tokio::time::timeout(SUBSCRIBE_DEADLINE, bus.member_events()).await;
        let first_members = match first_members {
            Ok(Ok(events)) => Some(events),
            _ => None,
        };
        let app = self.clone();
        let member_bus = bus.clone();
        tokio::spawn(async move {
            let mut next = first_members;
            loop {
                if let Some(mut events) = next.take() {
                    while let Some((member, event)) = events.next().await {
                        app.events.publish(member, event);
                    }
                }
                tokio::time::sleep(RESUBSCRIBE_PAUSE).await;
                match member_bus.member_events().await {
                    Ok(events) => next = Some(events),
                    Err(error) => tracing::warn!(%error, "member events: nats subscription"),
                }
            }
        });

        let first_controls = tokio::time::timeout(SUBSCRIBE_DEADLINE, bus.control_events()).await;
        let first_controls = match first_controls {
            Ok(Ok(events)) => Some(events),
            _ => None,
        };
        let app = self.clone();
        tokio::spawn(async move {
            let mut next = first_controls;
            loop {
                if let Some(mut events) = next.take() {
                    while let Some(control) = events.next().await {
                        app.apply_control(control, rules_dir.clone()).await;
                    }
                }
                tokio::time::sleep(RESUBSCRIBE_PAUSE).await;
                match bus.control_events().await {
                    Ok(events) => next = Some(events),
                    Err(error) => tracing::warn!(%error, "control events: nats consumer"),
                }
            }
        });
        // The member subscription is registered with the server once this returns.
        let _ = tokio::time::timeout(SUBSCRIBE_DEADLINE, self.flush_bus()).await;
    }

    async fn flush_bus(&self) {
        if let Some(bus) = &self.bus {
            bus.flush().await;
        }
    }

    /// What another replica announced, done here. A reload compiles every pack, so it runs
    /// on a blocking thread, not on an async worker.
    async fn apply_control(self: &Arc<Self>, control: Control, rules_dir: Option<PathBuf>) {
        match control {
            Control::RulesReloaded => {
                let Some(dir) = rules_dir else {
                    return;
                };
                let app = self.clone();
                let reloaded =
                    tokio::task::spawn_blocking(move || app.engine.reload_rules(&dir)).await;
                match reloaded {
                    Ok(Ok(count)) => {
                        tracing::info!(rules = count, "rule packs reloaded: another replica did")
                    }
                    Ok(Err(error)) => {
                        tracing::error!(%error, "rule reload announced by another replica refused")
                    }
                    Err(error) => tracing::error!(%error, "rule reload task failed"),
                }
            }
            Control::Restriction { member, restricted } => {
                self.events.publish(member, restriction_event(restricted));
            }
        }
    }
}
