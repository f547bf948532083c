//! HTML markup read as what it shows: an e-mail's HTML part, or a message pasted from one,
//! is its text.
//!
//! Tag names and attributes are not words. Read as words, `<font face=arial
//! color=#800080>` on every line of a mailing-list post, or a newsletter's table layout,
//! says "spam" louder than its text says anything (HTML is far commoner in spam), and the
//! pairs across a tag (`here font`) are noise. So each recognized tag becomes a space, and
//! the link targets in its `href` and `src` stay in the text: a link is evidence wherever
//! it is written. (The tag names as tokens of their own were tried, and read no better:
//! `models/MODEL.md`, "HTML markup read as text".)
//!
//! Only the names of HTML elements, alone or with attributes that have values, count as
//! tags, so `<3`, `a<b and b>c`, `<john@example.com>` and `<https://example.com>` stay
//! text. A `<` with no `>` within [`LONGEST_TAG`] bytes, or with another `<` first, is
//! text too. Comments (`<!-- -->`) and declarations
//! (`<!doctype html>`) are dropped without a name. Character references (`&nbsp;`) are
//! left as they are: decoding them changed nothing measurable (`models/MODEL.md`).
//!
//! Cost: one pass, linear in the text; text without a `<` is returned as it is, borrowed.

use std::borrow::Cow;

/// HTML element names, sorted, lowercase. `o:p` is Microsoft Word's paragraph, common in
/// e-mail.
const TAG_NAMES: [&str; 86] = [
    "a",
    "abbr",
    "address",
    "area",
    "b",
    "base",
    "basefont",
    "bdo",
    "big",
    "blink",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "dfn",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "fieldset",
    "font",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "link",
    "map",
    "marquee",
    "menu",
    "meta",
    "nobr",
    "noscript",
    "o:p",
    "object",
    "ol",
    "option",
    "p",
    "param",
    "pre",
    "q",
    "s",
    "script",
    "select",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "th",
    "thead",
    "title",
    "tr",
    "u",
];

/// How far a tag may run before its `>`: longer, and the `<` was text.
pub(super) const LONGEST_TAG: usize = 2048;

/// Character-folded text with its HTML markup taken out (see the module documentation):
/// each tag replaced by a space and the link targets it holds.
///
/// One pass, left to right. Taking a tag out can bring the pieces of another together
/// (`<a<b>href=x>` leaves `<a href=x>`); that residue is left as text, not taken out in
/// further passes, which a message nesting thousands of them would make quadratic. The
/// folded text spelled from the result never holds a `<` (no item is spelled with one; a
/// URL ends before it), so normalizing that text again finds no markup.
pub(super) fn strip_markup(folded: &str) -> Cow<'_, str> {
    let bytes = folded.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    let mut comment_ends = CommentEnds::default();
    while let Some(offset) = memchr::memchr(b'<', &bytes[at..]) {
        let start = at + offset;
        match markup_at(bytes, start, &mut comment_ends) {
            Some((end, markup)) => {
                if out.is_empty() {
                    out.reserve(folded.len());
                }
                out.push_str(&folded[copied..start]);
                out.push(' ');
                if markup == Markup::Tag {
                    for target in link_targets(&folded[start..end]) {
                        out.push_str(target);
                        out.push(' ');
                    }
                }
                copied = end;
                at = end;
            }
            None => at = start + 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(folded);
    }
    out.push_str(&folded[copied..]);
    Cow::Owned(out)
}

/// Where the next `-->` is, found once for all the comment openings before it: each
/// opening searching on its own would make `<!--<!--<!--…` cost its length times
/// [`LONGEST_TAG`].
#[derive(Default)]
struct CommentEnds {
    /// The last search's answer (`Some(None)`: no `-->` after where it started).
    found: Option<Option<usize>>,
}

impl CommentEnds {
    /// The first `-->` at or after `from` in `bytes`; `from` never decreases between calls,
    /// so an earlier answer still holds unless it lies before `from`.
    fn first_from(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        match self.found {
            Some(found) if found.is_none_or(|at| at >= from) => found,
            _ => {
                let found = bytes
                    .get(from..)?
                    .windows(3)
                    .position(|w| w == b"-->")
                    .map(|at| from + at);
                self.found = Some(found);
                found
            }
        }
    }
}

#[derive(PartialEq)]
enum Markup {
    Tag,
    /// A comment or a declaration.
    Other,
}

/// The markup starting at `bytes[start]` (a `<`): where it ends (after its `>`) and what
/// it is, or `None` when the `<` is text.
fn markup_at(
    bytes: &[u8],
    start: usize,
    comment_ends: &mut CommentEnds,
) -> Option<(usize, Markup)> {
    let rest = &bytes[start + 1..bytes.len().min(start + LONGEST_TAG)];
    if rest.starts_with(b"!--") {
        let end = comment_ends.first_from(bytes, start + 4)? + 3;
        return (end - start <= LONGEST_TAG).then_some((end, Markup::Other));
    }
    if let Some(declaration) = rest.strip_prefix(b"!") {
        if !declaration.first()?.is_ascii_alphabetic() {
            return None;
        }
        return Some((start + 2 + tag_end(declaration)?, Markup::Other));
    }
    let after_slash = usize::from(rest.first() == Some(&b'/'));
    let name_len = rest[after_slash..]
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b':'))
        .unwrap_or(rest.len() - after_slash);
    if !is_tag_name(&rest[after_slash..after_slash + name_len]) {
        return None;
    }
    let after_name = after_slash + name_len;
    let end = tag_end(&rest[after_name..])?;
    let inside = &rest[after_name..after_name + end - 1];
    // `<br>`, `<br/>`, `<br >`, or attributes with values: `a<b and b>c` is no tag.
    let tag_like = match inside.first() {
        None => true,
        Some(b'/') => inside.len() == 1,
        Some(b) if b.is_ascii_whitespace() => {
            inside.contains(&b'=') || inside.iter().all(|b| b.is_ascii_whitespace() || *b == b'/')
        }
        Some(_) => false,
    };
    if !tag_like {
        return None;
    }
    Some((start + 1 + after_name + end, Markup::Tag))
}

