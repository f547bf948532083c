//! Trust-and-safety reports: what the pipeline did over a period, and how well.
//!
//! [`figures::build`] reads the store once (one streaming pass over the messages plus the
//! audit log, the review items, the appeals, the human labels, the refusal counters and
//! the sponsored campaigns)
//! into a [`Report`]: plain numbers, member ids, rule ids, never message text. The three
//! writers only format that one value, so every format carries exactly the same figures:
//!
//! | format | file | shape |
//! |---|---|---|
//! | JSON | [`json`] | the [`Report`] itself, with `schema_version` |
//! | CSV | [`csv`] | one file, long format: `section,key,metric,value` |
//! | HTML | [`html`] | one self-contained page: inline CSS and inline SVG charts ([`charts`]), no scripts, no fetches |
//!
//! The CLI (`sendguard report`) and the reviewer route (`GET /v1/review/report`) both call
//! [`render`].

pub mod campaigns;
pub mod charts;
pub mod csv;
pub mod figures;
pub mod html;
pub mod json;
pub mod sponsored;

pub use figures::{build, Report, ReportOptions, SCHEMA_VERSION};

use crate::store::StoreResult;
use crate::Store;

/// An output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Csv,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "html" => Some(Format::Html),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The HTTP content type of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Builds the report for `options` and formats it.
pub fn render(store: &Store, options: &ReportOptions, format: Format) -> StoreResult<String> {
    let report = build(store, options)?;
    Ok(match format {
        Format::Html => html::render(&report),
        Format::Json => json::render(&report),
        Format::Csv => csv::render(&report),
    })
}
