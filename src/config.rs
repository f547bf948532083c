//! Service configuration: one TOML file, every key optional with a documented default.
//!
//! Unknown keys are refused (a typo must not silently fall back to a default), and secrets
//! come from the environment so the file can be committed. `sendguard.example.toml` lists
//! every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::policy::PolicyConfig;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub messaging: MessagingConfig,
    pub policy: PolicyConfig,
    pub review: ReviewConfig,
    pub reports: ReportsConfig,
    pub engine: EngineConfig,
    pub limits: crate::limits::LimitsConfig,
    pub events: crate::notify::EventsConfig,
    pub campaigns: CampaignsConfig,
    pub sponsored: SponsoredConfig,
    pub retention: RetentionConfig,
}

/// `[sponsored]`: the sponsored channel's limits per recipient and per campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SponsoredConfig {
    /// Most sponsored messages one member receives within `cap_window_days`, across all
    /// advertisers; a target over it is skipped (`frequency_cap`).
    pub max_per_member: u32,
    pub cap_window_days: u32,
    /// Most targets one sponsored campaign may list.
    pub max_targets: usize,
}

impl Default for SponsoredConfig {
    fn default() -> Self {
        SponsoredConfig {
            max_per_member: 1,
            cap_window_days: 45,
            max_targets: 10_000,
        }
    }
}

/// `[retention]`: how long text and histories are kept (issue 24). Unset windows keep
/// forever, as before; the sweep runs on the app's clock every `sweep_interval_secs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Text of a held message a reviewer removed, counted from the decision.
    pub removed_text_days: Option<u32>,
    /// Text in a review item (the reporter's words, the reviewer's note), from the decision.
    pub review_text_days: Option<u32>,
    /// Audit log entries, from when they were written.
    pub audit_days: Option<u32>,
    /// A sender's limiter state, once nothing has happened in it for this long.
    pub limiter_history_days: Option<u32>,
    /// Seconds between background sweeps of `sendguard serve` (0: no background sweep).
    pub sweep_interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            removed_text_days: None,
            review_text_days: None,
            audit_days: None,
            limiter_history_days: None,
            sweep_interval_secs: 3600,
        }
    }
}

impl RetentionConfig {
    /// Whether any window is set (no sweep runs otherwise).
    pub fn any(&self) -> bool {
        self.removed_text_days.is_some()
            || self.review_text_days.is_some()
            || self.audit_days.is_some()
            || self.limiter_history_days.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Directory of the rule packs (`*.toml`), reloaded on SIGHUP; unset = the packs built
    /// into the binary (`crate::shipped`), so the service runs from any directory.
    pub rules_dir: Option<PathBuf>,
    /// The classifier model file; unset = the model built into the binary.
    pub model: Option<PathBuf>,
}

/// hyper's smallest read buffer; a smaller head limit would make it panic.
pub const MIN_HEADER_BYTES: usize = 8192;

/// The shipped model's path in the repository, for tools that read it as a file (the
/// rescore bench); every command uses the copy built into the binary.
pub const DEFAULT_MODEL: &str = "models/default.sgnb";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// How long a reviewer's claim on a queue item lasts before another reviewer may take it.
    pub claim_ttl_secs: u64,
    /// Shortest justification accepted for reading a held message's content.
    pub min_justification_chars: usize,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            claim_ttl_secs: 900,
            min_justification_chars: 10,
        }
    }
}

