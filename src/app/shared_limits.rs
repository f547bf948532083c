//! The limiter with its state on Redis (`[limits] backend = "redis"`), for several replicas.
//!
//! The embedded backend records a send's limiter state in the send's own store batch
//! (`send.rs`), byte for byte as before. With Redis the state is not in the store, so a
//! send is admitted *before* the store write: read the sender's state, version and the
//! server's time ([`RedisSenderStates::load`]), run the same check and judgement as the
//! embedded path, record the send on the state, and compare-and-set it back. If another
//! replica recorded a send of the same sender in between, decide again on its state. Only
//! then is the message written; the sanction the record raised goes into that batch.
//!
//! Consequences, chosen deliberately: allowance is consumed before the message is stored,
//! so a store failure after admission costs the sender one unit of allowance (never lets
//! one more send through); a send refused by the store afterwards (a block that landed in
//! between) was still counted.
//!
//! Restrictions: the member record is what every send checks. A lift clears the record and
//! the Redis ledger; if Redis did not answer then, the ledger follows on the sender's next
//! send, once the record has gone without the restriction for `restriction_sync_grace_secs`
//! after the ledger raised it (younger, the send that raised it may not have reached the
//! store yet).
//!
//! Redis unreachable: `[limits] when_unreachable` decides (see `limits::config`); a send let
//! through unchecked records nothing.
//!
//! Strikes from reviewers and reports, and lifts, are decided inside a store write, which
//! cannot await: they update the Redis ledger synchronously (one round trip, moved off the
//! async workers with `block_in_place`), so behaviour and report strikes add up in one
//! ledger. If Redis does not answer, the strike goes to the store's ledger instead (not
//! lost; its sanction still reaches the member record) and a warning is logged.

use super::pipeline::{Draft, LimiterInput, Prepared, SendContext};
use super::App;
use crate::domain::{MemberId, Millis, Sanction, Verdict};
use crate::error::{Error, ErrorKind, Result};
use crate::limits::redis_state::{retention_ms, RedisSenderStates, RedisStateError, Snapshot};
use crate::limits::{LimitsClock, LimitsConfig, ReactionState, SendFacts, WhenUnreachable};
use crate::store::Reader;

/// How the limiter state of a send is written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum LimiterWrite {
    /// Recorded in the send's store batch (embedded backend).
    InBatch,
    /// Already recorded on Redis; the sanction it raised, if any, goes in the batch.
    Recorded {
        sanction: Option<Sanction>,
        /// For a reply, its recipient's reactions as read beside the sender's state during
        /// admission (`None`: not read; the write reads them itself, blocking).
        recipient_reactions: Option<ReactionState>,
    },
}

/// A send admitted by the Redis limiter: what the store write re-checks and writes.
pub(super) struct Admitted {
    pub(super) context: SendContext,
    pub(super) verdict: Verdict,
    pub(super) input: LimiterInput,
    pub(super) write: LimiterWrite,
}

/// Counts and logs a limiter state Redis did not give or take.
fn note_unreachable(error: &RedisStateError, sender: MemberId) {
    metrics::counter!("sendguard_limits_unreachable_total").increment(1);
    tracing::warn!(%error, sender, "limiter state on redis unreachable");
}

/// 503 when other replicas kept changing the sender's state through every attempt.
fn limits_busy(config: &LimitsConfig) -> Error {
    unavailable(
        "limits_busy",
        format!(
            "this sender's limits changed {} times while deciding; retry",
            config.redis.max_cas_attempts
        ),
        config.redis.retry_after_secs,
    )
}

/// 503 while the limiter state cannot be read or written.
fn unavailable(code: &'static str, detail: String, retry_after_secs: u64) -> Error {
    Error::new(ErrorKind::Unavailable, code, detail)
        .field("limits")
        .retry_after(retry_after_secs.max(1))
}

/// The content refusal the store write would give, raised before anything is recorded.
pub(super) fn content_refusal(verdict: &Verdict) -> Option<Error> {
    verdict.refused.as_ref().map(|reason| {
        Error::new(
            ErrorKind::Unprocessable,
            "content_rejected",
            format!(
                "this message cannot be sent (rule {}): {}",
                reason.id, reason.detail
            ),
        )
        .field("body")
    })
}

