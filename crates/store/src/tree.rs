//! Checks shared by every backend: that a batch continues the log, that a checkpoint matches
//! the stored tree, and that a prune anchor is the tree's own.

use trail_core::verify::Anchor;
use trail_core::{Sealed, SignedCheckpoint};
use trail_merkle::{CompactRange, Hash, NodeReader};

use crate::{Result, StoreError};

/// Checks that `batch` continues a log of `size` records ending in `last_hash` with `origin`,
/// and feeds each leaf into `range`, calling `node` for every perfect-subtree node completed.
pub(crate) fn check_batch<'a>(
    origin: &str,
    size: u64,
    last_hash: Hash,
    batch: impl IntoIterator<Item = &'a Sealed> + Clone,
) -> Result<()> {
    let mut prev = last_hash;
    for (expected_seq, s) in (size..).zip(batch.clone()) {
        if s.record.seq != expected_seq {
            return Err(StoreError::OutOfOrder { size: expected_seq, seq: s.record.seq });
        }
        if s.record.prev != prev {
            return Err(StoreError::Fork {
                seq: s.record.seq,
                expected: prev,
                found: s.record.prev,
            });
        }
        if s.record.origin != origin {
            return Err(StoreError::WrongOrigin {
                seq: s.record.seq,
                expected: origin.to_owned(),
                found: s.record.origin.clone(),
            });
        }
        prev = s.hash;
    }
    let mut ids: Vec<&str> = batch.into_iter().map(|s| s.record.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid(format!("id {:?} appears twice in one batch", w[0])));
    }
    Ok(())
}

/// Appends the batch's leaves to `range` and returns the completed nodes as
/// (level, index, hash), lowest first per leaf.
pub(crate) fn grow(range: &mut CompactRange, batch: &[Sealed]) -> Vec<(u32, u64, Hash)> {
    let mut nodes = Vec::with_capacity(batch.len() * 2);
    for s in batch {
        nodes.extend_from_slice(range.append(s.hash));
    }
    nodes
}

/// Checks a checkpoint against the stored tree and the latest stored checkpoint.
pub(crate) fn check_checkpoint(
    origin: &str,
    size: u64,
    root_at: impl Fn(u64) -> Result<Hash>,
    latest: Option<&SignedCheckpoint>,
    expected_latest: Option<u64>,
    cp: &SignedCheckpoint,
) -> Result<bool> {
    let found = latest.map(|l| l.checkpoint.size);
    if found != expected_latest {
        return Err(StoreError::CheckpointConflict { expected: expected_latest, found });
    }
    let c = &cp.checkpoint;
    if c.origin != origin {
        return Err(StoreError::BadCheckpoint {
            size: c.size,
            reason: format!("origin {:?} is not the log's {origin:?}", c.origin),
        });
    }
    if c.size > size {
        return Err(StoreError::BadCheckpoint {
            size: c.size,
            reason: format!("the log has only {size} records"),
        });
    }
    if let Some(l) = latest {
        if c.size < l.checkpoint.size {
            return Err(StoreError::BadCheckpoint {
                size: c.size,
                reason: format!(
                    "it is older than the latest checkpoint of size {}",
                    l.checkpoint.size
                ),
            });
        }
        if c.size == l.checkpoint.size {
            if c.root != l.checkpoint.root {
                return Err(StoreError::BadCheckpoint {
                    size: c.size,
                    reason: "same size as the latest checkpoint but a different root".into(),
                });
            }
            // Same tree head again: nothing to store.
            return Ok(false);
        }
    }
    let root = root_at(c.size)?;
    if root != c.root {
        return Err(StoreError::BadCheckpoint {
            size: c.size,
            reason: format!("it signs root {} but the records hash to {root}", c.root),
        });
    }
    Ok(true)
}

/// The anchor peak at (level, index), if it is one: the peaks of size n are its set bits from the
/// highest down, each covering the next 2^bit leaves.
pub(crate) fn anchor_peak(
    anchor: &trail_core::verify::Anchor,
    level: u32,
    index: u64,
) -> Option<Hash> {
    let mut offset = 0u64;
    let mut peaks = anchor.peaks.iter();
    for bit in (0..64u32).rev() {
        if anchor.size & (1u64 << bit) != 0 {
            let peak = peaks.next()?;
            if bit == level && offset >> bit == index && offset.is_multiple_of(1u64 << bit) {
                return Some(*peak);
            }
            offset += 1u64 << bit;
        }
    }
    None
}

/// True when `anchor` cuts records from a log of `size` records whose first kept seq is `start`;
/// false when it cuts nothing new; an error when it reaches beyond the log.
pub(crate) fn prune_cuts(anchor: &Anchor, start: u64, size: u64) -> Result<bool> {
    if anchor.size <= start {
        return Ok(false);
    }
    if anchor.size > size {
        return Err(StoreError::Invalid(format!(
            "cannot prune to {} records: the log has {size}",
            anchor.size
        )));
    }
    Ok(true)
}

/// Checks that `anchor` holds the stored tree's peaks and last leaf at its size: it replaces the
/// pruned records in every later proof, so it must be theirs.
pub(crate) fn check_anchor(
    anchor: &Anchor,
    nodes: &impl NodeReader<Error = StoreError>,
) -> Result<()> {
    let range = CompactRange::from_reader(nodes, anchor.size).map_err(crate::proof_err)?;
    let last = nodes.node(0, anchor.size - 1)?;
    if range.peaks() != anchor.peaks.as_slice() || last != anchor.last_hash {
        return Err(StoreError::Invalid(format!(
            "the prune anchor of size {} does not match the stored tree",
            anchor.size
        )));
    }
    Ok(())
}

/// The stored checkpoint note `stored` (of `size`) with `sigs` merged in, or `None` when it
/// already carries them all. The note must sign `root`: a cosignature is for one tree head.
pub(crate) fn with_cosignatures(
    stored: &str,
    size: u64,
    root: &Hash,
    sigs: &[trail_core::note::NoteSignature],
) -> Result<Option<(String, usize)>> {
    let mut cp = crate::sql::parse_checkpoint(stored)?;
    if cp.checkpoint.root != *root {
        return Err(StoreError::BadCheckpoint {
            size,
            reason: format!(
                "the stored checkpoint signs root {}, not the cosigned {root}",
                cp.checkpoint.root
            ),
        });
    }
    let n = cp.note.merge_signatures(sigs);
    Ok((n > 0).then(|| (cp.to_string(), n)))
}

/// The error for cosignatures of a checkpoint the log does not have.
pub(crate) fn no_checkpoint(size: u64) -> StoreError {
    StoreError::BadCheckpoint { size, reason: "no checkpoint of this size is stored".into() }
}
