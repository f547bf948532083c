//! Daily counters of events that leave no record of their own: refused sends.
//!
//! A refused send writes no batch (nothing about the message is kept), yet a report must say
//! how many sends were refused and why. Each refusal adds one to `stat/refusal/ day reason`
//! with an atomic read-modify-write (sled's `update_and_fetch`, one upsert on PostgreSQL),
//! outside the write lock and without waiting for a flush: a counter is a statistic, not an
//! acknowledged write, so a crash may lose the last few increments and nothing else. Only
//! [`Store::count_refusal`] writes these keys, so no batch can overwrite an increment.

use super::{keys, Backend, Store, StoreResult};
use crate::dates::DAY_MS;
use crate::domain::Millis;

fn day_of(time: Millis) -> u64 {
    time.max(0).div_euclid(DAY_MS) as u64
}

/// One day's count of one refusal reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalCount {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// The error code, and for `rate_limited` the limit: `rate_limited/per_minute`.
    pub reason: String,
    pub count: u64,
}

impl Store {
    /// Adds one to today's counter of `reason`.
    pub fn count_refusal(&self, at: Millis, reason: &str) -> StoreResult<()> {
        let mut key = keys::ids(keys::STAT_REFUSAL, &[day_of(at)]);
        key.extend_from_slice(reason.as_bytes());
        let db = match &self.backend {
            Backend::Sled(inner) => &inner.db,
            Backend::Postgres(pg) => return pg.count_refusal(key, day_of(at), reason.to_string()),
        };
        db.update_and_fetch(key, |old| {
            let count = old.map_or(0, |v| keys::u64_at(v, 0));
            Some((count + 1).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Refusal counters of the days that intersect `[from, to)`, in day then reason order.
    pub fn refusals(
        &self,
        from: Millis,
        to: Millis,
    ) -> impl Iterator<Item = StoreResult<RefusalCount>> + '_ {
        let start = keys::ids(keys::STAT_REFUSAL, &[day_of(from)]);
        let last_day = day_of(to.saturating_sub(1));
        let end = keys::ids(keys::STAT_REFUSAL, &[last_day.saturating_add(1)]);
        let offset = keys::STAT_REFUSAL.len();
        self.entries(start, end, false).map(move |entry| {
            let (key, value) = entry?;
            Ok(RefusalCount {
                day: keys::u64_at(&key, offset) as i64,
                reason: String::from_utf8_lossy(&key[offset + 8..]).into_owned(),
                count: keys::u64_at(&value, 0),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_per_day_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = 20_000 * DAY_MS;
        store.count_refusal(day + 5, "too_long").unwrap();
        store.count_refusal(day + 6, "too_long").unwrap();
        store
            .count_refusal(day + DAY_MS, "rate_limited/per_minute")
            .unwrap();
        store.count_refusal(day + 2 * DAY_MS, "blocked").unwrap();
        let seen: Vec<_> = store
            .refusals(day, day + 2 * DAY_MS)
            .map(Result::unwrap)
            .map(|c| (c.day, c.reason, c.count))
            .collect();
        assert_eq!(
            seen,
            vec![
                (20_000, "too_long".to_string(), 2),
                (20_001, "rate_limited/per_minute".to_string(), 1),
            ]
        );
    }
}
