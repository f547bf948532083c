//! Training: count features per class from interned feature ids, then smooth.
//!
//! Messages are interned once into sorted `(feature id, capped count)` lists, so the k-fold
//! cross-validation that picks the thresholds and the final fit all count integers over the
//! same ids: sums are exact, so the same data gives the same model bit for bit, whatever the
//! order of hash maps.

use rustc_hash::FxHashMap;

use super::index::VocabularyError;
use super::model::{decision_score, Model, Thresholds, TrainOptions, HAM, SPAM};
use super::thresholds::threshold_for_fpr;
use crate::domain::Label;

/// One message: (class, weight, sorted `(feature id, count)` pairs).
pub type Doc = (usize, u32, Vec<(u32, u32)>);

/// Messages as interned feature-count lists, ready for counting.
pub struct Corpus {
    pub features: Vec<String>,
    pub docs: Vec<Doc>,
}

impl Corpus {
    /// Interns `(label, features)` messages, capping per-message counts at `cap` (0 = none).
    pub fn build<I, F>(messages: I, cap: u32) -> Corpus
    where
        I: IntoIterator<Item = (Label, F)>,
        F: IntoIterator<Item = String>,
    {
        Corpus::build_weighted(messages.into_iter().map(|(l, f)| (l, 1, f)), cap)
    }

    /// Like [`Corpus::build`], with a weight per message: a message of weight `w` counts as
    /// `w` copies, but stays one message in cross-validation (no copy leaks across folds).
    pub fn build_weighted<I, F>(messages: I, cap: u32) -> Corpus
    where
        I: IntoIterator<Item = (Label, u32, F)>,
        F: IntoIterator<Item = String>,
    {
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut features = Vec::new();
        let mut docs = Vec::new();
        for (label, weight, message) in messages {
            let mut doc: Vec<u32> = message
                .into_iter()
                .map(|f| {
                    let next = features.len() as u32;
                    *ids.entry(f).or_insert_with_key(|f| {
                        features.push(f.clone());
                        next
                    })
                })
                .collect();
            doc.sort_unstable();
            let mut counted: Vec<(u32, u32)> = Vec::new();
            for id in doc {
                match counted.last_mut() {
                    Some((last, count)) if *last == id => *count += 1,
                    _ => counted.push((id, 1)),
                }
            }
            if cap > 0 {
                for (_, count) in &mut counted {
                    *count = (*count).min(cap);
                }
            }
            let class = match label {
                Label::Ham => HAM,
                Label::Spam => SPAM,
            };
            docs.push((class, weight.max(1), counted));
        }
        Corpus { features, docs }
    }
}

/// Class-conditional log-probabilities over the kept features of the docs selected by `keep`.
struct Fit {
    class_counts: [u64; 2],
    /// Kept feature ids (corpus ids) in corpus-id order, with their `log θ`.
    theta: FxHashMap<u32, [f64; 2]>,
}

fn fit(corpus: &Corpus, options: &TrainOptions, keep: impl Fn(usize) -> bool) -> Fit {
    let mut counts = vec![[0u64; 2]; corpus.features.len()];
    let mut class_counts = [0u64; 2];
    for (i, (class, weight, doc)) in corpus.docs.iter().enumerate() {
        if !keep(i) {
            continue;
        }
        class_counts[*class] += u64::from(*weight);
        for &(id, count) in doc {
            counts[id as usize][*class] += u64::from(count) * u64::from(*weight);
        }
    }
    let kept: Vec<u32> = (0..counts.len() as u32)
        .filter(|&id| {
            let [ham, spam] = counts[id as usize];
            ham + spam >= u64::from(options.min_count.max(1))
        })
        .collect();
    let alpha = options.alpha;
    let vocabulary = kept.len() as f64;
    let mut totals = [0u64; 2];
    for &id in &kept {
        totals[HAM] += counts[id as usize][HAM];
        totals[SPAM] += counts[id as usize][SPAM];
    }
    let log_total = [
        (totals[HAM] as f64 + alpha * vocabulary).ln(),
        (totals[SPAM] as f64 + alpha * vocabulary).ln(),
    ];
    let theta = kept
        .into_iter()
        .map(|id| {
            let [ham, spam] = counts[id as usize];
            (
                id,
                [
                    (ham as f64 + alpha).ln() - log_total[HAM],
                    (spam as f64 + alpha).ln() - log_total[SPAM],
                ],
            )
        })
        .collect();
    Fit {
        class_counts,
        theta,
    }
}

/// The decision score of `doc` under a fold's fit, as [`Model::score_ids`] computes it.
fn decision(fit: &Fit, doc: &[(u32, u32)], length_norm: f64) -> f64 {
    let total = (fit.class_counts[HAM] + fit.class_counts[SPAM]).max(1) as f64;
    let mut odds =
        (fit.class_counts[SPAM] as f64 / total).ln() - (fit.class_counts[HAM] as f64 / total).ln();
    let mut occurrences = 0;
    for &(id, count) in doc {
        if let Some(theta) = fit.theta.get(&id) {
            odds += f64::from(count) * (theta[SPAM] - theta[HAM]);
            occurrences += count;
        }
    }
    decision_score(odds, occurrences, length_norm)
}

/// A stable fold for message `i` under `seed` (splitmix64).
fn fold_of(seed: u64, i: usize, folds: u32) -> u32 {
    let mut z = seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % u64::from(folds)) as u32
}

/// Out-of-fold decision scores of every message (k-fold cross-validation).
pub fn out_of_fold_scores(corpus: &Corpus, options: &TrainOptions) -> Vec<f64> {
    let folds = options.folds.max(2);
    let assignment: Vec<u32> = (0..corpus.docs.len())
        .map(|i| fold_of(options.seed, i, folds))
        .collect();
    let mut scores = vec![0.0; corpus.docs.len()];
    for k in 0..folds {
        let model = fit(corpus, options, |i| assignment[i] != k);
        for (i, (_, _, doc)) in corpus.docs.iter().enumerate() {
            if assignment[i] == k {
                scores[i] = decision(&model, doc, options.length_norm);
            }
        }
    }
    scores
}

/// Trains the model: thresholds from cross-validated scores, parameters from all the data.
pub fn train(
    corpus: &Corpus,
    options: &TrainOptions,
    training: serde_json::Value,
) -> Result<Model, VocabularyError> {
    let thresholds = if options.folds >= 2 {
        let scores = out_of_fold_scores(corpus, options);
        let ham: Vec<f64> = corpus
            .docs
            .iter()
            .zip(&scores)
            .filter(|((class, _, _), _)| *class == HAM)
            .map(|(_, s)| *s)
            .collect();
        Thresholds {
            hold_above: threshold_for_fpr(&ham, options.hold_target_fpr),
            other_above: threshold_for_fpr(&ham, options.other_target_fpr),
            hold_target_fpr: options.hold_target_fpr,
            other_target_fpr: options.other_target_fpr,
        }
    } else {
        Thresholds::default()
    };
    let full = fit(corpus, options, |_| true);
    let mut kept: Vec<(&str, [f64; 2])> = full
        .theta
        .iter()
        .map(|(id, theta)| (corpus.features[*id as usize].as_str(), *theta))
        .collect();
    kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let vocabulary = kept.iter().map(|(f, _)| f.to_string()).collect();
    let feature_log_prob = kept.iter().map(|(_, t)| *t).collect();
    Model::new(
        options.clone(),
        full.class_counts,
        vocabulary,
        feature_log_prob,
        thresholds,
        training,
    )
}
