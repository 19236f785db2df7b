//! Proof verification: RFC 9162 §2.1.3.2 (inclusion), §2.1.4.2 (consistency), and the subtree
//! proofs of draft-ietf-plants-merkle-tree-certs.
//!
//! Edge semantics follow transparency-dev/merkle `proof/verify.go`, whose 518 probes the tests
//! run: proof lengths must be exact, a consistency proof from size 0 is always an error, equal
//! sizes need an empty proof and equal roots. Nothing here panics, whatever the input.
//!
//! A proof is read as two runs of sibling hashes along the path from a node to the root. Below
//! the level where that path meets the path to the tree's last leaf (*inner* part) siblings can
//! be on either side; above it (*border* part) the path runs along the right edge of the tree and
//! every sibling is on the left.

use crate::hash::{Hash, empty_root, node_hash};
use crate::subtree::is_valid_subtree;

/// Why a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Inclusion proofs need `index < size`.
    #[error("leaf index {index} out of range for tree size {size}")]
    IndexOutOfRange {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The proof does not have the exact length the sizes demand.
    #[error("proof has {got} hashes, want {want}")]
    ProofLength {
        /// Hashes given.
        got: usize,
        /// Hashes needed.
        want: usize,
    },
    /// The proof leads to a different root than the one given.
    #[error("root mismatch at tree size {size}: expected {expected}, computed {computed}")]
    RootMismatch {
        /// The tree size whose root was checked.
        size: u64,
        /// The root the caller gave.
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// The proof leads to a different subtree hash than the one given.
    #[error("subtree [{start}, {end}) hash mismatch: expected {expected}, computed {computed}")]
    SubtreeRootMismatch {
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf.
        end: u64,
        /// The subtree hash the caller gave.
        expected: Hash,
        /// The subtree hash the proof leads to.
        computed: Hash,
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
    /// The subtree reaches past the tree it is proven into.
    #[error("subtree [{start}, {end}) extends beyond tree size {size}")]
    SubtreeBeyondTree {
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf.
        end: u64,
        /// The tree size.
        size: u64,
    },
    /// Subtree inclusion proofs need `start <= index < end`.
    #[error("leaf index {index} outside subtree [{start}, {end})")]
    IndexOutsideSubtree {
        /// The leaf index.
        index: u64,
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf.
        end: u64,
    },
}

/// Checks that `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves with `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    check_root(size, root, computed)
}

/// The root that `proof` leads to from leaf hash `leaf` at `index` in a tree of `size` leaves.
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let inner = path_split(index, size - 1);
    let border = shr(index, inner).count_ones() as usize;
    check_length(proof, inner as usize + border)?;
    let (inner_part, border_part) = proof.split_at(inner as usize);
    Ok(chain_border(chain_inner(*leaf, inner_part, index), border_part))
}

/// Checks that `proof` shows the tree of `size1` leaves with `root1` is a prefix of the tree of
/// `size2` leaves with `root2` (RFC 9162 §2.1.4.2). Needs `0 < size1 <= size2`; equal sizes need
/// an empty proof and equal roots.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_consistency_proof(size1, size2, proof, root1)?;
    check_root(size2, root2, computed)
}

