//! Our sparse scorer against linfa-bayes 0.8.1 as the oracle: same log-probabilities (to
//! 1e-9) and the same decisions, on a fixture small enough for linfa's dense matrices and
//! its non-log-space normalization.

use linfa::prelude::*;
use linfa_bayes::{MultinomialNb, NaiveBayes};
use ndarray::{Array1, Array2};
use sendguard::classify::{train, Corpus, ModelKind, TrainOptions};
use sendguard::domain::Label;

const FIXTURE: &[(&str, &str)] = &[
    ("spam", "win free money now click here free"),
    ("spam", "free gift card claim your prize now"),
    ("spam", "crypto investment double your money guaranteed"),
    ("spam", "urgent verify your account password here"),
    ("spam", "cheap loans approved instantly no credit check"),
    ("spam", "earn money from home join my team now now"),
    ("ham", "hi anna great to meet you at the conference"),
    ("ham", "thanks for the referral i will send my resume"),
    ("ham", "congrats on the new role at acme"),
    ("ham", "are you free for a call tomorrow about the project"),
    ("ham", "the meeting notes are in the shared folder"),
    ("ham", "happy to connect and talk about the data team role"),
    ("ham", "could you review my pull request when you have time"),
    ("ham", "lunch on friday to celebrate the launch"),
];

const QUERIES: &[&str] = &[
    "free money now",
    "call tomorrow about the role",
    "verify your password at the conference",
    "completely unseen words only",
    "win win win free free gift",
    "",
];

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

fn fixture_corpus() -> Corpus {
    Corpus::build(FIXTURE.iter().map(|(label, text)| {
        let label = if *label == "spam" {
            Label::Spam
        } else {
            Label::Ham
        };
        (label, words(text))
    }))
}

fn dense(vocabulary: &[String], texts: &[&str]) -> Array2<f64> {
    let mut matrix = Array2::zeros((texts.len(), vocabulary.len()));
    for (row, text) in texts.iter().enumerate() {
        for word in text.split_whitespace() {
            if let Ok(col) = vocabulary.binary_search(&word.to_string()) {
                matrix[[row, col]] += 1.0;
            }
        }
    }
    matrix
}

#[test]
fn log_probabilities_and_decisions_match_linfa_bayes() {
    for alpha in [1.0, 0.5, 0.01] {
        let options = TrainOptions {
            alpha,
            min_count: 1,
            count_cap: 0,
            folds: 0,
            kind: ModelKind::NaiveBayes,
            ..TrainOptions::default()
        };
        let model = train(&fixture_corpus(), &options, serde_json::Value::Null).unwrap();

        let texts: Vec<&str> = FIXTURE.iter().map(|(_, t)| *t).collect();
        let targets: Array1<usize> = FIXTURE
            .iter()
            .map(|(l, _)| usize::from(*l == "spam"))
            .collect();
        let dataset = Dataset::new(dense(&model.vocabulary, &texts), targets);
        let oracle = MultinomialNb::params().alpha(alpha).fit(&dataset).unwrap();

        let all: Vec<&str> = texts.iter().chain(QUERIES).copied().collect();
        let x = dense(&model.vocabulary, &all);
        let (oracle_log_proba, classes) = oracle.predict_log_proba(x.view());
        assert_eq!(classes, [&0, &1]);
        let oracle_decisions = oracle.predict(&x);
        for (row, text) in all.iter().enumerate() {
            let ours = model.score(text.split_whitespace()).log_proba();
            for class in 0..2 {
                let theirs = oracle_log_proba[[row, class]];
                assert!(
                    (ours[class] - theirs).abs() < 1e-9,
                    "alpha {alpha}, {text:?}, class {class}: ours {} vs linfa {theirs}",
                    ours[class]
                );
            }
            let our_decision = usize::from(ours[1] > ours[0]);
            assert_eq!(our_decision, oracle_decisions[row], "{text:?}");
        }
    }
}

#[test]
fn long_messages_stay_finite_where_dense_normalization_overflows() {
    let options = TrainOptions {
        alpha: 1.0,
        min_count: 1,
        count_cap: 0,
        folds: 0,
        kind: ModelKind::NaiveBayes,
        ..TrainOptions::default()
    };
    let model = train(&fixture_corpus(), &options, serde_json::Value::Null).unwrap();
    let long = "free money now ".repeat(400);
    let score = model.score(long.split_whitespace());
    let log_proba = score.log_proba();
    assert!(log_proba.iter().all(|p| p.is_finite()), "{log_proba:?}");
    assert!(score.spam_probability() > 0.999);
}
