//! Proof generation from stored perfect-subtree nodes.
//!
//! RFC 6962's recursion only ever splits a range `[a, b)` into a perfect left part of `k` leaves
//! (the largest power of two below `b − a`) and the rest, and every range it touches starts at a
//! multiple of a power of two at least as large as the range. So every hash a proof needs is
//! either a perfect node `(level, index)` or the hash of a range that a run of perfect nodes tiles
//! from its left edge. The functions here reduce everything to those [`NodeReader::node`] reads:
//! O(log n) for roots, inclusion and consistency proofs alike.

use crate::hash::{Hash, empty_root, node_hash};
use crate::reader::NodeReader;
use crate::subtree::is_valid_subtree;

/// Why a proof or root could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The [`NodeReader`] failed to return a node the proof needs.
    #[error("cannot read node (level {level}, index {index})")]
    Read {
        /// Level of the node.
        level: u32,
        /// Index of the node at that level.
        index: u64,
        /// The reader's error.
        #[source]
        source: E,
    },
    /// An inclusion proof needs `index < size`.
    #[error("leaf index {index} out of range for tree size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Consistency proofs need `0 < size1`: nothing is proven about the empty tree.
    #[error("consistency proof from tree size 0 to {size2} is meaningless")]
    EmptyOldTree {
        /// The new tree size.
        size2: u64,
    },
    /// Consistency proofs need `size1 <= size2`.
    #[error("old tree size {size1} is larger than new tree size {size2}")]
    SizeOrder {
        /// The old tree size.
        size1: u64,
        /// The new tree size.
        size2: u64,
    },
    /// `[start, end)` is not a valid subtree (see [`is_valid_subtree`]).
    #[error("[{start}, {end}) is not a valid subtree")]
    InvalidSubtree {
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf.
        end: u64,
    },
    /// The subtree reaches past the tree it is to be proven into.
    #[error("subtree [{start}, {end}) extends beyond tree size {size}")]
    SubtreeBeyondTree {
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf.
        end: u64,
        /// The tree size.
        size: u64,
    },
    /// A subtree inclusion proof needs `start <= index < end`.
    #[error("leaf index {index} outside subtree [{start}, {end})")]
    IndexOutsideSubtree {
        /// The requested leaf index.
        index: u64,
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf.
        end: u64,
    },
}

/// `MTH(D[0:n])` computed from leaf hashes by the RFC 6962 §2.1 recursion. For tests and small
/// trees: it touches every leaf.
pub fn root_of_leaves(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let k = split_point(leaf_hashes.len());
            node_hash(&root_of_leaves(&leaf_hashes[..k]), &root_of_leaves(&leaf_hashes[k..]))
        }
    }
}

/// The root of the first `size` leaves, from `popcount(size)` node reads.
pub fn root<R: NodeReader>(reader: &R, size: u64) -> Result<Hash, ProofError<R::Error>> {
    range_root(reader, 0, size)
}

/// The RFC 6962 audit path `PATH(index, D[0:size])`: sibling hashes from the leaf's sibling up
/// to the root's child. Verify with [`verify_inclusion`](crate::verify_inclusion).
pub fn inclusion_proof<R: NodeReader>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::with_capacity(64);
    path_above(reader, 0, index, size, 0, &mut proof)?;
    Ok(proof)
}

/// The RFC 6962 consistency proof `PROOF(size1, D[0:size2])`, for `0 < size1 <= size2`.
/// Verify with [`verify_consistency`](crate::verify_consistency).
pub fn consistency_proof<R: NodeReader>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree { size2 });
    }
    subtree_consistency_proof(reader, 0, size1, size2)
}

/// The hash of subtree `[start, end)`, `MTH(D[start:end])`; the empty root for `start == end`.
pub fn subtree_root<R: NodeReader>(
    reader: &R,
    start: u64,
    end: u64,
) -> Result<Hash, ProofError<R::Error>> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    range_root(reader, start, end)
}

/// The inclusion proof of leaf `index` in subtree `[start, end)`: `PATH(index − start,
/// D[start:end])`. Verify with [`verify_subtree_inclusion`](crate::verify_subtree_inclusion).
pub fn subtree_inclusion_proof<R: NodeReader>(
    reader: &R,
    index: u64,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(ProofError::IndexOutsideSubtree { index, start, end });
    }
    let mut proof = Vec::with_capacity(64);
    path_above(reader, start, index - start, end - start, 0, &mut proof)?;
    Ok(proof)
}

/// The consistency proof of subtree `[start, end)` into the tree of `size` leaves
/// (draft-ietf-plants-merkle-tree-certs, generalising RFC 6962 `PROOF`, which is the case
/// `start = 0`). Empty for an empty subtree and for `[0, size)`. Verify with
/// [`verify_subtree_consistency`](crate::verify_subtree_consistency).
pub fn subtree_consistency_proof<R: NodeReader>(
    reader: &R,
    start: u64,
    end: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if end > size {
        return Err(ProofError::SubtreeBeyondTree { start, end, size });
    }
    let mut proof = Vec::with_capacity(64);
    if start == end || (start == 0 && end == size) {
        return Ok(proof);
    }
    if end == size {
        // The subtree is the whole right edge of the tree: only the perfect nodes left of it,
        // one per set bit of `start`, smallest first, are needed to reach the root.
        for level in 0..u64::BITS {
            if (start >> level) & 1 == 1 {
                proof.push(read(reader, level, (start >> level) - 1)?);
            }
        }
        return Ok(proof);
    }
    // Otherwise the proof is the rightmost perfect node of the subtree (left out when the
    // subtree itself is perfect, as the verifier already has its hash) followed by the audit
    // path of that node in the tree of `size`.
    let shift = (end - start).trailing_zeros();
    if !(end - start).is_power_of_two() {
        proof.push(read(reader, shift, (end - 1) >> shift)?);
    }
    path_above(reader, 0, end - 1, size, shift, &mut proof)?;
    Ok(proof)
}

