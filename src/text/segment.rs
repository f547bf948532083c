//! Words of scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar).
//!
//! The chunker cuts on spaces, so a whole sentence of Chinese would be one "word": a
//! feature no other message shares, which the classifier can learn nothing from. Such a
//! run is read as its overlapping character bigrams (a lone character as itself), the
//! usual dictionary-free segmentation for these scripts; letters of other scripts inside
//! the same chunk (`在google工作`) stay whole words.
//!
//! A "character" here is a base letter with the combining marks written on it: Thai,
//! Lao, Khmer and Myanmar put vowels and tone marks above and below their consonants as
//! separate code points (`คุ` is `ค` and `ุ`), and a bigram of code points would give
//! features such as a lone vowel sign with a tone mark, shared by unrelated words.

use unicode_normalization::char::is_combining_mark;

/// Whether `c` belongs to a script written without spaces between words.
pub(crate) fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF     // Thai, Lao
        | 0x1000..=0x109F   // Myanmar
        | 0x1780..=0x17FF   // Khmer
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x31F0..=0x31FF   // Katakana phonetic extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

/// Whether `word` holds a character of an unspaced script. Every such character is at
/// least three bytes long in UTF-8, so ASCII and two-byte words are rejected on their bytes.
pub(crate) fn has_unspaced(word: &str) -> bool {
    word.bytes().any(|b| b >= 0xE0) && word.chars().any(is_unspaced)
}

/// Calls `piece` with each piece of `word` in order: a run of an unspaced script gives its
/// overlapping bigrams of characters with their combining marks (a one-character run, that
/// character); any other run is passed whole.
pub(crate) fn for_each_piece<'w>(word: &'w str, mut piece: impl FnMut(&'w str)) {
    let mut chars = word.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if !is_unspaced(c) {
            let mut end = word.len();
            while let Some(&(i, c)) = chars.peek() {
                if is_unspaced(c) {
                    end = i;
                    break;
                }
                chars.next();
            }
            piece(&word[start..end]);
            continue;
        }
        // A run of the unspaced script: bigrams over consecutive characters, each a base
        // with the marks that follow it. `previous` starts the character before `current`.
        chars.next();
        let mut previous = None;
        let mut current = start;
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            if !is_unspaced(c) {
                break;
            }
            chars.next();
            if is_combining_mark(c) {
                end = i + c.len_utf8();
                continue;
            }
            if let Some(first) = previous {
                piece(&word[first..end]);
            }
            previous = Some(current);
            current = i;
            end = i + c.len_utf8();
        }
        // The last bigram, or the run's only character.
        piece(&word[previous.unwrap_or(current)..end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(word: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_piece(word, |p| out.push(p));
        out
    }

    #[test]
    fn unspaced_runs_become_bigrams() {
        assert_eq!(pieces("谢谢你"), ["谢谢", "谢你"]);
        assert_eq!(pieces("ありがとう"), ["あり", "りが", "がと", "とう"]);
        // Thai vowel and tone marks stay on their consonant: `คุ` is one character.
        assert_eq!(pieces("ขอบคุณ"), ["ขอ", "อบ", "บคุ", "คุณ"]);
        assert_eq!(pieces("หุ้นกู้"), ["หุ้น", "นกู้"]);
        assert_eq!(pieces("คุ"), ["คุ"]);
        assert_eq!(pieces("好"), ["好"]);
    }

    #[test]
    fn other_scripts_in_the_chunk_stay_whole() {
        assert_eq!(pieces("在google工作"), ["在", "google", "工作"]);
        assert_eq!(pieces("google"), ["google"]);
        assert_eq!(pieces("привет"), ["привет"]);
        assert!(!has_unspaced("привет") && !has_unspaced("hello") && !has_unspaced("안녕하세요"));
        assert!(has_unspaced("ok谢谢"));
    }
}
