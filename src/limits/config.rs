//! Every number the limiter uses, with defaults sized for a professional network.
//!
//! The table is `[limits]` in the config file; each sub-table below is optional and every
//! key has a default, so a config names only what it changes. Unknown keys are an error
//! (a misspelt limit must not silently fall back to its default). A limit of `0` disables
//! that limit.

use serde::{Deserialize, Serialize};

/// The `[limits]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Accounts younger than this many days use `young_rate` instead of `rate`.
    pub young_account_age_days: u32,
    /// Send rate for established accounts.
    pub rate: RateConfig,
    /// Send rate for accounts younger than `young_account_age_days`.
    pub young_rate: RateConfig,
    /// Caps on opening conversations with members who are not connections.
    pub new_conversations: NewConversationsConfig,
    /// Near-duplicate content sent to many distinct recipients.
    pub fanout: FanoutConfig,
    /// Machine-regular intervals between sends.
    pub cadence: CadenceConfig,
    /// Sending on after 429 instead of waiting for `Retry-After`.
    pub ignored_refusals: IgnoredRefusalsConfig,
    /// Strike points, their expiry and the restriction thresholds.
    pub strikes: StrikesConfig,
    /// Where the per-sender state lives: `embedded` (the store, in the send's own atomic
    /// batch: one process) or `redis` (shared by every replica, `[limits.redis]`).
    pub backend: LimitsBackend,
    /// The Redis backend's connection, key prefix and clock.
    pub redis: RedisLimitsConfig,
    /// What a send does when the Redis backend cannot be reached.
    pub when_unreachable: WhenUnreachable,
    /// One template (spintax variants included) to many strangers.
    pub template: TemplateConfig,
    /// How the recipients of a sender's outreach react.
    pub reactions: ReactionsConfig,
}

/// `[limits] backend`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsBackend {
    /// The sender state is written in the send's store batch (one process per store).
    #[default]
    Embedded,
    /// The sender state is on Redis, updated by compare-and-set per sender.
    Redis,
}

/// `[limits] when_unreachable`: the send path's answer while Redis does not answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenUnreachable {
    /// Replies and messages to connections go unlimited (a member answering a colleague
    /// is not a bot's first contact); a new conversation with a non-connection gets 503
    /// `limits_unavailable` with `Retry-After`, since that is what a bot's campaign is.
    #[default]
    RefuseNewConversations,
    /// Every send gets 503 `limits_unavailable` (no send goes unlimited).
    RefuseAll,
    /// Every send goes unlimited (availability over abuse control).
    AllowAll,
}

/// Where "now" comes from for the limiter on Redis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsClock {
    /// The Redis server's `TIME`, read in the same round trip as the state: replicas whose
    /// clocks differ still measure every window on one clock.
    #[default]
    Redis,
    /// The replica's own clock (the `App`'s, so a test's virtual clock drives it).
    Local,
}

/// `[limits.redis]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisLimitsConfig {
    /// `redis://host:port/db`.
    pub url: String,
    /// Prepended to every key (`<prefix>{sender:<id>}:limits`), so deployments and tests
    /// can share one Redis.
    pub key_prefix: String,
    /// Source of "now" for every window.
    pub clock: LimitsClock,
    /// A connection attempt or command slower than this counts as unreachable.
    pub timeout_ms: u64,
    /// Compare-and-set attempts per send when other replicas update the same sender at the
    /// same moment; past it the send gets 503 `limits_busy`.
    pub max_cas_attempts: u32,
    /// A restriction in the Redis ledger that the member record no longer has, older than
    /// this, was lifted by a reviewer, and is cleared from the ledger (younger: the send
    /// that raised it may not have reached the store yet).
    pub restriction_sync_grace_secs: u64,
    /// `Retry-After` of a 503 while Redis is unreachable or busy.
    pub retry_after_secs: u64,
}

