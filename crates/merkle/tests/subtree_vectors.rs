//! The accumulated subtree vectors of draft-ietf-plants-merkle-tree-certs ("Subtree Test
//! Vectors" appendix), pinned upstream in transparency-dev/merkle `testonly/vectors_test.go`.
//!
//! Over a 130-leaf tree with leaf data `d[i] = [i as u8]`, each test writes one text line per
//! valid input into a rolling SHA-256 and compares the digest with the published one, so a
//! single wrong hash anywhere changes the result. The line formats are upstream's:
//!
//! - subtree hashes:   `"[{start}, {end}) {hash}\n"`
//! - inclusion proofs: `"{index} [{start}, {end})"` then `" {hash}"` per proof hash, then `"\n"`
//! - consistency:      `"[{start}, {end}) {size}"` then `" {hash}"` per proof hash, then `"\n"`
//! - covering:         `"[{start}, {mid}) [{mid}, {end})\n"`
//!
//! with hashes as lowercase hex. Every generated proof is also verified.

use sha2::{Digest as _, Sha256};
use trail_merkle::{
    Hash, MemoryTree, covering_subtrees, is_valid_subtree, leaf_hash, subtree_consistency_proof,
    subtree_inclusion_proof, subtree_root, verify_subtree_consistency, verify_subtree_inclusion,
};

const MAX: u64 = 130;

#[test]
fn subtree_hashes() {
    let tree = tree();
    let mut digest = Digest::default();
    for (start, end) in valid_subtrees(MAX) {
        let hash = subtree_root(&tree, start, end).expect("valid subtree has a hash");
        digest.line(format!("[{start}, {end}) {hash}"), &[]);
    }
    digest.check(712, "b82806ad4265bb151c1119c0f4db437bb4d1a1f887b3a7fba1cd4ebf552e3e81");
}

#[test]
fn subtree_inclusion_proofs() {
    let tree = tree();
    let mut digest = Digest::default();
    for (start, end) in valid_subtrees(MAX) {
        let hash = subtree_root(&tree, start, end).expect("valid subtree has a hash");
        for index in start..end {
            let proof = subtree_inclusion_proof(&tree, index, start, end).expect("proof");
            let leaf = leaf_hash(&[index as u8]);
            assert_eq!(
                verify_subtree_inclusion(&leaf, index, start, end, &proof, &hash),
                Ok(()),
                "leaf {index} in [{start}, {end})"
            );
            digest.line(format!("{index} [{start}, {end})"), &proof);
        }
    }
    digest.check(12_807, "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f");
}

#[test]
fn subtree_consistency_proofs() {
    let tree = tree();
    let mut digest = Digest::default();
    for size in 0..=MAX {
        let root = trail_merkle::root(&tree, size).expect("root");
        for (start, end) in valid_subtrees(size) {
            let proof = subtree_consistency_proof(&tree, start, end, size).expect("proof");
            let hash = subtree_root(&tree, start, end).expect("valid subtree has a hash");
            assert_eq!(
                verify_subtree_consistency(start, end, size, &proof, &hash, &root),
                Ok(()),
                "[{start}, {end}) into size {size}"
            );
            digest.line(format!("[{start}, {end}) {size}"), &proof);
        }
    }
    digest.check(42_893, "10fa99b37bf9bf9ffa26b412fbd98bd75363256d0b75d61bc4538b9c9c5a0a74");
}

#[test]
fn covering_subtree_pairs() {
    let mut digest = Digest::default();
    for end in 0..=MAX {
        for start in 0..=end {
            let (left, right) = covering_subtrees(start, end).expect("start <= end");
            digest.line(
                format!("[{}, {}) [{}, {})", left.start, left.end, right.start, right.end),
                &[],
            );
        }
    }
    digest.check(8_646, "7fd9c8b926e9d2b5cf831560e8ce295a5ef97ad5c5ede4ea0dea28a8c8fc8bb0");
}

fn tree() -> MemoryTree {
    MemoryTree::from_leaves((0..MAX).map(|i| leaf_hash(&[i as u8])))
}

/// Every valid subtree `[start, end)` with `end <= size`, in upstream's loop order.
fn valid_subtrees(size: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..=size)
        .flat_map(|end| (0..=end).map(move |start| (start, end)))
        .filter(|&(start, end)| is_valid_subtree(start, end))
}

#[derive(Default)]
struct Digest {
    hasher: Sha256,
    rows: usize,
}

impl Digest {
    fn line(&mut self, prefix: String, proof: &[Hash]) {
        self.hasher.update(prefix.as_bytes());
        for hash in proof {
            self.hasher.update(format!(" {hash}").as_bytes());
        }
        self.hasher.update(b"\n");
        self.rows += 1;
    }

    fn check(self, rows: usize, want: &str) {
        assert_eq!(self.rows, rows, "rows folded into the digest");
        assert_eq!(hex::encode(self.hasher.finalize()), want);
    }
}
