//! The vocabulary's lookup table: feature string to feature id, built when a model loads.
//!
//! Why not a `HashMap<String, u32>`: scoring an e-mail looks up about a thousand features
//! in a vocabulary of up to a few hundred thousand, so nearly every lookup misses the CPU
//! caches, and a string-keyed map misses twice (the bucket, then the key's heap bytes to
//! compare). Here each slot is one `u64` holding a 40-bit hash tag and a 24-bit feature id,
//! so a lookup touches one cache line, and [`FeatureIndex::lookup_many`] prefetches every
//! slot of a message before probing so those misses overlap instead of queueing.
//!
//! The price is that a feature is recognised by its hash, not its spelling: a feature
//! outside the vocabulary is taken for one inside when its home slot's probe run holds an
//! equal 40-bit tag, about once in 10^12 lookups at our load factor. The hash seed is random
//! per load, so nobody can aim a collision at a chosen feature, and two vocabulary features
//! never share a slot value (the table is rebuilt with a new seed if they would).

use std::hash::{BuildHasher, Hasher};

use foldhash::quality::SeedableRandomState;

use crate::text::{feature_key, TokenKind};

/// Bits of a slot holding the feature id; the vocabulary is limited to `2^ID_BITS - 1`.
const ID_BITS: u32 = 24;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
/// An empty slot. Occupied slots never equal it: their id part is at least 1.
const EMPTY: u64 = 0;
/// Largest vocabulary the index can hold.
pub const MAX_FEATURES: usize = (ID_MASK - 1) as usize;

/// Open-addressing (linear probing) table of packed `tag | id + 1` slots; at most half full.
#[derive(Debug, Clone)]
pub struct FeatureIndex {
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: the hash's top bits choose the home slot.
    shift: u32,
    hasher: SeedableRandomState,
}

/// Fresh seeds tried before concluding that two features are not distinct: two distinct
/// features share a slot value with odds of about `n^2 / 2^64` per seed.
const SEED_ATTEMPTS: usize = 8;

/// A vocabulary the index cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabularyError {
    #[error("vocabulary of {0} features exceeds the limit of {MAX_FEATURES}")]
    TooManyFeatures(usize),
    #[error("feature {0:?} appears more than once in the vocabulary")]
    Repeated(String),
}

impl FeatureIndex {
    /// Indexes `vocabulary` (feature id = position); its features must be distinct.
    pub fn build<S: AsRef<str>>(vocabulary: &[S]) -> Result<FeatureIndex, VocabularyError> {
        if vocabulary.len() > MAX_FEATURES {
            return Err(VocabularyError::TooManyFeatures(vocabulary.len()));
        }
        let capacity = (vocabulary.len() * 2).next_power_of_two().max(16);
        let mut clash = 0;
        for _ in 0..SEED_ATTEMPTS {
            let mut index = FeatureIndex {
                slots: vec![EMPTY; capacity],
                shift: 64 - capacity.trailing_zeros(),
                hasher: SeedableRandomState::random(),
            };
            match (0..vocabulary.len())
                .find(|&id| !index.insert(vocabulary[id].as_ref(), id as u64))
            {
                None => return Ok(index),
                Some(id) => clash = id,
            }
        }
        Err(VocabularyError::Repeated(
            vocabulary[clash].as_ref().to_string(),
        ))
    }

    /// The hash of a feature key (see [`crate::text::feature_key`]); what
    /// [`FeatureIndex::find`] takes. Keys rather than spellings, so that a scorer can hash a
    /// token without first writing its feature string out. A pair's hash is derived from
    /// its words' ([`pair_hash`]).
    pub fn hash(&self, (tag, text): (u8, &str)) -> u64 {
        if tag == TokenKind::Pair as u8 {
            if let Some((first, second)) = text.split_once(' ') {
                return pair_hash(self.word_hash(first), self.word_hash(second));
            }
        }
        self.hash_bytes(tag, text)
    }

    /// The hash of the word feature `(TokenKind::Word, word)`.
    pub fn word_hash(&self, word: &str) -> u64 {
        self.hash_bytes(TokenKind::Word as u8, word)
    }

    fn hash_bytes(&self, tag: u8, text: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write_u8(tag);
        hasher.write(text.as_bytes());
        hasher.finish()
    }

