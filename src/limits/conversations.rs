//! Caps on opening new conversations with non-connections, counted in distinct recipients.
//!
//! The state is one entry per recipient: the last time the sender opened a conversation
//! with them. A recipient is inside a sliding window exactly when that time is, so the
//! number of entries newer than `now − window` is the exact count of distinct recipients
//! in the window (not of events): writing twice to the same stranger counts once. Entries
//! older than the longest enabled window are pruned on every record, and the caps refuse
//! before more can be added, so the list never holds more than `per_week` entries.

use serde::{Deserialize, Serialize};

use super::config::NewConversationsConfig;
use crate::domain::{MemberId, Millis};

pub const DAY_MS: i64 = 24 * 3600 * 1000;
pub const WEEK_MS: i64 = 7 * DAY_MS;

/// Recipients of new conversations toward non-connections, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    /// `(recipient, last opened at)`, sorted by time.
    pub opened: Vec<(MemberId, Millis)>,
}

/// A cap that would be exceeded: its name, its value and milliseconds until the send fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapHit {
    pub limit_name: &'static str,
    pub limit: u32,
    pub retry_after_ms: i64,
}

/// Checks opening a conversation with `recipient` at `now`; the caps that trip, the one to
/// wait longest for first.
pub fn check(
    config: &NewConversationsConfig,
    state: &ConversationState,
    now: Millis,
    recipient: MemberId,
) -> Option<CapHit> {
    let mut worst: Option<CapHit> = None;
    for (limit_name, cap, window) in [
        ("new_conversations_per_day", config.per_day, DAY_MS),
        ("new_conversations_per_week", config.per_week, WEEK_MS),
    ] {
        if cap == 0 {
            continue;
        }
        // Entries are sorted by time, so the window is a suffix of the list.
        let start = state.opened.partition_point(|&(_, at)| at <= now - window);
        let in_window = &state.opened[start..];
        if in_window.iter().any(|&(r, _)| r == recipient) {
            continue; // already counted in this window
        }
        if in_window.len() < cap as usize {
            continue;
        }
        // The window must lose `len − cap + 1` entries; the last of those leaves it at
        // `at + window`.
        let (_, leaving) = in_window[in_window.len() - cap as usize];
        let hit = CapHit {
            limit_name,
            limit: cap,
            retry_after_ms: leaving + window - now,
        };
        if worst.is_none_or(|w| hit.retry_after_ms > w.retry_after_ms) {
            worst = Some(hit);
        }
    }
    worst
}

/// Records a conversation opened with `recipient` at `now`.
pub fn record(
    config: &NewConversationsConfig,
    state: &mut ConversationState,
    now: Millis,
    recipient: MemberId,
) {
    prune(config, state, now);
    if config.per_day == 0 && config.per_week == 0 {
        return;
    }
    state.opened.retain(|&(r, _)| r != recipient);
    // Times are normally non-decreasing; insert in order anyway so a late clock stays exact.
    let at = state.opened.partition_point(|&(_, t)| t <= now);
    state.opened.insert(at, (recipient, now));
}

/// Drops entries that no enabled window can see any more.
pub fn prune(config: &NewConversationsConfig, state: &mut ConversationState, now: Millis) {
    let keep = if config.per_week > 0 {
        WEEK_MS
    } else if config.per_day > 0 {
        DAY_MS
    } else {
        0
    };
    state.opened.retain(|&(_, at)| at > now - keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(per_day: u32, per_week: u32) -> NewConversationsConfig {
        NewConversationsConfig { per_day, per_week }
    }

    #[test]
    fn counts_distinct_recipients_and_trips_at_the_cap() {
        let config = caps(3, 10);
        let mut state = ConversationState::default();
        for (i, r) in [1, 2, 1, 3].into_iter().enumerate() {
            let now = i as i64 * 1_000;
            assert_eq!(check(&config, &state, now, r), None);
            record(&config, &mut state, now, r);
        }
        assert_eq!(state.opened.len(), 3);
        // A known recipient still passes; a fourth distinct one does not.
        assert_eq!(check(&config, &state, 5_000, 2), None);
        let hit = check(&config, &state, 5_000, 4).unwrap();
        assert_eq!(hit.limit_name, "new_conversations_per_day");
        // Oldest in-window entry is recipient 2 at t=1000 (1 was re-opened at 2000).
        assert_eq!(hit.retry_after_ms, 1_000 + DAY_MS - 5_000);
        assert_eq!(check(&config, &state, 1_000 + DAY_MS, 4), None);
        assert!(check(&config, &state, 1_000 + DAY_MS - 1, 4).is_some());
    }

    #[test]
    fn week_cap_reports_the_longer_wait_and_pruning_bounds_the_list() {
        let config = caps(2, 3);
        let mut state = ConversationState::default();
        for (day, r) in [(0, 1), (1, 2), (2, 3)] {
            let now = day * DAY_MS;
            assert_eq!(check(&config, &state, now, r), None);
            record(&config, &mut state, now, r);
        }
        let hit = check(&config, &state, 3 * DAY_MS, 4).unwrap();
        assert_eq!(hit.limit_name, "new_conversations_per_week");
        assert_eq!(hit.retry_after_ms, WEEK_MS - 3 * DAY_MS);
        record(&config, &mut state, 30 * DAY_MS, 9);
        assert_eq!(state.opened, vec![(9, 30 * DAY_MS)]);
    }

    #[test]
    fn disabled_caps_never_trip_or_store() {
        let config = caps(0, 0);
        let mut state = ConversationState::default();
        for r in 0..100 {
            assert_eq!(check(&config, &state, 0, r), None);
            record(&config, &mut state, 0, r);
        }
        assert!(state.opened.is_empty());
    }
}
