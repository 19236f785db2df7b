//! Properties over random trees of up to a few thousand leaves:
//!
//! - the three ways to compute a root agree for every prefix size;
//! - every generated inclusion, consistency and subtree proof verifies;
//! - any tampering fails: a flipped bit in any proof hash, a truncated or extended proof, another
//!   index, another size, another root.

use std::collections::HashMap;

use proptest::prelude::*;
use trail_merkle::{
    CompactRange, Hash, MemoryTree, NodeReader as _, consistency_proof, covering_subtrees,
    inclusion_proof, leaf_hash, root, root_of_leaves, subtree_consistency_proof,
    subtree_inclusion_proof, subtree_root, verify_consistency, verify_inclusion,
    verify_subtree_consistency, verify_subtree_inclusion,
};

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn roots_agree_for_every_prefix(size in 0u64..4000, seed: u64) {
        check_roots(size, seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_proofs_verify_and_resist_tampering(
        (size, index) in (1u64..4000).prop_flat_map(|n| (Just(n), 0..n)),
        seed: u64,
        bit in 0usize..256,
    ) {
        check_inclusion(size, index, seed, bit);
    }

    #[test]
    fn consistency_proofs_verify_and_resist_tampering(
        (size1, size2) in (1u64..4000).prop_flat_map(|n| (1..=n, Just(n))),
        seed: u64,
        bit in 0usize..256,
    ) {
        check_consistency(size1, size2, seed, bit);
    }

    #[test]
    fn subtree_proofs_verify_and_resist_tampering(
        (size, a, b) in (1u64..4000).prop_flat_map(|n| (Just(n), 0..=n))
            .prop_flat_map(|(n, b)| (Just(n), 0..=b, Just(b))),
        right_half: bool,
        pick: u64,
        seed: u64,
        bit in 0usize..256,
    ) {
        // Both halves of a covering pair are valid subtrees inside [0, size).
        let (left, right) = covering_subtrees(a, b).expect("a <= b");
        let subtree = if right_half { right } else { left };
        check_subtree(size, subtree.start, subtree.end, pick, seed, bit);
    }
}

/// The compact range, the RFC 6962 recursion over leaves, and the node reader agree on every
/// prefix of one random tree.
fn check_roots(size: u64, seed: u64) {
    let leaves = leaves(size, seed);
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    let mut range = CompactRange::new();
    let mut mth = MemoMth { leaves: &leaves, memo: HashMap::new() };
    for prefix in 0..=size {
        let want = mth.of(0, prefix as usize);
        // The library's own recursion costs O(prefix) per call; check it on small prefixes and
        // the whole tree so the test stays fast in debug builds.
        if prefix < 100 || prefix == size {
            assert_eq!(root_of_leaves(&leaves[..prefix as usize]), want, "MTH, size {prefix}");
        }
        assert_eq!(range.root(), want, "compact range, size {prefix}");
        assert_eq!(root(&tree, prefix), Ok(want), "root from reader, size {prefix}");
        if prefix < size {
            range.append(leaves[prefix as usize]);
        }
    }
    assert_eq!(tree.root(), range.root());
    assert_eq!(
        CompactRange::from_reader(&tree, size).map(|r| r.root()),
        Ok(root_of_leaves(&leaves))
    );
}

fn check_inclusion(size: u64, index: u64, seed: u64, bit: usize) {
    // Twice the leaves, so the roots of larger claimed sizes are at hand.
    let leaves = leaves(2 * size + 2, seed);
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    let root_at = |n: u64| root(&tree, n).expect("root");
    let leaf = leaves[index as usize];
    let proof = inclusion_proof(&tree, index, size).expect("proof");
    let root = root_at(size);
    let verify = |leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash| {
        verify_inclusion(leaf, index, size, proof, root).is_ok()
    };

    assert!(verify(&leaf, index, size, &proof, &root), "leaf {index} in size {size}");
    for tampered in tampered_proofs(&proof, bit) {
        assert!(!verify(&leaf, index, size, &tampered, &root), "tampered {tampered:?}");
    }
    assert!(!verify(&leaves[size as usize], index, size, &proof, &root), "wrong leaf");
    assert!(!verify(&leaf, index, size, &proof, &flip(root, 255)), "wrong root");

    for other in nearby(index).filter(|&i| i != index) {
        // Another position for the same leaf, and the leaf that really sits there.
        assert!(!verify(&leaf, other, size, &proof, &root), "index {other} for {index}");
        if other < size {
            let there = leaves[other as usize];
            assert!(
                !verify(&there, other, size, &proof, &root),
                "leaf {other} with {index}'s proof"
            );
        }
    }
    for other in nearby(size).filter(|&n| n != size && n <= 2 * size + 2) {
        // Against the true root of the claimed size, a proof for another size never verifies.
        assert!(!verify(&leaf, index, other, &proof, &root_at(other)), "size {other} for {size}");
        // Against the same root it verifies exactly when RFC 6962 gives leaf `index` the same
        // path shape in both sizes: the root commits to the shape, not to the size.
        let same_shape = other > index && path_shape(index, other) == path_shape(index, size);
        assert_eq!(
            verify(&leaf, index, other, &proof, &root),
            same_shape,
            "size {other}, same root"
        );
    }
}

fn check_consistency(size1: u64, size2: u64, seed: u64, bit: usize) {
    let leaves = leaves(2 * size2 + 2, seed);
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    let root_at = |n: u64| root(&tree, n).expect("root");
    let proof = consistency_proof(&tree, size1, size2).expect("proof");
    let (root1, root2) = (root_at(size1), root_at(size2));
    let verify = |size1: u64, size2: u64, proof: &[Hash], root1: &Hash, root2: &Hash| {
        verify_consistency(size1, size2, proof, root1, root2).is_ok()
    };

    assert!(verify(size1, size2, &proof, &root1, &root2), "{size1} -> {size2}");
    for tampered in tampered_proofs(&proof, bit) {
        assert!(!verify(size1, size2, &tampered, &root1, &root2), "tampered {tampered:?}");
    }
    assert!(!verify(size1, size2, &proof, &flip(root1, 0), &root2), "wrong old root");
    assert!(!verify(size1, size2, &proof, &root1, &flip(root2, 0)), "wrong new root");
    if size1 != size2 {
        assert!(!verify(size1, size2, &proof, &root2, &root1), "swapped roots");
    }
    for other in nearby(size1).filter(|&n| n != size1 && n <= size2) {
        let root_other = if other == 0 { root1 } else { root_at(other) };
        assert!(!verify(other, size2, &proof, &root_other, &root2), "old size {other}");
    }
    for other in nearby(size2).filter(|&n| n != size2 && n <= 2 * size2 + 2) {
        assert!(!verify(size1, other, &proof, &root1, &root_at(other)), "new size {other}");
    }
}

fn check_subtree(size: u64, start: u64, end: u64, pick: u64, seed: u64, bit: usize) {
    let leaves = leaves(size, seed);
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    let tree_root = tree.root();
    let hash = subtree_root(&tree, start, end).expect("subtree hash");
    assert_eq!(hash, root_of_leaves(&leaves[start as usize..end as usize]), "[{start}, {end})");

    let proof = subtree_consistency_proof(&tree, start, end, size).expect("proof");
    let verify = |proof: &[Hash], hash: &Hash| {
        verify_subtree_consistency(start, end, size, proof, hash, &tree_root).is_ok()
    };
    assert!(verify(&proof, &hash), "[{start}, {end}) into {size}");
    for tampered in tampered_proofs(&proof, bit) {
        assert!(!verify(&tampered, &hash), "tampered consistency {tampered:?}");
    }
    assert!(!verify(&proof, &flip(hash, 7)), "wrong subtree hash");
    if start != end {
        let wrong_root = flip(tree_root, 7);
        assert!(
            verify_subtree_consistency(start, end, size, &proof, &hash, &wrong_root).is_err(),
            "wrong tree root"
        );
    }

    if start == end {
        return;
    }
    let index = start + pick % (end - start);
    let leaf = leaves[index as usize];
    let proof = subtree_inclusion_proof(&tree, index, start, end).expect("proof");
    let verify = |leaf: &Hash, index: u64, proof: &[Hash]| {
        verify_subtree_inclusion(leaf, index, start, end, proof, &hash).is_ok()
    };
    assert!(verify(&leaf, index, &proof), "leaf {index} in [{start}, {end})");
    for tampered in tampered_proofs(&proof, bit) {
        assert!(!verify(&leaf, index, &tampered), "tampered inclusion {tampered:?}");
    }
    for other in nearby(index).filter(|&i| i != index) {
        assert!(!verify(&leaf, other, &proof), "index {other} for {index}");
    }
    // The node reader agrees with the subtree hash when the subtree is a perfect node.
    if (end - start).is_power_of_two() {
        let level = (end - start).trailing_zeros();
        assert_eq!(tree.node(level, start >> level), Ok(hash));
    }
}

/// Ways to damage a proof that must each make it fail: a flipped bit in every hash (the first,
/// the last and the randomly chosen bit `bit`, so that across cases every bit position is hit;
/// flipping all 256 in every case is too slow for debug builds), the proof without its last or
/// first hash, and with an extra hash at either end.
fn tampered_proofs(proof: &[Hash], bit: usize) -> impl Iterator<Item = Vec<Hash>> + '_ {
    let flips = (0..proof.len()).flat_map(move |i| {
        [0, 255, bit % 256].into_iter().map(move |bit| {
            let mut p = proof.to_vec();
            p[i] = flip(p[i], bit);
            p
        })
    });
    let shortened = (!proof.is_empty())
        .then(|| [proof[..proof.len() - 1].to_vec(), proof[1..].to_vec()])
        .into_iter()
        .flatten();
    let extended = [
        [proof, &[Hash::ZERO]].concat(),
        [&[Hash::ZERO], proof].concat(),
        [proof, &proof[..proof.len().min(1)]].concat(),
    ]
    .into_iter()
    // Repeating the last hash of an empty proof adds nothing.
    .filter(move |p| p.len() != proof.len());
    flips.chain(shortened).chain(extended)
}

