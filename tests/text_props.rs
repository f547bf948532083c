//! Property tests for `sendguard::text`: no panics on arbitrary Unicode, idempotence, and
//! every obfuscation trick folding back to the plain form.

use proptest::prelude::*;
use sendguard::text::{
    normalize, normalize_with_links, visit_features, FeatureVisitor, Link, Normalized, TokenKind,
};

/// Spells what a [`FeatureVisitor`] is told back into feature keys, pairs included.
#[derive(Default)]
struct SpelledKeys {
    keys: Vec<(u8, String)>,
    last_word: String,
}

impl FeatureVisitor for SpelledKeys {
    fn word(&mut self, text: &str, after_word: bool) {
        if after_word {
            let pair = format!("{} {text}", self.last_word);
            self.keys.push((TokenKind::Pair as u8, pair));
        }
        self.keys.push((TokenKind::Word as u8, text.to_string()));
        self.last_word = text.to_string();
    }

    fn feature(&mut self, tag: u8, text: &str) {
        self.keys.push((tag, text.to_string()));
    }
}

/// Normalizing the folded text gives the same text and the same tokens; and the
/// classifier's own reading of the input gives exactly those tokens' feature keys.
fn assert_idempotent(input: &str) -> Result<Normalized, TestCaseError> {
    let n = normalize(input);
    let mut read = SpelledKeys::default();
    visit_features(input, &mut read);
    let keys: Vec<(u8, String)> = n
        .tokens
        .iter()
        .map(|t| (t.feature_key().0, t.feature_key().1.to_string()))
        .collect();
    prop_assert_eq!(read.keys, keys, "input {:?}", input);
    // No item is spelled with a `<`, so the folded text holds no markup to take out again.
    prop_assert!(!n.text.contains('<'), "input {:?}: {:?}", input, n.text);
    let again = normalize(&n.text);
    prop_assert_eq!(&again.text, &n.text, "input {:?}", input);
    prop_assert_eq!(&again.tokens, &n.tokens, "input {:?}", input);
    prop_assert_eq!(again.url_count, n.url_count);
    Ok(n)
}

/// Fragments whose combinations exercise the interactions between folding steps.
const FRAGMENTS: &[&str] = &[
    "free",
    "money",
    "dot",
    "at",
    "com",
    "co",
    "uk",
    "example",
    "www",
    "bit.ly",
    "[.]",
    "(dot)",
    "[at]",
    ".",
    "-",
    "_",
    "*",
    ",",
    "'",
    "(",
    ")",
    "[",
    "]",
    ":",
    "/",
    "?",
    "=",
    "@",
    "$",
    "€",
    "usd",
    "euros",
    "k",
    "+",
    "+1",
    "555",
    "123",
    "4567",
    "2024",
    "01",
    "0",
    "1",
    "3",
    "4",
    "5",
    "7",
    "a",
    "b",
    "f",
    "r",
    "e",
    "x",
    "http://",
    "hxxp://",
    "https",
    "://",
    "mailto:",
    "0x",
    "bc1",
    " ",
    " ",
    " ",
    "  ",
    "\n",
    "\t",
    "😀",
    "👍",
    "\u{200B}",
    "\u{200D}",
    "\u{301}",
    "\u{FE0F}",
    "е",
    "ο",
    "ｆ",
    "𝐟",
    "ß",
    "🇫",
    "中",
    "न",
    "\u{94d}",
    "ﷺ",
    "ⅳ",
    "½",
    "™",
    // HTML markup, whole and in pieces.
    "<",
    ">",
    "<b>",
    "</b>",
    "<br>",
    "<br/>",
    "<a href=",
    "\"",
    "'",
    "<FONT color=red>",
    "<img src=http://x.example/p.gif>",
    "<!--",
    "-->",
    "<!doctype html>",
    "<td",
    "＜b＞",
];

fn fragment_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.concat())
}

const WORDS: &[&str] = &[
    "free",
    "money",
    "click",
    "winner",
    "urgent",
    "offer",
    "bonus",
    "invest",
    "prize",
    "account",
    "verify",
    "password",
    "limited",
    "exclusive",
    "guaranteed",
    "cash",
    "loan",
    "deal",
    "profit",
    "meeting",
    "project",
    "resume",
    "hiring",
    "congratulations",
];

