//! Sending: validate → relationship → engine → store → notify.
//!
//! The relationship is read and the message assessed *outside* the write lock (scoring is
//! the expensive part); inside the lock the relationship is read again and the message
//! re-assessed only if something changed in between (a block, a spent credit), so the
//! decision always matches the state it is stored against.

use serde::{Deserialize, Serialize};

use super::App;
use crate::domain::ReviewOrigin;
use crate::domain::{
    Attachment, AttachmentType, Decision, Folder, Format, Member, MemberId, Message, MessageKind,
    MessageStatus, Millis, Reason, RenderedBody, RestrictionLevel, SendSignals, Thread, ThreadId,
    ThreadView, Verdict,
};
use crate::engine::AssessInput;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{Check, Fingerprint, LimitSignal, Refusal, SendFacts, SenderState};
use crate::policy::{BehaviourSignal, Relationship};
use crate::store::{keys, Reader, WriteTxn};
use crate::text::Normalized;

const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
const MAX_ATTACHMENT_URL_CHARS: usize = 2048;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SendRequest {
    pub to: MemberId,
    pub body: String,
    #[serde(default)]
    pub format: Format,
    #[serde(default)]
    pub kind: MessageKind,
    #[serde(default)]
    pub thread_id: Option<ThreadId>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// SHA-256 of everything that makes a send what it is (not the key itself): a retry has
/// the same hash, a different message under the same key does not.
fn request_hash(request: &SendRequest) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::json!({
        "to": request.to,
        "body": request.body,
        "format": request.format,
        "kind": request.kind,
        "thread_id": request.thread_id,
        "attachments": request.attachments,
    });
    Sha256::digest(canonical.to_string().as_bytes()).into()
}

/// What the sender is told: the stored message and its verdict.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SendOutcome {
    pub message_id: u64,
    pub thread_id: ThreadId,
    pub decision: Decision,
    pub folder: Option<Folder>,
    pub inmail: bool,
    pub reasons: Vec<crate::domain::Reason>,
    pub score: Option<f64>,
    pub sender_restricted: bool,
    /// True when this answers a retry of an earlier send with the same idempotency key.
    pub replayed: bool,
}

impl SendOutcome {
    fn of(message: &Message, sender: &Member, replayed: bool) -> SendOutcome {
        SendOutcome {
            message_id: message.id,
            thread_id: message.thread_id,
            decision: message.verdict.decision,
            folder: message.verdict.folder(),
            inmail: message.verdict.inmail,
            reasons: message
                .verdict
                .reasons
                .iter()
                .map(Reason::for_member)
                .collect(),
            score: message.verdict.score,
            // The send that triggers a restriction carries it as its sanction: the member
            // record read before the write does not have it yet.
            sender_restricted: sender.restriction.is_some() || message.verdict.sanction.is_some(),
            replayed,
        }
    }
}

/// The facts a send is decided on, read from the store.
#[derive(Debug, Clone, PartialEq)]
struct SendContext {
    sender: Member,
    thread: Option<Thread>,
    relationship: Relationship,
    /// The InMail credit month to charge, when this send spends a credit.
    charge_month: Option<u32>,
    /// What the limiter knows of this send, and the behaviour signals it raised.
    facts: SendFacts,
    limit_signals: Vec<LimitSignal>,
    /// The sender's limiter state the check ran on; under the write lock it is the current
    /// one, so the write records onto it without reading it again.
    limiter_state: SenderState,
}

impl SendContext {
    fn behaviour(&self) -> Vec<BehaviourSignal> {
        self.limit_signals.iter().map(behaviour_signal).collect()
    }
}

/// A limiter signal as the policy reads it.
pub(super) fn behaviour_signal(signal: &LimitSignal) -> BehaviourSignal {
    BehaviourSignal {
        id: signal.id.to_string(),
        hold: signal.hold,
        score: signal.score,
        detail: signal.detail.clone(),
    }
}

/// A limiter refusal as an API error: 429 with Retry-After, or 403 for a restriction.
pub(super) fn refusal_error(refusal: Refusal) -> Error {
    metrics::counter!("sendguard_limit_trips_total", "limit" => refusal.limit_name).increment(1);
    if refusal.code == "rate_limited" {
        Error::new(ErrorKind::RateLimited, "rate_limited", refusal.detail)
            .limit(refusal.limit)
            .retry_after(refusal.retry_after_secs)
            .field(refusal.limit_name)
    } else {
        Error::forbidden("sender_restricted", refusal.detail)
    }
}

