//! What goes on the decision stream (`notify::decisions`): each operation that decides
//! something calls one of these after its write commits, so the stream never tells of a
//! decision the store does not hold. Without NATS they do nothing.

use super::App;
use crate::domain::{MemberId, Message};
use crate::notify::decisions::Decided;
use crate::store::Reader;

impl App {
    pub(super) fn decided(&self, decision: Decided) {
        if let Some(bus) = &self.bus {
            bus.publish_decision(self.clock.now(), decision);
        }
    }

    /// The verdict a stored message got on the send path (reason ids, never its text).
    pub(super) fn verdict_decided(&self, message: &Message) {
        if self.bus.is_none() {
            return;
        }
        let verdict = &message.verdict;
        self.decided(Decided::Verdict {
            message_id: message.id,
            thread_id: message.thread_id,
            sender: message.from,
            recipient: message.to,
            decision: verdict.decision,
            score: verdict.score,
            reasons: verdict
                .reasons
                .iter()
                .map(|reason| format!("{}/{}", reason.source, reason.id))
                .collect(),
        });
    }

    /// A restriction raised (with its level as now stored) or lifted.
    pub(super) fn restriction_decided(&self, member: MemberId, restricted: bool) {
        if self.bus.is_none() {
            return;
        }
        if !restricted {
            self.decided(Decided::Lift { member });
            return;
        }
        let record = match self.store.member(member) {
            Ok(record) => record.and_then(|m| m.restriction),
            Err(error) => {
                tracing::warn!(%error, member, "restriction level not read for the decision stream");
                None
            }
        };
        self.decided(Decided::Restriction {
            member,
            level: record.as_ref().map(|r| r.level),
            automated: record.is_some_and(|r| r.automated),
        });
    }
}
