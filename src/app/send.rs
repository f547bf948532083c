//! Sending: validate → the judging pipeline (`pipeline.rs`: prepare, send context, judge)
//! → store (placed by `mailbox.rs`) → notify.
//!
//! On sled the relationship is read and the message assessed *outside* the write lock
//! (scoring is the expensive part, and the lock is the process's); inside the lock the
//! relationship is read again and the message re-assessed only if something changed in
//! between (a block, a spent credit), so the decision always matches the state it is stored
//! against. On PostgreSQL the send's transaction, which locks only its two members, is
//! opened first and the send judged on what it read there (`store/send_txn.rs`): the
//! second reading finds the same records, already fetched, and the verdict stands.

use serde::{Deserialize, Serialize};

use super::pipeline::{Draft, LimiterInput, SendContext};
use super::shared_limits::{content_refusal, LimiterWrite};
use super::{mailbox, App};
use crate::domain::{
    Attachment, AttachmentType, Decision, Folder, Format, Member, MemberId, Message, MessageKind,
    MessageStatus, Millis, Reason, SendSignals, Thread, ThreadId, Verdict,
};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{Reader, SponsoredReader, WriteTxn};

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

impl SendRequest {
    /// A plain-text message to `to` with everything else at its default: what most callers
    /// that embed the `App` (and the tests) send.
    pub fn text(to: MemberId, body: impl Into<String>) -> SendRequest {
        SendRequest {
            to,
            body: body.into(),
            format: Format::default(),
            kind: MessageKind::default(),
            thread_id: None,
            attachments: Vec::new(),
            idempotency_key: None,
        }
    }
}

