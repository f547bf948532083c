//! `assess`: the verdict a send would get, with nothing stored. Other services of the
//! platform (profiles, posts) reuse the same checks through it. It runs the send path's own
//! pipeline (`pipeline.rs`): with `from` and `to` the same context a send reads (blocks,
//! restriction, thread, InMail credit, limits), so the answer is the send's verdict, or the
//! error the send would get.

use serde::Deserialize;

use super::pipeline::Draft;
use super::App;
use crate::domain::{Format, MemberId, MessageKind, ThreadId, Verdict};
use crate::error::{Error, Result};
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
    /// As on a send: `inmail` spends a credit of `from` toward a non-connection.
    /// `sponsored` without `from` and `to` judges the body by the sponsored channel's policy
    /// (with them it is refused, as a member's send of it is).
    #[serde(default)]
    pub kind: MessageKind,
    /// As on a send: the thread the message would be written in.
    #[serde(default)]
    pub thread_id: Option<ThreadId>,
}

impl App {
    pub async fn assess(&self, request: &AssessRequest) -> Result<Verdict> {
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
        let prepared = self.prepare(request.format, &request.body, &[])?;
        let context = match (request.from, request.to) {
            (Some(from), Some(to)) => {
                let draft = Draft {
                    to,
                    thread_id: request.thread_id,
                    kind: request.kind,
                };
                let now = self.clock.now();
                let input = self.limiter_input(from).await;
                Some(self.send_context(&self.store, from, &draft, now, &prepared, &input)?)
            }
            _ if request.kind == MessageKind::Sponsored => {
                return Ok(self.judge_sponsored(&prepared.message));
            }
            _ => None,
        };
        Ok(self.judge(&prepared.message, context.as_ref()))
    }
}
