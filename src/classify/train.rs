//! Training: count features per class from interned feature ids, then smooth.
//!
//! Messages are interned once into sorted `(feature id, capped count)` lists, so the k-fold
//! cross-validation that picks the thresholds and the final fit all count integers over the
//! same ids: sums are exact, so the same data gives the same model bit for bit, whatever the
//! order of hash maps.

use rustc_hash::FxHashMap;

use super::index::VocabularyError;
use super::linear::{fit_platt, train_svm, Rows};
use super::model::{
    decision_score, linear_decision, linear_norm, BandThresholds, LinearHead, Model, ModelKind,
    Thresholds, TrainOptions, HAM, SPAM,
};
use super::thresholds::threshold_for_fpr;
use crate::domain::Label;

/// One message: its class, its weight, its sorted `(feature id, count)` pairs (counts as
/// they occur; the model's cap applies when counting), and whether its out-of-fold score
/// takes part in choosing thresholds.
#[derive(Debug, Clone)]
pub struct Doc {
    pub class: usize,
    pub weight: u32,
    pub features: Vec<(u32, u32)>,
    pub fit_thresholds: bool,
}

impl Doc {
    /// All the message's tokens, repeats included.
    fn tokens(&self) -> u32 {
        self.features.iter().map(|(_, c)| c).sum()
    }
}

/// Messages as interned feature-count lists, ready for counting.
pub struct Corpus {
    pub features: Vec<String>,
    pub docs: Vec<Doc>,
}

impl Corpus {
    /// Interns `(label, features)` messages.
    pub fn build<I, F>(messages: I) -> Corpus
    where
        I: IntoIterator<Item = (Label, F)>,
        F: IntoIterator<Item = String>,
    {
        Corpus::build_weighted(messages.into_iter().map(|(l, f)| (l, 1, true, f)))
    }

    /// Like [`Corpus::build`], with a weight per message (a message of weight `w` counts as
    /// `w` copies, but stays one message in cross-validation, so no copy leaks across
    /// folds) and whether it takes part in choosing thresholds.
    pub fn build_weighted<I, F>(messages: I) -> Corpus
    where
        I: IntoIterator<Item = (Label, u32, bool, F)>,
        F: IntoIterator<Item = String>,
    {
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut features = Vec::new();
        let mut docs = Vec::new();
        for (label, weight, fit_thresholds, message) in messages {
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
            let class = match label {
                Label::Ham => HAM,
                Label::Spam => SPAM,
            };
            docs.push(Doc {
                class,
                weight: weight.max(1),
                features: counted,
                fit_thresholds,
            });
        }
        Corpus { features, docs }
    }
}

/// A count under the model's per-message cap (0 = none).
fn capped(count: u32, cap: u32) -> u32 {
    if cap == 0 {
        count
    } else {
        count.min(cap)
    }
}

/// A fit on the docs selected by `keep`: per kept feature (corpus id) its two parameters
/// (`[log θ ham, log θ spam]` for Naive Bayes, `[ratio², weight]` for NBSVM).
struct Fit {
    class_counts: [u64; 2],
    params: FxHashMap<u32, [f64; 2]>,
    /// NBSVM's intercept (`None` for Naive Bayes).
    bias: Option<f64>,
}

