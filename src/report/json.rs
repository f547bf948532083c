//! The report as JSON: the [`Report`] value as it is, pretty-printed so a diff of two
//! reports reads line by line. `schema_version` tells consumers which layout they hold.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("report figures always serialize");
    text.push('\n');
    text
}
