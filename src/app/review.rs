//! The review queue: held and reported messages, claimed by one reviewer at a time, read
//! only with a justification, decided with a label; every read and decision is audited.

use serde::{Deserialize, Serialize};

use super::folders::MessageView;
use super::mailbox;
use super::App;
use crate::domain::{
    Actor, AuditEntry, Claim, Label, LabelRecord, LabelSource, MemberId, Message, MessageId,
    MessageStatus, Millis, Reason, RestrictionLevel, ReviewAction, ReviewDecision, ReviewItem,
    ReviewOrigin, ReviewerId, Verdict,
};
use crate::error::{Error, ErrorKind, Result};
use crate::notify::decisions::Decided;
use crate::notify::Event;
use crate::store::{Reader, ReviewReader};

const MAX_NOTE_CHARS: usize = 2000;
pub const MAX_QUEUE_PAGE: usize = 100;

/// A queue entry as a reviewer first sees it: facts and reasons, no message text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueEntry {
    pub item_id: u64,
    pub message_id: MessageId,
    pub sender: MemberId,
    pub origin: ReviewOrigin,
    pub created_at: Millis,
    pub reasons: Vec<Reason>,
    pub score: Option<f64>,
    pub claimed_until: Millis,
}

/// A review item with its content, for a reviewer who gave a justification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub item: ReviewItem,
    pub message: MessageView,
    pub verdict: Verdict,
    /// The held message's own thread, for context; no other conversation of the member.
    pub thread: Vec<MessageView>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DecisionRequest {
    pub label: Label,
    pub action: ReviewAction,
    #[serde(default)]
    pub note: Option<String>,
}

fn item_not_found() -> Error {
    Error::not_found("item_not_found", "no such review item")
}

/// A withdrawn item left the queue without a decision (its message was recalled by the
/// sender or released by a rescore): nothing is left to read or decide.
fn refuse_withdrawn(item: &ReviewItem) -> Result<()> {
    if item.withdrawn_at.is_some() {
        return Err(Error::new(
            ErrorKind::Conflict,
            "item_withdrawn",
            "this item was withdrawn from review",
        ));
    }
    Ok(())
}

fn check_note(field: &str, note: Option<&str>) -> Result<()> {
    super::text_fields::bounded_optional(field, note, MAX_NOTE_CHARS)
}

impl App {
    /// Claims and returns up to `limit` open items, oldest first. Items claimed by another
    /// reviewer are skipped until their claim expires; the caller's own claims are renewed.
    pub fn review_queue(&self, reviewer: ReviewerId, limit: usize) -> Result<Vec<QueueEntry>> {
        if limit == 0 || limit > MAX_QUEUE_PAGE {
            return Err(
                Error::invalid_field("limit", "limit must be 1-100").limit(MAX_QUEUE_PAGE as u64)
            );
        }
        let now = self.clock.now();
        let until = now + (self.review.claim_ttl_secs as Millis) * 1000;
        let (entries, _) = self.store.write(|txn| {
            let mut entries = Vec::new();
            for id in self.store.open_review_items() {
                if entries.len() == limit {
                    break;
                }
                let Some(mut item) = txn.review_item(id?)? else {
                    continue;
                };
                let taken = item
                    .claim
                    .as_ref()
                    .is_some_and(|c| c.reviewer != reviewer && c.until > now);
                if taken {
                    continue;
                }
                item.claim = Some(Claim { reviewer, until });
                txn.put_review_item(&item);
                let verdict = txn.message(item.message_id)?.map(|m| m.verdict);
                entries.push(QueueEntry {
                    item_id: item.id,
                    message_id: item.message_id,
                    sender: item.sender,
                    origin: item.origin,
                    created_at: item.created_at,
                    reasons: verdict
                        .as_ref()
                        .map(|v| v.reasons.clone())
                        .unwrap_or_default(),
                    score: verdict.and_then(|v| v.score),
                    claimed_until: until,
                });
            }
            Ok::<_, Error>(entries)
        })?;
        Ok(entries)
    }

