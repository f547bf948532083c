//! The classifier's veto on holds that rest on rules alone.
//!
//! Rules match phrases, and members quote phrases: a security team's "that 'verify your
//! account' e-mail is phishing", an IT admin's "your account is locked, log in again". On
//! writers the model had never met, most of the ordinary English messages held were held by
//! rules like these while the classifier read them as plainly ordinary (`models/MODEL.md`,
//! "The classifier's veto"). A hold restricts the sender, so when the two detectors flatly
//! disagree the message goes to Other with both reasons instead. Harassment is exempt by
//! default: the model learned selling and scams, and reads a threat in ordinary words as
//! ordinary.

use crate::domain::{ClassifierSignal, Reason, RuleAction};

use super::{classifier_counts, knows_too_little, PolicyConfig, Signals};

/// The classifier that vetoes the holds resting on rules, when one does: it judged the
/// message with enough known features and gives it a spam probability under
/// `classifier_veto_below`, and no rule that refuses the message or belongs to an exempt
/// category fired. `None` when the rules' holds stand. Cheap: the reason is spelled only
/// when a hold is actually lowered ([`reason`]).
pub(super) fn vetoing_classifier<'a>(
    signals: &'a Signals,
    config: &PolicyConfig,
) -> Option<&'a ClassifierSignal> {
    let classifier = signals.classifier.as_ref()?;
    if signals.rule_hits.is_empty()
        || config.classifier_veto_below <= 0.0
        || !classifier_counts(signals.relationship, config)
        || knows_too_little(classifier, config)
        || classifier.known_features < config.classifier_hold_min_known
        || classifier.spam_probability >= config.classifier_veto_below
    {
        return None;
    }
    let exempt = signals
        .rule_hits
        .iter()
        .filter(|hit| !hit.shadow)
        .any(|hit| {
            hit.action == RuleAction::Reject
                || config
                    .classifier_veto_exempt_categories
                    .contains(&hit.category)
        });
    (!exempt).then_some(classifier)
}

/// Why a hold resting on rules alone went to Other instead.
pub(super) fn reason(classifier: &ClassifierSignal, config: &PolicyConfig) -> Reason {
    Reason::new(
        "policy",
        "classifier_veto",
        format!(
            "not held: rules alone would hold it, but the classifier reads it as ordinary (spam probability {:.3} < {}, {} known features); sent to Other",
            classifier.spam_probability, config.classifier_veto_below, classifier.known_features
        ),
    )
}
