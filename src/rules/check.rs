//! `rules check`: every rule's examples, run through the real normalizer and matcher.

use super::RuleSet;
use crate::domain::{Format, RenderedBody};
use crate::text::{normalize, normalize_with_links, Normalized};

/// Examples are plain text, or markdown when prefixed with `markdown:` (for link checks).
fn normalize_example(example: &str) -> Normalized {
    match example.strip_prefix("markdown:") {
        Some(markdown) => {
            let body = RenderedBody::render(Format::Markdown, markdown.trim_start());
            normalize_with_links(&body.visible_text, &body.links)
        }
        None => normalize(example),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExampleFailure {
    pub file: String,
    pub rule: String,
    pub example: String,
    /// True when the example should have matched and did not.
    pub expected_match: bool,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.expected_match {
            "should match but does not"
        } else {
            "should not match but does"
        };
        write!(
            f,
            "{}: rule {}: example {:?} {what}",
            self.file, self.rule, self.example
        )
    }
}

/// Runs every example of every rule; returns the failures (empty when all pass).
pub fn check_examples(set: &RuleSet) -> Vec<ExampleFailure> {
    let mut failures = Vec::new();
    for rule in &set.rules {
        let cases = rule
            .examples
            .matching
            .iter()
            .map(|e| (e, true))
            .chain(rule.examples.no_match.iter().map(|e| (e, false)));
        for (example, expected_match) in cases {
            let hits = set.evaluate(&normalize_example(example));
            let matched = hits.iter().any(|h| h.id == rule.id);
            if matched != expected_match {
                failures.push(ExampleFailure {
                    file: rule.file.clone(),
                    rule: rule.id.clone(),
                    example: example.clone(),
                    expected_match,
                });
            }
        }
    }
    failures
}