/// One letter in disguise: Cyrillic/Greek look-alike, full-width, mathematical, circled, or
/// itself in upper case.
fn disguise(c: char, style: u8) -> String {
    let i = c as u32 - 'a' as u32;
    let homoglyph = match c {
        'a' => Some('а'),
        'c' => Some('с'),
        'e' => Some('е'),
        'o' => Some('о'),
        'p' => Some('р'),
        'x' => Some('х'),
        'y' => Some('у'),
        'i' => Some('і'),
        's' => Some('ѕ'),
        _ => None,
    };
    let mapped = match style % 6 {
        0 => homoglyph,
        1 => char::from_u32(0xFF41 + i),  // full-width
        2 => char::from_u32(0x1D41A + i), // mathematical bold
        3 => char::from_u32(0x1D5EE + i), // mathematical sans-serif bold
        4 => char::from_u32(0x24D0 + i),  // circled
        _ => None,
    };
    mapped.map_or_else(|| c.to_ascii_uppercase().to_string(), String::from)
}

fn leet_digit(c: char) -> Option<char> {
    Some(match c {
        'o' => '0',
        'i' => '1',
        'e' => '3',
        'a' => '4',
        's' => '5',
        't' => '7',
        'b' => '8',
        _ => return None,
    })
}

const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{AD}',
];

