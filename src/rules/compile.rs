//! Loading and compiling rule packs. Every error names the file and, where it applies, the
//! rule id; nothing is half-loaded.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::pack::{Matcher, PackSpec};
use super::{builtins, Allow, Rule, RuleSet};
use crate::domain::RuleAction;
use crate::text::{normalize, registrable_domain};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {message}", rule.as_ref().map(|r| format!(": rule {r}")).unwrap_or_default())]
pub struct RulesError {
    pub file: String,
    pub rule: Option<String>,
    pub message: String,
}

fn error(file: &str, rule: Option<&str>, message: impl Into<String>) -> RulesError {
    RulesError {
        file: file.to_string(),
        rule: rule.map(str::to_string),
        message: message.into(),
    }
}

/// Loads every `*.toml` pack in `dir` (sorted by name) and compiles them into one set.
pub fn load_dir(dir: &Path) -> Result<RuleSet, RulesError> {
    let name = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| error(&name, None, e.to_string()))?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(error(&name, None, "no rule packs (*.toml) found"));
    }
    let mut packs = Vec::new();
    for path in files {
        let file = path.display().to_string();
        // The message names the file and, for bytes that are not UTF-8, the line.
        let text =
            crate::text_file::read_utf8(&path).map_err(|e| error(&e.place(), None, e.message))?;
        packs.push((file, text));
    }
    let mut set = compile(&packs)?;
    set.source = name;
    Ok(set)
}

/// Compiles `(file name, TOML text)` packs into one rule set.
pub fn compile(packs: &[(String, String)]) -> Result<RuleSet, RulesError> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut keywords: Vec<String> = Vec::new();
    let mut keyword_rules = Vec::new();
    let mut patterns = Vec::new();
    let mut pattern_rules = Vec::new();
    let mut domains: HashMap<String, Vec<usize>> = HashMap::new();
    let mut builtin_checks = Vec::new();
    let mut allow_specs = Vec::new();

    for (file, text) in packs {
        let pack: PackSpec = toml::from_str(text).map_err(|e| error(file, None, e.to_string()))?;
        for spec in &pack.rules {
            let id = spec.id.as_str();
            spec.validate_id().map_err(|m| error(file, Some(id), m))?;
            if !ids.insert(spec.id.clone()) {
                return Err(error(file, Some(id), "duplicate rule id"));
            }
            let index = rules.len();
            match spec.matcher().map_err(|m| error(file, Some(id), m))? {
                Matcher::Keywords(list) => {
                    if list.is_empty() {
                        return Err(error(file, Some(id), "keywords is empty"));
                    }
                    for keyword in list {
                        let folded = normalize(&keyword).text;
                        if folded.is_empty() {
                            return Err(error(
                                file,
                                Some(id),
                                format!("keyword {keyword:?} normalizes to nothing"),
                            ));
                        }
                        keywords.push(folded);
                        keyword_rules.push((index, keyword));
                    }
                }
                Matcher::Pattern(pattern) => {
                    let compiled = super::pattern_set::compile_pattern(&pattern, 1 << 20)
                        .map_err(|e| error(file, Some(id), format!("bad pattern: {e}")))?;
                    patterns.push(compiled);
                    pattern_rules.push(index);
                }
                Matcher::Domains(list) => {
                    if list.is_empty() {
                        return Err(error(file, Some(id), "domains is empty"));
                    }
                    for domain in list {
                        let domain = registrable_domain(&domain.trim().to_lowercase());
                        domains.entry(domain).or_default().push(index);
                    }
                }
                Matcher::Builtin(name, min) => {
                    let default = builtins::default_min(&name).ok_or_else(|| {
                        let known: Vec<&str> = builtins::BUILTINS.iter().map(|(n, _)| *n).collect();
                        error(
                            file,
                            Some(id),
                            format!("unknown builtin {name:?}; known: {}", known.join(", ")),
                        )
                    })?;
                    builtin_checks.push((index, name, min.unwrap_or(default).max(1)));
                }
            }
            let action = match (spec.action, spec.score) {
                (Some(action), _) => action,
                (None, Some(_)) => RuleAction::Score,
                (None, None) => return Err(error(file, Some(id), "needs a score or an action")),
            };
            if spec.supporting && action != RuleAction::Score {
                return Err(error(
                    file,
                    Some(id),
                    "a supporting rule only adds its score: its action must be score",
                ));
            }
            let score = spec.score.unwrap_or(0.0);
            if !score.is_finite() || score < 0.0 {
                return Err(error(file, Some(id), "score must be a finite number >= 0"));
            }
            if spec.examples.matching.is_empty() {
                return Err(error(
                    file,
                    Some(id),
                    "needs at least one example in examples.match",
                ));
            }
            rules.push(Rule {
                id: spec.id.clone(),
                category: spec
                    .category
                    .clone()
                    .unwrap_or_else(|| pack.category.clone()),
                description: spec.description.clone(),
                action,
                score,
                shadow: spec.shadow,
                supporting: spec.supporting,
                file: file.clone(),
                examples: spec.examples.clone(),
            });
        }
        for allow in pack.allows {
            allow_specs.push((file.clone(), allow));
        }
    }

    let mut allows = Vec::new();
    let (mut allow_phrases, mut allow_phrase_owners) = (Vec::new(), Vec::new());
    for (file, spec) in allow_specs {
        let mut suppresses = Vec::new();
        for id in &spec.suppresses {
            let index = rules
                .iter()
                .position(|r| &r.id == id)
                .ok_or_else(|| error(&file, Some(id), "allow-list names an unknown rule"))?;
            suppresses.push(index);
        }
        for phrase in &spec.phrases {
            let folded = normalize(phrase).text;
            if folded.is_empty() {
                return Err(error(
                    &file,
                    None,
                    format!("allow-list phrase {phrase:?} normalizes to nothing"),
                ));
            }
            allow_phrases.push(folded);
            allow_phrase_owners.push(allows.len());
        }
        allows.push(Allow {
            domains: spec
                .domains
                .iter()
                .map(|d| registrable_domain(&d.trim().to_lowercase()))
                .collect(),
            suppresses,
        });
    }
    // All allow-list phrases in one automaton, searched once per message that hit a rule
    // (a search per phrase was a fifth of rule matching with the shipped packs).
    let allow_phrases = overlapping_automaton(&allow_phrases, "(allow-list phrases)")?;
    let keywords = overlapping_automaton(&keywords, "(keywords)")?;
    let patterns = if patterns.is_empty() {
        None
    } else {
        Some(super::pattern_set::Patterns::new(patterns))
    };
    Ok(RuleSet {
        rules,
        keywords,
        keyword_rules,
        patterns,
        pattern_rules,
        domains,
        builtins: builtin_checks,
        allows,
        allow_phrases,
        allow_phrase_owners,
        source: "(inline)".into(),
    })
}

/// One automaton of `words` for overlapping search (`None` when there are none). A full
/// DFA: the fastest overlapping search; its size is bounded by the word count (about 1 MB
/// for 1,000 keywords).
fn overlapping_automaton(words: &[String], what: &str) -> Result<Option<AhoCorasick>, RulesError> {
    if words.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(words)
        .map(Some)
        .map_err(|e| error(what, None, e.to_string()))
}
