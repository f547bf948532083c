//! The Naive Bayes spam classifier: training, the model file, sparse scoring, thresholds
//! and evaluation.
//!
//! Features are the normalizer's tokens ([`crate::text::Token::feature`]): words, adjacent
//! word pairs and typed entities, so the classifier sees exactly what the rules see. The
//! math is linfa-bayes's multinomial NB (tested against it in `tests/classify_parity.rs`),
//! computed on sparse counts in log space; by default each feature counts once per message
//! (`count_cap = 1`), which measured better on both corpora (see `models/MODEL.md`).

mod chargrams;
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

/// The classifier's features of a normalized message, as training counts them: its tokens'
/// features and, with `char_grams` and a short message, its words' character trigrams.
pub fn features(message: &crate::text::Normalized, char_grams: bool) -> Vec<String> {
    use crate::text::TokenKind;
    let mut features: Vec<String> = message.tokens.iter().map(|t| t.feature()).collect();
    let words = || message.tokens.iter().filter(|t| t.kind == TokenKind::Word);
    if char_grams && words().count() <= chargrams::MAX_WORDS {
        let mut buffer = String::new();
        for word in words() {
            chargrams::for_each_gram(&word.text, &mut buffer, |gram| {
                features.push(format!("c:{gram}"));
            });
        }
    }
    features
}
