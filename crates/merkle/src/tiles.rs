//! C2SP `tlog-tiles`: which hash tiles and entry bundles make up a tree, their paths, and a
//! [`NodeReader`] over tiles, so a tree served as static files can be audited with the same
//! proof code as a store.
//!
//! A tile at level `L` and index `N` holds the hashes of the tree's nodes at height `8·L`, from
//! node `256·N` on: 256 of them when full, `W` (1 to 255) in a partial tile `N.p/W` at the right
//! edge of a tree. Level-0 tiles hold leaf hashes; a level-`L` hash is the root of `256^L`
//! leaves. Entry bundle `N` holds the entries (leaf data) of leaves `256·N` on, each prefixed by
//! its length as a big-endian `u16`. Paths write `N` in groups of three digits, every group but
//! the last prefixed by `x`: `1234067` is `x001/x234/067`.

use crate::hash::Hash;
use crate::prove::root_of_leaves;
use crate::reader::NodeReader;

/// Levels of the tree one tile spans.
pub const TILE_HEIGHT: u32 = 8;

/// Hashes in a full tile, entries in a full bundle.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// The longest entry a bundle can hold: its length prefix is a `u16`.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// A hash tile or an entry bundle: where it sits and how many hashes or entries it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// The tile level (`None` for an entry bundle, which sits under level-0 tile `index`).
    pub level: Option<u32>,
    pub index: u64,
    /// 1 to 256; below 256 the tile is partial.
    pub width: u64,
}

/// A tile path that is not one the spec allows, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} is not a tile path: {reason}")]
pub struct TilePathError {
    pub path: String,
    pub reason: &'static str,
}

impl Tile {
    /// True when the tile holds all 256 hashes or entries (and so never changes).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tile's path below the log's prefix: `tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let level = match self.level {
            Some(l) => l.to_string(),
            None => "entries".to_owned(),
        };
        let mut p = format!("tile/{level}/{}", index_path(self.index));
        if !self.is_full() {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parses a path as [`Tile::path`] writes it (without the log's prefix). Refuses every other
    /// spelling of the same tile (leading zeros missing or extra, `x` misplaced, `.p/256`), so one
    /// tile has one path.
    pub fn parse(path: &str) -> Result<Tile, TilePathError> {
        let err = |reason| TilePathError { path: path.to_owned(), reason };
        let rest = path.strip_prefix("tile/").ok_or_else(|| err("it does not start with tile/"))?;
        let (level, rest) = rest.split_once('/').ok_or_else(|| err("no index"))?;
        let level = match level {
            "entries" => None,
            l if !l.is_empty() && l.len() <= 2 && l.bytes().all(|b| b.is_ascii_digit()) => {
                let l: u32 = l.parse().map_err(|_| err("bad level"))?;
                if l.to_string() != level || l > 63 / TILE_HEIGHT {
                    return Err(err("bad level"));
                }
                Some(l)
            }
            _ => return Err(err("the level is not a number or \"entries\"")),
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, w)) => {
                let width = w
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..TILE_WIDTH).contains(n) && n.to_string() == w)
                    .ok_or_else(|| err("a partial width is 1 to 255, without leading zeros"))?;
                (index, width)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index).ok_or_else(|| err("bad index"))?;
        Ok(Tile { level, index, width })
    }

    /// The tree nodes whose hashes a hash tile holds, in order: `(8·L, 256·N + i)`.
    pub fn nodes(&self) -> impl Iterator<Item = (u32, u64)> + use<> {
        let level = self.level.unwrap_or(0) * TILE_HEIGHT;
        let first = self.index * TILE_WIDTH;
        (0..self.width).map(move |i| (level, first + i))
    }

    /// The leaves an entry bundle (or a level-0 tile) covers.
    pub fn leaves(&self) -> std::ops::Range<u64> {
        let first = self.index * TILE_WIDTH;
        first..first + self.width
    }
}

