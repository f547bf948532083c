//! Character trigrams of the words of short messages.
//!
//! A short message has few words, and in a language with rich inflection (Turkish,
//! Russian, Polish) or a spelling the model has not met (`thx`, `merciii`), most of them
//! are words the model never saw: whole-word features leave it nearly blind. Trigrams of
//! each word, with its boundaries (`" th"`, `"tha"`, …, `"ks "`), share evidence between
//! forms of one word and between related words. Long messages have words enough, and
//! trigrams would multiply their cost, so only messages of at most [`MAX_WORDS`] words get
//! them; a scorer that reads words as they come computes them for the first `MAX_WORDS`
//! words and drops them once a message proves longer.

/// Messages with more words than this get no character n-grams.
pub const MAX_WORDS: usize = 64;

/// Calls `gram` with each character trigram of `word` framed by spaces, in order. Numbers
/// and words of scripts written without spaces (already read as character bigrams) give
/// none.
pub fn for_each_gram(word: &str, buffer: &mut String, mut gram: impl FnMut(&str)) {
    if word.is_empty()
        || word.bytes().all(|b| b.is_ascii_digit())
        || crate::text::has_unspaced(word)
    {
        return;
    }
    buffer.clear();
    buffer.push(' ');
    buffer.push_str(word);
    buffer.push(' ');
    let starts: Vec<usize> = buffer.char_indices().map(|(i, _)| i).collect();
    for window in 0..starts.len().saturating_sub(2) {
        let end = starts.get(window + 3).copied().unwrap_or(buffer.len());
        gram(&buffer[starts[window]..end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(word: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_gram(word, &mut String::new(), |g| out.push(g.to_string()));
        out
    }

    #[test]
    fn words_give_framed_trigrams() {
        assert_eq!(grams("thx"), [" th", "thx", "hx "]);
        assert_eq!(grams("a"), [" a "]);
        assert_eq!(grams("çok"), [" ço", "çok", "ok "]);
        assert!(grams("2024").is_empty());
        assert!(grams("谢谢").is_empty());
    }
}
