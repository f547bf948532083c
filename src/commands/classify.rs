//! `sendguard classify`: verdicts for messages on stdin (TSV, or one text per line).

use std::io::{BufRead, Write};

use serde::Serialize;

use crate::domain::Relationship;
use crate::domain::{Decision, Format, Reason, RenderedBody};
use crate::engine::{AssessInput, Engine};
use crate::tsv;

#[derive(Serialize)]
struct Line<'a> {
    n: usize,
    decision: Decision,
    spam: bool,
    score: Option<f64>,
    reasons: &'a [Reason],
}

/// The plain output's header: the columns are named so the table reads without the docs.
pub const HEADER: &str = "n\tdecision\tscore\treasons";

/// Reads messages from `input` and writes one verdict per message, in input order. A line
/// that starts with `spam<TAB>` or `ham<TAB>` is read as TSV; any other line is the text.
/// Plain output is a TSV table under [`HEADER`]: `score` is the classifier's spam
/// probability and `reasons` the cited rule and classifier ids (`-` for none).
pub fn classify(
    engine: &Engine,
    input: impl BufRead,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<usize> {
    let mut n = 0;
    if !json {
        writeln!(out, "{HEADER}")?;
    }
    for (index, line) in input.split(b'\n').enumerate() {
        let line = line?;
        let number = index + 1;
        let line = std::str::from_utf8(&line)
            .map_err(|e| anyhow::anyhow!("stdin:{number}: not UTF-8: {e}"))?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let text = if line.starts_with("spam\t")
            || line.starts_with("ham\t")
            || line.starts_with("label\t")
        {
            match tsv::parse_line(line, number)
                .map_err(|e| anyhow::anyhow!("stdin:{number}: {e}"))?
            {
                Some(row) => row.text,
                None => continue,
            }
        } else if line.is_empty() {
            continue;
        } else {
            line.to_string()
        };
        n += 1;
        let message = engine.normalize(&RenderedBody::render(Format::Text, &text));
        let verdict = engine.assess(&AssessInput {
            message: &message,
            relationship: Relationship::default(),
            behaviour: &[],
        });
        let spam = verdict.decision == Decision::Held || verdict.refused.is_some();
        if json {
            let line = Line {
                n,
                decision: verdict.decision,
                spam,
                score: verdict.score,
                reasons: &verdict.reasons,
            };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        } else {
            // Every reason, the relationship's first: a stranger's ordinary message goes to
            // Other on that reason alone, and a row without it would look unexplained.
            let ids: Vec<&str> = verdict.reasons.iter().map(|r| r.id.as_str()).collect();
            let ids = if ids.is_empty() {
                "-".to_string()
            } else {
                ids.join(",")
            };
            writeln!(
                out,
                "{n}\t{}\t{:.4}\t{ids}",
                verdict.decision.as_str(),
                verdict.score.unwrap_or(0.0),
            )?;
        }
    }
    Ok(n)
}