impl Default for RedisLimitsConfig {
    fn default() -> Self {
        RedisLimitsConfig {
            url: "redis://127.0.0.1:6379/".to_string(),
            key_prefix: "sendguard:".to_string(),
            clock: LimitsClock::Redis,
            timeout_ms: 250,
            max_cas_attempts: 64,
            restriction_sync_grace_secs: 60,
            retry_after_secs: 1,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            young_account_age_days: 7,
            rate: RateConfig::default(),
            young_rate: RateConfig {
                per_minute: 5,
                minute_burst: 5,
                per_hour: 40,
                per_day: 100,
            },
            new_conversations: NewConversationsConfig::default(),
            fanout: FanoutConfig::default(),
            cadence: CadenceConfig::default(),
            ignored_refusals: IgnoredRefusalsConfig::default(),
            strikes: StrikesConfig::default(),
            backend: LimitsBackend::Embedded,
            redis: RedisLimitsConfig::default(),
            when_unreachable: WhenUnreachable::RefuseNewConversations,
            template: TemplateConfig::default(),
            reactions: ReactionsConfig::default(),
        }
    }
}

/// GCRA send-rate limits (`[limits.rate]`, `[limits.young_rate]`). Exceeding any refuses
/// the send with `429` and an exact `Retry-After`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateConfig {
    /// Sustained sends per minute (one every `60 / per_minute` seconds).
    pub per_minute: u32,
    /// Sends allowed back to back at once before the per-minute pace applies.
    pub minute_burst: u32,
    /// Sends per hour; the whole hour's allowance may be used in a burst.
    pub per_hour: u32,
    /// Sends per day; the whole day's allowance may be used in a burst.
    pub per_day: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            per_minute: 10,
            minute_burst: 10,
            per_hour: 100,
            per_day: 300,
        }
    }
}

/// `[limits.new_conversations]`: distinct non-connection recipients a member may open a new
/// conversation with, over sliding windows. Replies in an existing thread and messages to
/// connections do not count; the same recipient counts once per window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewConversationsConfig {
    /// Distinct new non-connection recipients in any 24 hours.
    pub per_day: u32,
    /// Distinct new non-connection recipients in any 7 days.
    pub per_week: u32,
}

impl Default for NewConversationsConfig {
    fn default() -> Self {
        NewConversationsConfig {
            per_day: 20,
            per_week: 60,
        }
    }
}

/// `[limits.fanout]`: the same content (SimHash within `max_hamming` bits) sent to
/// `recipients` distinct members inside `window_secs` is automation: the send is held and
/// the sender gets a strike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FanoutConfig {
    /// Distinct recipients (this send's included) of near-identical content that trip it.
    pub recipients: u32,
    /// How far back earlier sends count, in seconds.
    pub window_secs: u64,
    /// Largest Hamming distance between two 64-bit SimHashes that still counts as the same
    /// content. Measured on words+pairs features: two variants of a 40-word template, each
    /// with a swapped name and two edited words, are ≤ 10 bits apart about half the time;
    /// unrelated messages are ≤ 10 bits apart about once in 100,000 pairs.
    pub max_hamming: u32,
    /// Messages with fewer features than this are not fingerprinted: stock phrases
    /// ("thanks for connecting!", "congrats on the new role") are sent by people to many
    /// contacts and carry no pitch.
    pub min_features: u32,
    /// Recent sends remembered for the comparison (bounds memory: 24 bytes each).
    pub history: u32,
    /// Strike points for each held fan-out send.
    pub strike_weight: u32,
}

impl Default for FanoutConfig {
    fn default() -> Self {
        FanoutConfig {
            recipients: 5,
            window_secs: 24 * 3600,
            max_hamming: 10,
            min_features: 16,
            history: 100,
            strike_weight: 1,
        }
    }
}

/// `[limits.cadence]`: inter-send intervals whose coefficient of variation (standard
/// deviation / mean) is below `max_cv` over the last `intervals` sends are a bot signal. It
/// never refuses or holds a send by itself; it adds a strike at most once per cooldown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CadenceConfig {
    /// Intervals looked at (the last `intervals + 1` send times are kept); at most 64.
    pub intervals: u32,
    /// Coefficient of variation below which the intervals are machine-regular.
    pub max_cv: f64,
    /// Intervals longer than this (seconds) are not part of a burst of automation; a run
    /// containing one is not judged.
    pub max_interval_secs: u64,
    /// Strike points when the signal fires.
    pub strike_weight: u32,
    /// No second cadence strike within this many seconds of the last one.
    pub strike_cooldown_secs: u64,
}

impl Default for CadenceConfig {
    fn default() -> Self {
        CadenceConfig {
            intervals: 10,
            max_cv: 0.1,
            max_interval_secs: 6 * 3600,
            strike_weight: 1,
            strike_cooldown_secs: 3600,
        }
    }
}

