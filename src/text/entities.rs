//! Entity extraction: URLs, e-mail addresses, phone numbers, money amounts, crypto wallets.
//!
//! Two levels, both hand-written linear scanners (no regex):
//! - [`classify_chunk`] looks at one whitespace-separated chunk of folded text. It first
//!   undoes in-chunk disguises (`example[.]com`, `(dot)`, `[at]`, `hxxp[:]//`) and then tries,
//!   in order: a URL with a scheme (`http`, `https`, `hxxp`, `hxxps`, `h**p`, `ftp`) anywhere
//!   in the chunk, an e-mail address, a bare domain with a known TLD (`example.com/x`), a
//!   crypto address, a money amount (`$1,000`, `500€`), a number, a lone currency symbol;
//!   anything else is split into words at punctuation, with `c@sh` and `ca$h` read as
//!   letters.
//! - The `merge_*` steps work across items, after spaced letters were joined and leetspeak
//!   folded: `example dot com` (and `john at example dot com`), `500 usd` / `$ 500`, and runs
//!   of digit groups that make a phone number (`+1 (555) 123-4567`).
//!
//! Every entity item carries a canonical spelling (lowercase, scheme kept, `hxxp` -> `http`,
//! brackets removed, commas out of amounts, phone digits only) that this module classifies
//! back into the very same item. That is what makes normalization idempotent.

use std::borrow::Cow;

use super::domains;
use super::fold::{
    collapse_repeats, compose_joined, currency_symbol, has_long_run, is_emoji, MAX_REPEAT,
};
use super::tokens::{Gap, Item, ItemKind};

/// [`classify_scanned_chunk`] of a chunk on its own, its plain core read first: the whole
/// step in one call, for tests. (Chunking reads the core while it looks for the chunk's end.)
#[cfg(test)]
pub(crate) fn classify_chunk<'a>(raw: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) -> bool {
    classify_scanned_chunk(raw, plain_alphanumeric_core(raw), gap, out)
}

/// Classifies one chunk of folded text, whose plain core [`scan_chunk`] has read, and
/// appends its item(s). Returns true when the chunk was one word of ASCII letters (with
/// punctuation around it, perhaps), as most are: in folded text, where no letter repeats
/// more than [`MAX_REPEAT`] times, the word folds no further.
pub(crate) fn classify_scanned_chunk<'a>(
    raw: &'a str,
    plain: Option<(&'a str, bool)>,
    gap: Gap,
    out: &mut Vec<Item<'a>>,
) -> bool {
    match plain {
        // No entity is spelled with letters alone: a word, as `classify_piece` would say.
        Some((core, false)) => {
            out.push(Item::new(ItemKind::Word, core, gap));
            return true;
        }
        Some((core, true)) => out.push(classify_piece(core, gap)),
        None => {
            if !split_inert_chunk(raw, gap, out) {
                classify_any_chunk(raw, gap, out);
            }
        }
    }
    false
}

/// [`classify_scanned_chunk`] without the plain-word shortcuts: every test in order.
fn classify_any_chunk<'a>(raw: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) {
    if let Some(w) = bracket_word(raw) {
        out.push(Item::new(ItemKind::Word, w, gap));
        return;
    }
    let mut cs = raw.chars();
    if let (Some(e), None) = (cs.next(), cs.next()) {
        if is_emoji(e) {
            out.push(Item::new(ItemKind::Emoji, raw, gap));
            return;
        }
    }
    match deobfuscate(raw) {
        Cow::Borrowed(plain) => {
            let c = trim_punctuation(plain);
            if !c.is_empty() {
                classify_trimmed(c, gap, out, true);
            }
        }
        Cow::Owned(joined) => {
            // Taking the brackets out can bring equal characters together (`@@@(@)`): cut
            // such runs as the character fold does, or the next normalization would (found
            // by fuzzing).
            let joined = collapse_repeats(&joined).into_owned();
            let c = trim_punctuation(&joined);
            if !c.is_empty() {
                let mut items = Vec::new();
                classify_trimmed(c, gap, &mut items, true);
                out.extend(items.into_iter().map(|item| item.into_owned()));
            }
        }
    }
}

/// The plain core of one chunk on its own: [`scan_chunk`]'s second answer.
#[cfg(test)]
fn plain_alphanumeric_core(raw: &str) -> Option<(&str, bool)> {
    debug_assert!(!raw.contains(' '));
    scan_chunk(raw, 0).1
}

/// Where the chunk of `text` that starts at byte `from` ends (the next space, or the end of
/// the text), and, in the same pass, its plain core.
///
/// Most chunks are a plain word or number, perhaps with punctuation around it (`hello,`):
/// the plain core is the ASCII letters and digits inside, when nothing else is there. Every
/// entity test would reject such a core (no `://`, `@`, `.`, currency symbol or bracket),
/// so it goes straight to [`classify_piece`], which is where the long way would end too.
/// Also says whether the core has a digit.
pub(crate) fn scan_chunk(text: &str, from: usize) -> (usize, Option<(&str, bool)>) {
    // One pass over `punctuation* alphanumeric+ punctuation*`, without opening brackets
    // (those may be a disguise that `deobfuscate` has to see).
    const UNSET: usize = usize::MAX;
    let b = text.as_bytes();
    let (mut start, mut end) = (UNSET, UNSET);
    let mut seen = 0;
    let mut i = from;
    while i < b.len() {
        let class = BYTE_CLASSES[b[i] as usize];
        if class & SPACE != 0 {
            break;
        }
        seen |= class;
        let plain_so_far = if class & ALNUM != 0 {
            if start == UNSET {
                start = i;
            }
            end == UNSET
        } else if class & AROUND != 0 {
            if start != UNSET && end == UNSET {
                end = i;
            }
            true
        } else {
            false
        };
        if !plain_so_far {
            let stop = b[i..]
                .iter()
                .position(|&x| x == b' ')
                .map_or(b.len(), |p| i + p);
            return (stop, None);
        }
        i += 1;
    }
    // Byte positions of ASCII characters are char boundaries.
    let core = (start != UNSET).then(|| (&text[start..end.min(i)], seen & DIGIT != 0));
    (i, core)
}

