//! Word splitting: a chunk that is no entity is cut into word pieces at punctuation.
//! `'` inside a word is dropped (`don't` -> `dont`); `@` between letters and `$` next to a
//! letter are leetspeak for `a` and `s` (`c@sh`, `ca$h`); `+` right before digits and a
//! currency symbol next to an amount are kept as a phone prefix and a money amount. Each
//! piece is then read by [`classify_piece`] (a word, a number, an amount, an address).
//!
//! Three loops give the same items: [`split_inert_chunk`] for a chunk of ASCII letters,
//! digits and inert punctuation (taken straight from the chunk scanner), a byte loop for
//! other ASCII chunks, and a char loop for the rest.

use std::borrow::Cow;

use super::bytes::{trim_punctuation, ALNUM, BYTE_CLASSES, INERT};
use super::disguise::bracket_word;
use super::entities::{classify_piece, is_plain_int, parse_amount};
use super::fold::{compose_joined, currency_symbol, MAX_REPEAT};
use super::item::{Gap, Item, ItemKind};
use super::word_fold::has_long_run;

/// The long way's end for a chunk of only ASCII letters, digits and [`INERT`]
/// punctuation, a quarter of the chunks in e-mail (markup and hyphenated words), taken
/// directly: trim, then [`split_words`] as it reads such a chunk. Returns false, having
/// added nothing, for any other chunk. A loop of its own, over runs rather than bytes,
/// rather than a call to [`split_words`]: that call measured 6 % slower on SpamAssassin
/// scoring (A/B of `sendguard eval`), even with ASCII chunks split on bytes. A piece that
/// stands in the chunk as it is spelled borrows it. `shortcuts_agree_with_every_test`
/// holds the two to the same items.
pub(super) fn split_inert_chunk<'a>(raw: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) -> bool {
    let inert = raw
        .bytes()
        .all(|b| BYTE_CLASSES[b as usize] & (ALNUM | INERT) != 0);
    if !inert || bracket_word(raw).is_some() {
        return false;
    }
    let c = trim_punctuation(raw);
    let b = c.as_bytes();
    let is_alnum = |x: u8| BYTE_CLASSES[x as usize] & ALNUM != 0;
    let mut seps = 0usize;
    let mut sep = b' ';
    let mut first_piece = true;
    let mut i = 0;
    while i < b.len() {
        if !is_alnum(b[i]) {
            seps += 1;
            sep = b[i];
            i += 1;
            continue;
        }
        let piece_gap = piece_gap(gap, first_piece, seps, sep as char);
        let start = i;
        while i < b.len() && is_alnum(b[i]) {
            i += 1;
        }
        // An apostrophe between letters is dropped (`don't` -> `dont`), joining the runs
        // around it; the joined spelling is new, and so is one with a run to cut.
        let joins = b.get(i) == Some(&b'\'') && b.get(i + 1).is_some_and(|&x| is_alnum(x));
        if joins || has_long_run(&c[start..i]) {
            let (piece, end) = joined_piece(b, start);
            out.push(classify_piece(&piece, piece_gap).into_owned());
            i = end;
        } else {
            out.push(classify_piece(&c[start..i], piece_gap));
        }
        first_piece = false;
        seps = 0;
    }
    true
}

/// The gap before a word piece of a chunk: the chunk's own for a first piece right at its
/// start, the separator for a piece after exactly one separator character (`f.r.e.e`),
/// else wide. `seps` separators came since the last piece, the last being `sep`.
fn piece_gap(gap: Gap, first_piece: bool, seps: usize, sep: char) -> Gap {
    match (first_piece, seps) {
        (true, 0) => gap,
        (false, 1) => Gap::Punct(sep),
        _ => Gap::Wide,
    }
}

/// The word piece of an inert chunk's bytes `b` that starts at `start`: letters and digits,
/// through apostrophes between them, with runs of a letter cut to [`MAX_REPEAT`]. Returns
/// the piece and where it ends.
fn joined_piece(b: &[u8], start: usize) -> (String, usize) {
    let mut piece = String::new();
    let mut i = start;
    while i < b.len() {
        let x = b[i];
        if x.is_ascii_alphanumeric() {
            let run = piece.bytes().rev().take_while(|&p| p == x).count();
            if x.is_ascii_digit() || run < MAX_REPEAT {
                piece.push(x as char);
            }
        } else if !(x == b'\'' && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)) {
            break;
        }
        i += 1;
    }
    (piece, i)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
}

