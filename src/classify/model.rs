//! The fitted model and its sparse scorer.
//!
//! Multinomial Naive Bayes with Lidstone smoothing, in log space throughout:
//! `log θ[c][i] = ln(N[c][i] + α) − ln(Σ_j N[c][j] + α·|V|)`, `log prior[c] = ln(n_c / n)`,
//! and a message's joint log-likelihood `jll[c] = log prior[c] + Σ_i x_i · log θ[c][i]`
//! over the features it contains (features outside the vocabulary are ignored, as a fixed
//! vectorizer would). The posterior is computed from the log-odds `jll[spam] − jll[ham]`,
//! which never overflows however long the message.

use serde::{Deserialize, Serialize};

use super::ids::{for_each_marking_repeats, sort_ids};
use super::index::{pair_hash, prefetch, FeatureIndex, VocabularyError};

/// Class order everywhere in this module.
pub const HAM: usize = 0;
pub const SPAM: usize = 1;

/// Thresholds on the log-odds, chosen on held-out scores for target ham false-positive rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Hold when the decision score is above this.
    pub hold_above: f64,
    /// At least Other when the decision score is above this.
    pub other_above: f64,
    pub hold_target_fpr: f64,
    pub other_target_fpr: f64,
    /// Thresholds of their own for messages of a length band, where the threshold data had
    /// enough ham of that length: short messages score differently from long ones, and one
    /// pair of thresholds fitted on all lengths serves neither well. Ordered by
    /// `max_tokens`; a message beyond the last band uses the overall thresholds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<BandThresholds>,
}

/// The thresholds of messages with at most `max_tokens` tokens (and more than the band
/// before's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandThresholds {
    pub max_tokens: u32,
    pub hold_above: f64,
    pub other_above: f64,
    /// Ham messages of this band the thresholds were fitted on.
    pub ham: u64,
}

impl Thresholds {
    /// `(hold_above, other_above)` for a message of `tokens` tokens.
    pub fn for_tokens(&self, tokens: u32) -> (f64, f64) {
        match self.bands.iter().find(|band| tokens <= band.max_tokens) {
            Some(band) => (band.hold_above, band.other_above),
            None => (self.hold_above, self.other_above),
        }
    }
}

impl Default for Thresholds {
    /// Plain argmax for both: what a model without validation data can offer.
    fn default() -> Self {
        Thresholds {
            hold_above: 0.0,
            other_above: 0.0,
            hold_target_fpr: 0.0,
            other_target_fpr: 0.0,
            bands: Vec::new(),
        }
    }
}

/// The scorer a model was trained as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Multinomial Naive Bayes: a feature's parameters are its log-probabilities per class.
    #[default]
    NaiveBayes,
    /// Naive Bayes log-count ratios feeding a linear SVM (NBSVM, Wang and Manning 2012):
    /// a feature's parameters are its squared ratio and its weight, and a message's
    /// decision is `bias + Σ weight / √(Σ ratio² + prior_strength + unknown_weight · unknown)`.
    /// The ratios keep Naive Bayes's reading of each word; the SVM learns how much to
    /// trust it, which NB's independence assumption cannot.
    NbSvm,
}

/// The NBSVM's intercept and the sigmoid that turns its decision into a probability
/// (Platt scaling, fitted on the cross-validated decisions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearHead {
    pub bias: f64,
    pub platt_slope: f64,
    pub platt_offset: f64,
}

