//! `sendguard rules check [DIR]` and `sendguard rules scan --data FILE [DIR]`; without a
//! directory they read the packs built into the binary.

use std::io::Write;
use std::path::Path;

use crate::rules::check_examples;

/// Compiles the packs and runs every example; prints failures; returns whether all passed.
pub fn check(dir: Option<&Path>, out: &mut impl Write) -> anyhow::Result<bool> {
    let set = crate::shipped::rules(dir)?;
    let failures = check_examples(&set);
    let examples: usize = set
        .rules
        .iter()
        .map(|r| r.examples.matching.len() + r.examples.no_match.len())
        .sum();
    for failure in &failures {
        writeln!(out, "FAIL {failure}")?;
    }
    writeln!(
        out,
        "{} rules, {examples} examples, {} failed ({})",
        set.len(),
        failures.len(),
        set.source
    )?;
    Ok(failures.is_empty())
}

/// Per-rule hits on labelled data: how often each rule fires on spam and on ham rows.
pub fn scan(dir: Option<&Path>, data: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    use crate::domain::Label;
    let set = crate::shipped::rules(dir)?;
    let rows = crate::tsv::read_file(data)?;
    if rows.is_empty() {
        // All-zero counts would read as "no rule matches anything".
        anyhow::bail!("{}: no rows", data.display());
    }
    let mut counts = vec![[0usize; 2]; set.len()];
    let mut ham_hits = Vec::new();
    for row in &rows {
        let hits = set.evaluate(&crate::text::normalize(&row.text));
        for hit in &hits {
            let index = set.rules.iter().position(|r| r.id == hit.id).unwrap_or(0);
            counts[index][usize::from(row.label == Label::Spam)] += 1;
            if row.label == Label::Ham {
                ham_hits.push((row.line, hit.id.clone()));
            }
        }
    }
    writeln!(out, "rule\tspam_hits\tham_hits")?;
    for (rule, [ham, spam]) in set.rules.iter().zip(&counts) {
        writeln!(out, "{}\t{spam}\t{ham}", rule.id)?;
    }
    for (line, rule) in ham_hits {
        writeln!(out, "ham hit: {}:{line}: {rule}", data.display())?;
    }
    Ok(())
}