// Byte classes for the chunk shortcuts: one table lookup per byte instead of a chain of
// comparisons.
/// An ASCII letter or digit.
const ALNUM: u8 = 1;
/// [`is_trim_byte`] punctuation.
const TRIM: u8 = 2;
/// Trimmed punctuation that is no opening bracket (a bracket may open a disguise).
const AROUND: u8 = 4;
/// Punctuation no entity test and no disguise reacts to: in a chunk of ASCII letters and
/// digits with only these (`a="9"`, `</a>`, `e-mail`, `don't`), every test in
/// [`classify_any_chunk`] fails and the chunk ends in [`split_words`]. Left out: what
/// addresses, amounts and phone numbers are made of (`.` `,` `:` `@` `$` `+`) and the
/// brackets that may open a disguise (`[` `(` `{`).
const INERT: u8 = 8;
/// An ASCII digit.
const DIGIT: u8 = 16;
/// The space that separates chunks.
const SPACE: u8 = 32;
static BYTE_CLASSES: [u8; 256] = byte_classes();

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

/// The long way's end for a chunk of only ASCII letters, digits and [`INERT`]
/// punctuation, a quarter of the chunks in e-mail (markup and hyphenated words), taken
/// directly: trim, then [`split_words`] as it reads such a chunk. Returns false, having
/// added nothing, for any other chunk. A loop of its own, over runs rather than bytes,
/// rather than a call to [`split_words`]: that call measured 6 % slower on SpamAssassin
/// scoring (A/B of `sendguard eval`), even with ASCII chunks split on bytes. A piece that
/// stands in the chunk as it is spelled borrows it. `shortcuts_agree_with_every_test`
/// holds the two to the same items.
fn split_inert_chunk<'a>(raw: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) -> bool {
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

/// Punctuation trimmed from both ends of a chunk before it is classified:
/// `. , ; : ! ? ( ) [ ] { } < > " ' \``.
fn is_trim_byte(b: u8) -> bool {
    BYTE_CLASSES[b as usize] & TRIM != 0
}

/// `s` without [`is_trim_byte`] punctuation at either end (all ASCII, so byte positions
/// are char boundaries).
fn trim_punctuation(s: &str) -> &str {
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

/// A chunk that is only a disguised separator: `[.]`, `(dot)` -> `dot`; `[at]`, `(@)` -> `at`.
fn bracket_word(raw: &str) -> Option<&'static str> {
    let b = raw.as_bytes();
    if b.len() < 3
        || !matches!(
            (b[0], b[b.len() - 1]),
            (b'[', b']') | (b'(', b')') | (b'{', b'}') | (b'<', b'>')
        )
    {
        return None;
    }
    match &raw[1..raw.len() - 1] {
        "." | "dot" => Some("dot"),
        "@" | "at" => Some("at"),
        _ => None,
    }
}

/// Undoes in-chunk disguises: `[.]` `(.)` `{.}` `[dot]` `(dot)` `{dot}` -> `.`,
/// `[@]` `(@)` `[at]` `(at)` `{at}` -> `@`, `[:]` -> `:`, `[/]` -> `/`.
///
/// Nested disguises (`[[.]]`) are undone too: the output is a stack, and every closing
/// bracket pushed checks whether it completes a disguise at its top. So the result holds no
/// disguise, and undoing it again changes nothing (found by fuzzing idempotence), in time
/// linear in the chunk: every replacement shrinks the stack.
fn deobfuscate(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| matches!(b, b'[' | b'(' | b'{')) {
        return Cow::Borrowed(raw);
    }
    const INNERS: [(&[u8], char); 6] = [
        (b".", '.'),
        (b"dot", '.'),
        (b"@", '@'),
        (b"at", '@'),
        (b":", ':'),
        (b"/", '/'),
    ];
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        out.push(c);
        let open = match c {
            ']' => b'[',
            ')' => b'(',
            '}' => b'{',
            _ => continue,
        };
        let stack = out.as_bytes();
        let top = stack.len() - 1;
        // All of a disguise is ASCII, so matching bytes are whole characters.
        let undone = INNERS.iter().find(|(inner, _)| {
            top > inner.len()
                && stack[top - inner.len() - 1] == open
                && &stack[top - inner.len()..top] == *inner
        });
        if let Some((inner, rep)) = undone {
            out.truncate(top - inner.len() - 1);
            out.push(*rep);
        }
    }
    Cow::Owned(out)
}

/// Where the characters that make entities sit in a chunk; one scan instead of one per test.
struct Marks {
    /// First `@`.
    at: Option<usize>,
    /// First `/`, `?` or `#`: the end of a host.
    host_end: Option<usize>,
    dot: bool,
    colon: bool,
}

fn marks(c: &str) -> Marks {
    let mut marks = Marks {
        at: None,
        host_end: None,
        dot: false,
        colon: false,
    };
    for (i, &b) in c.as_bytes().iter().enumerate() {
        match b {
            b'@' if marks.at.is_none() => marks.at = Some(i),
            b'/' | b'?' | b'#' if marks.host_end.is_none() => marks.host_end = Some(i),
            b'.' => marks.dot = true,
            b':' => marks.colon = true,
            _ => {}
        }
    }
    marks
}

