//! Which language a message is written in, as a signal: the classifier's reasons name it
//! (a message in a language the model hardly knows is judged with that in mind), and
//! stored verdicts carry it into reports. Identified by whatlang, a maintained trigram
//! and script detector, on the text as the member wrote it (folding would turn Cyrillic
//! into look-alike Latin letters).

/// whatlang's own "reliable" flag is strict on one-line messages (a plain Turkish sentence
/// scores 0.46 and is not "reliable"); below this confidence, two- and three-word messages
/// are misread often enough (`ok` as Hungarian) that no answer is better.
const MIN_CONFIDENCE: f64 = 0.4;

/// The detector reads at most this many bytes (cut at a character boundary): a message's
/// opening says which language it is in, and the send path should not pay for a trigram
/// count over a 28,000-character body.
const MAX_BYTES: usize = 1024;

/// The language of `visible` as an ISO 639-3 code (`eng`, `tur`, `cmn`), or `None` when the
/// detector is not confident (short messages often are not).
pub fn identify(visible: &str) -> Option<String> {
    let mut end = visible.len().min(MAX_BYTES);
    while !visible.is_char_boundary(end) {
        end -= 1;
    }
    let info = whatlang::detect(&visible[..end])?;
    (info.is_reliable() || info.confidence() >= MIN_CONFIDENCE)
        .then(|| info.lang().code().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_sentences_are_identified_and_noise_is_not() {
        assert_eq!(
            identify("Merci beaucoup pour votre aide, je vous envoie le contrat demain matin.")
                .as_deref(),
            Some("fra")
        );
        assert_eq!(
            identify("Toplantıyı yarın sabah saat ona alabilir miyiz? Teşekkürler.").as_deref(),
            Some("tur")
        );
        assert_eq!(identify("谢谢你的帮助").as_deref(), Some("cmn"));
        assert_eq!(identify("🙏"), None);
        assert_eq!(identify("ok"), None);
        let long = "Merci beaucoup pour votre aide, je vous envoie le contrat demain. ".repeat(400);
        assert_eq!(identify(&long).as_deref(), Some("fra"));
        assert_eq!(identify(&"é".repeat(2_000)), identify(&"é".repeat(512)));
    }
}
