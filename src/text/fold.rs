//! Character folding, the first stage: the character tricks that make one word look like
//! another are undone here, in one pass over the input ([`fold_chars`]):
//! - zero-width, bidi and other invisible format characters, C0/C1 controls and private-use
//!   characters are removed (not replaced by a space: `fr\u{200B}ee` is `free`);
//! - Arabic tatweel and short-vowel marks are removed: Arabic is written without them, so
//!   a word stretched (`أربـــاح`) or vowelled (`أَرْبَاح`) is the same word (`أرباح`);
//! - runs of combining marks are cut to [`MAX_MARKS`] before NFKC (zalgo text), so
//!   normalization stays linear on 28,000 combining marks;
//! - Unicode NFKC (`unicode-normalization`), then per character `decancer` folds homoglyphs
//!   and case: Cyrillic and Greek look-alikes, full-width and mathematical letters, circled
//!   and regional-indicator letters, accents. Scripts that are real writing rather than
//!   disguise (CJK, Arabic, Hebrew, Indic, Thai, ...) are kept as they are;
//! - emoji are kept, each as its own chunk; skin-tone modifiers, variation selectors and the
//!   zero-width joiner are dropped, so a ZWJ family is a few emoji tokens;
//! - currency symbols are kept; all whitespace becomes one space (two for a wide gap: several
//!   spaces or a line break); a character repeated more than [`MAX_REPEAT`] times is cut to
//!   [`MAX_REPEAT`] (digits excepted: they are amounts and phone numbers).
//!
//! Also the character tests the later stages share ([`is_emoji`], [`currency_symbol`]) and
//! [`compose_joined`], which composes letters a join has brought together.

use std::borrow::Cow;

use decancer::{Options, Translation};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Longest run of one repeated character (or emoji) that survives folding.
pub const MAX_REPEAT: usize = 3;
/// Combining marks kept after one base character.
pub const MAX_MARKS: usize = 3;

/// decancer folds Latin look-alikes; it must not turn real non-Latin writing into noise.
fn decancer_options() -> Options {
    Options::default()
        .retain_hebrew()
        .retain_arabic()
        .retain_devanagari()
        .retain_bengali()
        .retain_gujarati()
        .retain_tamil()
        .retain_thai()
        .retain_lao()
        .retain_burmese()
        .retain_khmer()
        .retain_mongolian()
        .retain_chinese()
        .retain_japanese()
        .retain_korean()
}

/// Result of [`fold_chars`].
pub(crate) struct Folded {
    pub text: String,
    pub emoji_count: u32,
}

/// Character-level folding of a whole message (see the module docs).
pub(crate) fn fold_chars(input: &str) -> Folded {
    if input.is_ascii() {
        return Folded {
            text: fold_ascii(input.as_bytes()),
            emoji_count: 0,
        };
    }
    let mut out = Out::new(input.len());
    let mut filter = CharFilter::default();
    // Characters waiting for NFKC: a stretch of non-ASCII ones, with the ASCII character
    // before it, which may compose with marks after it (`e\u{301}`).
    let mut pending: Vec<char> = Vec::new();
    let mut rest = input;
    loop {
        let ascii = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let run = &rest.as_bytes()[..ascii];
        rest = &rest[ascii..];
        // A kept ASCII character is a starter that composes with nothing before it, so
        // NFKC can stop there: what is pending goes now. (A dropped control is no
        // boundary: the characters around it meet once it is gone.)
        if let Some(last) = run.iter().rposition(|&b| !is_dropped_control(b as char)) {
            normalize_pending(&mut pending, &mut out);
            let (now, carried) = if rest.is_empty() {
                (run, None)
            } else {
                (&run[..last], Some(run[last] as char))
            };
            if out.ascii_run(now) {
                filter.keeps('a');
            }
            if let Some(c) = carried {
                filter.keeps(c);
                pending.push(c);
            }
        }
        if rest.is_empty() {
            break;
        }
        let other = rest
            .bytes()
            .position(|b| b.is_ascii())
            .unwrap_or(rest.len());
        pending.extend(rest[..other].chars().filter(|&c| filter.keeps(c)));
        rest = &rest[other..];
    }
    normalize_pending(&mut pending, &mut out);
    Folded {
        text: out.s,
        emoji_count: out.emoji,
    }
}

