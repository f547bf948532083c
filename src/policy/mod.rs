//! Policy: one pure function from signals to a [`Verdict`].
//!
//! Every stage before it (relationship, rules, classifier, limits) only *reports*; this is
//! the single place that *decides*, so a decision can be replayed from its recorded signals
//! (batch rescoring) and every threshold lives in configuration, not in code.
//!
//! Order of precedence, strongest first: a hold (rule with `hold`, behaviour signal that
//! holds, classifier at or over the hold threshold, rule scores at or over the hold score;
//! a hold resting on rules alone is lowered to Other when the classifier flatly disagrees,
//! see `veto.rs`),
//! then "mildly suspicious" (rule with `other`, classifier or rule scores over the Other
//! thresholds), then the relationship. Only a rule whose action is `other` sends a message
//! the relationship routes to the Inbox (a connection's, an accepted thread, an InMail) to
//! Other below hold-level evidence; the classifier's and the rule scores' Other-level
//! findings label it and leave it in place.

mod veto;

use serde::{Deserialize, Serialize};

use crate::domain::{
    BehaviourSignal, ClassifierSignal, Decision, Folder, Reason, Relationship, RuleAction, RuleHit,
    Verdict,
};

/// Everything the policy may rest a decision on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Signals {
    pub relationship: Relationship,
    #[serde(default)]
    pub rule_hits: Vec<RuleHit>,
    #[serde(default)]
    pub classifier: Option<ClassifierSignal>,
    #[serde(default)]
    pub behaviour: Vec<BehaviourSignal>,
    /// The message's language (ISO 639-3), when identified.
    #[serde(default)]
    pub language: Option<String>,
}

/// Tunables of the policy; read from the `[policy]` table of the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Deliver unsuspicious messages from connections to the Inbox.
    pub connections_to_inbox: bool,
    /// Sum of matching non-shadow rule scores at which a stranger's message goes to Other
    /// (one the relationship routes to the Inbox keeps its place and carries the reason).
    pub rule_other_score: f64,
    /// Sum of matching non-shadow rule scores at which a message is held.
    pub rule_hold_score: f64,
    /// Overrides the model's hold threshold (decision-score units, see `models/MODEL.md`).
    pub classifier_hold_above: Option<f64>,
    /// Overrides the model's Other threshold (decision-score units).
    pub classifier_other_above: Option<f64>,
    /// The classifier abstains on a message with fewer known features than this: a lone
    /// emoji or a two-word greeting is not evidence either way.
    pub classifier_min_known: u32,
    /// The classifier abstains when it knows less than this share of a message's tokens (a
    /// language or a topic it was not trained on).
    pub classifier_min_coverage: f64,
    /// The classifier alone holds a message only with at least this many known features;
    /// with fewer, a score over the hold threshold is a "possible spam" label.
    pub classifier_hold_min_known: u32,
    /// Hold when the classifier's "possible spam" and rules scoring at least
    /// `rule_other_score` agree: each alone only moves a message to Other.
    pub corroborated_hold: bool,
    /// A hold resting on rules alone becomes Other when the classifier, knowing the message
    /// well enough to hold it, gives it a spam probability below this (0 turns the veto
    /// off): members quote scams and admins write "your account is locked" (see `veto`).
    pub classifier_veto_below: f64,
    /// Rule categories whose holds the classifier cannot veto: it learned selling and scams,
    /// not abuse.
    pub classifier_veto_exempt_categories: Vec<String>,
    /// Hold messages containing the GTUBE test string (`crate::test_pattern`), so an
    /// operator can check a deployment end to end.
    pub test_pattern: bool,
    /// Behaviour signals about near-identical outreach (`fan_out`, `template`, `campaign`) that hold
    /// only when corroborated: by content at least mildly suspicious (rules or classifier)
    /// or by recipients' poor reactions, and never for a sender whose outreach is answered.
    /// Recruiters send templates too; alone they are a reason without effect.
    pub corroborated_behaviour: Vec<String>,
    /// Rule categories that are the sponsored channel's business, not spam: in a sponsored
    /// message their hits are reasons without effect. Everything else (phishing, scams,
    /// adult, look-alike domains, disguised links) holds there as anywhere.
    pub sponsored_allowed_categories: Vec<String>,
    /// Whether the classifier's spam score counts in the sponsored channel. Off by default:
    /// the model learned promotional language as spam, which is what an advertiser pays to
    /// send; the rules still judge the content.
    pub sponsored_classifier_counts: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            connections_to_inbox: true,
            rule_other_score: 2.0,
            rule_hold_score: 5.0,
            classifier_hold_above: None,
            classifier_other_above: None,
            classifier_min_known: 3,
            classifier_min_coverage: 0.35,
            classifier_hold_min_known: 6,
            corroborated_hold: true,
            classifier_veto_below: 0.1,
            classifier_veto_exempt_categories: vec!["harassment".to_string()],
            test_pattern: true,
            corroborated_behaviour: vec![
                "fan_out".to_string(),
                "template".to_string(),
                "campaign".to_string(),
            ],
            sponsored_allowed_categories: vec!["advertising".to_string()],
            sponsored_classifier_counts: false,
        }
    }
}

