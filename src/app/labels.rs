//! Human labels as training data: every reviewer decision, mark-safe and overturned appeal
//! becomes a TSV row that `sendguard train` reads.

use std::io::Write;

use super::App;
use crate::domain::LabelSource;
use crate::error::{Error, ErrorKind, Result};
use crate::store::Reader;
use crate::tsv;

impl App {
    /// Writes `label<TAB>text<TAB>source<TAB>message_id` rows with a header; returns the count.
    pub fn export_labels(&self, out: &mut impl Write) -> Result<usize> {
        let io = |e: std::io::Error| Error::new(ErrorKind::Internal, "io", e.to_string());
        writeln!(out, "label\ttext\tsource\tmessage_id").map_err(io)?;
        let mut rows = 0;
        for label in self.store.labels() {
            let label = label?;
            let Some(message) = self.store.message(label.message_id)? else {
                continue;
            };
            // Erased or past retention: the text is gone, and must not come back as
            // training data.
            if message.text_removed.is_some() {
                continue;
            }
            let source = match label.source {
                LabelSource::Reviewer => "reviewer",
                LabelSource::MarkSafe => "mark_safe",
                LabelSource::Appeal => "appeal",
            };
            writeln!(
                out,
                "{}\t{}\t{source}\t{}",
                label.label.as_str(),
                tsv::escape(&message.body),
                message.id
            )
            .map_err(io)?;
            rows += 1;
        }
        Ok(rows)
    }
}
