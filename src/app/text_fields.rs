//! One validator for the bounded text fields of requests (names, reasons, notes, keys,
//! search queries), so every such field counts the same way (Unicode scalar values, as the
//! product counts message bodies) and answers the same error: 400 `invalid_field` naming
//! the field and carrying the limit.

use crate::error::{Error, Result};

/// Checks that `text` has `min..=max` characters.
pub(super) fn bounded_text(field: &str, text: &str, min: usize, max: usize) -> Result<()> {
    // Counting stops past the limit: a megabyte of text costs no more than `max` characters.
    let count = text.chars().take(max + 1).count();
    if count < min || count > max {
        let message = if min == 0 {
            format!("{field} must be at most {max} characters")
        } else {
            format!("{field} must be {min}-{max} characters")
        };
        return Err(Error::invalid_field(field, message).limit(max as u64));
    }
    Ok(())
}

/// [`bounded_text`] for an optional field: absent is fine.
pub(super) fn bounded_optional(field: &str, text: Option<&str>, max: usize) -> Result<()> {
    text.map_or(Ok(()), |text| bounded_text(field, text, 0, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes_and_names_the_limit() {
        assert!(bounded_text("note", &"é".repeat(10), 1, 10).is_ok());
        let error = bounded_text("note", &"é".repeat(11), 1, 10).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("note"));
        assert_eq!(error.limit, Some(10));
        assert!(bounded_text("reason", "", 1, 10).is_err());
        assert!(bounded_optional("note", None, 10).is_ok());
        assert!(bounded_optional("note", Some(&"x".repeat(11)), 10).is_err());
    }
}
