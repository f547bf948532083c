//! What a rescore runs with, and the fingerprint that names it.
//!
//! The engine is built by the same [`Engine::load`] as the server's, so a rescore decides
//! exactly as the send path would with these packs and this model. The fingerprint hashes
//! the model file's bytes, every rule pack's name and bytes, the policy and `--since`: a
//! checkpoint is resumed only by a run with the same fingerprint, and any changed input
//! starts over instead of mixing two sets of verdicts in one diff.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::Millis;
use crate::engine::{Classifier, Engine};
use crate::policy::PolicyConfig;

/// A loaded engine and the fingerprint of everything it was loaded from.
pub struct Inputs {
    pub engine: Engine,
    pub fingerprint: String,
    pub describe: InputsSummary,
}

/// The inputs as the report shows them.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct InputsSummary {
    pub rules: String,
    pub model: Option<String>,
    pub since: Option<Millis>,
    /// sha256 over model, rule packs, policy and since.
    pub fingerprint: String,
}

/// An input that would not load; `field` names it (`rules` or `model`) for API errors.
#[derive(Debug, thiserror::Error)]
#[error("{error:#}")]
pub struct InputError {
    pub field: &'static str,
    pub error: anyhow::Error,
}

impl Inputs {
    /// Loads the rule packs in `rules_dir` and the model (if any) and fingerprints them.
    pub fn load(
        policy: &PolicyConfig,
        rules_dir: &Path,
        model: Option<&Path>,
        since: Option<Millis>,
    ) -> Result<Inputs, InputError> {
        let rules = crate::rules::load_dir(rules_dir).map_err(|e| InputError {
            field: "rules",
            error: e.into(),
        })?;
        let model_error = |error: anyhow::Error| InputError {
            field: "model",
            error,
        };
        let classifier = model
            .map(|path| {
                Classifier::load(path)
                    .with_context(|| format!("model {}", path.display()))
                    .map_err(model_error)
            })
            .transpose()?;
        let engine = Engine::new(policy.clone(), rules, classifier);
        let fingerprint =
            fingerprint(policy, rules_dir, model, since).map_err(|error| InputError {
                field: "rules",
                error,
            })?;
        Ok(Inputs {
            engine,
            describe: InputsSummary {
                rules: rules_dir.display().to_string(),
                model: model.map(|m| m.display().to_string()),
                since,
                fingerprint: fingerprint.clone(),
            },
            fingerprint,
        })
    }

    /// Like [`Inputs::load`], but a missing directory or file means the built-in packs or
    /// model (`crate::shipped`), as the server and the CLI default to.
    pub fn load_or_shipped(
        policy: &PolicyConfig,
        rules_dir: Option<&Path>,
        model: Option<&Path>,
        since: Option<Millis>,
    ) -> Result<Inputs, InputError> {
        if let (Some(rules_dir), Some(_)) = (rules_dir, model) {
            return Inputs::load(policy, rules_dir, model, since);
        }
        let rules = crate::shipped::rules(rules_dir).map_err(|e| InputError {
            field: "rules",
            error: e.into(),
        })?;
        let classifier = crate::shipped::classifier(model).map_err(|e| InputError {
            field: "model",
            error: e.into(),
        })?;
        let packs = match rules_dir {
            Some(dir) => read_packs(dir),
            None => Ok(crate::shipped::rule_packs()
                .into_iter()
                .map(|(name, text)| (pack_file_name(&name), text.into_bytes()))
                .collect()),
        }
        .map_err(|error| InputError {
            field: "rules",
            error,
        })?;
        let model_bytes = match model {
            Some(path) => std::fs::read(path)
                .with_context(|| format!("{}: reading", path.display()))
                .map_err(|error| InputError {
                    field: "model",
                    error,
                })?,
            None => crate::shipped::model_bytes().to_vec(),
        };
        let fingerprint =
            fingerprint_of(policy, &packs, Some(&model_bytes), since).map_err(|error| {
                InputError {
                    field: "rules",
                    error,
                }
            })?;
        Ok(Inputs {
            engine: Engine::new(policy.clone(), rules, Some(classifier)),
            describe: InputsSummary {
                rules: rules_dir.map_or(crate::shipped::RULES_NAME.into(), |d| {
                    d.display().to_string()
                }),
                model: Some(
                    model.map_or(format!("built-in {}", crate::shipped::MODEL_NAME), |m| {
                        m.display().to_string()
                    }),
                ),
                since,
                fingerprint: fingerprint.clone(),
            },
            fingerprint,
        })
    }
}