/// How the model was trained; stored in the file so it can be reproduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Lidstone smoothing α.
    pub alpha: f64,
    /// Features seen fewer times than this in the training data are dropped.
    pub min_count: u32,
    /// Per-message count of one feature is capped at this (1 = presence only); 0 = no cap.
    pub count_cap: u32,
    /// Seed of the cross-validation folds used to choose thresholds.
    pub seed: u64,
    /// Folds of the cross-validation (0 = no thresholds chosen).
    pub folds: u32,
    pub hold_target_fpr: f64,
    pub other_target_fpr: f64,
    /// Length normalization of the decision score: log-odds / n^length_norm, n the number
    /// of the message's known feature occurrences (0 = raw log-odds). Naive Bayes log-odds
    /// grow with length, so without it a threshold chosen on long e-mails never fires on a
    /// short message.
    #[serde(default)]
    pub length_norm: f64,
    /// The scorer (files written before NBSVM are Naive Bayes).
    #[serde(default)]
    pub kind: ModelKind,
    /// NBSVM: the SVM's cost C (higher fits the training data more closely).
    #[serde(default = "default_svm_cost")]
    pub svm_cost: f64,
    /// NBSVM: weight of the SVM's own weights against the mean weight (β of Wang and
    /// Manning); below 1 it keeps some of Naive Bayes's ratios as a prior.
    #[serde(default = "default_interpolation")]
    pub interpolation: f64,
    /// NBSVM: evidence a message is assumed to have before its features are seen, in
    /// squared-ratio units. A message with few known features is pulled toward the bias
    /// instead of being judged on one or two words.
    #[serde(default)]
    pub prior_strength: f64,
    /// NBSVM: how much each token the model never saw dilutes the evidence (squared-ratio
    /// units), so a message of mostly unknown words (another language, a new topic) reads
    /// as "not known", not as whatever its few known words say.
    #[serde(default)]
    pub unknown_weight: f64,
    /// Whether the model reads the link-shape tokens (`link:`, `link:.xyz`, `link:-`).
    /// Files written before those tokens existed do not, and must not: to them every
    /// such token would be an unknown one diluting the evidence of each message with a
    /// link. Absent from a file's header when false, so those files retrain to the same
    /// bytes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub link_shapes: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl TrainOptions {
    /// Whether a token of `kind` is one of this model's features.
    pub fn reads(&self, kind: crate::text::TokenKind) -> bool {
        self.reads_tag(kind as u8)
    }

    /// [`TrainOptions::reads`] of a feature key's tag (see [`crate::text::feature_key`]).
    pub fn reads_tag(&self, tag: u8) -> bool {
        self.link_shapes || tag != crate::text::TokenKind::LinkShape as u8
    }
}

/// The cost of files written before the cost was stored (they were all trained with 1).
fn default_svm_cost() -> f64 {
    1.0
}

fn default_interpolation() -> f64 {
    0.5
}

impl Default for TrainOptions {
    /// `min_count` 2 and `svm_cost` 4 were chosen by 5-fold cross-validation on three
    /// corpora's training parts at once (e-mails, short text messages, LinkedIn-style
    /// messages in 17 languages; `models/MODEL.md`, "Defaults"): against `min_count` 1
    /// and `svm_cost` 1 they gain on the e-mails and on the text messages and lose a
    /// little on the multilingual set, whose shipped model has options of its own.
    /// `prior_strength` 24 (from 8) was chosen the same way with a third set of text
    /// messages: short messages gain, e-mails carry so much evidence that it moves none of
    /// the SpamAssassin split's decisions, and the shipped model keeps 8.
    fn default() -> Self {
        TrainOptions {
            alpha: 0.1,
            min_count: 2,
            count_cap: 1,
            seed: 42,
            folds: 5,
            hold_target_fpr: 0.003,
            other_target_fpr: 0.01,
            length_norm: 1.0,
            kind: ModelKind::NbSvm,
            svm_cost: 4.0,
            interpolation: default_interpolation(),
            prior_strength: 24.0,
            unknown_weight: 2.0,
            link_shapes: true,
        }
    }
}

/// One message's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// `jll[spam] − jll[ham]`; the posterior's logit.
    pub log_odds: f64,
    /// Joint log-likelihood per class (`[ham, spam]`).
    pub joint: [f64; 2],
    /// The length-normalized log-odds the thresholds apply to.
    pub decision: f64,
    /// Distinct features the model knows (each counted once under the default cap).
    pub known: u32,
    /// Tokens the model does not know (repeats included).
    pub unknown: u32,
}

impl Score {
    /// All the message's tokens, known or not: the length the band thresholds go by.
    pub fn tokens(&self) -> u32 {
        self.known + self.unknown
    }
}

