//! The `sendguard` command line: a thin clap layer over the library.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use sendguard::classify::{ModelKind, TrainOptions};
use sendguard::clock::SystemClock;
use sendguard::config::{Config, LogFormat};
use sendguard::{commands, App, Engine, Store};

#[derive(Parser)]
#[command(
    name = "sendguard",
    version,
    about = "Moderation and spam detection for private messages"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve {
        /// TOML config file (see sendguard.example.toml); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Store directory (overrides store.data_dir).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Listen address (overrides server.addr), e.g. 127.0.0.1:0 for any free port.
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
    },
    /// Create demo members, connections and a reviewer in a new store and print their tokens.
    ///
    /// The tokens are also written as shell exports to DATA/demo.env, so any terminal can
    /// `source` them later; to start over, stop the server and remove the store directory.
    Seed {
        /// Store directory (created).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Print `export NAME=value` lines for a shell instead of JSON.
        #[arg(long)]
        shell: bool,
    },
    /// Train the classifier on labelled TSV files.
    Train(TrainArgs),
    /// Evaluate a model on labelled TSV data.
    Eval {
        /// Model file (default: the built-in model).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long)]
        data: PathBuf,
        /// Threshold for the confusion counts: argmax (spam is the likelier class), hold or other.
        #[arg(long, default_value = "argmax")]
        decision: String,
        /// Scoring threads. The default, one, compares like for like with single-threaded
        /// peers; 0 means one per CPU core.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16))]
        threads: u16,
        /// Also run the whole pipeline (rules, classifier, policy) on every message, as a
        /// stranger's and as a connection's, and report per group: a comma-separated list
        /// of summary, category, lang (the file's `category` and `lang` columns) and length.
        #[arg(long, value_delimiter = ',')]
        by: Vec<String>,
        /// Rule packs for --by (default: the built-in packs).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Judge --by with the `[policy]` of this config file (default: the built-in
        /// policy): what a policy change would do, measured on labelled data first.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print JSON: one object (the classifier's figures, and the groups under --by).
        #[arg(long)]
        json: bool,
    },
    /// Verdicts (content checks only) for messages on stdin: TSV or one text per line.
    Classify {
        /// Model file [default: the model built into this binary].
        #[arg(long)]
        model: Option<PathBuf>,
        /// Rule pack directory [default: the packs built into this binary].
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Judge with the `[policy]` of this config file [default: the built-in policy].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print one JSON object per message instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rescore stored messages with a model and rule packs: a diff, and changes with --apply.
    ///
    /// The store must not be held by a running server (sled allows one process per store);
    /// to rescore a live store use the server's POST /v1/admin/rescore.
    Rescore {
        /// Store directory (not needed with --url, or a --config naming a PostgreSQL store).
        #[arg(long, required_unless_present_any = ["url", "config"])]
        data: Option<PathBuf>,
        /// Model file [default: the config's engine.model, else the built-in model].
        #[arg(long)]
        model: Option<PathBuf>,
        /// Rule pack directory [default: the config's engine.rules_dir, else the built-in packs].
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Only messages sent on or after this day (YYYY-MM-DD, UTC) or epoch millisecond.
        #[arg(long)]
        since: Option<String>,
        /// Make the changes (move, hold, release, audit); without it nothing changes.
        #[arg(long)]
        apply: bool,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        /// Config file whose [policy] (and [engine]) the server runs with.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Stop after this many messages; the same command continues from the checkpoint.
        #[arg(long)]
        max_messages: Option<u64>,
        /// PostgreSQL store to rescore (overrides --data and store.url).
        #[arg(long)]
        url: Option<String>,
        /// Split the job into tasks on NATS JetStream for `sendguard worker`s (PostgreSQL
        /// store only) and merge their partial diffs.
        #[arg(long)]
        distributed: bool,
        /// NATS URL of the work queue (overrides events.nats.url).
        #[arg(long)]
        nats: Option<String>,
        /// Subject prefix of the work queue (overrides events.nats.subject_prefix).
        #[arg(long)]
        prefix: Option<String>,
        /// Message ids per task (--distributed).
        #[arg(long, default_value_t = sendguard::batch::coordinator::DEFAULT_TASK_SIZE)]
        task_size: u64,
        /// Messages per chunk inside a task: one transaction each with --apply, and how often
        /// a worker tells the queue it is alive (--distributed).
        #[arg(long, default_value_t = sendguard::batch::run::DEFAULT_CHUNK)]
        chunk: usize,
        /// Seconds a silent worker keeps a task before it goes to another (--distributed).
        #[arg(long, default_value_t = 30)]
        ack_wait_secs: u64,
        /// Give up when the distributed job is not done after this many seconds.
        #[arg(long)]
        timeout_secs: Option<u64>,
    },
    /// Score rescore tasks from the work queue of `rescore --distributed` (any number, on
    /// any machine sharing the PostgreSQL store and NATS).
    Worker {
        /// Config file: [store] url, [events.nats], [policy], [engine].
        #[arg(long)]
        config: Option<PathBuf>,
        /// PostgreSQL store (overrides store.url).
        #[arg(long)]
        url: Option<String>,
        /// NATS URL (overrides events.nats.url).
        #[arg(long)]
        nats: Option<String>,
        /// Subject prefix (overrides events.nats.subject_prefix).
        #[arg(long)]
        prefix: Option<String>,
        /// Model file: the coordinator's (tasks of other inputs are refused).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Rule pack directory: the coordinator's.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Name in logs and results [default: worker-PID].
        #[arg(long)]
        name: Option<String>,
        /// Exit once no task came for this many seconds [default: run until stopped].
        #[arg(long)]
        idle_exit_secs: Option<u64>,
        /// Most messages per second this worker scores (0: no cap), to spare the database.
        #[arg(long, default_value_t = 0)]
        pace: u64,
        /// Seconds a task the store failed for now (unavailable) waits before another try.
        #[arg(long, default_value_t = 5)]
        retry_delay_secs: u64,
        /// Scoring threads [default: one per core]. Workers sharing a machine split its
        /// cores (two workers on 2 cores: 1 each) instead of each starting one per core.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
    },
    /// Rule packs.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Trust-and-safety report of a store: HTML with charts, JSON or CSV.
    Report {
        /// Store directory (must exist).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Config file: with [store] backend = "postgres", report on that PostgreSQL store.
        #[arg(long)]
        config: Option<PathBuf>,
        /// PostgreSQL URL of the store to report on (overrides --data and store.url).
        #[arg(long)]
        url: Option<String>,
        /// First day (YYYY-MM-DD, UTC) or time in ms; default: the first record.
        #[arg(long)]
        from: Option<String>,
        /// End, exclusive (YYYY-MM-DD, UTC) or time in ms; default: now.
        #[arg(long)]
        to: Option<String>,
        /// html, json or csv.
        #[arg(long)]
        format: String,
        /// File to write the report to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Reviewer labels.
    Labels {
        #[command(subcommand)]
        command: LabelsCommand,
    },
    /// Apply the PostgreSQL store's migrations not yet applied (running it again is a no-op).
    Migrate {
        /// TOML config file whose [store] url names the database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// PostgreSQL URL (overrides store.url).
        #[arg(long)]
        url: Option<String>,
    },
    /// Store maintenance.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Member data lifecycle.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// The decision stream on NATS JetStream (docs/EVENTS.md).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Erase an account: profile, tokens, the text of every message it sent; audit entries
    /// and review items keep a pseudonym. Running it again resumes or reports the erasure.
    Erase {
        /// The member's id.
        #[arg(long)]
        member: u64,
        /// Store directory (sled; no server may be running on it).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Config file whose [store] names the store (PostgreSQL).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Stop after this many writes; the same command resumes.
        #[arg(long)]
        max_steps: Option<usize>,
        /// On sled, leave the store uncompacted (the erased text stays in old segments of
        /// the files until sled reclaims them).
        #[arg(long)]
        no_compact: bool,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print the decision stream: one line per verdict, review decision, appeal outcome,
    /// restriction, lift and recall (ids only, never message text).
    Tail {
        /// TOML config file whose [events.nats] names the server and subject prefix.
        #[arg(long)]
        config: Option<PathBuf>,
        /// NATS URL (overrides events.nats.url).
        #[arg(long)]
        url: Option<String>,
        /// Subject prefix (overrides events.nats.subject_prefix).
        #[arg(long)]
        prefix: Option<String>,
        /// `start` (the oldest kept), `new` (from now on) or a stream sequence.
        #[arg(long, default_value = "new")]
        from: String,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
        /// Only this kind (repeatable): verdict, review_decision, appeal_outcome,
        /// restriction, lift, recall.
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Print each event's JSON as stored, one per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy a sled store into a new PostgreSQL store (migrating it first), then verify the
    /// copy by counts per table and a sample of checksums.
    Import {
        /// The sled store directory (must exist; no server may be running on it).
        #[arg(long)]
        from: PathBuf,
        /// PostgreSQL URL of the destination (its tables must be empty).
        #[arg(long)]
        to: String,
    },
    /// Reseal every message not sealed with the active key (the first of [store]
    /// keys_file or SENDGUARD_STORE_KEYS); resumable: run it again to continue.
    RotateKey {
        /// Store directory (sled; no server may be running on it).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Config file whose [store] names the store and its keys_file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Messages looked at per write.
        #[arg(long, default_value_t = sendguard::app::RESEAL_BATCH)]
        batch: usize,
        /// Stop after this many writes; the same command resumes from the checkpoint.
        #[arg(long)]
        max_batches: Option<usize>,
    },
    /// Rewrite a sled store with only its live records, deleting the old files (so erased
    /// or expired text leaves the disk). No server may be running on it.
    Compact {
        /// The sled store directory.
        #[arg(long)]
        data: PathBuf,
    },
}

/// `sendguard train`'s arguments: the data, and every training option.
#[derive(Args)]
struct TrainArgs {
    /// Training data (repeatable): TSV `label<TAB>text`.
    #[arg(long = "data", required = true)]
    data: Vec<PathBuf>,
    /// Where to write the model file.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the cross-validation folds that choose the thresholds.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    // Without smoothing an unseen (class, feature) pair has probability 0, and its log,
    // -inf, would decide any message alone.
    /// Lidstone smoothing, above 0.
    #[arg(long, default_value_t = TrainOptions::default().alpha, value_parser = above_zero)]
    alpha: f64,
    /// Drop features seen fewer times than this.
    #[arg(long, default_value_t = TrainOptions::default().min_count)]
    min_count: u32,
    /// Cap per-message feature counts (1 = presence; 0 = raw counts).
    #[arg(long, default_value_t = TrainOptions::default().count_cap)]
    count_cap: u32,
    /// Target ham false-positive rate of the hold threshold, 0 to 1.
    #[arg(long, default_value_t = TrainOptions::default().hold_target_fpr, value_parser = unit_interval)]
    hold_fpr: f64,
    /// Target ham false-positive rate of the Other threshold, 0 to 1.
    #[arg(long, default_value_t = TrainOptions::default().other_target_fpr, value_parser = unit_interval)]
    other_fpr: f64,
    /// Length normalization exponent of the decision score (0 = raw log-odds).
    #[arg(long, default_value_t = TrainOptions::default().length_norm, value_parser = at_least_zero)]
    length_norm: f64,
    /// The scorer: nbsvm (Naive Bayes ratios feeding a linear SVM) or naive-bayes.
    #[arg(long, default_value = "nbsvm", value_parser = ["nbsvm", "naive-bayes"])]
    kind: String,
    /// NBSVM: the SVM's cost C, above 0.
    #[arg(long, default_value_t = TrainOptions::default().svm_cost, value_parser = above_zero)]
    svm_cost: f64,
    /// NBSVM: weight of the SVM's weights against their mean (β), 0 to 1.
    #[arg(long, default_value_t = TrainOptions::default().interpolation, value_parser = unit_interval)]
    interpolation: f64,
    /// NBSVM: evidence assumed before any feature is seen (squared-ratio units), above 0.
    #[arg(long, default_value_t = TrainOptions::default().prior_strength, value_parser = above_zero)]
    prior_strength: f64,
    /// NBSVM: how much each unknown token dilutes the evidence (squared-ratio units).
    #[arg(long, default_value_t = TrainOptions::default().unknown_weight, value_parser = at_least_zero)]
    unknown_weight: f64,
    /// Read the link-shape tokens (`link:`, `link:.xyz`, `link:-`): true or false.
    #[arg(long, default_value_t = TrainOptions::default().link_shapes, action = clap::ArgAction::Set)]
    link_shapes: bool,
    /// Training files (as given to --data, without @WEIGHT) whose messages choose the
    /// thresholds (repeatable; default: all). Thresholds belong to the traffic they
    /// will judge: fit them on in-domain messages, not on e-mails.
    #[arg(long = "thresholds-from")]
    thresholds_from: Vec<PathBuf>,
}

impl TrainArgs {
    fn options(&self) -> TrainOptions {
        TrainOptions {
            alpha: self.alpha,
            min_count: self.min_count,
            count_cap: self.count_cap,
            seed: self.seed,
            hold_target_fpr: self.hold_fpr,
            other_target_fpr: self.other_fpr,
            length_norm: self.length_norm,
            kind: match self.kind.as_str() {
                "naive-bayes" => ModelKind::NaiveBayes,
                _ => ModelKind::NbSvm,
            },
            svm_cost: self.svm_cost,
            interpolation: self.interpolation,
            prior_strength: self.prior_strength,
            unknown_weight: self.unknown_weight,
            link_shapes: self.link_shapes,
            ..TrainOptions::default()
        }
    }
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Compile every pack and run every rule's examples.
    Check {
        /// Rule pack directory [default: the packs built into this binary].
        dir: Option<PathBuf>,
    },
    /// How often each rule fires on the spam and ham rows of a labelled TSV file.
    Scan {
        /// Labelled TSV file.
        #[arg(long)]
        data: PathBuf,
        /// Rule pack directory [default: the packs built into this binary].
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum LabelsCommand {
    /// Write every human label (reviewer, mark-safe, appeal) as training TSV.
    Export {
        /// Store directory (must exist).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// TSV file to write the labels to.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("sendguard: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// Runs a command; `Ok(false)` is a clean "no" (e.g. failing rule examples).
fn run(cli: Cli) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stdout = std::io::stdout();
    match cli.command {
        Command::Serve { config, data, addr } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(data) = data {
                config.store.data_dir = data;
            }
            if let Some(addr) = addr {
                config.server.addr = addr;
            }
            init_logging(config.server.log_format);
            runtime.block_on(sendguard::server::run(config))?;
        }
        Command::Seed { data, shell } => {
            let env_file = data.join(sendguard::seed::ENV_FILE);
            let app = offline_app(Store::open(&data)?);
            let demo = match runtime.block_on(sendguard::seed::seed_demo(&app)) {
                Ok(demo) => demo,
                Err(error) if error.code == "store_not_empty" => {
                    anyhow::bail!("{}", sendguard::seed::already_seeded(&data))
                }
                Err(error) => return Err(error.into()),
            };
            let exports = sendguard::seed::shell_exports(&demo);
            sendguard::seed::write_env_file(&env_file, &exports)
                .map_err(|e| anyhow::anyhow!("{}: {e}", env_file.display()))?;
            if shell {
                print!("{exports}");
            } else {
                println!("{}", serde_json::to_string_pretty(&demo)?);
            }
            eprintln!(
                "wrote the demo tokens to {0}; in any terminal: source {0}",
                env_file.display()
            );
        }
        Command::Train(args) => {
            let options = args.options();
            let model =
                commands::train::train(&args.data, &args.out, &options, &args.thresholds_from)?;
            eprintln!(
                "trained on {} ham / {} spam; {} features; hold above decision score {:.3}, Other above {:.3}; wrote {}",
                model.class_counts[0],
                model.class_counts[1],
                model.vocabulary.len(),
                model.thresholds.hold_above,
                model.thresholds.other_above,
                args.out.display()
            );
            // The length bands are where most messages are judged: show what each got.
            let mut lower = 0;
            for band in &model.thresholds.bands {
                eprintln!(
                    "  {} to {} tokens ({} ham): hold above {:.3}, Other above {:.3}",
                    lower + 1,
                    band.max_tokens,
                    band.ham,
                    band.hold_above,
                    band.other_above
                );
                lower = band.max_tokens;
            }
            if let Some(head) = &model.linear {
                // What turns a decision score into the probability reviewers read.
                eprintln!(
                    "  P(spam) = sigmoid({:.3} · decision score {:+.3})",
                    head.platt_slope, head.platt_offset
                );
            }
            if model.vocabulary.is_empty() {
                // Every message would score the bias alone: written, since it is valid, but
                // worth saying (too little data for --min-count, most likely).
                eprintln!(
                    "warning: the model learned no features; every message will get the same score (fewer rows than --min-count needs?)"
                );
            }
        }
        Command::Eval {
            model,
            data,
            decision,
            threads,
            by,
            rules,
            config,
            json,
        } => {
            // Under --by the engine's classifier is the one evaluated: the model file is
            // read once.
            let engine = if by.is_empty() {
                None
            } else {
                Some(sendguard::shipped::engine(
                    policy_of(config.as_deref())?,
                    rules.as_deref(),
                    model.as_deref(),
                )?)
            };
            let groups = engine
                .as_ref()
                .map(|engine| commands::eval_groups::eval_groups(engine, &data, &by))
                .transpose()?;
            let loaded;
            let classifier = match engine.as_ref().and_then(|engine| engine.classifier()) {
                Some(classifier) => classifier,
                None => {
                    loaded = sendguard::shipped::classifier(model.as_deref())?;
                    &loaded
                }
            };
            let threads = match threads {
                0 => std::thread::available_parallelism().map_or(1, usize::from),
                n => usize::from(n),
            };
            let report = commands::train::eval(&classifier.model, &data, &decision, threads)?;
            let mut out = stdout.lock();
            if json {
                // One object: the classifier's figures, and under --by the groups beside them.
                let mut object = serde_json::to_value(&report)?;
                if let (Some(groups), Some(map)) = (&groups, object.as_object_mut()) {
                    map.insert("groups".to_string(), serde_json::to_value(groups)?);
                    if let Some(overview) = commands::eval_groups::overview(groups) {
                        map.insert("overview".to_string(), serde_json::to_value(overview)?);
                    }
                }
                writeln!(out, "{object}")?;
            } else {
                let f = &report.figures;
                writeln!(
                    out,
                    "n {}  spam {}  ham {}  (decision: {})",
                    f.n, f.spam, f.ham, report.decision
                )?;
                writeln!(out, "tp {}  fp {}  tn {}  fn {}", f.tp, f.fp, f.tn, f.fn_)?;
                writeln!(
                    out,
                    "accuracy {:.4}  precision {:.4}  recall {:.4}  fpr {:.4}  f1 {:.4}  mcc {:.4}  auc {}  recall@1%fpr {:.4}",
                    f.accuracy, f.precision, f.recall, f.fpr, f.f1, f.mcc,
                    f.auc.map_or("n/a (one class)".to_string(), |auc| format!("{auc:.4}")),
                    f.recall_at_1pct_fpr
                )?;
                let h = &report.at_hold_threshold;
                writeln!(
                    out,
                    "at the hold threshold: recall {:.4}  fpr {:.4}  precision {:.4}",
                    h.recall, h.fpr, h.precision
                )?;
                writeln!(out, "{:.0} msgs/sec", report.msgs_per_sec)?;
                if let Some(groups) = &groups {
                    commands::eval_groups::write_table(groups, &mut out)?;
                    if let Some(overview) = commands::eval_groups::overview(groups) {
                        commands::eval_groups::write_overview(&overview, &mut out)?;
                    }
                }
            }
        }
        Command::Classify {
            model,
            rules,
            config,
            json,
        } => {
            let engine = sendguard::shipped::engine(
                policy_of(config.as_deref())?,
                rules.as_deref(),
                model.as_deref(),
            )?;
            let stdin = std::io::stdin();
            commands::classify::classify(&engine, stdin.lock(), &mut stdout.lock(), json)?;
        }
        Command::Rescore {
            data,
            model,
            rules,
            since,
            apply,
            json,
            config,
            max_messages,
            url,
            distributed,
            nats,
            prefix,
            task_size,
            chunk,
            ack_wait_secs,
            timeout_secs,
        } => {
            let args = commands::rescore::Args {
                data: data.unwrap_or_else(|| PathBuf::from("data")),
                model,
                rules,
                since,
                apply,
                config,
                max_messages,
                now: sendguard::clock::Clock::now(&SystemClock),
                url,
                distributed: distributed.then(|| commands::rescore::Distributed {
                    nats,
                    prefix,
                    task_size,
                    chunk: chunk.max(1),
                    ack_wait: std::time::Duration::from_secs(ack_wait_secs.max(1)),
                    deadline: timeout_secs.map(std::time::Duration::from_secs),
                }),
            };
            let report = commands::rescore::run(&args)?;
            let mut out = stdout.lock();
            if json {
                writeln!(out, "{}", serde_json::to_string(&report)?)?;
            } else {
                commands::rescore::print(&report, &mut out)?;
            }
        }
        Command::Worker {
            config,
            url,
            nats,
            prefix,
            model,
            rules,
            name,
            idle_exit_secs,
            pace,
            retry_delay_secs,
            threads,
        } => {
            let args = commands::worker::Args {
                config,
                url,
                nats,
                prefix,
                model,
                rules,
                name,
                idle_exit_secs,
                pace,
                retry_delay_secs,
                threads: threads.map(usize::from),
            };
            let tasks = runtime.block_on(commands::worker::run(args))?;
            eprintln!("worker done: {tasks} tasks");
        }
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => {
            return commands::rules::check(dir.as_deref(), &mut stdout.lock());
        }
        Command::Rules {
            command: RulesCommand::Scan { data, dir },
        } => {
            commands::rules::scan(dir.as_deref(), &data, &mut stdout.lock())?;
        }
        Command::Report {
            data,
            config,
            url,
            from,
            to,
            format,
            out,
        } => {
            let started = std::time::Instant::now();
            let options = commands::report::options(
                from.as_deref(),
                to.as_deref(),
                sendguard::clock::Clock::now(&SystemClock),
            )?;
            let source = commands::report::Source::choose(data, config.as_deref(), url)?;
            let bytes = commands::report::write(&source, &options, &format, &out)?;
            eprintln!(
                "wrote {bytes} bytes to {} in {:.2}s",
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Labels {
            command: LabelsCommand::Export { data, out },
        } => {
            let app = offline_app(Store::open_existing(&data)?);
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&out)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?,
            );
            let rows = app.export_labels(&mut file)?;
            file.flush()?;
            eprintln!("wrote {rows} labelled messages to {}", out.display());
        }
        Command::Migrate { config, url } => {
            let config = Config::load(config.as_deref())?;
            let settings = commands::store::settings(&config.store, url)?;
            commands::store::migrate(&settings, &mut stdout.lock())?;
        }
        Command::Events {
            command:
                EventsCommand::Tail {
                    config,
                    url,
                    prefix,
                    from,
                    count,
                    kinds,
                    json,
                },
        } => {
            let config = Config::load(config.as_deref())?;
            let args = commands::events::TailArgs {
                from,
                count,
                kinds,
                json,
                url,
                prefix,
            };
            runtime.block_on(commands::events::tail(&config, &args, &mut stdout.lock()))?;
        }
        Command::Store {
            command: StoreCommand::Import { from, to },
        } => {
            let settings = commands::store::settings(&Config::default().store, Some(to))?;
            return commands::store::import(&from, &settings, &mut stdout.lock());
        }
        Command::Store {
            command:
                StoreCommand::RotateKey {
                    data,
                    config,
                    batch,
                    max_batches,
                },
        } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(data) = data {
                config.store.data_dir = data;
            }
            let app = offline_app(open_configured_existing(&config)?);
            let resealed = app.rotate_keys(batch, max_batches)?;
            let census = app.sealing_census()?;
            eprintln!("resealed {resealed} messages");
            writeln!(stdout.lock(), "{}", serde_json::to_string(&census)?)?;
        }
        Command::Store {
            command: StoreCommand::Compact { data },
        } => {
            let done = sendguard::store::compact(&data)?;
            writeln!(stdout.lock(), "{}", serde_json::to_string(&done)?)?;
        }
        Command::Member {
            command:
                MemberCommand::Erase {
                    member,
                    data,
                    config,
                    max_steps,
                    no_compact,
                },
        } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(data) = data {
                config.store.data_dir = data;
            }
            let sled = config.store.backend == sendguard::config::StoreBackend::Sled;
            let app = offline_app(open_configured_existing(&config)?);
            let outcome = runtime.block_on(app.erase_member_in_steps(member, max_steps))?;
            drop(app);
            writeln!(stdout.lock(), "{}", serde_json::to_string(&outcome)?)?;
            if sled && !no_compact && outcome.status != "in_progress" {
                let done = sendguard::store::compact(&config.store.data_dir)?;
                eprintln!(
                    "compacted {}: {} records, {} -> {} bytes",
                    config.store.data_dir.display(),
                    done.records,
                    done.bytes_before,
                    done.bytes_after
                );
            }
        }
    }
    Ok(true)
}

/// The `[policy]` of a config file, validated as `serve` would; the built-in policy without one.
fn policy_of(config: Option<&Path>) -> anyhow::Result<sendguard::policy::PolicyConfig> {
    match config {
        Some(path) => Ok(Config::load(Some(path))?.policy),
        None => Ok(Default::default()),
    }
}

/// The store `[store]` names, with its keys; a sled store must exist already.
fn open_configured_existing(config: &Config) -> anyhow::Result<Store> {
    if config.store.backend == sendguard::config::StoreBackend::Sled {
        let keys = sendguard::store::crypt::Sealer::configured(config.store.keys_file.as_deref())?;
        return Ok(Store::open_existing(&config.store.data_dir)?.with_sealer(keys));
    }
    Ok(Store::open_configured(&config.store)?)
}

/// The application over a store directory, for commands that run without the server (the
/// store takes one process at a time) and need no rules or model.
fn offline_app(store: Store) -> App {
    App::new(
        store,
        Engine::default(),
        &Config::default(),
        Arc::new(SystemClock),
    )
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENDGUARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: in a log file they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The error and its causes, joined by ": ", leaving out a cause whose text the message
/// before it already contains (errors that print their source would show it twice).
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// A finite number from `min` (excluded when `above`) to `max`. A NaN or an infinity would
/// be trained into the model file, which no reader could then load; a negative cost or
/// weight would train a model that means nothing.
fn bounded(value: &str, min: f64, above: bool, max: f64) -> Result<f64, String> {
    let number: f64 = value
        .parse()
        .map_err(|error: std::num::ParseFloatError| error.to_string())?;
    let from_min = if above { number > min } else { number >= min };
    if number.is_finite() && from_min && number <= max {
        return Ok(number);
    }
    let low = if above { "above" } else { "at least" };
    let high = if max.is_finite() {
        format!(" and at most {max}")
    } else {
        String::new()
    };
    Err(format!("{value} is not a finite number {low} {min}{high}"))
}

fn above_zero(value: &str) -> Result<f64, String> {
    bounded(value, 0.0, true, f64::INFINITY)
}

fn at_least_zero(value: &str) -> Result<f64, String> {
    bounded(value, 0.0, false, f64::INFINITY)
}

fn unit_interval(value: &str) -> Result<f64, String> {
    bounded(value, 0.0, false, 1.0)
}
