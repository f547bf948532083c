//! Reports on PostgreSQL: the scripted store of `report_common`, copied into a PostgreSQL
//! schema of its own (the real server, 127.0.0.1:5432), gives the same report as the sled
//! store it came from, through the library and through `sendguard report --url`.

mod common;
mod report_common;
mod store_common;

use std::process::Command;

use report_common::{day, seed};
use sendguard::report::{self, Format, ReportOptions};
use sendguard::Store;
use serde_json::Value;
use store_common::Schema;

const BIN: &str = env!("CARGO_BIN_EXE_sendguard");

fn report_cli(source: &[&str], out: &std::path::Path) -> Value {
    let output = Command::new(BIN)
        .arg("report")
        .args(source)
        .args([
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-05",
            "--format",
            "json",
        ])
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut report: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    // The one figure that is the time of the run.
    report["period"]
        .as_object_mut()
        .unwrap()
        .remove("generated_at_ms");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_reports_exactly_what_the_same_sled_store_does() {
    let dir = tempfile::tempdir().unwrap();
    let sled_dir = dir.path().join("sled");
    let seeded = seed(&sled_dir).await;
    let schema = Schema::new("report_pg");
    let settings = schema.settings();
    let copied = tokio::task::spawn_blocking({
        let sled_dir = sled_dir.clone();
        move || {
            Store::migrate_postgres(&settings).unwrap();
            let from = Store::open_existing(&sled_dir).unwrap();
            let to = Store::open_postgres(&settings).unwrap();
            sendguard::store::import_sled(&from, &to).unwrap()
        }
    })
    .await
    .unwrap();
    assert!(copied.tables.iter().any(|t| t.source > 0));

    // The library, both backends, every format: byte for byte.
    let options = ReportOptions::new(Some(day(0)), Some(day(3)), seeded.end);
    let settings = schema.settings();
    let rendered = tokio::task::spawn_blocking(move || {
        let sled = Store::open_existing(&sled_dir).unwrap();
        let postgres = Store::open_postgres(&settings).unwrap();
        [Format::Json, Format::Csv, Format::Html].map(|format| {
            (
                report::render(&sled, &options, format).unwrap(),
                report::render(&postgres, &options, format).unwrap(),
            )
        })
    })
    .await
    .unwrap();
    for (sled, postgres) in &rendered {
        assert_eq!(sled, postgres);
    }
    let json: Value = serde_json::from_str(&rendered[0].0).unwrap();
    assert!(
        json["volume"]["held"].as_u64().unwrap() > 0
            && !json["rules"].as_array().unwrap().is_empty(),
        "the script has holds and rule hits: {json}"
    );

    // The CLI: --url reads PostgreSQL, --data reads sled; the same JSON.
    let from_sled = report_cli(
        &["--data", dir.path().join("sled").to_str().unwrap()],
        &dir.path().join("sled.json"),
    );
    let from_postgres = report_cli(&["--url", &schema.url()], &dir.path().join("pg.json"));
    assert_eq!(from_sled, from_postgres);
}