/// SHA-256 of everything that makes a send what it is (not the key itself): a retry has
/// the same hash, a different message under the same key does not.
pub(super) fn request_hash(request: &SendRequest) -> [u8; 32] {
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
    pub(super) fn of(message: &Message, sender: &Member, replayed: bool) -> SendOutcome {
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

impl Draft {
    fn of(request: &SendRequest) -> Draft {
        Draft {
            to: request.to,
            thread_id: request.thread_id,
            kind: request.kind,
        }
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
                match &self.shared_limits {
                    None => self.note_rate_limit_refusal(sender),
                    Some(shared) => self.note_refusal_shared(shared, sender).await,
                }
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
        if let Some(thread) = request.thread_id {
            if let Some(campaign) = self.store.sponsored_thread(thread)? {
                return self.reply_to_sponsored(sender, campaign, &request).await;
            }
        }
        let now = self.clock.now();
        let prepared = self.prepare(request.format, &request.body, &request.attachments)?;
        if let Some(replay) = self.replay(&self.store, sender, &request)? {
            return Ok(replay);
        }
        let draft = Draft::of(&request);
        // Everything a send reads and writes is keyed by its two members (or is a campaign
        // record, which the store locks itself): on PostgreSQL the send's transaction opens
        // now, locking the two members only (sends of other members commit side by side),
        // and the send is judged on the context read in it, once (`store/send_txn.rs`).
        let open = self
            .store
            .open_send(
                sender,
                request.to,
                request.thread_id,
                self.shared_limits.is_none(),
            )
            .await?;
        let admitted = match &self.shared_limits {
            None => {
                let input = LimiterInput::Store;
                self.send_context(&open, sender, &draft, now, &prepared, &input)
                    .map(|context| {
                        let verdict = self.judge(&prepared.message, Some(&context));
                        (context, verdict, input, LimiterWrite::InBatch)
                    })
            }
            Some(shared) => self
                .admit_shared(shared, &open, sender, &draft, now, &prepared)
                .await
                .map(|admitted| {
                    (
                        admitted.context,
                        admitted.verdict,
                        admitted.input,
                        admitted.write,
                    )
                }),
        };
        let (context, verdict, limiter_input, limiter_write) = match admitted {
            Ok(admitted) => admitted,
            Err(error) => {
                open.abandon();
                return Err(error);
            }
        };
        let store_started = std::time::Instant::now();
        let write = open.finish(|txn| {
            if let Some(replay) = self.replay(txn, sender, &request)? {
                return Ok((replay, None));
            }
            // A send that waited for the lock behind a later-stamped one is judged at its
            // own "now"; the limiter never lets one sender's time run backwards
            // (`RateState::effective_now`), so it is not refused within its burst, and the
            // verdict judged outside the lock stays valid.
            let current = self.send_context(txn, sender, &draft, now, &prepared, &limiter_input)?;
            let verdict = if current == context {
                verdict
            } else {
                self.judge(&prepared.message, Some(&current))
            };
            if let Some(refusal) = content_refusal(&verdict) {
                return Err(refusal);
            }
            let (message, announce) =
                self.store_send(txn, &current, &request, verdict, now, &limiter_write)?;
            let outcome = SendOutcome::of(&message, &current.sender, false);
            Ok::<_, Error>((outcome, Some((message, announce))))
        });
        let ((outcome, message), ticket) = write.await?;
        // Counted as soon as it is written, before the durability wait: a client that
        // disconnects now cancels this future, but the message is stored all the same.
        if message.is_some() {
            metrics::counter!("sendguard_sends_total", "decision" => outcome.decision.as_str())
                .increment(1);
        }
        self.store.durable(ticket).await;
        metrics::histogram!("sendguard_stage_seconds", "stage" => "store")
            .record(store_started.elapsed().as_secs_f64());

        if let Some((message, announce)) = message {
            self.verdict_decided(&message);
            if message.verdict.sanction.is_some() {
                self.restriction_changed(sender, true);
            }
            if announce {
                self.notify_delivered(&message);
            }
        }
        Ok(outcome)
    }

    fn validate(&self, request: &SendRequest) -> Result<()> {
        if request.kind == MessageKind::Sponsored {
            return Err(Error::forbidden(
                "sponsored_not_allowed",
                "kind sponsored is sent only by advertisers, through a sponsored campaign",
            )
            .field("kind"));
        }
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
            super::text_fields::bounded_text("idempotency_key", key, 1, MAX_IDEMPOTENCY_KEY_CHARS)?;
        }
        Ok(())
    }

    /// The stored outcome of an earlier send with the same idempotency key, if any.
    pub(super) fn replay(
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
}

impl App {
    /// Writes the message, both members' thread views, the limiter state (and any sanction it
    /// brings), the InMail charge and the idempotency record, all in the caller's batch.
    /// Returns the message and whether to announce it to the recipient (delivered, and not
    /// into a thread they reported).
    fn store_send(
        &self,
        txn: &mut WriteTxn<'_>,
        context: &SendContext,
        request: &SendRequest,
        mut verdict: Verdict,
        now: Millis,
        limiter_write: &LimiterWrite,
    ) -> Result<(Message, bool)> {
        let sender = context.sender.id;
        let mut state = context.limiter_state.clone();
        match limiter_write {
            LimiterWrite::InBatch => {
                let striking = super::pipeline::striking_signals(context, &verdict);
                if let Some(sanction) = self.limiter.record(&mut state, &context.facts, &striking) {
                    super::sanctions::apply(txn, sender, &sanction, now)?;
                    verdict.sanction = Some(sanction);
                }
            }
            LimiterWrite::Recorded { sanction, .. } => {
                if let Some(sanction) = sanction {
                    super::sanctions::apply(txn, sender, sanction, now)?;
                    verdict.sanction = Some(sanction.clone());
                }
            }
        }
        let recipient = request.to;
        let thread = match &context.thread {
            Some(thread) => thread.clone(),
            None => {
                let thread = Thread {
                    id: txn.next_id()?,
                    members: [sender.min(recipient), sender.max(recipient)],
                    created_at: now,
                };
                txn.put_new_thread(&thread);
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
            sponsored: None,
            text_removed: None,
            sealed_body: None,
        };
        txn.put_message(&message);

        mailbox::record_sent(txn, &message, now)?;
        let announce = if delivered {
            let folder = message.verdict.folder().unwrap_or(message.verdict.route);
            mailbox::deliver(txn, &message, folder, now)?
        } else {
            mailbox::queue_held(txn, &message, now)?;
            false
        };
        let campaign = match &context.template {
            Some(signature) => {
                self.record_campaign_send(txn, context.campaign.as_ref(), signature, &message, now)?
            }
            None => 0,
        };
        self.limiter.record_outreach(
            &mut state,
            &context.facts,
            context.template.as_ref(),
            delivered,
            campaign,
        );
        // On Redis the limiter state was saved before this batch (compare-and-set), and the
        // store's copy is the fallback ledger: it is not overwritten with Redis's state.
        // On Redis the outreach record (template history, reactions) was recorded in that
        // same compare-and-set (docs/CAMPAIGNS.md, "Several replicas").
        if matches!(limiter_write, LimiterWrite::InBatch) {
            txn.put_sender_state(sender, &state);
        }
        if context.thread.is_some() {
            // A reply in a thread is the recipient's answer to this sender's outreach. When
            // admission read the recipient's reactions and they answer no outreach (most
            // replies), there is nothing to note and nothing to read again.
            let reaction = crate::limits::Reaction::Replied;
            let answers_nothing = match limiter_write {
                LimiterWrite::Recorded {
                    recipient_reactions: Some(reactions),
                    ..
                } => !self
                    .limiter
                    .would_note_reaction(reactions, sender, reaction),
                _ => false,
            };
            if !answers_nothing {
                self.note_reaction(txn, recipient, sender, reaction)?;
            }
        }
        if let Some(ledger) = &context.inmail_ledger {
            if message.verdict.inmail {
                self.charge_inmail(txn, &context.sender, ledger.clone(), &message);
            }
        }
        if let Some(key) = &request.idempotency_key {
            txn.put_idempotent_send(sender, key, message.id, &request_hash(request));
        }
        Ok((message, announce))
    }
}
