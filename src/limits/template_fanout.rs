//! One template to many strangers: the spintax-proof counterpart of [`super::fanout`].
//!
//! Every send to a non-connection with a [`TemplateSignature`] is remembered as
//! `(signature, recipient, time, family)`. A send joins the family of the most similar
//! remembered send at or above `same_template_similarity` (or founds its own), so variants
//! that share different slots with each other still add up, as fan-out's families do. A new
//! send counts the distinct recipients, within `window_secs`, of every family it is similar
//! to; with its own recipient, reaching `recipients` raises `template`.
//!
//! The signal asks for a hold, but near-identical outreach is not a sanction by itself
//! (recruiters write templates too): the policy holds on it only with corroboration, and a
//! strike follows only a hold.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::config::TemplateConfig;
use super::fanout::human_duration;
use super::template::{similarity, TemplateSignature};
use super::LimitSignal;
use crate::domain::{MemberId, Millis};

/// One remembered send: signature, recipient, time, and its family (the id of the send that
/// founded it: a per-state counter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSent(pub TemplateSignature, pub MemberId, pub Millis, pub u32);

/// The sender's recent templated sends to non-connections, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateState {
    pub recent: VecDeque<TemplateSent>,
    /// The next family id.
    pub next_family: u32,
}

impl TemplateState {
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

/// The `template` signal for a send of `signature` to `recipient` at `now`, if it trips.
pub fn check(
    config: &TemplateConfig,
    state: &TemplateState,
    now: Millis,
    recipient: MemberId,
    signature: &TemplateSignature,
) -> Option<LimitSignal> {
    if config.recipients == 0 {
        return None;
    }
    let needed = config.recipients as usize - 1;
    let since = now - window_ms(config);
    let live = || state.recent.iter().filter(|s| s.2 > since);
    let mut families: Vec<u32> = Vec::new();
    let mut closest: f64 = 0.0;
    for sent in live() {
        let s = similarity(&sent.0, signature);
        if s >= config.same_template_similarity {
            closest = closest.max(s);
            if !families.contains(&sent.3) {
                families.push(sent.3);
            }
        }
    }
    if families.is_empty() {
        return None;
    }
    let mut others: Vec<MemberId> = Vec::new();
    for sent in live() {
        if sent.1 != recipient && families.contains(&sent.3) && !others.contains(&sent.1) {
            others.push(sent.1);
        }
    }
    if others.len() < needed {
        return None;
    }
    Some(LimitSignal {
        id: "template",
        hold: true,
        strike_weight: config.strike_weight,
        score: closest,
        detail: format!(
            "one template (closest variant {:.0}% similar, limit {:.0}%) sent to {} distinct \
             members outside the network within {}",
            closest * 100.0,
            config.same_template_similarity * 100.0,
            others.len() + 1,
            human_duration(config.window_secs)
        ),
    })
}

/// Remembers a send; drops sends outside the window and beyond `history`.
pub fn record(
    config: &TemplateConfig,
    state: &mut TemplateState,
    now: Millis,
    recipient: MemberId,
    signature: &TemplateSignature,
) {
    prune(config, state, now);
    if config.history == 0 {
        return;
    }
    let family = state
        .recent
        .iter()
        .map(|s| (similarity(&s.0, signature), s.3))
        .filter(|&(s, _)| s >= config.same_template_similarity)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, family)| family)
        .unwrap_or_else(|| {
            let id = state.next_family;
            state.next_family = state.next_family.wrapping_add(1);
            id
        });
    state
        .recent
        .push_back(TemplateSent(signature.clone(), recipient, now, family));
    while state.recent.len() > config.history as usize {
        state.recent.pop_front();
    }
}

pub fn prune(config: &TemplateConfig, state: &mut TemplateState, now: Millis) {
    let since = now - window_ms(config);
    while state.recent.front().is_some_and(|s| s.2 <= since) {
        state.recent.pop_front();
    }
}

fn window_ms(config: &TemplateConfig) -> i64 {
    i64::try_from(config.window_secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(fill: u16, differing: usize) -> TemplateSignature {
        let mut slots = vec![fill; 64];
        for (i, slot) in slots.iter_mut().enumerate().take(differing) {
            *slot = 1000 + i as u16 + fill;
        }
        TemplateSignature(slots)
    }

    #[test]
    fn trips_at_the_nth_distinct_recipient_of_one_template_and_forgets_after_the_window() {
        let config = TemplateConfig::default();
        let mut s = TemplateState::default();
        for r in 1..=4u64 {
            // Each variant 60% like the first: one family.
            let sig = signature(1, 25 + r as usize);
            assert!(check(&config, &s, r as i64, r, &sig).is_none());
            record(&config, &mut s, r as i64, r, &sig);
        }
        // An unrelated template does not count toward it.
        record(&config, &mut s, 5, 9, &signature(2, 0));
        let signal = check(&config, &s, 6, 5, &signature(1, 30)).unwrap();
        assert_eq!((signal.id, signal.hold), ("template", true));
        assert!(
            signal.detail.contains("5 distinct members"),
            "{}",
            signal.detail
        );
        // Again to a recipient already counted: still only 4 others.
        assert!(check(&config, &s, 6, 4, &signature(1, 30)).is_none());
        let later = 6 + window_ms(&config);
        assert!(check(&config, &s, later, 5, &signature(1, 30)).is_none());
    }
}
