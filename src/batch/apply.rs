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
//! Placement follows the send path's rule, order-free: a thread sits in the recipient's
//! Inbox once they wrote in it or once any delivered message to them in it was routed to
//! the Inbox, otherwise in Other. The new verdict replaces the stored one, the old one is
//! kept in `previous_verdicts`, and each change gets a `rescore_change` audit entry.
//! Before anything, the message is read again under the write lock: if it is not as it
//! was scored (a reviewer, a recall, a report) or a person labelled it, nothing is done.

use crate::domain::{
    Actor, AuditEntry, Folder, MemberId, Message, MessageStatus, Millis, ReviewOrigin, ThreadId,
    Verdict,
};
use crate::error::Result;
use crate::store::{Reader, ReviewReader, Store, WriteTxn};

use super::diff::{transition_name, Place};

/// Makes the change from `scored` to the `new` verdict. Returns false, changing nothing,
/// when the message changed since it was scored or a person has labelled it.
pub fn apply_change(
    txn: &mut WriteTxn<'_>,
    store: &Store,
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
            crate::app::release_to(txn, &mut message, folder, now)?;
            txn.put_message(&message);
            item_id = crate::app::withdraw_held_item(txn, message.id, now)?;
        }
        (_, None) => {
            message.status = MessageStatus::Held;
            txn.put_message(&message);
            item_id = Some(crate::app::enqueue(
                txn,
                &message,
                ReviewOrigin::Held,
                None,
                now,
            )?);
            txn.note_sender_hold(message.from, message.id);
            refresh_view(txn, store, message.to, message.thread_id)?;
        }
        (_, Some(_)) => {
            txn.put_message(&message);
            refresh_view(txn, store, message.to, message.thread_id)?;
        }
    }
    txn.audit(AuditEntry {
        id: 0,
        at: now,
        actor: Actor::System,
        action: "rescore_change".into(),
        message_id: Some(message.id),
        member_id: Some(message.from),
        item_id,
        why: Some(format!(
            "{} by rescore {run}",
            transition_name(before, after)
        )),
    })?;
    Ok(true)
}

/// Recomputes `member`'s view of a thread after one of its messages changed place.
fn refresh_view(
    txn: &mut WriteTxn<'_>,
    store: &Store,
    member: MemberId,
    thread: ThreadId,
) -> Result<()> {
    let Some(previous) = txn.view(member, thread)? else {
        return Ok(());
    };
    let mut visible = false;
    let mut inbox = false;
    for id in store.thread_message_ids(thread, false) {
        let Some(message) = txn.message(id?)? else {
            continue;
        };
        visible |= message.visible_to(member);
        if message.from == member {
            inbox = true;
        } else if message.status == MessageStatus::Delivered {
            inbox |= message.verdict.route_or_folder() == Folder::Inbox;
        }
    }
    if !visible {
        txn.delete_view(&previous);
        return Ok(());
    }
    let placement = if inbox { Folder::Inbox } else { Folder::Other };
    if placement != previous.placement {
        let mut view = previous.clone();
        view.placement = placement;
        txn.put_view(Some(&previous), &view);
    }
    Ok(())
}
