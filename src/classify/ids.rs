//! A message's feature ids before scoring: telling repeats from first sightings (what the
//! default model, which counts each feature once, needs), or sorting them so that repeats
//! come together (what a model counting repeats needs).
//!
//! Why not `sort_unstable`: a long e-mail has about a thousand ids, and a comparison sort
//! spent a quarter of the scoring time on them. Ids fit in 24 bits (the index's limit), so
//! three byte-wide counting passes sort them in linear time, all three histograms taken in
//! one read.

use super::index::MAX_FEATURES;

thread_local! {
    /// One bit per vocabulary id, all clear between messages.
    static SEEN: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Calls `visit(id, first)` for each of `ids` in order, `first` telling whether the id comes
/// for the first time; every id must be below `vocabulary`.
///
/// Why not sort and group: a bit per vocabulary id (kept per thread, and cleared after each
/// message at the bits it set) answers in one pass with no branch on the answer, where
/// grouping a sorted list mispredicts at about every other id.
pub fn for_each_marking_repeats(ids: &[u32], vocabulary: usize, mut visit: impl FnMut(u32, bool)) {
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        let words = vocabulary.div_ceil(64);
        if seen.len() < words {
            seen.resize(words, 0);
        }
        for &id in ids {
            let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
            let first = seen[word] & bit == 0;
            seen[word] |= bit;
            visit(id, first);
        }
        for &id in ids {
            seen[id as usize / 64] = 0;
        }
    });
}

/// Below this many ids a comparison sort is as fast and needs no scratch buffer.
const RADIX_FROM: usize = 64;

/// Sorts `ids` ascending. Every id must be at most [`MAX_FEATURES`].
pub fn sort_ids(ids: &mut [u32]) {
    if ids.len() < RADIX_FROM {
        ids.sort_unstable();
        return;
    }
    debug_assert!(ids.iter().all(|&id| id as usize <= MAX_FEATURES));
    let mut counts = [[0u32; 256]; 3];
    for &id in ids.iter() {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[((id >> (8 * byte)) & 0xFF) as usize] += 1;
        }
    }
    let mut scratch = vec![0u32; ids.len()];
    let mut in_scratch = false;
    for (byte, count) in counts.iter().enumerate() {
        // A byte that is the same in every id leaves the order as it is.
        if count.iter().any(|&c| c as usize == ids.len()) {
            continue;
        }
        let mut next = [0u32; 256];
        let mut total = 0;
        for (slot, &c) in next.iter_mut().zip(count) {
            *slot = total;
            total += c;
        }
        let (from, to): (&[u32], &mut [u32]) = if in_scratch {
            (&scratch, ids)
        } else {
            (ids, &mut scratch)
        };
        for &id in from {
            let bucket = ((id >> (8 * byte)) & 0xFF) as usize;
            to[next[bucket] as usize] = id;
            next[bucket] += 1;
        }
        in_scratch = !in_scratch;
    }
    if in_scratch {
        ids.copy_from_slice(&scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sightings_are_marked_in_any_message() {
        // Twice over the same ids: the bits a message set must be clear for the next one.
        for _ in 0..2 {
            let ids = [5u32, 64, 5, 63, 64, 0, 129, 0, 5];
            let mut marks = Vec::new();
            for_each_marking_repeats(&ids, 130, |id, first| marks.push((id, first)));
            let want = [
                (5, true),
                (64, true),
                (5, false),
                (63, true),
                (64, false),
                (0, true),
                (129, true),
                (0, false),
                (5, false),
            ];
            assert_eq!(marks, want);
        }
        // A larger vocabulary after a smaller one.
        let mut firsts = 0;
        for_each_marking_repeats(&[9_999, 9_999, 1], 10_000, |_, first| {
            firsts += usize::from(first)
        });
        assert_eq!(firsts, 2);
    }

    #[test]
    fn sorts_like_a_comparison_sort() {
        // A fixed xorshift sequence: sizes around the cut-over, narrow and wide id ranges.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [0, 1, 2, 63, 64, 65, 300, 1000, 5000] {
            for range in [1u64, 200, 70_000, MAX_FEATURES as u64 + 1] {
                let mut ids: Vec<u32> = (0..len).map(|_| (next() % range) as u32).collect();
                let mut want = ids.clone();
                want.sort_unstable();
                sort_ids(&mut ids);
                assert_eq!(ids, want, "len {len}, range {range}");
            }
        }
    }
}