    /// The item's content. Needs a justification, which the audit log records with the read.
    pub async fn review_item(
        &self,
        reviewer: ReviewerId,
        item_id: u64,
        justification: Option<&str>,
    ) -> Result<ItemView> {
        let min = self.review.min_justification_chars;
        let justification = justification.map(str::trim).unwrap_or("");
        // Counted as a reader sees it: ten zero-width spaces justify nothing.
        let shown = justification
            .chars()
            .filter(|&c| !crate::text::is_blank(c))
            .count();
        if shown < min {
            return Err(Error::invalid_field(
                "justification",
                format!(
                    "reading a held message needs a justification of at least {min} characters"
                ),
            )
            .limit(min as u64));
        }
        check_note("justification", Some(justification))?;
        let now = self.clock.now();
        // The read is acknowledged only once its audit record is durable.
        let view = self
            .commit(|txn| {
                let mut item = txn.review_item(item_id)?.ok_or_else(item_not_found)?;
                refuse_withdrawn(&item)?;
                if item.decision.is_none() {
                    self.take_claim(&mut item, reviewer, now)?;
                    txn.put_review_item(&item);
                }
                let message = txn.message(item.message_id)?.ok_or_else(item_not_found)?;
                let thread = self
                    .store
                    .thread_messages(message.thread_id)?
                    .iter()
                    .filter(|m| m.status != MessageStatus::Recalled || m.id == message.id)
                    .map(MessageView::of)
                    .collect();
                txn.audit(
                    AuditEntry::new(now, Actor::Reviewer(reviewer), "read_item")
                        .message(message.id)
                        .member(message.from)
                        .item(item.id)
                        .why(justification.to_string()),
                )?;
                Ok::<_, Error>(ItemView {
                    message: MessageView::of(&message),
                    verdict: message.verdict.clone(),
                    item,
                    thread,
                })
            })
            .await?;
        Ok(view)
    }

