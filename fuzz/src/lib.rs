//! The fuzz harnesses: one function per target, each checking properties beyond "does not
//! panic". They live in a library so the project's stable-toolchain test
//! (`tests/fuzz_corpus.rs`, which includes this file) replays the same checks over the
//! checked-in corpora and a seeded random stream, where `cargo fuzz` is not available.

use sendguard::app::SendRequest;
use sendguard::domain::{Format, RenderedBody};
use sendguard::server::extract::parse_json;
use sendguard::text;

/// Inputs longer than a message can be are refused before any parsing; fuzzing them only
/// slows the fuzzer down.
const MAX_INPUT: usize = 4 * 28_000;

/// The normalizer: total on any UTF-8, and idempotent on its own output (what rules and
/// the classifier match on must not change when normalized again).
pub fn normalize(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if input.len() > MAX_INPUT {
        return;
    }
    let once = text::normalize(input);
    let twice = text::normalize(&once.text);
    assert_eq!(
        twice.text, once.text,
        "normalize is not idempotent on {input:?}"
    );
}

/// The markdown body parser: total on any UTF-8; a link's text is part of what the
/// recipient sees; plain text is shown verbatim; the engine's normalizer accepts the result.
pub fn markdown(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if input.len() > MAX_INPUT {
        return;
    }
    let plain = RenderedBody::render(Format::Text, input);
    assert_eq!(plain.visible_text, input);
    let rendered = RenderedBody::render(Format::Markdown, input);
    for link in &rendered.links {
        assert!(
            rendered.visible_text.contains(link.text.as_str()),
            "link text {:?} not visible in {:?}",
            link.text,
            rendered.visible_text
        );
    }
    let _ = text::normalize_with_links(&rendered.visible_text, &rendered.links);
}

/// The rule pack loader: any text is a pack or an error, never a panic; a pack that
/// compiles can evaluate any message, including its own source.
pub fn rules(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if source.len() > MAX_INPUT {
        return;
    }
    let packs = vec![("fuzz.toml".to_string(), source.to_string())];
    if let Ok(rules) = sendguard::rules::compile(&packs) {
        let _ = rules.evaluate(&text::normalize(source));
        let _ = rules.evaluate(&text::normalize("hello, wire the fee to claim your prize"));
    }
}

/// The TSV reader: any bytes are rows or an error naming a line that exists; every row
/// read survives escaping and reading back unchanged.
pub fn tsv(data: &[u8]) {
    let lines = data.split(|&b| b == b'\n').count();
    match sendguard::tsv::read(data, "fuzz.tsv") {
        Ok(rows) => {
            for row in rows {
                assert!(row.line >= 1 && row.line <= lines);
                let label = match row.label {
                    sendguard::domain::Label::Spam => "spam",
                    sendguard::domain::Label::Ham => "ham",
                };
                let line = format!("{label}\t{}", sendguard::tsv::escape(&row.text));
                let again = sendguard::tsv::parse_line(&line, 2)
                    .expect("an escaped row parses")
                    .expect("an escaped row is not blank");
                assert_eq!(again.text, row.text);
                assert_eq!(again.label, row.label);
            }
        }
        Err(error) => {
            assert!(error.line >= 1 && error.line <= lines, "{error}");
            assert!(!error.message.is_empty());
        }
    }
}

/// The JSON send request: any bytes are a request or a 400 with `invalid_json` or
/// `invalid_field` (naming a field), never a panic or another status.
pub fn send_json(data: &[u8]) {
    match parse_json::<SendRequest>(data) {
        Ok(request) => {
            // What parsed is what the send path reads: the body is valid UTF-8 by type.
            let _ = request.body.chars().count();
        }
        Err(error) => {
            let error = error.0;
            assert_eq!(error.kind, sendguard::ErrorKind::Invalid, "{error:?}");
            assert!(
                matches!(error.code, "invalid_json" | "invalid_field"),
                "{error:?}"
            );
            if error.code == "invalid_field" {
                assert!(error.field.as_deref().is_some_and(|f| !f.is_empty()));
            }
        }
    }
}