/// Splits a chunk that is no entity into word pieces at punctuation. `'` inside a word is
/// dropped (`don't` -> `dont`); `@` between letters and `$` next to a letter (not before a
/// digit) are leetspeak for `a` and `s`; `+` right before digits and a currency symbol next
/// to an amount are kept as a phone prefix and a money amount.
pub(super) fn split_words<'a>(c: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) {
    if c.bytes().all(|b| b.is_ascii_alphanumeric()) {
        out.push(classify_piece(c, gap));
    } else if c.is_ascii() {
        split_ascii_words(c, gap, out);
    } else {
        split_chars(c, gap, out);
    }
}

/// [`split_words`] of an ASCII chunk, byte by byte; a piece spelled in the chunk as it
/// stands (no apostrophe dropped, no `@` or `$` read as a letter, no run cut) borrows it.
/// Such chunks (`10:58pm`, `(un)subscription`, base64 lines) were a sixth of SpamAssassin
/// scoring time through the general path; `ascii_split_agrees_with_char_split` holds the
/// two to the same items.
fn split_ascii_words<'a>(c: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) {
    let b = c.as_bytes();
    let alpha = |x: Option<&u8>| x.is_some_and(u8::is_ascii_alphabetic);
    let mut piece = AsciiPiece::default();
    let mut seps = 0usize;
    let mut sep_char = b' ';
    let mut first_piece = true;
    let mut piece_gap = gap;
    let mut plus = false;
    let mut cur_before: Option<char> = None;
    for (i, &x) in b.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &b[p]);
        let next = b.get(i + 1);
        let mapped = if x.is_ascii_alphanumeric() {
            Some(x)
        } else if x == b'\'' && !piece.is_empty() && next.is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        } else if x == b'@' && alpha(prev) && alpha(next) {
            Some(b'a')
        } else if x == b'$' && (alpha(prev) || alpha(next)) && !next.is_some_and(u8::is_ascii_digit)
        {
            Some(b's')
        } else {
            None
        };
        match mapped {
            Some(m) => {
                if piece.is_empty() {
                    piece_gap = self::piece_gap(gap, first_piece, seps, sep_char as char);
                }
                if !m.is_ascii_digit() && piece.tail_run(c, m) >= MAX_REPEAT {
                    continue;
                }
                piece.push(c, i, m);
            }
            None => {
                if !piece.is_empty() {
                    let after = currency_symbol(x as char);
                    out.push(piece.finish(c, piece_gap, plus, cur_before.or(after)));
                    first_piece = false;
                    seps = 0;
                }
                seps += 1;
                sep_char = x;
                plus = x == b'+' && !prev.is_some_and(u8::is_ascii_alphanumeric);
                cur_before = currency_symbol(x as char);
            }
        }
    }
    if !piece.is_empty() {
        out.push(piece.finish(c, piece_gap, plus, cur_before));
    }
}

/// A word piece of [`split_ascii_words`] being read: a span of the chunk while it is
/// spelled there as it stands, its own spelling from the first byte that differs.
#[derive(Default)]
struct AsciiPiece {
    start: usize,
    end: usize,
    owned: Option<String>,
}

impl AsciiPiece {
    fn text<'s>(&'s self, c: &'s str) -> &'s str {
        self.owned.as_deref().unwrap_or(&c[self.start..self.end])
    }

    fn is_empty(&self) -> bool {
        self.owned
            .as_ref()
            .map_or(self.start == self.end, String::is_empty)
    }

    /// How many times the piece now ends in `m`.
    fn tail_run(&self, c: &str, m: u8) -> usize {
        self.text(c).bytes().rev().take_while(|&p| p == m).count()
    }

    /// Adds `m`, read from the chunk's byte `i`.
    fn push(&mut self, c: &str, i: usize, m: u8) {
        let spelled = c.as_bytes()[i] == m;
        match &mut self.owned {
            Some(owned) => owned.push(m as char),
            None if spelled && self.start == self.end => (self.start, self.end) = (i, i + 1),
            None if spelled && self.end == i => self.end += 1,
            None => {
                let mut owned = c[self.start..self.end].to_string();
                owned.push(m as char);
                self.owned = Some(owned);
            }
        }
    }

