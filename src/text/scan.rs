//! Chunk scanning, the first pass over the character-folded text: it is cut at spaces into
//! chunks, and each chunk into items. Per chunk, in order:
//! 1. one pass over its bytes finds its end and its *plain core* (ASCII letters and digits
//!    with only punctuation around them, as most chunks are): such a chunk is a word or a
//!    number at once ([`classify_scanned_chunk`]);
//! 2. a chunk of letters, digits and inert punctuation goes straight to word splitting
//!    (`split.rs`);
//! 3. any other chunk: a bracketed separator alone or an emoji is an item by itself; else
//!    its disguises are undone (`disguise.rs`), its ends trimmed, and the entity tests
//!    (`entities.rs`) are tried in order: a URL with a scheme anywhere in the chunk, an
//!    e-mail address, a bare domain, a crypto address, a money amount, a number, a lone
//!    currency symbol; what is none of these is split into words (`split.rs`);
//! 4. the chunk's words are folded (`word_fold.rs`) while they are in the cache.

use std::borrow::Cow;

use super::bytes::{trim_punctuation, ALNUM, AROUND, BYTE_CLASSES, DIGIT, SPACE};
use super::disguise::{bracket_word, deobfuscate};
use super::entities::{
    bare_domain, classify_piece, email, is_crypto, money_chunk, number_chunk, scheme_url,
};
use super::fold::{currency_symbol, is_emoji};
use super::item::{Gap, Item, ItemKind};
use super::split::{split_inert_chunk, split_words};
use super::word_fold::{collapse_repeats, fold_words, is_settled};

/// Cuts character-folded text into items, chunk by chunk (chunks are separated by spaces),
/// and folds their words ([`fold_words`]) as they come, while they are in the cache; a
/// chunk of letters alone is folded already.
pub(super) fn chunk_items(folded: &str) -> Vec<Item<'_>> {
    chunk_items_then(folded, |new, letters_only| {
        debug_assert!(!letters_only || is_settled(&new[0].text));
        if !letters_only {
            fold_words(new);
        }
    })
}

/// Cuts character-folded text into items, handing each chunk's new items to `then` with
/// what [`classify_scanned_chunk`] says of them.
pub(super) fn chunk_items_then<'a>(
    folded: &'a str,
    mut then: impl FnMut(&mut [Item<'a>], bool),
) -> Vec<Item<'a>> {
    let mut items = Vec::with_capacity(folded.len() / 5 + 1);
    let mut gap = Gap::Start;
    let mut from = 0;
    loop {
        // One pass finds the chunk's end and reads its shape: each pass over a chunk ends
        // in a mispredicted branch, and chunks are a few bytes long.
        let (end, shape) = scan_chunk(folded, from);
        let chunk = &folded[from..end];
        let last = end == folded.len();
        from = end + 1;
        if chunk.is_empty() {
            if gap != Gap::Start {
                gap = Gap::Wide;
            }
            if last {
                break;
            }
            continue;
        }
        let before = items.len();
        let letters_only = classify_scanned_chunk(chunk, shape, gap, &mut items);
        then(&mut items[before..], letters_only);
        gap = if items.len() == before {
            // A chunk that was only punctuation. One character between single spaces still
            // counts as a narrow separator (`F . R . E . E`); anything else widens the gap.
            let mut cs = chunk.chars();
            match (gap, cs.next(), cs.next()) {
                (Gap::Start, _, _) => Gap::Start,
                (Gap::Space, Some(c), None) => Gap::Punct(c),
                _ => Gap::Wide,
            }
        } else {
            Gap::Space
        };
        if last {
            break;
        }
    }
    items
}

/// [`classify_scanned_chunk`] of a chunk on its own, its plain core read first: the whole
/// step in one call, for tests. (Chunking reads the core while it looks for the chunk's end.)
#[cfg(test)]
pub(super) fn classify_chunk<'a>(raw: &'a str, gap: Gap, out: &mut Vec<Item<'a>>) -> bool {
    classify_scanned_chunk(raw, plain_alphanumeric_core(raw), gap, out)
}

/// Classifies one chunk of folded text, whose plain core [`scan_chunk`] has read, and
/// appends its item(s). Returns true when the chunk was one word of ASCII letters (with
/// punctuation around it, perhaps), as most are: in folded text, where no letter repeats
/// more than [`MAX_REPEAT`] times, the word folds no further.
fn classify_scanned_chunk<'a>(
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
fn scan_chunk(text: &str, from: usize) -> (usize, Option<(&str, bool)>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::entities::parse_amount;
    use crate::text::test_chunks::chunk;

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
}
