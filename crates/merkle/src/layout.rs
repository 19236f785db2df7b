//! Where perfect-subtree nodes live in an append-only array.
//!
//! A *perfect subtree node* `(level, index)` is the root of the `2^level` leaves
//! `[index·2^level, (index+1)·2^level)`. Once those leaves exist the node never changes, so a store
//! can write each one exactly once. Numbering them in the order an appender completes them
//! (post-order, also called "MMR order") makes that write pattern a pure append:
//!
//! ```text
//!   level 2            6
//!                   /     \
//!   level 1       2         5
//!                / \       / \
//!   level 0     0   1     3   4     7   ...
//! ```
//!
//! Appending leaf `L` writes the leaf at `2L − popcount(L)` and then every node it completes, one
//! level up each time, at the following positions.

/// Position of perfect subtree node `(level, index)` in the append-only post-order layout.
///
/// The node covering leaves `[index·2^level, (index+1)·2^level)` sits at
/// `2·L − popcount(L) + level`, where `L` is its last leaf index: every node completed before it
/// comes first, and the nodes completed by leaf `L` follow the leaf in level order.
///
/// Defined for `(index + 1) · 2^level ≤ 2^63`, far beyond any real log; outside that range the
/// arithmetic overflows.
pub fn node_position(level: u32, index: u64) -> u64 {
    let last_leaf = ((index + 1) << level) - 1;
    nodes_for_size(last_leaf) + u64::from(level)
}

/// How many perfect-subtree nodes exist after `size` leaves: `2·size − popcount(size)`.
///
/// Equivalently, the position the next leaf will be written at.
pub fn nodes_for_size(size: u64) -> u64 {
    2 * size - u64::from(size.count_ones())
}

/// The perfect subtrees that tile `[0, size)`, left to right (largest first), as `(level, index)`.
///
/// These are the peaks a [`CompactRange`](crate::CompactRange) of that size holds, so a store can
/// rebuild one by reading these nodes.
pub fn peaks(size: u64) -> impl Iterator<Item = (u32, u64)> {
    let mut covered = 0u64;
    (0..u64::BITS).rev().filter(move |level| (size >> level) & 1 == 1).map(move |level| {
        let index = covered >> level;
        covered += 1 << level;
        (level, index)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node of a `leaves`-leaf tree, listed in the order an appender completes them.
    fn completion_order(leaves: u64) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        for leaf in 0..leaves {
            out.push((0, leaf));
            let mut level = 0;
            while (leaf >> level) & 1 == 1 {
                level += 1;
                out.push((level, leaf >> level));
            }
        }
        out
    }

    #[test]
    fn positions_follow_completion_order() {
        for (position, &(level, index)) in completion_order(1024).iter().enumerate() {
            assert_eq!(node_position(level, index), position as u64, "node ({level}, {index})");
        }
    }

    #[test]
    fn small_table() {
        let table = [
            ((0, 0), 0),
            ((0, 1), 1),
            ((1, 0), 2),
            ((0, 2), 3),
            ((0, 3), 4),
            ((1, 1), 5),
            ((2, 0), 6),
            ((0, 4), 7),
            ((3, 0), 14),
        ];
        for ((level, index), position) in table {
            assert_eq!(node_position(level, index), position, "node ({level}, {index})");
        }
    }

    #[test]
    fn node_count_matches_completion_order() {
        for size in 0..=1024u64 {
            assert_eq!(nodes_for_size(size), completion_order(size).len() as u64, "size {size}");
        }
    }

    #[test]
    fn peaks_tile_the_range() {
        let got: Vec<_> = peaks(13).collect();
        assert_eq!(got, [(3, 0), (2, 2), (0, 12)]);
        assert_eq!(peaks(0).count(), 0);
        assert_eq!(peaks(u64::MAX).count(), 64);
        assert_eq!(peaks(1 << 63).collect::<Vec<_>>(), [(63, 0)]);
    }

    #[test]
    fn large_values_do_not_overflow() {
        assert_eq!(nodes_for_size(1 << 62), (1 << 63) - 1);
        // The root of a perfect tree is the last node its final leaf completes.
        assert_eq!(node_position(62, 0), nodes_for_size(1 << 62) - 1);
    }
}
