//! The judging pipeline, top-down, shared by a send and by `POST /v1/assess`, so an
//! assessment is exactly the verdict a send would get, less the writes:
//!
//! 1. [`App::validate_body`]: the product's body rules (length in scalar values, empty).
//! 2. [`App::prepare`]: markdown rendered into visible text and every link's real target
//!    (unsafe link schemes refused), [`Engine::normalize`](crate::engine::Engine::normalize)
//!    once for every stage, and the fan-out fingerprint of the normalized tokens.
//! 3. [`App::send_context`]: the relationship read from the store (blocks, restriction,
//!    thread, connection, InMail credit (none once the recipient replied), did the
//!    recipient reply) and
//!    [`Limiter::check`](crate::limits::Limiter::check) (rates refuse; fan-out and cadence
//!    are signals).
//! 4. [`App::judge`]: [`Engine::assess`](crate::engine::Engine::assess) — rules, classifier,
//!    the behaviour signals, then `policy::decide`.
//!
//! The send path (`send.rs`) runs steps 3 and 4 again under the write lock only when the
//! context changed in between, and then stores the verdict (`mailbox.rs` places it).

use super::App;
use crate::domain::{
    Attachment, BehaviourSignal, Campaign, Decision, Format, InmailLedger, Link, Member, MemberId,
    MessageKind, Millis, Relationship, RenderedBody, RestrictionLevel, Thread, ThreadId, Verdict,
};
use crate::engine::AssessInput;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{
    Check, Fingerprint, LimitSignal, Refusal, SendFacts, SenderState, TemplateSignature,
};
use crate::store::{Reader, SponsoredReader};
use crate::text::Normalized;

/// Where [`App::send_context`] takes the sender's limiter state from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum LimiterInput {
    /// The reader's (the store's, or the write in progress): the embedded backend.
    Store,
    /// A state read elsewhere (Redis), with the limiter's "now" for it.
    Given {
        state: Box<SenderState>,
        now: Millis,
    },
    /// No state could be read (Redis unreachable): nothing is checked, no signal raised;
    /// `[limits] when_unreachable` decided that the send may go.
    Unchecked,
}

/// A message body ready to judge.
pub(super) struct Prepared {
    pub(super) message: Normalized,
    /// The fan-out fingerprint of the normalized tokens (`None` for too short a message).
    pub(super) fingerprint: Option<Fingerprint>,
    /// The template signature (`limits::template`), for the template and campaign signals.
    pub(super) template: Option<TemplateSignature>,
}

/// Where a message would go: the routing facts of a send (or of an assessment of one).
#[derive(Debug, Clone, Copy)]
pub(super) struct Draft {
    pub(super) to: MemberId,
    pub(super) thread_id: Option<ThreadId>,
    pub(super) kind: MessageKind,
}

/// The facts a send is decided on, read from the store.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SendContext {
    pub(super) sender: Member,
    pub(super) thread: Option<Thread>,
    pub(super) relationship: Relationship,
    /// The sender's InMail ledger as of now, when this send spends a credit.
    pub(super) inmail_ledger: Option<InmailLedger>,
    /// What the limiter knows of this send, and the behaviour signals it raised.
    pub(super) facts: SendFacts,
    pub(super) limit_signals: Vec<LimitSignal>,
    /// The sender's limiter state the check ran on; under the write lock it is the current
    /// one, so the write records onto it without reading it again.
    pub(super) limiter_state: SenderState,
    /// The send's template signature when it is outreach: a first message to a
    /// non-connection (none toward a connection or in an existing thread).
    pub(super) template: Option<TemplateSignature>,
    /// The campaign that template belongs to, as read with the rest of the context.
    pub(super) campaign: Option<Campaign>,
}

impl SendContext {
    pub(super) fn behaviour(&self) -> Vec<BehaviourSignal> {
        self.limit_signals.iter().map(behaviour_signal).collect()
    }
}

/// A limiter signal as the policy reads it.
fn behaviour_signal(signal: &LimitSignal) -> BehaviourSignal {
    BehaviourSignal {
        id: signal.id.to_string(),
        hold: signal.hold,
        score: signal.score,
        detail: signal.detail.clone(),
    }
}

