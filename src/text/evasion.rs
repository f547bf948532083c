//! Words disguised to slip past a filter, counted in the text as written: a Latin word with
//! letters of another alphabet in it (`Frее` with a Cyrillic `е`, `Зapaбoтoк` with Latin
//! `a` and `o`), invisible characters between letters (`u\u{200B}g\u{200B}l\u{200B}y`),
//! and a word spelled out letter by letter (`F R E E`, `c.a.s.h`).
//!
//! The normalizer undoes each trick so that rules and the classifier read the word, and in
//! doing so forgets that it was played. Its presence is a sign of its own: ordinary
//! messages in any language have no reason to hide their words from a filter. What is
//! left out on purpose, because members write it for other reasons: characters that
//! languages need between letters (the zero-width joiner and non-joiner of Indic scripts,
//! Persian and emoji sequences, the soft hyphen of text copied from a web page); one
//! Latin letter in a Cyrillic word (a keyboard slip, or the Latin `i` Ukrainian typists use
//! for `і`); Greek letters that look like no Latin one (`μg`); full-width, bold or circled
//! letters (the input methods of Chinese and Japanese, and the bold text of posts).

/// Invisible characters that no language needs between two letters.
fn is_invisible_separator(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Alphabet {
    /// A Latin letter other than `i`.
    Latin,
    /// `i` or `I`, which Ukrainian and Belarusian typists use for `і` in Cyrillic words.
    LatinI,
    /// A Cyrillic or Greek letter drawn like a Latin one.
    LookAlike,
    /// Any other letter of Cyrillic or Greek.
    OtherCyrillicOrGreek,
    Other,
}

fn alphabet(c: char) -> Alphabet {
    if matches!(c, 'i' | 'I') {
        return Alphabet::LatinI;
    }
    let latin_extended = ('\u{00C0}'..='\u{024F}').contains(&c) // accents, Polish, Turkish
        || ('\u{1E00}'..='\u{1EFF}').contains(&c); // Vietnamese
    if c.is_ascii_alphabetic() || (latin_extended && c.is_alphabetic()) {
        return Alphabet::Latin;
    }
    const LOOK_ALIKES: &str = "аеорсухіјѕԁкмнтвАВЕКМНОРСТХІЈЅοανρτικχυΑΒΕΖΗΙΚΜΝΟΡΤΥΧ";
    if LOOK_ALIKES.contains(c) {
        return Alphabet::LookAlike;
    }
    if ('\u{0370}'..='\u{052F}').contains(&c) {
        return Alphabet::OtherCyrillicOrGreek;
    }
    Alphabet::Other
}

/// A letter of Latin, Cyrillic or Greek. Thai, Khmer, Chinese or Japanese text may hold a
/// zero-width space between words, as the word break those scripts do not write.
fn is_spaced_alphabet(c: char) -> bool {
    c.is_alphabetic() && alphabet(c) != Alphabet::Other
}

/// The letters of one run, by alphabet: all that deciding whether it mixes them needs.
#[derive(Default)]
struct RunLetters {
    latin_but_i: usize,
    latin_i: usize,
    look_alike: usize,
    other: usize,
}

impl RunLetters {
    fn add(&mut self, alphabet: Alphabet) {
        match alphabet {
            Alphabet::Latin => self.latin_but_i += 1,
            Alphabet::LatinI => self.latin_i += 1,
            Alphabet::LookAlike => self.look_alike += 1,
            Alphabet::OtherCyrillicOrGreek => self.other += 1,
            Alphabet::Other => {}
        }
    }

    /// Whether the run mixes alphabets the way a disguise does: a Latin word with a
    /// look-alike in it (every letter Latin or drawn like one, or most of them Latin), or a
    /// Cyrillic or Greek word with at least two Latin letters other than `i` in it.
    fn mixes_alphabets(&self) -> bool {
        let latin = self.latin_but_i + self.latin_i;
        let (look_alike, other) = (self.look_alike, self.other);
        if latin == 0 || look_alike + other == 0 {
            return false;
        }
        if other == 0 && self.latin_but_i > 0 {
            // Every letter is Latin or drawn like one: a Latin word with look-alikes in it.
            return true;
        }
        if latin >= look_alike + other {
            look_alike > 0
        } else {
            self.latin_but_i >= 2
        }
    }
}

/// Separators a word spelled out letter by letter uses between its letters.
fn is_spelling_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '_' | '*' | '·')
}

