//! Bearer tokens: generated from the OS random source, stored only as SHA-256 hashes.
//!
//! Tokens are 256-bit random, so a plain hash (no salt, no slow KDF) is enough: there is
//! nothing to brute-force, and lookups stay one key read.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new token with a readable role prefix, e.g. `sgm_…` for members.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two hashes without an early exit.
pub fn same_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = new_token("sgm");
        let b = new_token("sgm");
        assert_ne!(a, b);
        assert!(a.starts_with("sgm_") && a.len() == 4 + 64);
        assert!(same_hash(&hash_token(&a), &hash_token(&a)));
        assert!(!same_hash(&hash_token(&a), &hash_token(&b)));
    }
}