impl PolicyConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (key, value) in [
            ("policy.classifier_hold_above", self.classifier_hold_above),
            ("policy.classifier_other_above", self.classifier_other_above),
        ] {
            if value.is_some_and(|v| !v.is_finite()) {
                return Err(format!("{key} must be a finite number"));
            }
        }
        if !(0.0..=1.0).contains(&self.classifier_veto_below) {
            return Err("policy.classifier_veto_below must be between 0 and 1".to_string());
        }
        if !(0.0..=1.0).contains(&self.classifier_min_coverage) {
            return Err("policy.classifier_min_coverage must be between 0 and 1".to_string());
        }
        if !(self.rule_other_score > 0.0 && self.rule_hold_score >= self.rule_other_score) {
            return Err(
                "policy.rule_hold_score must be >= policy.rule_other_score > 0".to_string(),
            );
        }
        Ok(())
    }
}

/// How suspicious the content and behaviour look, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Suspicion {
    None,
    Mild,
    Hold,
}

/// Decides where a message goes and why.
pub fn decide(signals: &Signals, config: &PolicyConfig) -> Verdict {
    let mut reasons = Vec::new();
    let suspicion = std::cell::Cell::new(Suspicion::None);
    let raise = |level: Suspicion, reason: Reason, reasons: &mut Vec<Reason>| {
        suspicion.set(suspicion.get().max(level));
        reasons.push(reason);
    };

    // Holds that rest on rules alone, lowered to Other when the classifier vetoes them.
    let veto = veto::vetoing_classifier(signals, config);
    let rule_hold = if veto.is_some() {
        Suspicion::Mild
    } else {
        Suspicion::Hold
    };
    let mut rules_would_hold = false;
    let mut rule_score = 0.0;
    let mut refused = None;
    let relationship = signals.relationship;
    let (route, route_reason) = route_of(relationship, config);
    let inbox_route = route == Folder::Inbox;
    // Judged once: the rules below need to know whether it flags the message, and its
    // reason follows theirs.
    let judged = signals.classifier.as_ref().and_then(|classifier| {
        judge_classifier(classifier, signals.language.as_deref(), inbox_route, config)
    });
    let classifier_counted = classifier_counts(relationship, config);
    let supported = supporting_rules_count(signals, judged.as_ref(), classifier_counted);
    for hit in &signals.rule_hits {
        if hit.shadow || (hit.supporting && !supported) {
            continue;
        }
        if signals.relationship.sponsored
            && config.sponsored_allowed_categories.contains(&hit.category)
        {
            raise(
                Suspicion::None,
                Reason::new(
                    "rule",
                    &hit.id,
                    format!(
                        "{} ({}); allowed in the sponsored channel",
                        hit.detail, hit.category
                    ),
                ),
                &mut reasons,
            );
            continue;
        }
        if hit.action == RuleAction::Reject && refused.is_none() {
            refused = Some(Reason::new("rule", &hit.id, hit.detail.clone()));
        }
        rule_score += hit.score;
        rules_would_hold |= hit.action == RuleAction::Hold;
        let level = match hit.action {
            RuleAction::Hold => rule_hold,
            RuleAction::Reject => Suspicion::Hold,
            RuleAction::Other => Suspicion::Mild,
            RuleAction::Score => Suspicion::None,
        };
        raise(
            level,
            Reason::new(
                "rule",
                &hit.id,
                format!("{} ({})", hit.detail, hit.category),
            ),
            &mut reasons,
        );
    }
    if rule_score >= config.rule_hold_score {
        rules_would_hold = true;
        raise(
            rule_hold,
            Reason::new(
                "policy",
                "rule_score_hold",
                format!("rule score {rule_score:.2} >= {}", config.rule_hold_score),
            ),
            &mut reasons,
        );
    } else if rule_score >= config.rule_other_score {
        // Like the classifier's "possible spam": a message the relationship routes to the
        // Inbox keeps its place and carries the reason. Score rules fire on hard ham (a
        // colleague quoting a scam, an invoice with a phone number); a connection's message
        // leaves the Inbox on hold-level evidence, or on a rule whose action says `other`.
        let mut detail = format!("rule score {rule_score:.2} >= {}", config.rule_other_score);
        if inbox_route {
            detail.push_str("; kept in the Inbox: the relationship routes it there");
        }
        raise(
            other_level(inbox_route),
            Reason::new("policy", "rule_score_other", detail),
            &mut reasons,
        );
    }

    if let Some(classifier) = veto.filter(|_| rules_would_hold) {
        raise(
            Suspicion::Mild,
            veto::reason(classifier, config),
            &mut reasons,
        );
    }

    match judged {
        Some((_, mut reason)) if !classifier_counted => {
            reason
                .detail
                .push_str("; not counted in the sponsored channel");
            raise(Suspicion::None, reason, &mut reasons);
        }
        Some((level, reason)) => {
            // Two independent detectors agreeing is hold-level evidence: the classifier's
            // "possible spam" and rules that on their own would send the message to Other.
            let corroborated = reason.id == "possible_spam"
                && config.corroborated_hold
                && rule_score >= config.rule_other_score;
            raise(level, reason, &mut reasons);
            if corroborated {
                raise(
                    Suspicion::Hold,
                    Reason::new(
                        "policy",
                        "corroborated_hold",
                        format!(
                            "the classifier's possible spam and rule score {rule_score:.2} >= {} agree",
                            config.rule_other_score
                        ),
                    ),
                    &mut reasons,
                );
            }
        }
        None => {}
    }

    // What corroborates near-identical outreach: content already at least mildly suspicious,
    // or recipients who block and report it; an answered sender is spared.
    let content_suspicious = suspicion.get() >= Suspicion::Mild;
    let poorly_received = signals
        .behaviour
        .iter()
        .any(|s| (s.id == "poor_reactions" || s.id == "campaign_poor_reactions") && s.hold);
    let answered = signals.behaviour.iter().any(|s| s.id == "answered");
    for signal in &signals.behaviour {
        if signal.id == "answered" {
            // Context for the others, no effect of its own.
            raise(
                Suspicion::None,
                Reason::new("limit", &signal.id, signal.detail.clone()),
                &mut reasons,
            );
            continue;
        }
        let needs_corroboration = config.corroborated_behaviour.contains(&signal.id);
        let (level, detail) = match (signal.hold, needs_corroboration) {
            (false, _) => (Suspicion::Mild, signal.detail.clone()),
            (true, false) => (Suspicion::Hold, signal.detail.clone()),
            (true, true) if answered && !poorly_received => (
                Suspicion::None,
                format!(
                    "{}; not held: the sender's outreach is answered",
                    signal.detail
                ),
            ),
            (true, true) if content_suspicious || poorly_received => (
                Suspicion::Hold,
                format!(
                    "{}; held: {}",
                    signal.detail,
                    if content_suspicious {
                        "the content is suspicious too"
                    } else {
                        "recipients block and report this sender's outreach"
                    }
                ),
            ),
            (true, true) => (
                Suspicion::None,
                format!(
                    "{}; not held: near-identical outreach alone is no evidence of spam",
                    signal.detail
                ),
            ),
        };
        raise(
            level,
            Reason::new("limit", &signal.id, detail),
            &mut reasons,
        );
    }

    reasons.insert(0, route_reason);

    let decision = match suspicion.get() {
        Suspicion::Hold => Decision::Held,
        Suspicion::Mild => Decision::Other,
        Suspicion::None => match route {
            Folder::Inbox => Decision::Inbox,
            _ => Decision::Other,
        },
    };
    Verdict {
        decision,
        route,
        inmail: relationship.inmail && !relationship.connected,
        reasons,
        score: signals.classifier.as_ref().map(|c| c.spam_probability),
        sanction: None,
        automated: true,
        refused,
        language: signals.language.clone(),
    }
}