impl App {
    pub async fn send(&self, sender: MemberId, request: SendRequest) -> Result<SendOutcome> {
        let started = std::time::Instant::now();
        let result = self.send_inner(sender, request).await;
        metrics::histogram!("sendguard_send_seconds").record(started.elapsed().as_secs_f64());
        if let Err(error) = &result {
            metrics::counter!("sendguard_send_refusals_total", "code" => error.code).increment(1);
            self.count_refusal(error);
            if error.kind == ErrorKind::RateLimited {
                self.note_rate_limit_refusal(sender);
            }
        }
        result
    }

    /// Keeps a daily count of refused sends for reports (a refusal stores nothing else).
    /// Internal errors are failures, not refusals, and are not counted.
    fn count_refusal(&self, error: &Error) {
        if error.kind == ErrorKind::Internal {
            return;
        }
        let reason = match (error.kind, &error.field) {
            (ErrorKind::RateLimited, Some(limit)) => format!("{}/{limit}", error.code),
            _ => error.code.to_string(),
        };
        if let Err(store_error) = self.store.count_refusal(self.clock.now(), &reason) {
            tracing::warn!(%store_error, reason, "refusal counter not updated");
        }
    }

    async fn send_inner(&self, sender: MemberId, request: SendRequest) -> Result<SendOutcome> {
        self.validate(&request)?;
        let now = self.clock.now();
        let rendered = RenderedBody::render(request.format, &request.body);
        if let Some(link) = rendered.links.iter().find(|link| !link.has_safe_scheme()) {
            let shown: String = link.target.chars().take(40).collect();
            return Err(Error::new(
                ErrorKind::Unprocessable,
                "unsafe_link",
                format!("links must be http, https or mailto (or relative); not {shown:?}"),
            )
            .field("body"));
        }
        let normalized = self.engine.normalize(&rendered);

        if let Some(replay) = self.replay(&self.store, sender, &request)? {
            return Ok(replay);
        }
        let fingerprint = self.limiter.fingerprint_tokens(&normalized.tokens);
        let context = self.send_context(&self.store, sender, &request, now, fingerprint)?;
        let verdict = self.assess_send(&normalized, &context);

        let store_started = std::time::Instant::now();
        let ((outcome, message), ticket) = self.store.write(|txn| {
            if let Some(replay) = self.replay(txn, sender, &request)? {
                return Ok((replay, None));
            }
            let current = self.send_context(txn, sender, &request, now, fingerprint)?;
            let verdict = if current == context {
                verdict
            } else {
                self.assess_send(&normalized, &current)
            };
            if let Some(reason) = &verdict.refused {
                return Err(Error::new(
                    ErrorKind::Unprocessable,
                    "content_rejected",
                    format!(
                        "this message cannot be sent (rule {}): {}",
                        reason.id, reason.detail
                    ),
                )
                .field("body"));
            }
            let message = self.store_send(txn, &current, &request, verdict, now)?;
            let outcome = SendOutcome::of(&message, &current.sender, false);
            Ok::<_, Error>((outcome, Some(message)))
        })?;
        // Counted as soon as it is written, before the durability wait: a client that
        // disconnects now cancels this future, but the message is stored all the same.
        if message.is_some() {
            metrics::counter!("sendguard_sends_total", "decision" => outcome.decision.as_str())
                .increment(1);
        }
        self.store.durable(ticket).await;
        metrics::histogram!("sendguard_stage_seconds", "stage" => "store")
            .record(store_started.elapsed().as_secs_f64());

        if let Some(message) = message {
            if message.status == MessageStatus::Delivered {
                self.notify_delivered(&message);
            }
        }
        Ok(outcome)
    }

    fn assess_send(&self, message: &Normalized, context: &SendContext) -> Verdict {
        self.engine.assess(&AssessInput {
            message,
            relationship: context.relationship,
            behaviour: &context.behaviour(),
        })
    }

