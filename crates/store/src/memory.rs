//! A bounded in-memory store, for tests and for embedding trail where nothing must touch disk.
//! Appending beyond its capacity fails with [`StoreError::Full`]; nothing is ever evicted.

use std::collections::HashMap;
use std::sync::RwLock;

use trail_core::note::NoteSignature;
use trail_core::verify::Anchor;
use trail_core::{Sealed, SignedCheckpoint};
use trail_merkle::{CompactRange, Hash, node_position};

use crate::query::{Aggregate, run_query};
use crate::tree::{anchor_peak, check_batch, check_checkpoint, grow, prune_cuts};
use crate::{
    Durability, Page, Query, Result, SessionSummary, Stats, Store, StoreError, StoredRecord,
    TreeState,
};

/// The memory backend.
pub struct MemoryStore {
    origin: String,
    capacity: usize,
    inner: RwLock<Inner>,
    /// [`Durability::Checkpoint`] was asked for (remembered; nothing here is synced).
    unsynced: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Inner {
    records: Vec<StoredRecord>,
    ids: HashMap<String, u64>,
    nodes: Vec<Hash>,
    range: CompactRange,
    last_hash: Hash,
    checkpoints: Vec<SignedCheckpoint>,
    anchor: Option<Anchor>,
    start: u64,
    node_base: u64,
}

impl MemoryStore {
    /// An empty log for `origin` holding at most `capacity` records.
    pub fn new(origin: &str, capacity: usize) -> MemoryStore {
        MemoryStore {
            origin: origin.to_owned(),
            capacity,
            inner: RwLock::new(Inner::default()),
            unsynced: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn durability(&self) -> Durability {
        if self.unsynced.load(std::sync::atomic::Ordering::Relaxed) {
            Durability::Checkpoint
        } else {
            Durability::Commit
        }
    }

    fn quick_appends(&self) -> bool {
        self.durability() == Durability::Checkpoint
    }

    fn set_durability(&self, durability: Durability) -> Result<()> {
        // Nothing here outlives the process; the setting is only remembered.
        let unsynced = durability == Durability::Checkpoint;
        self.unsynced.store(unsynced, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn state(&self) -> Result<TreeState> {
        let i = self.read();
        Ok(TreeState { size: i.range.size(), last_hash: i.last_hash, root: i.range.root() })
    }

    fn append(&self, batch: &[Sealed]) -> Result<()> {
        let mut i = self.write();
        check_batch(&self.origin, i.range.size(), i.last_hash, batch)?;
        if i.records.len() + batch.len() > self.capacity {
            return Err(StoreError::Full { capacity: self.capacity });
        }
        for s in batch {
            if let Some(&seq) = i.ids.get(&s.record.id) {
                return Err(StoreError::DuplicateId { id: s.record.id.clone(), seq });
            }
        }
        let nodes = grow(&mut i.range, batch);
        i.nodes.extend(nodes.into_iter().map(|(_, _, h)| h));
        for s in batch {
            i.ids.insert(s.record.id.clone(), s.record.seq);
            i.records.push(StoredRecord::from_sealed(s));
        }
        if let Some(last) = batch.last() {
            i.last_hash = last.hash;
        }
        Ok(())
    }

    fn find_ids(&self, ids: &[&str]) -> Result<Vec<StoredRecord>> {
        let i = self.read();
        Ok(ids
            .iter()
            .filter_map(|id| i.ids.get(*id))
            .filter_map(|&seq| i.records.get((seq - i.start) as usize).cloned())
            .collect())
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>> {
        let i = self.read();
        Ok(seq.checked_sub(i.start).and_then(|k| i.records.get(k as usize)).cloned())
    }

    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(StoredRecord) -> Result<bool>,
    ) -> Result<()> {
        let batch: Vec<StoredRecord> = {
            let i = self.read();
            let a = from.max(i.start) - i.start;
            let b = to.min(i.range.size()).max(i.start) - i.start;
            i.records.get(a as usize..b.max(a) as usize).map(<[_]>::to_vec).unwrap_or_default()
        };
        for r in batch {
            if !visit(r)? {
                break;
            }
        }
        Ok(())
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let i = self.read();
        let pos = node_position(level, index);
        if pos < i.node_base {
            return i
                .anchor
                .as_ref()
                .and_then(|a| anchor_peak(a, level, index))
                .ok_or(StoreError::Pruned { seq: index << level, start: i.start });
        }
        i.nodes.get((pos - i.node_base) as usize).copied().ok_or_else(|| {
            StoreError::Invalid(format!(
                "node ({level}, {index}) is not in a tree of size {}",
                i.range.size()
            ))
        })
    }

    fn query(&self, q: &Query) -> Result<Page> {
        let records = self.read().records.clone();
        Ok(run_query(q, records.into_iter()))
    }

    fn sessions(&self, q: &Query) -> Result<Vec<SessionSummary>> {
        let i = self.read();
        let words = q.search_words();
        let mut agg = Aggregate::default();
        i.records.iter().filter(|r| q.matches(r, &words)).for_each(|r| agg.add(r));
        Ok(agg.into_sessions(q.page_size()))
    }

    fn stats(&self, q: &Query) -> Result<Stats> {
        let i = self.read();
        let words = q.search_words();
        let mut agg = Aggregate::default();
        i.records.iter().filter(|r| q.matches(r, &words)).for_each(|r| agg.add(r));
        Ok(agg.stats)
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        Ok(self.read().checkpoints.clone())
    }

    fn put_checkpoint(&self, expected_latest: Option<u64>, cp: &SignedCheckpoint) -> Result<()> {
        let mut i = self.write();
        let size = i.range.size();
        let latest = i.checkpoints.last().cloned();
        let fresh = {
            let view = &*i;
            let root_at = |s: u64| {
                trail_merkle::root(&View(view), s).map_err(|e| StoreError::Invalid(e.to_string()))
            };
            check_checkpoint(&self.origin, size, root_at, latest.as_ref(), expected_latest, cp)?
        };
        if fresh {
            i.checkpoints.push(cp.clone());
        }
        Ok(())
    }

    fn add_cosignatures(&self, size: u64, root: &Hash, sigs: &[NoteSignature]) -> Result<usize> {
        let mut i = self.write();
        let cp = i
            .checkpoints
            .iter_mut()
            .find(|c| c.checkpoint.size == size)
            .ok_or_else(|| crate::tree::no_checkpoint(size))?;
        match crate::tree::with_cosignatures(&cp.to_string(), size, root, sigs)? {
            Some((text, n)) => {
                *cp = crate::sql::parse_checkpoint(&text)?;
                Ok(n)
            }
            None => Ok(0),
        }
    }

    fn erase(&self, seqs: &[u64]) -> Result<u64> {
        let mut i = self.write();
        let start = i.start;
        let mut n = 0;
        for &seq in seqs {
            if let Some(r) = seq.checked_sub(start).and_then(|k| i.records.get_mut(k as usize))
                && r.body.take().is_some()
            {
                n += 1;
            }
        }
        Ok(n)
    }

    fn prune(&self, anchor: &Anchor) -> Result<u64> {
        let mut i = self.write();
        if !prune_cuts(anchor, i.start, i.range.size())? {
            return Ok(0);
        }
        let cut = (anchor.size - i.start) as usize;
        let removed: Vec<StoredRecord> = i.records.drain(..cut).collect();
        for r in &removed {
            i.ids.remove(&r.record.id);
        }
        // Nodes completed before the anchor are no longer needed, except the anchor's peaks.
        let new_base = trail_merkle::nodes_for_size(anchor.size);
        let drop = (new_base - i.node_base) as usize;
        let drop = drop.min(i.nodes.len());
        i.nodes.drain(..drop);
        i.node_base = new_base;
        i.start = anchor.size;
        i.checkpoints.retain(|c| c.checkpoint.size >= anchor.size);
        i.anchor = Some(anchor.clone());
        Ok(removed.len() as u64)
    }

    fn anchor(&self) -> Result<Option<Anchor>> {
        Ok(self.read().anchor.clone())
    }

    fn disk_bytes(&self) -> Result<u64> {
        Ok(0)
    }
}

struct View<'a>(&'a Inner);

impl trail_merkle::NodeReader for View<'_> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let i = self.0;
        let pos = node_position(level, index);
        if pos < i.node_base {
            return i
                .anchor
                .as_ref()
                .and_then(|a| anchor_peak(a, level, index))
                .ok_or(StoreError::Pruned { seq: index << level, start: i.start });
        }
        i.nodes
            .get((pos - i.node_base) as usize)
            .copied()
            .ok_or_else(|| StoreError::Invalid(format!("node ({level}, {index}) missing")))
    }
}
