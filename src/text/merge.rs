//! Cross-item merges, after chunking and the spaced-letter join: entities spelled over
//! several items become one. In the order they run: `example dot com` (and `john at
//! example dot com`) -> a URL (an e-mail address), `500 usd` / `$ 500` -> a money amount,
//! runs of digit groups (`+1 (555) 123-4567`) -> a phone number. Each first asks a cheap
//! question (is there a `dot`, a currency next to an amount, a run that makes a phone?) and
//! hands most messages' item lists back untouched.

use super::entities::{bare_domain, currency_word, email, is_plain_int, parse_amount};
use super::item::{Gap, Item, ItemKind};

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
/// test ([`bare_domain`]) the chunk scanner applies to the merged spelling.
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
    use crate::text::scan::classify_chunk;

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
