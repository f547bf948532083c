//! Mailbox operations: where a message shows, for whom, and in which folder. Sending,
//! review, appeals, recipients' reports and batch rescoring all move messages through these
//! functions, inside the caller's write batch, so each move has one implementation.
//!
//! **The placement rule**, stated once: a thread sits in the recipient's Inbox once they
//! wrote in it, or once any message delivered to them in it was routed to the Inbox;
//! otherwise in the folder of the delivered message (Other). A delivery never moves a
//! thread out of the Inbox. The sender's own view of a thread they wrote in is always in
//! their Inbox. [`deliver`] applies the rule incrementally, message by message;
//! [`refresh_view`] recomputes it from the whole thread when a message changes place after
//! the fact (a rescore), which gives the same answer in any order.
//!
//! Held messages are invisible to the recipient: [`queue_held`] opens the review item and
//! the sender's statement index, [`release`] delivers later, [`remove`] keeps the message
//! out for good.

use crate::domain::{
    Folder, MemberId, Message, MessageId, MessageStatus, Millis, ReviewItem, ReviewOrigin,
    ThreadId, ThreadView,
};
use crate::error::Result;
use crate::store::{Reader, ReviewReader, WriteTxn};

/// The sender's own view after they wrote in a thread: in their Inbox, unarchived, read up
/// to their message. A held message does not count as "wrote" toward the other side's
/// placement rule until it is released.
pub(crate) fn record_sent(txn: &mut WriteTxn<'_>, message: &Message, now: Millis) -> Result<()> {
    let delivered = message.status == MessageStatus::Delivered;
    let previous = txn.view(message.from, message.thread_id)?;
    let mut view = previous.clone().unwrap_or(ThreadView {
        thread_id: message.thread_id,
        member: message.from,
        other: message.to,
        placement: Folder::Inbox,
        archived: false,
        last_activity: now,
        last_read: 0,
        sent_any: false,
        hidden_by_report: false,
    });
    view.placement = Folder::Inbox;
    view.archived = false;
    // Writing in a thread they reported brings it back: the member chose to answer.
    view.hidden_by_report = false;
    view.last_activity = now;
    view.last_read = message.id;
    view.sent_any |= delivered;
    txn.put_view(previous.as_ref(), &view);
    Ok(())
}

/// Shows a delivered message to its recipient: the thread lands in (or returns to) `folder`,
/// or stays in the Inbox once it is there. As a reply it returns the credits of the
/// recipient's InMails in the thread whose refund window was open when it was written.
/// Returns whether the recipient is shown it: not in a thread they reported, which stays
/// hidden (and whose deliveries are not announced to them).
pub(crate) fn deliver(
    txn: &mut WriteTxn<'_>,
    message: &Message,
    folder: Folder,
    now: Millis,
) -> Result<bool> {
    let previous = txn.view(message.to, message.thread_id)?;
    // Only someone who wrote in the thread can have an InMail in it awaiting this reply.
    let answers_a_writer = previous.as_ref().is_some_and(|view| view.sent_any);
    let mut view = previous.clone().unwrap_or(ThreadView {
        thread_id: message.thread_id,
        member: message.to,
        other: message.from,
        placement: folder,
        archived: false,
        last_activity: now,
        last_read: 0,
        sent_any: false,
        hidden_by_report: false,
    });
    if view.placement != Folder::Inbox {
        view.placement = folder;
    }
    view.archived = false;
    view.last_activity = now;
    txn.put_view(previous.as_ref(), &view);
    // A delivered message answers the other side's InMail in this thread.
    if answers_a_writer {
        super::credits::refund_on_reply(txn, message)?;
    }
    Ok(view.is_listed())
}

/// Queues `message` for review (once: an open item for it is reused).
pub(crate) fn enqueue(
    txn: &mut WriteTxn<'_>,
    message: &Message,
    origin: ReviewOrigin,
    report_reason: Option<String>,
    now: Millis,
) -> Result<u64> {
    if let Some(open) = txn.open_review_item_for(message.id)? {
        return Ok(open);
    }
    let item = ReviewItem {
        id: txn.next_id()?,
        message_id: message.id,
        sender: message.from,
        origin,
        report_reason,
        created_at: now,
        claim: None,
        decision: None,
        withdrawn_at: None,
    };
    txn.put_review_item(&item);
    Ok(item.id)
}