fn pack_file_name(name: &str) -> Vec<u8> {
    name.rsplit('/').next().unwrap_or(name).as_bytes().to_vec()
}

/// The same files `rules::load_dir` compiles: `*.toml`, in name order, as (file name, bytes).
fn read_packs(rules_dir: &Path) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut packs: Vec<PathBuf> = std::fs::read_dir(rules_dir)
        .with_context(|| format!("{}: reading", rules_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    packs.sort();
    packs
        .into_iter()
        .map(|path| {
            let bytes =
                std::fs::read(&path).with_context(|| format!("{}: reading", path.display()))?;
            let name = path
                .file_name()
                .unwrap_or_default()
                .as_encoded_bytes()
                .to_vec();
            Ok((name, bytes))
        })
        .collect()
}

fn fingerprint(
    policy: &PolicyConfig,
    rules_dir: &Path,
    model: Option<&Path>,
    since: Option<Millis>,
) -> anyhow::Result<String> {
    let model_bytes = model
        .map(|path| std::fs::read(path).with_context(|| format!("{}: reading", path.display())))
        .transpose()?;
    fingerprint_of(
        policy,
        &read_packs(rules_dir)?,
        model_bytes.as_deref(),
        since,
    )
}

/// Built-in and on-disk inputs with the same bytes fingerprint alike.
fn fingerprint_of(
    policy: &PolicyConfig,
    packs: &[(Vec<u8>, Vec<u8>)],
    model: Option<&[u8]>,
    since: Option<Millis>,
) -> anyhow::Result<String> {
    let mut hash = Sha256::new();
    match model {
        Some(bytes) => {
            hash.update(b"model\0");
            hash.update(Sha256::digest(bytes));
        }
        None => hash.update(b"no model\0"),
    }
    for (name, bytes) in packs {
        hash.update(b"pack\0");
        hash.update(name);
        hash.update(b"\0");
        hash.update(Sha256::digest(bytes));
    }
    hash.update(b"policy\0");
    hash.update(serde_json::to_vec(policy)?);
    hash.update(b"since\0");
    hash.update(since.map_or(String::new(), |s| s.to_string()).as_bytes());
    Ok(hex::encode(hash.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACK: &str = r#"
category = "test"
[[rule]]
id = "test.word"
description = "a word"
keywords = ["zorblax"]
action = "other"
examples = { match = ["zorblax"], no_match = ["hello"] }
"#;

    #[test]
    fn any_changed_input_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), PACK).unwrap();
        let policy = PolicyConfig::default();
        let base = fingerprint(&policy, dir.path(), None, None).unwrap();
        assert_eq!(base, fingerprint(&policy, dir.path(), None, None).unwrap());
        assert_ne!(
            base,
            fingerprint(&policy, dir.path(), None, Some(1)).unwrap()
        );
        let stricter = PolicyConfig {
            rule_hold_score: 9.0,
            ..PolicyConfig::default()
        };
        assert_ne!(
            base,
            fingerprint(&stricter, dir.path(), None, None).unwrap()
        );
        std::fs::write(dir.path().join("a.toml"), PACK.replace("other", "hold")).unwrap();
        assert_ne!(base, fingerprint(&policy, dir.path(), None, None).unwrap());
    }

    #[test]
    fn a_missing_rules_dir_names_the_path() {
        let error = Inputs::load(
            &PolicyConfig::default(),
            Path::new("/nonexistent/rules"),
            None,
            None,
        )
        .err()
        .unwrap();
        assert!(
            format!("{error:#}").contains("/nonexistent/rules"),
            "{error:#}"
        );
    }
}
