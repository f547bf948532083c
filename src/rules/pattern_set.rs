//! Every rule pattern as a regex of its own, behind one automaton of the patterns' prefix
//! literals, searched with lazy-DFA caches that this set keeps itself, so that a few
//! caches serve every thread.
//!
//! Not one regex set of them all: a set's lazy DFA tracks every pattern at once, so its
//! states are sets drawn from all 111 shipped patterns' automata, and varied text keeps
//! reaching new ones. With the shipped packs it spent nearly three quarters of `classify`'s
//! time building states (`determinize`) on LinkedIn-style messages in 21 languages, and a
//! second pass over the same messages was no faster: the states outgrew the 64 MiB cache,
//! which was cleared and rebuilt. E-mails (3.4 KB each) were judged at 60 a second. Alone,
//! a pattern has few states, warmed in a few messages. But asking every pattern in turn is
//! slow on text that none of them matches (the 200-pattern bench fell to a fifth), so the
//! literals that each pattern's matches must begin with (when it has a short list of them)
//! form one aho-corasick automaton: one pass over the text names the few patterns that
//! could match, and only those, with the patterns that have no such list, are searched.
//! Same answers
//! (`matches_what_regex_set_matches`; every verdict on the project's data sets); the
//! figures are in `docs/PERFORMANCE.md`, "Rule patterns one by one".
//!
//! The caches: `regex::Regex` keeps its caches per thread, in one of eight stacks picked by
//! the thread's id, and a replica judges sends on whichever thread the runtime hands the
//! work to (`block_in_place` starts new ones), so every stack would warm caches of its own.
//! Here a search takes one bundle (a cache per pattern) from a single stack, the last
//! returned first: as many bundles as searches ran at once (on two cores, two or three),
//! each warmed by all the messages before.

use std::sync::Mutex;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::Input;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::Hir;

/// One rule pattern, compiled, with the literals its matches begin with when it has a
/// short list of them.
#[derive(Debug)]
pub struct Pattern {
    regex: Regex,
    prefixes: Option<Vec<Vec<u8>>>,
}

/// At most this many prefix literals per pattern: a pattern with more (a long list of
/// case-folded alternatives) is searched on every text.
const MAX_PREFIXES: usize = 256;

/// Compiles one rule pattern with room for `size_limit` bytes of automaton; the error says
/// why it does not compile, for the caller to place in its file and rule.
pub fn compile_pattern(pattern: &str, size_limit: usize) -> Result<Pattern, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(true)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    let config = meta::Config::new()
        .nfa_size_limit(Some(size_limit))
        .onepass_size_limit(Some(size_limit))
        .utf8_empty(true)
        .which_captures(WhichCaptures::Implicit);
    let regex = meta::Builder::new()
        .configure(config)
        .build_from_hir(&hir)
        .map_err(|e| match e.size_limit() {
            Some(limit) => format!("the compiled pattern exceeds the size limit of {limit} bytes"),
            None => e.to_string(),
        })?;
    Ok(Pattern {
        regex,
        prefixes: prefix_literals(&hir),
    })
}