/// The decision score: log-odds scaled down by the message's length (see `length_norm`).
pub fn decision_score(log_odds: f64, occurrences: u32, length_norm: f64) -> f64 {
    if length_norm == 0.0 {
        log_odds
    } else {
        log_odds / f64::from(occurrences.max(1)).powf(length_norm)
    }
}

impl Score {
    /// P(spam | message), computed stably from the log-odds.
    pub fn spam_probability(&self) -> f64 {
        let z = self.log_odds;
        if z >= 0.0 {
            1.0 / (1.0 + (-z).exp())
        } else {
            let e = z.exp();
            e / (1.0 + e)
        }
    }

    /// Normalized log-probabilities per class (`[ham, spam]`), stable for any length.
    pub fn log_proba(&self) -> [f64; 2] {
        let max = self.joint[HAM].max(self.joint[SPAM]);
        let norm = max + ((self.joint[HAM] - max).exp() + (self.joint[SPAM] - max).exp()).ln();
        [self.joint[HAM] - norm, self.joint[SPAM] - norm]
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub options: TrainOptions,
    /// Training messages per class (`[ham, spam]`).
    pub class_counts: [u64; 2],
    pub class_log_prior: [f64; 2],
    /// Sorted feature strings; index = feature id.
    pub vocabulary: Vec<String>,
    /// `log θ` per feature, `[ham, spam]`.
    pub feature_log_prob: Vec<[f64; 2]>,
    pub thresholds: Thresholds,
    /// What the model was trained on (files, rows, checksums), for the model card.
    pub training: serde_json::Value,
    /// The NBSVM's intercept and calibration (`None` for Naive Bayes).
    pub linear: Option<LinearHead>,
    index: FeatureIndex,
}

/// Equal models have equal contents; the index is derived from the vocabulary (with a
/// random seed), so it is left out.
impl PartialEq for Model {
    fn eq(&self, other: &Model) -> bool {
        self.options == other.options
            && self.class_counts == other.class_counts
            && self.class_log_prior == other.class_log_prior
            && self.vocabulary == other.vocabulary
            && self.feature_log_prob == other.feature_log_prob
            && self.thresholds == other.thresholds
            && self.training == other.training
            && self.linear == other.linear
    }
}

impl Model {
    pub fn new(
        options: TrainOptions,
        class_counts: [u64; 2],
        vocabulary: Vec<String>,
        feature_log_prob: Vec<[f64; 2]>,
        thresholds: Thresholds,
        training: serde_json::Value,
    ) -> Result<Model, VocabularyError> {
        let index = FeatureIndex::build(&vocabulary)?;
        let total = (class_counts[HAM] + class_counts[SPAM]).max(1) as f64;
        let class_log_prior = [
            (class_counts[HAM] as f64 / total).ln(),
            (class_counts[SPAM] as f64 / total).ln(),
        ];
        Ok(Model {
            options,
            class_counts,
            class_log_prior,
            vocabulary,
            feature_log_prob,
            thresholds,
            training,
            linear: None,
            index,
        })
    }

    /// The same model scored as an NBSVM with `head`.
    pub fn with_linear(mut self, head: LinearHead) -> Model {
        self.linear = Some(head);
        self
    }

    /// The decision score above which spam is the likelier class: where the model's own
    /// probability (`Score::spam_probability`) passes one half. For Naive Bayes that is a
    /// log-odds of zero. For NBSVM it is where Platt's sigmoid, fitted on the
    /// cross-validated decisions, passes one half, not the SVM's zero: the SVM's intercept
    /// is regularized with its weights, and on small or short-message data it sits far on
    /// the side of the larger class (a corpus of text messages put half its spam below
    /// zero: the SVM's zero lay at P(spam) = 0.997).
    pub fn argmax_threshold(&self) -> f64 {
        match &self.linear {
            Some(head) if head.platt_slope > 0.0 => -head.platt_offset / head.platt_slope,
            _ => 0.0,
        }
    }

    pub fn feature_id(&self, feature: &str) -> Option<u32> {
        self.index.get(feature)
    }

