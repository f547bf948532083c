//! The shipped rule packs and model, built into the binary (see `build.rs`).
//!
//! They are the defaults wherever no directory or file is given, so `sendguard` works
//! from any directory and after `cargo install`; a `--rules DIR`, `--model FILE` or the
//! config's `[engine]` keys still win. Embedding reads `rules/*.toml` and
//! `models/default.sgnb` at build time: a retrained model ships with the next build.

use std::path::Path;

use crate::classify::ModelFileError;
use crate::engine::{Classifier, Engine};
use crate::policy::PolicyConfig;
use crate::rules::{RuleSet, RulesError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/shipped.rs"));
}

/// How errors and `RuleSet::source` name the built-in packs.
pub const RULES_NAME: &str = "built-in rules";
/// The name verdict reasons cite for the built-in model: the file it was built from.
pub const MODEL_NAME: &str = "default.sgnb";

/// The built-in packs as `(file name, TOML text)`, in file-name order like `load_dir`.
pub fn rule_packs() -> Vec<(String, String)> {
    embedded::RULE_PACKS
        .iter()
        .map(|(name, text)| (format!("{RULES_NAME}/{name}"), (*text).to_string()))
        .collect()
}

/// The built-in model file's bytes.
pub fn model_bytes() -> &'static [u8] {
    embedded::MODEL
}

/// The packs in `dir`, or the built-in ones when there is no directory.
pub fn rules(dir: Option<&Path>) -> Result<RuleSet, RulesError> {
    match dir {
        Some(dir) => crate::rules::load_dir(dir),
        None => {
            let mut set = crate::rules::compile(&rule_packs())?;
            set.source = RULES_NAME.into();
            Ok(set)
        }
    }
}

/// The model in `file`, or the built-in one when there is no file.
pub fn classifier(file: Option<&Path>) -> Result<Classifier, ModelFileError> {
    match file {
        Some(file) => Classifier::load(file),
        None => Ok(Classifier {
            model: crate::classify::file::from_bytes(model_bytes(), MODEL_NAME)?,
            name: MODEL_NAME.into(),
        }),
    }
}

/// An engine with the given packs and model, each defaulting to the built-in one.
pub fn engine(
    policy: PolicyConfig,
    rules_dir: Option<&Path>,
    model: Option<&Path>,
) -> anyhow::Result<Engine> {
    let rules = rules(rules_dir)?;
    let classifier = classifier(model)?;
    Ok(Engine::new(policy, rules, Some(classifier)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_packs_are_every_pack_in_rules() {
        let on_disk = crate::rules::load_dir(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("rules")
                .as_path(),
        )
        .unwrap();
        let built_in = rules(None).unwrap();
        assert!(!built_in.is_empty());
        assert_eq!(built_in.len(), on_disk.len());
        assert_eq!(built_in.source, RULES_NAME);
    }

    #[test]
    fn the_built_in_model_loads() {
        let classifier = classifier(None).unwrap();
        assert_eq!(classifier.name, MODEL_NAME);
    }
}