    /// The piece's item; the piece is empty again after.
    fn finish<'a>(&mut self, c: &'a str, gap: Gap, plus: bool, currency: Option<char>) -> Item<'a> {
        let item = match self.owned.take() {
            Some(owned) => finish_piece(&owned, gap, plus, currency).into_owned(),
            None => finish_piece(&c[self.start..self.end], gap, plus, currency),
        };
        (self.start, self.end) = (0, 0);
        item
    }
}

/// [`split_words`] of any chunk, char by char.
fn split_chars(c: &str, gap: Gap, out: &mut Vec<Item<'_>>) {
    let mut piece = String::new();
    // Separators since the last piece: count, last one, and whether a `+`/currency symbol
    // came right before the piece now being built.
    let mut seps = 0usize;
    let mut sep_char = ' ';
    let mut first_piece = true;
    let mut piece_gap = gap;
    let mut plus = false;
    let mut cur_before: Option<char> = None;
    let mut chars = c.chars().peekable();
    let mut last = None;
    while let Some(ch) = chars.next() {
        let prev = last.replace(ch);
        let next = chars.peek().copied();
        let alpha = |x: Option<char>| x.is_some_and(char::is_alphabetic);
        let mapped = if is_word_char(ch) {
            Some(ch)
        } else if ch == '\'' && !piece.is_empty() && next.is_some_and(is_word_char) {
            continue;
        } else if ch == '@' && alpha(prev) && alpha(next) {
            Some('a')
        } else if ch == '$'
            && (alpha(prev) || alpha(next))
            && !next.is_some_and(|x| x.is_ascii_digit())
        {
            Some('s')
        } else {
            None
        };
        match mapped {
            Some(m) => {
                if piece.is_empty() {
                    piece_gap = self::piece_gap(gap, first_piece, seps, sep_char);
                }
                // A dropped apostrophe or a mapped `@`/`$` can join two runs that the
                // character fold capped separately (`helll'lo`); cap the joined run too, or
                // normalizing the output again would cut it (found by fuzzing idempotence).
                if !m.is_ascii_digit()
                    && piece.chars().rev().take_while(|&c| c == m).count() >= MAX_REPEAT
                {
                    continue;
                }
                piece.push(m);
            }
            None => {
                if !piece.is_empty() {
                    let after = currency_symbol(ch);
                    out.push(
                        finish_piece(&piece, piece_gap, plus, cur_before.or(after)).into_owned(),
                    );
                    piece.clear();
                    first_piece = false;
                    seps = 0;
                }
                seps += 1;
                sep_char = ch;
                plus = ch == '+' && (prev.is_none() || !prev.is_some_and(is_word_char));
                cur_before = currency_symbol(ch);
            }
        }
    }
    if !piece.is_empty() {
        out.push(finish_piece(&piece, piece_gap, plus, cur_before).into_owned());
    }
}

/// A word piece's item: a money amount after or before a currency symbol, a `+` number, or
/// what [`classify_piece`] reads. A word borrows `p`.
fn finish_piece(p: &str, gap: Gap, plus: bool, currency: Option<char>) -> Item<'_> {
    match compose_joined(p) {
        Cow::Borrowed(p) => finish_composed(p, gap, plus, currency),
        Cow::Owned(p) => finish_composed(&p, gap, plus, currency).into_owned(),
    }
}

fn finish_composed(p: &str, gap: Gap, plus: bool, currency: Option<char>) -> Item<'_> {
    if let Some(sym) = currency {
        if let Some(a) = parse_amount(p) {
            return Item::new(ItemKind::Money, format!("{sym}{a}"), gap);
        }
    }
    if plus && is_plain_int(p) && p.len() <= 15 {
        return Item::new(ItemKind::Number, format!("+{p}"), gap);
    }
    classify_piece(p, gap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_chunks::chunk;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_000))]
        /// The byte loop for ASCII chunks reads them as the char loop does, borrowed
        /// pieces and all.
        #[test]
        fn ascii_split_agrees_with_char_split(
            raw in chunk(),
            gap in proptest::sample::select(&[Gap::Start, Gap::Space, Gap::Wide][..]),
        ) {
            let (mut bytes, mut chars) = (Vec::new(), Vec::new());
            split_ascii_words(&raw, gap, &mut bytes);
            split_chars(&raw, gap, &mut chars);
            proptest::prop_assert_eq!(bytes, chars, "{:?}", raw);
        }
    }
}