/// `[campaigns]`: one template (`[limits.template]` decides what is one template) sent to
/// non-connections by many accounts inside a window is a coordinated campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignsConfig {
    /// Distinct accounts seen within `window_secs` at which a campaign is recognized; 0
    /// disables recognition.
    pub min_accounts: u32,
    /// How recently an account must have sent the template to count, in seconds; also how
    /// long an idle campaign stays matchable.
    pub window_secs: u64,
    /// Hold the rest of a campaign's sends once it is recognized, without corroboration
    /// (reviewers release it). Off by default: a recognized campaign's sends carry the
    /// `campaign` signal, held with suspicious content or poor reactions, and reviewers hold
    /// the rest of it as a whole.
    pub hold_on_recognition: bool,
    /// Strike points for each send held as part of a campaign.
    pub strike_weight: u32,
    /// Accounts listed per campaign record (the total keeps counting beyond).
    pub max_accounts: u32,
    /// Variant signatures kept per campaign to match new sends against.
    pub max_variants: u32,
    /// Kept variants a send must be similar to (or all of them, when fewer are kept) to join
    /// a campaign: variants of one template resemble many of each other, while a message
    /// that shares a few common phrases resembles one variant at most.
    pub min_variant_matches: u32,
    /// Share of the kept variants a send must be similar to, as well (variants of a spintax
    /// template resemble about half of each other at the template threshold).
    pub min_variant_share: f64,
    /// Messages a campaign's detail lists (its counts cover all of them).
    pub detail_messages: u32,
}

impl Default for CampaignsConfig {
    fn default() -> Self {
        CampaignsConfig {
            min_accounts: 5,
            window_secs: 3 * 24 * 3600,
            hold_on_recognition: false,
            strike_weight: 1,
            max_accounts: 1000,
            max_variants: 16,
            min_variant_matches: 2,
            min_variant_share: 0.25,
            detail_messages: 200,
        }
    }
}

