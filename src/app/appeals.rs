//! Appeals: a sender contests a hold or a restriction, once per item; reviewers uphold or
//! overturn, and an overturn undoes the original decision.

use serde::{Deserialize, Serialize};

use super::App;
use crate::domain::{
    Actor, Appeal, AppealOutcome, AppealTarget, AuditEntry, Label, LabelRecord, LabelSource,
    MemberId, MessageId, MessageStatus, ReviewerId,
};
use crate::error::{Error, ErrorKind, Result};
use crate::notify::decisions::Decided;
use crate::store::{Reader, ReviewReader};

const MAX_REASON_CHARS: usize = 2000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AppealRequest {
    #[serde(default)]
    pub message_id: Option<MessageId>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AppealDecisionRequest {
    pub outcome: AppealOutcome,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedAppeal {
    pub appeal_id: u64,
}

fn conflict(code: &'static str, message: &str) -> Error {
    Error::new(ErrorKind::Conflict, code, message)
}

impl App {
    pub async fn appeal(&self, member: MemberId, request: AppealRequest) -> Result<CreatedAppeal> {
        let reason = request.reason.trim();
        super::text_fields::bounded_text("reason", reason, 1, MAX_REASON_CHARS)?;
        let now = self.clock.now();
        let appeal_id = self
            .commit(|txn| {
                let target = match request.message_id {
                    Some(message_id) => {
                        let message = txn
                            .message(message_id)?
                            .filter(|m| m.from == member)
                            .ok_or_else(|| {
                                Error::not_found("message_not_found", "no such message")
                                    .field("message_id")
                            })?;
                        if !matches!(message.status, MessageStatus::Held | MessageStatus::Removed) {
                            return Err(conflict(
                                "not_appealable",
                                "only held or removed messages can be appealed",
                            ));
                        }
                        AppealTarget::Message { message_id }
                    }
                    None => {
                        let record = txn
                            .member(member)?
                            .ok_or_else(|| Error::unauthorized("no such member"))?;
                        let restriction = record.restriction.ok_or_else(|| {
                            conflict("not_restricted", "your account is not restricted")
                        })?;
                        AppealTarget::Restriction {
                            since: restriction.since,
                        }
                    }
                };
                if txn.appeal_for(member, &target)?.is_some() {
                    return Err(conflict(
                        "already_appealed",
                        "this decision has already been appealed",
                    ));
                }
                let appeal = Appeal {
                    id: txn.next_id()?,
                    member,
                    target,
                    reason: reason.to_string(),
                    created_at: now,
                    outcome: None,
                    decided_by: None,
                    note: None,
                    decided_at: None,
                };
                txn.put_appeal(&appeal);
                txn.audit(
                    AuditEntry::new(now, Actor::Member(member), "appeal")
                        .message(request.message_id)
                        .member(member)
                        .item(appeal.id),
                )?;
                Ok::<_, Error>(appeal.id)
            })
            .await?;
        Ok(CreatedAppeal { appeal_id })
    }

    /// Open appeals, oldest first.
    pub fn open_appeals(&self, limit: usize) -> Result<Vec<Appeal>> {
        let mut appeals = Vec::new();
        for id in self.store.open_appeals().take(limit) {
            if let Some(appeal) = self.store.appeal(id?)? {
                appeals.push(appeal);
            }
        }
        Ok(appeals)
    }

    pub async fn decide_appeal(
        &self,
        reviewer: ReviewerId,
        appeal_id: u64,
        request: AppealDecisionRequest,
    ) -> Result<()> {
        super::text_fields::bounded_optional("note", request.note.as_deref(), MAX_REASON_CHARS)?;
        let now = self.clock.now();
        let released = self
            .commit(|txn| {
                let mut appeal = txn
                    .appeal(appeal_id)?
                    .ok_or_else(|| Error::not_found("appeal_not_found", "no such appeal"))?;
                if appeal.outcome.is_some() {
                    return Err(conflict(
                        "already_decided",
                        "this appeal already has an outcome",
                    ));
                }
                let mut released = None;
                let mut lifted = None;
                if request.outcome == AppealOutcome::Overturned {
                    match appeal.target {
                        AppealTarget::Message { message_id } => {
                            if let Some(mut message) = txn.message(message_id)? {
                                if super::mailbox::release(txn, &mut message, now)?.shown() {
                                    released = Some(message.clone());
                                }
                                // The removal is reversed, so is the strike it gave.
                                let (source, detail) = super::sanctions::removal_strike(message_id);
                                self.withdraw_strike(txn, message.from, source, &detail, now)?;
                                txn.put_label(&LabelRecord {
                                    message_id,
                                    label: Label::Ham,
                                    source: LabelSource::Appeal,
                                    at: now,
                                });
                                // An open review item for the message is settled by the appeal.
                                if let Some(item_id) = txn.open_review_item_for(message_id)? {
                                    if let Some(mut item) = txn.review_item(item_id)? {
                                        item.decision = Some(crate::domain::ReviewDecision {
                                            reviewer,
                                            label: Label::Ham,
                                            action: crate::domain::ReviewAction::Release,
                                            note: Some(format!("released by appeal {appeal_id}")),
                                            at: now,
                                        });
                                        txn.put_review_item(&item);
                                    }
                                }
                            }
                        }
                        AppealTarget::Restriction { .. } => {
                            // Kept for the member's statements of reasons, marked overturned.
                            if let Some(restriction) =
                                txn.member(appeal.member)?.and_then(|m| m.restriction)
                            {
                                txn.put_overturned_restriction(
                                    appeal.member,
                                    &crate::domain::OverturnedRestriction {
                                        restriction,
                                        appeal_id,
                                        overturned_at: now,
                                    },
                                );
                            }
                            self.clear_restriction(txn, appeal.member)?;
                            lifted = Some(appeal.member);
                        }
                    }
                }
                appeal.outcome = Some(request.outcome);
                appeal.decided_by = Some(reviewer);
                appeal.note = request.note.clone();
                appeal.decided_at = Some(now);
                txn.put_appeal(&appeal);
                txn.audit(
                    AuditEntry::new(
                        now,
                        Actor::Reviewer(reviewer),
                        match request.outcome {
                            AppealOutcome::Upheld => "decide_appeal:upheld",
                            AppealOutcome::Overturned => "decide_appeal:overturned",
                        },
                    )
                    .message(match appeal.target {
                        AppealTarget::Message { message_id } => Some(message_id),
                        AppealTarget::Restriction { .. } => None,
                    })
                    .member(appeal.member)
                    .item(appeal.id)
                    .why(request.note.clone()),
                )?;
                let decided = Decided::AppealOutcome {
                    appeal_id: appeal.id,
                    member: appeal.member,
                    reviewer,
                    outcome: request.outcome,
                    message_id: match appeal.target {
                        AppealTarget::Message { message_id } => Some(message_id),
                        AppealTarget::Restriction { .. } => None,
                    },
                };
                Ok::<_, Error>((released, lifted, decided))
            })
            .await?;
        let (released, lifted, decided) = released;
        self.decided(decided);
        if let Some(message) = released {
            self.notify_delivered(&message);
        }
        if let Some(member) = lifted {
            self.restriction_changed(member, false);
        }
        Ok(())
    }
}