    fn validate(&self, request: &SendRequest) -> Result<()> {
        self.validate_body(&request.body, !request.attachments.is_empty())?;
        if request.attachments.len() > self.config.max_attachments {
            return Err(Error::invalid_field("attachments", "too many attachments")
                .limit(self.config.max_attachments as u64));
        }
        for (i, attachment) in request.attachments.iter().enumerate() {
            let AttachmentType::Gif = attachment.kind;
            let url = attachment.url.as_str();
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.chars().count() > MAX_ATTACHMENT_URL_CHARS {
                return Err(Error::invalid_field(
                    &format!("attachments[{i}].url"),
                    "attachment url must be an http(s) URL of at most 2048 characters",
                )
                .limit(MAX_ATTACHMENT_URL_CHARS as u64));
            }
        }
        if let Some(key) = &request.idempotency_key {
            if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
                return Err(Error::invalid_field(
                    "idempotency_key",
                    "idempotency_key must be 1-128 characters",
                )
                .limit(MAX_IDEMPOTENCY_KEY_CHARS as u64));
            }
        }
        Ok(())
    }

    /// The product's body rules, shared by sending and assessing.
    pub(super) fn validate_body(&self, body: &str, has_attachments: bool) -> Result<()> {
        let limit = self.config.max_body_chars;
        // Unicode scalar values, as the product counts: 28,000 emoji fit, 28,001 letters don't.
        if body.chars().nth(limit).is_some() {
            return Err(Error::new(
                ErrorKind::Unprocessable,
                "too_long",
                format!("body is longer than {limit} characters"),
            )
            .field("body")
            .limit(limit as u64));
        }
        if body.trim().is_empty() && !has_attachments {
            return Err(
                Error::new(ErrorKind::Unprocessable, "empty_body", "body is empty").field("body"),
            );
        }
        Ok(())
    }

    /// The stored outcome of an earlier send with the same idempotency key, if any.
    fn replay(
        &self,
        reader: &impl Reader,
        sender: MemberId,
        request: &SendRequest,
    ) -> Result<Option<SendOutcome>> {
        let Some(key) = &request.idempotency_key else {
            return Ok(None);
        };
        let Some((message_id, stored_hash)) = reader.idempotent_send(sender, key)? else {
            return Ok(None);
        };
        // Another request under a used key is a client bug; replaying the first answer
        // would silently drop the second message.
        if stored_hash.is_some_and(|hash| hash != request_hash(request)) {
            return Err(Error::new(
                ErrorKind::Unprocessable,
                "idempotency_key_reused",
                "this idempotency_key was already used for a different request; \
                 use a new key for a new message",
            )
            .field("idempotency_key"));
        }
        let message = reader.message(message_id)?;
        let member = reader.member(sender)?;
        match (message, member) {
            (Some(message), Some(member)) => Ok(Some(SendOutcome::of(&message, &member, true))),
            _ => Ok(None),
        }
    }

    fn send_context(
        &self,
        reader: &impl Reader,
        sender_id: MemberId,
        request: &SendRequest,
        now: Millis,
        fingerprint: Option<Fingerprint>,
    ) -> Result<SendContext> {
        let sender = reader
            .member(sender_id)?
            .ok_or_else(|| Error::unauthorized("the token's member no longer exists"))?;
        let to = request.to;
        if to == sender_id {
            return Err(Error::invalid_field(
                "to",
                "a member cannot message themselves",
            ));
        }
        if reader.member(to)?.is_none() {
            return Err(
                Error::not_found("unknown_recipient", format!("no member {to}")).field("to"),
            );
        }
        let thread = match request.thread_id {
            Some(id) => {
                let thread = reader
                    .thread(id)?
                    .filter(|t| t.has(sender_id))
                    .ok_or_else(|| {
                        Error::not_found("thread_not_found", format!("no thread {id}"))
                            .field("thread_id")
                    })?;
                if thread.other(sender_id) != to {
                    return Err(Error::invalid_field(
                        "to",
                        "to must be the other participant of thread_id",
                    ));
                }
                Some(thread)
            }
            None => match reader.thread_between(sender_id, to)? {
                Some(id) => reader.thread(id)?,
                None => None,
            },
        };
        if reader.blocked(to, sender_id)? {
            return Err(Error::forbidden(
                "blocked",
                "this member cannot be messaged",
            ));
        }
        if reader.blocked(sender_id, to)? {
            return Err(Error::forbidden(
                "blocked",
                "you have blocked this member; unblock them to send",
            ));
        }
        let connected = reader.connected(sender_id, to)?;
        let recipient_replied = match &thread {
            Some(thread) => reader
                .view(to, thread.id)?
                .is_some_and(|view| view.sent_any),
            None => false,
        };
        if let Some(restriction) = &sender.restriction {
            let refused = match restriction.level {
                RestrictionLevel::Full => !connected,
                RestrictionLevel::NewConversations => !connected && thread.is_none(),
            };
            if refused {
                return Err(Error::forbidden(
                    "sender_restricted",
                    "your account is restricted from this conversation; see your appeal options",
                ));
            }
        }
        let mut charge_month = None;
        if request.kind == MessageKind::Inmail && !connected {
            let credits = self.config.inmail_credits(sender.plan);
            if credits == 0 {
                return Err(Error::forbidden(
                    "inmail_not_allowed",
                    "your plan does not include InMail",
                )
                .field("kind"));
            }
            let month = keys::month_of(now);
            if reader.inmail_spent(sender_id, month)? >= credits {
                return Err(Error::forbidden(
                    "inmail_quota_exhausted",
                    format!("all {credits} InMail credits of this month are spent"),
                )
                .field("kind")
                .limit(u64::from(credits)));
            }
            charge_month = Some(month);
        }
        let facts = SendFacts {
            now,
            account_created_at: sender.created_at,
            recipient: to,
            connected,
            new_conversation: thread.is_none(),
            fingerprint,
        };
        let limits_started = std::time::Instant::now();
        let state = reader.sender_state(sender_id)?.unwrap_or_default();
        let checked = self.limiter.check(&state, &facts);
        metrics::histogram!("sendguard_stage_seconds", "stage" => "limits")
            .record(limits_started.elapsed().as_secs_f64());
        let limit_signals = match checked {
            Check::Refuse(refusal) => return Err(refusal_error(refusal)),
            Check::Proceed(signals) => signals,
        };
        Ok(SendContext {
            relationship: Relationship {
                connected,
                recipient_replied,
                inmail: charge_month.is_some(),
            },
            sender,
            thread,
            charge_month,
            facts,
            limit_signals,
            limiter_state: state,
        })
    }
}

