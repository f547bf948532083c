//! Entity recognition on one spelling: URLs with a scheme (`http`, `https`, `hxxp`,
//! `hxxps`, `h**p`, `ftp`), e-mail addresses, bare domains with a known TLD
//! (`example.com/x`), crypto addresses, money amounts (`$1,000`, `500€`, `500usd`) and
//! numbers. Hand-written linear scanners, no regex; the chunk scanner (`scan.rs`) asks them
//! in order, and the word splitter, the spaced-letter join and the cross-item merges ask
//! them about the spellings they build.
//!
//! Every entity comes out in a canonical spelling (lowercase, scheme kept, `hxxp` ->
//! `http`, commas out of amounts) that these tests read back as the very same entity. That
//! is what makes normalization idempotent.

use super::bytes::is_trim_byte;
use super::domains;
use super::fold::currency_symbol;
use super::item::{Gap, Item, ItemKind};

/// A URL ends before a `<` or `>`: neither may appear in one (RFC 3986), and in text they
/// are what wraps a link (`<https://example.com>`) or what follows it in markup
/// (`https://example.com/">here`). So no item is ever spelled with one, and the folded text
/// never holds markup that normalizing it again would take out (`markup.rs`).
fn before_angle_bracket(s: &str) -> &str {
    s.find(['<', '>']).map_or(s, |end| &s[..end])
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
pub(super) fn scheme_url(c: &str, pos: usize) -> Option<(usize, String)> {
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
    let rest = trim_url_tail(before_angle_bracket(&c[pos + 3..]));
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
pub(super) fn email(c: &str) -> Option<(usize, String)> {
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
pub(super) fn bare_domain(c: &str) -> Option<String> {
    let c = before_angle_bracket(c);
    let end = c.find(['/', '?', '#']).unwrap_or(c.len());
    let host = domains::strip_port(&c[..end])?;
    if !domains::is_bare_host(host) {
        return None;
    }
    Some(trim_url_tail(c).to_string())
}

/// Bitcoin (legacy `1`/`3` and bech32 `bc1`), Ethereum (`0x` + 40 hex) and Tron (`t` + 33)
/// addresses, in the lowercase the folded text has.
pub(super) fn is_crypto(c: &str) -> bool {
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
pub(super) fn parse_amount(s: &str) -> Option<String> {
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

pub(super) fn is_plain_int(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A number chunk: an amount, or `+` and digits (a country code or a whole phone number).
pub(super) fn number_chunk(c: &str) -> Option<String> {
    if let Some(digits) = c.strip_prefix('+') {
        return (is_plain_int(digits) && digits.len() <= 15).then(|| c.to_string());
    }
    parse_amount(c)
}

/// Currency words next to an amount: `500 usd`, `20 euros`, `usd 500`.
pub(super) fn currency_word(w: &str) -> Option<char> {
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
pub(super) fn money_chunk(c: &str) -> Option<String> {
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
pub(super) fn classify_piece(p: &str, gap: Gap) -> Item<'_> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