/// What [`count`] finds in a message as written.
pub(super) struct Evasion {
    /// Words disguised with invisible characters between letters or with letters of
    /// another alphabet (see the module comment).
    pub disguised_words: u32,
    /// Words spelled out letter by letter, each once however many letters it has. A weaker
    /// sign: headings and dotted acronyms (`H E A D L I N E`, `I.E.E.E`) look the same.
    pub spelled_out_words: u32,
}

/// Both counts of `input`. ASCII text (most messages) can hide no letter and is read as
/// bytes; other text is decoded into characters once for all three passes.
pub(super) fn count(input: &str) -> Evasion {
    if input.is_ascii() {
        let bytes = input.as_bytes();
        return Evasion {
            disguised_words: 0,
            spelled_out_words: count_spelled_out(bytes.len(), |i| char::from(bytes[i])),
        };
    }
    let chars: Vec<char> = input.chars().collect();
    Evasion {
        disguised_words: count_invisible_between_letters(&chars)
            + count_mixed_alphabet_runs(&chars),
        spelled_out_words: count_spelled_out(chars.len(), |i| chars[i]),
    }
}

/// Words with an invisible separator between two letters: each word once. One pass: the
/// last visible character and whether invisible ones followed it are all it keeps.
fn count_invisible_between_letters(chars: &[char]) -> u32 {
    let mut count = 0;
    let mut last_visible: Option<char> = None;
    let mut invisible_since = false;
    let mut in_counted_word = false;
    for c in chars {
        if is_invisible_separator(*c) {
            invisible_since = true;
            continue;
        }
        if c.is_whitespace() {
            in_counted_word = false;
        } else if invisible_since
            && !in_counted_word
            && is_spaced_alphabet(*c)
            && last_visible.is_some_and(is_spaced_alphabet)
        {
            count += 1;
            in_counted_word = true;
        }
        last_visible = Some(*c);
        invisible_since = false;
    }
    count
}

/// Runs of letters (invisible separators skipped) that mix alphabets like a disguise.
fn count_mixed_alphabet_runs(chars: &[char]) -> u32 {
    let mut count = 0;
    let mut run = RunLetters::default();
    for c in chars {
        if is_invisible_separator(*c) {
            continue;
        }
        if c.is_alphabetic() {
            run.add(alphabet(*c));
        } else {
            count += u32::from(run.mixes_alphabets());
            run = RunLetters::default();
        }
    }
    count + u32::from(run.mixes_alphabets())
}