fn classify_trimmed<'a>(c: &'a str, gap: Gap, out: &mut Vec<Item<'a>>, allow_url: bool) {
    let marks = marks(c);
    if allow_url && marks.colon {
        if let Some(pos) = c.find("://") {
            if let Some((start, url)) = scheme_url(c, pos) {
                let prefix = trim_punctuation(&c[..start]);
                let mut url_gap = gap;
                if !prefix.is_empty() {
                    classify_trimmed(prefix, gap, out, false);
                    url_gap = Gap::Wide;
                }
                out.push(Item::new(ItemKind::Url, url, url_gap));
                return;
            }
        }
    }
    // An `@` after the host (in the path, query or fragment: `site.com/u/a@b.com`,
    // `site.com#a@b.com`) is part of a link, not an e-mail address: read it as the URL it
    // is, as the canonical URL text will read again.
    let at_in_path = matches!((marks.host_end, marks.at), (Some(end), Some(at)) if end < at);
    if at_in_path {
        if let Some(url) = bare_domain(c) {
            out.push(Item::new(ItemKind::Url, url, gap));
            return;
        }
    }
    if let Some((start, email)) = marks.at.and_then(|_| email(c)) {
        let prefix = trim_punctuation(&c[..start]);
        let mut email_gap = gap;
        if !prefix.is_empty() && prefix != "mailto" {
            classify_trimmed(prefix, gap, out, false);
            email_gap = Gap::Wide;
        }
        out.push(Item::new(ItemKind::Email, email, email_gap));
        return;
    }
    // A bare domain has a dot in its host.
    if let Some(url) = marks.dot.then(|| bare_domain(c)).flatten() {
        out.push(Item::new(ItemKind::Url, url, gap));
        return;
    }
    if is_crypto(c) {
        out.push(Item::new(ItemKind::Crypto, c, gap));
        return;
    }
    if let Some(m) = money_chunk(c) {
        out.push(Item::new(ItemKind::Money, m, gap));
        return;
    }
    if let Some(n) = number_chunk(c) {
        out.push(Item::new(ItemKind::Number, n, gap));
        return;
    }
    let mut cs = c.chars();
    if let (Some(sym), None) = (cs.next(), cs.next()) {
        if currency_symbol(sym).is_some() {
            out.push(Item::new(ItemKind::CurSym, c, gap));
            return;
        }
    }
    split_words(c, gap, out);
}

/// Cuts trailing punctuation and slashes off a URL.
fn trim_url_tail(s: &str) -> &str {
    let mut s = s;
    loop {
        let t = s
            .trim_end_matches(|c: char| c.is_ascii() && is_trim_byte(c as u8))
            .trim_end_matches('/');
        if t.len() == s.len() {
            return s;
        }
        s = t;
    }
}

/// `http`, `https`, `hxxp`, `hxxps`, `h**p`, `htxp`... and `ftp`: the canonical scheme.
fn scheme_canon(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    match b {
        b"ftp" => return Some("ftp"),
        b"ftps" => return Some("ftps"),
        _ => {}
    }
    let obscured = |c: u8| matches!(c, b't' | b'x' | b'*');
    if (b.len() == 4 || b.len() == 5)
        && b[0] == b'h'
        && obscured(b[1])
        && obscured(b[2])
        && b[3] == b'p'
    {
        return match b.get(4) {
            None => Some("http"),
            Some(b's') => Some("https"),
            _ => None,
        };
    }
    None
}

/// A URL whose `://` is at byte `pos` of the chunk: (start of the scheme, canonical URL).
fn scheme_url(c: &str, pos: usize) -> Option<(usize, String)> {
    let b = c.as_bytes();
    let mut s = pos;
    while s > 0 && (b[s - 1].is_ascii_alphabetic() || b[s - 1] == b'*') {
        s -= 1;
    }
    let letters = &c[s..pos];
    let (len, scheme) = [5, 4, 3]
        .into_iter()
        .filter(|&l| letters.len() >= l)
        .find_map(|l| scheme_canon(&letters[letters.len() - l..]).map(|sc| (l, sc)))?;
    let rest = trim_url_tail(&c[pos + 3..]);
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = domains::strip_port(host)?;
    if !domains::is_scheme_host(host) {
        return None;
    }
    Some((pos - len, format!("{scheme}://{rest}")))
}

/// An e-mail address in the chunk: (start of the local part, canonical address).
fn email(c: &str) -> Option<(usize, String)> {
    let at = c.find('@')?;
    if c[at + 1..].contains('@') {
        return None;
    }
    let b = c.as_bytes();
    let local_char =
        |x: u8| x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut start = at;
    while start > 0 && local_char(b[start - 1]) {
        start -= 1;
    }
    while start < at && b[start] == b'.' {
        start += 1;
    }
    let local = &c[start..at];
    let domain = &c[at + 1..];
    if local.is_empty()
        || local.len() > 64
        || local.ends_with('.')
        || !domains::is_mail_host(domain)
    {
        return None;
    }
    Some((start, format!("{local}@{domain}")))
}

/// `example.com`, `www.example.com/path?x=1`: a bare domain with a known TLD.
fn bare_domain(c: &str) -> Option<String> {
    let end = c.find(['/', '?', '#']).unwrap_or(c.len());
    let host = domains::strip_port(&c[..end])?;
    if !domains::is_bare_host(host) {
        return None;
    }
    Some(trim_url_tail(c).to_string())
}