/// `N` as a tile path writes it: groups of three digits, all but the last prefixed by `x`.
pub fn index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut n = n / 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn parse_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let (last, rest) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, p) in rest.iter().enumerate() {
        let digits = p.strip_prefix('x')?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // No leading group of zeros: 5 is `005`, never `x000/005`.
        if i == 0 && digits == "000" {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.checked_mul(1000)?.checked_add(last.parse().ok()?)
}

/// Every hash tile of a tree of `size` leaves, level by level from 0: each level's full tiles,
/// then its partial tile if the level has one. A level exists while the tree has a node at its
/// height (`size >> 8·L > 0`).
pub fn hash_tiles(size: u64) -> impl Iterator<Item = Tile> {
    (0..=63 / TILE_HEIGHT)
        .take_while(move |l| size >> (l * TILE_HEIGHT) > 0)
        .flat_map(move |l| level_tiles(Some(l), size >> (l * TILE_HEIGHT)))
}

/// Every entry bundle of a tree of `size` leaves.
pub fn entry_bundles(size: u64) -> impl Iterator<Item = Tile> {
    level_tiles(None, size)
}

/// The tiles of one level holding `count` hashes (or entries).
fn level_tiles(level: Option<u32>, count: u64) -> impl Iterator<Item = Tile> {
    let full = count / TILE_WIDTH;
    let partial = count % TILE_WIDTH;
    (0..full)
        .map(move |index| Tile { level, index, width: TILE_WIDTH })
        .chain((partial > 0).then_some(Tile { level, index: full, width: partial }))
}

/// The hash tile of a tree of `size` leaves that holds node `(8·L, i)`: full when the tree
/// completes it, else the tree's partial tile at that level. `None` when the tree has no such
/// node.
pub fn tile_for(size: u64, tile_level: u32, i: u64) -> Option<Tile> {
    let count = size.checked_shr(tile_level * TILE_HEIGHT).unwrap_or(0);
    if i >= count {
        return None;
    }
    let index = i / TILE_WIDTH;
    let width = (count - index * TILE_WIDTH).min(TILE_WIDTH);
    Some(Tile { level: Some(tile_level), index, width })
}

/// The hashes a hash tile's bytes hold, in order (bytes after the last whole hash are not one).
pub fn tile_hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes.chunks_exact(32).map(|c| Hash(c.try_into().unwrap_or([0; 32]))).collect()
}

/// Splits an entry bundle into its entries. Refuses a bundle that does not hold exactly `width`
/// well-formed entries.
pub fn bundle_entries(bundle: &[u8], width: u64) -> Result<Vec<&[u8]>, &'static str> {
    let mut out = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else { return Err("a length prefix is cut short") };
        let n = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < n {
            return Err("an entry is shorter than its length prefix says");
        }
        out.push(&tail[..n]);
        rest = &tail[n..];
    }
    if out.len() as u64 != width {
        return Err("the bundle holds a different number of entries than its width");
    }
    Ok(out)
}

