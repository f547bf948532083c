//! Blocks: a member stops another from messaging them. Directed, reversible; while it
//! stands, neither side can send and the conversation is hidden from both.

use super::App;
use crate::domain::MemberId;
use crate::error::{Error, Result};
use crate::store::Reader;

impl App {
    pub async fn set_block(&self, member: MemberId, target: MemberId, blocked: bool) -> Result<()> {
        if member == target {
            return Err(Error::invalid_field(
                "member_id",
                "a member cannot block themselves",
            ));
        }
        self.commit(|txn| {
            if txn.member(target)?.is_none() {
                return Err(
                    Error::not_found("unknown_member", format!("no member {target}"))
                        .field("member_id"),
                );
            }
            txn.set_block(member, target, blocked);
            if blocked {
                self.note_reaction(txn, target, member, crate::limits::Reaction::Blocked)?;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}
