//! Which language a message is written in, as a signal: the classifier's reasons name it
//! (a message in a language the model hardly knows is judged with that in mind), and
//! stored verdicts carry it into reports. Identified by whatlang, a maintained trigram
//! and script detector, on the text as the member wrote it (folding would turn Cyrillic
//! into look-alike Latin letters).

use std::sync::LazyLock;

use whatlang::{Detector, Lang, Script};

/// whatlang's own "reliable" flag is strict on one-line messages (a plain Turkish sentence
/// scores 0.46 and is not "reliable"); below this confidence, two- and three-word messages
/// are misread often enough (`ok` as Hungarian) that no answer is better.
const MIN_CONFIDENCE: f64 = 0.4;

/// The detector reads at most this many bytes (cut at a character boundary): a message's
/// opening says which language it is in, and the send path should not pay for a trigram
/// count over a 28,000-character body.
const MAX_BYTES: usize = 1024;

/// The Latin-script languages the product serves: those of its members' messages
/// (`datasets/multilingual`: English, Portuguese, Spanish, German, French, Italian, Turkish,
/// Polish, Dutch, Indonesian, Vietnamese, Swedish).
///
/// whatlang scores a Latin-script text against each of its 37 Latin-script language
/// profiles, a fixed cost of about 60 µs a message whatever its length (the largest part of
/// a send's own CPU after rule matching, in a replica's profile). Scoring only these 12 takes
/// it to about 27 µs, and on the project's 19,051 labelled messages names the right language
/// more often (15,838 against 15,093: fewer Dutch read as Afrikaans, Indonesian as Javanese,
/// short English as nothing), agreeing with the full detector on 94.5 % of them. The cost: a
/// message in a Latin-script language not listed (Danish, Catalan, Czech…) is named as the
/// nearest listed one, or not at all. Other scripts are scored as before.
const SERVED_LATIN: [Lang; 12] = [
    Lang::Eng,
    Lang::Por,
    Lang::Spa,
    Lang::Deu,
    Lang::Fra,
    Lang::Ita,
    Lang::Tur,
    Lang::Pol,
    Lang::Nld,
    Lang::Ind,
    Lang::Vie,
    Lang::Swe,
];

/// Every language whatlang knows, but the Latin-script ones the product does not serve.
static DETECTOR: LazyLock<Detector> = LazyLock::new(|| {
    Detector::with_denylist(
        Script::Latin
            .langs()
            .iter()
            .copied()
            .filter(|lang| !SERVED_LATIN.contains(lang))
            .collect(),
    )
});

/// The language of `visible` as an ISO 639-3 code (`eng`, `tur`, `cmn`), or `None` when the
/// detector is not confident (short messages often are not).
pub fn identify(visible: &str) -> Option<String> {
    let mut end = visible.len().min(MAX_BYTES);
    while !visible.is_char_boundary(end) {
        end -= 1;
    }
    let info = DETECTOR.detect(&visible[..end])?;
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

    #[test]
    fn only_the_served_latin_languages_are_named() {
        // Dutch that all 37 Latin-script profiles read as Afrikaans.
        assert_eq!(
            identify("Gefeliciteerd met je nieuwe baan! 🎉 Veel succes daar").as_deref(),
            Some("nld")
        );
        // Danish, which all 37 name, is not served: it comes out as the nearest served
        // language (Swedish here), never as Danish.
        let danish = identify(
            "Tak for din besked. Jeg har læst dit forslag grundigt, og jeg vender tilbage med \
             et svar i morgen, når jeg har talt med mine kolleger om det.",
        );
        assert!(
            danish.is_some() && danish.as_deref() != Some("dan"),
            "{danish:?}"
        );
        // Other scripts keep every language of theirs.
        assert_eq!(
            identify("Дякую за повідомлення, я відповім вам завтра вранці.").as_deref(),
            Some("ukr")
        );
        for lang in SERVED_LATIN {
            assert!(Script::Latin.langs().contains(&lang), "{lang:?}");
        }
    }
}
