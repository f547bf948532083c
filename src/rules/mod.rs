//! The rule engine: rule packs from `rules/*.toml` compiled into one aho-corasick automaton
//! (all keywords), one regex set (all patterns, `pattern_set`), one domain set and the built-in checks,
//! all matched against the normalizer's output.
//!
//! Hits carry the rule's id, category, action, score and whether it is in shadow mode; the
//! policy decides what they mean. Compilation is all-or-nothing, so a broken pack can never
//! replace a working set (hot reload keeps the old one and logs why).
//!
//! Files: [`pack`] (the TOML format), `compile` (packs into matchers), `pattern_set` (the
//! patterns' set and its pooled caches), [`builtins`]
//! (structural checks), `check` (running each rule's examples), and matching here.

pub mod builtins;
mod check;
mod compile;
pub mod pack;
mod pattern_set;

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use crate::domain::{RuleAction, RuleHit};
use crate::text::{is_unspaced, Normalized, TokenKind};

pub use check::{check_examples, ExampleFailure};
pub use compile::{compile, load_dir, RulesError};

/// One compiled rule's metadata.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub category: String,
    pub description: String,
    pub action: RuleAction,
    pub score: f64,
    pub shadow: bool,
    /// Shown only beside another sign of spam (see `pack::RuleSpec::supporting`).
    pub supporting: bool,
    /// Pack file it came from, for error messages and `rules check`.
    pub file: String,
    pub examples: pack::Examples,
}

/// An allow-list entry, compiled.
#[derive(Debug, Clone)]
struct Allow {
    domains: Vec<String>,
    suppresses: Vec<usize>,
}

/// Every match of `automaton` in `text` that is whole words: it starts and ends at a word
/// boundary (see [`at_word_boundary`]).
fn whole_words<'a>(
    automaton: &'a AhoCorasick,
    text: &'a str,
) -> impl Iterator<Item = aho_corasick::Match> + 'a {
    automaton
        .find_overlapping_iter(text)
        .filter(move |hit| at_word_boundary(text, hit.start()) && at_word_boundary(text, hit.end()))
}

/// Whether byte offset `at` of normalized text is a word boundary: an end of the text, a
/// space (normalized text separates words by single spaces), or next to a character of a
/// script written without spaces (Chinese, Japanese, Thai, …), where any character may end
/// a word: `这是诈骗` holds the phrase `诈骗`, while `scamming` does not hold `scam`.
fn at_word_boundary(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    if at == 0 || at == bytes.len() || bytes[at - 1] == b' ' || bytes[at] == b' ' {
        return true;
    }
    // Unspaced scripts take three or four bytes in UTF-8: ASCII neighbours end the test.
    if bytes[at - 1] < 0x80 && bytes[at] < 0xE0 {
        return false;
    }
    let before = text[..at].chars().next_back();
    let after = text[at..].chars().next();
    before.is_some_and(is_unspaced) || after.is_some_and(is_unspaced)
}

/// All packs, compiled; immutable once built and cheap to share.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    keywords: Option<AhoCorasick>,
    /// Keyword index → (rule index, keyword as written).
    keyword_rules: Vec<(usize, String)>,
    patterns: Option<pattern_set::Patterns>,
    pattern_rules: Vec<usize>,
    /// Registrable domain → rules listing it.
    domains: HashMap<String, Vec<usize>>,
    builtins: Vec<(usize, String, u32)>,
    allows: Vec<Allow>,
    /// Every allow-list's normalized phrases, matched as whole words.
    allow_phrases: Option<AhoCorasick>,
    /// Phrase index → index in `allows`.
    allow_phrase_owners: Vec<usize>,
    /// Where the packs came from, for logs and `/readyz`.
    pub source: String,
}