impl App {
    /// Writes the message, both members' thread views, the limiter state (and any sanction it
    /// brings), the InMail charge and the idempotency record, all in the caller's batch.
    fn store_send(
        &self,
        txn: &mut WriteTxn<'_>,
        context: &SendContext,
        request: &SendRequest,
        mut verdict: Verdict,
        now: Millis,
    ) -> Result<Message> {
        let sender = context.sender.id;
        let mut state = context.limiter_state.clone();
        if let Some(sanction) =
            self.limiter
                .record(&mut state, &context.facts, &context.limit_signals)
        {
            super::sanctions::apply(txn, sender, &sanction, now)?;
            verdict.sanction = Some(sanction);
        }
        txn.put_sender_state(sender, &state);
        let recipient = request.to;
        let thread = match &context.thread {
            Some(thread) => thread.clone(),
            None => {
                let thread = Thread {
                    id: txn.next_id()?,
                    members: [sender.min(recipient), sender.max(recipient)],
                    created_at: now,
                };
                txn.put_thread(&thread);
                thread
            }
        };
        let delivered = verdict.decision != Decision::Held;
        let message = Message {
            id: txn.next_id()?,
            thread_id: thread.id,
            from: sender,
            to: recipient,
            body: request.body.clone(),
            format: request.format,
            kind: request.kind,
            attachments: request.attachments.clone(),
            created_at: now,
            status: if delivered {
                MessageStatus::Delivered
            } else {
                MessageStatus::Held
            },
            verdict,
            signals: SendSignals {
                relationship: context.relationship,
                behaviour: context.behaviour(),
            },
            recalled_at: None,
            previous_verdicts: Vec::new(),
        };
        txn.put_message(&message);

        // The sender's own view: their conversation is in their Inbox once they write in it.
        let previous = txn.view(sender, thread.id)?;
        let mut view = previous.clone().unwrap_or(ThreadView {
            thread_id: thread.id,
            member: sender,
            other: recipient,
            placement: Folder::Inbox,
            archived: false,
            last_activity: now,
            last_read: 0,
            sent_any: false,
        });
        view.placement = Folder::Inbox;
        view.archived = false;
        view.last_activity = now;
        view.last_read = message.id;
        view.sent_any |= delivered;
        txn.put_view(previous.as_ref(), &view);

        if delivered {
            let folder = message.verdict.folder().unwrap_or(message.verdict.route);
            deliver_to_recipient(txn, &message, folder, now)?;
        } else {
            super::review::enqueue(txn, &message, ReviewOrigin::Held, None, now)?;
            txn.note_sender_hold(sender, message.id);
        }
        if let Some(month) = context.charge_month {
            if message.verdict.inmail {
                let spent = txn.inmail_spent(sender, month)?;
                txn.set_inmail_spent(sender, month, spent + 1);
            }
        }
        if let Some(key) = &request.idempotency_key {
            txn.put_idempotent_send(sender, key, message.id, &request_hash(request));
        }
        Ok(message)
    }
}

/// Shows a delivered message to its recipient: the thread lands in (or returns to) the
/// verdict's folder, or stays in the Inbox once it is there.
pub(super) fn deliver_to_recipient(
    txn: &mut WriteTxn<'_>,
    message: &Message,
    folder: Folder,
    now: Millis,
) -> Result<()> {
    let previous = txn.view(message.to, message.thread_id)?;
    let mut view = previous.clone().unwrap_or(ThreadView {
        thread_id: message.thread_id,
        member: message.to,
        other: message.from,
        placement: folder,
        archived: false,
        last_activity: now,
        last_read: 0,
        sent_any: false,
    });
    if view.placement != Folder::Inbox {
        view.placement = folder;
    }
    view.archived = false;
    view.last_activity = now;
    txn.put_view(previous.as_ref(), &view);
    Ok(())
}
