//! A log's tree as C2SP `tlog-tiles`, read from a store: a hash tile from the stored nodes at
//! its height (one point read per hash, never the records below them), an entry bundle from the
//! records' canonical bytes (bodies never go into tiles).

use trail_merkle::tiles::{TILE_HEIGHT, Tile, push_entry};

use crate::{Result, Store, StoreError};

/// The bytes of `tile` in the tree of the first `size` records of `store`. A tile the tree of
/// that size does not hold (beyond it, or wider than the tree at its index) is refused, naming
/// the tile; so is a record too long for an entry bundle's 16-bit length prefix.
pub fn tile_bytes(store: &dyn Store, size: u64, tile: &Tile) -> Result<Vec<u8>> {
    let hashes = match tile.level {
        Some(l) => size.checked_shr(l * TILE_HEIGHT).unwrap_or(0),
        None => size,
    };
    let end = tile.leaves().end;
    if end > hashes {
        return Err(StoreError::Invalid(format!(
            "{} is not in the tree of size {size}: it needs {end} {} at its level, the tree has {hashes}",
            tile.path(),
            if tile.level.is_some() { "hashes" } else { "entries" },
        )));
    }
    if let Some(l) = tile.level {
        let first = tile.index * trail_merkle::tiles::TILE_WIDTH;
        let hashes = store.nodes(l * TILE_HEIGHT, first..first + tile.width)?;
        return Ok(hashes.iter().flat_map(|h| *h.as_bytes()).collect());
    }
    let leaves = tile.leaves();
    if let Some(a) = store.anchor()?
        && leaves.start < a.size
    {
        return Err(StoreError::Pruned { seq: leaves.start, start: a.size });
    }
    let mut out = Vec::with_capacity(tile.width as usize * 600);
    let mut next = leaves.start;
    store.entries(leaves.start, leaves.end, &mut |seq, canonical| {
        if seq != next {
            return Err(StoreError::Invalid(format!("record {next} is missing from the store")));
        }
        next += 1;
        push_entry(&mut out, canonical).map_err(|len| {
            StoreError::Invalid(format!(
                "record {seq} is {len} bytes, more than an entry bundle holds (65535)"
            ))
        })
    })?;
    if next != leaves.end {
        return Err(StoreError::Invalid(format!(
            "records {next} to {} are missing from the store",
            leaves.end - 1
        )));
    }
    Ok(out)
}
