//! How a [`TemplateSignature`] is stored inside a sender's state: one hex string, four
//! digits per slot (`"00ff1a2b…"`), instead of a JSON array of numbers.
//!
//! A sender's state keeps up to `template.max_kept` signatures of `template.hashes` slots
//! (40 × 64 by default): as arrays of numbers they were most of the state's JSON, and
//! parsing them number by number, at every send's load (Redis) or read (sled, PostgreSQL),
//! and printing them at its save, was a tenth of a replica's own CPU. A hex string is
//! written and read in one pass with no per-slot dispatch, and is shorter.
//!
//! States stored before hold arrays: both forms are read, so a sled store, a PostgreSQL
//! table or a Redis key written by an earlier build loads as it did, and is rewritten as
//! hex at its next save.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

use super::template::TemplateSignature;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes the slots as one lowercase hex string, four digits each.
pub fn serialize<S: Serializer>(signature: &TemplateSignature, out: S) -> Result<S::Ok, S::Error> {
    let mut text = String::with_capacity(signature.0.len() * 4);
    for &slot in &signature.0 {
        for shift in [12, 8, 4, 0] {
            text.push(char::from(DIGITS[usize::from((slot >> shift) & 0xf)]));
        }
    }
    out.serialize_str(&text)
}

/// Reads the hex string, or the array of numbers of states written before it.
pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<TemplateSignature, D::Error> {
    input.deserialize_any(SignatureVisitor)
}

struct SignatureVisitor;

impl<'de> Visitor<'de> for SignatureVisitor {
    type Value = TemplateSignature;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hex string of 4 digits per slot, or an array of slots")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<TemplateSignature, E> {
        let bytes = text.as_bytes();
        if !bytes.len().is_multiple_of(4) {
            return Err(E::invalid_length(bytes.len(), &self));
        }
        let mut slots = Vec::with_capacity(bytes.len() / 4);
        for chunk in bytes.chunks_exact(4) {
            let mut slot = 0u16;
            for &digit in chunk {
                let value = match digit {
                    b'0'..=b'9' => digit - b'0',
                    b'a'..=b'f' => digit - b'a' + 10,
                    b'A'..=b'F' => digit - b'A' + 10,
                    _ => return Err(E::invalid_value(de::Unexpected::Str(text), &self)),
                };
                slot = slot << 4 | u16::from(value);
            }
            slots.push(slot);
        }
        Ok(TemplateSignature(slots))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TemplateSignature, A::Error> {
        let mut slots = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(slot) = seq.next_element::<u16>()? {
            slots.push(slot);
        }
        Ok(TemplateSignature(slots))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::TemplateSignature;

    /// A signature in a stored record, as `template_fanout::TemplateSent` holds one (that
    /// module uses this one, so its own type is tested with the whole state, `state.rs`).
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Kept(#[serde(with = "super")] TemplateSignature, u64);

    #[test]
    fn signatures_are_hex_strings_and_old_arrays_still_read() {
        let kept = Kept(TemplateSignature(vec![0, 0xffff, 0x1a2b, 7]), 42);
        let json = serde_json::to_string(&kept).unwrap();
        assert_eq!(json, r#"["0000ffff1a2b0007",42]"#);
        assert_eq!(serde_json::from_str::<Kept>(&json).unwrap(), kept);
        // As an earlier build wrote it.
        let old = r#"[[0,65535,6699,7],42]"#;
        assert_eq!(serde_json::from_str::<Kept>(old).unwrap(), kept);
        let upper = r#"["0000FFFF1A2B0007",42]"#;
        assert_eq!(serde_json::from_str::<Kept>(upper).unwrap(), kept);
        let empty = Kept(TemplateSignature(Vec::new()), 1);
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"["",1]"#);
        assert_eq!(serde_json::from_str::<Kept>(r#"["",1]"#).unwrap(), empty);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        for bad in [r#""0000f""#, r#""00g0""#, r#"[70000]"#, r#"7"#] {
            let json = format!("[{bad},1]");
            assert!(
                serde_json::from_str::<Kept>(&json).is_err(),
                "{bad} was accepted"
            );
        }
    }
}
