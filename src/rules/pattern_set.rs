//! Every rule pattern in one regex set, searched with lazy-DFA caches that this set keeps
//! itself, so that a few caches serve every thread.
//!
//! The lazy DFA builds its states as messages reach them, into a cache; a search without
//! the states it needs builds them again (`determinize`). `regex::RegexSet` keeps its
//! caches per thread, in one of eight stacks picked by the thread's id, and a replica
//! judges sends on whichever thread the runtime hands the work to (`block_in_place`
//! starts new ones): every stack warmed a cache of its own, and a replica profiled under
//! the load generator spent 13 % of its CPU building lazy-DFA states, page faults of the
//! growing caches included. Here the caches are one stack, the last returned taken first:
//! as many as searches ran at once (on two cores, two or three), each warmed by all the
//! messages before. The set is configured as `RegexSet` configures it (every pattern's
//! matches, overlapping; no captures), so it matches exactly what `RegexSet` matched.

use std::sync::Mutex;

use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet};

/// The compiled patterns and their spare search caches.
#[derive(Debug)]
pub struct Patterns {
    regex: Regex,
    caches: Mutex<Vec<meta::Cache>>,
}

impl Patterns {
    /// Compiles `patterns` (already checked one by one) with room for `size_limit` bytes of
    /// automaton and as many of lazy-DFA states per cache.
    pub fn new(patterns: &[String], size_limit: usize) -> Result<Patterns, String> {
        let config = meta::Config::new()
            .nfa_size_limit(Some(size_limit))
            .hybrid_cache_capacity(size_limit)
            .match_kind(MatchKind::All)
            .utf8_empty(true)
            .which_captures(WhichCaptures::None);
        let regex = meta::Builder::new()
            .configure(config)
            .syntax(syntax::Config::new().utf8(true))
            .build_many(patterns)
            .map_err(|e| e.to_string())?;
        Ok(Patterns {
            regex,
            caches: Mutex::new(Vec::new()),
        })
    }

    /// The indexes of the patterns that match somewhere in `text`, ascending.
    pub fn matches(&self, text: &str) -> Vec<usize> {
        let spare = self.caches.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut cache = spare.unwrap_or_else(|| self.regex.create_cache());
        let mut found = PatternSet::new(self.regex.pattern_len());
        self.regex
            .which_overlapping_matches_with(&mut cache, &Input::new(text), &mut found);
        self.caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cache);
        found.iter().map(|id| id.as_usize()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same answers as `regex::RegexSet` built as the rules built it before.
    #[test]
    fn matches_what_regex_set_matches() {
        let patterns: Vec<String> = [
            r"(?i)\bwire\s+transfer\b",
            r"(?i)crypto|bitcoin",
            r"\d{3}-\d{4}",
            r"(?i)bit",
            r"^hello",
            r"é+t",
            r"",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        let ours = Patterns::new(&patterns, 1 << 20).unwrap();
        let theirs = regex::RegexSetBuilder::new(&patterns)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()
            .unwrap();
        for text in [
            "hello, send a WIRE  transfer of bitcoin to 555-1234",
            "say hello",
            "Été étté",
            "",
            "nothing here",
            "bitbit BIT",
        ] {
            // Twice: the second search reuses the cache the first one warmed.
            for _ in 0..2 {
                assert_eq!(
                    ours.matches(text),
                    theirs.matches(text).into_iter().collect::<Vec<_>>(),
                    "{text:?}"
                );
            }
        }
        assert!(ours.matches("bitcoin").contains(&1));
        assert!(!ours.matches("say hello").contains(&4));
    }

    #[test]
    fn a_set_too_large_for_its_limit_is_refused() {
        let patterns = vec![r"\w{1000}\w{1000}".to_string()];
        assert!(Patterns::new(&patterns, 1 << 10).is_err());
    }
}
