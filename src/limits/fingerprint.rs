//! A 64-bit SimHash of a message's normalized features, and the Hamming distance between two.
//!
//! SimHash maps a bag of features to 64 bits so that texts sharing most of their features
//! land a few bits apart: each feature is hashed to 64 bits, every bit position takes a
//! majority vote over the features, and the votes are the fingerprint. Swapping a name or
//! editing a word changes a few of the ~2×words features (words and adjacent pairs), which
//! moves few votes; unrelated texts land about 32 bits apart.
//!
//! The feature hash is a hand-written multiply-xor over 8-byte words with a fixed 64-bit
//! finaliser, with no seed and no dependency, so a fingerprint stored in a sender's state means the same thing after a
//! restart, on another machine and in the next release.
//!
//! Cost: the vote is counted eight bit positions at a time, in byte lanes of a `u64`
//! (a 256-entry table spreads each hash byte over eight lanes), so a feature costs eight
//! table lookups and eight additions rather than 64 branches.

/// The fingerprint of a message body.
pub type Fingerprint = u64;

/// A fixed, seedless 64-bit hash of one feature: the bytes are read as little-endian 64-bit
/// words (the last one zero-padded, the length mixed into the start), each folded in by
/// XOR, an odd-constant multiply and a shift; then the murmur3 `fmix64` finaliser, so that
/// every output bit depends on every input bit. Eight bytes per step: features are short.
pub fn feature_hash(bytes: &[u8]) -> u64 {
    const SEED: u64 = 0xcbf2_9ce4_8422_2325;
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = SEED ^ (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        h = (h ^ word).wrapping_mul(K);
        h ^= h >> 29;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(last)).wrapping_mul(K);
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// `SPREAD[b]` holds bit `k` of `b` in the lowest bit of byte lane `k`.
const SPREAD: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        let mut v = 0u64;
        while k < 8 {
            v |= (((b >> k) & 1) as u64) << (8 * k);
            k += 1;
        }
        table[b] = v;
        b += 1;
    }
    table
};

/// SimHash of `features`; each occurrence of a feature votes once. An empty slice gives 0.
pub fn simhash<S: AsRef<str>>(features: &[S]) -> Fingerprint {
    simhash_of_hashes(features.iter().map(|f| feature_hash(f.as_ref().as_bytes())))
}

/// SimHash of features already hashed with [`feature_hash`]: lets a caller hash features
/// it writes into one reused buffer instead of collecting them as strings.
pub fn simhash_of_hashes(hashes: impl IntoIterator<Item = u64>) -> Fingerprint {
    // lanes[j] counts, in byte lane k, the features whose hash has bit 8j+k set. A byte lane
    // holds at most 255, so the lanes are flushed into `wide` every 255 features.
    let mut lanes = [0u64; 8];
    let mut wide = [0u32; 64];
    let mut pending = 0u32;
    let mut n = 0u64;
    for hash in hashes {
        for (lane, byte) in lanes.iter_mut().zip(hash.to_le_bytes()) {
            *lane += SPREAD[usize::from(byte)];
        }
        n += 1;
        pending += 1;
        if pending == 255 {
            flush(&mut lanes, &mut wide);
            pending = 0;
        }
    }
    flush(&mut lanes, &mut wide);
    let mut fingerprint = 0u64;
    for (bit, &count) in wide.iter().enumerate() {
        // Strict majority: ties vote 0, so the result does not depend on feature order.
        if 2 * u64::from(count) > n {
            fingerprint |= 1 << bit;
        }
    }
    fingerprint
}

fn flush(lanes: &mut [u64; 8], wide: &mut [u32; 64]) {
    for (j, lane) in lanes.iter_mut().enumerate() {
        for k in 0..8 {
            wide[8 * j + k] += ((*lane >> (8 * k)) & 0xff) as u32;
        }
        *lane = 0;
    }
}

/// Number of differing bits between two fingerprints (0 = same content, ~32 = unrelated).
pub fn hamming(a: Fingerprint, b: Fingerprint) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward definition, to check the lane-packed counter against.
    fn simhash_reference(features: &[&str]) -> u64 {
        let mut votes = [0i64; 64];
        for f in features {
            let h = feature_hash(f.as_bytes());
            for (bit, v) in votes.iter_mut().enumerate() {
                *v += if (h >> bit) & 1 == 1 { 1 } else { -1 };
            }
        }
        votes
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > 0)
            .fold(0, |acc, (bit, _)| acc | 1 << bit)
    }

    #[test]
    fn hash_is_stable_across_runs_and_versions() {
        // Pinned values (checked against an independent implementation): a change here
        // invalidates every stored fingerprint.
        assert_eq!(feature_hash(b""), 0xefd0_1f60_ba99_2926);
        assert_eq!(feature_hash(b"hello"), 0xa1d7_985c_75da_2431);
        assert_eq!(
            simhash(&["hello", "world", "hello world"]),
            0xb9d7_d758_74ca_be70
        );
        assert_ne!(feature_hash(b"hello"), feature_hash(b"hellp"));
    }

    #[test]
    fn packed_counter_matches_the_definition_past_the_flush_point() {
        let words: Vec<String> = (0..700).map(|i| format!("w{}", i % 311)).collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        for n in [0, 1, 2, 3, 10, 254, 255, 256, 511, 700] {
            assert_eq!(
                simhash(&refs[..n]),
                simhash_reference(&refs[..n]),
                "n = {n}"
            );
        }
    }

    #[test]
    fn order_does_not_matter_and_distance_counts_bits() {
        let a = simhash(&["alpha", "beta", "gamma", "delta"]);
        let b = simhash(&["delta", "gamma", "beta", "alpha"]);
        assert_eq!(a, b);
        assert_eq!(hamming(a, b), 0);
        assert_eq!(hamming(0, u64::MAX), 64);
        assert_eq!(hamming(0b1011, 0b0001), 2);
        assert_eq!(simhash::<&str>(&[]), 0);
    }
}
