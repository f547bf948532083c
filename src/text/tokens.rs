//! The token stream: typed tokens with positions, and the folded text they are spelled in.
//!
//! The last stage: once the earlier stages have made the item list, [`assemble`] spells the
//! items into `Normalized::text` (single spaces between them) and emits the tokens. An item's index is its `position`; an entity yields its typed token
//! (and, for a URL, its domain and shortener tokens) at that position; two consecutive word
//! items yield a [`TokenKind::Pair`] at the first one's position.

use std::borrow::Cow;

use super::domains::{is_ipv4, is_shortener_host, registrable_domain};
use super::item::{Item, ItemKind};
use super::segment::{for_each_piece, has_unspaced};

/// What a token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenKind {
    /// A folded word or number (`free`, `2024`, `5k`).
    Word,
    /// Two adjacent words, `"free money"`.
    Pair,
    /// A URL, without its scheme: `example.com/x`.
    Url,
    /// The registrable domain of a URL: `example.com`.
    Domain,
    /// The registrable domain of a URL that goes through a known shortener: `bit.ly`.
    Shortener,
    /// A link whose visible text names another domain than its target: `paypal.com>evil.com`.
    LinkMismatch,
    /// An e-mail address.
    Email,
    /// A phone number, digits only with an optional leading `+`.
    Phone,
    /// A money amount, currency symbol first: `$1000`, `€5k`.
    Money,
    /// A cryptocurrency wallet address (Bitcoin, Ethereum, Tron).
    Crypto,
    /// One emoji.
    Emoji,
    /// The shape of a URL's host, emitted with each URL: empty for "a link", the public
    /// suffix with its dot (`.co.uk`, `.xyz`), or `-` for a hyphenated host. Unknown
    /// look-alike domains are each seen once; their shape is what recurs in spam.
    LinkShape,
}

/// One token of the stream the rules and the classifier consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub text: String,
    /// Index of the item (word, entity or emoji) in the message's word sequence.
    pub position: u32,
}

impl Token {
    /// Stable feature string the classifier uses, e.g. `w:free`, `p:free money`,
    /// `url:example.com/x`, `dom:example.com`, `short:bit.ly`,
    /// `mismatch:paypal.com>evil.com`, `email`, `phone`, `money`, `crypto`, `emoji:😀`.
    /// Addresses, numbers and amounts are deliberately reduced to their kind: the value
    /// itself is in `text` for rules that want it.
    pub fn feature(&self) -> String {
        let mut feature = String::with_capacity(self.text.len() + 8);
        self.write_feature(&mut feature);
        feature
    }

    /// Appends [`Token::feature`] to `out`, so a scorer can reuse one buffer per message.
    pub fn write_feature(&self, out: &mut String) {
        let (prefix, with_text) = feature_spelling(self.kind);
        out.push_str(prefix);
        if with_text {
            out.push_str(&self.text);
        }
    }

    /// The feature as a `(kind tag, text)` key, equal to [`feature_key`] of
    /// [`Token::feature`] but without spelling the feature out: what a lookup table keyed on
    /// features can hash directly.
    pub fn feature_key(&self) -> (u8, &str) {
        token_feature_key(self.kind, &self.text)
    }
}

/// The feature key of a token of `kind` spelled `text`: see [`Token::feature_key`].
pub(crate) fn token_feature_key(kind: TokenKind, text: &str) -> (u8, &str) {
    let text = if feature_spelling(kind).1 { text } else { "" };
    (kind as u8, text)
}

/// Every kind's feature prefix, and whether the token's text follows it.
const FEATURE_SPELLINGS: [(TokenKind, &str, bool); 12] = [
    (TokenKind::Word, "w:", true),
    (TokenKind::Pair, "p:", true),
    (TokenKind::Url, "url:", true),
    (TokenKind::Domain, "dom:", true),
    (TokenKind::Shortener, "short:", true),
    (TokenKind::LinkMismatch, "mismatch:", true),
    (TokenKind::Email, "email", false),
    (TokenKind::Phone, "phone", false),
    (TokenKind::Money, "money", false),
    (TokenKind::Crypto, "crypto", false),
    (TokenKind::Emoji, "emoji:", true),
    (TokenKind::LinkShape, "link:", true),
];

fn feature_spelling(kind: TokenKind) -> (&'static str, bool) {
    let (_, prefix, with_text) = FEATURE_SPELLINGS[kind as usize];
    (prefix, with_text)
}

/// Key tag of a feature string that no token spells (a hand-made vocabulary, say).
pub const OTHER_FEATURE: u8 = u8::MAX;

/// A feature string as the `(kind tag, text)` key [`Token::feature_key`] gives; a string no
/// token would spell is `(OTHER_FEATURE, feature)`.
pub fn feature_key(feature: &str) -> (u8, &str) {
    for (kind, prefix, with_text) in FEATURE_SPELLINGS {
        if with_text {
            if let Some(text) = feature.strip_prefix(prefix) {
                return (kind as u8, text);
            }
        } else if feature == prefix {
            return (kind as u8, "");
        }
    }
    (OTHER_FEATURE, feature)
}

