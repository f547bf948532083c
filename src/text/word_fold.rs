//! Word folding, on word items as the chunk scanner cuts them (and on words the
//! spaced-letter join builds): leetspeak ([`leet_fold`]: `fr33 m0n3y` -> `free money`) and
//! repeat collapsing ([`collapse_repeats`]: `freeeee` -> `freee`). A changed word is
//! classified again, as it may now read as a number or an amount.

use std::borrow::Cow;

use super::entities::classify_piece;
use super::fold::MAX_REPEAT;
use super::item::{Item, ItemKind};

/// Words longer than this are identifiers, not leetspeak.
const MAX_LEET_LEN: usize = 24;

/// Does `w` hold a run of a non-digit character longer than [`MAX_REPEAT`]?
pub(crate) fn has_long_run(w: &str) -> bool {
    let mut last = '\0';
    let mut run = 0;
    for c in w.chars() {
        if c == last {
            run += 1;
            if run > MAX_REPEAT && !c.is_ascii_digit() {
                return true;
            }
        } else {
            last = c;
            run = 1;
        }
    }
    false
}

/// Cuts every run of a non-digit character longer than [`MAX_REPEAT`] to [`MAX_REPEAT`].
pub fn collapse_repeats(w: &str) -> Cow<'_, str> {
    if !has_long_run(w) {
        return Cow::Borrowed(w);
    }
    let mut out = String::with_capacity(w.len());
    let (mut last, mut run) = ('\0', 0);
    for c in w.chars() {
        if c == last {
            run += 1;
            if run > MAX_REPEAT && !c.is_ascii_digit() {
                continue;
            }
        } else {
            last = c;
            run = 1;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

fn leet_letter(b: u8) -> Option<u8> {
    Some(match b {
        b'0' => b'o',
        b'1' => b'i',
        b'3' => b'e',
        b'4' => b'a',
        b'5' => b's',
        b'7' => b't',
        b'8' => b'b',
        _ => return None,
    })
}

/// Leetspeak: `m0n3y` -> `money`, `fr33` -> `free`, `1nvest` -> `invest`. Only words that
/// mix ASCII letters and the digits 0 1 3 4 5 7 8 are folded, and not when they read as a
/// number with a unit or a version: a leading run of several digits (`10am`, `365days`), one
/// leading digit before fewer than three letters (`1st`, `4k`), or letters ending in a
/// single digit (`mp3`, `web3`). The output has no digits, so folding is idempotent.
pub fn leet_fold(w: &str) -> Option<String> {
    let b = w.as_bytes();
    if b.len() < 2 || b.len() > MAX_LEET_LEN {
        return None;
    }
    // One pass: only ASCII letters and leet digits, with at least one of each.
    let (mut letters, mut digits) = (0, 0);
    for &c in b {
        if c.is_ascii_alphabetic() {
            letters += 1;
        } else if leet_letter(c).is_some() {
            digits += 1;
        } else {
            return None;
        }
    }
    if letters == 0 || digits == 0 {
        return None;
    }
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if lead > 1 || (lead == 1 && letters < 3) {
        return None;
    }
    let trail = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if lead == 0 && digits == 1 && trail == 1 {
        return None;
    }
    Some(
        b.iter()
            .map(|&c| leet_letter(c).unwrap_or(c) as char)
            .collect(),
    )
}

/// Leetspeak and repeat folding of every word item; a changed word is classified again
/// (it may now read as a number or an amount).
pub(crate) fn fold_words(items: &mut [Item<'_>]) {
    items.iter_mut().for_each(fold_word);
}

/// [`fold_words`] of one item.
pub(crate) fn fold_word(item: &mut Item<'_>) {
    if item.kind != ItemKind::Word || is_settled(&item.text) {
        return;
    }
    let leet = leet_fold(&item.text);
    let base = leet.as_deref().unwrap_or(&item.text);
    let folded = collapse_repeats(base);
    if leet.is_some() || matches!(folded, Cow::Owned(_)) {
        let new = folded.into_owned();
        *item = classify_piece(&new, item.gap).into_owned();
    }
}

/// A word neither fold can change: ASCII letters only (leetspeak needs a digit) with no
/// run longer than [`MAX_REPEAT`]. One byte scan, where the two folds would take two.
pub(crate) fn is_settled(w: &str) -> bool {
    let mut last = 0u8;
    let mut run = 0;
    for &b in w.as_bytes() {
        if !b.is_ascii_alphabetic() {
            return false;
        }
        if b == last {
            run += 1;
            if run > MAX_REPEAT {
                return false;
            }
        } else {
            last = b;
            run = 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A word the fast test calls settled is one neither word fold would change.
        #[test]
        fn settled_words_are_left_alone_by_both_folds(word in "[a-e0-5A-E]{1,4}(aaaa)?[a-e0-5]{0,4}") {
            if is_settled(&word) {
                proptest::prop_assert_eq!(leet_fold(&word), None);
                proptest::prop_assert!(matches!(collapse_repeats(&word), Cow::Borrowed(_)));
            }
        }
    }

    #[test]
    fn leet() {
        let folds = [
            ("fr33", "free"),
            ("m0n3y", "money"),
            ("m0ney", "money"),
            ("1nvest", "invest"),
            ("0ffer", "offer"),
            ("p4ssw0rd", "password"),
            ("cl1ck", "click"),
            ("b1tc01n", "bitcoin"),
            ("w1nn3r", "winner"),
            ("l0an", "loan"),
            ("5ale", "sale"),
            ("h0t", "hot"),
            ("gr8t", "grbt"),
        ];
        for (w, want) in folds {
            assert_eq!(leet_fold(w).as_deref(), Some(want), "{w}");
        }
        let kept = [
            "free", "2024", "10am", "5pm", "1st", "4k", "mp3", "web3", "b2b", "covid19", "365days",
            "a", "x1",
        ];
        for w in kept {
            assert_eq!(leet_fold(w), None, "{w}");
        }
    }

    #[test]
    fn collapse() {
        assert_eq!(collapse_repeats("freeeee"), "freee");
        assert_eq!(collapse_repeats("free"), "free");
        assert_eq!(collapse_repeats("1000000"), "1000000");
        assert!(matches!(collapse_repeats("money"), Cow::Borrowed(_)));
    }
}
