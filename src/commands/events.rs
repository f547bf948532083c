//! `sendguard events tail`: the decision stream for a person (or, with `--json`, one raw
//! event per line for a pipe).

use std::io::Write;

use futures_util::StreamExt;

use crate::config::Config;
use crate::notify::decisions::{DecisionEvent, DECISION_KINDS};
use crate::notify::nats::{NatsBus, TailFrom};

/// The command's arguments, as parsed by `main.rs`.
#[derive(Debug, Clone)]
pub struct TailArgs {
    /// `start`, `new` or a stream sequence number.
    pub from: String,
    /// Stop after this many events (printed ones, after `kinds`).
    pub count: Option<u64>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<String>,
    pub json: bool,
    /// Overrides `[events.nats] url` and `subject_prefix`.
    pub url: Option<String>,
    pub prefix: Option<String>,
}

/// Reads `--from`; an error names the flag and what it takes.
pub fn parse_from(text: &str) -> anyhow::Result<TailFrom> {
    match text {
        "start" => Ok(TailFrom::Start),
        "new" => Ok(TailFrom::New),
        number => match number.parse::<u64>() {
            Ok(sequence) if sequence > 0 => Ok(TailFrom::Sequence(sequence)),
            _ => anyhow::bail!(
                "--from: {number:?} is not `start`, `new` or a stream sequence (1 or more)"
            ),
        },
    }
}

/// Prints events until `count` are printed (or forever); returns how many were printed.
pub async fn tail(config: &Config, args: &TailArgs, out: &mut impl Write) -> anyhow::Result<u64> {
    for kind in &args.kinds {
        if !DECISION_KINDS.contains(&kind.as_str()) {
            anyhow::bail!(
                "--kind: {kind:?} is not one of {}",
                DECISION_KINDS.join(", ")
            );
        }
    }
    let from = parse_from(&args.from)?;
    let mut nats = config.events.nats.clone();
    if let Some(url) = &args.url {
        nats.url = url.clone();
    }
    if let Some(prefix) = &args.prefix {
        nats.subject_prefix = prefix.clone();
    }
    // A reader publishes nothing.
    nats.decisions = false;
    let bus = NatsBus::connect(&nats)
        .await
        .map_err(|e| anyhow::anyhow!("events.nats.url {}: {e}", nats.url))?;
    let mut events = bus
        .decision_events(from)
        .await
        .map_err(|e| anyhow::anyhow!("decision stream of prefix {:?}: {e}", nats.subject_prefix))?;
    let mut printed = 0u64;
    while args.count.is_none_or(|count| printed < count) {
        let Some(next) = events.next().await else {
            break;
        };
        let (sequence, payload) = next?;
        let line = match serde_json::from_slice::<DecisionEvent>(&payload) {
            Ok(event) => {
                if !args.kinds.is_empty() && !args.kinds.iter().any(|k| k == event.decision.kind())
                {
                    continue;
                }
                if args.json {
                    String::from_utf8_lossy(&payload).into_owned()
                } else {
                    format!(
                        "{sequence:>8} {} {}",
                        clock_time(event.at),
                        event.describe()
                    )
                }
            }
            // A newer schema or a stranger's message: shown as it is, never dropped silently.
            Err(_) if args.json => String::from_utf8_lossy(&payload).into_owned(),
            Err(error) => format!(
                "{sequence:>8} (not a version this build reads: {error}) {}",
                String::from_utf8_lossy(&payload)
            ),
        };
        writeln!(out, "{line}")?;
        out.flush()?;
        printed += 1;
    }
    Ok(printed)
}

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC) of epoch milliseconds.
fn clock_time(at: crate::domain::Millis) -> String {
    let in_day = at.rem_euclid(86_400_000);
    format!(
        "{} {:02}:{:02}:{:02}.{:03}",
        crate::dates::format_day(at),
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_takes_start_new_or_a_sequence_and_names_the_flag_otherwise() {
        assert_eq!(parse_from("start").unwrap(), TailFrom::Start);
        assert_eq!(parse_from("new").unwrap(), TailFrom::New);
        assert_eq!(parse_from("12").unwrap(), TailFrom::Sequence(12));
        for bad in ["0", "-3", "later"] {
            let error = parse_from(bad).unwrap_err().to_string();
            assert!(error.starts_with("--from:"), "{error}");
        }
        assert_eq!(
            clock_time(86_400_000 + 3_723_004),
            "1970-01-02 01:02:03.004"
        );
    }
}
