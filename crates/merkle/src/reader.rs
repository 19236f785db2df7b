//! [`NodeReader`]: how proof generation reads stored nodes, and the in-memory [`MemoryTree`].

use crate::compact::CompactRange;
use crate::hash::Hash;
use crate::layout::{node_position, nodes_for_size};

/// Read access to stored perfect-subtree nodes. Stores implement this.
///
/// `node(level, index)` returns the root of leaves `[index·2^level, (index+1)·2^level)`. Proof
/// generation only asks for nodes whose leaves all lie inside the tree size it was given, so a
/// store may hold more leaves than the proof is for.
pub trait NodeReader {
    /// Why a node could not be read (missing, I/O failure, ...).
    type Error;

    /// The hash of perfect subtree node `(level, index)`.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

impl<R: NodeReader + ?Sized> NodeReader for &R {
    type Error = R::Error;

    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// A node that a [`MemoryTree`] does not (yet) have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node (level {level}, index {index}) is not complete in a tree of size {size}")]
pub struct MissingNode {
    /// The requested level.
    pub level: u32,
    /// The requested index at that level.
    pub index: u64,
    /// How many leaves the tree holds.
    pub size: u64,
}

/// Every perfect-subtree node of a tree, in memory, in [`node_position`] order.
///
/// For tests and small trees: it holds `2n − popcount(n)` hashes for `n` leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    nodes: Vec<Hash>,
    range: CompactRange,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        MemoryTree { nodes: Vec::new(), range: CompactRange::new() }
    }

    /// A tree of the given leaf hashes.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = MemoryTree::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash, storing it and every node it completes.
    pub fn push(&mut self, leaf: Hash) {
        // The completed nodes belong at consecutive positions starting at the current end.
        self.nodes.extend(self.range.append(leaf).iter().map(|&(_, _, hash)| hash));
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The root of all leaves.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The compact range of all leaves.
    pub fn compact_range(&self) -> &CompactRange {
        &self.range
    }

    /// All stored nodes, in [`node_position`] order.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }
}

impl NodeReader for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        let size = self.size();
        let missing = MissingNode { level, index, size };
        // The node is complete when its last leaf, (index+1)·2^level − 1, is below size.
        let end = index
            .checked_add(1)
            .and_then(|n| n.checked_shl(level).filter(|&e| e >> level == n))
            .ok_or(missing)?;
        if end > size {
            return Err(missing);
        }
        let position = node_position(level, index);
        debug_assert!(position < nodes_for_size(size));
        let position = usize::try_from(position).map_err(|_| missing)?;
        self.nodes.get(position).copied().ok_or(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{leaf_hash, node_hash};

    #[test]
    fn reads_leaves_and_parents() {
        let l: Vec<Hash> = (0u8..3).map(|i| leaf_hash(&[i])).collect();
        let tree = MemoryTree::from_leaves(l.iter().copied());
        assert_eq!(tree.node(0, 2), Ok(l[2]));
        assert_eq!(tree.node(1, 0), Ok(node_hash(&l[0], &l[1])));
        assert_eq!(tree.nodes().len(), 4);
    }

    #[test]
    fn incomplete_nodes_are_missing() {
        let tree = MemoryTree::from_leaves((0u8..3).map(|i| leaf_hash(&[i])));
        let err = tree.node(1, 1).map_err(|e| e.to_string());
        assert_eq!(err, Err("node (level 1, index 1) is not complete in a tree of size 3".into()));
        assert!(tree.node(0, 3).is_err());
        assert!(tree.node(64, 0).is_err());
        assert!(tree.node(1, u64::MAX).is_err());
        assert!(tree.node(63, 2).is_err());
    }
}
