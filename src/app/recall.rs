//! Recall: the sender takes a message back within the configured window.
//!
//! The record is kept (status `recalled`, time noted) for review and audit; only the
//! recipient's view loses it.

use super::App;
use crate::domain::{MemberId, MessageId, MessageStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::notify::Event;
use crate::store::Reader;

impl App {
    pub async fn recall(&self, member: MemberId, message_id: MessageId) -> Result<()> {
        let now = self.clock.now();
        let window_ms = self.config.recall_window_secs.saturating_mul(1000);
        let (recalled, ticket) = self.store.write(|txn| {
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
            message.status = MessageStatus::Recalled;
            message.recalled_at = Some(now);
            txn.put_message(&message);
            Ok(Some(message))
        })?;
        self.store.durable(ticket).await;
        if let Some(message) = recalled {
            self.events.publish(
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