/// Folds the characters waiting for NFKC, and empties the list. Most are already in NFKC
/// (an accent or a curly quote here and there): the quick check spares them the
/// decompose-and-recompose machinery. Why in stretches rather than the whole message at
/// once: nine in ten characters of a non-ASCII e-mail are ASCII, which the byte loop folds
/// several times faster, and neither check nor NFKC has to look at them.
fn normalize_pending(pending: &mut Vec<char>, out: &mut Out) {
    if pending.is_empty() {
        return;
    }
    if is_nfkc_quick(pending.iter().copied()) == IsNormalized::Yes {
        for &c in pending.iter() {
            out.unicode(c);
        }
    } else {
        for c in pending.iter().copied().nfkc() {
            out.unicode(c);
        }
    }
    pending.clear();
}

/// Which characters go into NFKC: the ASCII control characters that are not whitespace,
/// invisible characters and the combining marks after the first [`MAX_MARKS`] are dropped.
#[derive(Default, Clone)]
struct CharFilter {
    /// Combining marks kept since the last other kept character.
    marks: usize,
}

impl CharFilter {
    fn keeps(&mut self, c: char) -> bool {
        if c.is_ascii() {
            // Control characters are dropped before NFKC, not after: one between two
            // letters would keep them from composing now and not on the next pass, where
            // it is gone (`이\u{1d}ᆰ`, found by fuzzing idempotence).
            if is_dropped_control(c) {
                return false;
            }
            self.marks = 0;
            return true;
        }
        if is_dropped(c) {
            return false;
        }
        if is_combining_mark(c) {
            self.marks += 1;
            self.marks <= MAX_MARKS
        } else {
            self.marks = 0;
            true
        }
    }
}

/// [`fold_chars`] of an all-ASCII message (nine in ten e-mails), in one tight loop over
/// bytes with the state in locals: what [`Out::ascii`] does byte by byte, where only case,
/// whitespace, control characters and repeats can apply.
fn fold_ascii(input: &[u8]) -> String {
    // Written by index into a buffer that fits the worst case (each byte a character
    // after a wide gap: three bytes), then cut: no capacity test per byte.
    let mut s = vec![0u8; input.len() * 3];
    let mut len = 0usize;
    let mut last = b' ';
    let mut run = 0usize;
    // Whitespace seen since the last character: 0 none, 1 one space, 2 a wide gap.
    let mut pending = 0u8;
    for &b in input {
        if b > b' ' && b != 0x7F {
            let c = b.to_ascii_lowercase();
            if pending > 0 {
                if len > 0 {
                    s[len] = b' ';
                    s[len + 1] = b' ';
                    len += usize::from(pending);
                }
                pending = 0;
                last = b' ';
            }
            // A repeat past the limit is written and not counted, rather than branched on.
            let repeat = c == last && !c.is_ascii_digit();
            run = if repeat { run + 1 } else { 1 };
            last = c;
            s[len] = c;
            len += usize::from(run <= MAX_REPEAT);
        } else if b == b' ' {
            pending = if pending > 0 { 2 } else { 1 };
        } else if matches!(b, b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) {
            pending = 2;
        }
    }
    s.truncate(len);
    // Only ASCII bytes were written.
    String::from_utf8(s).unwrap_or_default()
}

/// An ASCII control character that folding drops (whitespace ones become spaces).
fn is_dropped_control(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}')
}

struct Out {
    s: String,
    last: char,
    run: usize,
    /// Whitespace seen since the last character: 0 none, 1 one space, 2 a wide gap.
    pending: u8,
    /// The pending space was only inserted around an emoji.
    soft: bool,
    /// The previous character produced no output.
    dropped: bool,
    /// Combining marks kept since the last other character (NFKC may add some).
    marks: usize,
    emoji: u32,
    options: Options,
}

impl Out {
    fn new(capacity: usize) -> Out {
        Out {
            s: String::with_capacity(capacity + 8),
            last: ' ',
            run: 0,
            pending: 0,
            soft: false,
            dropped: false,
            marks: 0,
            emoji: 0,
            options: decancer_options(),
        }
    }

