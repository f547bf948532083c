//! Spaced-out and dotted letters joined, the first pass over the whole item list:
//! `F R E E`, `f.r.e.e`, `f-r-e-e` -> `free`. It runs before the cross-item merges, so
//! `e v i l dot com` is a domain to them; a joined word is folded and classified as a
//! word cut from a chunk would be.

use super::entities::classify_piece;
use super::fold::compose_joined;
use super::item::{Gap, Item, ItemKind};
use super::word_fold::{collapse_repeats, fold_word};

fn is_single(item: &Item) -> bool {
    if !item.is_wordlike() {
        return false;
    }
    let mut cs = item.text.chars();
    matches!((cs.next(), cs.next()), (Some(c), None) if c.is_alphanumeric())
}

/// Joins spaced-out or dotted letters: `f r e e`, `f.r.e.e`, `f-r-e-e` -> `free`.
///
/// A run is three or more consecutive one-character words or digits, at least one a letter
/// (`1 2 3` stays). The run is cut where the separator changes or widens, so
/// `F R E E  M O N E Y` and `f.r.e.e m.o.n.e.y` give `free money`; a piece of one letter
/// joins its neighbour. Every output word has two or more characters, so a second pass finds
/// no run to join (idempotence).
pub(crate) fn join_spaced_letters(mut items: Vec<Item<'_>>) -> Vec<Item<'_>> {
    // Fast path: no run of three singles at all.
    let mut run = 0;
    let mut any = false;
    for it in &items {
        run = if is_single(it) { run + 1 } else { 0 };
        if run >= 3 {
            any = true;
            break;
        }
    }
    if !any {
        return items;
    }
    let n = items.len();
    let mut i = 0;
    let mut out: Vec<Item> = Vec::with_capacity(n);
    while i < n {
        if !is_single(&items[i]) {
            out.push(std::mem::replace(
                &mut items[i],
                Item::new(ItemKind::Word, "", Gap::Wide),
            ));
            i += 1;
            continue;
        }
        let mut j = i;
        while j < n && is_single(&items[j]) {
            j += 1;
        }
        let has_letter = items[i..j]
            .iter()
            .any(|it| it.text.chars().any(char::is_alphabetic));
        if j - i < 3 || !has_letter {
            for it in &mut items[i..j] {
                out.push(std::mem::replace(
                    it,
                    Item::new(ItemKind::Word, "", Gap::Wide),
                ));
            }
            i = j;
            continue;
        }
        // Segments: cut where the gap widens or changes.
        let mut segs: Vec<(usize, usize)> = Vec::new();
        let mut start = i;
        let mut seg_gap: Option<Gap> = None;
        for (k, it) in items.iter().enumerate().take(j).skip(i + 1) {
            let g = it.gap;
            let cut = matches!(g, Gap::Wide | Gap::Start) || seg_gap.is_some_and(|s| s != g);
            if cut {
                segs.push((start, k));
                start = k;
                seg_gap = None;
            } else {
                seg_gap = Some(g);
            }
        }
        segs.push((start, j));
        // One-letter segments join their neighbour.
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(segs.len());
        for (a, b) in segs {
            match merged.last_mut() {
                Some(last) if b - a == 1 || last.1 - last.0 == 1 => last.1 = b,
                _ => merged.push((a, b)),
            }
        }
        for (a, b) in merged {
            let joined: String = items[a..b].iter().map(|it| &*it.text).collect();
            let joined = compose_joined(&collapse_repeats(&joined)).into_owned();
            let mut item = classify_piece(&joined, items[a].gap).into_owned();
            fold_word(&mut item);
            out.push(item);
        }
        i = j;
    }
    out
}