    /// Scores a message given its features (repeats count, up to the model's cap).
    pub fn score<'a>(&self, features: impl IntoIterator<Item = &'a str>) -> Score {
        let mut tokens = 0u32;
        let mut ids: Vec<u32> = features
            .into_iter()
            .filter(|f| self.options.reads_tag(crate::text::feature_key(f).0))
            .inspect(|_| tokens += 1)
            .filter_map(|f| self.feature_id(f))
            .collect();
        self.score_ids_among(&mut ids, tokens)
    }

    /// Scores a normalized message's tokens: every token's feature key is hashed, then all
    /// are looked up in one batch (see [`FeatureIndex`]).
    pub fn score_tokens(&self, tokens: &[crate::text::Token]) -> Score {
        use crate::text::TokenKind;
        // A pair's hash comes from its words' (see `index::pair_hash`). In a normalized
        // message a pair sits between its two word tokens, so each word is hashed once:
        // the first is the word just hashed, the second is hashed for the pair and
        // reused by the word token that follows.
        let mut last_word: (&str, u64) = ("", 0);
        let mut hashes: Vec<u64> = Vec::with_capacity(tokens.len());
        let word_hash = |word: &str, last: (&str, u64)| -> u64 {
            if word == last.0 && !word.is_empty() {
                last.1
            } else {
                self.index.word_hash(word)
            }
        };
        for token in tokens.iter().filter(|t| self.options.reads(t.kind)) {
            let hash = match token.kind {
                TokenKind::Word => {
                    let hash = word_hash(&token.text, last_word);
                    last_word = (&token.text, hash);
                    hash
                }
                TokenKind::Pair => match token.text.split_once(' ') {
                    Some((first, second)) => {
                        let first = word_hash(first, last_word);
                        let second_hash = word_hash(second, last_word);
                        last_word = (second, second_hash);
                        pair_hash(first, second_hash)
                    }
                    None => self.index.hash(token.feature_key()),
                },
                _ => self.index.hash(token.feature_key()),
            };
            hashes.push(hash);
        }
        let mut ids: Vec<u32> = Vec::with_capacity(tokens.len());
        self.index.lookup_many(&hashes, &mut ids);
        self.score_ids_among(&mut ids, count(hashes.len()))
    }

    /// Scores a plain-text message straight from its text: the same score as
    /// [`Model::score_tokens`] on [`crate::text::normalize`]'s tokens, without building
    /// the normalized message, for callers that only want the score.
    pub fn score_text(&self, input: &str) -> Score {
        let mut hashes = FeatureHashes {
            index: &self.index,
            options: &self.options,
            hashes: Vec::with_capacity(input.len() / 4 + 1),
            last_word: 0,
        };
        crate::text::visit_features(input, &mut hashes);
        let mut ids: Vec<u32> = Vec::with_capacity(hashes.hashes.len());
        self.index.lookup_many(&hashes.hashes, &mut ids);
        self.score_ids_among(&mut ids, count(hashes.hashes.len()))
    }

    /// Scores feature ids (reordered in place when the model counts repeats), as a message
    /// with no unknown token.
    pub fn score_ids(&self, ids: &mut [u32]) -> Score {
        let tokens = count(ids.len());
        self.score_ids_among(ids, tokens)
    }

