//! `sendguard report (--data DIR | --url URL | --config FILE) [--from DATE] [--to DATE]
//! --format html|json|csv --out FILE`: the same report from a sled directory or from a
//! PostgreSQL store (`tests/report_postgres.rs` checks they agree on the same data).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::config::{Config, StoreBackend};
use crate::dates;
use crate::domain::Millis;
use crate::report::{self, Format, ReportOptions};
use crate::Store;

/// Which store a report reads.
#[derive(Debug, Clone)]
pub enum Source {
    /// A sled store directory (it must exist).
    Sled(PathBuf),
    /// A PostgreSQL store, by URL (`--url`) or the config's `[store]`.
    Postgres(crate::store::PgSettings),
}

impl Source {
    /// `--url` wins; then a config whose `[store] backend` is `postgres`; else `--data`.
    pub fn choose(
        data: PathBuf,
        config: Option<&Path>,
        url: Option<String>,
    ) -> anyhow::Result<Source> {
        let config = Config::load(config)?;
        if url.is_some() || config.store.backend == StoreBackend::Postgres {
            return Ok(Source::Postgres(super::store::settings(
                &config.store,
                url,
            )?));
        }
        Ok(Source::Sled(data))
    }

    fn open(&self) -> anyhow::Result<Store> {
        match self {
            Source::Sled(dir) => Ok(Store::open_existing(dir)?),
            Source::Postgres(settings) => Ok(Store::open_postgres(settings)?),
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Sled(dir) => dir.display().to_string(),
            Source::Postgres(_) => "the PostgreSQL store".to_string(),
        }
    }
}

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

/// Writes the report of the store `source` names to `out`; returns the bytes written.
pub fn write(
    source: &Source,
    options: &ReportOptions,
    format: &str,
    out: &Path,
) -> anyhow::Result<usize> {
    let Some(format) = Format::parse(format) else {
        bail!("--format must be html, json or csv, not {format:?}");
    };
    let store = source.open()?;
    let text = report::render(&store, options, format)
        .with_context(|| format!("reading {}", source.describe()))?;
    std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
    Ok(text.len())
}
