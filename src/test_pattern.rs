//! GTUBE, the Generic Test for Unsolicited Bulk Email: a string that SpamAssassin, Rspamd
//! and most spam filters treat as certain spam, so an operator can check a deployment end
//! to end without writing real spam. A message containing it is held with its own reason
//! (source `test_pattern`), whatever the rules and the classifier say.
//!
//! The check runs on the engine's verdict (one call in `Engine::assess`), so every caller
//! (sends, `/v1/assess`, `classify`, rescoring) sees it. `[policy] test_pattern = false`
//! switches it off, like any other policy setting (and a rescore's fingerprint covers it).

use std::sync::LazyLock;

use crate::domain::{Decision, Reason, Verdict};
use crate::text::Normalized;

/// The GTUBE string, as SpamAssassin publishes it.
pub const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// GTUBE as the normalizer spells it, which is what a message's text is matched against.
static NORMALIZED: LazyLock<String> = LazyLock::new(|| crate::text::normalize(GTUBE).text);

/// Holds `verdict`'s message if it contains GTUBE.
pub fn apply(message: &Normalized, mut verdict: Verdict) -> Verdict {
    if !contains_gtube(message) {
        return verdict;
    }
    verdict.decision = Decision::Held;
    verdict.automated = true;
    verdict.reasons.push(Reason::new(
        "test_pattern",
        "gtube",
        "the GTUBE test string: certain spam by convention, for end-to-end checks",
    ));
    verdict
}

fn contains_gtube(message: &Normalized) -> bool {
    message.text.contains(NORMALIZED.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtube_is_found_in_the_normalized_text_and_lookalikes_are_not() {
        let found = |text: &str| contains_gtube(&crate::text::normalize(text));
        assert!(found(GTUBE));
        assert!(found(&format!("Hello,\n\n{GTUBE}\n\nthanks")));
        assert!(!found(&GTUBE.replace("GTUBE", "GTUBX")));
        assert!(!found("GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL"));
    }
}