/// Words spelled out: at least four single letters, each followed by one separator, as in
/// `F R E E` or `c.a.s.h` (an initial such as `J. R. R.` has two characters between its
/// letters and is not one).
fn count_spelled_out(len: usize, at: impl Fn(usize) -> char) -> u32 {
    const MIN_LETTERS: usize = 4;
    let get = |i: usize| (i < len).then(|| at(i));
    let mut count = 0;
    let mut letters = 0usize;
    let mut i = 0;
    while i < len {
        let c = at(i);
        let starts_word = i == 0 || !at(i - 1).is_alphanumeric();
        let single_letter = c.is_alphabetic()
            && get(i + 1).is_none_or(|c| !c.is_alphanumeric())
            && (letters > 0 || starts_word);
        if single_letter {
            letters += 1;
            let separated = get(i + 1).is_some_and(is_spelling_separator)
                && get(i + 2).is_some_and(char::is_alphabetic);
            if separated {
                i += 2;
                continue;
            }
        }
        if letters >= MIN_LETTERS {
            count += 1;
        }
        letters = 0;
        i += 1;
    }
    if letters >= MIN_LETTERS {
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    fn count(input: &str) -> u32 {
        super::count(input).disguised_words
    }

    fn spelled_out(input: &str) -> u32 {
        super::count(input).spelled_out_words
    }

    #[test]
    fn look_alike_letters_inside_a_latin_word_are_a_disguise() {
        assert_eq!(count("Frее money, claim now"), 1); // Cyrillic е twice
        assert_eq!(count("Chào bạn, tôi là Việt"), 0);
        assert_eq!(count("Kiếm tiền dễ dàng, liên hệ ngаy"), 1); // Cyrillic а
        assert_eq!(count("саfe"), 1); // Cyrillic с and а
        assert_eq!(count("Зapaбoтoк от 500$ в день"), 1); // Latin a, o in Cyrillic
        assert_eq!(count("Free money, claim now"), 0);
        assert_eq!(count("Заработок от 500$ в день"), 0);
    }

    #[test]
    fn what_languages_write_between_letters_is_no_disguise() {
        // One Latin i in Ukrainian words, a Latin brand beside a Cyrillic ending, μ of
        // micrograms, Persian and Hindi joiners, a soft hyphen, an emoji sequence.
        assert_eq!(count("Вiтаю, дякую за вiдповiдь, вiдкрив, вiн"), 0);
        assert_eq!(count("Купил iPhone-ом доволен, Apple-у спасибо"), 0);
        assert_eq!(count("Take 5μg twice a day"), 0);
        assert_eq!(count("می\u{200C}خواهم"), 0);
        assert_eq!(count("क्\u{200D}ष"), 0);
        assert_eq!(count("Donau\u{00AD}dampf\u{00AD}schiff"), 0);
        assert_eq!(count("family 👨\u{200D}👩\u{200D}👧 photo"), 0);
    }

    #[test]
    fn invisible_characters_between_letters_count_once_per_word() {
        assert_eq!(count("you u\u{200B}g\u{200B}l\u{200B}y cow"), 1);
        assert_eq!(count("c\u{200B}a\u{200B}s\u{200B}h and f\u{2060}ree"), 2);
        assert_eq!(count("hello \u{200B} world"), 0);
        assert_eq!(count("สวัสดี\u{200B}ครับ\u{200B}ขอบคุณ"), 0, "Thai word breaks");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        /// Ordinary Latin words never count; the same words with one letter swapped for a
        /// Cyrillic look-alike, or with a zero-width space inside a word, always do.
        #[test]
        fn one_disguised_letter_is_always_found(
            words in proptest::collection::vec("[a-z]{2,9}", 1..8),
            pick in 0usize..64,
            trick in 0usize..2,
        ) {
            let plain = words.join(" ");
            proptest::prop_assert_eq!(count(&plain), 0);
            let word = &words[pick % words.len()];
            let disguised_word = if trick == 0 {
                let at = pick % (word.len() - 1) + 1;
                format!("{}\u{200B}{}", &word[..at], &word[at..])
            } else {
                // Latin `a` `e` `o` `c` `p` `x` and their Cyrillic look-alikes.
                let swapped: String = word
                    .chars()
                    .map(|c| match c {
                        'a' => 'а',
                        'e' => 'е',
                        'o' => 'о',
                        'c' => 'с',
                        'p' => 'р',
                        'x' => 'х',
                        other => other,
                    })
                    .collect();
                proptest::prop_assume!(
                    swapped != *word && swapped.chars().any(|c| c.is_ascii() && c != 'i')
                );
                swapped
            };
            let mut disguised = words.clone();
            disguised[pick % words.len()] = disguised_word;
            proptest::prop_assert!(count(&disguised.join(" ")) >= 1, "{:?}", disguised);
        }
    }

    #[test]
    fn words_spelled_out_letter_by_letter_count_once() {
        assert_eq!(spelled_out("Get F R E E crypto"), 1);
        assert_eq!(spelled_out("send c.a.s.h now or c-a-s-h"), 2);
        assert_eq!(spelled_out("A B C"), 0);
        assert_eq!(spelled_out("J. R. R. Tolkien wrote it"), 0);
        assert_eq!(spelled_out("plan A or plan B"), 0);
        assert_eq!(
            count("Get F R E E crypto"),
            0,
            "a weaker sign, counted apart"
        );
    }
}