/// Bitcoin (legacy `1`/`3` and bech32 `bc1`), Ethereum (`0x` + 40 hex) and Tron (`t` + 33)
/// addresses, in the lowercase the folded text has.
pub(crate) fn is_crypto(c: &str) -> bool {
    let b = c.as_bytes();
    let n = b.len();
    if !(26..=62).contains(&n) || !b.iter().all(|x| x.is_ascii_alphanumeric()) {
        return false;
    }
    if n == 42 && c.starts_with("0x") {
        return b[2..].iter().all(|x| x.is_ascii_hexdigit());
    }
    if c.starts_with("bc1") {
        return n >= 42;
    }
    let base58 = (matches!(b[0], b'1' | b'3') && n <= 35) || (b[0] == b't' && n == 34);
    if !base58 || b.contains(&b'0') {
        return false;
    }
    let digits = b[1..].iter().filter(|x| x.is_ascii_digit()).count();
    let letters = n - 1 - digits;
    digits >= 3 && letters >= 5
}

/// An amount: `1000`, `1,000,000`, `19.99`, `5k`, `2.5m`, `3bn`. Canonical form drops the
/// thousands separators.
pub(crate) fn parse_amount(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let n = b.len();
    if n == 0 || n > 32 {
        return None;
    }
    let mut i = 0;
    while i < n && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut canon = String::with_capacity(n);
    canon.push_str(&s[..i]);
    if i < n && b[i] == b',' {
        if i > 3 {
            return None;
        }
        while i < n && b[i] == b',' {
            let group = b.get(i + 1..i + 4)?;
            if !group.iter().all(u8::is_ascii_digit) || b.get(i + 4).is_some_and(u8::is_ascii_digit)
            {
                return None;
            }
            canon.push_str(&s[i + 1..i + 4]);
            i += 4;
        }
    }
    if i < n && b[i] == b'.' {
        let d = i + 1;
        let mut j = d;
        while j < n && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == d {
            return None;
        }
        canon.push_str(&s[i..j]);
        i = j;
    }
    match &s[i..] {
        suffix @ ("" | "k" | "m" | "b" | "bn") => canon.push_str(suffix),
        _ => return None,
    }
    Some(canon)
}

fn is_plain_int(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A number chunk: an amount, or `+` and digits (a country code or a whole phone number).
fn number_chunk(c: &str) -> Option<String> {
    if let Some(digits) = c.strip_prefix('+') {
        return (is_plain_int(digits) && digits.len() <= 15).then(|| c.to_string());
    }
    parse_amount(c)
}

/// Currency words next to an amount: `500 usd`, `20 euros`, `usd 500`.
pub(crate) fn currency_word(w: &str) -> Option<char> {
    // Callers ask only about words next to a number; a length test is filter enough.
    if !(3..=8).contains(&w.len()) {
        return None;
    }
    CURRENCY_WORDS
        .iter()
        .find(|(word, _)| *word == w)
        .map(|&(_, symbol)| symbol)
}

/// Every word [`currency_word`] reads, with its symbol.
const CURRENCY_WORDS: [(&str, char); 23] = [
    ("usd", '$'),
    ("usdt", '$'),
    ("dollar", '$'),
    ("dollars", '$'),
    ("bucks", '$'),
    ("eur", '€'),
    ("euro", '€'),
    ("euros", '€'),
    ("gbp", '£'),
    ("pound", '£'),
    ("pounds", '£'),
    ("quid", '£'),
    ("inr", '₹'),
    ("rupee", '₹'),
    ("rupees", '₹'),
    ("jpy", '¥'),
    ("yen", '¥'),
    ("btc", '₿'),
    ("bitcoin", '₿'),
    ("bitcoins", '₿'),
    ("rub", '₽'),
    ("ruble", '₽'),
    ("rubles", '₽'),
];

/// `$1,000`, `€50`, `500$`: a currency symbol at either end of an amount.
fn money_chunk(c: &str) -> Option<String> {
    let first = c.chars().next()?;
    if let Some(sym) = currency_symbol(first) {
        if let Some(a) = parse_amount(&c[first.len_utf8()..]) {
            return Some(format!("{sym}{a}"));
        }
    }
    let last = c.chars().next_back()?;
    if let Some(sym) = currency_symbol(last) {
        if let Some(a) = parse_amount(&c[..c.len() - last.len_utf8()]) {
            return Some(format!("{sym}{a}"));
        }
    }
    None
}

/// Classifies a run of word characters (a piece of a chunk, or a word rebuilt by joining or
/// leet folding): crypto address, amount with a currency code (`500usd`), number, or word.
/// A word or address borrows `p`; [`Item::into_owned`] keeps one made from a temporary.
pub(crate) fn classify_piece(p: &str, gap: Gap) -> Item<'_> {
    if is_crypto(p) {
        return Item::new(ItemKind::Crypto, p, gap);
    }
    if let Some(n) = parse_amount(p) {
        return Item::new(ItemKind::Number, n, gap);
    }
    if p.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        // The amount may end in a suffix (`5kusd`): try the first few letter positions.
        let first = p
            .bytes()
            .position(|b| b.is_ascii_alphabetic())
            .unwrap_or(p.len());
        for split in first..p.len().min(first + 3) {
            if !p.is_char_boundary(split) {
                break;
            }
            if let (Some(a), Some(sym)) = (parse_amount(&p[..split]), currency_word(&p[split..])) {
                return Item::new(ItemKind::Money, format!("{sym}{a}"), gap);
            }
        }
    }
    Item::new(ItemKind::Word, p, gap)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
}

/// Splits a chunk that is no entity into word pieces at punctuation. `'` inside a word is
/// dropped (`don't` -> `dont`); `@` between letters and `$` next to a letter (not before a
/// digit) are leetspeak for `a` and `s`; `+` right before digits and a currency symbol next
/// to an amount are kept as a phone prefix and a money amount.
fn split_words<'a>(c: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) {
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