/// Bytes up to and including the first `>`, if no `<` comes before it.
fn tag_end(rest: &[u8]) -> Option<usize> {
    let close = rest.iter().position(|&b| b == b'>' || b == b'<')?;
    (rest[close] == b'>').then_some(close + 1)
}

/// Whether `name` (any case) is an HTML element's name.
fn is_tag_name(name: &[u8]) -> bool {
    let mut lower = [0u8; 10];
    let Some(lower) = lower.get_mut(..name.len()) else {
        return false;
    };
    for (l, b) in lower.iter_mut().zip(name) {
        *l = b.to_ascii_lowercase();
    }
    TAG_NAMES
        .binary_search_by(|tag| tag.as_bytes().cmp(lower))
        .is_ok()
}

/// The values of a tag's `href` and `src` attributes: where its links go.
fn link_targets(tag: &str) -> impl Iterator<Item = &str> {
    let bytes = tag.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let found = find_attribute(&bytes[at..])?;
        let value_start = at + found;
        let value = &tag[value_start..];
        let (value, consumed) = match value.as_bytes().first() {
            Some(&quote @ (b'"' | b'\'')) => {
                let inner = &value[1..];
                let close = inner.find(quote as char).unwrap_or(inner.len());
                (&inner[..close], 1 + close)
            }
            _ => {
                let close = value
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(value.len());
                (&value[..close], close)
            }
        };
        at = value_start + consumed.max(1);
        let value = value.trim();
        if !value.is_empty() {
            return Some(value);
        }
    })
}

/// Offset of the value of the next `href=` or `src=` (any case, spaces around `=`) in
/// `tag`, the name preceded by whitespace.
fn find_attribute(tag: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < tag.len() {
        if tag[i].is_ascii_whitespace() {
            let name_start = i + 1;
            let name_len = tag[name_start..]
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(tag.len() - name_start);
            let name = &tag[name_start..name_start + name_len];
            if name.eq_ignore_ascii_case(b"href") || name.eq_ignore_ascii_case(b"src") {
                let mut j = name_start + name_len;
                while tag.get(j).is_some_and(u8::is_ascii_whitespace) {
                    j += 1;
                }
                if tag.get(j) == Some(&b'=') {
                    j += 1;
                    while tag.get(j).is_some_and(u8::is_ascii_whitespace) {
                        j += 1;
                    }
                    return Some(j);
                }
            }
            i = name_start + name_len.max(1) - 1;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        strip_markup(text)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn tag_names_are_sorted_and_short() {
        assert!(TAG_NAMES.windows(2).all(|w| w[0] < w[1]));
        assert!(TAG_NAMES.iter().all(|t| t.len() <= 10));
    }

    #[test]
    fn tags_become_spaces() {
        let page = "<html><body><font face=arial color=#800080>hi</font><br>there</body>";
        assert_eq!(words(page), ["hi", "there"]);
        // A tag between two words parts them.
        assert_eq!(strip_markup("click<b>here</b>"), "click here ");
        assert_eq!(words("<P ALIGN=CENTER>Hi</P><o:p></o:p>"), ["Hi"]);
    }

    #[test]
    fn link_targets_stay() {
        let page = "<a href=\"http://evil.example/x\">win</a> \
            <img src='http://i.example/p.gif' width=1> <a HREF = http://b.example>b</a>";
        assert_eq!(
            words(page),
            [
                "http://evil.example/x",
                "win",
                "http://i.example/p.gif",
                "http://b.example",
                "b"
            ]
        );
    }

    #[test]
    fn comments_and_declarations_go_without_a_name() {
        assert_eq!(
            words("<!doctype html><!-- [if mso] x > y -->hello"),
            ["hello"]
        );
    }

    /// One pass: what taking a tag out brings together stays text, so nesting costs no
    /// more than its length.
    #[test]
    fn a_tag_made_by_taking_another_out_stays_text() {
        assert_eq!(strip_markup("<a<b>href=x>hi"), "<a href=x>hi");
        let nested = format!("{}<b>{}", "<a".repeat(3000), "href=x>".repeat(3000));
        assert_eq!(strip_markup(&nested).len(), nested.len() - 2);
    }

    #[test]
    fn what_is_not_a_tag_stays_text() {
        for text in [
            "i <3 you",
            "a<b and b>c",
            "<john@example.com>",
            "<https://example.com>",
            "<bold claim>",
            "<b unclosed",
            "<b <i>",
            "<!-- never closed",
            "x <! y>",
            "<>",
            "<",
        ] {
            let borrowed = matches!(strip_markup(text), Cow::Borrowed(_));
            let kept = if text == "<b <i>" { 0 } else { 1 };
            assert_eq!(usize::from(borrowed), kept, "{text:?}");
        }
        let long = format!("<b {}>", "x".repeat(LONGEST_TAG));
        assert!(matches!(strip_markup(&long), Cow::Borrowed(_)));
        let long_comment = format!("<!-- {} -->", "x".repeat(LONGEST_TAG));
        assert!(matches!(strip_markup(&long_comment), Cow::Borrowed(_)));
    }
}