/// The host part of a canonical URL (`https://user@host:8080/path` -> `host`).
pub(crate) fn url_host(url: &str) -> &str {
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    super::domains::strip_port(host).unwrap_or(host)
}

/// A canonical URL without its scheme: the URL token's text.
pub(crate) fn url_without_scheme(url: &str) -> &str {
    url.find("://").map_or(url, |i| &url[i + 3..])
}

/// Output of [`assemble`].
pub(crate) struct Assembled {
    pub text: String,
    pub tokens: Vec<Token>,
    pub url_count: u32,
}

/// Spells the items into the folded text and emits the token stream. `mismatches` holds
/// `(item index, "shown>target")` for link-mismatch tokens, sorted by item index.
pub(crate) fn assemble(items: Vec<Item<'_>>, mismatches: &[(usize, String)]) -> Assembled {
    let text_len = items.iter().map(|it| it.text.len() + 1).sum();
    let mut text = String::with_capacity(text_len);
    for item in &items {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&item.text);
    }
    let mut list = TokenList {
        tokens: Vec::with_capacity(items.len() * 2),
        prev_word: 0,
    };
    let unspaced = may_hold_unspaced(&text);
    let url_count = emit_tokens(items, mismatches, unspaced, &mut list);
    Assembled {
        text,
        tokens: list.tokens,
        url_count,
    }
}

