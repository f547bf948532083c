//! Chunks for the property tests of the chunk-level stages (scanning, disguises, word
//! splitting).

/// Chunks built from the pieces the entity tests look for, so that disguises,
/// addresses and amounts come up often.
pub(super) fn chunk() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    const PIECES: &[&str] = &[
        "[", "]", "(", ")", "{", "}", ".", ",", "'", "`", "!", ":", "/", "@", "$", "#", "+", "-",
        "dot", "at", "x", "ab", "7", "500", "k", "usd", "com", "www", "http", "ee", "[.]", "(dot)",
        "{at}", "(@)", "[/]", "[:]", "=", "\"", "<", ">", "_", "%", "&", "*", "?", "|", "~", ";",
        "\\", "<at>", "<dot>", "1e", "\u{7f}",
    ];
    proptest::collection::vec(proptest::sample::select(PIECES), 1..7)
        .prop_map(|pieces| pieces.concat())
}