    #[inline(always)]
    fn ascii(&mut self, b: u8) {
        // Most bytes are a visible character right after another, different one.
        if self.pending == 0 && b > b' ' && b != 0x7F {
            let c = b.to_ascii_lowercase() as char;
            if c != self.last {
                self.last = c;
                self.run = 1;
                self.s.push(c);
                return;
            }
        }
        match b {
            b' ' => self.space(false),
            b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => self.space(true),
            0..=0x1F | 0x7F => {}
            _ => self.push(b.to_ascii_lowercase() as char),
        }
    }

    /// [`Out::unicode`] of every character of an ASCII stretch that [`CharFilter`] keeps,
    /// in a tight loop. Returns whether it kept any.
    fn ascii_run(&mut self, run: &[u8]) -> bool {
        let mut last_start = None;
        for &b in run {
            if is_dropped_control(b as char) {
                continue;
            }
            last_start = Some(self.s.len());
            self.ascii(b);
        }
        // `ascii` reads neither field, so setting them once, for the last character, is
        // what setting them for each would leave.
        match last_start {
            Some(start) => {
                self.marks = 0;
                self.dropped = self.s.len() == start;
                true
            }
            None => false,
        }
    }

    fn unicode(&mut self, c: char) {
        let before = self.s.len();
        if c.is_ascii() {
            self.marks = 0;
            self.ascii(c as u8);
            self.dropped = self.s.len() == before;
            return;
        }
        if !is_combining_mark(c) {
            self.marks = 0;
        }
        self.unicode_inner(c);
        self.dropped = self.s.len() == before;
    }

    fn unicode_inner(&mut self, c: char) {
        if c.is_ascii() {
            return self.ascii(c as u8);
        }
        // Also here, not only before NFKC: presentation forms decompose into them.
        if is_dropped(c) {
            return;
        }
        if c.is_whitespace() || c == '\u{2800}' {
            return self.space(matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'));
        }
        if is_emoji(c) {
            self.emoji += 1;
            self.separate();
            self.push(c);
            self.separate();
            return;
        }
        if currency_symbol(c).is_some() {
            return self.push(c);
        }
        if is_combining_mark(c) {
            // Vowel signs and viramas of kept scripts (Devanagari, Thai, ...) stay with their
            // letter; a mark left on a folded Latin letter or alone is dropped.
            // Only when nothing was dropped in between: marks around a dropped character
            // would be reordered by NFKC on the next pass.
            let l = self.last;
            if !self.dropped
                && self.pending == 0
                && !l.is_ascii()
                && (l.is_alphabetic() || is_combining_mark(l))
                && self.marks < MAX_MARKS
            {
                self.push(c);
                self.marks += 1;
            }
            return;
        }
        if c == 'ß' || c == 'ẞ' {
            self.push('s');
            return self.push('s');
        }
        match decancer::cure_char(c, self.options) {
            Translation::Character(t) => self.cured(t),
            Translation::String(s) => {
                for t in s.chars() {
                    self.cured(t);
                }
            }
            Translation::None => {}
        }
    }

    fn cured(&mut self, t: char) {
        if t.is_ascii() {
            self.ascii(t as u8);
        } else if t.is_whitespace() {
            self.space(false);
        } else if !is_dropped(t) && !is_combining_mark(t) {
            self.push(t);
        }
    }

    fn space(&mut self, wide: bool) {
        self.pending = if wide || (self.pending > 0 && !self.soft) {
            2
        } else {
            1
        };
        self.soft = false;
    }

    /// At least one space here (around emoji) without making the gap wide.
    fn separate(&mut self) {
        if self.pending == 0 {
            self.pending = 1;
            self.soft = true;
        }
    }

    fn push(&mut self, c: char) {
        if self.pending > 0 {
            if !self.s.is_empty() {
                self.s.push(' ');
                if self.pending > 1 {
                    self.s.push(' ');
                }
            }
            self.pending = 0;
            self.soft = false;
            self.last = ' ';
            self.run = 0;
        }
        if c == self.last && !c.is_ascii_digit() {
            self.run += 1;
            if self.run > MAX_REPEAT {
                return;
            }
        } else {
            self.last = c;
            self.run = 1;
        }
        self.s.push(c);
    }
}

/// Invisible characters removed outright: zero-width spaces and joiners, bidi controls,
/// soft hyphen, variation selectors, Hangul fillers, tags, skin-tone modifiers, C1 controls
/// and private-use characters.
pub fn is_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x84
        | 0x86..=0x9F
        | 0xAD
        | 0x34F
        | 0x61C
        | 0x115F
        | 0x1160
        | 0x17B4
        | 0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x3164
        | 0xE000..=0xF8FF
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xFFA0
        | 0xFFF0..=0xFFFB
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0x1F3FB..=0x1F3FF
        | 0xE0000..=0x10FFFF)
}