    fn take_claim(&self, item: &mut ReviewItem, reviewer: ReviewerId, now: Millis) -> Result<()> {
        if let Some(claim) = &item.claim {
            if claim.reviewer != reviewer && claim.until > now {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "claimed_by_other",
                    "another reviewer is working on this item",
                ));
            }
        }
        item.claim = Some(Claim {
            reviewer,
            until: now + (self.review.claim_ttl_secs as Millis) * 1000,
        });
        Ok(())
    }

    pub async fn decide_item(
        &self,
        reviewer: ReviewerId,
        item_id: u64,
        request: DecisionRequest,
    ) -> Result<()> {
        let consistent = matches!(
            (request.label, request.action),
            (Label::Ham, ReviewAction::Release)
                | (Label::Spam, ReviewAction::Remove)
                | (Label::Spam, ReviewAction::RestrictSender)
        );
        if !consistent {
            return Err(Error::invalid_field(
                "action",
                "ham goes with release; spam with remove or restrict_sender",
            ));
        }
        check_note("note", request.note.as_deref())?;
        let now = self.clock.now();
        let released = self
            .commit(|txn| {
                let mut item = txn.review_item(item_id)?.ok_or_else(item_not_found)?;
                refuse_withdrawn(&item)?;
                if item.decision.is_some() {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "already_decided",
                        "this item already has a decision",
                    ));
                }
                self.take_claim(&mut item, reviewer, now)?;
                let mut message = txn.message(item.message_id)?.ok_or_else(item_not_found)?;
                // An advertiser is not a member: its messages are removed, never struck or
                // restricted (its campaigns are the advertiser's account of record).
                let sponsored = message.sponsored.is_some();
                if sponsored && request.action == ReviewAction::RestrictSender {
                    return Err(Error::invalid_field(
                        "action",
                        "a sponsored message's sender is an advertiser, not a member: remove it",
                    ));
                }
                let released = match request.action {
                    ReviewAction::Release => mailbox::release(txn, &mut message, now)?.shown(),
                    ReviewAction::Remove if sponsored => {
                        mailbox::remove(txn, &mut message, now)?;
                        false
                    }
                    ReviewAction::Remove | ReviewAction::RestrictSender => {
                        mailbox::remove(txn, &mut message, now)?;
                        let (source, detail) = super::sanctions::removal_strike(message.id);
                        self.strike(
                            txn,
                            message.from,
                            super::sanctions::REMOVAL_STRIKE,
                            source,
                            &detail,
                            now,
                        )?;
                        false
                    }
                };
                if request.action == ReviewAction::RestrictSender {
                    super::sanctions::raise_restriction(
                        txn,
                        message.from,
                        RestrictionLevel::Full,
                        &format!("restricted by a reviewer (review item {})", item.id),
                        false,
                        now,
                    )?;
                }
                item.decision = Some(ReviewDecision {
                    reviewer,
                    label: request.label,
                    action: request.action,
                    note: request.note.clone(),
                    at: now,
                });
                txn.put_review_item(&item);
                // Whoever reported this message gains or loses standing by the decision.
                self.judge_reporters(txn, message.from, message.id, request.label)?;
                txn.put_label(&LabelRecord {
                    message_id: message.id,
                    label: request.label,
                    source: LabelSource::Reviewer,
                    at: now,
                });
                txn.audit(
                    AuditEntry::new(
                        now,
                        Actor::Reviewer(reviewer),
                        format!("decide_item:{}", action_name(request.action)),
                    )
                    .message(message.id)
                    .member(message.from)
                    .item(item.id)
                    .why(request.note.clone()),
                )?;
                let restricted =
                    (request.action == ReviewAction::RestrictSender).then_some(message.from);
                let decided = Decided::ReviewDecision {
                    item_id: item.id,
                    message_id: message.id,
                    sender: message.from,
                    reviewer,
                    label: request.label,
                    action: request.action,
                };
                Ok::<_, Error>((released.then_some(message), restricted, decided))
            })
            .await?;
        let (released, restricted, decided) = released;
        self.decided(decided);
        if let Some(message) = released {
            self.notify_delivered(&message);
        }
        if let Some(sender) = restricted {
            self.restriction_changed(sender, true);
        }
        Ok(())
    }

    pub async fn lift_restriction(
        &self,
        reviewer: ReviewerId,
        member: MemberId,
        note: &str,
    ) -> Result<()> {
        check_note("note", Some(note))?;
        let now = self.clock.now();
        self.commit(|txn| {
            if txn.member(member)?.is_none() {
                return Err(Error::not_found(
                    "unknown_member",
                    format!("no member {member}"),
                ));
            }
            if !self.clear_restriction(txn, member)? {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "not_restricted",
                    "the member is not restricted",
                ));
            }
            txn.audit(
                AuditEntry::new(now, Actor::Reviewer(reviewer), "lift_restriction")
                    .member(member)
                    .why(note.to_string()),
            )?;
            Ok::<_, Error>(())
        })
        .await?;
        self.restriction_changed(member, false);
        Ok(())
    }

    /// Open review items and the age of the oldest, in seconds (for metrics).
    pub fn review_queue_stats(&self) -> Result<(usize, f64)> {
        let now = self.clock.now();
        let mut depth = 0;
        let mut oldest = None;
        for id in self.store.open_review_items() {
            let id = id?;
            if oldest.is_none() {
                oldest = self.store.review_item(id)?.map(|item| item.created_at);
            }
            depth += 1;
        }
        let age = oldest.map_or(0.0, |created| (now - created).max(0) as f64 / 1000.0);
        Ok((depth, age))
    }

    /// Audit entries in `[from, to)`, oldest first, at most `limit`.
    pub fn audit_log(&self, from: Millis, to: Millis, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut entries = Vec::new();
        for entry in self.store.audit_range(from, to).take(limit) {
            entries.push(entry?);
        }
        Ok(entries)
    }

    /// Tells the recipient a message reached them (on send, release or overturned appeal).
    pub(super) fn notify_delivered(&self, message: &Message) {
        let mut data = serde_json::json!({
            "message_id": message.id,
            "thread_id": message.thread_id,
            "from": message.from,
            "folder": message.verdict.route_or_folder(),
            "inmail": message.verdict.inmail,
        });
        // A sponsored delivery says so, with the advertiser's name, as the folder does.
        if let Some(mark) = &message.sponsored {
            data["sponsored"] = serde_json::json!(mark);
        }
        self.publish_event(
            message.to,
            Event {
                kind: "message.delivered",
                data,
            },
        );
    }
}

fn action_name(action: ReviewAction) -> &'static str {
    match action {
        ReviewAction::Release => "release",
        ReviewAction::Remove => "remove",
        ReviewAction::RestrictSender => "restrict_sender",
    }
}
