//! Recall: the sender takes a message back within the configured window.
//!
//! The record is kept (status `recalled`, time noted) for review and audit; only the
//! recipient's view loses it. A held message was never shown to its recipient, so its
//! recall tells them nothing (no event: that would reveal it existed). Its review item
//! stays open, the recall audited on it: recalling what was held must not take it out of
//! review, or a sender who recalls every hold would never meet a reviewer's removal or its
//! strike. A release of the recalled message delivers nothing (`mailbox::release_to`).
//! Nor is a recall announced in a thread the recipient reported: they were never shown
//! what was recalled, and the event would tell them the sender wrote again.

use super::App;
use crate::domain::{Actor, AuditEntry, MemberId, MessageId, MessageStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::notify::decisions::Decided;
use crate::notify::Event;
use crate::store::{Reader, ReviewReader};

impl App {
    pub async fn recall(&self, member: MemberId, message_id: MessageId) -> Result<()> {
        let now = self.clock.now();
        let window_ms = self.config.recall_window_secs.saturating_mul(1000);
        let recalled = self
            .commit(|txn| {
                let mut message = txn
                    .message(message_id)?
                    .filter(|m| m.from == member || (m.to == member && m.visible_to(member)))
                    .ok_or_else(|| Error::not_found("message_not_found", "no such message"))?;
                if message.from != member {
                    return Err(Error::forbidden(
                        "not_sender",
                        "only the sender can recall a message",
                    ));
                }
                if message.status == MessageStatus::Recalled {
                    return Ok(None);
                }
                if (now - message.created_at) as u64 > window_ms {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "recall_window_expired",
                        format!(
                            "messages can be recalled for {} seconds after sending",
                            self.config.recall_window_secs
                        ),
                    )
                    .limit(self.config.recall_window_secs));
                }
                let was_held = message.status == MessageStatus::Held;
                message.status = MessageStatus::Recalled;
                message.recalled_at = Some(now);
                txn.put_message(&message);
                if was_held {
                    if let Some(item_id) = txn.open_review_item_for(message.id)? {
                        txn.audit(
                            AuditEntry::new(now, Actor::Member(member), "recall_held")
                                .message(message.id)
                                .member(member)
                                .item(item_id),
                        )?;
                    }
                }
                let shown = !was_held
                    && txn
                        .view(message.to, message.thread_id)?
                        .is_some_and(|view| view.is_listed());
                Ok(Some((message, was_held, shown)))
            })
            .await?;
        if let Some((message, was_held, _)) = &recalled {
            self.decided(Decided::Recall {
                message_id: message.id,
                sender: message.from,
                recipient: message.to,
                was_held: *was_held,
            });
        }
        if let Some((message, _, true)) = recalled {
            self.publish_event(
                message.to,
                Event {
                    kind: "message.recalled",
                    data: serde_json::json!({
                        "message_id": message.id,
                        "thread_id": message.thread_id,
                    }),
                },
            );
        }
        Ok(())
    }
}
