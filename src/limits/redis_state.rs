//! The per-sender state on Redis (`[limits] backend = "redis"`), shared by every replica.
//!
//! One key per sender, `<prefix>{sender:<id>}:limits`, a hash of the [`SenderState`] as JSON
//! (`s`) and a version (`v`). A send reads state, version and the server's `TIME` in one
//! script ([`LOAD`]), decides with the same [`Limiter`](super::Limiter) code as the
//! embedded backend, and writes the recorded state back with a compare-and-set script
//! ([`SAVE`]) that succeeds only if the version is still the one it read; otherwise another
//! replica recorded a send of the same sender in between, and the send decides again on the
//! new state. So rate windows, distinct recipients, fan-out fingerprints, cadence and
//! strikes of one sender change atomically across replicas, and exactly the allowed number
//! of concurrent sends get through.
//!
//! Redis Cluster: each script touches one key, declared in `KEYS`, and the `{sender:<id>}`
//! hash tag puts everything of one sender in one slot. Memory stays bounded: every write
//! sets an expiry at which the state would be idle ([`retention_ms`]); only a state carrying
//! a restriction is kept without one (restrictions do not lapse by themselves).
//!
//! Every call has a deadline (`timeout_ms`); a connection is made on first use and
//! re-made by the connection manager when it drops, so a replica starts while Redis is
//! down and recovers when it comes back.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use tokio::sync::OnceCell;

use super::config::{LimitsConfig, RedisLimitsConfig};
use super::reactions::ReactionState;
use super::state::{SenderState, StateReactions};
use crate::domain::{MemberId, Millis};

/// Reads the sender's version and state and the server's time, in one round trip.
/// `TIME` is allowed in scripts since Redis 5 (scripts replicate their effects).
pub const LOAD: &str = r"
local t = redis.call('TIME')
local v = redis.call('HMGET', KEYS[1], 'v', 's')
return {t[1], t[2], v[1] or '0', v[2] or ''}
";

/// Compare-and-set: writes state `ARGV[3]` as version `ARGV[2]` only if the stored version
/// is still `ARGV[1]` (an absent key is version 0), then sets the expiry `ARGV[4]` in
/// milliseconds (0: none). Returns 1 when written, 0 when another write came first.
pub const SAVE: &str = r"
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
";

/// Counts one script call, one round trip (the load generator divides by sends). A script
/// Redis had not cached yet costs a second one (`EVALSHA`, then `EVAL`), not counted.
fn count_round_trip() {
    metrics::counter!("sendguard_redis_round_trips_total").increment(1);
}

/// A sender's state as read, with the version a write must match.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub state: SenderState,
    pub version: u64,
    /// The Redis server's time when it was read.
    pub server_now: Millis,
}

/// Why Redis did not answer as expected.
#[derive(Debug, thiserror::Error)]
pub enum RedisStateError {
    #[error("redis unreachable: {0}")]
    Unreachable(String),
    #[error("redis sender state unreadable: {0}")]
    Corrupt(String),
}

/// The connection and the two scripts.
pub struct RedisSenderStates {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    /// For the few updates made inside a store write (a reviewer's or reports' strike, a
    /// lift), which run synchronously under the store's write lock.
    blocking: std::sync::Mutex<Option<redis::Connection>>,
    key_prefix: String,
    timeout: Duration,
    load: Script,
    save: Script,
}

