//! Items: what the stages between chunking and token emission pass along. One per word,
//! number, entity or emoji, in message order, each with its canonical spelling and the gap
//! before it; its own file so that every stage can use it without using another stage.

use std::borrow::Cow;

/// What an item is. `CurSym` is a lone currency symbol waiting for an amount next to it; it
/// stays in the text (so that re-normalizing sees the same items) but yields no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    Word,
    Number,
    Url,
    Email,
    Phone,
    Money,
    Crypto,
    Emoji,
    CurSym,
}

/// What separated an item from the one before it in the original text; only the joining of
/// spaced-out letters looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    /// First item of the text.
    Start,
    /// Exactly one space.
    Space,
    /// Exactly one punctuation character inside a chunk, as in `f.r.e.e`.
    Punct(char),
    /// Anything else: several spaces, a newline, dropped punctuation.
    Wide,
}

/// One item. Its text borrows the character-folded message where it is spelled there
/// as it stands (most words are), and owns a new spelling otherwise: a message's words
/// then cost no allocation apiece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item<'a> {
    pub kind: ItemKind,
    /// Canonical spelling; re-normalizing it yields this same item.
    pub text: Cow<'a, str>,
    pub gap: Gap,
}

impl<'a> Item<'a> {
    pub(crate) fn new(kind: ItemKind, text: impl Into<Cow<'a, str>>, gap: Gap) -> Self {
        Item {
            kind,
            text: text.into(),
            gap,
        }
    }

    /// The same item with its text owned, for an item built from a temporary spelling.
    pub(crate) fn into_owned(self) -> Item<'static> {
        Item {
            kind: self.kind,
            text: Cow::Owned(self.text.into_owned()),
            gap: self.gap,
        }
    }

    pub(crate) fn is_wordlike(&self) -> bool {
        matches!(self.kind, ItemKind::Word | ItemKind::Number)
    }
}