/// Whether supporting rules (weak signs such as a phone number) count: only beside another
/// sign of spam, a rule that is not supporting or the classifier's spam label. Members share
/// their numbers and addresses every day; alone, those say nothing.
fn supporting_rules_count(
    signals: &Signals,
    judged: Option<&(Suspicion, Reason)>,
    classifier_counted: bool,
) -> bool {
    let other_rule = signals
        .rule_hits
        .iter()
        .any(|hit| !hit.shadow && !hit.supporting);
    let classifier_flags = classifier_counted
        && judged
            .is_some_and(|(_, reason)| matches!(reason.id.as_str(), "spam_hold" | "possible_spam"));
    other_rule || classifier_flags
}

/// Where the relationship alone puts a message, and why.
fn route_of(relationship: Relationship, config: &PolicyConfig) -> (Folder, Reason) {
    if relationship.sponsored {
        (
            Folder::Inbox,
            Reason::new(
                "relationship",
                "sponsored",
                "a sponsored message, shown marked as such",
            ),
        )
    } else if relationship.connected && config.connections_to_inbox {
        (
            Folder::Inbox,
            Reason::new(
                "relationship",
                "connected",
                "sender and recipient are connected",
            ),
        )
    } else if relationship.inmail {
        (
            Folder::Inbox,
            Reason::new(
                "relationship",
                "inmail",
                "paid InMail from a premium member",
            ),
        )
    } else if relationship.recipient_replied {
        (
            Folder::Inbox,
            Reason::new(
                "relationship",
                "accepted_thread",
                "the recipient has written in this conversation",
            ),
        )
    } else {
        (
            Folder::Other,
            Reason::new(
                "relationship",
                "outside_network",
                "sender is outside the recipient's network",
            ),
        )
    }
}

