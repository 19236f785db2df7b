//! The RFC 6962 reference tree of transparency-dev/merkle `testonly/constants.go`: 8 leaves, the
//! root of every size 0..=8, and every inclusion and consistency proof up to size 8. Our
//! generator must produce exactly these proofs, and they must verify.
//!
//! By hand: leaf 0 is `printf '\x00' | sha256sum` = 6e340b9c…a01d, and the size-8 root is
//! 5dc9da79…4328 (`rfc6962_reference_tree.json`, `root_hashes_hex_by_size[8]`).

mod common;

use serde::Deserialize;
use trail_merkle::{
    CompactRange, Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root,
    root_of_leaves, verify_consistency, verify_inclusion,
};

#[derive(Deserialize)]
struct ReferenceTree {
    leaf_inputs_hex: Vec<String>,
    leaf_hashes_hex: Vec<Hash>,
    root_hashes_hex_by_size: Vec<Hash>,
    inclusion: Vec<InclusionCase>,
    consistency: Vec<ConsistencyCase>,
}

#[derive(Deserialize)]
struct InclusionCase {
    leaf_index: u64,
    tree_size: u64,
    proof_hex: Vec<Hash>,
}

#[derive(Deserialize)]
struct ConsistencyCase {
    size1: u64,
    size2: u64,
    proof_hex: Vec<Hash>,
}

#[test]
fn leaf_hashes() {
    let reference = load();
    assert_eq!(reference.leaf_inputs_hex.len(), 8);
    for (input, want) in reference.leaf_inputs_hex.iter().zip(&reference.leaf_hashes_hex) {
        let bytes = hex::decode(input).expect("leaf input is hex");
        assert_eq!(leaf_hash(&bytes), *want, "leaf input {input:?}");
    }
}

#[test]
fn roots_for_every_size() {
    let reference = load();
    let leaves = &reference.leaf_hashes_hex;
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    assert_eq!(reference.root_hashes_hex_by_size.len(), 9);
    let mut range = CompactRange::new();
    for (size, want) in reference.root_hashes_hex_by_size.iter().enumerate() {
        if size > 0 {
            range.append(leaves[size - 1]);
        }
        assert_eq!(range.root(), *want, "compact range, size {size}");
        assert_eq!(root_of_leaves(&leaves[..size]), *want, "MTH, size {size}");
        assert_eq!(root(&tree, size as u64), Ok(*want), "root from reader, size {size}");
    }
    // printf '' | sha256sum
    assert_eq!(
        reference.root_hashes_hex_by_size[0].to_string(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn inclusion_proofs_match_and_verify() {
    let reference = load();
    let tree = MemoryTree::from_leaves(reference.leaf_hashes_hex.iter().copied());
    assert_eq!(reference.inclusion.len(), 36);
    for case in &reference.inclusion {
        let (index, size) = (case.leaf_index, case.tree_size);
        assert_eq!(
            inclusion_proof(&tree, index, size).as_ref(),
            Ok(&case.proof_hex),
            "leaf {index} in tree of size {size}"
        );
        let leaf = reference.leaf_hashes_hex[index as usize];
        let root = reference.root_hashes_hex_by_size[size as usize];
        assert_eq!(verify_inclusion(&leaf, index, size, &case.proof_hex, &root), Ok(()));
    }
}

#[test]
fn consistency_proofs_match_and_verify() {
    let reference = load();
    let tree = MemoryTree::from_leaves(reference.leaf_hashes_hex.iter().copied());
    assert_eq!(reference.consistency.len(), 36);
    for case in &reference.consistency {
        let (size1, size2) = (case.size1, case.size2);
        assert_eq!(
            consistency_proof(&tree, size1, size2).as_ref(),
            Ok(&case.proof_hex),
            "sizes {size1} -> {size2}"
        );
        let root1 = reference.root_hashes_hex_by_size[size1 as usize];
        let root2 = reference.root_hashes_hex_by_size[size2 as usize];
        assert_eq!(verify_consistency(size1, size2, &case.proof_hex, &root1, &root2), Ok(()));
    }
}

fn load() -> ReferenceTree {
    let path = common::vectors_dir().join("rfc6962_reference_tree.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}
