//! The model file: versioned, self-describing, checksummed, byte-for-byte reproducible.
//!
//! ```text
//! "SGNB"  format version (u32 LE)  header length (u32 LE)  header (JSON)
//! feature count (u32 LE)  per feature: length (u16 LE), UTF-8 bytes, log θ ham, log θ spam (f64 LE)
//! SHA-256 of everything above (32 bytes)
//! ```
//! The header holds the training options, class counts, thresholds, the description of the
//! training data and, once measured, evaluation figures; no timestamp, so retraining on the
//! same data writes the same bytes.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{LinearHead, Model, Thresholds, TrainOptions};

const MAGIC: &[u8; 4] = b"SGNB";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a sendguard model file")]
    NotAModel { path: String },
    #[error("{path}: model format version {found}; this build reads version {FORMAT_VERSION}")]
    Version { path: String, found: u32 },
    #[error("{path}: checksum mismatch: the file is corrupt or truncated")]
    Checksum { path: String },
    #[error("{path}: malformed model: {detail}")]
    Malformed { path: String, detail: String },
}

#[derive(Serialize, Deserialize)]
struct Header {
    options: TrainOptions,
    class_counts: [u64; 2],
    thresholds: Thresholds,
    training: serde_json::Value,
    /// NBSVM's intercept and calibration; absent for Naive Bayes (and in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    linear: Option<LinearHead>,
}

pub fn to_bytes(model: &Model) -> Vec<u8> {
    let header = serde_json::to_vec(&Header {
        options: model.options.clone(),
        class_counts: model.class_counts,
        thresholds: model.thresholds.clone(),
        training: model.training.clone(),
        linear: model.linear.clone(),
    })
    .expect("model header serializes");
    let mut out = Vec::with_capacity(64 + header.len() + model.vocabulary.len() * 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(model.vocabulary.len() as u32).to_le_bytes());
    for (feature, theta) in model.vocabulary.iter().zip(&model.feature_log_prob) {
        let bytes = feature.as_bytes();
        let len = bytes.len().min(u16::MAX as usize);
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&bytes[..len]);
        out.extend_from_slice(&theta[0].to_le_bytes());
        out.extend_from_slice(&theta[1].to_le_bytes());
    }
    let checksum = Sha256::digest(&out);
    out.extend_from_slice(&checksum);
    out
}

pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Model, ModelFileError> {
    let malformed = |detail: &str| ModelFileError::Malformed {
        path: path.to_string(),
        detail: detail.to_string(),
    };
    if bytes.len() < 4 + 4 + 4 + 32 || &bytes[..4] != MAGIC {
        return Err(ModelFileError::NotAModel { path: path.into() });
    }
    let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(ModelFileError::Version {
            path: path.into(),
            found: version,
        });
    }
    let (body, checksum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != checksum {
        return Err(ModelFileError::Checksum { path: path.into() });
    }
    let mut reader = Reader { bytes: body, at: 8 };
    let header_len = reader.u32().ok_or_else(|| malformed("header length"))? as usize;
    let header: Header =
        serde_json::from_slice(reader.take(header_len).ok_or_else(|| malformed("header"))?)
            .map_err(|e| malformed(&format!("header: {e}")))?;
    let count = reader.u32().ok_or_else(|| malformed("feature count"))? as usize;
    let mut vocabulary = Vec::with_capacity(count);
    let mut feature_log_prob = Vec::with_capacity(count);
    for _ in 0..count {
        let len = reader.u16().ok_or_else(|| malformed("feature length"))? as usize;
        let text = reader.take(len).ok_or_else(|| malformed("feature"))?;
        let text = std::str::from_utf8(text).map_err(|_| malformed("feature is not UTF-8"))?;
        let ham = reader.f64().ok_or_else(|| malformed("parameters"))?;
        let spam = reader.f64().ok_or_else(|| malformed("parameters"))?;
        vocabulary.push(text.to_string());
        feature_log_prob.push([ham, spam]);
    }
    if reader.at != body.len() {
        return Err(malformed("trailing bytes"));
    }
    Model::new(
        header.options,
        header.class_counts,
        vocabulary,
        feature_log_prob,
        header.thresholds,
        header.training,
    )
    .map(|model| match header.linear {
        Some(head) => model.with_linear(head),
        None => model,
    })
    .map_err(|e| malformed(&e.to_string()))
}

pub fn load(path: &Path) -> Result<Model, ModelFileError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
        path: name.clone(),
        source,
    })?;
    from_bytes(&bytes, &name)
}

pub fn save(model: &Model, path: &Path) -> Result<(), ModelFileError> {
    std::fs::write(path, to_bytes(model)).map_err(|source| ModelFileError::Io {
        path: path.display().to_string(),
        source,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Model {
        Model::new(
            TrainOptions::default(),
            [3, 2],
            vec!["w:free".into(), "w:hello".into()],
            vec![[-2.0, -0.5], [-0.7, -3.0]],
            Thresholds::default(),
            serde_json::json!({"files": []}),
        )
        .unwrap()
    }

    #[test]
    fn round_trips_exactly() {
        let bytes = to_bytes(&tiny());
        let back = from_bytes(&bytes, "m").unwrap();
        assert_eq!(back, tiny());
        assert_eq!(to_bytes(&back), bytes);
    }

    #[test]
    fn corruption_version_and_garbage_are_refused() {
        let mut bytes = to_bytes(&tiny());
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        assert!(matches!(
            from_bytes(&bytes, "m"),
            Err(ModelFileError::Checksum { .. })
        ));
        let mut bytes = to_bytes(&tiny());
        bytes[4] = 9;
        assert!(matches!(
            from_bytes(&bytes, "m"),
            Err(ModelFileError::Version { found: 9, .. })
        ));
        assert!(matches!(
            from_bytes(b"hello world, this is not a model file at all!", "m"),
            Err(ModelFileError::NotAModel { .. })
        ));
        let bytes = to_bytes(&tiny());
        let error = from_bytes(&bytes[..bytes.len() - 5], "models/x.sgnb").unwrap_err();
        assert!(error.to_string().starts_with("models/x.sgnb:"), "{error}");
    }

    #[test]
    fn a_repeated_feature_is_refused_even_with_a_valid_checksum() {
        let bytes = to_bytes(&tiny());
        let mut body = bytes[..bytes.len() - 32].to_vec();
        let at = body
            .windows(7)
            .position(|w| w == b"w:hello")
            .expect("the feature is in the file");
        // `w:hello` becomes a second `w:free` (its length prefix too), under a fresh checksum.
        body[at - 2..at].copy_from_slice(&6u16.to_le_bytes());
        body.splice(at..at + 7, *b"w:free");
        let mut patched = body.clone();
        patched.extend_from_slice(&Sha256::digest(&body));
        let error = from_bytes(&patched, "m.sgnb").unwrap_err();
        assert!(
            matches!(error, ModelFileError::Malformed { .. })
                && error.to_string().contains("w:free"),
            "{error}"
        );
    }
}