/// 403 when the sender's restriction bars this send: a full one any send outside their
/// network, one from new conversations the first message to a stranger.
pub(super) fn restriction_refusal(
    sender: &Member,
    connected: bool,
    new_conversation: bool,
) -> Option<Error> {
    let refused = match sender.restriction.as_ref()?.level {
        RestrictionLevel::Full => !connected,
        RestrictionLevel::NewConversations => !connected && new_conversation,
    };
    refused.then(|| {
        Error::forbidden(
            "sender_restricted",
            "your account is restricted from this conversation; see your appeal options",
        )
    })
}

/// Counts a send the pipeline does not judge (a reply in a sponsored thread) against the
/// sender's limits: refused past a rate limit or a restriction, else recorded, raising no
/// strike (there are no behaviour signals to strike on).
pub(super) fn meter_unjudged(
    limiter: &crate::limits::Limiter,
    state: &mut SenderState,
    facts: &SendFacts,
) -> Result<()> {
    if let Check::Refuse(refusal) = limiter.check(state, facts) {
        return Err(refusal_error(refusal));
    }
    limiter.record(state, facts, &[]);
    Ok(())
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
        if crate::text::shows_nothing(body) && !has_attachments {
            return Err(Error::new(
                ErrorKind::Unprocessable,
                "empty_body",
                "body is empty (only whitespace or invisible characters)",
            )
            .field("body"));
        }
        Ok(())
    }

    /// Renders, checks link schemes, normalizes and fingerprints a body. The attachments'
    /// URLs are judged with it, as links: a GIF is fetched from its URL like any link's
    /// target, so a look-alike domain or a shortener there is the same risk.
    pub(super) fn prepare(
        &self,
        format: Format,
        body: &str,
        attachments: &[Attachment],
    ) -> Result<Prepared> {
        let mut rendered = RenderedBody::render(format, body);
        // Markup that renders to nothing visible (`[](https://…)`, an image) would deliver
        // a blank message carrying a hidden link.
        // (Plain text renders to itself; the first check stops at the first visible
        // character, so an ordinary message costs one character here.)
        if crate::text::shows_nothing(&rendered.visible_text) && !crate::text::shows_nothing(body) {
            return Err(Error::new(
                ErrorKind::Unprocessable,
                "empty_body",
                "body renders to nothing visible",
            )
            .field("body"));
        }
        if let Some(link) = rendered.links.iter().find(|link| !link.has_safe_scheme()) {
            let shown: String = link.target.chars().take(40).collect();
            return Err(Error::new(
                ErrorKind::Unprocessable,
                "unsafe_link",
                format!("links must be http, https or mailto (or relative); not {shown:?}"),
            )
            .field("body"));
        }
        rendered
            .links
            .extend(attachments.iter().map(|attachment| Link {
                text: String::new(),
                target: attachment.url.clone(),
            }));
        let message = self.engine.normalize(&rendered);
        let fingerprint = self.limiter.fingerprint_tokens(&message.tokens);
        let template = self.limiter.template_signature(&message.tokens);
        Ok(Prepared {
            message,
            fingerprint,
            template,
        })
    }

    /// The facts a message from `sender_id` is decided on, read through `reader` (the store,
    /// or the write in progress under the lock). Refuses what a send may not do: a block
    /// either way, a restriction, InMail without credit, a rate limit.
    pub(super) fn send_context(
        &self,
        reader: &impl Reader,
        sender_id: MemberId,
        draft: &Draft,
        now: Millis,
        prepared: &Prepared,
        limiter_input: &LimiterInput,
    ) -> Result<SendContext> {
        // On PostgreSQL, the records below in two round trips instead of one each.
        let reader = &crate::store::read_ahead_send(
            reader,
            sender_id,
            draft.to,
            draft.thread_id,
            self.shared_limits.is_none(),
        )?;
        let sender = reader
            .member(sender_id)?
            .ok_or_else(|| Error::unauthorized("the token's member no longer exists"))?;
        let to = draft.to;
        if to == sender_id {
            return Err(Error::invalid_field(
                "to",
                "a member cannot message themselves",
            ));
        }
        if draft.kind == MessageKind::Sponsored {
            return Err(Error::forbidden(
                "sponsored_not_allowed",
                "kind sponsored is sent only by advertisers, through a sponsored campaign",
            )
            .field("kind"));
        }
        if let Some(thread) = draft.thread_id {
            // A sponsored message's thread is its own: the advertiser is not a member.
            if let Some(campaign) = reader.sponsored_thread(thread)? {
                let participant = reader.thread(thread)?.is_some_and(|t| t.has(sender_id));
                if participant {
                    return Err(super::sponsored_threads::reply_refusal(reader, campaign)?);
                }
            }
        }
        if reader.member(to)?.is_none() {
            return Err(
                Error::not_found("unknown_recipient", format!("no member {to}")).field("to"),
            );
        }
        let thread = match draft.thread_id {
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
        if let Some(refusal) = restriction_refusal(&sender, connected, thread.is_none()) {
            return Err(refusal);
        }
        // Once the recipient replied, the thread is a conversation: an InMail costs nothing.
        let inmail_ledger = if draft.kind == MessageKind::Inmail && !connected && !recipient_replied
        {
            Some(self.ledger_to_charge(reader, &sender, now)?)
        } else {
            None
        };
        let facts = SendFacts {
            now: match limiter_input {
                LimiterInput::Given { now, .. } => *now,
                LimiterInput::Store | LimiterInput::Unchecked => now,
            },
            account_created_at: sender.created_at,
            recipient: to,
            connected,
            new_conversation: thread.is_none(),
            fingerprint: prepared.fingerprint,
        };
        let limits_started = std::time::Instant::now();
        let (state, checked) = match limiter_input {
            LimiterInput::Store => {
                let state = reader.sender_state(sender_id)?.unwrap_or_default();
                let checked = self.limiter.check(&state, &facts);
                (state, checked)
            }
            LimiterInput::Given { state, .. } => {
                (SenderState::clone(state), self.limiter.check(state, &facts))
            }
            LimiterInput::Unchecked => (SenderState::default(), Check::Proceed(Vec::new())),
        };
        metrics::histogram!("sendguard_stage_seconds", "stage" => "limits")
            .record(limits_started.elapsed().as_secs_f64());
        let mut limit_signals = match checked {
            Check::Refuse(refusal) => return Err(refusal_error(refusal)),
            Check::Proceed(signals) => signals,
        };
        // Templates are judged on outreach: first messages to members outside the network.
        let template = prepared
            .template
            .clone()
            .filter(|_| !connected && thread.is_none());
        limit_signals.extend(
            self.limiter
                .outreach_signals(&state, &facts, template.as_ref()),
        );
        let campaign = match &template {
            Some(signature) => self.match_campaign(reader, signature, now)?,
            None => None,
        };
        if let Some(campaign) = &campaign {
            limit_signals.extend(self.campaign_signal(campaign, sender_id, now));
        }
        Ok(SendContext {
            relationship: Relationship {
                connected,
                recipient_replied,
                inmail: inmail_ledger.is_some(),
                sponsored: false,
            },
            sender,
            thread,
            inmail_ledger,
            facts,
            limit_signals,
            limiter_state: state,
            template,
            campaign,
        })
    }

    /// The verdict on a prepared message in its context; without one (an assessment with no
    /// sender or recipient) the content alone decides, as for a stranger.
    pub(super) fn judge(&self, message: &Normalized, context: Option<&SendContext>) -> Verdict {
        let (relationship, behaviour) = match context {
            Some(context) => (context.relationship, context.behaviour()),
            None => (Relationship::default(), Vec::new()),
        };
        self.engine.assess(&AssessInput {
            message,
            relationship,
            behaviour: &behaviour,
        })
    }
}

/// The limit signals that count toward strikes: a signal that asked for a hold strikes only
/// when the policy held the message (the policy may grant near-identical outreach no hold,
/// recruiters, and then no strike). Shared by the embedded and the Redis limiter.
pub(super) fn striking_signals(context: &SendContext, verdict: &Verdict) -> Vec<LimitSignal> {
    let held = verdict.decision == Decision::Held;
    context
        .limit_signals
        .iter()
        .filter(|signal| !signal.hold || held)
        .cloned()
        .collect()
}