impl App {
    fn limits_config(&self) -> &LimitsConfig {
        self.limiter.config()
    }

    /// The limiter's "now" for a snapshot.
    fn limiter_now(&self, snapshot: &Snapshot) -> Millis {
        match self.limits_config().redis.clock {
            LimitsClock::Redis => snapshot.server_now,
            LimitsClock::Local => self.clock.now(),
        }
    }

    /// Clears a ledger restriction the member record no longer has (a reviewer lifted it),
    /// once it is older than the grace.
    fn follow_lift(&self, sender: MemberId, state: &mut crate::limits::SenderState, now: Millis) {
        let grace_ms = self.limits_config().redis.restriction_sync_grace_secs as i64 * 1000;
        let Some(since) = state.restriction().map(|r| r.since) else {
            return;
        };
        let record_restricted = match self.store.member(sender) {
            Ok(member) => member.is_some_and(|m| m.restriction.is_some()),
            Err(_) => true,
        };
        if !record_restricted && now - since > grace_ms {
            self.limiter.lift_restriction(state);
        }
    }

    /// The limiter input for an assessment: the sender's state as a send would read it.
    pub(super) async fn limiter_input(&self, sender: MemberId) -> LimiterInput {
        let Some(shared) = &self.shared_limits else {
            return LimiterInput::Store;
        };
        match shared.load(sender).await {
            Ok(mut snapshot) => {
                let now = self.limiter_now(&snapshot);
                self.follow_lift(sender, &mut snapshot.state, now);
                LimiterInput::Given {
                    state: Box::new(snapshot.state),
                    now,
                }
            }
            Err(_) => LimiterInput::Unchecked,
        }
    }

    /// Admits a send through the Redis limiter: check, judge, record, compare-and-set.
    pub(super) async fn admit_shared(
        &self,
        shared: &RedisSenderStates,
        reader: &(impl Reader + Sync),
        sender: MemberId,
        draft: &Draft,
        now: Millis,
        prepared: &Prepared,
    ) -> Result<Admitted> {
        let config = self.limits_config();
        // A reply notes its recipient's reaction to this sender's outreach on the recipient's
        // state, in the write; its reactions are read now, beside the sender's state (one
        // round trip on the multiplexed connection), instead of there, blocking a worker.
        // Only on PostgreSQL, where this runs inside the send's transaction holding both
        // members' locks, so no send between the two can change them before the write; the
        // pair record it asks about was read ahead with the context (no round trip).
        let read_recipient = reader.remote()
            && (draft.thread_id.is_some()
                || matches!(reader.thread_between(sender, draft.to), Ok(Some(_))));
        let mut recipient_reactions = None;
        for attempt in 0..config.redis.max_cas_attempts.max(1) {
            let loaded = if attempt == 0 && read_recipient {
                let (loaded, reactions) =
                    tokio::join!(shared.load(sender), shared.reactions(draft.to));
                recipient_reactions = reactions.ok();
                loaded
            } else {
                shared.load(sender).await
            };
            let mut snapshot = match loaded {
                Ok(snapshot) => snapshot,
                Err(error) => {
                    return self.admit_unchecked(reader, sender, draft, now, prepared, error)
                }
            };
            let limiter_now = self.limiter_now(&snapshot);
            self.follow_lift(sender, &mut snapshot.state, limiter_now);
            let input = LimiterInput::Given {
                state: Box::new(snapshot.state),
                now: limiter_now,
            };
            let context = self.send_context(reader, sender, draft, now, prepared, &input)?;
            let verdict = self.judge(&prepared.message, Some(&context));
            if let Some(refusal) = content_refusal(&verdict) {
                return Err(refusal);
            }
            let mut state = context.limiter_state.clone();
            let striking = super::pipeline::striking_signals(&context, &verdict);
            let sanction = self.limiter.record(&mut state, &context.facts, &striking);
            // The outreach record (template signatures, recipients whose reactions will
            // count) is part of the state on Redis too: without it the template and
            // poor-reactions signals could never fire on this backend. A send that founds a
            // new campaign candidate records campaign 0 (its id is made in the store write).
            self.limiter.record_outreach(
                &mut state,
                &context.facts,
                context.template.as_ref(),
                verdict.decision != crate::domain::Decision::Held,
                context.campaign.as_ref().map_or(0, |campaign| campaign.id),
            );
            let keep = retention_ms(config, &state, limiter_now);
            match shared.save(sender, snapshot.version, &state, keep).await {
                Ok(true) => {
                    return Ok(Admitted {
                        context,
                        verdict,
                        input,
                        write: LimiterWrite::Recorded {
                            sanction,
                            recipient_reactions,
                        },
                    })
                }
                Ok(false) => {
                    metrics::counter!("sendguard_limits_cas_retries_total").increment(1);
                }
                Err(error) => {
                    return self.admit_unchecked(reader, sender, draft, now, prepared, error)
                }
            }
        }
        Err(limits_busy(config))
    }

