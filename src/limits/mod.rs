//! Per-sender behaviour limits: send rate, new conversations toward strangers, near-duplicate
//! fan-out, machine-regular cadence, and the strikes and restrictions they lead to.
//!
//! Bots message at scale: many recipients, the same text with small changes, at regular
//! intervals. Normal members don't. This module turns that difference into decisions:
//!
//! | concern | file | outcome |
//! |---|---|---|
//! | sends per minute (burst), hour, day; lower for young accounts | [`gcra`] | refuse, `429` + `Retry-After` |
//! | distinct non-connections messaged first, per day and week | [`conversations`] | refuse, `429` + `Retry-After` |
//! | same content ([`fingerprint`], 64-bit SimHash) to N recipients in a window | [`fanout`] | hold + strike |
//! | too-regular intervals over the last N sends | [`cadence`] | signal with score (+ strike) |
//! | strike points reaching thresholds | [`strikes`] | restriction, with its reason |
//! | sending on through rate-limit refusals | [`ignored_refusals`] | strike |
//! | one template ([`template`], MinHash, spintax-proof) to N strangers | [`template_fanout`] | hold if corroborated (+ strike) |
//! | recipients' reactions to outreach: answered, blocked, reported | [`reactions`] | hold + strike, or "answered" |
//!
//! The per-sender value is in [`state`], the `[limits]` tables in [`config`]; with
//! `backend = "redis"` the value lives on Redis, shared by replicas ([`redis_state`]).
//!
//! **Time is an input** and **state is a value**: the [`Limiter`] holds only its
//! [`LimitsConfig`]; every call takes the sender's [`SenderState`] and `now`. The store loads
//! the state, [`Limiter::check`] reads it without changing it (so `/v1/assess` and the send
//! path ask the same question), and after the decision [`Limiter::record`] updates it; the
//! store writes it back in the same atomic batch as the message. Nothing sleeps, nothing
//! runs in the background, and a state that went through serde behaves identically, so a
//! restart changes nothing and tests drive a virtual clock exactly.
//!
//! Order inside `check`: a standing restriction refuses first (it is not time-bound), then
//! the rate and conversation caps (the one with the longest wait is reported, so a client
//! that honours `Retry-After` succeeds on its next try), then the signals. Refused sends
//! change no state; held sends are recorded (they were attempts).

pub mod cadence;
pub mod config;
pub mod conversations;
pub mod fanout;
pub mod fingerprint;
pub mod gcra;
pub mod ignored_refusals;
pub mod reactions;
pub mod redis_state;
pub mod state;
pub mod strikes;
pub mod template;
pub mod template_fanout;

pub use config::{LimitsBackend, LimitsClock, LimitsConfig, WhenUnreachable};
pub use fingerprint::{hamming, simhash, Fingerprint};
pub use reactions::{Noted, Reaction, ReactionState, ReactionTally};
pub use state::SenderState;
pub use template::TemplateSignature;

use crate::domain::{MemberId, Millis, RestrictionLevel, Sanction};
use config::RateConfig;
use gcra::{retry_after_secs, Gcra};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What the limiter needs to know about one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendFacts {
    pub now: Millis,
    /// The sender's account creation time (young accounts get `young_rate`).
    pub account_created_at: Millis,
    pub recipient: MemberId,
    /// Sender and recipient are connected.
    pub connected: bool,
    /// No thread exists yet between the two: this send opens a conversation.
    pub new_conversation: bool,
    /// The body's content fingerprint, from [`Limiter::fingerprint`] over the normalized
    /// tokens (`None`: too short to fingerprint). Computed once by the caller because it is
    /// the largest part of the per-send cost, and `check` and `record` both need it.
    pub fingerprint: Option<Fingerprint>,
}

/// The limiter's answer before a send.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The send cannot go now.
    Refuse(Refusal),
    /// The send may go; the signals (possibly none) go to the policy.
    Proceed(Vec<LimitSignal>),
}

/// Why a send is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `rate_limited` (HTTP 429 with `Retry-After`) or `sender_restricted` (HTTP 403).
    pub code: &'static str,
    /// `per_minute`, `per_hour`, `per_day` (`young_` prefixed for young accounts),
    /// `new_conversations_per_day`, `new_conversations_per_week`,
    /// `restriction_new_conversations`, `restriction_full`.
    pub limit_name: &'static str,
    /// The configured number that was reached (0 for restrictions).
    pub limit: u64,
    /// Whole seconds until the send would be accepted, at least 1; 0 for restrictions,
    /// which only a reviewer lifts.
    pub retry_after_secs: u64,
    /// A sentence for the member and the reviewer.
    pub detail: String,
}

