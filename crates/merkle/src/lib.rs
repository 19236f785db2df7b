//! RFC 6962 Merkle tree math over 32-byte hashes. Knows nothing about events or storage.
//!
//! This crate owns four small pieces, each usable on its own:
//!
//! - **Hashing** ([`hash`]): the [`Hash`](struct@Hash) newtype and the RFC 6962 §2.1 hash
//!   construction, `leaf = SHA-256(0x00 ‖ data)`, `node = SHA-256(0x01 ‖ left ‖ right)`, and
//!   the empty tree `SHA-256("")`. The two prefixes keep a leaf from ever being passed off as an
//!   interior node.
//! - **Layout and appending** ([`layout`], [`compact`]): a log only ever stores the roots of
//!   *perfect* subtrees (2^level leaves starting at a multiple of 2^level), because those never
//!   change once complete. [`node_position`] numbers them in the order an appender completes them
//!   (post-order, "MMR order"), so a store can write them append-only. [`CompactRange`] is the
//!   O(log n) state a writer keeps: the roots of the perfect subtrees that tile `[0, size)`.
//! - **Proof generation** ([`prove`]): [`root`], [`inclusion_proof`], [`consistency_proof`] and
//!   their subtree variants read only perfect-subtree nodes through the [`NodeReader`] trait, so
//!   any store (or the in-memory [`MemoryTree`]) can serve them with O(log n) reads.
//! - **Proof verification** ([`verify`]): RFC 9162 §2.1.3.2 and §2.1.4.2, with the edge semantics
//!   of transparency-dev/merkle (consistency from size 0 is an error, proof lengths must be exact),
//!   plus subtree inclusion and consistency proofs from draft-ietf-plants-merkle-tree-certs.
//!   Verification is pure, never panics, and is tested against the 518 shared upstream probes.
//!
//! What this crate never knows: what a leaf means, how leaves are encoded, where nodes are stored,
//! what time it is. Callers hash their canonical leaf bytes with [`leaf_hash`] and hand in
//! [`Hash`](struct@Hash)es; stores implement [`NodeReader`].
//!
//! **Architecture Invariant:** every function here is deterministic and free of I/O; the only
//! fallible inputs are the caller's numbers, proofs, and the [`NodeReader`] it passes in.

pub mod compact;
pub mod hash;
pub mod layout;
pub mod prove;
pub mod reader;
pub mod subtree;
pub mod tiles;
pub mod verify;

pub use compact::{CompactRange, MerkleError};
pub use hash::{Hash, HashLenError, ParseHashError, empty_root, leaf_hash, node_hash};
pub use layout::{node_position, nodes_for_size};
pub use prove::{
    ProofError, consistency_proof, inclusion_proof, root, root_of_leaves,
    subtree_consistency_proof, subtree_inclusion_proof, subtree_root,
};
pub use reader::{MemoryTree, MissingNode, NodeReader};
pub use subtree::{covering_subtrees, is_valid_subtree};
pub use verify::{
    VerifyError, root_from_consistency_proof, root_from_inclusion_proof, verify_consistency,
    verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
};