/// Characters folding removes outright: the invisible ones, and Arabic tatweel (the
/// stretching stroke) and short-vowel marks (tanween, fatha, damma, kasra, shadda, sukun),
/// optional in written Arabic and so a free way to respell a word. Tatweel draws a glyph,
/// so it is not [`is_ignorable`], which also decides what counts as blank.
fn is_dropped(c: char) -> bool {
    is_ignorable(c) || matches!(c as u32, 0x0640 | 0x064B..=0x0652)
}

/// Emoji (pictographs, smileys, transport, symbols, dingbats) after NFKC. Enclosed and
/// regional-indicator letters are not emoji here: they are letters in disguise, left to
/// decancer.
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0xA9 | 0xAE
        | 0x231A | 0x231B | 0x2328 | 0x23CF
        | 0x23E9..=0x23F3
        | 0x23F8..=0x23FA
        | 0x2600..=0x26FF
        | 0x2700..=0x2775
        | 0x2794..=0x27BF
        | 0x2B05..=0x2B07
        | 0x2B1B | 0x2B1C | 0x2B50 | 0x2B55
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x1F004 | 0x1F0CF
        | 0x1F300..=0x1F3FA
        | 0x1F400..=0x1F64F
        | 0x1F680..=0x1F6FF
        | 0x1F7E0..=0x1F7FF
        | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF)
}

/// Currency symbols kept through folding (decancer would turn `€` into `e`).
pub fn currency_symbol(c: char) -> Option<char> {
    matches!(
        c,
        '$' | '€' | '£' | '¥' | '₹' | '₽' | '₿' | '₩' | '₺' | '₦' | '₱' | '₴'
    )
    .then_some(c)
}