impl RuleSet {
    /// A set with no rules (the engine before packs are loaded, and tests).
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            keywords: None,
            keyword_rules: Vec::new(),
            patterns: None,
            pattern_rules: Vec::new(),
            domains: HashMap::new(),
            builtins: Vec::new(),
            allows: Vec::new(),
            allow_phrases: None,
            allow_phrase_owners: Vec::new(),
            source: "(none)".into(),
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every rule that matches `message`, in rule order, allow-lists applied.
    pub fn evaluate(&self, message: &Normalized) -> Vec<RuleHit> {
        let text = message.text.as_str();
        // (rule index, detail): few per message, so a small list beats a table per rule.
        let mut found: Vec<(usize, String)> = Vec::new();
        let mut note = |rule: usize, detail: &dyn Fn() -> String| {
            if !found.iter().any(|(r, _)| *r == rule) {
                found.push((rule, detail()));
            }
        };
        if let Some(keywords) = &self.keywords {
            // Overlapping search: a keyword inside a longer one of another rule still counts.
            for hit in whole_words(keywords, text) {
                let (rule, keyword) = &self.keyword_rules[hit.pattern().as_usize()];
                note(*rule, &|| format!("keyword {keyword:?}"));
            }
        }
        if let Some(patterns) = &self.patterns {
            for index in patterns.matches(text) {
                note(self.pattern_rules[index], &|| "pattern matched".to_string());
            }
        }
        for (rule, name, min) in &self.builtins {
            if let Some(detail) = builtins::evaluate(name, *min, message) {
                note(*rule, &|| detail.clone());
            }
        }
        if !self.domains.is_empty() {
            for token in message
                .tokens
                .iter()
                .filter(|t| t.kind == TokenKind::Domain)
            {
                let domain = token.text.as_str();
                for &rule in self.domains.get(domain).map(Vec::as_slice).unwrap_or(&[]) {
                    let allowed = self.allows.iter().any(|a| {
                        a.suppresses.contains(&rule) && a.domains.iter().any(|d| d == domain)
                    });
                    if !allowed {
                        note(rule, &|| format!("listed domain {domain}"));
                    }
                }
            }
        }
        if let (Some(phrases), false) = (&self.allow_phrases, found.is_empty()) {
            let mut applied: Vec<usize> = Vec::new();
            for hit in whole_words(phrases, text) {
                let owner = self.allow_phrase_owners[hit.pattern().as_usize()];
                if !applied.contains(&owner) {
                    applied.push(owner);
                    let suppresses = &self.allows[owner].suppresses;
                    found.retain(|(rule, _)| !suppresses.contains(rule));
                }
            }
        }
        found.sort_unstable_by_key(|(rule, _)| *rule);
        found
            .into_iter()
            .map(|(index, detail)| {
                let rule = &self.rules[index];
                RuleHit {
                    id: rule.id.clone(),
                    category: rule.category.clone(),
                    action: rule.action,
                    score: rule.score,
                    shadow: rule.shadow,
                    supporting: rule.supporting,
                    detail,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    const PACK: &str = r#"
category = "test"

[[rule]]
id = "test.free_trial"
description = "k"
keywords = ["free trial"]
score = 1.0
examples = { match = ["free trial"] }

[[rule]]
id = "test.wire"
description = "p"
pattern = '(?-u:\b)wire (?:the )?money(?-u:\b)'
score = 1.0
examples = { match = ["wire the money"] }

[[allow]]
phrases = ["premium plan", "Company Store"]
suppresses = ["test.free_trial"]
"#;

    fn hits(set: &RuleSet, text: &str) -> Vec<String> {
        set.evaluate(&normalize(text))
            .into_iter()
            .map(|h| h.id)
            .collect()
    }

    #[test]
    fn an_allow_phrase_suppresses_its_rules_only_as_whole_words() {
        let set = compile(&[("test.toml".into(), PACK.into())]).expect("pack compiles");
        assert_eq!(hits(&set, "Start your free trial now"), ["test.free_trial"]);
        // The phrase anywhere, in any case or spelling the normalizer folds, suppresses
        // the rule it names and no other.
        assert_eq!(
            hits(&set, "Free trial of the PREMIUM PLAN, then wire the money"),
            ["test.wire"]
        );
        assert!(hits(&set, "company store: free trial").is_empty());
        assert!(hits(&set, "free trial at the company store").is_empty());
        // Inside longer words it is not the phrase.
        assert_eq!(
            hits(&set, "free trial of supremium planning"),
            ["test.free_trial"]
        );
        assert_eq!(
            hits(&set, "free trial at the company stores"),
            ["test.free_trial"]
        );
    }

    #[test]
    fn a_supporting_rule_hits_as_marked_and_must_only_score() {
        let pack = PACK.replace(
            "score = 1.0\nexamples = { match = [\"wire",
            "score = 1.0\nsupporting = true\nexamples = { match = [\"wire",
        );
        let set = compile(&[("test.toml".into(), pack.clone())]).expect("pack compiles");
        let found = set.evaluate(&normalize("free trial, wire the money"));
        let supporting: Vec<(&str, bool)> = found
            .iter()
            .map(|h| (h.id.as_str(), h.supporting))
            .collect();
        assert_eq!(
            supporting,
            [("test.free_trial", false), ("test.wire", true)]
        );

        let holding = pack.replace("supporting = true", "supporting = true\naction = \"hold\"");
        let error = compile(&[("test.toml".into(), holding)]).expect_err("refused");
        let message = error.to_string();
        assert!(
            message.contains("test.wire") && message.contains("action must be score"),
            "{message}"
        );
    }

    /// Chinese, Japanese and Thai are written without spaces: there, a phrase may start and
    /// end at any character, and a change of script is a boundary too.
    #[test]
    fn unspaced_scripts_have_a_word_boundary_at_every_character() {
        let pack = PACK.replace("\"Company Store\"", "\"Company Store\", \"这是诈骗\"");
        let set = compile(&[("test.toml".into(), pack)]).expect("pack compiles");
        assert_eq!(hits(&set, "免费free trial试用"), ["test.free_trial"]);
        assert!(
            hits(&set, "他说free trial免费，大家注意这是诈骗别信").is_empty(),
            "the warning inside a run of Chinese suppresses the rule"
        );
        assert!(
            hits(&set, "免费free trials试用").is_empty(),
            "letters still need a boundary: `trials` is not `trial`"
        );
    }

    #[test]
    fn an_allow_phrase_that_normalizes_to_nothing_is_refused() {
        let pack = PACK.replace("\"premium plan\"", "\" \"");
        let error = compile(&[("test.toml".into(), pack)]).expect_err("refused");
        assert!(
            error.to_string().contains("normalizes to nothing"),
            "{error}"
        );
    }
}
