//! `sendguard train` and `sendguard eval`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::classify::{self, Evaluation, Model, TrainOptions};
use crate::domain::Label;
use crate::text;
use crate::tsv;

/// A bar on a terminal, nothing elsewhere (indicatif hides itself when stderr is not a TTY).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

#[derive(Serialize)]
struct TrainingFile {
    name: String,
    weight: u32,
    rows: usize,
    spam: usize,
    ham: usize,
    sha256: String,
    /// Whether the file's messages chose the thresholds.
    thresholds: bool,
}

/// Splits `FILE@N` into the file and its weight (default 1).
pub fn weighted_path(arg: &Path) -> anyhow::Result<(PathBuf, u32)> {
    let text = arg.to_string_lossy();
    match text.rsplit_once('@') {
        Some((file, weight))
            if !weight.is_empty() && weight.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let weight: u32 = weight.parse().ok().filter(|w| *w >= 1).ok_or_else(|| {
                anyhow::anyhow!("{text}: the weight after @ must be a whole number >= 1")
            })?;
            Ok((PathBuf::from(file), weight))
        }
        _ => Ok((arg.to_path_buf(), 1)),
    }
}

/// Trains on the TSV files (each `FILE` or `FILE@WEIGHT`) and writes the model.
/// `thresholds_from` names the files (as given, without `@WEIGHT`) whose messages choose
/// the thresholds; empty means all.
pub fn train(
    files: &[PathBuf],
    out: &Path,
    options: &TrainOptions,
    thresholds_from: &[PathBuf],
) -> anyhow::Result<Model> {
    for wanted in thresholds_from {
        let given = files
            .iter()
            .any(|arg| weighted_path(arg).is_ok_and(|(path, _)| &path == wanted));
        if !given {
            anyhow::bail!(
                "--thresholds-from {}: not one of the --data files",
                wanted.display()
            );
        }
    }
    let mut described = Vec::new();
    let mut rows = Vec::new();
    for arg in files {
        let (path, weight) = weighted_path(arg)?;
        let fits_thresholds = thresholds_from.is_empty() || thresholds_from.contains(&path);
        let path = &path;
        let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let file_rows = tsv::read(bytes.as_slice(), &path.display().to_string())?;
        let spam = file_rows.iter().filter(|r| r.label == Label::Spam).count();
        described.push(TrainingFile {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            weight,
            rows: file_rows.len(),
            spam,
            ham: file_rows.len() - spam,
            sha256: hex::encode(Sha256::digest(&bytes)),
            thresholds: fits_thresholds,
        });
        rows.extend(
            file_rows
                .into_iter()
                .map(|row| (weight, fits_thresholds, row)),
        );
    }
    if rows.is_empty() {
        anyhow::bail!("no training rows in {} file(s)", files.len());
    }
    // A model of one class has nothing to tell apart: it would be written with no features
    // and score everything alike, which is a mistake in the data, not a model.
    for (label, name) in [(Label::Spam, "spam"), (Label::Ham, "ham")] {
        if !rows.iter().any(|(_, _, row)| row.label == label) {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            anyhow::bail!(
                "{}: no {name} rows; training needs both spam and ham",
                names.join(", ")
            );
        }
    }
    let bar = progress(rows.len(), "features");
    let corpus =
        classify::Corpus::build_weighted(rows.iter().map(|(weight, fits_thresholds, row)| {
            bar.inc(1);
            (
                row.label,
                *weight,
                *fits_thresholds,
                classify::features(&text::normalize(&row.text))
                    .into_iter()
                    .filter(|feature| options.reads_tag(text::feature_key(feature).0))
                    .collect::<Vec<_>>(),
            )
        }));
    bar.finish_and_clear();
    let training = serde_json::json!({ "files": described, "rows": rows.len() });
    let model = classify::train(&corpus, options, training)?;
    classify::save(&model, out)?;
    Ok(model)
}

