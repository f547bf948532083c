//! `--apply`: one rescored message's change, made in the mailbox as review and sending would.
//!
//! - **held → inbox/other** is a release, through the reviewer's own release code: the
//!   message is delivered into the new verdict's folder (it is news to the recipient, so
//!   the thread moves up as on any delivery), and its open `held` review item is withdrawn.
//!   A `reported` item stays open: the recipient's report still deserves a reviewer.
//! - **inbox/other → held** sets the status Held and queues a review item, as the send
//!   path does for a hold. The recipient's thread view is refreshed: deleted when nothing
//!   in the thread stays visible to them (an empty thread in a folder would itself leak
//!   that something arrived), otherwise kept with its placement recomputed.
//! - **inbox ↔ other** recomputes the recipient's thread placement.
//!
//! Every move goes through [`crate::app::mailbox`], which states the placement rule the send
//! path follows; here it is recomputed from the whole thread. The new verdict replaces the stored one, the old one is
//! kept in `previous_verdicts`, and each change gets a `rescore_change` audit entry.
//! Before anything, the message is read again under the write lock: if it is not as it
//! was scored (a reviewer, a recall, a report) or a person labelled it, nothing is done.

use crate::app::mailbox;
use crate::domain::{Actor, AuditEntry, Message, MessageStatus, Millis, Verdict};
use crate::error::Result;
use crate::store::{Reader, ReviewReader, WriteTxn};

use super::diff::{transition_name, Place};

/// Makes the change from `scored` to the `new` verdict. Returns false, changing nothing,
/// when the message changed since it was scored or a person has labelled it.
pub fn apply_change(
    txn: &mut WriteTxn<'_>,
    scored: &Message,
    new: &Verdict,
    run: &str,
    now: Millis,
) -> Result<bool> {
    if txn.message(scored.id)?.as_ref() != Some(scored) || txn.label(scored.id)?.is_some() {
        return Ok(false);
    }
    let before = Place::of_stored(scored);
    let after = Place::of_decision(new.decision);
    let mut message = scored.clone();
    message.previous_verdicts.push(scored.verdict.clone());
    message.verdict = new.clone();
    let mut item_id = None;
    match (before, after.folder()) {
        (Place::Held, Some(folder)) => {
            mailbox::release_to(txn, &mut message, folder, now)?;
            txn.put_message(&message);
            item_id = mailbox::withdraw_held_item(txn, message.id, now)?;
        }
        (_, None) => {
            message.status = MessageStatus::Held;
            txn.put_message(&message);
            item_id = Some(mailbox::queue_held(txn, &message, now)?);
            mailbox::refresh_view(txn, message.to, message.thread_id)?;
        }
        (_, Some(_)) => {
            txn.put_message(&message);
            mailbox::refresh_view(txn, message.to, message.thread_id)?;
        }
    }
    let why = format!("{} by rescore {run}", transition_name(before, after));
    txn.audit(
        AuditEntry::new(now, Actor::System, "rescore_change")
            .message(message.id)
            .member(message.from)
            .item(item_id)
            .why(why),
    )?;
    Ok(true)
}
