//! `sendguard report --data DIR [--from DATE] [--to DATE] --format html|json|csv --out FILE`.

use std::path::Path;

use anyhow::{bail, Context};

use crate::dates;
use crate::domain::Millis;
use crate::report::{self, Format, ReportOptions};
use crate::Store;

/// Parses the command's arguments into report options; `now` is the report time.
pub fn options(from: Option<&str>, to: Option<&str>, now: Millis) -> anyhow::Result<ReportOptions> {
    let parse = |name: &str, text: Option<&str>| -> anyhow::Result<Option<Millis>> {
        text.map(|t| dates::parse_time(t).map_err(|e| anyhow::anyhow!("--{name}: {e}")))
            .transpose()
    };
    let from = parse("from", from)?;
    let to = parse("to", to)?;
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            bail!("--from must be before --to (the end is exclusive)");
        }
    }
    Ok(ReportOptions::new(from, to, now))
}

/// Writes the report of the store in `data` to `out`; returns the bytes written.
pub fn write(
    data: &Path,
    options: &ReportOptions,
    format: &str,
    out: &Path,
) -> anyhow::Result<usize> {
    let Some(format) = Format::parse(format) else {
        bail!("--format must be html, json or csv, not {format:?}");
    };
    let store = Store::open_existing(data)?;
    let text = report::render(&store, options, format)
        .with_context(|| format!("reading {}", data.display()))?;
    std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
    Ok(text.len())
}
