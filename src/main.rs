//! The `sendguard` command line: a thin clap layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use sendguard::clock::SystemClock;
use sendguard::config::{Config, LogFormat};
use sendguard::{App, Engine, Store};

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
    Seed {
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Print `export NAME=value` lines for a shell instead of JSON.
        #[arg(long)]
        shell: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sendguard: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
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
            runtime.block_on(sendguard::server::run(config))
        }
        Command::Seed { data, shell } => {
            let store = Store::open(&data)?;
            let app = App::new(
                store,
                Engine::default(),
                &Config::default(),
                Arc::new(SystemClock),
            );
            let demo = runtime.block_on(sendguard::seed::seed_demo(&app))?;
            if shell {
                for member in &demo.members {
                    let name = member.handle.to_uppercase();
                    println!("export {name}_ID={}", member.member_id);
                    println!("export {name}_TOKEN={}", member.token);
                }
                println!("export REVIEWER_TOKEN={}", demo.reviewer_token);
            } else {
                println!("{}", serde_json::to_string_pretty(&demo)?);
            }
            Ok(())
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENDGUARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
