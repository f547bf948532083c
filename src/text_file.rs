//! Reading a text file (a config, a rule pack) whole, with an error that names the file
//! and, for bytes that are not UTF-8, the line they are on: a user fixing a file needs the
//! place, not only "stream did not contain valid UTF-8".

use std::path::Path;

/// Why a text file could not be read, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", self.place())]
pub struct TextFileError {
    pub file: String,
    /// The line of the first byte that is not UTF-8.
    pub line: Option<usize>,
    pub message: String,
}

impl TextFileError {
    /// `FILE` or `FILE:LINE`.
    pub fn place(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

/// The file's text.
pub fn read_utf8(path: &Path) -> Result<String, TextFileError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| TextFileError {
        file: file.clone(),
        line: None,
        message: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + valid.iter().rev().take_while(|&&b| b != b'\n').count();
        TextFileError {
            file,
            line: Some(line),
            message: format!("not UTF-8 (byte {column} of the line); save the file as UTF-8"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_byte_is_reported_by_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, b"[server]\n# caf\xe9\nx = 1\n").unwrap();
        let error = read_utf8(&path).unwrap_err().to_string();
        assert!(
            error.ends_with("bad.toml:2: not UTF-8 (byte 6 of the line); save the file as UTF-8"),
            "{error}"
        );
        std::fs::write(&path, "ok = \"é\"\n").unwrap();
        assert_eq!(read_utf8(&path).unwrap(), "ok = \"é\"\n");
        let missing = read_utf8(&dir.path().join("nope.toml")).unwrap_err();
        assert_eq!(missing.line, None);
        assert!(missing.to_string().contains("nope.toml: "), "{missing}");
    }
}
