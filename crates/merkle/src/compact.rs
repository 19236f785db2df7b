//! [`CompactRange`]: the O(log n) state an appender keeps.

use crate::hash::{Hash, empty_root, node_hash};
use crate::prove::ProofError;
use crate::reader::NodeReader;

/// The roots of the perfect subtrees that tile `[0, size)`, which is all an appender needs to
/// compute the tree root and every node a new leaf completes.
///
/// At most 64 peaks, one per set bit of `size`; appending costs one node hash on average.
#[derive(Clone, Default)]
pub struct CompactRange {
    size: u64,
    /// Perfect subtree roots, left to right (largest first).
    peaks: Vec<Hash>,
    /// The nodes completed by the last append, reused so appending does not allocate.
    completed: Vec<(u32, u64, Hash)>,
}

/// A [`CompactRange`] that cannot be built from the given parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// A range of `size` leaves has exactly `popcount(size)` peaks.
    #[error("tree size {size} needs {want} peaks, got {got}")]
    PeakCount {
        /// The claimed tree size.
        size: u64,
        /// How many peaks were given.
        got: usize,
        /// How many peaks that size has.
        want: u32,
    },
}

impl CompactRange {
    /// The empty range.
    pub fn new() -> Self {
        CompactRange { size: 0, peaks: Vec::with_capacity(64), completed: Vec::with_capacity(65) }
    }

    /// Rebuilds a range from its size and peaks (perfect subtree roots, largest first), e.g. as
    /// read back from a store. The peak count must equal `popcount(size)`.
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Result<Self, MerkleError> {
        if peaks.len() != size.count_ones() as usize {
            return Err(MerkleError::PeakCount { size, got: peaks.len(), want: size.count_ones() });
        }
        Ok(CompactRange { size, peaks, completed: Vec::with_capacity(65) })
    }

    /// Rebuilds the range of the first `size` leaves by reading its peaks from `reader`.
    pub fn from_reader<R: NodeReader>(reader: &R, size: u64) -> Result<Self, ProofError<R::Error>> {
        let mut peaks = Vec::with_capacity(64);
        for (level, index) in crate::layout::peaks(size) {
            peaks.push(reader.node(level, index).map_err(|source| ProofError::Read {
                level,
                index,
                source,
            })?);
        }
        Ok(CompactRange { size, peaks, completed: Vec::with_capacity(65) })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree roots, left to right (largest first).
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends a leaf hash and returns the nodes it completed, lowest first, as
    /// `(level, index, hash)`: the leaf itself at level 0, then each new parent. A store persists
    /// them at [`node_position`](crate::node_position)`(level, index)`, which for one append are
    /// consecutive positions in this order.
    ///
    /// The returned slice borrows a buffer inside the range that the next append reuses, so
    /// appending does not allocate. Copy it out (`.to_vec()`) to keep it.
    pub fn append(&mut self, leaf: Hash) -> &[(u32, u64, Hash)] {
        let leaf_index = self.size;
        self.completed.clear();
        self.completed.push((0, leaf_index, leaf));
        let mut hash = leaf;
        let mut level = 0u32;
        // Each trailing one bit of the old size is a peak of equal height that the new node
        // completes a parent with.
        while (leaf_index >> level) & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                // Unreachable while the invariant peaks.len() == popcount(size) holds.
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            self.completed.push((level, leaf_index >> level, hash));
        }
        self.peaks.push(hash);
        self.size += 1;
        &self.completed
    }

    /// The RFC 6962 root of the leaves appended so far; [`empty_root`] for size 0.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(&last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(last, |acc, left| node_hash(left, &acc))
    }
}

impl PartialEq for CompactRange {
    fn eq(&self, other: &Self) -> bool {
        self.size == other.size && self.peaks == other.peaks
    }
}

impl Eq for CompactRange {}

impl std::fmt::Debug for CompactRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactRange")
            .field("size", &self.size)
            .field("peaks", &self.peaks)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{leaf_hash, node_position, root_of_leaves};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn empty_range_has_empty_root() {
        assert_eq!(CompactRange::new().root(), empty_root());
        assert_eq!(CompactRange::new().size(), 0);
    }

    #[test]
    fn root_matches_mth_for_every_prefix() {
        let all = leaves(70);
        let mut range = CompactRange::new();
        for (i, leaf) in all.iter().enumerate() {
            range.append(*leaf);
            assert_eq!(range.root(), root_of_leaves(&all[..=i]), "size {}", i + 1);
            assert_eq!(range.peaks().len(), range.size().count_ones() as usize);
        }
    }

    #[test]
    fn append_reports_completed_nodes_at_consecutive_positions() {
        let mut range = CompactRange::new();
        let mut next_position = 0;
        for leaf in leaves(40) {
            let size = range.size();
            let done = range.append(leaf).to_vec();
            assert_eq!(done[0], (0, size, leaf));
            assert_eq!(done.len() as u32, 1 + size.trailing_ones());
            for (level, index, _) in done {
                assert_eq!(node_position(level, index), next_position);
                next_position += 1;
            }
        }
    }

    #[test]
    fn append_completes_the_expected_parent() {
        let l = leaves(4);
        let mut range = CompactRange::new();
        range.append(l[0]);
        range.append(l[1]);
        range.append(l[2]);
        let n01 = node_hash(&l[0], &l[1]);
        let n23 = node_hash(&l[2], &l[3]);
        assert_eq!(range.append(l[3]), [(0, 3, l[3]), (1, 1, n23), (2, 0, node_hash(&n01, &n23))]);
    }

    #[test]
    fn from_parts_round_trips() {
        let mut range = CompactRange::new();
        for leaf in leaves(11) {
            range.append(leaf);
        }
        let rebuilt = CompactRange::from_parts(range.size(), range.peaks().to_vec());
        assert_eq!(rebuilt.as_ref(), Ok(&range));
    }

    #[test]
    fn from_parts_checks_peak_count() {
        let got = CompactRange::from_parts(11, vec![Hash::ZERO; 2]).map_err(|e| e.to_string());
        assert_eq!(got, Err("tree size 11 needs 3 peaks, got 2".to_owned()));
    }
}