/// How recipients' reports turn into automated sanctions. Reports are evidence, not
/// verdicts: one member cannot restrict another by reporting many times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportsConfig {
    /// A reporter counts once per sender within this many days, however many messages
    /// they report; older reports no longer count toward a sanction.
    pub window_days: u32,
    /// Distinct reporters, weighted by their standing, that a sender's reports need within
    /// the window before they strike (each reporter then counts `strike_weight`); below it
    /// reports only queue review.
    pub min_reporters: f64,
    /// Upheld reports every reporter starts with when their standing is weighed (a new
    /// reporter weighs 1; each overturned report lowers the weight).
    pub standing_prior: f64,
    /// Strike points of a report that counts.
    pub strike_weight: u32,
    /// Most report entries kept per sender (oldest dropped first).
    pub max_kept: usize,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            window_days: 30,
            min_reporters: 3.0,
            standing_prior: 1.0,
            strike_weight: 1,
            max_kept: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address; loopback by default because `/metrics` and `/healthz` have no auth.
    pub addr: SocketAddr,
    /// Admin bearer token. Prefer the `SENDGUARD_ADMIN_TOKEN` environment variable.
    pub admin_token: Option<String>,
    /// Largest request body accepted, in bytes; larger requests get 413 before parsing.
    /// 28,000 characters JSON-escaped as `\uXXXX` surrogate pairs need up to 336,000 bytes.
    pub max_request_bytes: usize,
    /// `text` for humans on a terminal, `json` for log shippers.
    pub log_format: LogFormat,
    /// A request's headers must arrive within this long of its first byte (or of the
    /// previous response): a client dribbling header bytes cannot hold a socket forever.
    pub header_read_timeout_secs: u64,
    /// A request body must arrive in full within this long; 408 after it.
    pub body_read_timeout_secs: u64,
    /// A keep-alive connection with no request in flight is closed after this long.
    pub idle_timeout_secs: u64,
    /// Most connections served at once; beyond it a new connection gets 503 and is closed,
    /// so descriptors stay bounded below the process limit.
    pub max_connections: usize,
    /// Most open `/v1/events` streams per member; one more gets 429.
    pub max_event_streams_per_member: usize,
    /// Milliseconds added to this replica's clock (0). For drills and tests of replicas
    /// whose clocks disagree; the limiter on Redis reads Redis's `TIME` instead.
    pub clock_skew_ms: i64,
    /// Largest request head (request line and headers) in bytes; larger gets 431. At
    /// least 8192 (hyper's read buffer); it bounds the memory one request head can take.
    pub max_header_bytes: usize,
    /// Most header fields in one request; more gets 431.
    pub max_headers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Which engine keeps the store: `sled` (embedded, one process) or `postgres` (shared
    /// by several replicas).
    pub backend: StoreBackend,
    /// Directory of the embedded sled store (`backend = "sled"`).
    pub data_dir: PathBuf,
    /// PostgreSQL connection URL (`backend = "postgres"`), e.g.
    /// `postgres://sendguard@127.0.0.1:5432/sendguard`; `?options=-c%20search_path%3Dname`
    /// selects a schema.
    pub url: Option<String>,
    /// Most connections this process holds to PostgreSQL (at least 2: a write may read
    /// through a second connection while its transaction holds the first).
    pub pool_size: usize,
    /// Longest wait for a PostgreSQL connection or statement before the request is answered
    /// 503 (with `Retry-After`).
    pub timeout_ms: u64,
    /// `Retry-After` (seconds) of a 503 answered because the store is unavailable.
    pub retry_after_secs: u64,
    /// File of message-text encryption keys, one `ID HEX` line each (64 hex digits, a
    /// 256-bit key); the first line's key encrypts, the others only decrypt (a rotation in
    /// progress). The `SENDGUARD_STORE_KEYS` environment variable (`ID:HEX,ID:HEX`) wins
    /// over it. Neither: message text is stored unencrypted, and the server says so.
    pub keys_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    Sled,
    Postgres,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagingConfig {
    /// Longest body, in Unicode scalar values (the product's limit).
    pub max_body_chars: usize,
    /// How long after sending a message its sender may recall it.
    pub recall_window_secs: u64,
    /// InMail credits granted at each calendar month's turn (UTC) for each plan.
    pub inmail_credits_free: u32,
    pub inmail_credits_premium: u32,
    /// The most credits a balance carries into a month, grant included, for each plan:
    /// unused credits roll over up to here (never below the plan's monthly grant).
    pub inmail_rollover_cap_free: u32,
    pub inmail_rollover_cap_premium: u32,
    /// A charged InMail's credit comes back when its recipient replies within this many
    /// days; after a reply the thread is a conversation and costs nothing more.
    pub inmail_refund_window_days: u32,
    /// Most GIF attachments on one message.
    pub max_attachments: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_token: None,
            max_request_bytes: 512 * 1024,
            log_format: LogFormat::Text,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 1024,
            max_event_streams_per_member: 4,
            clock_skew_ms: 0,
            max_header_bytes: 256 * 1024,
            max_headers: 100,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackend::Sled,
            data_dir: PathBuf::from("data"),
            url: None,
            pool_size: 16,
            timeout_ms: 5_000,
            retry_after_secs: 1,
            keys_file: None,
        }
    }
}

impl Default for MessagingConfig {
    fn default() -> Self {
        MessagingConfig {
            max_body_chars: 28_000,
            recall_window_secs: 3600,
            inmail_credits_free: 0,
            inmail_credits_premium: 15,
            inmail_rollover_cap_free: 0,
            inmail_rollover_cap_premium: 45,
            inmail_refund_window_days: 90,
            max_attachments: 10,
        }
    }
}

impl MessagingConfig {
    pub fn inmail_credits(&self, plan: crate::domain::Plan) -> u32 {
        match plan {
            crate::domain::Plan::Free => self.inmail_credits_free,
            crate::domain::Plan::Premium => self.inmail_credits_premium,
        }
    }

    /// The credit numbers of `plan`.
    pub fn credit_terms(&self, plan: crate::domain::Plan) -> crate::domain::CreditTerms {
        crate::domain::CreditTerms {
            monthly_grant: self.inmail_credits(plan),
            rollover_cap: match plan {
                crate::domain::Plan::Free => self.inmail_rollover_cap_free,
                crate::domain::Plan::Premium => self.inmail_rollover_cap_premium,
            },
            refund_window_ms: i64::from(self.inmail_refund_window_days) * 86_400_000,
        }
    }
}

