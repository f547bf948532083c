//! The labelled-message TSV format shared by train, eval, classify, rescore and label export.
//!
//! UTF-8, one message per line: `label<TAB>text[<TAB>extra...]`, label `spam` or `ham`, an
//! optional header line `label<TAB>text`; inside text `\n`, `\r`, `\t` and `\\` are escapes.
//! Lines split on LF only (texts may hold U+0085 or form feeds). Errors name file and line.

use std::io::BufRead;
use std::path::Path;

use crate::domain::Label;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line number in the file.
    pub line: usize,
    pub label: Label,
    pub text: String,
    /// Columns after the text (e.g. a category); ignored by training.
    pub extra: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub struct TsvError {
    pub file: String,
    /// 1-based; 0 when the file itself failed (missing, unreadable), before any line.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for TsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}: {}", self.file, self.message),
        }
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`]; a backslash before anything else is an error.
pub fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => return Err(format!("unknown escape \\{other}")),
            None => return Err("line ends in a lone backslash".into()),
        }
    }
    Ok(out)
}

/// One line of a TSV file (without its LF); `Ok(None)` for a header or a blank line.
pub fn parse_line(line: &str, number: usize) -> Result<Option<Row>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Ok(None);
    }
    let mut columns = line.split('\t');
    let label = columns.next().unwrap_or_default();
    let Some(text) = columns.next() else {
        return Err("expected label<TAB>text".into());
    };
    let label = match label {
        "spam" => Label::Spam,
        "ham" => Label::Ham,
        "label" if number == 1 && text == "text" => return Ok(None),
        other => return Err(format!("label must be spam or ham, not {other:?}")),
    };
    Ok(Some(Row {
        line: number,
        label,
        text: unescape(text)?,
        extra: columns.map(str::to_string).collect(),
    }))
}

/// Reads every row of `reader`, stopping at the first bad line.
pub fn read(reader: impl BufRead, file: &str) -> Result<Vec<Row>, TsvError> {
    let mut rows = Vec::new();
    let mut reader = reader;
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|e| TsvError {
                file: file.into(),
                line: number + 1,
                message: e.to_string(),
            })?;
        if read == 0 {
            break;
        }
        number += 1;
        if buffer.last() == Some(&b'\n') {
            buffer.pop();
        }
        let error = |message: String| TsvError {
            file: file.into(),
            line: number,
            message,
        };
        let line = std::str::from_utf8(&buffer).map_err(|e| error(format!("not UTF-8: {e}")))?;
        if let Some(row) = parse_line(line, number).map_err(error)? {
            rows.push(row);
        }
    }
    Ok(rows)
}

pub fn read_file(path: &Path) -> Result<Vec<Row>, TsvError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| TsvError {
        file: name.clone(),
        line: 0,
        message: e.to_string(),
    })?;
    read(std::io::BufReader::new(file), &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        let text = "tab\there\nnew line \\ back\rslash \u{85} next-line";
        let escaped = escape(text);
        assert!(!escaped.contains('\t') && !escaped.contains('\n'));
        assert_eq!(unescape(&escaped).unwrap(), text);
    }

    #[test]
    fn reads_header_rows_and_extra_columns() {
        let data = "label\ttext\tcategory\nspam\tWin \\$100\\n now\tscam\nham\thi\n\n";
        let err = read(data.as_bytes(), "x.tsv").unwrap_err();
        assert_eq!((err.line, err.file.as_str()), (2, "x.tsv"));
        let data = "label\ttext\tcategory\nspam\tWin 100\\nnow\tscam\nham\thi\n";
        let rows = read(data.as_bytes(), "x.tsv").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "Win 100\nnow");
        assert_eq!(rows[0].extra, ["scam"]);
        assert_eq!((rows[1].label, rows[1].line), (Label::Ham, 3));
    }

    #[test]
    fn bad_lines_are_reported_by_number() {
        for (data, line, needle) in [
            ("ham\tok\nspam-ish\ttext\n", 2, "label"),
            ("ham\tok\nham\tno tab here\\\n", 2, "backslash"),
            ("ham\tok\nham only\n", 2, "label<TAB>text"),
        ] {
            let err = read(data.as_bytes(), "f.tsv").unwrap_err();
            assert_eq!(err.line, line, "{data:?}");
            assert!(err.to_string().contains(needle), "{err}");
            assert!(err.to_string().starts_with("f.tsv:2:"), "{err}");
        }
    }
}
