//! Runs of one emoji cut to [`MAX_REPEAT`], the last pass over the item list (the full
//! count is kept by the character fold as `Normalized::emoji_count`).

use super::fold::MAX_REPEAT;
use super::item::{Item, ItemKind};

/// Cuts runs of the same emoji to [`MAX_REPEAT`] (the full count stays in `emoji_count`).
pub(crate) fn collapse_emoji_runs(items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    if !items.iter().any(|it| it.kind == ItemKind::Emoji) {
        return items;
    }
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut run = 0;
    for it in items {
        if it.kind == ItemKind::Emoji {
            match out.last() {
                Some(prev) if prev.kind == ItemKind::Emoji && prev.text == it.text => run += 1,
                _ => run = 1,
            }
            if run > MAX_REPEAT {
                continue;
            }
        } else {
            run = 0;
        }
        out.push(it);
    }
    out
}