/// Appends `entry` to a bundle being built. Refuses an entry over [`MAX_ENTRY_LEN`] bytes.
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), usize> {
    let n = u16::try_from(entry.len()).map_err(|_| entry.len())?;
    bundle.extend_from_slice(&n.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Tree nodes read from a tree's hash tiles, for a tree of `size` leaves: a node at a tile's
/// bottom row is read from the tile, one above it is recomputed from the bottom-row hashes below
/// it. `read(tile)` returns the tile's bytes (fetched, read from a file, cached: the caller's
/// business); a tile that is not `32·width` bytes is an error.
pub struct TileNodes<F> {
    pub size: u64,
    pub read: F,
}

/// Why a node could not be read from tiles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileReadError<E> {
    #[error("node ({level}, {index}) is not complete in a tree of size {size}")]
    Outside { level: u32, index: u64, size: u64 },
    #[error("tile {path} holds {got} bytes, not {expected}")]
    BadLength { path: String, got: usize, expected: usize },
    #[error("{0}")]
    Read(E),
}

impl<F, E> NodeReader for TileNodes<F>
where
    F: Fn(&Tile) -> Result<Vec<u8>, E>,
{
    type Error = TileReadError<E>;

    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let outside = || TileReadError::Outside { level, index, size: self.size };
        let tile_level = level / TILE_HEIGHT;
        let above = level % TILE_HEIGHT;
        // The bottom-row hashes under the node: 2^above of them from `first`.
        let first = index.checked_shl(above).ok_or_else(outside)?;
        let last = (index + 1).checked_shl(above).ok_or_else(outside)? - 1;
        let tile = tile_for(self.size, tile_level, last).ok_or_else(outside)?;
        let bytes = (self.read)(&tile).map_err(TileReadError::Read)?;
        let expected = 32 * tile.width as usize;
        if bytes.len() != expected {
            return Err(TileReadError::BadLength { path: tile.path(), got: bytes.len(), expected });
        }
        let start = (first - tile.index * TILE_WIDTH) as usize;
        Ok(root_of_leaves(&tile_hashes(&bytes[start * 32..(start + (1 << above)) * 32])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::prove::{inclusion_proof, root, root_of_leaves};
    use crate::reader::MemoryTree;

    #[test]
    fn paths_round_trip_and_have_one_spelling() {
        for (n, p) in [(0, "000"), (999, "999"), (1000, "x001/000"), (1_234_067, "x001/x234/067")] {
            assert_eq!(index_path(n), p);
        }
        let t = Tile { level: Some(1), index: 1_234_067, width: 17 };
        assert_eq!(t.path(), "tile/1/x001/x234/067.p/17");
        assert_eq!(Tile::parse(&t.path()), Ok(t));
        let e = Tile { level: None, index: 5, width: 256 };
        assert_eq!(e.path(), "tile/entries/005");
        assert_eq!(Tile::parse("tile/entries/005"), Ok(e));
        for bad in [
            "tile/0/5",
            "tile/0/x000/005",
            "tile/0/005.p/256",
            "tile/0/005.p/0",
            "tile/0/005.p/017",
            "tile/00/005",
            "tile/9/005",
            "tile/0/x1/005",
            "tiles/0/005",
            "tile/0/005/",
        ] {
            assert!(Tile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tile_shapes_match_the_spec_examples() {
        let shape = |size: u64| {
            hash_tiles(size).fold(Vec::<(u32, u64, u64)>::new(), |mut v, t| {
                let l = t.level.unwrap_or(0);
                match v.last_mut() {
                    Some(last) if last.0 == l => {
                        if t.is_full() {
                            last.1 += 1
                        } else {
                            last.2 = t.width
                        }
                    }
                    _ => v.push((l, u64::from(t.is_full()), if t.is_full() { 0 } else { t.width })),
                }
                v
            })
        };
        assert_eq!(shape(8), vec![(0, 0, 8)]);
        assert_eq!(shape(256), vec![(0, 1, 0), (1, 0, 1)]);
        assert_eq!(shape(70_000), vec![(0, 273, 112), (1, 1, 17), (2, 0, 1)]);
    }

    #[test]
    fn nodes_read_from_tiles_are_the_trees_own() {
        for size in [1u64, 7, 255, 256, 257, 511, 512, 1000, 65_536, 70_001] {
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let tree = MemoryTree::from_leaves(leaves.iter().copied());
            let read = |t: &Tile| -> Result<Vec<u8>, MissingTile> {
                Ok(t.nodes().flat_map(|(l, i)| tree.node(l, i).unwrap().0).collect())
            };
            let tiles = TileNodes { size, read };
            assert_eq!(root(&tiles, size).unwrap(), root(&tree, size).unwrap(), "size {size}");
            if size <= 1000 {
                assert_eq!(root(&tiles, size).unwrap(), root_of_leaves(&leaves));
            }
            let i = size / 3;
            assert_eq!(
                inclusion_proof(&tiles, i, size).unwrap(),
                inclusion_proof(&tree, i, size).unwrap()
            );
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("no such tile")]
    struct MissingTile;

    #[test]
    fn a_short_tile_is_named() {
        let read = |_: &Tile| -> Result<Vec<u8>, MissingTile> { Ok(vec![0; 31]) };
        let err = TileNodes { size: 3, read }.node(0, 1).unwrap_err();
        assert!(err.to_string().contains("tile/0/000.p/3 holds 31 bytes, not 96"), "{err}");
    }

    #[test]
    fn bundles_hold_exactly_their_entries() {
        let mut b = Vec::new();
        push_entry(&mut b, b"one").unwrap();
        push_entry(&mut b, b"").unwrap();
        assert_eq!(bundle_entries(&b, 2).unwrap(), vec![&b"one"[..], &b""[..]]);
        assert!(bundle_entries(&b, 3).is_err());
        assert!(bundle_entries(&b[..b.len() - 1], 2).is_err());
        assert!(bundle_entries(&[0, 9, 1], 1).is_err());
        assert_eq!(push_entry(&mut b, &vec![0; 70_000]), Err(70_000));
    }
}