/// A behaviour signal for the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitSignal {
    /// `fan_out` or `cadence`.
    pub id: &'static str,
    /// The message should be held for review.
    pub hold: bool,
    /// Strike points `record` will add (0: report only, e.g. during a cooldown).
    pub strike_weight: u32,
    /// Strength in `[0, 1]`.
    pub score: f64,
    pub detail: String,
}

/// The limiter: configuration only; all state is passed in.
#[derive(Debug, Clone, Default)]
pub struct Limiter {
    config: LimitsConfig,
}

impl Limiter {
    pub fn new(config: LimitsConfig) -> Self {
        Limiter { config }
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// Checks a send against the sender's state WITHOUT changing it (used by `/v1/assess`
    /// and before the write).
    pub fn check(&self, state: &SenderState, facts: &SendFacts) -> Check {
        if let Some(refusal) = self.restriction_refusal(state, facts) {
            return Check::Refuse(refusal);
        }
        let mut worst: Option<(i64, Refusal)> = None;
        let mut consider = |wait_ms: i64, refusal: Refusal| {
            if worst.as_ref().is_none_or(|(w, _)| wait_ms > *w) {
                worst = Some((wait_ms, refusal));
            }
        };
        let young = self.is_young(facts);
        for (i, (name, window)) in self.windows(young).into_iter().enumerate() {
            let Some((gcra, limit)) = window else {
                continue;
            };
            let now = state.rate.effective_now(facts.now);
            if let Err(wait_ms) = gcra.check(state.rate.tat[i], now) {
                let retry = retry_after_secs(wait_ms);
                consider(
                    wait_ms,
                    Refusal {
                        code: "rate_limited",
                        limit_name: name,
                        limit: u64::from(limit),
                        retry_after_secs: retry,
                        detail: format!(
                            "send rate limit {name} = {limit}{} reached; retry in {retry}s",
                            if young { " (new account)" } else { "" }
                        ),
                    },
                );
            }
        }
        if self.counts_as_new_conversation(facts) {
            if let Some(hit) = conversations::check(
                &self.config.new_conversations,
                &state.conversations,
                facts.now,
                facts.recipient,
            ) {
                let retry = retry_after_secs(hit.retry_after_ms);
                consider(
                    hit.retry_after_ms,
                    Refusal {
                        code: "rate_limited",
                        limit_name: hit.limit_name,
                        limit: u64::from(hit.limit),
                        retry_after_secs: retry,
                        detail: format!(
                            "{} new conversations with members outside your network reached \
                             ({}); retry in {retry}s",
                            hit.limit, hit.limit_name
                        ),
                    },
                );
            }
        }
        if let Some((_, refusal)) = worst {
            return Check::Refuse(refusal);
        }

        let mut signals = Vec::new();
        let fingerprint = facts.fingerprint;
        if let Some(signal) = fanout::check(
            &self.config.fanout,
            &state.fanout,
            facts.now,
            facts.recipient,
            fingerprint,
        ) {
            signals.push(signal);
        }
        let last_cadence_strike = strikes::last_strike(&state.strikes, "cadence");
        if let Some(signal) = cadence::check(
            &self.config.cadence,
            &state.cadence,
            facts.now,
            last_cadence_strike,
        ) {
            signals.push(signal);
        }
        Check::Proceed(signals)
    }

    /// Records an accepted send (after `check` said `Proceed`): consumes rate allowance,
    /// records the recipient, fingerprint and send time, prunes what expired, and applies
    /// the strikes of `signals`. Returns the sanction if the sender's restriction rose.
    pub fn record(
        &self,
        state: &mut SenderState,
        facts: &SendFacts,
        signals: &[LimitSignal],
    ) -> Option<Sanction> {
        let now = facts.now;
        state.prune(&self.config, now);
        let young = self.is_young(facts);
        let rate_now = state.rate.effective_now(now);
        for (i, (_, window)) in self.windows(young).into_iter().enumerate() {
            if let Some((gcra, _)) = window {
                state.rate.tat[i] = gcra.advance(state.rate.tat[i], rate_now);
            }
        }
        state.rate.latest = rate_now;
        if self.counts_as_new_conversation(facts) {
            conversations::record(
                &self.config.new_conversations,
                &mut state.conversations,
                now,
                facts.recipient,
            );
        }
        let fingerprint = facts.fingerprint;
        fanout::record(
            &self.config.fanout,
            &mut state.fanout,
            now,
            facts.recipient,
            fingerprint,
        );
        cadence::record(&self.config.cadence, &mut state.cadence, now);
        let mut sanction = None;
        for signal in signals.iter().filter(|s| s.strike_weight > 0) {
            if let Some(s) = strikes::add(
                &self.config.strikes,
                &mut state.strikes,
                now,
                signal.strike_weight,
                signal.id,
                &signal.detail,
            ) {
                sanction = Some(s);
            }
        }
        sanction
    }

    /// Reviewer / recipient-report strikes (`source` such as `report` or `reviewer`).
    pub fn add_strike(
        &self,
        state: &mut SenderState,
        now: Millis,
        weight: u32,
        reason: &str,
    ) -> Option<Sanction> {
        self.add_strike_from(state, now, weight, "report", reason)
    }

    /// Like [`Limiter::add_strike`], naming the source.
    pub fn add_strike_from(
        &self,
        state: &mut SenderState,
        now: Millis,
        weight: u32,
        source: &str,
        reason: &str,
    ) -> Option<Sanction> {
        strikes::add(
            &self.config.strikes,
            &mut state.strikes,
            now,
            weight,
            source,
            reason,
        )
    }

    /// Takes back the strikes `source` gave for `detail`; see [`strikes::withdraw`].
    pub fn withdraw_strike(&self, state: &mut SenderState, source: &str, detail: &str) -> usize {
        strikes::withdraw(&mut state.strikes, source, detail)
    }

    /// Notes a rate-limit refusal of this sender; persistent hammering earns a strike
    /// (`[limits.ignored_refusals]`). Returns the sanction if the restriction rose.
    pub fn note_refusal(&self, state: &mut SenderState, now: Millis) -> Option<Sanction> {
        ignored_refusals::note(&self.config, &mut state.refusals, &mut state.strikes, now)
    }

    /// A reviewer lifts the restriction (and clears the strikes behind it); returns it.
    pub fn lift_restriction(&self, state: &mut SenderState) -> Option<strikes::Restriction> {
        strikes::lift(&mut state.strikes)
    }

    /// The sender's restriction level at `now`.
    pub fn restriction_level(&self, state: &SenderState, now: Millis) -> Option<RestrictionLevel> {
        let _ = now; // restrictions do not lapse; kept for callers that pass the time anyway
        state.restriction().map(|r| r.level)
    }

    /// Live strike points at `now`.
    pub fn strike_points(&self, state: &SenderState, now: Millis) -> u32 {
        strikes::points(&self.config.strikes, &state.strikes, now)
    }

    fn restriction_refusal(&self, state: &SenderState, facts: &SendFacts) -> Option<Refusal> {
        let restriction = state.restriction()?;
        let (refused, limit_name, what) = match restriction.level {
            RestrictionLevel::Full => (
                !facts.connected,
                "restriction_full",
                "your account can only message existing connections",
            ),
            RestrictionLevel::NewConversations => (
                !facts.connected && facts.new_conversation,
                "restriction_new_conversations",
                "your account cannot start conversations with members outside your network",
            ),
        };
        refused.then(|| Refusal {
            code: "sender_restricted",
            limit_name,
            limit: 0,
            retry_after_secs: 0,
            detail: format!(
                "{what} until a reviewer lifts the restriction ({})",
                restriction.reason
            ),
        })
    }

    fn is_young(&self, facts: &SendFacts) -> bool {
        facts.now - facts.account_created_at
            < i64::from(self.config.young_account_age_days) * DAY_MS
    }

    fn counts_as_new_conversation(&self, facts: &SendFacts) -> bool {
        !facts.connected && facts.new_conversation
    }

    /// A fingerprint for [`SendFacts::fingerprint`] from features already spelled out:
    /// their SimHash, or `None` when there are fewer than `fanout.min_features` of them.
    /// The send path uses [`Limiter::fingerprint_tokens`] on the normalized message.
    pub fn fingerprint<S: AsRef<str>>(&self, features: &[S]) -> Option<Fingerprint> {
        (!features.is_empty() && features.len() >= self.config.fanout.min_features as usize)
            .then(|| simhash(features))
    }

    /// [`Limiter::fingerprint`] of a normalized message's token features, without
    /// collecting them as strings (the send path's form).
    pub fn fingerprint_tokens(&self, tokens: &[crate::text::Token]) -> Option<Fingerprint> {
        if tokens.is_empty() || tokens.len() < self.config.fanout.min_features as usize {
            return None;
        }
        let mut feature = String::new();
        Some(fingerprint::simhash_of_hashes(tokens.iter().map(|token| {
            feature.clear();
            token.write_feature(&mut feature);
            fingerprint::feature_hash(feature.as_bytes())
        })))
    }

    /// The template signature of a normalized message (`None`: too short to be a template).
    pub fn template_signature(&self, tokens: &[crate::text::Token]) -> Option<TemplateSignature> {
        template::signature(&self.config.template, tokens)
    }

    /// The outreach signals of a send, besides [`Limiter::check`]'s: `template` (one
    /// template to many non-connections) and the recipients' reactions (`poor_reactions`,
    /// `answered`) for a send that opens a conversation with a non-connection. Pure, like
    /// `check`; called after `check` said `Proceed`.
    pub fn outreach_signals(
        &self,
        state: &SenderState,
        facts: &SendFacts,
        signature: Option<&TemplateSignature>,
    ) -> Vec<LimitSignal> {
        let mut signals = Vec::new();
        if facts.connected {
            return signals;
        }
        if let Some(signature) = signature {
            signals.extend(template_fanout::check(
                &self.config.template,
                &state.template,
                facts.now,
                facts.recipient,
                signature,
            ));
        }
        if facts.new_conversation {
            signals.extend(reactions::check(
                &self.config.reactions,
                &state.reactions,
                facts.now,
            ));
        }
        signals
    }

    /// Records a send's outreach (after [`Limiter::record`]): its template signature toward
    /// a non-connection (held sends too: they were attempts), and, when it was `delivered`,
    /// a new conversation with a non-connection as outreach whose reactions count (a held
    /// message is invisible to its recipient, who cannot react to it).
    pub fn record_outreach(
        &self,
        state: &mut SenderState,
        facts: &SendFacts,
        signature: Option<&TemplateSignature>,
        delivered: bool,
        campaign: u64,
    ) {
        if facts.connected {
            return;
        }
        if let Some(signature) = signature {
            template_fanout::record(
                &self.config.template,
                &mut state.template,
                facts.now,
                facts.recipient,
                signature,
            );
        }
        if facts.new_conversation && delivered {
            reactions::record(
                &self.config.reactions,
                &mut state.reactions,
                facts.now,
                facts.recipient,
                campaign,
            );
        }
    }

    /// Notes `recipient`'s reaction to the sender's outreach; `None` when nothing changed
    /// (no recent outreach to them, or the same reaction again: nothing to write back).
    pub fn note_reaction(
        &self,
        state: &mut SenderState,
        recipient: MemberId,
        reaction: Reaction,
    ) -> Option<Noted> {
        reactions::note(&mut state.reactions, recipient, reaction)
    }

    /// Whether [`Limiter::note_reaction`] would note anything on a state with these
    /// `reactions` (read alone, `state::StateReactions`): most replies answer no outreach,
    /// and then the whole state need not be decoded.
    pub fn would_note_reaction(
        &self,
        reactions: &ReactionState,
        recipient: MemberId,
        reaction: Reaction,
    ) -> bool {
        reactions::would_note(reactions, recipient, reaction)
    }

    /// The reactions to the sender's outreach over the window at `now`.
    pub fn reaction_tally(&self, state: &SenderState, now: Millis) -> ReactionTally {
        reactions::tally(&self.config.reactions, &state.reactions, now)
    }

    /// The three rate windows for this account age: name and (GCRA, configured count).
    fn windows(&self, young: bool) -> [(&'static str, Option<(Gcra, u32)>); 3] {
        let (rate, names): (&RateConfig, [&'static str; 3]) = if young {
            (
                &self.config.young_rate,
                ["young_per_minute", "young_per_hour", "young_per_day"],
            )
        } else {
            (&self.config.rate, ["per_minute", "per_hour", "per_day"])
        };
        [
            (
                names[0],
                Gcra::new(rate.per_minute, 60_000, rate.minute_burst)
                    .map(|g| (g, rate.minute_burst)),
            ),
            (
                names[1],
                Gcra::new(rate.per_hour, 3_600_000, rate.per_hour).map(|g| (g, rate.per_hour)),
            ),
            (
                names[2],
                Gcra::new(rate.per_day, DAY_MS, rate.per_day).map(|g| (g, rate.per_day)),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        now: Millis,
        recipient: MemberId,
        connected: bool,
        new_conversation: bool,
    ) -> SendFacts {
        SendFacts {
            now,
            account_created_at: -30 * DAY_MS,
            recipient,
            connected,
            new_conversation,
            fingerprint: None,
        }
    }

    #[test]
    fn refused_sends_leave_state_untouched_and_restrictions_refuse_by_scope() {
        let limiter = Limiter::default();
        let mut state = SenderState::default();
        let sanction = limiter
            .add_strike(&mut state, 0, 3, "reported by three recipients")
            .unwrap();
        assert_eq!(sanction.restrict, RestrictionLevel::NewConversations);
        assert!(sanction
            .reason
            .contains("report (+3): reported by three recipients"));
        let before = state.clone();
        let Check::Refuse(r) = limiter.check(&state, &facts(1, 9, false, true)) else {
            panic!("stranger, new conversation must be refused")
        };
        assert_eq!(
            (r.code, r.limit_name, r.retry_after_secs),
            ("sender_restricted", "restriction_new_conversations", 0)
        );
        assert_eq!(state, before);
        // Replies and connections still go.
        assert_eq!(
            limiter.check(&state, &facts(1, 9, false, false)),
            Check::Proceed(vec![])
        );
        assert_eq!(
            limiter.check(&state, &facts(1, 9, true, true)),
            Check::Proceed(vec![])
        );
        limiter
            .add_strike(&mut state, 2, 3, "more reports")
            .unwrap();
        assert_eq!(
            limiter.restriction_level(&state, 2),
            Some(RestrictionLevel::Full)
        );
        assert!(matches!(
            limiter.check(&state, &facts(3, 9, false, false)),
            Check::Refuse(_)
        ));
        assert_eq!(
            limiter.check(&state, &facts(3, 9, true, false)),
            Check::Proceed(vec![])
        );
        assert!(limiter.lift_restriction(&mut state).is_some());
        assert_eq!(limiter.restriction_level(&state, 4), None);
        assert_eq!(limiter.strike_points(&state, 4), 0);
    }

    #[test]
    fn the_longest_wait_is_reported_when_several_limits_trip() {
        let config = LimitsConfig {
            rate: RateConfig {
                per_minute: 2,
                minute_burst: 2,
                per_hour: 2,
                per_day: 100,
            },
            ..LimitsConfig::default()
        };
        let limiter = Limiter::new(config);
        let mut state = SenderState::default();
        for t in [0, 1] {
            let f = facts(t, t as u64, true, false);
            assert_eq!(limiter.check(&state, &f), Check::Proceed(vec![]));
            limiter.record(&mut state, &f, &[]);
        }
        let Check::Refuse(r) = limiter.check(&state, &facts(2, 5, true, false)) else {
            panic!()
        };
        assert_eq!(r.limit_name, "per_hour");
        assert_eq!(r.retry_after_secs, 1800);
    }
}

#[cfg(test)]
mod token_fingerprint_tests {
    use super::*;

    #[test]
    fn token_fingerprint_equals_the_fingerprint_of_the_feature_strings() {
        let limiter = Limiter::default();
        let message = crate::text::normalize(
            "Hi Dana, our agency places senior engineers at top startups; reply with your CV and \
             we will match you this week. Visit https://jobs.example.com/apply for details.",
        );
        let features = crate::classify::features(&message);
        assert!(features.len() >= limiter.config().fanout.min_features as usize);
        assert!(limiter.fingerprint_tokens(&message.tokens).is_some());
        assert_eq!(
            limiter.fingerprint_tokens(&message.tokens),
            limiter.fingerprint(&features)
        );
        let short = crate::text::normalize("Congrats!");
        assert_eq!(limiter.fingerprint_tokens(&short.tokens), None);
    }
}