impl Config {
    /// Reads `path`, then applies environment overrides; errors name the file and the key.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = crate::text_file::read_utf8(path)?;
                Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Ok(token) = std::env::var("SENDGUARD_ADMIN_TOKEN") {
            if !token.is_empty() {
                config.server.admin_token = Some(token);
            }
        }
        config.validate().map_err(|e| match path {
            Some(path) => anyhow::anyhow!("{}: {e}", path.display()),
            None => e,
        })?;
        Ok(config)
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(config)
    }

    /// Checks values that parse but make no sense, naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        let c = &self.campaigns;
        if !(0.0..=1.0).contains(&c.min_variant_share) {
            anyhow::bail!("campaigns.min_variant_share must be between 0 and 1");
        }
        if c.max_variants == 0 {
            anyhow::bail!("campaigns.max_variants must be at least 1");
        }
        let m = &self.messaging;
        if m.max_body_chars == 0 {
            anyhow::bail!("messaging.max_body_chars must be at least 1");
        }
        if self.server.max_request_bytes < m.max_body_chars {
            anyhow::bail!(
                "server.max_request_bytes ({}) must be at least messaging.max_body_chars ({})",
                self.server.max_request_bytes,
                m.max_body_chars
            );
        }
        if m.inmail_refund_window_days == 0 {
            anyhow::bail!("messaging.inmail_refund_window_days must be at least 1");
        }
        let sponsored = &self.sponsored;
        if sponsored.cap_window_days == 0 || sponsored.max_targets == 0 {
            anyhow::bail!("sponsored.cap_window_days and sponsored.max_targets must be at least 1");
        }
        let server = &self.server;
        if server.max_header_bytes < MIN_HEADER_BYTES {
            anyhow::bail!("server.max_header_bytes must be at least {MIN_HEADER_BYTES}");
        }
        for (key, value) in [
            ("server.max_headers", server.max_headers as u64),
            (
                "server.header_read_timeout_secs",
                server.header_read_timeout_secs,
            ),
            (
                "server.body_read_timeout_secs",
                server.body_read_timeout_secs,
            ),
            ("server.idle_timeout_secs", server.idle_timeout_secs),
            ("server.max_connections", server.max_connections as u64),
            (
                "server.max_event_streams_per_member",
                server.max_event_streams_per_member as u64,
            ),
        ] {
            if value == 0 {
                anyhow::bail!("{key} must be at least 1");
            }
        }
        let reports = &self.reports;
        if reports.min_reporters.is_nan() || reports.min_reporters < 1.0 {
            anyhow::bail!("reports.min_reporters must be at least 1");
        }
        if reports.standing_prior.is_nan() || reports.standing_prior <= 0.0 {
            anyhow::bail!("reports.standing_prior must be above 0");
        }
        if reports.window_days == 0 || reports.max_kept == 0 {
            anyhow::bail!("reports.window_days and reports.max_kept must be at least 1");
        }
        self.policy.validate().map_err(|e| anyhow::anyhow!(e))?;
        self.limits.validate().map_err(|e| anyhow::anyhow!(e))?;
        if let Some(token) = &self.server.admin_token {
            if token.len() < 16 {
                anyhow::bail!("server.admin_token must be at least 16 characters");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::parse("[messaging]\nrecal_window_secs = 5\n").unwrap_err();
        assert!(err.to_string().contains("recal_window_secs"), "{err}");
    }

    #[test]
    fn nonsense_value_is_named() {
        let config = Config::parse("[messaging]\nmax_body_chars = 0\n").unwrap();
        let err = config.validate().unwrap_err();
        assert!(
            err.to_string().contains("messaging.max_body_chars"),
            "{err}"
        );
    }
}