    /// Scores the known feature ids of a message of `tokens` tokens (known or not).
    pub fn score_ids_among(&self, ids: &mut [u32], tokens: u32) -> Score {
        // The parameters of a message's features lie all over a large table: ask for them
        // now, so that they arrive while the ids are grouped.
        for &id in ids.iter() {
            prefetch(&self.feature_log_prob[id as usize]);
        }
        let cap = self.options.count_cap;
        let mut sums = [0i128; 2];
        let mut occurrences = 0u32;
        if cap == 1 {
            for_each_marking_repeats(ids, self.feature_log_prob.len(), |id, first| {
                let theta = self.feature_log_prob[id as usize];
                // A repeat adds nothing: masked rather than branched on.
                let keep = -i64::from(first);
                sums[HAM] += i128::from(fixed(theta[HAM]) & keep);
                sums[SPAM] += i128::from(fixed(theta[SPAM]) & keep);
                occurrences += u32::from(first);
            });
        } else {
            sort_ids(ids);
            for run in ids.chunk_by(|a, b| a == b) {
                let count = match cap {
                    0 => run.len() as u32,
                    cap => (run.len() as u32).min(cap),
                };
                occurrences += count;
                let theta = self.feature_log_prob[run[0] as usize];
                sums[HAM] += i128::from(count) * i128::from(fixed(theta[HAM]));
                sums[SPAM] += i128::from(count) * i128::from(fixed(theta[SPAM]));
            }
        }
        let unknown = tokens.saturating_sub(count(ids.len()));
        if let Some(head) = &self.linear {
            // Parameters are `[ratio², weight]` (see `ModelKind::NbSvm`).
            let decision = linear_decision(
                head.bias,
                unfixed(sums[SPAM]),
                unfixed(sums[HAM]),
                unknown,
                &self.options,
            );
            let log_odds = head.platt_slope * decision + head.platt_offset;
            return Score {
                log_odds,
                joint: [0.0, log_odds],
                decision,
                known: occurrences,
                unknown,
            };
        }
        let joint = [
            self.class_log_prior[HAM] + unfixed(sums[HAM]),
            self.class_log_prior[SPAM] + unfixed(sums[SPAM]),
        ];
        let log_odds = joint[SPAM] - joint[HAM];
        Score {
            log_odds,
            joint,
            decision: decision_score(log_odds, occurrences, self.options.length_norm),
            known: occurrences,
            unknown,
        }
    }

    /// What each of `features` (known ones, each once) adds to the decision score, largest
    /// push toward spam first: the evidence a reviewer sees behind a classifier reason.
    pub fn contributions<'f>(&self, features: &[&'f str], tokens: u32) -> Vec<(&'f str, f64)> {
        let mut seen: Vec<(&str, u32)> = features
            .iter()
            .filter_map(|f| Some((*f, self.feature_id(f)?)))
            .collect();
        seen.sort_unstable_by_key(|(_, id)| *id);
        seen.dedup_by_key(|(_, id)| *id);
        let known = count(seen.len());
        let unknown = tokens.saturating_sub(known);
        let scale = match &self.linear {
            Some(_) => {
                let r2: f64 = seen
                    .iter()
                    .map(|(_, id)| self.feature_log_prob[*id as usize][HAM])
                    .sum();
                1.0 / linear_norm(r2, unknown, &self.options)
            }
            None => decision_score(1.0, known, self.options.length_norm),
        };
        let mut out: Vec<(&str, f64)> = seen
            .into_iter()
            .map(|(feature, id)| {
                let theta = self.feature_log_prob[id as usize];
                let raw = match &self.linear {
                    Some(_) => theta[SPAM],
                    None => theta[SPAM] - theta[HAM],
                };
                (feature, raw * scale)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        out
    }
}

/// A count that fits `u32` (a message's tokens always do; saturate rather than wrap).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The NBSVM's evidence norm: the known features' squared ratios, plus the prior's and the
/// unknown tokens' share (see [`TrainOptions::prior_strength`] and `unknown_weight`).
pub fn linear_norm(ratio_squares: f64, unknown: u32, options: &TrainOptions) -> f64 {
    (ratio_squares + options.prior_strength + options.unknown_weight * f64::from(unknown))
        .max(f64::MIN_POSITIVE)
        .sqrt()
}

/// The NBSVM's decision score for a message with the given sums over its known features.
pub fn linear_decision(
    bias: f64,
    weights: f64,
    ratio_squares: f64,
    unknown: u32,
    options: &TrainOptions,
) -> f64 {
    bias + weights / linear_norm(ratio_squares, unknown, options)
}

/// One in fixed point: parameters are summed as integers of 2^-48, so a message's score is
/// the same bits in whatever order its features come (a float sum is not), with no sorting
/// to fix an order. A log-probability is above -32768 (a probability of e^-32768 cannot
/// come from a smoothed count table; `train` refuses a smoothing of 0), and truncating it
/// to 2^-48 errs by under 4e-15 per feature.
const FIXED_ONE: f64 = (1u64 << 48) as f64;

fn fixed(log_probability: f64) -> i64 {
    (log_probability * FIXED_ONE) as i64
}

fn unfixed(sum: i128) -> f64 {
    sum as f64 / FIXED_ONE
}

/// A message's feature hashes, each word hashed once: a pair's hash comes from its words'.
struct FeatureHashes<'m> {
    index: &'m FeatureIndex,
    options: &'m TrainOptions,
    hashes: Vec<u64>,
    last_word: u64,
}