/// Letters brought together by a join (spaced-out letters, a dropped apostrophe) can be a
/// sequence NFKC composes, such as Hangul jamo; compose it now, as the next normalization
/// would (found by fuzzing idempotence).
pub(crate) fn compose_joined(word: &str) -> Cow<'_, str> {
    if word.is_ascii() || is_nfkc_quick(word.chars()) == IsNormalized::Yes {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(word.nfkc().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The ASCII loop folds as the general path does, character by character.
        #[test]
        fn ascii_loop_agrees_with_the_general_path(
            input in "([aA]{1,5}|1{1,5}|[.!]{1,5}| {1,3}|[\t\n\r\x0b\x0c]|[\x00-\x08\x7f]|[!-~])*"
        ) {
            let mut out = Out::new(input.len());
            for b in input.bytes() {
                out.ascii(b);
            }
            proptest::prop_assert_eq!(fold_ascii(input.as_bytes()), out.s);
        }

        /// Folding a message in stretches is folding it whole, as one NFKC stream: controls
        /// between marks, ignorables, emoji, compositions and runs across the seams.
        #[test]
        fn stretches_fold_as_the_whole_message(
            input in "([aA]{1,5}| {1,3}|[\n\x01\x7f]|e\u{301}|\u{301}{1,3}|\u{316}|\u{200B}|é|е|ｅ|😀|\u{3164}|ß|\u{110B}\u{1175}|\u{1175}|\u{11B0}|\u{C774}|ﬁ|①|o\u{328}|\u{328}|[!-~])*"
        ) {
            let mut filter = CharFilter::default();
            let filtered = input.chars().filter(move |&c| filter.keeps(c));
            let mut whole = Out::new(input.len());
            if is_nfkc_quick(filtered.clone()) == IsNormalized::Yes {
                filtered.for_each(|c| whole.unicode(c));
            } else {
                filtered.nfkc().for_each(|c| whole.unicode(c));
            }
            let folded = fold_chars(&input);
            proptest::prop_assert_eq!((folded.text, folded.emoji_count), (whole.s, whole.emoji));
        }
    }

    fn chars(s: &str) -> String {
        fold_chars(s).text
    }

    #[test]
    fn confusables_and_case() {
        let cases = [
            ("FREE Money", "free money"),
            ("ϜRΕΕ", "free"),     // Greek digamma, epsilon
            ("frее", "free"),     // Cyrillic е
            ("раураl", "paypal"), // Cyrillic р а у
            ("ＦＲＥＥ", "free"), // full-width
            ("𝐟𝐫𝐞𝐞", "free"),     // mathematical bold
            ("𝗳𝗿𝗲𝗲", "free"),     // mathematical sans-serif bold
            ("𝚏𝚛𝚎𝚎", "free"),     // monospace
            ("ⓕⓡⓔⓔ", "free"),     // circled
            ("🇫🇷🇪🇪", "free"),     // regional indicators
            ("ｃａｓｈ", "cash"),
            ("frée mönéy", "free money"), // accents, precomposed
            ("fre\u{301}e", "free"),      // combining accent
            ("straße", "strasse"),
            ("ⅰⅱ", "iii"), // roman numeral compatibility forms
        ];
        for (input, want) in cases {
            assert_eq!(chars(input), want, "{input:?}");
        }
    }

    #[test]
    fn invisible_and_control_characters() {
        let cases = [
            ("fr\u{200B}ee", "free"),
            ("f\u{200C}r\u{200D}e\u{2060}e", "free"),
            ("\u{FEFF}free", "free"),
            ("fr\u{AD}ee", "free"),
            ("fr\u{202E}ee", "free"),
            ("fr\u{0007}ee", "free"),
            ("fr\u{0085}ee", "fr  ee"),
            ("free\u{3164}money", "freemoney"),
            ("free\u{00A0}money", "free money"),
            ("free\u{3000}money", "free money"),
            ("free\n\nmoney", "free  money"),
            ("  free   money  ", "free  money"),
            ("free\tmoney", "free  money"),
        ];
        for (input, want) in cases {
            assert_eq!(chars(input), want, "{input:?}");
        }
    }

    #[test]
    fn arabic_stretched_or_vowelled_is_the_plain_word() {
        let plain = chars("أرباح مضمونة");
        assert_eq!(plain, "أرباح مضمونة");
        for disguised in [
            "أربـــاح مضـــمونة", // tatweel
            "أَرْبَاح مَضْمُونَة",       // short vowels and sukun
            "ﺃﺭﺑﺎﺡ ﻣﻀﻤﻮﻧﺔ",       // presentation forms (NFKC)
            "أَربـــاحٌ مضمونةٌ",    // both, and tanween
        ] {
            assert_eq!(chars(disguised), plain, "{disguised:?}");
        }
        // Other scripts' vowel signs stay: they are letters there, not options.
        assert_eq!(chars("नमस्ते"), "नमस्ते");
        assert_eq!(chars("ขอบคุณ"), "ขอบคุณ");
    }

    #[test]
    fn repeats_and_marks() {
        let cases = [
            ("freeeeeeee", "freee"),
            ("!!!!!!!!", "!!!"),
            ("5550000000", "5550000000"),
            ("fr\u{200B}e\u{200B}e\u{200B}e\u{200B}e", "freee"),
        ];
        for (input, want) in cases {
            assert_eq!(chars(input), want, "{input:?}");
        }
        let zalgo: String = std::iter::once('z')
            .chain(std::iter::repeat_n('\u{0301}', 1000))
            .collect();
        assert_eq!(chars(&zalgo), "z");
    }

    #[test]
    fn emoji_and_scripts() {
        let f = fold_chars("great👍👍deal 👨\u{200D}👩\u{200D}👧 ❤\u{FE0F} 👍🏽");
        assert_eq!(f.text, "great 👍 👍 deal 👨 👩 👧 ❤ 👍");
        assert_eq!(f.emoji_count, 7);
        assert_eq!(chars("你好 世界"), "你好 世界");
        assert_eq!(chars("שלום"), "שלום");
        assert_eq!(chars("नमस्ते"), "नमस्ते");
        assert_eq!(chars("€500 £20 ¥3"), "€500 £20 ¥3");
    }
}
