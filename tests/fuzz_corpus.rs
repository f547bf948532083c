//! The fuzz harnesses on the stable toolchain: every checked-in corpus entry (seeds, and
//! inputs that once failed) is replayed through its harness, followed by a seeded stream
//! of mutations of the corpus. `cargo fuzz` (nightly) explores far more; this keeps what
//! it found fixed, and runs in CI. `FUZZ_ITERATIONS` (default 300 per target) sets the
//! length of the mutation stream.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type Harness = fn(&[u8]);

const TARGETS: &[(&str, Harness)] = &[
    ("normalize", harness::normalize),
    ("markdown", harness::markdown),
    ("rules", harness::rules),
    ("tsv", harness::tsv),
    ("send_json", harness::send_json),
];

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Fragments that tend to reach edge cases: escapes, markup, surrogates, multi-byte text.
const DICTIONARY: &[&[u8]] = &[
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"\"",
    b"\t",
    b"\n",
    b"\r\n",
    b"[",
    b"](",
    b")",
    b"**",
    b"_",
    b"`",
    b"> ",
    b"- ",
    b"<",
    b">",
    b"http://",
    b"hxxp://",
    b" dot ",
    b"[.]",
    b"\xcc\x81",
    b"\xe2\x80\x8b",
    b"\xe2\x80\xae",
    b"\xf0\x9f\x98\x80",
    b"\xef\xbd\x81",
    b"\0",
    b"\xff",
    b"{",
    b"}",
    b"=",
    b"[[rule]]",
    b"keywords = [\"",
    b"patterns = [\"(",
    b"\"to\":",
    b"\"body\":",
    b"spam\t",
    b"ham\t",
];

fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..rng.random_range(1..8) {
        let at = rng.random_range(0..=input.len());
        match rng.random_range(0..6) {
            0 if !input.is_empty() => {
                let i = rng.random_range(0..input.len());
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let piece = DICTIONARY[rng.random_range(0..DICTIONARY.len())];
                input.splice(at..at, piece.iter().copied());
            }
            2 if !input.is_empty() => {
                let end = rng.random_range(at..=input.len());
                input.drain(at..end);
            }
            3 => {
                // Repeat a slice: the nesting and length that reach slow paths.
                let end = rng.random_range(at..=input.len().min(at + 8));
                let piece = input[at..end].to_vec();
                for _ in 0..rng.random_range(1..200) {
                    input.splice(at..at, piece.iter().copied());
                }
            }
            4 => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                let from = rng.random_range(0..=other.len());
                let end = rng.random_range(from..=other.len());
                input.splice(at..at, other[from..end].iter().copied());
            }
            _ => input.insert(at, rng.random()),
        }
    }
    input.truncate(16 * 1024);
}

#[test]
fn corpora_replay_through_every_harness() {
    for (target, harness) in TARGETS {
        let corpus = corpus(target);
        assert!(!corpus.is_empty(), "{target} has no corpus");
        for input in &corpus {
            harness(input);
        }
    }
}

#[test]
fn seeded_mutations_of_the_corpora_hold_every_property() {
    let iterations: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .map(|v| v.parse().expect("FUZZ_ITERATIONS must be a number"))
        .unwrap_or(300);
    for (n, (target, harness)) in TARGETS.iter().enumerate() {
        let corpus = corpus(target);
        let mut rng = StdRng::seed_from_u64(0xf022_u64.wrapping_add(n as u64));
        for _ in 0..iterations {
            let mut input = corpus[rng.random_range(0..corpus.len())].clone();
            mutate(&mut rng, &mut input, &corpus);
            let result = std::panic::catch_unwind(|| harness(&input));
            if result.is_err() {
                panic!(
                    "{target} failed on {:?}; add it to fuzz/corpus/{target}/",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
}
