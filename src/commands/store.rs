//! `sendguard migrate` and `sendguard store import`: the PostgreSQL store's schema, and the
//! copy of an embedded store into it.

use std::io::Write;
use std::path::Path;

use crate::config::StoreConfig;
use crate::store::{import_sled, PgSettings, Store};

/// The PostgreSQL settings of `[store]`, with `url` (when given) in place of the config's.
pub fn settings(config: &StoreConfig, url: Option<String>) -> anyhow::Result<PgSettings> {
    let mut config = config.clone();
    if url.is_some() {
        config.url = url;
    }
    if config.url.is_none() {
        anyhow::bail!("no PostgreSQL URL: pass --url, or --config with [store] url");
    }
    Ok(PgSettings::from_config(&config)?)
}

/// Applies the migrations not yet applied and says which (none is not an error).
pub fn migrate(settings: &PgSettings, out: &mut impl Write) -> anyhow::Result<()> {
    let applied = Store::migrate_postgres(settings)?;
    if applied.is_empty() {
        writeln!(out, "schema is current: no migration to apply")?;
    }
    for (version, name) in applied {
        writeln!(out, "applied migration {version:04} {name}")?;
    }
    Ok(())
}

/// Migrates the destination, copies the sled store in `from` into it and prints the
/// verification; `Ok(false)` when a count or a checksum differs.
pub fn import(from: &Path, settings: &PgSettings, out: &mut impl Write) -> anyhow::Result<bool> {
    let source = Store::open_existing(from)?;
    migrate(settings, out)?;
    let destination = Store::open_postgres(settings)?;
    let report = import_sled(&source, &destination)?;
    writeln!(out, "{:<26} {:>10} {:>12}", "table", "sled", "postgres")?;
    for table in &report.tables {
        writeln!(
            out,
            "{:<26} {:>10} {:>12}{}",
            table.table,
            table.source,
            table.destination,
            if table.source == table.destination {
                ""
            } else {
                "  MISMATCH"
            }
        )?;
    }
    writeln!(
        out,
        "checksums: {} sampled, {} mismatched{}",
        report.sampled,
        report.mismatched.len(),
        report
            .mismatched
            .iter()
            .take(10)
            .map(|key| format!("\n  {key}"))
            .collect::<String>()
    )?;
    let verified = report.verified();
    writeln!(
        out,
        "{}",
        if verified {
            "import verified"
        } else {
            "import NOT verified"
        }
    )?;
    Ok(verified)
}