/// A domain label in a spelled-out chain. A number that is a phone number by itself is
/// not one: phones are merged after domains, and a phone built from several digit groups
/// is spelled as one run of digits, which the next normalization must not take for a
/// label (`8l dot 8888888(843 dot pl`, found by fuzzing idempotence).
fn is_label(item: &Item) -> bool {
    item.is_wordlike()
        && !phone_digits(item).is_some_and(|(plus, digits)| is_phone(plus, &[digits]))
        && item.text != "dot"
        && item
            .text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_word(item: &Item, w: &str) -> bool {
    item.kind == ItemKind::Word && item.text == w
}

/// `example dot com` -> `example.com`; `john at example dot com` -> `john@example.com`.
/// The longest chain of `label dot label ...` that is a valid bare domain wins, exactly the
/// test [`classify_chunk`] applies to the merged spelling.
pub(crate) fn merge_dotted(items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    if !items.iter().any(|it| is_word(it, "dot")) {
        return items;
    }
    let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    let n = items.len();
    let mut out: Vec<Item> = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let chain_start = items[i].as_ref().is_some_and(is_label)
            && i + 2 < n
            && items[i + 1].as_ref().is_some_and(|it| is_word(it, "dot"))
            && items[i + 2].as_ref().is_some_and(is_label);
        if chain_start {
            let mut labels = vec![i];
            let mut j = i;
            while j + 2 < n
                && items[j + 1].as_ref().is_some_and(|it| is_word(it, "dot"))
                && items[j + 2].as_ref().is_some_and(is_label)
            {
                j += 2;
                labels.push(j);
            }
            let text = |k: usize| items[k].as_ref().map_or("", |it| &*it.text);
            // Only prefixes short enough to be a host name are tried (a host has at most
            // 253 characters), so a long chain costs linear time.
            let mut found = None;
            let mut len = 0;
            let mut fits = 0;
            for (idx, &k) in labels.iter().enumerate() {
                len += text(k).len() + usize::from(idx > 0);
                if len > 253 {
                    break;
                }
                fits = idx;
            }
            for last in (1..=fits).rev() {
                let host = labels[..=last]
                    .iter()
                    .map(|&k| text(k))
                    .collect::<Vec<_>>()
                    .join(".");
                if bare_domain(&host).is_some() {
                    found = Some((last, host));
                    break;
                }
            }
            if let Some((last, host)) = found {
                let gap = items[i].as_ref().map_or(Gap::Wide, |it| it.gap);
                let tail = out.len();
                let local =
                    (tail >= 2 && is_word(&out[tail - 1], "at") && is_label(&out[tail - 2]))
                        .then(|| email(&format!("{}@{host}", out[tail - 2].text)))
                        .flatten();
                match local {
                    Some((_, addr)) => {
                        let gap = out[tail - 2].gap;
                        out.truncate(tail - 2);
                        out.push(Item::new(ItemKind::Email, addr, gap));
                    }
                    None => out.push(Item::new(ItemKind::Url, host, gap)),
                }
                i = labels[last] + 1;
                continue;
            }
            // No prefix of this chain is a domain, and no later start inside it is either
            // (its labels were all tried): pass the whole chain through.
            let end = labels[labels.len() - 1];
            while i <= end {
                if let Some(it) = items[i].take() {
                    out.push(it);
                }
                i += 1;
            }
            continue;
        }
        if let Some(it) = items[i].take() {
            out.push(it);
        }
        i += 1;
    }
    out
}

fn amount_of(item: &Item) -> Option<String> {
    if !item.is_wordlike() || item.text.starts_with('+') {
        return None;
    }
    parse_amount(&item.text)
}

fn currency_of(item: &Item) -> Option<char> {
    match item.kind {
        ItemKind::CurSym => item.text.chars().next(),
        ItemKind::Word => currency_word(&item.text),
        _ => None,
    }
}

/// `$ 500`, `usd 500`, `500 usd`, `500 $`, `20 euros` -> a money item.
pub(crate) fn merge_money(items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    if has_money_pair(&items) {
        merge_money_pairs(items)
    } else {
        items
    }
}

/// Is a currency next to an amount anywhere? Most messages have none, and keep their item
/// list. An amount starts with a digit: that cheap test comes first, as most items are
/// words (and testing each word for a currency first costs a mispredicted branch apiece).
fn has_money_pair(items: &[Item]) -> bool {
    let starts_with_digit =
        |item: &Item| item.text.as_bytes().first().is_some_and(u8::is_ascii_digit);
    items.windows(2).any(|pair| {
        let [a, b] = pair else { return false };
        (starts_with_digit(b) && currency_of(a).is_some() && amount_of(b).is_some())
            || (starts_with_digit(a) && currency_of(b).is_some() && amount_of(a).is_some())
    })
}

fn merge_money_pairs(items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    let currencies: Vec<Option<char>> = items.iter().map(currency_of).collect();
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut iter = items.into_iter().zip(currencies).peekable();
    while let Some((it, currency)) = iter.next() {
        if let Some((next, next_currency)) = iter.peek() {
            let money = match currency {
                Some(sym) => amount_of(next).map(|a| format!("{sym}{a}")),
                None => next_currency.and_then(|sym| amount_of(&it).map(|a| format!("{sym}{a}"))),
            };
            if let Some(m) = money {
                iter.next();
                out.push(Item::new(ItemKind::Money, m, it.gap));
                continue;
            }
        }
        out.push(it);
    }
    out
}

fn phone_digits<'i>(item: &'i Item<'_>) -> Option<(bool, &'i str)> {
    if item.kind != ItemKind::Number {
        return None;
    }
    match item.text.strip_prefix('+') {
        Some(d) => Some((true, d)),
        None => is_plain_int(&item.text).then_some((false, &*item.text)),
    }
}

