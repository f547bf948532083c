//! Template similarity that survives spintax: a MinHash signature over word shingles of the
//! normalized message, with what a template fills in per recipient masked to its kind.
//!
//! Automation tools write from templates with alternatives in every slot (greeting × name ×
//! hook × offer × link). Two variants share only some of their words, so the fan-out SimHash
//! (a vote over *all* features) puts them as far apart as unrelated texts. What variants of
//! one template do share is whole runs of words: every slot whose alternative coincides keeps
//! its word pairs. So the signature is a set similarity over word pairs (Jaccard), estimated
//! by MinHash: `hashes` independent minima over the shingle set; the share of equal minima
//! between two signatures estimates their Jaccard similarity.
//!
//! Masking: numbers (any word with a digit), links, e-mail addresses, phone numbers, money,
//! crypto addresses and emoji become their kind (`#num`, `#url`, …), and the word after a
//! greeting (`hi`, `hello`, `dear`, …) becomes `#name`, so a link rotated over `bit.ly`,
//! `tinyurl` and look-alike booking domains, or a name per recipient, changes nothing.
//!
//! For an index over many senders, a signature is cut into bands of `band_rows` minima
//! ([`bands`]): two signatures of similarity `s` share at least one band with probability
//! `1 - (1 - s^rows)^bands`, so looking up a message's band keys finds the templates it is
//! likely to belong to without comparing it to every stored signature (LSH).
//!
//! Hashes are [`feature_hash`] (fixed, seedless) mixed per slot with a fixed constant, so a
//! signature stored in a sender's state means the same after a restart and on another
//! machine.

use serde::{Deserialize, Serialize};

use super::config::TemplateConfig;
use super::fingerprint::feature_hash;
use crate::text::{Token, TokenKind};

/// A MinHash signature: `hashes` slot minima, each kept as its low 16 bits (two unrelated
/// minima agree by accident once in 65,536; the estimate needs no more).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TemplateSignature(pub Vec<u16>);

/// Function words: a shingle made only of these (or of masked kinds) is skipped, since
/// "would you be open to" or "let me know if" is shared by unrelated messages, not by
/// variants of one template alone.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her",
    "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "let", "like",
    "me", "more", "my", "no", "not", "now", "of", "on", "or", "our", "out", "s", "she", "so",
    "some", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to",
    "up", "us", "was", "we", "were", "what", "when", "which", "who", "will", "with", "would",
    "you", "your", "m", "re", "ll", "ve", "d", "t",
];

fn is_filler(word: &str) -> bool {
    word.starts_with('#') || STOPWORDS.contains(&word)
}

/// Words after which a name usually follows ("Hi Dana,").
const GREETINGS: &[&str] = &["hi", "hello", "hey", "dear", "hiya", "greetings", "morning"];

/// The masked word sequence of a normalized message: words as folded, entities and numbers
/// as their kind, the word after a greeting as `#name`.
pub fn masked_words(tokens: &[Token]) -> Vec<&str> {
    let mut words: Vec<&str> = Vec::with_capacity(tokens.len() / 2 + 1);
    let mut after_greeting = false;
    for token in tokens {
        let word = match token.kind {
            TokenKind::Word if token.text.bytes().any(|b| b.is_ascii_digit()) => "#num",
            TokenKind::Word if after_greeting => "#name",
            TokenKind::Word => token.text.as_str(),
            TokenKind::Url => "#url",
            TokenKind::Email => "#email",
            TokenKind::Phone => "#phone",
            TokenKind::Money => "#money",
            TokenKind::Crypto => "#crypto",
            TokenKind::Emoji => "#emoji",
            // Derived from a word or URL already in the sequence.
            TokenKind::Pair
            | TokenKind::Domain
            | TokenKind::Shortener
            | TokenKind::LinkMismatch
            | TokenKind::LinkShape => continue,
        };
        after_greeting = token.kind == TokenKind::Word && GREETINGS.contains(&word);
        words.push(word);
    }
    words
}

