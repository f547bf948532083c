//! Rule matching cost: ~1,000 keywords and ~200 patterns over ~300-character messages,
//! on already-normalized text (the send path normalizes once for every stage) and with
//! normalization included; and the shipped packs (`rules/`) over the project's
//! LinkedIn-style corpora, the mix the send path and batch rescoring actually match: the
//! English one, and 2,000 messages spread over the 21-language training file, too varied
//! for one automaton of all the patterns to keep the states they need (the case that
//! `rules/pattern_set.rs` was rewritten for; the English bench stays warm).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sendguard::rules::{compile, load_dir};
use sendguard::text::normalize;

/// A deterministic word list: pronounceable syllable pairs.
fn words(n: usize) -> Vec<String> {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ba", "de", "fu", "ga", "hi", "jo", "pe",
        "zu",
    ];
    (0..n)
        .map(|i| {
            format!(
                "{}{}{}",
                SYLLABLES[i % 16],
                SYLLABLES[(i / 16) % 16],
                SYLLABLES[(i / 256) % 16]
            )
        })
        .collect()
}

fn pack() -> String {
    let vocabulary = words(2000);
    let mut pack = String::from("category = \"bench\"\n");
    for r in 0..100 {
        let keywords: Vec<String> = (0..10)
            .map(|k| {
                format!(
                    "\"{} {}\"",
                    vocabulary[(r * 10 + k) % 2000],
                    vocabulary[(r * 10 + k + 7) % 2000]
                )
            })
            .collect();
        pack.push_str(&format!(
            "[[rule]]\nid = \"bench.kw{r}\"\ndescription = \"k\"\nkeywords = [{}]\nscore = 1.0\nexamples = {{ match = [\"x\"] }}\n",
            keywords.join(", ")
        ));
    }
    for p in 0..200 {
        let word = &vocabulary[1000 + p];
        pack.push_str(&format!(
            "[[rule]]\nid = \"bench.re{p}\"\ndescription = \"p\"\npattern = '(?-u:\\b){word} [0-9]{{2,4}} (usd|eur|gbp)(?-u:\\b)'\nscore = 1.0\nexamples = {{ match = [\"x\"] }}\n"
        ));
    }
    pack
}

fn messages() -> Vec<String> {
    let vocabulary = words(4000);
    (0..64)
        .map(|m| {
            let mut text = String::new();
            let mut i = m * 37;
            while text.len() < 300 {
                text.push_str(&vocabulary[(i * 7919) % 4000]);
                text.push(' ');
                i += 1;
            }
            text
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let set = compile(&[("bench.toml".into(), pack())]).expect("bench pack compiles");
    let raw = messages();
    let normalized: Vec<_> = raw.iter().map(|m| normalize(m)).collect();
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(normalized.len() as u64));
    group.bench_function("evaluate_1000_keywords_200_patterns_300_chars", |b| {
        b.iter(|| {
            normalized
                .iter()
                .map(|m| set.evaluate(std::hint::black_box(m)).len())
                .sum::<usize>()
        })
    });
    group.bench_function("normalize_then_evaluate", |b| {
        b.iter(|| {
            raw.iter()
                .map(|m| set.evaluate(&normalize(std::hint::black_box(m))).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

/// Times the shipped packs over `rows`' texts, normalized beforehand, as bench `name`.
fn bench_shipped_packs<'a>(
    c: &mut Criterion,
    name: &str,
    rows: impl Iterator<Item = &'a sendguard::tsv::Row>,
) {
    let set = load_dir(std::path::Path::new("rules")).expect("the shipped packs compile");
    let normalized: Vec<_> = rows.map(|r| normalize(&r.text)).collect();
    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(normalized.len() as u64));
    group.bench_function(name, |b| {
        b.iter(|| {
            normalized
                .iter()
                .map(|m| set.evaluate(std::hint::black_box(m)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

/// The shipped packs over `datasets/linkedin/messages.tsv` (spam and ham, ~190 characters).
fn shipped(c: &mut Criterion) {
    let rows = sendguard::tsv::read_file(std::path::Path::new("datasets/linkedin/messages.tsv"))
        .expect("the LinkedIn-style corpus reads");
    bench_shipped_packs(c, "evaluate_shipped_packs_linkedin_corpus", rows.iter());
}

/// The shipped packs over 2,000 rows spread evenly over `datasets/multilingual/train.tsv`
/// (every round, language and script).
fn shipped_multilingual(c: &mut Criterion) {
    let rows = sendguard::tsv::read_file(std::path::Path::new("datasets/multilingual/train.tsv"))
        .expect("the multilingual training file reads");
    let step = (rows.len() / 2000).max(1);
    bench_shipped_packs(
        c,
        "evaluate_shipped_packs_multilingual_2000",
        rows.iter().step_by(step).take(2000),
    );
}

criterion_group!(benches, bench, shipped, shipped_multilingual);
criterion_main!(benches);