/// Values near `n` that an off-by-one or a bit error would produce.
fn nearby(n: u64) -> impl Iterator<Item = u64> {
    [n.wrapping_sub(1), n + 1, n ^ 1, n ^ 2, n * 2, n / 2, 0, u64::MAX].into_iter()
}

/// The sides of the siblings on leaf `index`'s path in the RFC 6962 tree of `size` leaves,
/// straight from the §2.1.1 recursion (true = sibling on the right), leaf end first.
fn path_shape(index: u64, size: u64) -> Vec<bool> {
    if size <= 1 {
        return Vec::new();
    }
    let k = 1u64 << (63 - (size - 1).leading_zeros());
    let mut shape = if index < k { path_shape(index, k) } else { path_shape(index - k, size - k) };
    shape.push(index < k);
    shape
}

/// `MTH(D[lo:hi])` by the RFC 6962 §2.1 recursion, written out again here and memoised so that
/// computing it for every prefix of a few thousand leaves stays cheap.
struct MemoMth<'a> {
    leaves: &'a [Hash],
    memo: HashMap<(usize, usize), Hash>,
}

impl MemoMth<'_> {
    fn of(&mut self, lo: usize, hi: usize) -> Hash {
        match hi - lo {
            0 => return trail_merkle::empty_root(),
            1 => return self.leaves[lo],
            _ => {}
        }
        if let Some(hash) = self.memo.get(&(lo, hi)) {
            return *hash;
        }
        let k = 1 << (usize::BITS - 1 - (hi - lo - 1).leading_zeros());
        let hash = trail_merkle::node_hash(&self.of(lo, lo + k), &self.of(lo + k, hi));
        self.memo.insert((lo, hi), hash);
        hash
    }
}

fn flip(hash: Hash, bit: usize) -> Hash {
    let mut bytes = hash.0;
    bytes[bit / 8] ^= 1 << (bit % 8);
    Hash(bytes)
}

fn leaves(n: u64, seed: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&[seed.to_le_bytes(), i.to_le_bytes()].concat())).collect()
}