/// Where [`emit_tokens`] sends the tokens.
pub(crate) trait TokenSink {
    /// A word or number item's [`TokenKind::Word`] token. `after_word`: the item before
    /// was one too, and the [`TokenKind::Pair`] of the two (at the previous position)
    /// comes first in the stream; spelling it is the sink's business, as not every sink
    /// needs it spelled.
    fn word(&mut self, text: Cow<'_, str>, position: u32, after_word: bool);
    /// Any other token.
    fn token(&mut self, kind: TokenKind, text: Cow<'_, str>, position: u32);
}

/// The token list of a [`super::Normalized`].
struct TokenList {
    tokens: Vec<Token>,
    /// Index in `tokens` of the last word token.
    prev_word: usize,
}

impl TokenSink for TokenList {
    fn word(&mut self, text: Cow<'_, str>, position: u32, after_word: bool) {
        if after_word {
            // At the first word's position: the item before, or this same item when both
            // are pieces of one unspaced-script word.
            let first = &self.tokens[self.prev_word];
            let mut pair = String::with_capacity(first.text.len() + 1 + text.len());
            pair.push_str(&first.text);
            pair.push(' ');
            pair.push_str(&text);
            let at = first.position;
            self.token(TokenKind::Pair, Cow::Owned(pair), at);
        }
        self.prev_word = self.tokens.len();
        self.token(TokenKind::Word, text, position);
    }

    fn token(&mut self, kind: TokenKind, text: Cow<'_, str>, position: u32) {
        self.tokens.push(Token {
            kind,
            text: text.into_owned(),
            position,
        });
    }
}

/// Whether `folded` may hold a character of an unspaced script: each is three or four
/// bytes in UTF-8, led by a byte of 0xE0 or more, so one scan of the whole text spares most
/// messages a test per word.
pub(crate) fn may_hold_unspaced(folded: &str) -> bool {
    folded.bytes().any(|b| b >= 0xE0)
}

/// Emits the items' tokens in stream order and returns the number of URLs. An item's text
/// is handed over as it is: a sink that only reads tokens copies nothing.
/// `unspaced`: the text may hold a word of a script written without spaces (see
/// [`may_hold_unspaced`]); when false, no word is tested for one.
pub(crate) fn emit_tokens(
    items: Vec<Item<'_>>,
    mismatches: &[(usize, String)],
    unspaced: bool,
    sink: &mut impl TokenSink,
) -> u32 {
    let mut url_count = 0;
    let mut after_word = false;
    let mut mismatches = mismatches.iter().peekable();
    for (index, item) in items.into_iter().enumerate() {
        let position = u32::try_from(index).unwrap_or(u32::MAX);
        let is_word = item.is_wordlike();
        match item.kind {
            ItemKind::Word if unspaced && has_unspaced(&item.text) => {
                let mut after = after_word;
                for_each_piece(&item.text, |piece| {
                    sink.word(Cow::Borrowed(piece), position, after);
                    after = true;
                });
            }
            ItemKind::Word | ItemKind::Number => sink.word(item.text, position, after_word),
            ItemKind::Url => {
                url_count += 1;
                let host = url_host(&item.text);
                let domain = registrable_domain(host);
                let url = Cow::Borrowed(url_without_scheme(&item.text));
                sink.token(TokenKind::Url, url, position);
                if is_shortener_host(host, &domain) {
                    sink.token(TokenKind::Shortener, Cow::Borrowed(&domain), position);
                }
                emit_link_shape(host, &domain, position, sink);
                sink.token(TokenKind::Domain, Cow::Owned(domain), position);
            }
            ItemKind::Email => sink.token(TokenKind::Email, item.text, position),
            ItemKind::Phone => sink.token(TokenKind::Phone, item.text, position),
            ItemKind::Money => sink.token(TokenKind::Money, item.text, position),
            ItemKind::Crypto => sink.token(TokenKind::Crypto, item.text, position),
            ItemKind::Emoji => sink.token(TokenKind::Emoji, item.text, position),
            ItemKind::CurSym => {}
        }
        while let Some((_, m)) = mismatches.next_if(|(i, _)| *i == index) {
            sink.token(TokenKind::LinkMismatch, Cow::Borrowed(m), position);
        }
        after_word = is_word;
    }
    url_count
}

/// A URL's [`TokenKind::LinkShape`] tokens: "a link", its public suffix (what follows the
/// registrable domain's first label; none for an IP address or a one-label host) and, when
/// the host holds a hyphen, `-`.
fn emit_link_shape(host: &str, domain: &str, position: u32, sink: &mut impl TokenSink) {
    sink.token(TokenKind::LinkShape, Cow::Borrowed(""), position);
    if !is_ipv4(domain) {
        if let Some(dot) = domain.find('.') {
            sink.token(
                TokenKind::LinkShape,
                Cow::Borrowed(&domain[dot..]),
                position,
            );
        }
    }
    if host.contains('-') {
        sink.token(TokenKind::LinkShape, Cow::Borrowed("-"), position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::item::Gap;

    #[test]
    fn features() {
        let t = |kind, text: &str| Token {
            kind,
            text: text.to_string(),
            position: 0,
        };
        let cases = [
            (t(TokenKind::Word, "free"), "w:free"),
            (t(TokenKind::Pair, "free money"), "p:free money"),
            (t(TokenKind::Url, "example.com/x"), "url:example.com/x"),
            (t(TokenKind::Domain, "example.com"), "dom:example.com"),
            (t(TokenKind::Shortener, "bit.ly"), "short:bit.ly"),
            (
                t(TokenKind::LinkMismatch, "paypal.com>evil.com"),
                "mismatch:paypal.com>evil.com",
            ),
            (t(TokenKind::Email, "a@b.com"), "email"),
            (t(TokenKind::Phone, "+15551234567"), "phone"),
            (t(TokenKind::Money, "$100"), "money"),
            (t(TokenKind::Crypto, "0xabc"), "crypto"),
            (t(TokenKind::Emoji, "😀"), "emoji:😀"),
            (t(TokenKind::LinkShape, ".co.uk"), "link:.co.uk"),
            (t(TokenKind::LinkShape, ""), "link:"),
        ];
        for (tok, want) in cases {
            assert_eq!(tok.feature(), want);
            assert_eq!(feature_key(want), tok.feature_key(), "{want}");
        }
        assert_eq!(feature_key("emailx"), (OTHER_FEATURE, "emailx"));
        assert_eq!(feature_key("free"), (OTHER_FEATURE, "free"));
    }

    #[test]
    fn spellings_are_in_kind_order() {
        for (i, (kind, _, _)) in FEATURE_SPELLINGS.iter().enumerate() {
            assert_eq!(*kind as usize, i);
        }
    }

    #[test]
    fn url_parts() {
        let cases = [
            (
                "https://user@evil.com:8080/x?y",
                "evil.com",
                "user@evil.com:8080/x?y",
            ),
            ("example.com/a#b", "example.com", "example.com/a#b"),
            ("http://1.2.3.4", "1.2.3.4", "1.2.3.4"),
        ];
        for (url, host, bare) in cases {
            assert_eq!(url_host(url), host);
            assert_eq!(url_without_scheme(url), bare);
        }
    }

    #[test]
    fn positions_and_pairs() {
        let items = vec![
            Item::new(ItemKind::Word, "click", Gap::Start),
            Item::new(ItemKind::Url, "https://bit.ly/x", Gap::Space),
            Item::new(ItemKind::Word, "free", Gap::Space),
            Item::new(ItemKind::Word, "money", Gap::Space),
        ];
        let a = assemble(items, &[(1, "a.com>bit.ly".into())]);
        assert_eq!(a.text, "click https://bit.ly/x free money");
        assert_eq!(a.url_count, 1);
        let got: Vec<(String, u32)> = a.tokens.iter().map(|t| (t.feature(), t.position)).collect();
        let want = [
            ("w:click", 0),
            ("url:bit.ly/x", 1),
            ("short:bit.ly", 1),
            ("link:", 1),
            ("link:.ly", 1),
            ("dom:bit.ly", 1),
            ("mismatch:a.com>bit.ly", 1),
            ("w:free", 2),
            ("p:free money", 2),
            ("w:money", 3),
        ];
        let want: Vec<(String, u32)> = want.iter().map(|(f, p)| (f.to_string(), *p)).collect();
        assert_eq!(got, want);
    }
}