/// The MinHash signature of a normalized message's tokens, or `None` when it has fewer
/// than `min_words` masked words (a stock phrase is no template) or fewer than
/// `min_shingles` distinct shingles beyond function words.
pub fn signature(config: &TemplateConfig, tokens: &[Token]) -> Option<TemplateSignature> {
    let words = masked_words(tokens);
    let k = config.shingle_words.max(1) as usize;
    if config.hashes == 0 || words.len() < (config.min_words as usize).max(k) {
        return None;
    }
    let mut minima = vec![u64::MAX; config.hashes as usize];
    let mut shingle = String::new();
    let mut distinct: Vec<u64> = Vec::new();
    for window in words.windows(k) {
        if window.iter().all(|w| is_filler(w)) {
            continue;
        }
        shingle.clear();
        for (i, word) in window.iter().enumerate() {
            if i > 0 {
                shingle.push(' ');
            }
            shingle.push_str(word);
        }
        let base = feature_hash(shingle.as_bytes());
        if distinct.contains(&base) {
            continue;
        }
        distinct.push(base);
        for (slot, minimum) in minima.iter_mut().enumerate() {
            let h = mix(base ^ (slot as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            if h < *minimum {
                *minimum = h;
            }
        }
    }
    // A few shingles make a noisy estimate: two short messages sharing one common phrase
    // would look alike.
    (distinct.len() >= (config.min_shingles as usize).max(1))
        .then(|| TemplateSignature(minima.into_iter().map(|m| m as u16).collect()))
}

/// Estimated Jaccard similarity of the two messages' shingle sets: the share of equal slots.
pub fn similarity(a: &TemplateSignature, b: &TemplateSignature) -> f64 {
    let n = a.0.len().min(b.0.len());
    if n == 0 {
        return 0.0;
    }
    let equal = a.0.iter().zip(&b.0).filter(|(x, y)| x == y).count();
    equal as f64 / n as f64
}

/// Whether two signatures are variants of one template (`same_template_similarity`).
pub fn same_template(
    config: &TemplateConfig,
    a: &TemplateSignature,
    b: &TemplateSignature,
) -> bool {
    similarity(a, b) >= config.same_template_similarity
}

/// The LSH band keys of a signature: one 64-bit key per band of `band_rows` slots, the
/// band's index mixed in so equal slots in different bands do not collide.
pub fn bands(config: &TemplateConfig, signature: &TemplateSignature) -> Vec<u64> {
    let rows = config.band_rows.max(1) as usize;
    signature
        .0
        .chunks_exact(rows)
        .enumerate()
        .map(|(band, slots)| {
            let mut h = (band as u64 + 1).wrapping_mul(0xd6e8_feb8_6659_fd93);
            for &slot in slots {
                h = mix(h ^ u64::from(slot));
            }
            h
        })
        .collect()
}

/// splitmix64's finaliser: a fixed bijection that spreads every input bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(text: &str) -> Option<TemplateSignature> {
        signature(
            &TemplateConfig::default(),
            &crate::text::normalize(text).tokens,
        )
    }

    #[test]
    fn names_numbers_and_links_are_masked_to_their_kinds() {
        let a = crate::text::normalize(
            "Hi Dana, our program grew 300 members by 40% - book at https://bit.ly/abc",
        );
        let words = masked_words(&a.tokens);
        assert!(words.contains(&"#name"), "{words:?}");
        assert!(words.contains(&"#url"), "{words:?}");
        assert!(!words
            .iter()
            .any(|w| w.contains("dana") || w.contains("bit")));
        let one = sig(
            "Hi Dana, our growth program grew 300 members last month and you can join \
                       today at https://bit.ly/abc before spots run out",
        );
        let two = sig(
            "Hi Marco, our growth program grew 1200 members last month and you can join \
                       today at https://tinyurl.com/xyz before spots run out",
        );
        assert_eq!(one, two);
    }

    #[test]
    fn variants_of_a_template_are_similar_and_unrelated_messages_are_not() {
        let config = TemplateConfig::default();
        let a = sig(
            "Hello Priya, I came across your profile and loved your work. Our growth \
                     program helps founders double revenue in ninety days. Spots are limited, \
                     book a free call here: https://bit.ly/x",
        )
        .unwrap();
        let b = sig(
            "Hey Tom, I came across your profile and loved your work. Our growth \
                     program helps consultants double revenue in ninety days. Only a few places \
                     left, book a free call here: https://tinyurl.com/y",
        )
        .unwrap();
        let c = sig(
            "Thanks for the notes from Tuesday's meeting. I have updated the budget \
                     sheet and moved the launch review to Friday afternoon, let me know if \
                     that works for the design team.",
        )
        .unwrap();
        assert!(same_template(&config, &a, &b), "{}", similarity(&a, &b));
        assert!(!same_template(&config, &a, &c), "{}", similarity(&a, &c));
        assert_eq!(similarity(&a, &a), 1.0);
        assert!(sig("Congrats on the new role!").is_none());
    }

    #[test]
    fn identical_signatures_share_every_band_and_bands_differ_by_position() {
        let config = TemplateConfig::default();
        let a = sig(
            "Hello Priya, I came across your profile and loved your work on the new \
                     payments platform; would you be open to a short call next week?",
        )
        .unwrap();
        let keys = bands(&config, &a);
        assert_eq!(
            keys.len(),
            config.hashes as usize / config.band_rows as usize
        );
        assert_eq!(keys, bands(&config, &a.clone()));
        let constant = TemplateSignature(vec![7; config.hashes as usize]);
        let constant_keys = bands(&config, &constant);
        assert!(constant_keys.windows(2).all(|w| w[0] != w[1]));
    }
}
