//! Statements of reasons: for every hold and restriction, the sender can read what was
//! done, the facts and rules relied on, whether it was automated, and how to appeal.

use serde::Serialize;

use super::App;
use crate::domain::{
    AppealOutcome, AppealTarget, MemberId, MessageId, MessageStatus, Millis, Reason, Restriction,
    RestrictionLevel,
};
use crate::error::Result;
use crate::store::{Reader, ReviewReader};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppealStatus {
    pub allowed: bool,
    pub appeal_id: Option<u64>,
    pub outcome: Option<AppealOutcome>,
    /// How to appeal, in words a member can follow.
    pub how: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Statement {
    /// `hold` or `restriction`.
    pub kind: &'static str,
    pub message_id: Option<MessageId>,
    pub restriction: Option<RestrictionLevel>,
    pub at: Millis,
    /// What was done, in one sentence.
    pub action: String,
    /// Where it stands now (`held`, `removed`, `released`, `recalled`, `active`, or
    /// `overturned` for a restriction an appeal lifted).
    pub status: String,
    pub facts: Vec<Reason>,
    pub automated: bool,
    pub appeal: AppealStatus,
}

impl App {
    pub fn statements(&self, member: MemberId) -> Result<Vec<Statement>> {
        let mut statements = Vec::new();
        for id in self.store.sender_holds(member) {
            let Some(message) = self.store.message(id?)? else {
                continue;
            };
            let decided_by_person = self
                .store
                .label(message.id)?
                .is_some_and(|l| l.source != crate::domain::LabelSource::MarkSafe);
            // The action as it stands now: a statement must not say "not shown" of a
            // message a reviewer or an appeal has since delivered.
            let (status, action) = match message.status {
                MessageStatus::Held => (
                    "held",
                    "Your message was held for review and not shown to the recipient.",
                ),
                MessageStatus::Removed => (
                    "removed",
                    "Your message was held for review, then removed: the recipient never saw it.",
                ),
                MessageStatus::Delivered => (
                    "released",
                    "Your message was held for review, then released to the recipient.",
                ),
                MessageStatus::Recalled => (
                    "recalled",
                    "Your message was held for review; you recalled it before the recipient saw it.",
                ),
            };
            let target = AppealTarget::Message {
                message_id: message.id,
            };
            statements.push(Statement {
                kind: "hold",
                message_id: Some(message.id),
                restriction: None,
                at: message.created_at,
                action: action.into(),
                status: status.into(),
                facts: message
                    .verdict
                    .reasons
                    .iter()
                    .map(Reason::for_member)
                    .collect(),
                automated: message.verdict.automated && !decided_by_person,
                appeal: self.appeal_status(
                    member,
                    &target,
                    matches!(message.status, MessageStatus::Held | MessageStatus::Removed),
                    &format!(
                        "POST /v1/appeals with {{\"message_id\": {}, \"reason\": \"...\"}}",
                        message.id
                    ),
                )?,
            });
        }
        for past in self.store.overturned_restrictions(member) {
            let past = past?;
            statements.push(self.restriction_statement(member, &past.restriction, "overturned")?);
        }
        if let Some(restriction) = self.store.member(member)?.and_then(|m| m.restriction) {
            statements.push(self.restriction_statement(member, &restriction, "active")?);
        }
        Ok(statements)
    }

    fn restriction_statement(
        &self,
        member: MemberId,
        restriction: &Restriction,
        status: &str,
    ) -> Result<Statement> {
        let target = AppealTarget::Restriction {
            since: restriction.since,
        };
        let action = match restriction.level {
            RestrictionLevel::NewConversations => {
                "You cannot start new conversations with members outside your network."
            }
            RestrictionLevel::Full => "You can only message your existing connections.",
        };
        Ok(Statement {
            kind: "restriction",
            message_id: None,
            restriction: Some(restriction.level),
            at: restriction.since,
            action: action.into(),
            status: status.into(),
            facts: vec![Reason::new(
                "sanction",
                "restriction",
                restriction.reason.clone(),
            )],
            automated: restriction.automated,
            appeal: self.appeal_status(
                member,
                &target,
                status == "active",
                "POST /v1/appeals with {\"reason\": \"...\"}",
            )?,
        })
    }

    fn appeal_status(
        &self,
        member: MemberId,
        target: &AppealTarget,
        appealable: bool,
        how: &str,
    ) -> Result<AppealStatus> {
        let existing = self.store.appeal_for(member, target)?;
        let outcome = match existing {
            Some(id) => self.store.appeal(id)?.and_then(|a| a.outcome),
            None => None,
        };
        Ok(AppealStatus {
            allowed: appealable && existing.is_none(),
            appeal_id: existing,
            outcome,
            how: how.into(),
        })
    }
}