/// `[limits.ignored_refusals]`: a person told "429, retry after N seconds" waits; a client
/// that keeps sending regardless is automation, which earns a strike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IgnoredRefusalsConfig {
    /// Rate-limit refusals within `window_secs` that count as ignoring them; 0 disables.
    pub refusals: u32,
    /// The window those refusals are counted over.
    pub window_secs: u64,
    /// Strike points when a sender reaches `refusals`.
    pub strike_weight: u32,
    /// No second strike for this within this many seconds of the last one.
    pub strike_cooldown_secs: u64,
}

impl Default for IgnoredRefusalsConfig {
    fn default() -> Self {
        IgnoredRefusalsConfig {
            refusals: 20,
            window_secs: 60,
            strike_weight: 1,
            strike_cooldown_secs: 3600,
        }
    }
}

/// Most refusal times kept per sender (bounds `refusals`).
pub const MAX_IGNORED_REFUSALS: u32 = 1000;

/// `[limits.strikes]`: strikes add up to points; points reaching a threshold restrict the
/// sender until a reviewer lifts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StrikesConfig {
    /// A strike stops counting this many days after it was given.
    pub expiry_days: u32,
    /// Points at which new conversations with non-connections are refused (replies still go).
    pub restrict_new_conversations_at: u32,
    /// Points at which only existing connections can be messaged.
    pub restrict_full_at: u32,
    /// Strikes kept per sender; the oldest are dropped beyond this (bounds memory).
    pub max_kept: u32,
}

impl Default for StrikesConfig {
    fn default() -> Self {
        StrikesConfig {
            expiry_days: 30,
            restrict_new_conversations_at: 3,
            restrict_full_at: 6,
            max_kept: 32,
        }
    }
}

/// `[limits.template]`: the template fingerprint (`limits/template.rs`: MinHash over word
/// shingles, names, numbers and links masked) and the per-sender template signal: one
/// template to `recipients` distinct non-connections within `window_secs`. Like fan-out, the
/// signal asks for a hold that the policy grants only with corroboration (suspicious content
/// or recipients' reactions); alone it never holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateConfig {
    /// Words per shingle.
    pub shingle_words: u32,
    /// MinHash slots per signature (the estimate's resolution: 1 / hashes).
    pub hashes: u32,
    /// Slots per LSH band for the cross-sender index (`hashes / band_rows` bands).
    pub band_rows: u32,
    /// Messages with fewer masked words than this get no signature (stock phrases).
    pub min_words: u32,
    /// Messages with fewer distinct shingles (beyond those of function words alone) get no
    /// signature: on a short message one shared common phrase is a large share.
    pub min_shingles: u32,
    /// Estimated Jaccard similarity at which two messages are variants of one template
    /// (chosen on generated spintax campaigns against unrelated messages: docs/CAMPAIGNS.md).
    pub same_template_similarity: f64,
    /// Distinct non-connection recipients (this send's included) of one template that raise
    /// the signal; 0 disables it.
    pub recipients: u32,
    /// How far back earlier sends count, in seconds.
    pub window_secs: u64,
    /// Signatures remembered per sender (bounds memory: about `2 × hashes` bytes each).
    pub history: u32,
    /// Strike points for each send the policy holds on this signal.
    pub strike_weight: u32,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            shingle_words: 2,
            hashes: 64,
            band_rows: 2,
            min_words: 12,
            min_shingles: 12,
            same_template_similarity: 0.15,
            recipients: 5,
            window_secs: 7 * 24 * 3600,
            history: 40,
            strike_weight: 1,
        }
    }
}

/// `[limits.reactions]`: how the recipients of a sender's outreach (first messages to
/// non-connections) reacted, over `window_days`: replied, blocked, reported, marked safe,
/// archived unread. Each recipient counts once. Never answered and often blocked or reported
/// is a spammer's outreach even when each message looks fine; answered outreach is not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReactionsConfig {
    /// Outreach older than this stops counting.
    pub window_days: u32,
    /// Recipients of outreach needed before any share is judged; 0 disables the signal.
    pub min_outreach: u32,
    /// At or below this share of answered outreach, the sender is not answered.
    pub max_reply_share: f64,
    /// At or above this share of blocked or reported outreach (with no more answers than
    /// `max_reply_share`), the sender's sends are held and strike.
    pub min_negative_share: f64,
    /// At or above this share of answered outreach, the sender is answered: template and
    /// fan-out signals alone do not hold their messages.
    pub answered_share: f64,
    /// Outreach recipients remembered per sender (bounds memory: 17 bytes each).
    pub history: u32,
    /// Strike points for each send held on poor reactions.
    pub strike_weight: u32,
}