fn fit(corpus: &Corpus, options: &TrainOptions, keep: impl Fn(usize) -> bool) -> Fit {
    let cap = options.count_cap;
    let mut counts = vec![[0u64; 2]; corpus.features.len()];
    let mut class_counts = [0u64; 2];
    for (i, doc) in corpus.docs.iter().enumerate() {
        if !keep(i) {
            continue;
        }
        class_counts[doc.class] += u64::from(doc.weight);
        for &(id, count) in &doc.features {
            counts[id as usize][doc.class] += u64::from(capped(count, cap)) * u64::from(doc.weight);
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
    let theta: Vec<(u32, [f64; 2])> = kept
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
    match options.kind {
        ModelKind::NaiveBayes => Fit {
            class_counts,
            params: theta.into_iter().collect(),
            bias: None,
        },
        ModelKind::NbSvm => fit_nbsvm(corpus, options, &keep, class_counts, theta),
    }
}

/// NBSVM on top of the Naive Bayes fit: each message's known features, valued at their
/// log-count ratio and scaled by the message's evidence norm, train a linear SVM; the
/// weights are then pulled toward their mean by `interpolation` (Wang and Manning's β).
fn fit_nbsvm(
    corpus: &Corpus,
    options: &TrainOptions,
    keep: &impl Fn(usize) -> bool,
    class_counts: [u64; 2],
    theta: Vec<(u32, [f64; 2])>,
) -> Fit {
    // Column of each kept feature, and its log-count ratio.
    let mut column = vec![u32::MAX; corpus.features.len()];
    let mut ratio = Vec::with_capacity(theta.len());
    for (c, (id, [ham, spam])) in theta.iter().enumerate() {
        column[*id as usize] = c as u32;
        ratio.push(spam - ham);
    }
    let mut rows = Rows {
        starts: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
    };
    let (mut labels, mut weights) = (Vec::new(), Vec::new());
    for (i, doc) in corpus.docs.iter().enumerate() {
        if !keep(i) {
            continue;
        }
        let start = rows.indices.len();
        let (mut squares, mut unknown) = (0.0, 0u32);
        for &(id, count) in &doc.features {
            match column[id as usize] {
                u32::MAX => unknown += count,
                c => {
                    rows.indices.push(c);
                    rows.values.push(ratio[c as usize]);
                    squares += ratio[c as usize] * ratio[c as usize];
                }
            }
        }
        let norm = linear_norm(squares, unknown, options);
        for value in &mut rows.values[start..] {
            *value /= norm;
        }
        rows.starts.push(rows.indices.len());
        labels.push(doc.class == SPAM);
        weights.push(f64::from(doc.weight));
    }
    let (w, bias) = train_svm(
        &rows,
        &labels,
        &weights,
        ratio.len(),
        options.svm_cost,
        options.seed,
    );
    let beta = options.interpolation;
    let mean = if w.is_empty() {
        0.0
    } else {
        w.iter().map(|x| x.abs()).sum::<f64>() / w.len() as f64
    };
    let params = theta
        .iter()
        .enumerate()
        .map(|(c, (id, _))| {
            let r = ratio[c];
            let weight = (1.0 - beta) * mean + beta * w[c];
            (*id, [r * r, weight * r])
        })
        .collect();
    Fit {
        class_counts,
        params,
        bias: Some(bias),
    }
}

/// The decision score of `doc` under a fold's fit, as [`Model::score_ids_among`] computes it.
fn decision(fit: &Fit, doc: &Doc, options: &TrainOptions) -> f64 {
    let mut sums = [0.0; 2];
    let (mut known, mut unknown) = (0u32, 0u32);
    for &(id, count) in &doc.features {
        match fit.params.get(&id) {
            Some(params) => {
                let count = capped(count, options.count_cap);
                sums[HAM] += f64::from(count) * params[HAM];
                sums[SPAM] += f64::from(count) * params[SPAM];
                known += count;
            }
            None => unknown += count,
        }
    }
    match fit.bias {
        Some(bias) => linear_decision(bias, sums[SPAM], sums[HAM], unknown, options),
        None => {
            let total = (fit.class_counts[HAM] + fit.class_counts[SPAM]).max(1) as f64;
            let prior = (fit.class_counts[SPAM] as f64 / total).ln()
                - (fit.class_counts[HAM] as f64 / total).ln();
            decision_score(prior + sums[SPAM] - sums[HAM], known, options.length_norm)
        }
    }
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
        for (i, doc) in corpus.docs.iter().enumerate() {
            if assignment[i] == k {
                scores[i] = decision(&model, doc, options);
            }
        }
    }
    scores
}

/// Upper bounds (in tokens, inclusive) of the length bands that get thresholds of their
/// own: about a one-liner (under 80 characters), a short message, a long one.
pub const BAND_MAX_TOKENS: [u32; 3] = [24, 80, 400];
/// A band gets thresholds of its own only with at least this many threshold ham messages:
/// fewer cannot place a 1 % false-positive threshold.
pub const MIN_BAND_HAM: usize = 200;

/// Thresholds from out-of-fold scores of the docs chosen for threshold fitting: overall,
/// and per length band where a band has enough ham.
fn choose_thresholds(corpus: &Corpus, scores: &[f64], options: &TrainOptions) -> Thresholds {
    let ham: Vec<(u32, f64)> = corpus
        .docs
        .iter()
        .zip(scores)
        .filter(|(doc, _)| doc.class == HAM && doc.fit_thresholds)
        .map(|(doc, s)| (doc.tokens(), *s))
        .collect();
    let all: Vec<f64> = ham.iter().map(|(_, s)| *s).collect();
    let overall = (
        threshold_for_fpr(&all, options.hold_target_fpr),
        threshold_for_fpr(&all, options.other_target_fpr),
    );
    let mut bands: Vec<(BandThresholds, bool)> = Vec::new();
    let mut lower = 0;
    for max_tokens in BAND_MAX_TOKENS {
        let band: Vec<f64> = ham
            .iter()
            .filter(|(t, _)| *t > lower && *t <= max_tokens)
            .map(|(_, s)| *s)
            .collect();
        lower = max_tokens;
        let own = band.len() >= MIN_BAND_HAM;
        let (hold_above, other_above) = if own {
            (
                threshold_for_fpr(&band, options.hold_target_fpr),
                threshold_for_fpr(&band, options.other_target_fpr),
            )
        } else {
            overall
        };
        let ham = band.len() as u64;
        bands.push((
            BandThresholds {
                max_tokens,
                hold_above,
                other_above,
                ham,
            },
            own,
        ));
    }
    // Bands after the last with thresholds of its own add nothing to the overall ones; a
    // thin band before it keeps the overall ones rather than borrowing a later band's.
    let kept = bands.iter().rposition(|(_, own)| *own).map_or(0, |i| i + 1);
    let bands = bands.into_iter().take(kept).map(|(band, _)| band).collect();
    Thresholds {
        hold_above: overall.0,
        other_above: overall.1,
        hold_target_fpr: options.hold_target_fpr,
        other_target_fpr: options.other_target_fpr,
        bands,
    }
}

/// Trains the model: thresholds (and, for NBSVM, the probability calibration) from
/// cross-validated scores, parameters from all the data.
pub fn train(
    corpus: &Corpus,
    options: &TrainOptions,
    training: serde_json::Value,
) -> Result<Model, VocabularyError> {
    let mut platt = (1.0, 0.0);
    let thresholds = if options.folds >= 2 {
        let scores = out_of_fold_scores(corpus, options);
        let spam: Vec<bool> = corpus.docs.iter().map(|d| d.class == SPAM).collect();
        platt = fit_platt(&scores, &spam);
        choose_thresholds(corpus, &scores, options)
    } else {
        Thresholds::default()
    };
    let full = fit(corpus, options, |_| true);
    let mut kept: Vec<(&str, [f64; 2])> = full
        .params
        .iter()
        .map(|(id, params)| (corpus.features[*id as usize].as_str(), *params))
        .collect();
    kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let vocabulary = kept.iter().map(|(f, _)| f.to_string()).collect();
    let feature_log_prob = kept.iter().map(|(_, t)| *t).collect();
    let model = Model::new(
        options.clone(),
        full.class_counts,
        vocabulary,
        feature_log_prob,
        thresholds,
        training,
    )?;
    Ok(match full.bias {
        Some(bias) => model.with_linear(LinearHead {
            bias,
            platt_slope: platt.0,
            platt_offset: platt.1,
        }),
        None => model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A doc of class `class` with `tokens` tokens (one feature repeated), fitting
    /// thresholds or not.
    fn doc(class: usize, tokens: u32, fit_thresholds: bool) -> Doc {
        Doc {
            class,
            weight: 1,
            features: vec![(0, tokens)],
            fit_thresholds,
        }
    }

    /// Each length band with enough threshold ham gets thresholds from its own ham; a band
    /// without enough borrows the overall ones only when a later band has its own; spam
    /// and messages outside the threshold files never move a threshold.
    #[test]
    fn band_thresholds_come_from_their_own_ham() {
        let options = TrainOptions {
            hold_target_fpr: 0.01,
            other_target_fpr: 0.1,
            ..TrainOptions::default()
        };
        let mut docs = Vec::new();
        let mut scores = Vec::new();
        // Short ham scores 0..300 (in hundredths), long ham (81..400 tokens) scores higher.
        for i in 0..300 {
            docs.push(doc(HAM, 10, true));
            scores.push(f64::from(i) / 100.0);
            docs.push(doc(HAM, 200, true));
            scores.push(10.0 + f64::from(i) / 100.0);
        }
        // Too few ham of 25..80 tokens for a band of their own.
        for i in 0..50 {
            docs.push(doc(HAM, 50, true));
            scores.push(f64::from(i));
        }
        // Spam and ham outside the threshold files score high and must not count.
        for _ in 0..100 {
            docs.push(doc(SPAM, 10, true));
            scores.push(100.0);
            docs.push(doc(HAM, 10, false));
            scores.push(100.0);
        }
        let corpus = Corpus {
            features: vec!["w:x".into()],
            docs,
        };
        let t = choose_thresholds(&corpus, &scores, &options);
        let bands: Vec<u32> = t.bands.iter().map(|b| b.max_tokens).collect();
        assert_eq!(bands, [24, 80, 400]);
        // Short band: 300 ham, 1 % above hold, 10 % above Other.
        let short = &t.bands[0];
        assert_eq!(short.ham, 300);
        let above = |t: f64| (0..300).filter(|i| f64::from(*i) / 100.0 > t).count();
        assert_eq!(above(short.hold_above), 3);
        assert_eq!(above(short.other_above), 30);
        // The thin middle band uses the overall thresholds, the long band its own.
        assert_eq!(
            (t.bands[1].hold_above, t.bands[1].other_above),
            (t.hold_above, t.other_above)
        );
        assert!(t.bands[2].hold_above >= 10.0 && t.bands[2].hold_above < 13.0);
        assert_eq!(t.for_tokens(10), (short.hold_above, short.other_above));
        assert_eq!(t.for_tokens(5_000), (t.hold_above, t.other_above));
    }
}