    /// Meters a reply in a sponsored thread on the Redis ledger: the rate limits and the
    /// restriction are checked and the send recorded (compare-and-set), as a reply in a
    /// thread with a stranger. Only the ordinary path's pipeline judges behaviour; this one
    /// raises no strike. Redis unreachable: a reply is no first contact, so only
    /// `refuse_all` refuses it.
    pub(super) async fn meter_reply_shared(
        &self,
        shared: &RedisSenderStates,
        sender: MemberId,
        mut facts: SendFacts,
    ) -> Result<()> {
        let config = self.limits_config();
        let unreachable = |error: RedisStateError| {
            note_unreachable(&error, sender);
            self.let_through_unchecked(false)
        };
        for _ in 0..config.redis.max_cas_attempts.max(1) {
            let mut snapshot = match shared.load(sender).await {
                Ok(snapshot) => snapshot,
                Err(error) => return unreachable(error),
            };
            facts.now = self.limiter_now(&snapshot);
            self.follow_lift(sender, &mut snapshot.state, facts.now);
            let mut state = snapshot.state;
            super::pipeline::meter_unjudged(&self.limiter, &mut state, &facts)?;
            let keep = retention_ms(config, &state, facts.now);
            match shared.save(sender, snapshot.version, &state, keep).await {
                Ok(true) => return Ok(()),
                Ok(false) => metrics::counter!("sendguard_limits_cas_retries_total").increment(1),
                Err(error) => return unreachable(error),
            }
        }
        Err(limits_busy(config))
    }

    /// Redis did not answer: `when_unreachable` decides whether the send goes unchecked.
    fn admit_unchecked(
        &self,
        reader: &impl Reader,
        sender: MemberId,
        draft: &Draft,
        now: Millis,
        prepared: &Prepared,
        error: RedisStateError,
    ) -> Result<Admitted> {
        note_unreachable(&error, sender);
        let input = LimiterInput::Unchecked;
        let context = self.send_context(reader, sender, draft, now, prepared, &input)?;
        self.let_through_unchecked(!context.facts.connected && context.facts.new_conversation)?;
        let verdict = self.judge(&prepared.message, Some(&context));
        if let Some(refusal) = content_refusal(&verdict) {
            return Err(refusal);
        }
        Ok(Admitted {
            context,
            verdict,
            input,
            write: LimiterWrite::Recorded {
                sanction: None,
                recipient_reactions: None,
            },
        })
    }

    /// Whether a send may go unchecked while Redis does not answer (`when_unreachable`;
    /// `first_contact`: a first message to a member outside the sender's network): 503
    /// `limits_unavailable` if not.
    fn let_through_unchecked(&self, first_contact: bool) -> Result<()> {
        let config = self.limits_config();
        let allowed = match config.when_unreachable {
            WhenUnreachable::AllowAll => true,
            WhenUnreachable::RefuseNewConversations => !first_contact,
            WhenUnreachable::RefuseAll => false,
        };
        if allowed {
            return Ok(());
        }
        Err(unavailable(
            "limits_unavailable",
            "sending limits cannot be checked right now; retry shortly".to_string(),
            config.redis.retry_after_secs,
        ))
    }

