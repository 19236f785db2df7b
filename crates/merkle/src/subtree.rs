//! Subtrees `[start, end)` in the sense of draft-ietf-plants-merkle-tree-certs §4.
//!
//! A subtree is a leaf range that some tree node covers from its left edge: `[start, end)` with
//! `start` a multiple of the smallest power of two `≥ end − start`. Its hash is `MTH(D[start:end])`
//! and, unlike an arbitrary range, it can be proven into any later tree with a short proof.

use std::ops::Range;

/// Whether `[start, end)` is a valid subtree: `start ≤ end` and `start` is a multiple of the
/// smallest power of two `≥ end − start`. Empty subtrees `[s, s)` are valid.
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    if start > end {
        return false;
    }
    if start == 0 || start == end {
        return true;
    }
    let len = end - start;
    // A length above 2^63 has no power-of-two ceiling in u64, and only start 0 can hold it.
    if len > 1 << 63 {
        return false;
    }
    start & (len.next_power_of_two() - 1) == 0
}

/// Two adjacent valid subtrees `[a, mid)` and `[mid, end)` that together cover `[start, end)`
/// with `a ≤ start`, as draft-ietf-plants-merkle-tree-certs ("efficient covering subtrees")
/// describes. When `end − start ≤ 1` the answer is `[start, end)` and the empty `[end, end)`.
///
/// Returns `None` when `start > end`.
pub fn covering_subtrees(start: u64, end: u64) -> Option<(Range<u64>, Range<u64>)> {
    if start > end {
        return None;
    }
    if end - start <= 1 {
        return Some((start..end, end..end));
    }
    let last = end - 1;
    // The paths to `start` and `last` part at `split`; the right subtree is the part of the
    // forking node's right child that the range uses.
    let split = u64::BITS - 1 - (start ^ last).leading_zeros();
    let low = (1u64 << split) - 1;
    let mid = last & !low;
    // The left subtree is the smallest perfect node ending at `mid` that still reaches `start`:
    // its height is one above the highest zero bit of `start` below `split`.
    let left_height = u64::BITS - (!start & low).leading_zeros();
    let left_start = start & !((1u64 << left_height) - 1);
    Some((left_start..mid, mid..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_valid(start: u64, end: u64, want: bool) {
        assert_eq!(is_valid_subtree(start, end), want, "[{start}, {end})");
    }

    #[test]
    fn validity_table() {
        check_valid(0, 0, true);
        check_valid(0, 7, true);
        check_valid(4, 7, true);
        check_valid(4, 8, true);
        check_valid(4, 9, false);
        check_valid(2, 5, false);
        check_valid(2, 6, false);
        check_valid(1, 3, false);
        check_valid(1, 15, false);
        check_valid(3, 3, true);
        check_valid(3, 4, true);
        check_valid(5, 3, false);
        check_valid(0, u64::MAX, true);
        check_valid(1, (1 << 63) + 2, false);
        check_valid(1 << 62, (1 << 63) + 1, false);
        check_valid(1 << 63, u64::MAX, true);
    }

    #[test]
    fn covering_examples() {
        assert_eq!(covering_subtrees(5, 13), Some((4..8, 8..13)));
        assert_eq!(covering_subtrees(0, 8), Some((0..4, 4..8)));
        assert_eq!(covering_subtrees(3, 4), Some((3..4, 4..4)));
        assert_eq!(covering_subtrees(7, 7), Some((7..7, 7..7)));
        assert_eq!(covering_subtrees(8, 7), None);
        assert_eq!(
            covering_subtrees(u64::MAX - 1, u64::MAX),
            Some((u64::MAX - 1..u64::MAX, u64::MAX..u64::MAX))
        );
    }

    #[test]
    fn covering_subtrees_are_valid_and_cover() {
        for end in 0..200u64 {
            for start in 0..=end {
                let Some((left, right)) = covering_subtrees(start, end) else {
                    panic!("[{start}, {end}) has no cover");
                };
                assert!(is_valid_subtree(left.start, left.end), "[{start}, {end}) left {left:?}");
                assert!(is_valid_subtree(right.start, right.end), "[{start}, {end}) {right:?}");
                assert!(left.start <= start && left.end == right.start && right.end == end);
                assert!(start <= left.end);
            }
        }
    }
}
