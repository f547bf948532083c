//! The rule engine: rule packs from `rules/*.toml` compiled into one aho-corasick automaton
//! (all keywords), one `RegexSet` (all patterns), one domain set and the built-in checks,
//! all matched against the normalizer's output.
//!
//! Hits carry the rule's id, category, action, score and whether it is in shadow mode; the
//! policy decides what they mean. Compilation is all-or-nothing, so a broken pack can never
//! replace a working set (hot reload keeps the old one and logs why).

pub mod builtins;
mod check;
mod compile;
pub mod pack;

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use regex::RegexSet;

use crate::policy::{RuleAction, RuleHit};
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
        let mut details: Vec<Option<String>> = vec![None; self.rules.len()];
        if let Some(keywords) = &self.keywords {
            let bytes = text.as_bytes();
            // Overlapping search: a keyword inside a longer one of another rule still counts.
            for found in keywords.find_overlapping_iter(text) {
                let before_ok = found.start() == 0 || bytes[found.start() - 1] == b' ';
                let after_ok = found.end() == bytes.len() || bytes[found.end()] == b' ';
                if !(before_ok && after_ok) {
                    continue;
                }
                let (rule, keyword) = &self.keyword_rules[found.pattern().as_usize()];
                if details[*rule].is_none() {
                    details[*rule] = Some(format!("keyword {keyword:?}"));
                }
            }
        }
        if let Some(patterns) = &self.patterns {
            for index in patterns.matches(text).iter() {
                let rule = self.pattern_rules[index];
                details[rule].get_or_insert_with(|| "pattern matched".to_string());
            }
        }
        let mut domain_hits: Vec<(usize, &str)> = Vec::new();
        if !self.domains.is_empty() {
            for token in message
                .tokens
                .iter()
                .filter(|t| t.kind == TokenKind::Domain)
            {
                if let Some(rules) = self.domains.get(token.text.as_str()) {
                    for &rule in rules {
                        domain_hits.push((rule, token.text.as_str()));
                    }
                }
            }
        }
        for (rule, name, min) in &self.builtins {
            if let Some(detail) = builtins::evaluate(name, *min, message) {
                details[*rule].get_or_insert(detail);
            }
        }
        let padded = format!(" {text} ");
        let mut suppressed = vec![false; self.rules.len()];
        for allow in &self.allows {
            if allow.phrases.iter().any(|p| padded.contains(p.as_str())) {
                for &rule in &allow.suppresses {
                    suppressed[rule] = true;
                }
            }
        }
        for (rule, domain) in domain_hits {
            let allowed = self
                .allows
                .iter()
                .any(|a| a.suppresses.contains(&rule) && a.domains.iter().any(|d| d == domain));
            if !allowed {
                details[rule].get_or_insert_with(|| format!("listed domain {domain}"));
            }
        }
        details
            .into_iter()
            .enumerate()
            .filter(|(rule, detail)| detail.is_some() && !suppressed[*rule])
            .map(|(index, detail)| {
                let rule = &self.rules[index];
                RuleHit {
                    id: rule.id.clone(),
                    category: rule.category.clone(),
                    action: rule.action,
                    score: rule.score,
                    shadow: rule.shadow,
                    detail: detail.unwrap_or_default(),
                }
            })
            .collect()
    }
}
