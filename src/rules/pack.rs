//! The rule-pack file format (TOML, one file per category) and its validation.
//!
//! ```toml
//! category = "phishing"                 # default category of the file's rules
//!
//! [[rule]]
//! id = "phishing.account_suspension"    # unique across all packs: [a-z0-9_.]+
//! description = "Fake security notice threatening suspension"
//! keywords = ["verify your account", "account will be suspended"]   # exactly one matcher:
//! # pattern = '(?-u:\b)wire (the )?fee(?-u:\b)'  regex over the normalized text
//! # domains = ["linkedln-security.com"]         registrable domains of the message's links
//! # builtin = "link_mismatch"                   a named check (see builtins.rs), with `min`
//! action = "hold"                       # score | other | hold | reject (default: score)
//! score = 3.0                           # added to the message's rule score
//! shadow = false                        # true: hits are recorded and counted, never act
//! supporting = false                    # true: a weak sign (a phone number); the hit counts
//!                                       # and is shown only beside another sign of spam
//! examples = { match = ["..."], no_match = ["..."] }
//!
//! [[allow]]                             # allow-list: suppresses the named rules
//! description = "our own domain"
//! domains = ["linkedin.com"]            # a domain-list hit on these domains does not count
//! phrases = ["free trial of premium"]   # any of these in the message suppresses the rules
//! suppresses = ["advertising.free_trial"]
//! ```
//! Keywords, phrases and examples are written naturally: they pass through the same
//! normalizer as messages, so `FR33 m0ney` in a message matches the keyword `free money`.

use serde::Deserialize;

use crate::domain::RuleAction;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackSpec {
    pub category: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
    #[serde(default, rename = "allow")]
    pub allows: Vec<AllowSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    #[serde(default)]
    pub category: Option<String>,
    pub description: String,
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    #[serde(default)]
    pub builtin: Option<String>,
    /// Parameter of a built-in check (e.g. how many emoji make a flood).
    #[serde(default)]
    pub min: Option<u32>,
    #[serde(default)]
    pub score: Option<f64>,
    #[serde(default)]
    pub action: Option<RuleAction>,
    #[serde(default)]
    pub shadow: bool,
    /// A weak sign, common in ordinary messages (a phone number, an e-mail address): its
    /// hit adds its score and names it only when something else flags the message too, so
    /// that members who share their number are not flagged for it.
    #[serde(default)]
    pub supporting: bool,
    #[serde(default)]
    pub examples: Examples,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default, rename = "match")]
    pub matching: Vec<String>,
    #[serde(default)]
    pub no_match: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub phrases: Vec<String>,
    pub suppresses: Vec<String>,
}

/// Which matcher a rule uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    Keywords(Vec<String>),
    Pattern(String),
    Domains(Vec<String>),
    Builtin(String, Option<u32>),
}

impl RuleSpec {
    /// The one matcher, or why the rule is malformed.
    pub fn matcher(&self) -> Result<Matcher, String> {
        let mut matchers = Vec::new();
        if let Some(keywords) = &self.keywords {
            matchers.push(Matcher::Keywords(keywords.clone()));
        }
        if let Some(pattern) = &self.pattern {
            matchers.push(Matcher::Pattern(pattern.clone()));
        }
        if let Some(domains) = &self.domains {
            matchers.push(Matcher::Domains(domains.clone()));
        }
        if let Some(builtin) = &self.builtin {
            matchers.push(Matcher::Builtin(builtin.clone(), self.min));
        }
        match matchers.len() {
            1 => Ok(matchers.remove(0)),
            0 => Err("needs one matcher: keywords, pattern, domains or builtin".into()),
            _ => Err("has more than one matcher; give exactly one".into()),
        }
    }

    pub fn validate_id(&self) -> Result<(), String> {
        let ok = !self.id.is_empty()
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
        if ok {
            Ok(())
        } else {
            Err("id must be non-empty [a-z0-9_.]".into())
        }
    }
}
