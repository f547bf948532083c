//! The engine: the one path from a message and its context to a [`Verdict`].
//!
//! The send path, `POST /v1/assess`, batch rescoring and reports all call
//! [`Engine::assess`], so no decision has a second implementation. In data-flow order:
//! [`Engine::normalize`] (markdown already rendered into visible text and links) →
//! rules → classifier → the caller's behaviour signals (limits) → [`policy::decide`].

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use crate::classify::Model;
use crate::domain::{BehaviourSignal, ClassifierSignal, Relationship};
use crate::domain::{RenderedBody, Verdict};
use crate::policy::{self, PolicyConfig, Signals};
use crate::rules::{self, RuleSet, RulesError};
use crate::text::{self, Normalized};

/// What the engine needs to know about one message.
#[derive(Debug, Clone)]
pub struct AssessInput<'a> {
    pub message: &'a Normalized,
    pub relationship: Relationship,
    /// Behaviour signals from the limiters (fan-out, cadence), when the sender is known.
    pub behaviour: &'a [BehaviourSignal],
}

/// A loaded classifier with the name its verdict reasons cite.
#[derive(Debug)]
pub struct Classifier {
    pub model: Model,
    pub name: String,
}

impl Classifier {
    /// Loads a model file; reasons cite it by its file name.
    pub fn load(path: &Path) -> Result<Classifier, crate::classify::ModelFileError> {
        Ok(Classifier {
            model: crate::classify::load(path)?,
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        })
    }
}

/// How many features a classifier reason names for reviewers.
const TOP_FEATURES: usize = 5;

/// How much of a verdict to work out: all of it, or what decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Full,
    Decision,
}

/// Loaded rules, model and policy; shared behind an `Arc`, rules swappable at run time.
#[derive(Debug)]
pub struct Engine {
    policy: PolicyConfig,
    rules: ArcSwap<RuleSet>,
    classifier: Option<Arc<Classifier>>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(PolicyConfig::default(), RuleSet::empty(), None)
    }
}

fn normalize_body(body: &RenderedBody) -> Normalized {
    if body.links.is_empty() {
        text::normalize(&body.visible_text)
    } else {
        text::normalize_with_links(&body.visible_text, &body.links)
    }
}

impl Engine {
    pub fn new(policy: PolicyConfig, rules: RuleSet, classifier: Option<Classifier>) -> Engine {
        Engine {
            policy,
            rules: ArcSwap::from_pointee(rules),
            classifier: classifier.map(Arc::new),
        }
    }

    /// Loads the rule packs in `rules_dir` and the model at `model_path`.
    pub fn load(
        policy: PolicyConfig,
        rules_dir: &Path,
        model_path: Option<&Path>,
    ) -> anyhow::Result<Engine> {
        let rules = rules::load_dir(rules_dir)?;
        let classifier = model_path.map(Classifier::load).transpose()?;
        Ok(Engine::new(policy, rules, classifier))
    }

    /// Compiles the packs in `dir` and swaps them in atomically; on error the current set
    /// keeps serving. In-flight assessments finish on the set they started with.
    pub fn reload_rules(&self, dir: &Path) -> Result<usize, RulesError> {
        let set = rules::load_dir(dir)?;
        let count = set.len();
        self.rules.store(Arc::new(set));
        Ok(count)
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.load_full()
    }

    pub fn classifier(&self) -> Option<&Classifier> {
        self.classifier.as_deref()
    }

    /// The one normalization every stage uses.
    pub fn normalize(&self, body: &RenderedBody) -> Normalized {
        let started = Instant::now();
        let mut normalized = normalize_body(body);
        normalized.language = crate::language::identify(&body.visible_text);
        metrics::histogram!("sendguard_stage_seconds", "stage" => "normalize")
            .record(started.elapsed().as_secs_f64());
        normalized
    }

    /// The same, with the language left unidentified. No decision depends on the language
    /// (reasons name it, stored verdicts carry it), and identifying it is half of a batch
    /// rescore's CPU: a rescore identifies it only for the verdicts it writes.
    pub fn normalize_without_language(&self, body: &RenderedBody) -> Normalized {
        normalize_body(body)
    }

    /// The classifier's signal for a normalized message, if a model is loaded. Thresholds
    /// are those of the message's length band; the features that pushed the score most
    /// come along once the score is over the Other threshold (a reviewer will look).
    pub fn classify(&self, message: &Normalized) -> Option<ClassifierSignal> {
        self.classify_with(message, Detail::Full)
    }

