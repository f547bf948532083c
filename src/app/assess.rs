//! `assess`: the verdict a send would get, with nothing stored. Other services of the
//! platform (profiles, posts) reuse the same checks through it.

use serde::Deserialize;

use super::App;
use crate::domain::{Format, MemberId, RenderedBody, Verdict};
use crate::engine::AssessInput;
use crate::error::{Error, Result};
use crate::limits::{Check, SendFacts};
use crate::policy::Relationship;
use crate::store::Reader;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AssessRequest {
    pub body: String,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub from: Option<MemberId>,
    #[serde(default)]
    pub to: Option<MemberId>,
}

impl App {
    pub fn assess(&self, request: &AssessRequest) -> Result<Verdict> {
        self.validate_body(&request.body, false)?;
        for (field, id) in [("from", request.from), ("to", request.to)] {
            if let Some(id) = id {
                if self.store.member(id)?.is_none() {
                    return Err(
                        Error::not_found("unknown_member", format!("no member {id}")).field(field),
                    );
                }
            }
        }
        let rendered = RenderedBody::render(request.format, &request.body);
        let message = self.engine.normalize(&rendered);
        let mut behaviour = Vec::new();
        let relationship = match (request.from, request.to) {
            (Some(from), Some(to)) => {
                let thread = self.store.thread_between(from, to)?;
                let connected = self.store.connected(from, to)?;
                let sender = self.store.member(from)?;
                let state = self.store.sender_state(from)?.unwrap_or_default();
                let facts = SendFacts {
                    now: self.clock.now(),
                    account_created_at: sender.map_or(0, |s| s.created_at),
                    recipient: to,
                    connected,
                    new_conversation: thread.is_none(),
                    fingerprint: self
                        .limiter
                        .fingerprint(&crate::classify::features(&message)),
                };
                match self.limiter.check(&state, &facts) {
                    Check::Refuse(refusal) => return Err(super::send::refusal_error(refusal)),
                    Check::Proceed(signals) => {
                        behaviour = signals.iter().map(super::send::behaviour_signal).collect();
                    }
                }
                Relationship {
                    connected,
                    recipient_replied: match thread {
                        Some(thread) => self.store.view(to, thread)?.is_some_and(|v| v.sent_any),
                        None => false,
                    },
                    inmail: false,
                }
            }
            _ => Relationship::default(),
        };
        Ok(self.engine.assess(&AssessInput {
            message: &message,
            relationship,
            behaviour: &behaviour,
        }))
    }
}
