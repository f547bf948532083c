//! What recipients tell us: a report (spam, harassment; misleading, for a sponsored
//! message, which counts against its campaign) hides the conversation for good (what the
//! other side sends later stays out of view: `mailbox::deliver`) and queues the message for
//! review (and counts toward a sanction only as `report_evidence` allows); mark-safe is a
//! ham label and lifts the thread back into the Inbox.

use super::App;
use crate::domain::{
    Actor, AuditEntry, Folder, Label, LabelRecord, LabelSource, MemberId, Message, MessageId,
    ReviewOrigin,
};
use crate::error::{Error, Result};
use crate::limits::Reaction;
use crate::store::{Reader, WriteTxn};

const MAX_REASON_CHARS: usize = 500;

/// The message, if `member` received it and can see it.
fn received(txn: &WriteTxn<'_>, member: MemberId, message: MessageId) -> Result<Message> {
    txn.message(message)?
        .filter(|m| m.to == member && m.visible_to(member))
        .ok_or_else(|| Error::not_found("message_not_found", "no such message"))
}

impl App {
    /// Reports a received message. Returns the review item id.
    pub async fn report(
        &self,
        member: MemberId,
        message_id: MessageId,
        reason: &str,
    ) -> Result<u64> {
        let reason = reason.trim();
        super::text_fields::bounded_text("reason", reason, 1, MAX_REASON_CHARS)?;
        let now = self.clock.now();
        let item = self
            .commit(|txn| {
                let message = received(txn, member, message_id)?;
                let first_report = match txn.view(member, message.thread_id)? {
                    Some(view) if view.is_listed() => {
                        let mut hidden = view.clone();
                        hidden.hidden_by_report = true;
                        txn.put_view(Some(&view), &hidden);
                        true
                    }
                    _ => false,
                };
                let item = super::mailbox::enqueue(
                    txn,
                    &message,
                    ReviewOrigin::Reported,
                    Some(reason.to_string()),
                    now,
                )?;
                txn.audit(
                    AuditEntry::new(now, Actor::Member(member), "report")
                        .message(message.id)
                        .member(message.from)
                        .item(item)
                        .why(reason.to_string()),
                )?;
                match &message.sponsored {
                    // An advertiser is not a member: no strikes or reactions; the report
                    // (as misleading) counts against its campaign, once per message.
                    Some(mark) if first_report => super::sponsored::count_report(txn, mark)?,
                    Some(_) => {}
                    None => {
                        self.weigh_report(txn, member, &message, now)?;
                        self.note_reaction(txn, message.from, member, Reaction::Reported)?;
                    }
                }
                Ok::<_, Error>(item)
            })
            .await?;
        Ok(item)
    }

    pub async fn mark_safe(&self, member: MemberId, message_id: MessageId) -> Result<()> {
        let now = self.clock.now();
        self.commit(|txn| {
            let message = received(txn, member, message_id)?;
            txn.put_label(&LabelRecord {
                message_id: message.id,
                label: Label::Ham,
                source: LabelSource::MarkSafe,
                at: now,
            });
            self.note_reaction(txn, message.from, member, Reaction::MarkedSafe)?;
            if let Some(view) = txn.view(member, message.thread_id)? {
                if view.placement != Folder::Inbox || !view.is_listed() {
                    let mut moved = view.clone();
                    moved.placement = Folder::Inbox;
                    moved.hidden_by_report = false;
                    txn.put_view(Some(&view), &moved);
                }
            }
            Ok::<_, Error>(())
        })
        .await?;
        Ok(())
    }
}