/// The root of the tree of `size2` leaves that `proof` leads to from the tree of `size1` leaves
/// with `root1`, after checking that `proof` is consistent with `root1`.
pub fn root_from_consistency_proof(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
) -> Result<Hash, VerifyError> {
    if size1 > size2 {
        return Err(VerifyError::SizeOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(VerifyError::EmptyOldTree { size2 });
    }
    if size1 == size2 {
        check_length(proof, 0)?;
        return Ok(*root1);
    }
    root_from_subtree_consistency(0, size1, size2, proof, root1)
}

/// Checks that `proof` shows leaf hash `leaf` at `index` in subtree `[start, end)` whose hash is
/// `subtree_root` (draft-ietf-plants-merkle-tree-certs, subtree inclusion proofs: an RFC 6962
/// inclusion proof of leaf `index − start` in `D[start:end]`).
pub fn verify_subtree_inclusion(
    leaf: &Hash,
    index: u64,
    start: u64,
    end: u64,
    proof: &[Hash],
    subtree_root: &Hash,
) -> Result<(), VerifyError> {
    if !is_valid_subtree(start, end) {
        return Err(VerifyError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(VerifyError::IndexOutsideSubtree { index, start, end });
    }
    let computed = root_from_inclusion_proof(leaf, index - start, end - start, proof)?;
    check_subtree_root(start, end, subtree_root, computed)
}

/// Checks that `proof` shows subtree `[start, end)` with hash `subtree_root` is part of the tree
/// of `size` leaves with `root` (draft-ietf-plants-merkle-tree-certs, subtree consistency
/// proofs; RFC 9162 consistency is the case `start = 0`).
///
/// An empty subtree `[s, s)` is part of every tree: it needs an empty proof and the empty root
/// as its hash, and `root` is not consulted.
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Hash],
    subtree_root: &Hash,
    root: &Hash,
) -> Result<(), VerifyError> {
    if !is_valid_subtree(start, end) {
        return Err(VerifyError::InvalidSubtree { start, end });
    }
    if end > size {
        return Err(VerifyError::SubtreeBeyondTree { start, end, size });
    }
    if start == end {
        check_length(proof, 0)?;
        return check_subtree_root(start, end, subtree_root, empty_root());
    }
    let computed = if start == 0 && end == size {
        check_length(proof, 0)?;
        *subtree_root
    } else {
        root_from_subtree_consistency(start, end, size, proof, subtree_root)?
    };
    check_root(size, root, computed)
}

/// The core of consistency verification for a non-empty subtree `[start, end)` strictly inside
/// the tree of `size` leaves: checks the proof against `subtree_root` and returns the tree root
/// it leads to.
///
/// The proof is the subtree's rightmost perfect node (left out when the subtree is itself
/// perfect) followed by that node's audit path in the tree of `size` leaves. Walking that path
/// with all siblings rebuilds the tree root; walking it with only the left siblings below the
/// subtree's height rebuilds the subtree hash, because those are exactly the perfect nodes that
/// tile the rest of the subtree.
fn root_from_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Hash],
    subtree_root: &Hash,
) -> Result<Hash, VerifyError> {
    let last = end - 1;
    // Height of the smallest node containing the whole subtree.
    let height = path_split(start, last);
    if end == size {
        // The subtree is the right edge of the tree: only the perfect nodes left of it remain.
        check_length(proof, shr(start, height).count_ones() as usize)?;
        return Ok(chain_border(*subtree_root, proof));
    }

    let fork = path_split(last, size - 1);
    let border = shr(last, fork).count_ones() as usize;
    // The path starts at the subtree's rightmost perfect node, at level `shift`; `fork > shift`
    // because the tree continues past `end`, a multiple of 2^shift.
    let shift = (end - start).trailing_zeros();
    let inner = fork.saturating_sub(shift) as usize;
    let perfect = (end - start).is_power_of_two();
    let seed_len = usize::from(!perfect);
    check_length(proof, seed_len + inner + border)?;
    let (seed, path) = match proof.split_first() {
        Some((first, rest)) if !perfect => (*first, rest),
        _ => (*subtree_root, proof),
    };
    let (inner_part, border_part) = path.split_at(inner);
    let mask = shr(last, shift);

    // Rebuild the subtree hash from the left siblings below `height`: inner ones first, then
    // border ones (one per set bit of `last` from `fork` up).
    let mut computed_subtree = seed;
    for (i, sibling) in
        inner_part.iter().enumerate().take(height.min(fork).saturating_sub(shift) as usize)
    {
        if (mask >> i) & 1 == 1 {
            computed_subtree = node_hash(sibling, &computed_subtree);
        }
    }
    let mut border_siblings = border_part.iter();
    for level in fork..height {
        if (last >> level) & 1 == 1 {
            match border_siblings.next() {
                Some(sibling) => computed_subtree = node_hash(sibling, &computed_subtree),
                // Unreachable: the length check counted one border hash per set bit.
                None => break,
            }
        }
    }
    check_subtree_root(start, end, subtree_root, computed_subtree)?;

    Ok(chain_border(chain_inner(seed, inner_part, mask), border_part))
}

/// The level at which the paths to leaves `a` and `b` meet: the bit length of `a ^ b`.
fn path_split(a: u64, b: u64) -> u32 {
    u64::BITS - (a ^ b).leading_zeros()
}

/// `x >> n` that yields 0 instead of overflowing for `n = 64`.
fn shr(x: u64, n: u32) -> u64 {
    x.checked_shr(n).unwrap_or(0)
}

