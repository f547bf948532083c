//! `Model::score_text`, the scorer's shortcut that never builds the normalized message,
//! against the long way (`normalize`, then `score_tokens`): the same score to the last bit,
//! with the shipped model's vocabulary, on the shipped corpus, the fuzz corpus and generated
//! text.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use sendguard::classify::{load, Model};
use sendguard::text::normalize;

/// Loaded once: every generated case shares it.
fn shipped_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.sgnb")).unwrap()
    })
}

fn assert_same_score(model: &Model, input: &str) {
    let long_way = model.score_tokens(&normalize(input).tokens);
    let shortcut = model.score_text(input);
    assert_eq!(shortcut, long_way, "input {input:?}");
}

#[test]
fn shipped_corpus_and_fuzz_corpus_score_the_same_both_ways() {
    let model = shipped_model();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = 0;
    for split in ["train.tsv", "test.tsv"] {
        let rows = sendguard::tsv::read_file(&root.join("datasets/linkedin").join(split)).unwrap();
        for row in rows {
            assert_same_score(model, &row.text);
            inputs += 1;
        }
    }
    for entry in std::fs::read_dir(root.join("fuzz/corpus/normalize")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert_same_score(model, &String::from_utf8_lossy(&bytes));
        inputs += 1;
    }
    assert!(inputs > 600, "only {inputs} inputs");
}

proptest! {
    #[test]
    fn generated_text_scores_the_same_both_ways(
        input in "([a-zA-Z]{1,8}|[0-9]{1,4}|[ .,:/@$+'()\\[\\]<>=-]|\n| dot | at |http://|\u{e9}|\u{1F600}){0,60}"
    ) {
        let model = shipped_model();
        prop_assert_eq!(model.score_text(&input), model.score_tokens(&normalize(&input).tokens));
    }
}