/// The largest power of two strictly below `n`, for `n >= 2`.
fn split_point(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Appends to `proof` the audit path of leaf `index` in the tree of the `size` leaves that start
/// at `offset`, from level `from_level` upward. `offset` must be a multiple of the smallest power
/// of two `≥ size`, so every node of that tree is a perfect node of the whole tree.
fn path_above<R: NodeReader>(
    reader: &R,
    offset: u64,
    index: u64,
    size: u64,
    from_level: u32,
    proof: &mut Vec<Hash>,
) -> Result<(), ProofError<R::Error>> {
    let last = size - 1;
    // Below `inner` the paths to `index` and to the last leaf differ, so siblings can lie on
    // either side; the topmost such sibling on the right may be cut off by `size`.
    let inner = u64::BITS - (index ^ last).leading_zeros();
    for level in from_level..inner {
        let sibling_start = ((index >> level) ^ 1) << level;
        let sibling_end = sibling_start.saturating_add(1 << level).min(size);
        proof.push(range_root(reader, offset + sibling_start, offset + sibling_end)?);
    }
    // From `inner` up, the path runs along the right edge: only left siblings, which are perfect.
    for level in inner.max(from_level)..u64::BITS {
        if (index >> level) & 1 == 1 {
            proof.push(read(reader, level, (index >> level) - 1 + (offset >> level))?);
        }
    }
    Ok(())
}

/// The hash of leaves `[start, end)` where `start` is a multiple of the smallest power of two
/// `≥ end − start`: the perfect nodes tiling it, one per set bit of the length, folded from the
/// right as RFC 6962 does.
fn range_root<R: NodeReader>(
    reader: &R,
    start: u64,
    end: u64,
) -> Result<Hash, ProofError<R::Error>> {
    let len = end - start;
    let mut acc: Option<Hash> = None;
    for level in 0..u64::BITS {
        if (len >> level) & 1 == 0 {
            continue;
        }
        // The node for this bit starts after the larger nodes, which come first.
        let higher = (len >> level >> 1) << level << 1;
        let node = read(reader, level, (start + higher) >> level)?;
        acc = Some(match acc {
            None => node,
            Some(right) => node_hash(&node, &right),
        });
    }
    Ok(acc.unwrap_or_else(empty_root))
}

fn read<R: NodeReader>(reader: &R, level: u32, index: u64) -> Result<Hash, ProofError<R::Error>> {
    reader.node(level, index).map_err(|source| ProofError::Read { level, index, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::MemoryTree;
    use crate::{leaf_hash, verify_consistency, verify_inclusion};

    fn tree(n: u64) -> (Vec<Hash>, MemoryTree) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let tree = MemoryTree::from_leaves(leaves.iter().copied());
        (leaves, tree)
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512), (1024, 512)] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn root_matches_mth() {
        let (leaves, tree) = tree(100);
        for size in 0..=100 {
            assert_eq!(root(&tree, size), Ok(root_of_leaves(&leaves[..size as usize])));
        }
    }

    #[test]
    fn proofs_verify_for_all_small_trees() {
        let (leaves, tree) = tree(40);
        for size in 1..=40u64 {
            let r = root_of_leaves(&leaves[..size as usize]);
            for index in 0..size {
                let proof = inclusion_proof(&tree, index, size);
                let proof = proof.as_deref().unwrap_or(&[]);
                assert_eq!(
                    verify_inclusion(&leaves[index as usize], index, size, proof, &r),
                    Ok(())
                );
            }
            for size1 in 1..=size {
                let r1 = root_of_leaves(&leaves[..size1 as usize]);
                let proof = consistency_proof(&tree, size1, size);
                let proof = proof.as_deref().unwrap_or(&[]);
                assert_eq!(verify_consistency(size1, size, proof, &r1, &r), Ok(()));
            }
        }
    }

    #[test]
    fn argument_errors() {
        let (_, tree) = tree(8);
        let msg = |r: Result<Vec<Hash>, ProofError<_>>| r.map_err(|e| e.to_string());
        assert_eq!(
            msg(inclusion_proof(&tree, 8, 8)),
            Err("leaf index 8 out of range for tree size 8".into())
        );
        assert_eq!(
            msg(consistency_proof(&tree, 0, 8)),
            Err("consistency proof from tree size 0 to 8 is meaningless".into())
        );
        assert_eq!(
            msg(consistency_proof(&tree, 5, 4)),
            Err("old tree size 5 is larger than new tree size 4".into())
        );
        assert_eq!(
            msg(subtree_inclusion_proof(&tree, 3, 2, 5)),
            Err("[2, 5) is not a valid subtree".into())
        );
        assert_eq!(
            msg(subtree_inclusion_proof(&tree, 1, 2, 4)),
            Err("leaf index 1 outside subtree [2, 4)".into())
        );
        assert_eq!(
            msg(subtree_consistency_proof(&tree, 4, 8, 6)),
            Err("subtree [4, 8) extends beyond tree size 6".into())
        );
    }

    #[test]
    fn reader_errors_name_the_node() {
        let (_, tree) = tree(4);
        let err = inclusion_proof(&tree, 2, 8).map_err(|e| e.to_string());
        assert_eq!(err, Err("cannot read node (level 2, index 1)".into()));
        let err = root(&tree, 5);
        assert!(matches!(err, Err(ProofError::Read { level: 0, index: 4, .. })));
    }
}