impl crate::text::FeatureVisitor for FeatureHashes<'_> {
    fn word(&mut self, text: &str, after_word: bool) {
        let hash = self.index.word_hash(text);
        if after_word {
            self.hashes.push(pair_hash(self.last_word, hash));
        }
        self.hashes.push(hash);
        self.last_word = hash;
    }

    fn feature(&mut self, tag: u8, text: &str) {
        if self.options.reads_tag(tag) {
            self.hashes.push(self.index.hash((tag, text)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{Token, TokenKind};

    /// Scoring tokens reuses word hashes for pairs; in any token order, even one no
    /// normalizer makes, it scores what the spelled features score.
    #[test]
    fn token_scoring_equals_feature_scoring_in_any_order() {
        let vocabulary: Vec<String> = ["p:free money", "p:money money", "w:free", "w:money", "w:x"]
            .iter()
            .map(|f| f.to_string())
            .collect();
        let theta = vec![
            [-3.0, -1.0],
            [-4.0, -2.5],
            [-2.0, -1.5],
            [-2.5, -1.0],
            [-1.0, -3.0],
        ];
        let model = Model::new(
            TrainOptions::default(),
            [10, 10],
            vocabulary,
            theta,
            Thresholds::default(),
            serde_json::Value::Null,
        )
        .unwrap();
        let token = |kind, text: &str| Token {
            kind,
            text: text.to_string(),
            position: 0,
        };
        let (w, p) = (TokenKind::Word, TokenKind::Pair);
        let orders = [
            vec![token(w, "free"), token(p, "free money"), token(w, "money")],
            vec![token(p, "free money"), token(w, "x"), token(w, "money")],
            vec![
                token(w, "money"),
                token(p, "money money"),
                token(w, "money"),
            ],
            vec![token(w, "x"), token(p, "free money"), token(w, "free")],
            vec![token(p, "money money"), token(p, "free money")],
        ];
        for tokens in orders {
            let features: Vec<String> = tokens.iter().map(Token::feature).collect();
            let want = model.score(features.iter().map(String::as_str));
            assert_eq!(model.score_tokens(&tokens), want, "{features:?}");
        }
    }

    /// A model that does not read link shapes scores a message with a link as if the
    /// normalizer had not emitted them, on every scoring path: they are neither evidence
    /// nor unknown tokens. One that reads them takes them as evidence.
    #[test]
    fn link_shapes_count_only_for_a_model_that_reads_them() {
        let vocabulary: Vec<String> = ["link:", "link:.xyz", "w:see"]
            .iter()
            .map(|f| f.to_string())
            .collect();
        let theta = vec![[-3.0, -1.0], [-4.0, -1.5], [-2.0, -2.0]];
        let model_with = |link_shapes| {
            let options = TrainOptions {
                kind: ModelKind::NaiveBayes,
                link_shapes,
                ..TrainOptions::default()
            };
            let (v, t) = (vocabulary.clone(), theta.clone());
            Model::new(
                options,
                [10, 10],
                v,
                t,
                Thresholds::default(),
                serde_json::Value::Null,
            )
            .unwrap()
        };
        let text = "see evil.xyz";
        let tokens = crate::text::normalize(text).tokens;
        assert!(tokens.iter().any(|t| t.kind == TokenKind::LinkShape));
        let without_shapes: Vec<Token> = tokens
            .iter()
            .filter(|t| t.kind != TokenKind::LinkShape)
            .cloned()
            .collect();
        let features: Vec<String> = tokens.iter().map(Token::feature).collect();
        let blind = model_with(false);
        let want = blind.score_tokens(&without_shapes);
        assert_eq!(blind.score_tokens(&tokens), want);
        assert_eq!(blind.score_text(text), want);
        assert_eq!(blind.score(features.iter().map(String::as_str)), want);
        let reading = model_with(true);
        let read = reading.score_tokens(&tokens);
        assert!(
            read.log_odds > want.log_odds + 1.0,
            "{read:?} against {want:?}"
        );
        assert_eq!(reading.score_text(text), read);
    }

    /// Counting each feature once or every time scores the same bits when nothing repeats,
    /// in any order; a repeat counts once under the default cap and twice without one.
    #[test]
    fn both_ways_of_grouping_ids_score_alike() {
        let theta: Vec<[f64; 2]> = (0..200)
            .map(|i| [-1.0 - f64::from(i) / 7.0, -2.0 - f64::from(i % 13) / 3.0])
            .collect();
        let vocabulary: Vec<String> = (0..200).map(|i| format!("w:f{i}")).collect();
        let with_cap = |count_cap| {
            let options = TrainOptions {
                count_cap,
                ..TrainOptions::default()
            };
            let (v, t) = (vocabulary.clone(), theta.clone());
            Model::new(
                options,
                [3, 5],
                v,
                t,
                Thresholds::default(),
                serde_json::Value::Null,
            )
            .unwrap()
        };
        let (once, every) = (with_cap(1), with_cap(0));
        let mut ids: Vec<u32> = (0..200).rev().step_by(3).collect();
        let want = once.score_ids(&mut ids.clone());
        assert_eq!(every.score_ids(&mut ids.clone()), want);
        ids.reverse();
        assert_eq!(once.score_ids(&mut ids.clone()), want);
        let mut plus = Vec::new();
        plus.extend_from_slice(&ids);
        plus.push(ids[0]);
        assert_eq!(once.score_ids(&mut plus.clone()), want);
        let twice = every.score_ids(&mut plus);
        let extra = theta[ids[0] as usize];
        let gained = (twice.log_odds - want.log_odds) - (extra[SPAM] - extra[HAM]);
        assert!(gained.abs() < 1e-12, "{gained}");
    }

    /// The argmax lies where the model's own probability passes one half: for NBSVM where
    /// Platt's sigmoid does, wherever the SVM's zero is; for Naive Bayes at log-odds zero.
    #[test]
    fn the_argmax_threshold_is_where_the_probability_passes_one_half() {
        let vocabulary: Vec<String> = (0..4).map(|i| format!("w:f{i}")).collect();
        let nb = Model::new(
            TrainOptions::default(),
            [3, 5],
            vocabulary,
            vec![[-1.0, -2.0]; 4],
            Thresholds::default(),
            serde_json::Value::Null,
        )
        .unwrap();
        assert_eq!(nb.argmax_threshold(), 0.0);
        let head = |platt_slope, platt_offset| LinearHead {
            bias: -0.8,
            platt_slope,
            platt_offset,
        };
        let svm = nb.clone().with_linear(head(12.0, 6.0));
        let threshold = svm.argmax_threshold();
        assert!((threshold + 0.5).abs() < 1e-12, "{threshold}");
        let probability_at = |decision: f64| {
            let log_odds = 12.0 * decision + 6.0;
            1.0 / (1.0 + (-log_odds).exp())
        };
        assert!(probability_at(threshold - 1e-6) < 0.5 && probability_at(threshold + 1e-6) > 0.5);
        // A sigmoid that does not rise says nothing about the classes: plain zero.
        assert_eq!(nb.with_linear(head(0.0, 3.0)).argmax_threshold(), 0.0);
    }

    #[test]
    fn probability_is_stable_at_extreme_log_odds() {
        let score = |z: f64| Score {
            log_odds: z,
            joint: [0.0, z],
            decision: z,
            known: 1,
            unknown: 0,
        };
        assert_eq!(score(0.0).spam_probability(), 0.5);
        assert!(score(-5000.0).spam_probability() >= 0.0);
        assert_eq!(score(5000.0).spam_probability(), 1.0);
        let lp = score(-5000.0).log_proba();
        assert!(lp[0].is_finite() && lp[1].is_finite());
        assert!((lp[1] - -5000.0).abs() < 1e-9);
    }
}
