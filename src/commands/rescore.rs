//! `sendguard rescore`: the batch rescore of a store that no server holds.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::batch::{self, Inputs, Options, Report};
use crate::config::Config;
use crate::domain::Millis;
use crate::store::{Store, StoreError};

/// The command's arguments, as parsed by `main.rs`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub data: PathBuf,
    /// Overrides the config's model (itself the shipped model by default).
    pub model: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    /// `YYYY-MM-DD` or epoch milliseconds: messages sent before are left alone.
    pub since: Option<String>,
    pub apply: bool,
    /// The config file whose `[policy]` and `[engine]` the server runs with.
    pub config: Option<PathBuf>,
    pub max_messages: Option<u64>,
    pub now: Millis,
}

/// Opens the store, rescores it and returns the report.
pub fn run(args: &Args) -> anyhow::Result<Report> {
    let config = Config::load(args.config.as_deref())?;
    let since = args
        .since
        .as_deref()
        .map(|text| crate::dates::parse_time(text).map_err(|e| anyhow::anyhow!("--since: {e}")))
        .transpose()?;
    let rules = args.rules.clone().or(config.engine.rules_dir);
    let model = args.model.clone().or(config.engine.model);
    let inputs =
        Inputs::load_or_shipped(&config.policy, rules.as_deref(), model.as_deref(), since)?;
    // The config's `[store] keys_file` opens sealed message text (the environment's keys
    // are read on open already).
    let keys = crate::store::crypt::Sealer::configured(config.store.keys_file.as_deref())?;
    let store = open(&args.data)?.with_sealer(keys);
    let options = Options {
        apply: args.apply,
        max_messages: args.max_messages,
        now: args.now,
        ..Options::default()
    };
    // Counting costs a pass over the keys: only worth it when a bar shows the ETA.
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| super::train::progress(store.message_count(), "rescoring"));
    let report = batch::rescore(&store, &inputs, &options, &mut |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

fn open(data: &Path) -> anyhow::Result<Store> {
    Store::open_existing(data).map_err(|error| match error {
        StoreError::Locked { path } => anyhow::anyhow!(
            "store at {path} is in use by another process, most likely a running server \
             (sled allows one process per store); rescore a live store through the server \
             instead: POST /v1/admin/rescore with the admin token"
        ),
        other => other.into(),
    })
}

/// The report for a person: counts, transitions with examples, rules and score bands.
pub fn print(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let d = &report.diff;
    let mode = if report.dry_run { "dry run" } else { "apply" };
    writeln!(
        out,
        "{mode}: rescored {} of {} messages (skipped: {} recalled, {} removed, {} text removed, {} before --since); \
         {} this run in {:.2} s, {:.0} msgs/sec{}",
        d.rescored,
        d.scanned,
        d.skipped.recalled,
        d.skipped.removed,
        d.skipped.text_removed,
        d.skipped.before_since,
        report.processed,
        report.elapsed_secs,
        report.msgs_per_sec,
        if report.resumed { ", resumed from a checkpoint" } else { "" }
    )?;
    let verb = if report.dry_run {
        "would change"
    } else {
        "changed"
    };
    writeln!(
        out,
        "{} {verb}, {} unchanged, {} left alone because a reviewer decided them{}",
        d.changed,
        d.unchanged,
        d.protected.values().map(|t| t.count).sum::<u64>(),
        if report.dry_run {
            String::new()
        } else {
            format!(
                ", {} changed meanwhile and left for the next run",
                d.conflicts
            )
        }
    )?;
    for (title, map) in [("transitions", &d.transitions), ("protected", &d.protected)] {
        if map.is_empty() {
            continue;
        }
        writeln!(out, "{title}:")?;
        for (name, t) in map {
            let examples: Vec<String> = t.examples.iter().map(u64::to_string).collect();
            writeln!(
                out,
                "  {name:<14} {:>9}  e.g. {}",
                t.count,
                examples.join(", ")
            )?;
        }
    }
    for (title, map) in [("rules", &d.rules), ("score bands", &d.score_bands)] {
        if map.is_empty() {
            continue;
        }
        writeln!(out, "{title} (messages before -> after; changes involved):")?;
        for (name, b) in map {
            let moves: Vec<String> = b
                .transitions
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            writeln!(
                out,
                "  {name:<40} {:>9} -> {:<9} {}",
                b.before,
                b.after,
                moves.join(", ")
            )?;
        }
    }
    if !report.complete {
        writeln!(
            out,
            "stopped early: run the same command again to continue from the checkpoint"
        )?;
    } else if report.dry_run && d.changed > 0 {
        writeln!(out, "run again with --apply to make these changes")?;
    }
    Ok(())
}
