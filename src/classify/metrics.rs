//! Evaluation figures, spam being the positive class.

use serde::Serialize;

use super::thresholds::threshold_for_fpr;
use crate::domain::Label;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evaluation {
    pub n: usize,
    pub spam: usize,
    pub ham: usize,
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub accuracy: f64,
    pub precision: f64,
    /// Spam caught.
    pub recall: f64,
    /// Ham wrongly flagged.
    pub fpr: f64,
    pub f1: f64,
    pub mcc: f64,
    /// ROC AUC of the scores (ties count half); none (JSON null) when the data has one
    /// class only, where ranking spam above ham means nothing.
    pub auc: Option<f64>,
    pub recall_at_1pct_fpr: f64,
    /// The log-odds threshold used for the confusion counts (`score > threshold` is spam).
    pub threshold: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Figures for `scores` (higher = more spam) against `labels` at `threshold`.
pub fn evaluate(labels: &[Label], scores: &[f64], threshold: f64) -> Evaluation {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (label, score) in labels.iter().zip(scores) {
        let flagged = *score > threshold;
        match (label, flagged) {
            (Label::Spam, true) => tp += 1,
            (Label::Spam, false) => fn_ += 1,
            (Label::Ham, true) => fp += 1,
            (Label::Ham, false) => tn += 1,
        }
    }
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let mcc_denominator =
        ((tp + fp) as f64 * (tp + fn_) as f64 * (tn + fp) as f64 * (tn + fn_) as f64).sqrt();
    let mcc = if mcc_denominator > 0.0 {
        (tp as f64 * tn as f64 - fp as f64 * fn_ as f64) / mcc_denominator
    } else {
        0.0
    };
    let ham_scores: Vec<f64> = labels
        .iter()
        .zip(scores)
        .filter(|(l, _)| **l == Label::Ham)
        .map(|(_, s)| *s)
        .collect();
    let at_1pct = threshold_for_fpr(&ham_scores, 0.01);
    let spam_total = tp + fn_;
    let caught_at_1pct = labels
        .iter()
        .zip(scores)
        .filter(|(l, s)| **l == Label::Spam && **s > at_1pct)
        .count();
    Evaluation {
        n: labels.len(),
        spam: spam_total,
        ham: fp + tn,
        tp,
        fp,
        tn,
        fn_,
        accuracy: ratio(tp + tn, labels.len()),
        precision,
        recall,
        fpr: ratio(fp, fp + tn),
        f1,
        mcc,
        auc: auc(labels, scores),
        recall_at_1pct_fpr: ratio(caught_at_1pct, spam_total),
        threshold,
    }
}

/// Mann–Whitney AUC with average ranks for ties; none without both classes.
pub fn auc(labels: &[Label], scores: &[f64]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_spam = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] == Label::Spam {
                rank_sum_spam += average_rank;
            }
        }
        i = j + 1;
    }
    let spam = labels.iter().filter(|l| **l == Label::Spam).count() as f64;
    let ham = labels.len() as f64 - spam;
    if spam == 0.0 || ham == 0.0 {
        return None;
    }
    Some((rank_sum_spam - spam * (spam + 1.0) / 2.0) / (spam * ham))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::{Ham, Spam};

    #[test]
    fn confusion_and_derived_figures() {
        let labels = [Spam, Spam, Spam, Ham, Ham, Ham, Ham];
        let scores = [5.0, 1.0, -1.0, 2.0, -3.0, -4.0, -5.0];
        let e = evaluate(&labels, &scores, 0.0);
        assert_eq!((e.tp, e.fn_, e.fp, e.tn), (2, 1, 1, 3));
        assert!((e.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.fpr - 0.25).abs() < 1e-12);
        // MCC = (2*3 - 1*1) / sqrt(3*3*4*4) = 5/12
        assert!((e.mcc - 5.0 / 12.0).abs() < 1e-12);
        // Pairs spam>ham: 5>all 4, 1>3 of 4, -1>3 of 4 → 10/12
        assert!((e.auc.unwrap() - 10.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn ties_count_half_in_auc() {
        assert_eq!(auc(&[Spam, Ham], &[1.0, 1.0]), Some(0.5));
        assert_eq!(auc(&[Spam, Ham], &[2.0, 1.0]), Some(1.0));
    }

    #[test]
    fn auc_is_undefined_on_one_class() {
        assert_eq!(auc(&[Ham, Ham], &[1.0, 2.0]), None);
        assert_eq!(evaluate(&[Spam], &[1.0], 0.0).auc, None);
    }
}