    fn classify_with(&self, message: &Normalized, detail: Detail) -> Option<ClassifierSignal> {
        let classifier = self.classifier.as_ref()?;
        let model = &classifier.model;
        let started = Instant::now();
        let score = model.score_tokens(&message.tokens);
        metrics::histogram!("sendguard_stage_seconds", "stage" => "classify")
            .record(started.elapsed().as_secs_f64());
        let spam_probability = score.spam_probability();
        metrics::histogram!("sendguard_classifier_score").record(spam_probability);
        let (hold_above, other_above) = model.thresholds.for_tokens(score.tokens());
        let top_features = if detail == Detail::Full && score.decision > other_above {
            let features: Vec<String> = message.tokens.iter().map(|t| t.feature()).collect();
            let spelled: Vec<&str> = features.iter().map(String::as_str).collect();
            model
                .contributions(&spelled, score.tokens())
                .into_iter()
                .filter(|(_, weight)| *weight > 0.0)
                .take(TOP_FEATURES)
                .map(|(feature, weight)| (feature.to_string(), weight))
                .collect()
        } else {
            Vec::new()
        };
        Some(ClassifierSignal {
            spam_probability,
            log_odds: score.log_odds,
            decision_score: score.decision,
            hold_above,
            other_above,
            model: classifier.name.clone(),
            known_features: score.known,
            unknown_tokens: score.unknown,
            top_features,
        })
    }

    /// The signals the content gives: rule hits and the classifier.
    pub fn content_signals(&self, message: &Normalized) -> Signals {
        self.content_signals_with(message, Detail::Full)
    }

    fn content_signals_with(&self, message: &Normalized, detail: Detail) -> Signals {
        let started = Instant::now();
        let rule_hits = self.rules.load().evaluate(message);
        metrics::histogram!("sendguard_stage_seconds", "stage" => "rules")
            .record(started.elapsed().as_secs_f64());
        for hit in &rule_hits {
            metrics::counter!("sendguard_rule_hits_total", "rule" => hit.id.clone(), "shadow" => if hit.shadow { "true" } else { "false" })
                .increment(1);
        }
        Signals {
            rule_hits,
            classifier: self.classify_with(message, detail),
            language: message.language.clone(),
            ..Signals::default()
        }
    }

    pub fn assess(&self, input: &AssessInput<'_>) -> Verdict {
        self.assess_with(input, Detail::Full)
    }

    /// The same decision, reasons and scores as [`Engine::assess`], without the classifier
    /// reason's top features (only a reviewer reads them, and naming them costs as much as
    /// scoring). Batch rescoring compares stored verdicts with this and assesses in full
    /// only the verdicts it writes.
    pub fn assess_decision(&self, input: &AssessInput<'_>) -> Verdict {
        self.assess_with(input, Detail::Decision)
    }

    fn assess_with(&self, input: &AssessInput<'_>, detail: Detail) -> Verdict {
        let mut signals = self.content_signals_with(input.message, detail);
        signals.relationship = input.relationship;
        signals.behaviour = input.behaviour.to_vec();
        let verdict = policy::decide(&signals, &self.policy);
        if self.policy.test_pattern {
            crate::test_pattern::apply(input.message, verdict)
        } else {
            verdict
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Format;

    #[test]
    fn a_decision_only_assessment_decides_alike_without_the_top_features() {
        let model = include_bytes!("../models/default.sgnb");
        let classifier = Classifier {
            model: crate::classify::file::from_bytes(model, "default.sgnb").unwrap(),
            name: "default.sgnb".into(),
        };
        let engine = Engine::new(PolicyConfig::default(), RuleSet::empty(), Some(classifier));
        let body = RenderedBody::render(
            Format::Text,
            "Guaranteed income! Earn $5,000 weekly from home, no experience needed. \
             Join our crypto trading group today and double your money, limited spots.",
        );
        let normalized = engine.normalize(&body);
        let input = AssessInput {
            message: &normalized,
            relationship: Relationship::default(),
            behaviour: &[],
        };
        let full = engine.assess(&input);
        let brief = engine.assess_decision(&input);
        let classifier_reason = |verdict: &Verdict| {
            verdict
                .reasons
                .iter()
                .find(|r| r.source == "classifier")
                .cloned()
                .expect("the classifier gives a reason")
        };
        let (named, unnamed) = (classifier_reason(&full), classifier_reason(&brief));
        assert!(!named.evidence.is_empty(), "{named:?}");
        assert!(unnamed.evidence.is_empty(), "{unnamed:?}");
        assert_eq!((named.id, named.detail), (unnamed.id, unnamed.detail));
        assert_eq!(full.decision, brief.decision);
        assert_eq!(full.score, brief.score);
        let ids = |v: &Verdict| -> Vec<String> { v.reasons.iter().map(|r| r.id.clone()).collect() };
        assert_eq!(ids(&full), ids(&brief));
    }
}
