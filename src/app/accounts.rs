//! Accounts: members, connections, reviewers, restrictions, and resolving bearer tokens.

use serde::{Deserialize, Serialize};

use super::App;
use crate::auth;
use crate::domain::{
    Actor, AuditEntry, Member, MemberId, Plan, Principal, Restriction, RestrictionLevel, Reviewer,
    ReviewerId,
};
use crate::error::{Error, ErrorKind, Result};
use crate::store::Reader;

const MAX_HANDLE_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 128;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    pub handle: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub plan: Plan,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedMember {
    pub member_id: MemberId,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedReviewer {
    pub reviewer_id: ReviewerId,
    pub token: String,
}

impl App {
    pub async fn create_member(&self, new: NewMember) -> Result<CreatedMember> {
        let handle = new.handle.trim().to_lowercase();
        let handle_ok = !handle.is_empty()
            && handle.chars().count() <= MAX_HANDLE_CHARS
            && handle
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !handle_ok {
            return Err(Error::invalid_field(
                "handle",
                "handle must be 1-64 characters of a-z, 0-9, '-', '_' or '.'",
            )
            .limit(MAX_HANDLE_CHARS as u64));
        }
        let display_name = new.display_name.unwrap_or_else(|| handle.clone());
        super::text_fields::bounded_text("display_name", &display_name, 0, MAX_NAME_CHARS)?;
        let token = auth::new_token("sgm");
        let now = self.clock.now();
        let member_id = self
            .commit(|txn| {
                if self.store.member_by_handle(&handle)?.is_some() {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "handle_taken",
                        format!("handle {handle:?} is already taken"),
                    )
                    .field("handle"));
                }
                let id = txn.next_id()?;
                txn.put_member(&Member {
                    id,
                    handle: handle.clone(),
                    display_name,
                    plan: new.plan,
                    created_at: now,
                    restriction: None,
                });
                txn.put_token(&auth::hash_token(&token), &Principal::Member(id));
                // The ledger opens with the member, so unused credits roll over from the start.
                let terms = self.config.credit_terms(new.plan);
                let month = crate::dates::month_of(now);
                let ledger =
                    crate::domain::InmailLedger::opened(month, terms.monthly_grant, &terms);
                txn.put_inmail_ledger(id, &ledger);
                Ok(id)
            })
            .await?;
        Ok(CreatedMember { member_id, token })
    }

    /// Connects two members (mutual, idempotent).
    pub async fn connect(&self, a: MemberId, b: MemberId) -> Result<()> {
        if a == b {
            return Err(Error::invalid_field(
                "b",
                "a member cannot connect to themselves",
            ));
        }
        self.commit(|txn| {
            for (field, id) in [("a", a), ("b", b)] {
                if txn.member(id)?.is_none() {
                    return Err(
                        Error::not_found("unknown_member", format!("no member {id}")).field(field),
                    );
                }
            }
            txn.connect(a, b);
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn create_reviewer(&self, name: &str) -> Result<CreatedReviewer> {
        let name = name.trim();
        super::text_fields::bounded_text("name", name, 1, MAX_NAME_CHARS)?;
        let token = auth::new_token("sgr");
        let now = self.clock.now();
        let reviewer_id = self
            .commit(|txn| {
                let id = txn.next_id()?;
                txn.put_reviewer(&Reviewer {
                    id,
                    name: name.to_string(),
                    created_at: now,
                });
                txn.put_token(&auth::hash_token(&token), &Principal::Reviewer(id));
                Ok::<_, Error>(id)
            })
            .await?;
        Ok(CreatedReviewer { reviewer_id, token })
    }

    /// Restricts (or, with `None`, lifts the restriction of) a member.
    pub async fn set_restriction(
        &self,
        member: MemberId,
        level: Option<RestrictionLevel>,
        reason: &str,
    ) -> Result<()> {
        let now = self.clock.now();
        self.commit(|txn| {
            let mut record = txn
                .member(member)?
                .ok_or_else(|| Error::not_found("unknown_member", format!("no member {member}")))?;
            match level {
                Some(level) => {
                    record.restriction = Some(Restriction {
                        level,
                        reason: reason.to_string(),
                        since: now,
                        automated: false,
                    });
                    txn.put_member(&record);
                }
                None => {
                    self.clear_restriction(txn, member)?;
                }
            }
            txn.audit(
                AuditEntry::new(
                    now,
                    Actor::Admin,
                    if level.is_some() {
                        "restrict"
                    } else {
                        "lift_restriction"
                    },
                )
                .member(member)
                .why(reason.to_string()),
            )?;
            Ok::<_, Error>(())
        })
        .await?;
        self.restriction_changed(member, level.is_some());
        Ok(())
    }

    /// Who a token belongs to; `None` for an unknown token.
    pub async fn principal(&self, token: &str) -> Result<Option<Principal>> {
        let principal = self
            .store
            .principal_for_token_hash_here(&auth::hash_token(token))
            .await?;
        Ok(principal)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedService {
    pub service_id: u64,
    pub token: String,
}

impl App {
    /// A token for another service of the platform, allowed to call `/v1/assess`.
    pub async fn create_service(&self, name: &str) -> Result<CreatedService> {
        let name = name.trim();
        super::text_fields::bounded_text("name", name, 1, MAX_NAME_CHARS)?;
        let token = auth::new_token("sgs");
        let service_id = self
            .commit(|txn| {
                let id = txn.next_id()?;
                txn.put_token(&auth::hash_token(&token), &Principal::Service(id));
                Ok::<_, Error>(id)
            })
            .await?;
        Ok(CreatedService { service_id, token })
    }
}