/// The literals that every match of `hir` begins with, if there is a short list of them and
/// none is empty (an empty one says a match may begin anywhere).
fn prefix_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    let literals = seq.literals()?;
    if literals.is_empty()
        || literals.len() > MAX_PREFIXES
        || literals.iter().any(|l| l.as_bytes().is_empty())
    {
        return None;
    }
    Some(literals.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// The compiled patterns, the prefixes that let a search skip most of them, and their
/// spare search caches.
#[derive(Debug)]
pub struct Patterns {
    regexes: Vec<Regex>,
    /// Every prefix literal of the patterns that have a short list of them, and the pattern
    /// each belongs to: a pattern none of whose prefixes occur in a text cannot match it.
    prefixes: Option<AhoCorasick>,
    prefix_owners: Vec<usize>,
    /// Whether pattern `i` is searched whatever the text (it has no such list).
    always: Vec<bool>,
    caches: Mutex<Vec<Vec<meta::Cache>>>,
}

impl Patterns {
    /// The set of `patterns`, numbered in this order.
    pub fn new(patterns: Vec<Pattern>) -> Patterns {
        let mut literals = Vec::new();
        let mut prefix_owners = Vec::new();
        for (index, pattern) in patterns.iter().enumerate() {
            for literal in pattern.prefixes.iter().flatten() {
                literals.push(literal.as_slice());
                prefix_owners.push(index);
            }
        }
        // A contiguous NFA, not a DFA: the shipped patterns give 9,364 literals (case-folded
        // variants mostly), whose DFA took 60 MB and a tenth of a second at start and
        // searched no faster. Built from the patterns' own literals; should it still fail,
        // every pattern is searched on every text: slower, the same matches.
        let prefixes = if literals.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&literals)
                .ok()
        };
        let always = patterns
            .iter()
            .map(|p| prefixes.is_none() || p.prefixes.is_none())
            .collect();
        Patterns {
            regexes: patterns.into_iter().map(|p| p.regex).collect(),
            prefixes,
            prefix_owners,
            always,
            caches: Mutex::new(Vec::new()),
        }
    }

    /// The indexes of the patterns that match somewhere in `text`, ascending.
    pub fn matches(&self, text: &str) -> Vec<usize> {
        let mut candidates = self.always.clone();
        if let Some(prefixes) = &self.prefixes {
            for found in prefixes.find_overlapping_iter(text) {
                candidates[self.prefix_owners[found.pattern().as_usize()]] = true;
            }
        }
        if !candidates.contains(&true) {
            return Vec::new();
        }
        let spare = self.caches.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut caches =
            spare.unwrap_or_else(|| self.regexes.iter().map(Regex::create_cache).collect());
        let input = Input::new(text).earliest(true);
        let found = self
            .regexes
            .iter()
            .zip(caches.iter_mut())
            .enumerate()
            .filter(|(index, _)| candidates[*index])
            .filter_map(|(index, (regex, cache))| {
                regex.search_half_with(cache, &input).map(|_| index)
            })
            .collect();
        self.caches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(caches);
        found
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
        let ours = Patterns::new(
            patterns
                .iter()
                .map(|p| compile_pattern(p, 1 << 20).unwrap())
                .collect(),
        );
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

    /// Patterns in the shipped packs' style: ASCII word boundaries, optional words,
    /// case-insensitive and Cyrillic alternatives, and one whose matches may begin with any
    /// word (searched on every text).
    const PACK_STYLE: [&str; 6] = [
        r"(?-u:\b)wire (the )?fee(?-u:\b)",
        r"(?i)gift ?card",
        r"(?-u:\b)(?:перевод|оплат)[а-я]* (?:сейчас|срочно)",
        r"[a-z]+ fee(?-u:\b)",
        r"(?-u:\b)pay (?:now|today)(?-u:\b)|(?-u:\b)fee(?-u:\b)",
        r"^$",
    ];

    fn pack_style() -> (Patterns, regex::RegexSet) {
        let ours = Patterns::new(
            PACK_STYLE
                .iter()
                .map(|p| compile_pattern(p, 1 << 20).unwrap())
                .collect(),
        );
        let theirs = regex::RegexSetBuilder::new(PACK_STYLE)
            .size_limit(1 << 20)
            .build()
            .unwrap();
        (ours, theirs)
    }

    #[test]
    fn patterns_skipped_by_their_prefixes_are_the_ones_that_cannot_match() {
        let has_prefixes = |p: &str| compile_pattern(p, 1 << 20).unwrap().prefixes.is_some();
        assert!(has_prefixes(PACK_STYLE[0]));
        assert!(has_prefixes(PACK_STYLE[1]));
        assert!(has_prefixes(PACK_STYLE[2]));
        assert!(!has_prefixes(PACK_STYLE[3]), "any word may begin a match");
        assert!(!has_prefixes(PACK_STYLE[5]), "the empty text matches");
        let (ours, theirs) = pack_style();
        for text in [
            "please wire the fee today",
            "wire fee",
            "a GiftCard and a gift card",
            "переведите сейчас, оплатите срочно",
            "перевод сейчас",
            "the processing fee",
            "pay now",
            "",
            "nothing to see",
        ] {
            assert_eq!(
                ours.matches(text),
                theirs.matches(text).into_iter().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever the text, the prefixes skip only patterns that `RegexSet` finds no match
        /// of.
        #[test]
        fn the_same_matches_as_a_regex_set_on_any_text(
            text in "(wire|the|fee|gift|card|GIFT|pay|now|перевод|оплата|сейчас| |x){0,12}"
        ) {
            let (ours, theirs) = pack_style();
            proptest::prop_assert_eq!(
                ours.matches(&text),
                theirs.matches(&text).into_iter().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_pattern_too_large_for_its_limit_is_refused() {
        let error = compile_pattern(r"\w{1000}\w{1000}", 1 << 10).unwrap_err();
        assert!(error.contains("size limit of 1024 bytes"), "{error}");
        assert!(compile_pattern(r"\w{10}", 1 << 20).is_ok());
    }
}