impl std::fmt::Debug for RedisSenderStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSenderStates")
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSenderStates {
    /// Parses the URL; connects on first use.
    pub fn new(config: &RedisLimitsConfig) -> Result<RedisSenderStates, RedisStateError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| RedisStateError::Unreachable(format!("bad url: {e}")))?;
        Ok(RedisSenderStates {
            client,
            connection: OnceCell::new(),
            blocking: std::sync::Mutex::new(None),
            key_prefix: config.key_prefix.clone(),
            timeout: Duration::from_millis(config.timeout_ms.max(1)),
            load: Script::new(LOAD),
            save: Script::new(SAVE),
        })
    }

    /// The sender's key: the hash tag keeps it in one Redis Cluster slot.
    pub fn key(&self, member: MemberId) -> String {
        format!("{}{{sender:{member}}}:limits", self.key_prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisStateError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let connect = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config));
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(connection)) => Ok(connection.clone()),
            Ok(Err(e)) => Err(RedisStateError::Unreachable(e.to_string())),
            Err(_) => Err(RedisStateError::Unreachable(format!(
                "no connection within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    async fn within<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisStateError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(RedisStateError::Unreachable(e.to_string())),
            Err(_) => Err(RedisStateError::Unreachable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    /// The sender's state, its version and the server's time.
    pub async fn load(&self, member: MemberId) -> Result<Snapshot, RedisStateError> {
        let mut connection = self.connection().await?;
        count_round_trip();
        let (secs, micros, version, json): (i64, i64, String, String) = self
            .within(
                self.load
                    .key(self.key(member))
                    .invoke_async(&mut connection),
            )
            .await?;
        snapshot(secs, micros, &version, &json)
    }

    /// The reactions of a member's state alone (`StateReactions`), read with a plain `HGET`
    /// (no version or time needed): a reply reads its recipient's beside its sender's
    /// [`RedisSenderStates::load`], on the same multiplexed connection, so both go in one
    /// round trip and the write need not read it blocking (`app::shared_limits`).
    pub async fn reactions(&self, member: MemberId) -> Result<ReactionState, RedisStateError> {
        let mut connection = self.connection().await?;
        count_round_trip();
        let json: Option<String> = self
            .within(
                redis::cmd("HGET")
                    .arg(self.key(member))
                    .arg("s")
                    .query_async(&mut connection),
            )
            .await?;
        match json {
            None => Ok(ReactionState::default()),
            Some(json) => serde_json::from_str::<StateReactions>(&json)
                .map(|state| state.reactions)
                .map_err(|e| RedisStateError::Corrupt(e.to_string())),
        }
    }

    /// Deletes the sender's state (account erasure); `true` when there was one.
    pub async fn forget(&self, member: MemberId) -> Result<bool, RedisStateError> {
        let mut connection = self.connection().await?;
        let deleted: i64 = self
            .within(
                redis::cmd("DEL")
                    .arg(self.key(member))
                    .query_async(&mut connection),
            )
            .await?;
        Ok(deleted == 1)
    }

    /// Writes `state` if the stored version is still `version`; `false` when another
    /// replica wrote first (read again and decide again).
    pub async fn save(
        &self,
        member: MemberId,
        version: u64,
        state: &SenderState,
        expire_after_ms: i64,
    ) -> Result<bool, RedisStateError> {
        let mut connection = self.connection().await?;
        let json =
            serde_json::to_string(state).map_err(|e| RedisStateError::Corrupt(e.to_string()))?;
        count_round_trip();
        let written: i64 = self
            .within(
                self.save
                    .key(self.key(member))
                    .arg(version.to_string())
                    .arg((version + 1).to_string())
                    .arg(json)
                    .arg(expire_after_ms.max(0))
                    .invoke_async(&mut connection),
            )
            .await?;
        Ok(written == 1)
    }

    /// Reads, changes and compare-and-sets a sender's state synchronously (for callers
    /// inside a store write, which cannot await): `change` gets the state and the server's
    /// time and may run again when another replica wrote in between. Returns what the
    /// successful run of `change` returned.
    pub fn update_blocking<T>(
        &self,
        member: MemberId,
        limits: &LimitsConfig,
        local_now: Option<Millis>,
        mut change: impl FnMut(&mut SenderState, Millis) -> T,
    ) -> Result<T, RedisStateError> {
        let mut guard = self.blocking.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.update_on(&mut guard, member, limits, local_now, &mut change);
        if matches!(result, Err(RedisStateError::Unreachable(_))) {
            // Reconnect on the next call rather than reuse a broken connection.
            *guard = None;
        }
        result
    }

    /// The blocking connection, made on first use.
    fn blocking_connection<'c>(
        &self,
        slot: &'c mut Option<redis::Connection>,
    ) -> Result<&'c mut redis::Connection, RedisStateError> {
        let unreachable = |e: redis::RedisError| RedisStateError::Unreachable(e.to_string());
        if slot.is_none() {
            let connection = self
                .client
                .get_connection_with_timeout(self.timeout)
                .map_err(unreachable)?;
            connection
                .set_read_timeout(Some(self.timeout))
                .map_err(unreachable)?;
            connection
                .set_write_timeout(Some(self.timeout))
                .map_err(unreachable)?;
            *slot = Some(connection);
        }
        slot.as_mut()
            .ok_or_else(|| RedisStateError::Unreachable("no connection".into()))
    }

    /// [`RedisSenderStates::load`] on the blocking connection.
    fn load_on(
        &self,
        connection: &mut redis::Connection,
        member: MemberId,
    ) -> Result<Snapshot, RedisStateError> {
        count_round_trip();
        let (secs, micros, version, json): (i64, i64, String, String) = self
            .load
            .key(self.key(member))
            .invoke(connection)
            .map_err(|e| RedisStateError::Unreachable(e.to_string()))?;
        snapshot(secs, micros, &version, &json)
    }

    fn update_on<T>(
        &self,
        slot: &mut Option<redis::Connection>,
        member: MemberId,
        limits: &LimitsConfig,
        local_now: Option<Millis>,
        change: &mut impl FnMut(&mut SenderState, Millis) -> T,
    ) -> Result<T, RedisStateError> {
        let connection = self.blocking_connection(slot)?;
        for _ in 0..limits.redis.max_cas_attempts.max(1) {
            let Snapshot {
                mut state,
                version,
                server_now,
            } = self.load_on(connection, member)?;
            let now = local_now.unwrap_or(server_now);
            let value = change(&mut state, now);
            let json = serde_json::to_string(&state)
                .map_err(|e| RedisStateError::Corrupt(e.to_string()))?;
            count_round_trip();
            let written: i64 = self
                .save
                .key(self.key(member))
                .arg(version.to_string())
                .arg((version + 1).to_string())
                .arg(json)
                .arg(retention_ms(limits, &state, now).max(0))
                .invoke(connection)
                .map_err(|e| RedisStateError::Unreachable(e.to_string()))?;
            if written == 1 {
                return Ok(value);
            }
        }
        Err(RedisStateError::Unreachable(format!(
            "sender {member}: state changed {} times in a row",
            limits.redis.max_cas_attempts
        )))
    }

    /// The sender's state, read synchronously (for the console's sender history).
    pub fn read_blocking(&self, member: MemberId) -> Result<SenderState, RedisStateError> {
        let mut guard = self.blocking.lock().unwrap_or_else(|e| e.into_inner());
        let result = self
            .blocking_connection(&mut guard)
            .and_then(|connection| self.load_on(connection, member));
        if matches!(result, Err(RedisStateError::Unreachable(_))) {
            *guard = None;
        }
        result.map(|snapshot| snapshot.state)
    }

    /// Whether Redis answers `PING` within the deadline (for `/readyz`).
    pub async fn ping(&self) -> bool {
        let Ok(mut connection) = self.connection().await else {
            return false;
        };
        self.within(redis::cmd("PING").query_async::<String>(&mut connection))
            .await
            .is_ok()
    }
}

/// A snapshot from the load script's answer.
fn snapshot(
    secs: i64,
    micros: i64,
    version: &str,
    json: &str,
) -> Result<Snapshot, RedisStateError> {
    let version = version
        .parse()
        .map_err(|_| RedisStateError::Corrupt(format!("version {version:?}")))?;
    let state = if json.is_empty() {
        SenderState::default()
    } else {
        serde_json::from_str(json).map_err(|e| RedisStateError::Corrupt(e.to_string()))?
    };
    Ok(Snapshot {
        state,
        version,
        server_now: secs * 1000 + micros / 1000,
    })
}

/// How long the state must be kept after a write at `now` for every future decision to
/// see what it holds: the furthest rate window, then the longest of the sliding windows
/// that still hold something. `0` (keep) while a restriction stands.
pub fn retention_ms(config: &LimitsConfig, state: &SenderState, now: Millis) -> i64 {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    if state.restriction().is_some() {
        return 0;
    }
    let mut keep = state
        .rate
        .tat
        .iter()
        .map(|&tat| tat - now)
        .max()
        .unwrap_or(0);
    if !state.conversations.opened.is_empty() {
        keep = keep.max(7 * DAY_MS);
    }
    if !state.fanout.recent.is_empty() {
        keep = keep.max(config.fanout.window_secs as i64 * 1000);
    }
    if !state.cadence.sends.is_empty() {
        keep = keep.max(config.cadence.max_interval_secs as i64 * 1000);
    }
    if !state.refusals.recent.is_empty() {
        keep = keep.max(
            (config.ignored_refusals.window_secs + config.ignored_refusals.strike_cooldown_secs)
                as i64
                * 1000,
        );
    }
    if !state.strikes.strikes.is_empty() {
        keep = keep.max(i64::from(config.strikes.expiry_days) * DAY_MS);
    }
    // The outreach record: template signatures, and recipients whose reactions count.
    if !state.template.is_empty() {
        keep = keep.max(config.template.window_secs as i64 * 1000);
    }
    if !state.reactions.is_empty() {
        keep = keep.max(i64::from(config.reactions.window_days) * DAY_MS);
    }
    // A minute more than the furthest window, and never 0 (which would mean "keep").
    keep.max(0) + 60_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Limiter, SendFacts};

    #[test]
    fn retention_covers_every_window_and_a_restriction_is_kept() {
        let config = LimitsConfig::default();
        let limiter = Limiter::new(config.clone());
        let mut state = SenderState::default();
        assert_eq!(retention_ms(&config, &state, 0), 60_000);
        let facts = SendFacts {
            now: 1_000,
            account_created_at: -100 * 24 * 3600 * 1000,
            recipient: 7,
            connected: false,
            new_conversation: true,
            fingerprint: None,
        };
        limiter.record(&mut state, &facts, &[]);
        // A new conversation is counted for a week.
        assert!(retention_ms(&config, &state, 1_000) >= 7 * 24 * 3600 * 1000);
        limiter.add_strike(&mut state, 2_000, 100, "test");
        assert!(state.restriction().is_some());
        assert_eq!(retention_ms(&config, &state, 2_000), 0);
    }

    #[test]
    fn keys_of_one_sender_share_a_hash_tag() {
        let states = RedisSenderStates::new(&RedisLimitsConfig {
            key_prefix: "t:".into(),
            ..RedisLimitsConfig::default()
        })
        .unwrap();
        assert_eq!(states.key(42), "t:{sender:42}:limits");
    }
}