/// Is this sequence of digit groups a phone number? With a leading `+`: 8 to 15 digits;
/// without: 10 to 15. At most six groups, every group after the first at least two digits,
/// and not a date (`2024 01 15`).
fn is_phone(plus: bool, groups: &[&str]) -> bool {
    let total: usize = groups.iter().map(|g| g.len()).sum();
    let range = if plus { 8..=15 } else { 10..=15 };
    let date =
        groups.len() >= 3 && groups[0].len() == 4 && groups[1].len() <= 2 && groups[2].len() <= 2;
    range.contains(&total) && groups.len() <= 6 && groups[1..].iter().all(|g| g.len() >= 2) && !date
}

/// Does any run [`merge_phones`] would look at make a phone number? Most messages have
/// none, and keep their item list as it is.
fn has_phone_run(items: &[Item]) -> bool {
    let mut run: Vec<&str> = Vec::new();
    let mut run_plus = false;
    for item in items {
        let digits = phone_digits(item);
        if digits.is_none_or(|(plus, _)| plus) {
            if !run.is_empty() && is_phone(run_plus, &run) {
                return true;
            }
            run.clear();
        }
        if let Some((plus, group)) = digits {
            if run.is_empty() {
                run_plus = plus;
            }
            run.push(group);
        }
    }
    !run.is_empty() && is_phone(run_plus, &run)
}

/// Runs of digit groups (`+1 555 123 4567`, `(555) 123-4567`) that make a phone number
/// become one phone item: `+15551234567`. A `+` group starts a new run.
pub(crate) fn merge_phones(items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    if has_phone_run(&items) {
        merge_phone_runs(items)
    } else {
        items
    }
}