impl Default for ReactionsConfig {
    fn default() -> Self {
        ReactionsConfig {
            window_days: 14,
            min_outreach: 8,
            max_reply_share: 0.05,
            min_negative_share: 0.2,
            answered_share: 0.15,
            history: 200,
            strike_weight: 1,
        }
    }
}

/// Upper bound on `template.hashes`.
pub const MAX_TEMPLATE_HASHES: u32 = 256;
/// Upper bound on `template.history` and `reactions.history`.
pub const MAX_OUTREACH_HISTORY: u32 = 1000;

/// Upper bound on `cadence.intervals` (the ring of send times is at most this + 1 long).
pub const MAX_CADENCE_INTERVALS: u32 = 64;
/// Upper bound on `fanout.history`.
pub const MAX_FANOUT_HISTORY: u32 = 4096;

impl LimitsConfig {
    /// Rejects settings that cannot work together, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [("rate", &self.rate), ("young_rate", &self.young_rate)] {
            if rate.per_minute > 0 && rate.minute_burst == 0 {
                return Err(format!("limits.{name}.minute_burst must be at least 1"));
            }
        }
        let nc = &self.new_conversations;
        if nc.per_week > 0 && nc.per_day > nc.per_week {
            return Err("limits.new_conversations.per_day exceeds per_week".into());
        }
        if self.cadence.intervals > MAX_CADENCE_INTERVALS {
            return Err(format!(
                "limits.cadence.intervals must be at most {MAX_CADENCE_INTERVALS}"
            ));
        }
        if self.cadence.max_cv.is_nan() || self.cadence.max_cv < 0.0 {
            return Err("limits.cadence.max_cv must be a number >= 0".into());
        }
        if self.fanout.history > MAX_FANOUT_HISTORY {
            return Err(format!(
                "limits.fanout.history must be at most {MAX_FANOUT_HISTORY}"
            ));
        }
        if self.fanout.max_hamming > 64 {
            return Err("limits.fanout.max_hamming must be at most 64".into());
        }
        if self.ignored_refusals.refusals > MAX_IGNORED_REFUSALS {
            return Err(format!(
                "limits.ignored_refusals.refusals must be at most {MAX_IGNORED_REFUSALS}"
            ));
        }
        let s = &self.strikes;
        if s.restrict_new_conversations_at > 0
            && s.restrict_full_at > 0
            && s.restrict_full_at < s.restrict_new_conversations_at
        {
            return Err(
                "limits.strikes.restrict_full_at is below restrict_new_conversations_at".into(),
            );
        }
        let t = &self.template;
        if t.hashes > MAX_TEMPLATE_HASHES {
            return Err(format!(
                "limits.template.hashes must be at most {MAX_TEMPLATE_HASHES}"
            ));
        }
        if t.band_rows == 0 || (t.hashes > 0 && t.band_rows > t.hashes) {
            return Err("limits.template.band_rows must be between 1 and hashes".into());
        }
        if t.shingle_words == 0 {
            return Err("limits.template.shingle_words must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&t.same_template_similarity) {
            return Err("limits.template.same_template_similarity must be between 0 and 1".into());
        }
        let r = &self.reactions;
        for (key, value) in [
            ("max_reply_share", r.max_reply_share),
            ("min_negative_share", r.min_negative_share),
            ("answered_share", r.answered_share),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("limits.reactions.{key} must be between 0 and 1"));
            }
        }
        if t.history > MAX_OUTREACH_HISTORY || r.history > MAX_OUTREACH_HISTORY {
            return Err(format!(
                "limits.template.history and limits.reactions.history must be at most \
                 {MAX_OUTREACH_HISTORY}"
            ));
        }
        if s.max_kept == 0 {
            return Err("limits.strikes.max_kept must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let config = LimitsConfig::default();
        config.validate().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<LimitsConfig>(&json).unwrap(), config);
    }

    /// The `[limits]` table as documented (NOTES.md / sendguard.example.toml): every key at
    /// its default.
    const EXAMPLE: &str = r#"