    /// Inserts; false when an equal slot value is already present (a hash collision, or a
    /// duplicate feature), so that [`FeatureIndex::build`] can reseed.
    fn insert(&mut self, feature: &str, id: u64) -> bool {
        let hash = self.hash(feature_key(feature));
        let tag = tag(hash);
        let mask = self.slots.len() - 1;
        let mut slot = self.home(hash);
        loop {
            match self.slots[slot] {
                EMPTY => {
                    self.slots[slot] = tag | (id + 1);
                    return true;
                }
                taken if taken & !ID_MASK == tag => return false,
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn home(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }

    /// The feature id for a hash from [`FeatureIndex::hash`].
    pub fn find(&self, hash: u64) -> Option<u32> {
        let tag = tag(hash);
        let mask = self.slots.len() - 1;
        let mut slot = self.home(hash);
        loop {
            match self.slots[slot] {
                EMPTY => return None,
                taken if taken & !ID_MASK == tag => return Some(((taken & ID_MASK) - 1) as u32),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// The feature id of one spelling.
    pub fn get(&self, feature: &str) -> Option<u32> {
        self.find(self.hash(feature_key(feature)))
    }

    /// Feature ids of many hashes, appended to `ids` (unknown ones skipped): every slot is
    /// prefetched first, so the cache misses of a whole message overlap.
    pub fn lookup_many(&self, hashes: &[u64], ids: &mut Vec<u32>) {
        for &hash in hashes {
            prefetch(&self.slots[self.home(hash)]);
        }
        ids.extend(hashes.iter().filter_map(|&hash| self.find(hash)));
    }
}

/// Hints the CPU to bring `value`'s cache line in, so that a read shortly after does not
/// wait for memory; reads that would each miss the cache then overlap.
pub(super) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it cannot fault and reads nothing.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The slot tag: the hash's low bits above the id field. The home slot comes from the top
/// bits, so tag and home slot together compare about `40 + log2(slots)` bits.
/// The hash of the pair feature of two words, from the words' hashes: a scorer hashes each
/// word of a message once and never spells its pairs. Words hold no space, so a pair
/// feature's text splits back into its words at the first one. Asymmetric (`a b` is not
/// `b a`), and a bijective mix of the two: the pair hashes are as spread as the word
/// hashes, and as unpredictable (those are seeded at random).
pub fn pair_hash(first: u64, second: u64) -> u64 {
    let mut x = first.rotate_left(29) ^ second ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^ (x >> 33)
}

fn tag(hash: u64) -> u64 {
    hash << ID_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_feature_and_rejects_others() {
        let vocabulary: Vec<String> = (0..50_000).map(|i| format!("w:word{i}")).collect();
        let index = FeatureIndex::build(&vocabulary).unwrap();
        for (id, feature) in vocabulary.iter().enumerate() {
            assert_eq!(index.get(feature), Some(id as u32), "{feature}");
        }
        let misses = (50_000..150_000)
            .filter(|i| index.get(&format!("w:word{i}")).is_some())
            .count();
        assert_eq!(misses, 0);
        assert_eq!(index.get(""), None);
    }

    #[test]
    fn pairs_are_found_from_their_words_hashes() {
        let vocabulary = ["p:free money", "w:free", "w:money", "p:money free"];
        let index = FeatureIndex::build(&vocabulary).unwrap();
        let (free, money) = (index.word_hash("free"), index.word_hash("money"));
        assert_eq!(index.find(pair_hash(free, money)), Some(0));
        assert_eq!(index.find(pair_hash(money, free)), Some(3));
        assert_eq!(index.find(free), Some(1));
        assert_eq!(index.find(pair_hash(free, free)), None);
        // A pair spelling without a space is an ordinary key.
        let odd = FeatureIndex::build(&["p:freemoney"]).unwrap();
        assert_eq!(odd.get("p:freemoney"), Some(0));
    }

    #[test]
    fn batch_lookup_equals_single_lookups() {
        let vocabulary = ["w:free", "p:free money", "email", "dom:example.com"];
        let index = FeatureIndex::build(&vocabulary).unwrap();
        let asked = ["email", "w:nope", "w:free", "w:free", "dom:example.com"];
        let hashes: Vec<u64> = asked.iter().map(|f| index.hash(feature_key(f))).collect();
        let mut ids = Vec::new();
        index.lookup_many(&hashes, &mut ids);
        assert_eq!(ids, vec![2, 0, 0, 3]);
    }

    #[test]
    fn repeated_feature_is_refused() {
        let err = FeatureIndex::build(&["w:a", "w:b", "w:a"]).unwrap_err();
        assert_eq!(err, VocabularyError::Repeated("w:a".into()));
    }

    #[test]
    fn empty_vocabulary_finds_nothing() {
        let index = FeatureIndex::build::<&str>(&[]).unwrap();
        assert_eq!(index.get("w:free"), None);
    }
}