fn merge_phone_runs<'a>(items: Vec<Item<'a>>) -> Vec<Item<'a>> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut run: Vec<Item> = Vec::new();
    let flush = |run: &mut Vec<Item<'a>>, out: &mut Vec<Item<'a>>| {
        if run.is_empty() {
            return;
        }
        let plus = run[0].text.starts_with('+');
        let groups: Vec<&str> = run
            .iter()
            .map(|it| it.text.trim_start_matches('+'))
            .collect();
        if is_phone(plus, &groups) {
            let mut digits = String::with_capacity(16);
            if plus {
                digits.push('+');
            }
            groups.iter().for_each(|g| digits.push_str(g));
            let gap = run[0].gap;
            out.push(Item::new(ItemKind::Phone, digits, gap));
            run.clear();
        } else {
            out.append(run);
        }
    };
    for it in items {
        match phone_digits(&it) {
            Some((plus, _)) => {
                if plus {
                    flush(&mut run, &mut out);
                }
                run.push(it);
            }
            None => {
                flush(&mut run, &mut out);
                out.push(it);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(chunk: &str) -> Vec<(ItemKind, String)> {
        let mut out = Vec::new();
        classify_chunk(chunk, Gap::Start, &mut out);
        out.into_iter()
            .map(|it| (it.kind, it.text.into_owned()))
            .collect()
    }

    fn one(kind: ItemKind, text: &str) -> Vec<(ItemKind, String)> {
        vec![(kind, text.to_string())]
    }

    /// Chunks built from the pieces the entity tests look for, so that disguises,
    /// addresses and amounts come up often.
    fn chunk() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const PIECES: &[&str] = &[
            "[", "]", "(", ")", "{", "}", ".", ",", "'", "`", "!", ":", "/", "@", "$", "#", "+",
            "-", "dot", "at", "x", "ab", "7", "500", "k", "usd", "com", "www", "http", "ee", "[.]",
            "(dot)", "{at}", "(@)", "[/]", "[:]", "=", "\"", "<", ">", "_", "%", "&", "*", "?",
            "|", "~", ";", "\\", "<at>", "<dot>", "1e", "\u{7f}",
        ];
        proptest::collection::vec(proptest::sample::select(PIECES), 1..7)
            .prop_map(|pieces| pieces.concat())
    }

    /// The items of chunks separated by single spaces.
    fn chunk_items_of<'a>(chunks: &[&'a str]) -> Vec<Item<'a>> {
        let mut items = Vec::new();
        for chunk in chunks {
            classify_chunk(chunk, Gap::Space, &mut items);
        }
        items
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_000))]
        /// The plain-word and inert-punctuation shortcuts are only shortcuts: on any chunk,
        /// after any gap, they give the items the full sequence of tests gives.
        #[test]
        fn shortcuts_agree_with_every_test(
            raw in chunk(),
            gap in proptest::sample::select(&[Gap::Start, Gap::Space, Gap::Wide, Gap::Punct('-')][..]),
        ) {
            let (mut quick, mut full) = (Vec::new(), Vec::new());
            classify_chunk(&raw, gap, &mut quick);
            classify_any_chunk(&raw, gap, &mut full);
            proptest::prop_assert_eq!(quick, full, "{:?}", raw);
        }

        /// The quick test for phone runs says yes exactly when merging changes something.
        #[test]
        fn phone_run_test_agrees_with_merging(
            groups in proptest::collection::vec(
                proptest::sample::select(&["+1", "+44", "555", "12", "1234", "2024", "01", "word", "7"][..]),
                0..9,
            )
        ) {
            let items = chunk_items_of(&groups);
            let merged = merge_phone_runs(items.clone());
            proptest::prop_assert_eq!(has_phone_run(&items), merged != items, "{:?}", groups);
        }

        /// The quick test for money pairs says yes exactly when merging changes something.
        #[test]
        fn money_pair_test_agrees_with_merging(
            pieces in proptest::collection::vec(
                proptest::sample::select(&["$", "€", "usd", "euros", "500", "1,000", "5k", "+1", "word", "2.5", "x1"][..]),
                0..7,
            )
        ) {
            let items = chunk_items_of(&pieces);
            let merged = merge_money_pairs(items.clone());
            proptest::prop_assert_eq!(has_money_pair(&items), merged != items, "{:?}", pieces);
        }

        /// Undoing disguises leaves none to undo.
        #[test]
        fn deobfuscation_is_idempotent(raw in chunk()) {
            let once = deobfuscate(&raw).into_owned();
            let twice = deobfuscate(&once).into_owned();
            proptest::prop_assert_eq!(twice, once);
        }

        /// Scanning a text chunk by chunk finds the chunks `split(' ')` does, each read as
        /// it would be alone.
        #[test]
        fn scanning_in_place_finds_the_chunks(
            chunks in proptest::collection::vec(proptest::option::of(chunk()), 1..6)
        ) {
            let chunks: Vec<String> = chunks.into_iter().map(Option::unwrap_or_default).collect();
            let text = chunks.join(" ");
            let mut from = 0;
            for chunk in &chunks {
                let (end, core) = scan_chunk(&text, from);
                proptest::prop_assert_eq!(&text[from..end], chunk.as_str());
                proptest::prop_assert_eq!(core, scan_chunk(chunk, 0).1);
                from = end + 1;
            }
        }

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

    #[test]
    fn every_currency_word_is_read() {
        for (word, symbol) in CURRENCY_WORDS {
            assert_eq!(currency_word(word), Some(symbol), "{word}");
        }
        for word in [
            "us", "usda", "bitter", "double", "europe", "dollarss", "hello",
        ] {
            assert_eq!(currency_word(word), None, "{word}");
        }
    }

    #[test]
    fn plain_cores() {
        let cases = [
            ("hello", Some(("hello", false))),
            ("hello,", Some(("hello", false))),
            ("\"(hello)!", None),
            ("(hello)", None),
            ("hello)", Some(("hello", false))),
            ("...", None),
            ("a.b", None),
            ("a,,b", None),
            ("x1", Some(("x1", true))),
            ("7.", Some(("7", true))),
            ("caf\u{e9}", None),
            ("win$", None),
        ];
        for (raw, want) in cases {
            assert_eq!(plain_alphanumeric_core(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn urls_in_chunks() {
        use ItemKind::Url;
        let cases = [
            ("https://example.com/x", "https://example.com/x"),
            ("http://example.com/", "http://example.com"),
            ("hxxp://evil.zzz/login", "http://evil.zzz/login"),
            ("hxxps://evil.zzz", "https://evil.zzz"),
            ("h**p://evil.zzz", "http://evil.zzz"),
            ("hxxp[:]//evil[.]zzz", "http://evil.zzz"),
            ("http://1.2.3.4:8080/a", "http://1.2.3.4:8080/a"),
            ("(https://example.com/a).", "https://example.com/a"),
            ("example.com", "example.com"),
            ("example[.]com", "example.com"),
            ("example(.)com", "example.com"),
            ("example{.}com", "example.com"),
            ("example[dot]com", "example.com"),
            ("example(dot)com/x", "example.com/x"),
            ("www.example.zzz", "www.example.zzz"),
            ("bit.ly/3xyz", "bit.ly/3xyz"),
            ("example.com:8080/x", "example.com:8080/x"),
            ("<example.com>", "example.com"),
            (
                "sub.example.co.uk/path?q=1&r=2",
                "sub.example.co.uk/path?q=1&r=2",
            ),
        ];
        for (chunk, want) in cases {
            assert_eq!(kinds(chunk), one(Url, want), "{chunk}");
        }
        assert_eq!(
            kinds("click](http://evil.com)"),
            vec![
                (ItemKind::Word, "click".into()),
                (Url, "http://evil.com".into())
            ]
        );
        assert_eq!(
            kinds("[paypal.com](http://evil.com)"),
            vec![(Url, "paypal.com".into()), (Url, "http://evil.com".into())]
        );
        for not_url in [
            "node.js",
            "e.g.",
            "foo://bar",
            "http://",
            "http://nohost",
            "1.5.3",
        ] {
            assert!(kinds(not_url).iter().all(|(k, _)| *k != Url), "{not_url}");
        }
    }

    #[test]
    fn emails_in_chunks() {
        let cases = [
            ("john@example.com", "john@example.com"),
            ("john.doe+x@mail.example.org", "john.doe+x@mail.example.org"),
            ("mailto:john@example.com", "john@example.com"),
            ("john[at]example[dot]com", "john@example.com"),
            ("john(at)example(.)com", "john@example.com"),
            ("<john@example.zzz>,", "john@example.zzz"),
        ];
        for (chunk, want) in cases {
            assert_eq!(kinds(chunk), one(ItemKind::Email, want), "{chunk}");
        }
        assert_eq!(
            kinds("email:john@example.com"),
            vec![
                (ItemKind::Word, "email".into()),
                (ItemKind::Email, "john@example.com".into())
            ]
        );
        for not_email in ["@john", "john@", "a@b", "a@b@c.com"] {
            assert!(
                kinds(not_email).iter().all(|(k, _)| *k != ItemKind::Email),
                "{not_email}"
            );
        }
    }

    #[test]
    fn money_numbers_crypto_in_chunks() {
        use ItemKind::{Crypto, Money, Number};
        let cases = [
            ("$1,000", Money, "$1000"),
            ("$1,000,000.50", Money, "$1000000.50"),
            ("€500", Money, "€500"),
            ("500€", Money, "€500"),
            ("£20.", Money, "£20"),
            ("$5k", Money, "$5k"),
            ("1000usd", Money, "$1000"),
            ("5kusd", Money, "$5k"),
            ("1,000", Number, "1000"),
            ("19.99", Number, "19.99"),
            ("+44", Number, "+44"),
            ("2.5m", Number, "2.5m"),
            (
                "0x52908400098527886e0f7030069857d2e4169ee7",
                Crypto,
                "0x52908400098527886e0f7030069857d2e4169ee7",
            ),
            (
                "1bvbmseystwetqtfn5au4m4gfg7xjanvn2",
                Crypto,
                "1bvbmseystwetqtfn5au4m4gfg7xjanvn2",
            ),
            (
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                Crypto,
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            ),
            (
                "tn9rrtxjhgjpt5mo7akynhhqrfxmkdsb27",
                Crypto,
                "tn9rrtxjhgjpt5mo7akynhhqrfxmkdsb27",
            ),
        ];
        for (chunk, kind, want) in cases {
            assert_eq!(kinds(chunk), one(kind, want), "{chunk}");
        }
        assert_eq!(kinds("$"), one(ItemKind::CurSym, "$"));
        assert_eq!(
            kinds("price:$500/month"),
            vec![
                (ItemKind::Word, "price".into()),
                (Money, "$500".into()),
                (ItemKind::Word, "month".into())
            ]
        );
        assert!(!is_crypto("1nvestmentopportunitiesnow"));
        for bad in ["1,00", "12,3456", "1.", ".5", "5x", ""] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn words_in_chunks() {
        let w = |s: &str| {
            s.split(' ')
                .map(|x| (ItemKind::Word, x.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds("don't"), w("dont"));
        assert_eq!(kinds("c@sh"), w("cash"));
        assert_eq!(kinds("ca$h"), w("cash"));
        assert_eq!(kinds("$ave"), w("save"));
        assert_eq!(kinds("well-known"), w("well known"));
        assert_eq!(kinds("\"hello,world!\""), w("hello world"));
        assert_eq!(kinds("[.]"), w("dot"));
        assert_eq!(kinds("(at)"), w("at"));
        assert!(kinds("...").is_empty());
        // Runs are cut in pieces read straight from the chunk too (the character fold cuts
        // them first in a message, but a chunk may come from elsewhere).
        assert_eq!(kinds("-wooooow-"), w("wooow"));
        assert_eq!(kinds("<eeee>x"), w("eee x"));
        assert_eq!(kinds("a\"b\"cccc"), w("a b ccc"));
        assert_eq!(kinds("hel'lll=x"), w("helll x"));
        let mut out = Vec::new();
        classify_chunk("f.r.e.e", Gap::Space, &mut out);
        let gaps: Vec<Gap> = out.iter().map(|it| it.gap).collect();
        assert_eq!(
            gaps,
            [
                Gap::Space,
                Gap::Punct('.'),
                Gap::Punct('.'),
                Gap::Punct('.')
            ]
        );
    }

    fn items<'a>(words: &[&'a str]) -> Vec<Item<'a>> {
        let mut out = Vec::new();
        for w in words {
            classify_chunk(w, Gap::Space, &mut out);
        }
        out
    }

    fn texts<'i>(items: &'i [Item<'_>]) -> Vec<(ItemKind, &'i str)> {
        items.iter().map(|it| (it.kind, &*it.text)).collect()
    }

    #[test]
    fn merges() {
        use ItemKind::{Email, Money, Phone, Url, Word};
        let m = merge_dotted(items(&["visit", "example", "dot", "com", "now"]));
        assert_eq!(
            texts(&m),
            [(Word, "visit"), (Url, "example.com"), (Word, "now")]
        );
        let m = merge_dotted(items(&["www", "dot", "example", "dot", "co", "dot", "uk"]));
        assert_eq!(texts(&m), [(Url, "www.example.co.uk")]);
        let m = merge_dotted(items(&["example", "dot", "com", "dot", "foo"]));
        assert_eq!(
            texts(&m),
            [(Url, "example.com"), (Word, "dot"), (Word, "foo")]
        );
        let m = merge_dotted(items(&["john", "at", "gmail", "dot", "com"]));
        assert_eq!(texts(&m), [(Email, "john@gmail.com")]);
        let m = merge_dotted(items(&["a", "dot", "b"]));
        assert_eq!(texts(&m), [(Word, "a"), (Word, "dot"), (Word, "b")]);

        let m = merge_money(items(&["$", "500", "now"]));
        assert_eq!(texts(&m), [(Money, "$500"), (Word, "now")]);
        let m = merge_money(items(&["1,000", "usd"]));
        assert_eq!(texts(&m), [(Money, "$1000")]);
        let m = merge_money(items(&["usd", "20", "euros"]));
        assert_eq!(texts(&m), [(Money, "$20"), (Word, "euros")]);
        let m = merge_money(items(&["5k", "dollars"]));
        assert_eq!(texts(&m), [(Money, "$5k")]);

        let m = merge_phones(items(&["+1", "(555)", "123-4567"]));
        assert_eq!(texts(&m), [(Phone, "+15551234567")]);
        let m = merge_phones(items(&["call", "555.123.4567"]));
        assert_eq!(texts(&m), [(Word, "call"), (Phone, "5551234567")]);
        let m = merge_phones(items(&["+44", "20", "7946", "0958"]));
        assert_eq!(texts(&m), [(Phone, "+442079460958")]);
        let m = merge_phones(items(&["2024-01-15", "10:30"]));
        assert!(m.iter().all(|it| it.kind != Phone));
        let m = merge_phones(items(&["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]));
        assert!(m.iter().all(|it| it.kind != Phone));
    }
}
