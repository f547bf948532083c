//! `assess`: the verdict a send would get, with nothing stored. Other services of the
//! platform (profiles, posts) reuse the same checks through it.

use serde::Deserialize;

use super::App;
use crate::domain::{Format, MemberId, RenderedBody, Verdict};
use crate::engine::AssessInput;
use crate::error::{Error, Result};
use crate::policy::Relationship;
use crate::store::Reader;

#[derive(Debug, Clone, Deserialize)]
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
        let relationship = match (request.from, request.to) {
            (Some(from), Some(to)) => {
                let thread = self.store.thread_between(from, to)?;
                Relationship {
                    connected: self.store.connected(from, to)?,
                    recipient_replied: match thread {
                        Some(thread) => self.store.view(to, thread)?.is_some_and(|v| v.sent_any),
                        None => false,
                    },
                    inmail: false,
                }
            }
            _ => Relationship::default(),
        };
        let rendered = RenderedBody::render(request.format, &request.body);
        Ok(self.engine.assess(&AssessInput {
            body: &rendered,
            relationship,
        }))
    }
}