/// Formats a decision score and its probability so a reader knows which is which.
fn describe_score(classifier: &ClassifierSignal) -> String {
    format!(
        "decision score {:.2}, spam probability {:.2}; model {}",
        classifier.decision_score, classifier.spam_probability, classifier.model
    )
}

/// The decision score beside the threshold it passed, then the probability: thresholds
/// apply to the score, so a reader must not compare a probability of 0.96 with a
/// threshold of 0.01.
fn describe_passed(classifier: &ClassifierSignal, threshold: &str, value: f64) -> String {
    format!(
        "decision score {:.2} above the {threshold} threshold {value:.2} (spam probability {:.2}; model {})",
        classifier.decision_score, classifier.spam_probability, classifier.model
    )
}

/// Whether the classifier's score counts for this relationship: not in the sponsored
/// channel unless configured (see [`PolicyConfig::sponsored_classifier_counts`]).
fn classifier_counts(relationship: Relationship, config: &PolicyConfig) -> bool {
    !relationship.sponsored || config.sponsored_classifier_counts
}

/// Whether the model knows too little of a message to judge it (a lone emoji, a greeting,
/// a language it was not trained on): it abstains.
fn knows_too_little(classifier: &ClassifierSignal, config: &PolicyConfig) -> bool {
    classifier.known_features < config.classifier_min_known
        || classifier.coverage() < config.classifier_min_coverage
}

/// How far Other-level evidence (the classifier's "possible spam", rule scores at
/// `rule_other_score`) moves a message: a stranger's to Other; one the relationship routes
/// to the Inbox stays there, labelled, since only hold-level evidence moves it.
fn other_level(inbox_route: bool) -> Suspicion {
    if inbox_route {
        Suspicion::None
    } else {
        Suspicion::Mild
    }
}