    /// Notes a rate-limit refusal on the Redis ledger (hammering through 429s strikes);
    /// the sanction, if any, goes on the member record. Best effort, like the embedded one.
    pub(super) async fn note_refusal_shared(&self, shared: &RedisSenderStates, member: MemberId) {
        for _ in 0..self.limits_config().redis.max_cas_attempts.max(1) {
            let Ok(snapshot) = shared.load(member).await else {
                return;
            };
            let now = self.limiter_now(&snapshot);
            let mut state = snapshot.state;
            let sanction = self.limiter.note_refusal(&mut state, now);
            let keep = retention_ms(self.limits_config(), &state, now);
            match shared.save(member, snapshot.version, &state, keep).await {
                Ok(true) => {
                    if let Some(sanction) = sanction {
                        let applied = self
                            .store
                            .write(|txn| super::sanctions::apply(txn, member, &sanction, now));
                        match applied {
                            Ok(_) => self.restriction_changed(member, true),
                            Err(error) => {
                                tracing::warn!(%error, member, "restriction not applied")
                            }
                        }
                    }
                    return;
                }
                Ok(false) => continue,
                Err(_) => return,
            }
        }
    }

    /// The "now" a synchronous Redis update uses: `None` for the server's `TIME`.
    fn local_limits_now(&self, now: Millis) -> Option<Millis> {
        match self.limits_config().redis.clock {
            LimitsClock::Redis => None,
            LimitsClock::Local => Some(now),
        }
    }

    /// A change to `member`'s limiter state on Redis outside a send, such as a strike or its
    /// withdrawal, at the limits' clock (`None`: embedded backend).
    pub(super) fn shared_state_change<T>(
        &self,
        member: MemberId,
        now: Millis,
        change: impl FnMut(&mut crate::limits::SenderState, Millis) -> T,
    ) -> Option<std::result::Result<T, RedisStateError>> {
        let shared = self.shared_limits.as_ref()?;
        let local_now = self.local_limits_now(now);
        Some(off_the_workers(|| {
            shared.update_blocking(member, self.limits_config(), local_now, change)
        }))
    }

    /// Notes a recipient's reaction to `sender`'s outreach on the Redis ledger, where the
    /// outreach record lives with that backend (`None`: embedded backend).
    pub(super) fn shared_reaction(
        &self,
        sender: MemberId,
        recipient: MemberId,
        reaction: crate::limits::Reaction,
    ) -> Option<std::result::Result<Option<crate::limits::Noted>, RedisStateError>> {
        let shared = self.shared_limits.as_ref()?;
        Some(off_the_workers(|| {
            // Most replies answer no outreach: one read tells, and nothing is written then.
            let mut current = shared.read_blocking(sender)?;
            if self
                .limiter
                .note_reaction(&mut current, recipient, reaction)
                .is_none()
            {
                return Ok(None);
            }
            shared.update_blocking(sender, self.limits_config(), None, |state, _| {
                self.limiter.note_reaction(state, recipient, reaction)
            })
        }))
    }

    /// Lifts the restriction on the Redis ledger; whether it had one (`None`: embedded
    /// backend, or Redis did not answer: the next send follows the member record then).
    pub(super) fn shared_lift(&self, member: MemberId) -> Option<bool> {
        let shared = self.shared_limits.as_ref()?;
        let lifted = off_the_workers(|| {
            shared.update_blocking(member, self.limits_config(), None, |state, _| {
                self.limiter.lift_restriction(state).is_some()
            })
        });
        match lifted {
            Ok(had) => Some(had),
            Err(error) => {
                tracing::warn!(%error, member, "restriction not lifted on redis yet");
                None
            }
        }
    }

    /// The sender's limiter state as decisions see it: Redis's with the Redis backend
    /// (the store's when Redis does not answer), else the store's.
    pub(super) fn current_sender_state(
        &self,
        member: MemberId,
    ) -> Result<crate::limits::SenderState> {
        if let Some(shared) = &self.shared_limits {
            match off_the_workers(|| shared.read_blocking(member)) {
                Ok(state) => return Ok(state),
                Err(error) => tracing::warn!(%error, member, "sender state: redis unreachable"),
            }
        }
        Ok(self.store.sender_state(member)?.unwrap_or_default())
    }

    /// Whether Redis answers, when the limiter uses it (`None`: embedded backend).
    pub(super) async fn redis_ready(&self) -> Option<bool> {
        match &self.shared_limits {
            Some(shared) => Some(shared.ping().await),
            None => None,
        }
    }
}

/// Runs a blocking Redis call without stalling the other tasks of an async worker (on a
/// multi-threaded runtime; elsewhere it simply runs).
fn off_the_workers<T>(call: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call)
        }
        _ => call(),
    }
}
