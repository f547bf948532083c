//! The HTML report rendered by headless Chromium: the page loads, has the expected title,
//! and the screenshot is not blank.
//!
//! Chromium is Debian's `chromium` package. A test never changes the machine, so this one
//! installs nothing: when Chromium is missing it fails, naming the command that provides
//! it. `scripts/test` (the README's test command, also run by `.ci/run`) installs it first.
//! `SENDGUARD_SAVE_REPORT_PNG=FILE` keeps the screenshot (that is how `docs/report.png`
//! was made).

mod report_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use report_common::{day, seed};
use sendguard::report::{self, html, Format, ReportOptions};
use sendguard::Store;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[tokio::test]
async fn chromium_renders_the_html_report() {
    let Some(browser) = chromium() else {
        panic!(
            "Chromium is not installed (no `chromium` or `chromium-browser` on PATH). Install \
             it with `apt-get install chromium` (Debian), or run `scripts/test`, which does; \
             to leave this test out: cargo test -- --skip chromium_renders_the_html_report"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seeded = seed(&data).await;
    let page = dir.path().join("report.html");
    {
        let store = Store::open(&data).unwrap();
        let options = ReportOptions::new(Some(day(0)), Some(day(3)), seeded.end);
        std::fs::write(
            &page,
            report::render(&store, &options, Format::Html).unwrap(),
        )
        .unwrap();
    }
    let url = format!("file://{}", page.display());

    let dom = headless(&browser, &dir.path().join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains(&format!("<title>{}</title>", html::TITLE)),
        "rendered DOM lacks the title: {:.300}",
        dom
    );
    assert_eq!(dom.matches("<svg").count(), 5, "every chart is in the DOM");

    let shot = dir.path().join("report.png");
    let status = headless(&browser, &dir.path().join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2400")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        status.status.success() && shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (1280, 2400));
    let channels = frame.color_type.samples();
    let pixels = &pixels[..frame.buffer_size()];
    let mut inked = 0usize;
    let mut colours = std::collections::HashSet::new();
    for px in pixels.chunks(channels) {
        if px[..3].iter().any(|&c| c < 200) {
            inked += 1;
        }
        colours.insert((px[0] / 32, px[1] / 32, px[2] / 32));
    }
    let total = (frame.width * frame.height) as usize;
    // Text, tables and five charts: well over 1% of the page is ink, in several colours.
    assert!(
        inked * 100 > total,
        "the page looks blank: {inked} of {total} pixels inked"
    );
    assert!(
        colours.len() >= 6,
        "only {} colours: charts missing?",
        colours.len()
    );
    if let Ok(keep) = std::env::var("SENDGUARD_SAVE_REPORT_PNG") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
