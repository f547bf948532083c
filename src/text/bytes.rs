//! Byte classes of the chunk scanner and the word splitter: one table lookup per byte
//! instead of a chain of comparisons, and the punctuation trimmed from a chunk's ends.

/// An ASCII letter or digit.
pub(super) const ALNUM: u8 = 1;
/// [`is_trim_byte`] punctuation.
pub(super) const TRIM: u8 = 2;
/// Trimmed punctuation that is no opening bracket (a bracket may open a disguise).
pub(super) const AROUND: u8 = 4;
/// Punctuation no entity test and no disguise reacts to: in a chunk of ASCII letters and
/// digits with only these (`a="9"`, `</a>`, `e-mail`, `don't`), every test in
/// `scan::classify_any_chunk` fails and the chunk ends in `split::split_words`. Left out: what
/// addresses, amounts and phone numbers are made of (`.` `,` `:` `@` `$` `+`) and the
/// brackets that may open a disguise (`[` `(` `{`).
pub(super) const INERT: u8 = 8;
/// An ASCII digit.
pub(super) const DIGIT: u8 = 16;
/// The space that separates chunks.
pub(super) const SPACE: u8 = 32;
pub(super) static BYTE_CLASSES: [u8; 256] = byte_classes();

const fn byte_classes() -> [u8; 256] {
    let mut classes = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut class = 0;
        if b.is_ascii_alphanumeric() {
            class |= ALNUM;
        }
        if b.is_ascii_digit() {
            class |= DIGIT;
        }
        if b == b' ' {
            class |= SPACE;
        }
        let trim = matches!(
            b,
            b'.' | b','
                | b';'
                | b':'
                | b'!'
                | b'?'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'<'
                | b'>'
                | b'"'
                | b'\''
                | b'`'
        );
        if trim {
            class |= TRIM;
            if !matches!(b, b'[' | b'(' | b'{') {
                class |= AROUND;
            }
        }
        if b.is_ascii_punctuation()
            && !matches!(
                b,
                b'.' | b',' | b':' | b'@' | b'$' | b'+' | b'[' | b'(' | b'{'
            )
        {
            class |= INERT;
        }
        classes[i] = class;
        i += 1;
    }
    classes
}

/// Punctuation trimmed from both ends of a chunk before it is classified:
/// `. , ; : ! ? ( ) [ ] { } < > " ' \``.
pub(super) fn is_trim_byte(b: u8) -> bool {
    BYTE_CLASSES[b as usize] & TRIM != 0
}

/// `s` without [`is_trim_byte`] punctuation at either end (all ASCII, so byte positions
/// are char boundaries).
pub(super) fn trim_punctuation(s: &str) -> &str {
    let b = s.as_bytes();
    match b.iter().position(|&x| !is_trim_byte(x)) {
        None => "",
        Some(start) => {
            let end = b
                .iter()
                .rposition(|&x| !is_trim_byte(x))
                .map_or(start, |e| e + 1);
            &s[start..end]
        }
    }
}
