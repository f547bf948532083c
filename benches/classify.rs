//! Classifier cost for one short message with the shipped model: tokenizing (the
//! normalizer) included, and scoring alone.

use criterion::{criterion_group, criterion_main, Criterion};
use sendguard::classify::load;
use sendguard::text::normalize;

const SHORT: &str = "Hi Maria, I came across your profile and was impressed by your work on data platforms. Are you open to a quick chat about a senior role?";

fn bench(c: &mut Criterion) {
    let model =
        load(std::path::Path::new("models/default.sgnb")).expect("run from the repository root");
    let score =
        |message: &sendguard::text::Normalized| model.score_tokens(&message.tokens).decision;
    let normalized = normalize(SHORT);
    let mut group = c.benchmark_group("classify");
    group.bench_function("short_message_tokenize_and_score", |b| {
        b.iter(|| score(&normalize(std::hint::black_box(SHORT))))
    });
    group.bench_function("short_message_score_only", |b| {
        b.iter(|| score(std::hint::black_box(&normalized)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
