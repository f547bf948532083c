//! Named built-in checks: signals that are about the message's structure rather than its
//! words, computed from the normalizer's typed tokens.

use crate::text::{Normalized, TokenKind};

/// The names a pack may use, with their default `min`.
pub const BUILTINS: &[(&str, u32)] = &[
    ("link_mismatch", 1),
    ("url_shortener", 1),
    ("emoji_flood", 10),
    ("many_links", 5),
    ("crypto_address", 1),
    ("phone_number", 1),
    ("email_address", 1),
    ("bidi_control", 1),
    ("disguised_words", 1),
    ("spelled_out_words", 1),
];

pub fn default_min(name: &str) -> Option<u32> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, min)| *min)
}

fn count(message: &Normalized, kind: TokenKind) -> u32 {
    message.tokens.iter().filter(|t| t.kind == kind).count() as u32
}

/// Whether the check fires, and a detail naming what it saw (no message text).
pub fn evaluate(name: &str, min: u32, message: &Normalized) -> Option<String> {
    let seen = match name {
        "link_mismatch" => count(message, TokenKind::LinkMismatch),
        "url_shortener" => count(message, TokenKind::Shortener),
        "emoji_flood" => message.emoji_count,
        "many_links" => message.url_count,
        "crypto_address" => count(message, TokenKind::Crypto),
        "phone_number" => count(message, TokenKind::Phone),
        "email_address" => count(message, TokenKind::Email),
        "bidi_control" => message.bidi_controls,
        "disguised_words" => message.disguised_words,
        "spelled_out_words" => message.spelled_out_words,
        _ => 0,
    };
    (seen >= min).then(|| format!("{name}: {seen} (threshold {min})"))
}