/// What the classifier's signal asks for, if anything: a hold, an Other with a "possible
/// spam" label, a label alone, or an abstention (a reason without effect). A message routed
/// to the Inbox (a connection's) leaves it only on hold-level evidence; below that it
/// keeps its place and carries the label.
fn judge_classifier(
    classifier: &ClassifierSignal,
    language: Option<&str>,
    inbox_route: bool,
    config: &PolicyConfig,
) -> Option<(Suspicion, Reason)> {
    let hold = config
        .classifier_hold_above
        .unwrap_or(classifier.hold_above);
    let other = config
        .classifier_other_above
        .unwrap_or(classifier.other_above);
    let z = classifier.decision_score;
    if z <= other.min(hold) {
        return None;
    }
    let language = language
        .map(|l| format!(", language {l}"))
        .unwrap_or_default();
    if knows_too_little(classifier, config) {
        return Some((
            Suspicion::None,
            Reason::new(
                "classifier",
                "abstained",
                format!(
                    "the model knows too little of this message to judge it: {} known features, {:.0} % of its tokens{language} ({})",
                    classifier.known_features,
                    100.0 * classifier.coverage(),
                    describe_score(classifier)
                ),
            ),
        ));
    }
    let evidence: Vec<String> = classifier
        .top_features
        .iter()
        .map(|(feature, weight)| format!("{feature} {weight:+.3}"))
        .collect();
    let (level, id, detail) =
        if z > hold && classifier.known_features >= config.classifier_hold_min_known {
            (
                Suspicion::Hold,
                "spam_hold",
                format!("likely spam: {}", describe_passed(classifier, "hold", hold)),
            )
        } else {
            (
                other_level(inbox_route),
                "possible_spam",
                format!(
                    "possible spam: {}",
                    describe_passed(classifier, "Other", other)
                ),
            )
        };
    let mut reason = Reason::new("classifier", id, detail);
    reason.evidence = evidence;
    Some((level, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logit(p: f64) -> f64 {
        (p / (1.0 - p)).ln()
    }

    fn decide_for(relationship: Relationship) -> Verdict {
        decide(
            &Signals {
                relationship,
                ..Default::default()
            },
            &PolicyConfig::default(),
        )
    }

    fn hit(id: &str, action: RuleAction, score: f64, shadow: bool) -> RuleHit {
        RuleHit {
            id: id.into(),
            category: "test".into(),
            action,
            score,
            shadow,
            supporting: false,
            detail: "matched".into(),
        }
    }

    fn connected() -> Relationship {
        Relationship {
            connected: true,
            ..Default::default()
        }
    }

    #[test]
    fn connections_land_in_inbox() {
        let verdict = decide_for(connected());
        assert_eq!(verdict.decision, Decision::Inbox);
        assert_eq!(verdict.reasons[0].id, "connected");
        assert!(!verdict.inmail);
    }

    #[test]
    fn strangers_land_in_other_unless_inmail_or_accepted() {
        assert_eq!(
            decide_for(Relationship::default()).decision,
            Decision::Other
        );
        let inmail = decide_for(Relationship {
            inmail: true,
            ..Default::default()
        });
        assert_eq!((inmail.decision, inmail.inmail), (Decision::Inbox, true));
        let accepted = decide_for(Relationship {
            recipient_replied: true,
            ..Default::default()
        });
        assert_eq!(accepted.decision, Decision::Inbox);
        assert_eq!(accepted.reasons[0].id, "accepted_thread");
    }

    #[test]
    fn a_hold_rule_holds_even_a_connection_and_keeps_the_route_for_release() {
        let signals = Signals {
            relationship: connected(),
            rule_hits: vec![hit("phish.fake_security", RuleAction::Hold, 0.0, false)],
            ..Default::default()
        };
        let verdict = decide(&signals, &PolicyConfig::default());
        assert_eq!(verdict.decision, Decision::Held);
        assert_eq!(verdict.route, Folder::Inbox);
        assert!(verdict
            .reasons
            .iter()
            .any(|r| r.id == "phish.fake_security"));
    }

    #[test]
    fn shadow_rules_change_nothing() {
        let signals = Signals {
            relationship: connected(),
            rule_hits: vec![hit("trial.rule", RuleAction::Hold, 10.0, true)],
            ..Default::default()
        };
        let verdict = decide(&signals, &PolicyConfig::default());
        assert_eq!(verdict, decide_for(connected()));
    }

    #[test]
    fn rule_scores_add_up_to_other_then_hold() {
        let config = PolicyConfig::default();
        let with = |relationship: Relationship, scores: &[f64]| {
            let rule_hits = scores
                .iter()
                .enumerate()
                .map(|(i, s)| hit(&format!("r{i}"), RuleAction::Score, *s, false))
                .collect();
            decide(
                &Signals {
                    relationship,
                    rule_hits,
                    ..Default::default()
                },
                &config,
            )
            .decision
        };
        assert_eq!(with(Relationship::default(), &[1.0]), Decision::Other);
        assert_eq!(with(connected(), &[1.0]), Decision::Inbox);
        assert_eq!(with(connected(), &[1.0, 1.0]), Decision::Inbox);
        assert_eq!(with(connected(), &[2.0, 2.0, 1.0]), Decision::Held);
        assert_eq!(
            with(Relationship::default(), &[2.0, 2.0, 1.0]),
            Decision::Held
        );
    }

    /// Score rules at the Other level move a stranger's message (a reason the client can
    /// show), but a connection's stays in the Inbox with the same reason: hard ham trips
    /// score rules. A rule whose action is `other` still moves it.
    #[test]
    fn a_connection_leaves_the_inbox_on_rule_scores_only_at_hold_level() {
        let config = PolicyConfig::default();
        let verdict = |relationship: Relationship, action: RuleAction| {
            decide(
                &Signals {
                    relationship,
                    rule_hits: vec![hit("r", action, config.rule_other_score, false)],
                    ..Default::default()
                },
                &config,
            )
        };
        let kept = verdict(connected(), RuleAction::Score);
        assert_eq!(kept.decision, Decision::Inbox);
        let reason = kept.reasons.iter().find(|r| r.id == "rule_score_other");
        assert!(
            reason.is_some_and(|r| r.detail.contains("kept in the Inbox")),
            "{:?}",
            kept.reasons
        );
        let moved = verdict(Relationship::default(), RuleAction::Score);
        assert_eq!(moved.decision, Decision::Other);
        assert!(moved
            .reasons
            .iter()
            .any(|r| r.id == "rule_score_other" && !r.detail.contains("kept")));
        assert_eq!(
            verdict(connected(), RuleAction::Other).decision,
            Decision::Other
        );
    }

    fn classifier(p: f64, known_features: u32, unknown_tokens: u32) -> ClassifierSignal {
        ClassifierSignal {
            spam_probability: p,
            log_odds: logit(p),
            decision_score: logit(p),
            hold_above: logit(0.99),
            other_above: logit(0.8),
            model: "m".into(),
            known_features,
            unknown_tokens,
            top_features: vec![("w:crypto".into(), 0.4)],
        }
    }

    /// A weak sign (a phone number) counts only beside another: alone, even with scores
    /// that would otherwise move the message, it leaves no score and no reason; beside a
    /// rule that is not supporting, or the classifier's spam label, it adds both.
    #[test]
    fn supporting_rules_count_only_beside_another_sign() {
        let config = PolicyConfig::default();
        let supporting = |id: &str, score: f64| RuleHit {
            supporting: true,
            ..hit(id, RuleAction::Score, score, false)
        };
        let verdict = |rule_hits: Vec<RuleHit>, classifier: Option<ClassifierSignal>| {
            decide(
                &Signals {
                    rule_hits,
                    classifier,
                    ..Default::default()
                },
                &config,
            )
        };
        let alone = verdict(
            vec![supporting("phone", 1.5), supporting("email", 1.5)],
            None,
        );
        assert_eq!(alone, decide_for(Relationship::default()));

        let beside_a_rule = verdict(
            vec![
                supporting("phone", 0.5),
                hit("offplatform", RuleAction::Score, 1.5, false),
            ],
            None,
        );
        let ids: Vec<&str> = beside_a_rule
            .reasons
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "outside_network",
                "phone",
                "offplatform",
                "rule_score_other"
            ],
            "0.5 + 1.5 reaches the Other score only with the supporting rule counted"
        );

        let with_the_classifier = |p: f64| {
            verdict(vec![supporting("phone", 0.5)], Some(classifier(p, 20, 2)))
                .reasons
                .iter()
                .any(|r| r.id == "phone")
        };
        assert!(with_the_classifier(0.9), "beside the possible-spam label");
        assert!(
            !with_the_classifier(0.5),
            "the classifier reads it as ordinary"
        );
    }

    /// A hold resting on rules alone (a hold rule, or scores summing to the hold score)
    /// becomes Other, for a connection too, when the classifier knows the message and reads
    /// it as plainly ordinary; it stands for harassment, for a refusing rule, for a classifier
    /// that knows too little of the message, and with the veto turned off.
    #[test]
    fn the_classifier_vetoes_holds_that_rest_on_rules_alone() {
        let config = PolicyConfig::default();
        let verdict = |relationship: Relationship,
                       hits: Vec<RuleHit>,
                       signal: ClassifierSignal,
                       config: &PolicyConfig| {
            decide(
                &Signals {
                    relationship,
                    rule_hits: hits,
                    classifier: Some(signal),
                    ..Default::default()
                },
                config,
            )
        };
        let quoted_phishing = || vec![hit("phishing.verify", RuleAction::Hold, 5.0, false)];
        let summed = || {
            vec![
                hit("a", RuleAction::Score, 3.0, false),
                hit("b", RuleAction::Score, 2.0, false),
            ]
        };
        let ordinary = || classifier(0.01, 20, 2);
        for relationship in [Relationship::default(), connected()] {
            for hits in [quoted_phishing(), summed()] {
                let v = verdict(relationship, hits, ordinary(), &config);
                assert_eq!(v.decision, Decision::Other, "{:?}", v.reasons);
                let veto = v.reasons.iter().find(|r| r.id == "classifier_veto");
                assert!(
                    veto.is_some_and(|r| r.detail.contains("0.010")),
                    "{:?}",
                    v.reasons
                );
            }
        }
        // Not vetoed: a spam probability at the bar, a harassment rule, a refusing rule, a
        // classifier that knows too few features to hold, the veto turned off.
        let held = |v: Verdict| {
            assert_eq!(v.decision, Decision::Held, "{:?}", v.reasons);
            assert!(v.reasons.iter().all(|r| r.id != "classifier_veto"));
        };
        held(verdict(
            connected(),
            quoted_phishing(),
            classifier(config.classifier_veto_below, 20, 2),
            &config,
        ));
        let mut threat = hit("harassment.threat", RuleAction::Hold, 5.0, false);
        threat.category = "harassment".into();
        held(verdict(connected(), vec![threat], ordinary(), &config));
        let refusing = vec![hit("malware", RuleAction::Reject, 5.0, false)];
        held(verdict(connected(), refusing, ordinary(), &config));
        let little_known = classifier(0.01, config.classifier_hold_min_known - 1, 0);
        held(verdict(
            connected(),
            quoted_phishing(),
            little_known,
            &config,
        ));
        let off = PolicyConfig {
            classifier_veto_below: 0.0,
            ..PolicyConfig::default()
        };
        held(verdict(connected(), quoted_phishing(), ordinary(), &off));
        // Without rules that would hold, there is nothing to veto and no veto reason.
        let v = verdict(connected(), vec![], ordinary(), &config);
        assert_eq!(v.decision, Decision::Inbox);
        assert!(v.reasons.iter().all(|r| r.id != "classifier_veto"));
    }

    fn judged(relationship: Relationship, signal: ClassifierSignal) -> Verdict {
        decide(
            &Signals {
                relationship,
                classifier: Some(signal),
                ..Default::default()
            },
            &PolicyConfig::default(),
        )
    }

    #[test]
    fn the_sponsored_channel_allows_advertising_but_holds_phishing_and_adult_content() {
        let sponsored = Relationship {
            sponsored: true,
            ..Default::default()
        };
        let in_category = |id: &str, category: &str, action| RuleHit {
            category: category.into(),
            ..hit(id, action, 5.0, false)
        };
        let advertising = vec![
            in_category(
                "advertising.promo_blast_phrases",
                "advertising",
                RuleAction::Hold,
            ),
            in_category("advertising.percent_off", "advertising", RuleAction::Score),
        ];
        let promotion = |relationship| {
            decide(
                &Signals {
                    relationship,
                    rule_hits: advertising.clone(),
                    classifier: Some(classifier(0.999, 20, 0)),
                    ..Default::default()
                },
                &PolicyConfig::default(),
            )
        };
        let paid = promotion(sponsored);
        assert_eq!(paid.decision, Decision::Inbox, "{:?}", paid.reasons);
        assert_eq!(paid.reasons[0].id, "sponsored");
        assert!(paid
            .reasons
            .iter()
            .any(|r| r.id == "advertising.promo_blast_phrases"
                && r.detail.ends_with("allowed in the sponsored channel")));
        assert!(paid
            .reasons
            .iter()
            .any(|r| r.id == "spam_hold"
                && r.detail.ends_with("not counted in the sponsored channel")));
        assert_eq!(
            promotion(Relationship::default()).decision,
            Decision::Held,
            "the same promotion in an ordinary message is spam"
        );

        for (id, category) in [
            ("phishing.lookalike_domain_list", "phishing"),
            ("phishing.link_mismatch", "phishing"),
            ("adult.explicit_solicitation", "adult"),
            ("scams.advance_fee", "scams"),
        ] {
            let mut rule_hits = advertising.clone();
            rule_hits.push(in_category(id, category, RuleAction::Hold));
            let verdict = decide(
                &Signals {
                    relationship: sponsored,
                    rule_hits,
                    ..Default::default()
                },
                &PolicyConfig::default(),
            );
            assert_eq!(verdict.decision, Decision::Held, "{id}");
            assert!(verdict.reasons.iter().any(|r| r.id == id), "{id}");
        }
        let counted = PolicyConfig {
            sponsored_classifier_counts: true,
            ..PolicyConfig::default()
        };
        let verdict = decide(
            &Signals {
                relationship: sponsored,
                classifier: Some(classifier(0.999, 20, 0)),
                ..Default::default()
            },
            &counted,
        );
        assert_eq!(
            verdict.decision,
            Decision::Held,
            "the switch counts the classifier"
        );
    }

    #[test]
    fn classifier_thresholds_come_from_the_model_unless_overridden() {
        let signals = |p| Signals {
            relationship: Relationship::default(),
            classifier: Some(classifier(p, 20, 2)),
            ..Default::default()
        };
        let config = PolicyConfig::default();
        assert_eq!(decide(&signals(0.5), &config).decision, Decision::Other);
        let possible = decide(&signals(0.85), &config);
        assert_eq!(possible.decision, Decision::Other);
        assert_eq!(possible.reasons.last().unwrap().id, "possible_spam");
        let held = decide(&signals(0.995), &config);
        assert_eq!(held.decision, Decision::Held);
        assert_eq!(held.score, Some(0.995));
        let strict = PolicyConfig {
            classifier_hold_above: Some(0.0),
            ..PolicyConfig::default()
        };
        assert_eq!(decide(&signals(0.6), &strict).decision, Decision::Held);
    }

    /// A connection's message leaves the Inbox only on hold-level evidence: below it, the
    /// "possible spam" label travels with the message and the placement stays.
    #[test]
    fn a_connection_needs_stronger_evidence_than_a_stranger() {
        let labelled = judged(connected(), classifier(0.9, 20, 2));
        assert_eq!(labelled.decision, Decision::Inbox);
        assert_eq!(labelled.reasons.last().unwrap().id, "possible_spam");
        let stranger = judged(Relationship::default(), classifier(0.9, 20, 2));
        assert_eq!(stranger.decision, Decision::Other);
        assert_eq!(stranger.reasons.last().unwrap().id, "possible_spam");
        assert_eq!(
            judged(connected(), classifier(0.995, 20, 2)).decision,
            Decision::Held
        );
        assert_eq!(
            judged(connected(), classifier(0.5, 20, 2)).reasons.len(),
            1,
            "nothing but the relationship below the Other threshold"
        );
    }

    /// A message the model knows little about is never held on its word, however high
    /// the score: too few known features or too many unknown tokens make it abstain, and
    /// a few known features are not enough to hold.
    #[test]
    fn the_classifier_abstains_or_only_labels_when_it_knows_little() {
        let config = PolicyConfig::default();
        for (known, unknown) in [(1, 0), (2, 1), (5, 20)] {
            for relationship in [connected(), Relationship::default()] {
                let verdict = judged(relationship, classifier(0.999, known, unknown));
                assert_ne!(verdict.decision, Decision::Held, "{known}/{unknown}");
                let reason = verdict.reasons.last().unwrap();
                assert_eq!(reason.id, "abstained", "{known}/{unknown}");
                assert!(
                    reason.detail.contains("knows too little"),
                    "{}",
                    reason.detail
                );
                let inbox = relationship.connected;
                assert_eq!(verdict.decision == Decision::Inbox, inbox);
            }
        }
        let few = config.classifier_hold_min_known - 1;
        let verdict = judged(Relationship::default(), classifier(0.999, few, 0));
        assert_eq!(verdict.decision, Decision::Other);
        assert_eq!(verdict.reasons.last().unwrap().id, "possible_spam");
        let enough = judged(
            Relationship::default(),
            classifier(0.999, config.classifier_hold_min_known, 0),
        );
        assert_eq!(enough.decision, Decision::Held);
    }

    /// Reviewers see which features pushed the score; the member's copy of the reason does
    /// not carry them.
    #[test]
    fn the_pushing_features_are_evidence_for_reviewers_only() {
        let held = judged(Relationship::default(), classifier(0.995, 20, 0));
        let reason = held.reasons.last().unwrap();
        assert_eq!(reason.evidence, ["w:crypto +0.400"]);
        assert!(reason.for_member().evidence.is_empty());
        // The threshold stands beside the score it is compared with, not the probability.
        assert!(
            reason.detail.starts_with(
                "likely spam: decision score 5.29 above the hold threshold 4.60 (spam probability "
            ),
            "{}",
            reason.detail
        );
    }

    fn behaviour(id: &str, hold: bool) -> BehaviourSignal {
        BehaviourSignal {
            id: id.into(),
            hold,
            score: 1.0,
            detail: format!("{id} detail"),
        }
    }

    #[test]
    fn a_holding_behaviour_signal_holds() {
        let signals = Signals {
            relationship: connected(),
            behaviour: vec![behaviour("poor_reactions", true)],
            ..Default::default()
        };
        let verdict = decide(&signals, &PolicyConfig::default());
        assert_eq!(verdict.decision, Decision::Held);
        assert_eq!(verdict.reasons.last().unwrap().source, "limit");
    }

    #[test]
    fn near_identical_outreach_holds_only_when_corroborated_and_never_when_answered() {
        let config = PolicyConfig::default();
        let stranger = Relationship::default();
        for id in ["fan_out", "template"] {
            // Alone: a reason without effect (the recruiter's personalized note).
            let alone = decide(
                &Signals {
                    relationship: stranger,
                    behaviour: vec![behaviour(id, true)],
                    ..Default::default()
                },
                &config,
            );
            assert_eq!(alone.decision, Decision::Other, "{id}");
            assert!(alone.reasons.last().unwrap().detail.contains("not held"));
            // With suspicious content: held.
            let with_content = decide(
                &Signals {
                    relationship: stranger,
                    rule_hits: vec![hit("r.other", RuleAction::Other, 0.0, false)],
                    behaviour: vec![behaviour(id, true)],
                    ..Default::default()
                },
                &config,
            );
            assert_eq!(with_content.decision, Decision::Held, "{id}");
            // With poor reactions: held; with answered outreach: not.
            let reactions = |other: &str| {
                decide(
                    &Signals {
                        relationship: stranger,
                        behaviour: vec![behaviour(id, true), behaviour(other, other != "answered")],
                        ..Default::default()
                    },
                    &config,
                )
                .decision
            };
            assert_eq!(reactions("poor_reactions"), Decision::Held);
            assert_eq!(reactions("answered"), Decision::Other);
        }
        // The list is configuration: emptied, fan-out holds alone again.
        let strict = PolicyConfig {
            corroborated_behaviour: Vec::new(),
            ..PolicyConfig::default()
        };
        let verdict = decide(
            &Signals {
                relationship: stranger,
                behaviour: vec![behaviour("fan_out", true)],
                ..Default::default()
            },
            &strict,
        );
        assert_eq!(verdict.decision, Decision::Held);
    }
}