/// A held message (already stored with status Held) goes to the review queue and into the
/// sender's list of held messages, which their statements of reasons read. Returns the
/// review item's id.
pub(crate) fn queue_held(txn: &mut WriteTxn<'_>, message: &Message, now: Millis) -> Result<u64> {
    let item = enqueue(txn, message, ReviewOrigin::Held, None, now)?;
    txn.note_sender_hold(message.from, message.id);
    Ok(item)
}

/// Withdraws the open review item of a held message (it left the queue undecided: the
/// sender recalled it, or a rescore released it); a `reported` item stays open. Returns
/// the withdrawn item's id.
pub(crate) fn withdraw_held_item(
    txn: &mut WriteTxn<'_>,
    message_id: MessageId,
    now: Millis,
) -> Result<Option<u64>> {
    let Some(open) = txn.open_review_item_for(message_id)? else {
        return Ok(None);
    };
    match txn.review_item(open)? {
        Some(mut item) if item.origin == ReviewOrigin::Held => {
            item.withdrawn_at = Some(now);
            txn.put_review_item(&item);
            Ok(Some(item.id))
        }
        _ => Ok(None),
    }
}

/// What releasing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// Recalled by its sender: nothing is delivered.
    Refused,
    /// Delivered, and the recipient sees it (to be announced to them).
    Shown,
    /// Delivered into a thread the recipient reported: it stays out of their view.
    HiddenByReport,
}

impl Release {
    pub(crate) fn delivered(self) -> bool {
        self != Release::Refused
    }

    pub(crate) fn shown(self) -> bool {
        self == Release::Shown
    }
}

/// Shows a held (or reported) message to its recipient in the folder its relationship gives.
pub(crate) fn release(
    txn: &mut WriteTxn<'_>,
    message: &mut Message,
    now: Millis,
) -> Result<Release> {
    let folder = message.verdict.route;
    release_to(txn, message, folder, now)
}

/// [`release`] into a given folder: a batch rescore releases into the folder of the new
/// verdict, which may be Other for a mildly suspicious message from a connection.
pub(crate) fn release_to(
    txn: &mut WriteTxn<'_>,
    message: &mut Message,
    folder: Folder,
    now: Millis,
) -> Result<Release> {
    match message.status {
        MessageStatus::Held | MessageStatus::Removed => {
            message.status = MessageStatus::Delivered;
            txn.put_message(message);
        }
        MessageStatus::Delivered => {}
        MessageStatus::Recalled => return Ok(Release::Refused),
    }
    let shown = deliver(txn, message, folder, now)?;
    // The sender's message now counts as written for the placement rule.
    if let Some(previous) = txn.view(message.from, message.thread_id)? {
        if !previous.sent_any {
            let mut view = previous.clone();
            view.sent_any = true;
            txn.put_view(Some(&previous), &view);
        }
    }
    Ok(if shown {
        Release::Shown
    } else {
        Release::HiddenByReport
    })
}

/// Keeps a message out of the recipient's view for good; a held InMail's credit is refunded.
pub(crate) fn remove(txn: &mut WriteTxn<'_>, message: &mut Message, now: Millis) -> Result<()> {
    let was_held = message.status == MessageStatus::Held;
    if matches!(
        message.status,
        MessageStatus::Held | MessageStatus::Delivered
    ) {
        message.status = MessageStatus::Removed;
        txn.put_message(message);
    }
    if was_held && message.verdict.inmail {
        super::credits::refund_removed(txn, message, now)?;
    }
    Ok(())
}

/// Recomputes `member`'s view of a thread after one of its messages changed place, by the
/// placement rule over the whole thread. The view is **deleted** when nothing in the thread
/// stays visible to the member: an empty thread in a folder would itself leak that
/// something arrived. A view hidden by the member's report is kept: it lists nowhere, and
/// the mark must outlast the messages it was made on.
pub(crate) fn refresh_view(
    txn: &mut WriteTxn<'_>,
    member: MemberId,
    thread: ThreadId,
) -> Result<()> {
    let Some(previous) = txn.view(member, thread)? else {
        return Ok(());
    };
    let mut visible = false;
    let mut inbox = false;
    for id in txn.committed_thread_message_ids(thread) {
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
        if previous.is_listed() {
            txn.delete_view(&previous);
        }
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
