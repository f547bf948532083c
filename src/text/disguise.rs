//! Disguise undoing, the first thing done to a chunk that is not a plain word: separators
//! written in brackets (`example[.]com`, `(dot)`, `[at]`, `hxxp[:]//`) become the character
//! they stand for, so the entity tests see `example.com`; a chunk that is only such a
//! separator (`[.]`, `(at)`) becomes the word (`dot`, `at`) the cross-item merges read.

use std::borrow::Cow;

/// A chunk that is only a disguised separator: `[.]`, `(dot)` -> `dot`; `[at]`, `(@)` -> `at`.
pub(super) fn bracket_word(raw: &str) -> Option<&'static str> {
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
pub(super) fn deobfuscate(raw: &str) -> Cow<'_, str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::test_chunks::chunk;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4_000))]
        /// Undoing disguises leaves none to undo.
        #[test]
        fn deobfuscation_is_idempotent(raw in chunk()) {
            let once = deobfuscate(&raw).into_owned();
            let twice = deobfuscate(&once).into_owned();
            proptest::prop_assert_eq!(twice, once);
        }
    }
}