/// A word obfuscated with one trick, and whether it must be set off by a wide gap (spaced-out
/// letters are cut from their neighbours by two spaces, as spammers write them).
fn obfuscate(word: &str, trick: u8, seed: u64) -> (String, bool) {
    let chars: Vec<char> = word.chars().collect();
    let pick = |k: usize| (seed >> (k % 60)) & 1 == 1;
    match trick % 8 {
        0 => (
            chars
                .iter()
                .enumerate()
                .map(|(k, &c)| {
                    if pick(k) {
                        disguise(c, ((seed >> 3) as u8).wrapping_add(k as u8))
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
            false,
        ),
        1 => {
            let mut s = String::new();
            for (k, &c) in chars.iter().enumerate() {
                s.push(c);
                if k + 1 < chars.len() && pick(k) {
                    s.push(INVISIBLE[(seed as usize + k) % INVISIBLE.len()]);
                }
            }
            (s, false)
        }
        2 => {
            // leetspeak on inner letters only: the word starts and ends with a letter
            let n = chars.len();
            let s = chars
                .iter()
                .enumerate()
                .map(|(k, &c)| match leet_digit(c) {
                    Some(d) if k > 0 && k + 1 < n && pick(k) => d,
                    _ => c,
                })
                .collect();
            (s, false)
        }
        3 => (
            chars
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            true,
        ),
        4 => {
            let sep = [".", " . ", "-", "_", "*", "|"][(seed % 6) as usize];
            (
                chars
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(sep),
                sep.contains(' '),
            )
        }
        5 => {
            // accents: a combining mark after some letters
            let mut s = String::new();
            for (k, &c) in chars.iter().enumerate() {
                s.push(c);
                if pick(k) {
                    s.push(['\u{301}', '\u{308}', '\u{300}', '\u{327}'][k % 4]);
                }
            }
            (s, false)
        }
        6 => (word.to_uppercase(), false),
        _ => (word.to_string(), false),
    }
}

fn has_run_of_four(s: &str) -> bool {
    s.as_bytes()
        .windows(4)
        .any(|w| w.iter().all(|&c| c == w[0]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_idempotent_on_arbitrary_unicode(s in any::<String>()) {
        assert_idempotent(&s)?;
    }

    #[test]
    fn idempotent_on_printable_text(s in "\\PC{0,200}") {
        assert_idempotent(&s)?;
    }

    #[test]
    fn idempotent_on_fragment_soup(s in fragment_soup()) {
        assert_idempotent(&s)?;
    }

    #[test]
    fn links_never_panic(visible in fragment_soup(), text in fragment_soup(), target in fragment_soup()) {
        let n = normalize_with_links(&visible, &[Link { text, target }]);
        prop_assert_eq!(normalize(&n.text).text, n.text);
    }

    #[test]
    fn obfuscated_phrases_fold_to_plain(
        words in prop::collection::vec(prop::sample::select(WORDS), 1..6),
        tricks in prop::collection::vec(any::<u8>(), 6),
        seed in any::<u64>(),
    ) {
        let plain = words.join(" ");
        let mut input = String::new();
        let mut prev_wide = false;
        for (k, w) in words.iter().enumerate() {
            let (o, wide) = obfuscate(w, tricks[k], seed.rotate_left(k as u32 * 7));
            if k > 0 {
                input.push_str(if wide || prev_wide { "  " } else { " " });
            }
            input.push_str(&o);
            prev_wide = wide;
        }
        let n = assert_idempotent(&input)?;
        prop_assert_eq!(&n.text, &plain, "input {:?}", input);
        let words_out = n.tokens.iter().filter(|t| t.kind == TokenKind::Word).count();
        prop_assert_eq!(words_out, words.len());
    }

    #[test]
    fn obfuscated_links_extract_the_domain(
        name in "[a-z]{3,10}",
        tld in prop::sample::select(&["com", "net", "org", "io", "xyz", "co.uk", "ru"][..]),
        style in 0u8..8,
        path in "(/[a-z0-9]{1,6}){0,2}",
    ) {
        prop_assume!(!has_run_of_four(&name));
        let host = format!("{name}.{tld}");
        let input = match style {
            0 => format!("see https://{host}{path} now"),
            1 => format!("see hxxp://{}{path} now", host.replace('.', "[.]")),
            2 => format!("see hxxps[:]//{}{path} now", host.replace('.', "(dot)")),
            3 => format!("see {} now", host.replace('.', " dot ")),
            4 => format!("see {} now", host.replace('.', " [.] ")),
            5 => format!("see {host}{path}, now"),
            6 => format!("see www.{host}{path} now"),
            _ => format!("see ({}{path}) now", host.to_uppercase()),
        };
        let n = assert_idempotent(&input)?;
        prop_assert_eq!(n.url_count, 1, "{:?} -> {:?}", input, n.text);
        let dom = n.tokens.iter().find(|t| t.kind == TokenKind::Domain).map(|t| t.text.clone());
        prop_assert_eq!(dom, Some(host.clone()), "{:?} -> {:?}", input, n.text);
    }

    #[test]
    fn emails_and_phones_extract(
        user in "[a-z]{2,8}",
        name in "[a-z]{3,8}",
        style in 0u8..4,
        area in 200u32..999, mid in 200u32..999, last in 0u32..9999,
    ) {
        // runs of four letters are folded to three: keep the names plain
        prop_assume!(!has_run_of_four(&user) && !has_run_of_four(&name));
        // a user or domain named "dot" (or "at", "com") reads as the spelled-out separators
        prop_assume!(!["at", "dot", "com"].contains(&name.as_str()));
        prop_assume!(!["at", "dot", "com"].contains(&user.as_str()));
        let email = match style {
            0 => format!("{user}@{name}.com"),
            1 => format!("{user} at {name} dot com"),
            2 => format!("{user}[at]{name}[dot]com"),
            _ => format!("{user} (at) {name} (dot) com"),
        };
        let phone = match style {
            0 => format!("+1 ({area}) {mid}-{last:04}"),
            1 => format!("{area}.{mid}.{last:04}"),
            2 => format!("{area}-{mid}-{last:04}"),
            _ => format!("+1{area}{mid}{last:04}"),
        };
        let n = assert_idempotent(&format!("write {email} or call {phone} today"))?;
        let kinds: Vec<TokenKind> = n.tokens.iter().map(|t| t.kind).collect();
        prop_assert!(kinds.contains(&TokenKind::Email), "{:?}", n.text);
        prop_assert!(kinds.contains(&TokenKind::Phone), "{:?}", n.text);
        let mail = n.tokens.iter().find(|t| t.kind == TokenKind::Email).map(|t| t.text.clone());
        prop_assert_eq!(mail, Some(format!("{user}@{name}.com")));
    }
}