/// Hashes `seed` up the path of node `index`, the bits of `index` telling which side each
/// sibling is on.
fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, sibling)| {
        if (index >> i) & 1 == 0 { node_hash(&acc, sibling) } else { node_hash(sibling, &acc) }
    })
}

/// Hashes `seed` up the right edge of the tree: every sibling is on the left.
fn chain_border(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, sibling| node_hash(sibling, &acc))
}

fn check_length(proof: &[Hash], want: usize) -> Result<(), VerifyError> {
    if proof.len() == want {
        Ok(())
    } else {
        Err(VerifyError::ProofLength { got: proof.len(), want })
    }
}

fn check_root(size: u64, expected: &Hash, computed: Hash) -> Result<(), VerifyError> {
    if *expected == computed {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch { size, expected: *expected, computed })
    }
}

fn check_subtree_root(
    start: u64,
    end: u64,
    expected: &Hash,
    computed: Hash,
) -> Result<(), VerifyError> {
    if *expected == computed {
        Ok(())
    } else if start == 0 {
        // A subtree starting at 0 is an earlier tree; say so in the terms of tree sizes.
        Err(VerifyError::RootMismatch { size: end, expected: *expected, computed })
    } else {
        Err(VerifyError::SubtreeRootMismatch { start, end, expected: *expected, computed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    fn check(result: Result<(), VerifyError>, want: Result<(), &str>) {
        let got = result.map_err(|e| e.to_string());
        assert_eq!(got.as_ref().map(|_| ()).map_err(String::as_str), want);
    }

    #[test]
    fn single_leaf_tree_needs_empty_proof() {
        let leaf = leaf_hash(b"");
        check(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
        check(verify_inclusion(&leaf, 0, 1, &[leaf], &leaf), Err("proof has 1 hashes, want 0"));
    }

    #[test]
    fn index_must_be_below_size() {
        let leaf = leaf_hash(b"");
        check(
            verify_inclusion(&leaf, u64::MAX, 1, &[], &leaf),
            Err("leaf index 18446744073709551615 out of range for tree size 1"),
        );
    }

    #[test]
    fn huge_sizes_do_not_panic() {
        let leaf = leaf_hash(b"");
        let proof = vec![leaf; 64];
        for (index, size) in [(0, u64::MAX), (u64::MAX - 1, u64::MAX), (0, (1 << 63) + 1)] {
            assert!(verify_inclusion(&leaf, index, size, &proof, &leaf).is_err());
            assert!(verify_consistency(index.max(1), size, &proof, &leaf, &leaf).is_err());
            assert!(verify_subtree_consistency(0, index, size, &proof, &leaf, &leaf).is_err());
        }
    }

    #[test]
    fn consistency_argument_errors() {
        let h = leaf_hash(b"");
        check(
            verify_consistency(0, 0, &[], &h, &h),
            Err("consistency proof from tree size 0 to 0 is meaningless"),
        );
        check(
            verify_consistency(3, 2, &[], &h, &h),
            Err("old tree size 3 is larger than new tree size 2"),
        );
        check(verify_consistency(2, 2, &[], &h, &h), Ok(()));
        check(
            verify_consistency(2, 2, &[], &h, &Hash::ZERO),
            Err(&format!("root mismatch at tree size 2: expected {}, computed {h}", Hash::ZERO)),
        );
    }

    #[test]
    fn empty_subtree_is_part_of_any_tree() {
        check(verify_subtree_consistency(3, 3, 9, &[], &empty_root(), &Hash::ZERO), Ok(()));
        check(
            verify_subtree_consistency(3, 3, 9, &[Hash::ZERO], &empty_root(), &Hash::ZERO),
            Err("proof has 1 hashes, want 0"),
        );
        assert!(verify_subtree_consistency(3, 3, 9, &[], &Hash::ZERO, &Hash::ZERO).is_err());
    }

    #[test]
    fn subtree_argument_errors() {
        let h = Hash::ZERO;
        check(
            verify_subtree_consistency(2, 5, 8, &[], &h, &h),
            Err("[2, 5) is not a valid subtree"),
        );
        check(
            verify_subtree_consistency(4, 8, 6, &[], &h, &h),
            Err("subtree [4, 8) extends beyond tree size 6"),
        );
        check(
            verify_subtree_inclusion(&h, 3, 4, 8, &[], &h),
            Err("leaf index 3 outside subtree [4, 8)"),
        );
    }
}