#[derive(Debug, Serialize)]
pub struct EvalReport {
    #[serde(flatten)]
    pub figures: Evaluation,
    /// Messages scored per second (normalize + score), one thread: rows over the median
    /// time of the timing passes.
    pub msgs_per_sec: f64,
    /// How many passes over the data were timed (up to [`TIMING_PASSES`]).
    pub timing_passes: usize,
    /// Scoring threads; `msgs_per_sec` is per run, not per thread.
    pub threads: usize,
    /// Which threshold the confusion counts use: `argmax` (the likelier class), `hold` or
    /// `other`.
    pub decision: String,
    /// The same figures at the model's hold threshold (ham false-positive target).
    pub at_hold_threshold: Evaluation,
}

/// Most timing passes over the evaluation data; the median pass gives `msgs_per_sec`, as
/// the scikit-learn peer script measures (median of 5 runs over texts already in memory).
pub const TIMING_PASSES: usize = 5;
/// No further timing pass starts once this much time was spent scoring, so evaluating a
/// large file costs about one pass.
const TIMING_BUDGET_SECS: f64 = 2.0;

/// Scores every row of `data` with `model`, on `threads` threads (the scores come back in
/// row order, identical for any thread count).
pub fn eval(
    model: &Model,
    data: &Path,
    decision: &str,
    threads: usize,
) -> anyhow::Result<EvalReport> {
    let rows = tsv::read_file(data)?;
    if rows.is_empty() {
        anyhow::bail!("{}: no rows", data.display());
    }
    let threads = threads.clamp(1, rows.len());
    let pool = if threads > 1 {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        Some(pool.map_err(|e| anyhow::anyhow!("--threads {threads}: {e}"))?)
    } else {
        None
    };
    let labels: Vec<Label> = rows.iter().map(|r| r.label).collect();
    // The first pass shows progress; the timed passes run without it.
    let bar = progress(rows.len(), "scoring");
    let started = Instant::now();
    let scores = score_rows(model, &rows, pool.as_ref(), Some(&bar));
    let mut spent = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let mut pass_secs = vec![spent];
    while pass_secs.len() < TIMING_PASSES && spent < TIMING_BUDGET_SECS {
        let started = Instant::now();
        let again = score_rows(model, &rows, pool.as_ref(), None);
        let secs = started.elapsed().as_secs_f64();
        debug_assert_eq!(again, scores);
        pass_secs.push(secs);
        spent += secs;
    }
    let timing_passes = pass_secs.len();
    let elapsed = median(&mut pass_secs);
    let threshold = match decision {
        "argmax" => model.argmax_threshold(),
        "hold" => model.thresholds.hold_above,
        "other" => model.thresholds.other_above,
        other => anyhow::bail!("--decision must be argmax, hold or other, not {other:?}"),
    };
    Ok(EvalReport {
        figures: classify::evaluate(&labels, &scores, threshold),
        msgs_per_sec: rows.len() as f64 / elapsed.max(1e-9),
        timing_passes,
        threads,
        decision: decision.to_string(),
        at_hold_threshold: classify::evaluate(&labels, &scores, model.thresholds.hold_above),
    })
}

/// Normalizes and scores each row: the decision scores, in row order; on `pool` if given.
fn score_rows(
    model: &Model,
    rows: &[tsv::Row],
    pool: Option<&rayon::ThreadPool>,
    bar: Option<&ProgressBar>,
) -> Vec<f64> {
    let score = |row: &tsv::Row| {
        if let Some(bar) = bar {
            bar.inc(1);
        }
        model.score_text(&row.text).decision
    };
    match pool {
        None => rows.iter().map(score).collect(),
        // Work-stealing in small batches: e-mails differ in length by orders of magnitude,
        // so equal contiguous shares would leave one thread idle while another finishes.
        Some(pool) => pool.install(|| rows.par_iter().with_min_len(8).map(score).collect()),
    }
}

/// The median of a non-empty sample (mean of the middle two for an even count).
fn median(sample: &mut [f64]) -> f64 {
    sample.sort_by(f64::total_cmp);
    let mid = sample.len() / 2;
    if sample.len() % 2 == 1 {
        sample[mid]
    } else {
        (sample[mid - 1] + sample[mid]) / 2.0
    }
}
