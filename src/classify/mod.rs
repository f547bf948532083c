//! The Naive Bayes spam classifier: training, the model file, sparse scoring, thresholds
//! and evaluation.
//!
//! Features are the normalizer's tokens ([`crate::text::Token::feature`]): words, adjacent
//! word pairs and typed entities, so the classifier sees exactly what the rules see. The
//! math is linfa-bayes's multinomial NB (tested against it in `tests/classify_parity.rs`),
//! computed on sparse counts in log space; by default each feature counts once per message
//! (`count_cap = 1`), which measured better on both corpora (see `models/MODEL.md`).
//!
//! Files: [`train`] (interned counts, k-fold thresholds), `linear` (the NBSVM's linear SVM),
//! [`model`] (the sparse scorer), [`index`] (the vocabulary's hash-tag table), `ids`
//! (repeats marked in a per-thread bitmap, or radix-sorted), [`file`] (the versioned,
//! checksummed format), [`thresholds`], [`metrics`].

pub mod file;
mod ids;
pub mod index;
mod linear;
pub mod metrics;
pub mod model;
pub mod thresholds;
pub mod train;

pub use file::{load, save, ModelFileError};
pub use metrics::{evaluate, Evaluation};
pub use model::{BandThresholds, LinearHead, Model, ModelKind, Score, Thresholds, TrainOptions};
pub use train::{train, Corpus};

/// The classifier's features of a normalized message, as training counts them.
pub fn features(message: &crate::text::Normalized) -> Vec<String> {
    message.tokens.iter().map(|t| t.feature()).collect()
}