# Per-sender behaviour limits. Every key is optional; shown are the defaults.
# A limit of 0 disables it. Unknown keys are an error.
[limits]
# Accounts younger than this many days use [limits.young_rate] instead of [limits.rate].
young_account_age_days = 7

# Send rate (GCRA): refused with 429 and an exact Retry-After when exceeded.
[limits.rate]
per_minute = 10     # sustained sends per minute (one every 6 s)...
minute_burst = 10   # ...of which this many may go back to back
per_hour = 100      # sustained per hour; the whole hour's allowance may be used at once
per_day = 300       # sustained per day; the whole day's allowance may be used at once

[limits.young_rate]
per_minute = 5
minute_burst = 5
per_hour = 40
per_day = 100

# Distinct members outside the sender's network that it opens a new conversation with,
# over sliding windows. Replies in existing threads and messages to connections don't count.
[limits.new_conversations]
per_day = 20
per_week = 60

# Same content (64-bit SimHash within max_hamming bits) to `recipients` distinct members
# within window_secs: the send is held for review and the sender gets a strike.
[limits.fanout]
recipients = 5
window_secs = 86400
max_hamming = 10
min_features = 16   # shorter messages (stock phrases) are not fingerprinted
history = 100       # recent sends remembered for the comparison
strike_weight = 1

# Inter-send intervals with coefficient of variation below max_cv over the last
# `intervals` sends: a bot signal (never a refusal by itself).
[limits.cadence]
intervals = 10
max_cv = 0.1
max_interval_secs = 21600   # a run containing a longer pause is not judged
strike_weight = 1
strike_cooldown_secs = 3600 # at most one cadence strike per hour

# Strike points within expiry_days: at restrict_new_conversations_at the sender can no
# longer open conversations with non-connections (replies still go); at restrict_full_at
# only existing connections can be messaged. Only a reviewer lifts a restriction.
[limits.strikes]
expiry_days = 30
restrict_new_conversations_at = 3
restrict_full_at = 6
max_kept = 32

# One template (spintax variants too: MinHash over word pairs, names/numbers/links masked)
# to `recipients` distinct non-connections within window_secs. Asks for a hold that the
# policy grants only with suspicious content or poor reactions.
[limits.template]
shingle_words = 2
hashes = 64
band_rows = 2
min_words = 12
min_shingles = 12
same_template_similarity = 0.15
recipients = 5
window_secs = 604800
history = 40
strike_weight = 1

# Recipients' reactions to a sender's outreach over window_days, each recipient once.
[limits.reactions]
window_days = 14
min_outreach = 8
max_reply_share = 0.05
min_negative_share = 0.2
answered_share = 0.15
history = 200
strike_weight = 1
"#;

    /// The documented example (every key, at its default) is exactly `Default`.
    #[test]
    fn documented_example_is_the_default() {
        #[derive(Deserialize)]
        struct File {
            limits: LimitsConfig,
        }
        let file: File = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(file.limits, LimitsConfig::default());
    }

    #[test]
    fn partial_tables_keep_other_defaults_and_unknown_keys_fail() {
        let config: LimitsConfig =
            serde_json::from_str(r#"{"rate": {"per_hour": 50}, "fanout": {"recipients": 3}}"#)
                .unwrap();
        assert_eq!(config.rate.per_hour, 50);
        assert_eq!(config.rate.per_minute, 10);
        assert_eq!(config.fanout.recipients, 3);
        assert_eq!(config.fanout.window_secs, 86_400);
        assert!(serde_json::from_str::<LimitsConfig>(r#"{"rate": {"per_hr": 5}}"#).is_err());
    }

    #[test]
    fn inconsistent_settings_are_rejected() {
        let mut config = LimitsConfig::default();
        config.strikes.restrict_full_at = 2;
        assert!(config.validate().unwrap_err().contains("restrict_full_at"));
        let mut config = LimitsConfig::default();
        config.cadence.intervals = 65;
        assert!(config.validate().is_err());
        let mut config = LimitsConfig::default();
        config.new_conversations.per_day = 61;
        assert!(config.validate().is_err());
    }
}
