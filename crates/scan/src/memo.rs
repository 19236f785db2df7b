//! Short texts a scan found nothing in, remembered by the scanner.
//!
//! An agent's events repeat their short strings: JSON keys (`command`, `cwd`, `timeout`), tool
//! names, locales, enum-like values. Each scan of one costs 0.2-0.9 µs of fixed work across the
//! detectors, several times a lookup here, and a body holds a dozen of them. A scan is a pure
//! function of the text and the scanner that owns this memo, so a remembered text's answer
//! (nothing) is exactly the answer a new scan would give.
//!
//! Bounded: texts of at most [`MAX_LEN`] bytes, at most [`SHARDS`] × [`PER_SHARD`] of them
//! (about 1 MiB); a full shard is emptied and starts again, so a stream of distinct strings costs
//! the memo its hits, never memory. The hash is seeded per process, so no one can choose
//! strings that collide. Only texts with no finding are kept: nothing a scan flags is held here,
//! and the value of a JSON member whose key names a credential is scanned past the memo
//! (`Scanner::scan_unremembered`), since only its key says it is a password.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

use foldhash::fast::RandomState;

/// Longer texts are scanned every time (they rarely repeat exactly).
pub(crate) const MAX_LEN: usize = 24;
const SHARDS: usize = 16;
const PER_SHARD: usize = 1024;

pub(crate) struct CleanMemo {
    hasher: RandomState,
    shards: [Mutex<HashSet<Box<[u8]>, RandomState>>; SHARDS],
}

impl CleanMemo {
    pub(crate) fn new() -> CleanMemo {
        let hasher = RandomState::default();
        CleanMemo {
            shards: std::array::from_fn(|_| Mutex::new(HashSet::with_hasher(hasher.clone()))),
            hasher,
        }
    }

    fn shard(&self, text: &[u8]) -> &Mutex<HashSet<Box<[u8]>, RandomState>> {
        &self.shards[self.hasher.hash_one(text) as usize % SHARDS]
    }

    /// Whether `text` was scanned before and held nothing.
    pub(crate) fn is_clean(&self, text: &[u8]) -> bool {
        text.len() <= MAX_LEN
            && self.shard(text).lock().unwrap_or_else(PoisonError::into_inner).contains(text)
    }

    /// Remembers that `text` holds nothing (texts longer than [`MAX_LEN`] are not kept).
    pub(crate) fn remember_clean(&self, text: &[u8]) {
        if text.len() > MAX_LEN {
            return;
        }
        let mut set = self.shard(text).lock().unwrap_or_else(PoisonError::into_inner);
        if set.len() >= PER_SHARD {
            set.clear();
        }
        set.insert(text.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_short_clean_texts_within_bounds() {
        let memo = CleanMemo::new();
        assert!(!memo.is_clean(b"command"));
        memo.remember_clean(b"command");
        assert!(memo.is_clean(b"command"));
        let long = [b'a'; MAX_LEN + 1];
        memo.remember_clean(&long);
        assert!(!memo.is_clean(&long), "long texts are scanned every time");
        for i in 0..(SHARDS * PER_SHARD * 3) {
            memo.remember_clean(format!("k{i}").as_bytes());
        }
        let held: usize = memo.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= SHARDS * PER_SHARD, "bounded: {held}");
    }
}
