//! The rule engine: rule packs from `rules/*.toml` compiled into one aho-corasick automaton
//! (all keywords), one `RegexSet` (all patterns), one domain set and the built-in checks,
//! all matched against the normalizer's output.
//!
//! Hits carry the rule's id, category, action, score and whether it is in shadow mode; the
//! policy decides what they mean. Compilation is all-or-nothing, so a broken pack can never
//! replace a working set (hot reload keeps the old one and logs why).
//!
//! Files: [`pack`] (the TOML format), `compile` (packs into matchers), [`builtins`]
//! (structural checks), `check` (running each rule's examples), and matching here.

pub mod builtins;
mod check;
mod compile;
pub mod pack;

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use regex::RegexSet;

use crate::domain::{RuleAction, RuleHit};
use crate::text::{Normalized, TokenKind};

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
    /// Pack file it came from, for error messages and `rules check`.
    pub file: String,
    pub examples: pack::Examples,
}

/// An allow-list entry, compiled.
#[derive(Debug, Clone)]
struct Allow {
    domains: Vec<String>,
    /// Normalized phrases, each padded with spaces for whole-word search.
    phrases: Vec<String>,
    suppresses: Vec<usize>,
}

/// All packs, compiled; immutable once built and cheap to share.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    keywords: Option<AhoCorasick>,
    /// Keyword index → (rule index, keyword as written).
    keyword_rules: Vec<(usize, String)>,
    patterns: Option<RegexSet>,
    pattern_rules: Vec<usize>,
    /// Registrable domain → rules listing it.
    domains: HashMap<String, Vec<usize>>,
    builtins: Vec<(usize, String, u32)>,
    allows: Vec<Allow>,
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
            let bytes = text.as_bytes();
            // Overlapping search: a keyword inside a longer one of another rule still counts.
            for hit in keywords.find_overlapping_iter(text) {
                let before_ok = hit.start() == 0 || bytes[hit.start() - 1] == b' ';
                let after_ok = hit.end() == bytes.len() || bytes[hit.end()] == b' ';
                if before_ok && after_ok {
                    let (rule, keyword) = &self.keyword_rules[hit.pattern().as_usize()];
                    note(*rule, &|| format!("keyword {keyword:?}"));
                }
            }
        }
        if let Some(patterns) = &self.patterns {
            for index in patterns.matches(text).iter() {
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
        if !self.allows.is_empty() && !found.is_empty() {
            let padded = format!(" {text} ");
            for allow in &self.allows {
                if allow.phrases.iter().any(|p| padded.contains(p.as_str())) {
                    found.retain(|(rule, _)| !allow.suppresses.contains(rule));
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
                    detail,
                }
            })
            .collect()
    }
}
