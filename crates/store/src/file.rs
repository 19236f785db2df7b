//! The file log: one append-only JSON Lines file that is itself a trail export.
//!
//! `log.jsonl` holds, in order, an optional `{"anchor": ...}` line (after a prune), one
//! `{"record": ..., "hash": ..., "body": ..., "salt": ...}` line per record and a
//! `{"checkpoint": ...}` line after the last record each checkpoint covers, so `trail verify`
//! checks the file directly and copying it is a complete backup. `tree.bin` caches the Merkle
//! nodes (32 bytes each, in `node_position` order); it is derived from the log and rebuilt on
//! open when it does not match.
//!
//! Crash safety: a batch is written with one `write` and made durable with `fdatasync` before
//! `append` returns (with [`Durability::Checkpoint`], by the `fdatasync` of the next checkpoint
//! line instead). A crash mid-write leaves an incomplete last line; opening the log then fails
//! with [`StoreError::TornTail`] naming the line, and nothing is dropped or kept silently until
//! [`FileStore::repair`] moves the torn bytes to `log.jsonl.torn`. Erasure and pruning rewrite
//! the file to a temporary name and rename it over the old one.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use trail_core::export::{self, ExportLine};
use trail_core::verify::Anchor;
use trail_core::{Record, Sealed, SignedCheckpoint};
use trail_merkle::{CompactRange, Hash, node_position};

use crate::query::{Aggregate, QueryRun};
use crate::tree::{check_batch, check_checkpoint, grow, prune_cuts};
use crate::{
    Durability, Page, Query, Result, SessionSummary, Stats, Store, StoreError, StoredRecord,
    TreeState,
};

/// File name of the log inside the data directory.
pub const LOG_FILE: &str = "log.jsonl";
/// File name of the node cache.
pub const TREE_FILE: &str = "tree.bin";

/// The file log backend.
pub struct FileStore {
    dir: PathBuf,
    origin: String,
    inner: Mutex<Inner>,
    /// Whether `append` syncs (durability [`Durability::Commit`]); otherwise the next
    /// checkpoint's sync covers the appended lines.
    sync_appends: AtomicBool,
}

struct Inner {
    log: File,
    tree: File,
    /// Byte offset of each record line, indexed by `seq - start`.
    offsets: Vec<u64>,
    ids: HashMap<String, u64>,
    start: u64,
    range: CompactRange,
    last_hash: Hash,
    checkpoints: Vec<SignedCheckpoint>,
    anchor: Option<Anchor>,
    end: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_owned(), source }
}

impl FileStore {
    /// Creates an empty log in `dir` (which must exist) for `origin`.
    pub fn create(dir: &Path, origin: &str) -> Result<FileStore> {
        let path = dir.join(LOG_FILE);
        OpenOptions::new().write(true).create_new(true).open(&path).map_err(io(&path))?;
        fs::write(dir.join("origin"), origin).map_err(io(dir))?;
        FileStore::open(dir)
    }

    /// Opens the log in `dir`, checking every line and rebuilding the node cache if needed.
    pub fn open(dir: &Path) -> Result<FileStore> {
        let origin_path = dir.join("origin");
        let origin = fs::read_to_string(&origin_path).map_err(io(&origin_path))?.trim().to_owned();
        let path = dir.join(LOG_FILE);
        let mut log = OpenOptions::new().read(true).append(true).open(&path).map_err(io(&path))?;
        let mut inner = Inner {
            tree: File::open(dir).map_err(io(dir))?,
            log: log.try_clone().map_err(io(&path))?,
            offsets: Vec::new(),
            ids: HashMap::new(),
            start: 0,
            range: CompactRange::new(),
            last_hash: Hash::ZERO,
            checkpoints: Vec::new(),
            anchor: None,
            end: 0,
        };
        let mut leaves = Vec::new();
        load(&path, &mut log, &origin, &mut inner, &mut leaves)?;
        inner.tree = open_tree(dir, &inner, &leaves)?;
        Ok(FileStore {
            dir: dir.to_owned(),
            origin,
            inner: Mutex::new(inner),
            sync_appends: AtomicBool::new(true),
        })
    }

    /// Moves an incomplete last line aside to `log.jsonl.torn`; returns how many bytes moved.
    pub fn repair(dir: &Path) -> Result<u64> {
        let path = dir.join(LOG_FILE);
        let data = fs::read(&path).map_err(io(&path))?;
        let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let torn = &data[keep..];
        if torn.is_empty() {
            return Ok(0);
        }
        let torn_path = dir.join("log.jsonl.torn");
        let mut f = private().create(true).append(true).open(&torn_path).map_err(io(&torn_path))?;
        f.write_all(torn).and_then(|()| f.sync_data()).map_err(io(&torn_path))?;
        let log = OpenOptions::new().write(true).open(&path).map_err(io(&path))?;
        log.set_len(keep as u64).and_then(|()| log.sync_data()).map_err(io(&path))?;
        Ok(torn.len() as u64)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent files (writes are whole batches), so
        // the state is still usable.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    fn read_line_at(&self, inner: &mut Inner, offset: u64) -> Result<String> {
        let path = self.log_path();
        let mut f = &inner.log;
        f.seek(SeekFrom::Start(offset)).map_err(io(&path))?;
        let mut reader = BufReader::new(f);
        let mut line = String::new();
        reader.read_line(&mut line).map_err(io(&path))?;
        Ok(line)
    }

    fn rewrite(&self, inner: &mut Inner, lines: impl Iterator<Item = String>) -> Result<()> {
        let path = self.log_path();
        let tmp = self.dir.join("log.jsonl.tmp");
        {
            let mut f =
                private().write(true).create(true).truncate(true).open(&tmp).map_err(io(&tmp))?;
            let mut w = std::io::BufWriter::new(&mut f);
            for l in lines {
                w.write_all(l.as_bytes()).and_then(|()| w.write_all(b"\n")).map_err(io(&tmp))?;
            }
            w.flush().map_err(io(&tmp))?;
            drop(w);
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io(&self.dir))?;
        let mut log = OpenOptions::new().read(true).append(true).open(&path).map_err(io(&path))?;
        let mut fresh = Inner {
            log: log.try_clone().map_err(io(&path))?,
            tree: inner.tree.try_clone().map_err(io(&path))?,
            ..empty_inner(&inner.log)?
        };
        let mut leaves = Vec::new();
        load(&path, &mut log, &self.origin, &mut fresh, &mut leaves)?;
        fresh.tree = open_tree(&self.dir, &fresh, &leaves)?;
        *inner = fresh;
        Ok(())
    }

    /// Every line of the log, in order, as text.
    fn all_lines(&self) -> Result<Vec<String>> {
        let path = self.log_path();
        let f = File::open(&path).map_err(io(&path))?;
        BufReader::new(f).lines().collect::<std::io::Result<_>>().map_err(io(&path))
    }
}

fn empty_inner(log: &File) -> Result<Inner> {
    let path = PathBuf::from(LOG_FILE);
    Ok(Inner {
        log: log.try_clone().map_err(io(&path))?,
        tree: log.try_clone().map_err(io(&path))?,
        offsets: Vec::new(),
        ids: HashMap::new(),
        start: 0,
        range: CompactRange::new(),
        last_hash: Hash::ZERO,
        checkpoints: Vec::new(),
        anchor: None,
        end: 0,
    })
}

/// Reads the whole log into the index, failing on a torn or corrupt line.
fn load(
    path: &Path,
    log: &mut File,
    origin: &str,
    inner: &mut Inner,
    leaves: &mut Vec<Hash>,
) -> Result<()> {
    let mut data = Vec::new();
    log.seek(SeekFrom::Start(0)).map_err(io(path))?;
    log.read_to_end(&mut data).map_err(io(path))?;
    let mut offset = 0usize;
    let mut line_no = 0u64;
    while offset < data.len() {
        line_no += 1;
        let Some(nl) = data[offset..].iter().position(|&b| b == b'\n') else {
            return Err(StoreError::TornTail {
                path: path.to_owned(),
                line: line_no,
                bytes: (data.len() - offset) as u64,
            });
        };
        let line = &data[offset..offset + nl];
        let corrupt =
            |reason: String| StoreError::Corrupt { path: path.to_owned(), line: line_no, reason };
        let text = std::str::from_utf8(line).map_err(|e| corrupt(e.to_string()))?;
        match export::parse_line(text).map_err(|e| corrupt(e.to_string()))? {
            ExportLine::Anchor(a) => {
                if !inner.offsets.is_empty() {
                    return Err(corrupt("an anchor after records".into()));
                }
                inner.start = a.size;
                inner.range = CompactRange::from_parts(a.size, a.peaks.clone())
                    .map_err(|e| corrupt(e.to_string()))?;
                inner.last_hash = a.last_hash;
                inner.anchor = Some(a);
            }
            ExportLine::Record { canonical, hash, .. } => {
                let record =
                    Record::from_canonical(&canonical).map_err(|e| corrupt(e.to_string()))?;
                let computed = trail_merkle::leaf_hash(&canonical);
                let seq = inner.start + inner.offsets.len() as u64;
                if hash.is_some_and(|h| h != computed)
                    || record.seq != seq
                    || record.prev != inner.last_hash
                    || record.origin != origin
                {
                    return Err(corrupt(format!(
                        "record {} does not continue the log (expected seq {seq} after {}); run `trail verify` for details",
                        record.seq, inner.last_hash
                    )));
                }
                inner.offsets.push(offset as u64);
                inner.ids.insert(record.id, seq);
                inner.range.append(computed);
                leaves.push(computed);
                inner.last_hash = computed;
            }
            ExportLine::Checkpoint(note) => {
                let cp = SignedCheckpoint::parse(&note).map_err(|e| corrupt(e.to_string()))?;
                inner.checkpoints.push(cp);
            }
        }
        offset += nl + 1;
    }
    inner.end = data.len() as u64;
    Ok(())
}

/// Opens `tree.bin`, rebuilding it when it does not hold exactly the nodes of the log.
///
/// A rebuilt file replaces the old one by a rename, never by rewriting it in place: another
/// store may hold the old file open (a writer appending beside this one's open, which reads
/// the log while the writer is between a record's line and its nodes), and rewriting the file
/// under it made that writer read wrong nodes and sign a wrong root (found by an outside tester
/// running `trail stats` beside a writer). The writer keeps its own file; the next open after
/// it rebuilds again.
fn open_tree(dir: &Path, inner: &Inner, leaves: &[Hash]) -> Result<File> {
    let path = dir.join(TREE_FILE);
    let size = inner.range.size();
    let expected_nodes =
        trail_merkle::nodes_for_size(size) - trail_merkle::nodes_for_size(inner.start);
    let expected_len = expected_nodes * 32;
    let tree = private()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    let len = tree.metadata().map_err(io(&path))?.len();
    if len != expected_len {
        // Rebuild from the leaves: the cache is derived data.
        let mut range = match &inner.anchor {
            Some(a) => CompactRange::from_parts(a.size, a.peaks.clone())
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
            None => CompactRange::new(),
        };
        let mut buf = Vec::with_capacity(expected_len as usize);
        for leaf in leaves {
            for (_, _, h) in range.append(*leaf) {
                buf.extend_from_slice(h.as_bytes());
            }
        }
        let tmp = dir.join(format!("{TREE_FILE}.{}.{:016x}.tmp", std::process::id(), rand_u64()));
        let mut rebuilt =
            private().read(true).write(true).create_new(true).open(&tmp).map_err(io(&tmp))?;
        rebuilt.write_all(&buf).and_then(|()| rebuilt.sync_data()).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        rebuilt.seek(SeekFrom::End(0)).map_err(io(&path))?;
        return Ok(rebuilt);
    }
    Ok(tree)
}

/// A number for a temporary file's name, distinct between the threads of one process.
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

impl Store for FileStore {
    fn backend(&self) -> &'static str {
        "files"
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn state(&self) -> Result<TreeState> {
        let inner = self.lock();
        Ok(TreeState {
            size: inner.range.size(),
            last_hash: inner.last_hash,
            root: inner.range.root(),
        })
    }

    fn append(&self, batch: &[Sealed]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut inner = self.lock();
        check_batch(&self.origin, inner.range.size(), inner.last_hash, batch)?;
        for s in batch {
            if let Some(&seq) = inner.ids.get(&s.record.id) {
                return Err(StoreError::DuplicateId { id: s.record.id.clone(), seq });
            }
        }
        let mut buf = Vec::with_capacity(batch.len() * 512);
        let mut line_offsets = Vec::with_capacity(batch.len());
        for s in batch {
            line_offsets.push(inner.end + buf.len() as u64);
            buf.extend_from_slice(
                export::record_line(&s.canonical, &s.hash, s.body.as_ref()).as_bytes(),
            );
            buf.push(b'\n');
        }
        let path = self.log_path();
        let mut range = inner.range.clone();
        let nodes = grow(&mut range, batch);
        let mut node_buf = Vec::with_capacity(nodes.len() * 32);
        for (_, _, h) in &nodes {
            node_buf.extend_from_slice(h.as_bytes());
        }
        let end = inner.end;
        let write = (|| {
            let mut log = &inner.log;
            log.write_all(&buf)?;
            if self.sync_appends.load(Ordering::Relaxed) {
                log.sync_data()?;
            }
            let mut tree = &inner.tree;
            tree.seek(SeekFrom::End(0))?;
            tree.write_all(&node_buf)
        })();
        if let Err(e) = write {
            // Leave no partial batch behind: cut the log back to where it was.
            let _ = inner.log.set_len(end);
            return Err(StoreError::Io { path, source: e });
        }
        for (s, off) in batch.iter().zip(line_offsets) {
            inner.offsets.push(off);
            inner.ids.insert(s.record.id.clone(), s.record.seq);
        }
        inner.end += buf.len() as u64;
        inner.range = range;
        inner.last_hash = batch[batch.len() - 1].hash;
        Ok(())
    }

    fn find_ids(&self, ids: &[&str]) -> Result<Vec<StoredRecord>> {
        let seqs: Vec<u64> = {
            let inner = self.lock();
            ids.iter().filter_map(|id| inner.ids.get(*id).copied()).collect()
        };
        let mut out = Vec::new();
        for seq in seqs {
            if let Some(r) = self.get(seq)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>> {
        let mut inner = self.lock();
        if seq < inner.start {
            return Ok(None);
        }
        let Some(&offset) = inner.offsets.get((seq - inner.start) as usize) else {
            return Ok(None);
        };
        let line = self.read_line_at(&mut inner, offset)?;
        parse_stored(&self.log_path(), seq, &line).map(Some)
    }

    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(StoredRecord) -> Result<bool>,
    ) -> Result<()> {
        let (start, offset, size) = {
            let inner = self.lock();
            let from = from.max(inner.start);
            let idx = (from - inner.start) as usize;
            match inner.offsets.get(idx) {
                Some(&o) => (from, o, inner.range.size()),
                None => return Ok(()),
            }
        };
        let to = to.min(size);
        let path = self.log_path();
        let mut f = File::open(&path).map_err(io(&path))?;
        f.seek(SeekFrom::Start(offset)).map_err(io(&path))?;
        let mut seq = start;
        for line in BufReader::with_capacity(1 << 20, f).lines() {
            if seq >= to {
                break;
            }
            let line = line.map_err(io(&path))?;
            if line.starts_with("{\"checkpoint\"") {
                continue;
            }
            let r = parse_stored(&path, seq, &line)?;
            seq += 1;
            if !visit(r)? {
                break;
            }
        }
        Ok(())
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let mut inner = self.lock();
        let base = trail_merkle::nodes_for_size(inner.start);
        let pos = node_position(level, index);
        if pos < base {
            // Proofs about the records kept need only the anchor's peaks from the pruned part.
            return inner
                .anchor
                .as_ref()
                .and_then(|a| crate::tree::anchor_peak(a, level, index))
                .ok_or(StoreError::Pruned { seq: index << level, start: inner.start });
        }
        let mut buf = [0u8; 32];
        let path = self.dir.join(TREE_FILE);
        let tree = &mut inner.tree;
        tree.seek(SeekFrom::Start((pos - base) * 32)).map_err(io(&path))?;
        tree.read_exact(&mut buf).map_err(io(&path))?;
        Ok(Hash(buf))
    }

    fn query(&self, q: &Query) -> Result<Page> {
        // One pass, holding a page: the whole log was read into memory for every page.
        let mut run = QueryRun::new(q);
        self.scan(0, u64::MAX, &mut |r| {
            run.push(r);
            Ok(true)
        })?;
        Ok(run.finish())
    }

    fn sessions(&self, q: &Query) -> Result<Vec<SessionSummary>> {
        let mut agg = Aggregate::default();
        let words = q.search_words();
        self.scan(0, u64::MAX, &mut |r| {
            if q.matches(&r, &words) {
                agg.add(&r);
            }
            Ok(true)
        })?;
        Ok(agg.into_sessions(q.page_size()))
    }

    fn stats(&self, q: &Query) -> Result<Stats> {
        let mut agg = Aggregate::default();
        let words = q.search_words();
        self.scan(0, u64::MAX, &mut |r| {
            if q.matches(&r, &words) {
                agg.add(&r);
            }
            Ok(true)
        })?;
        Ok(agg.stats)
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        Ok(self.lock().checkpoints.clone())
    }

    fn durability(&self) -> Durability {
        if self.sync_appends.load(Ordering::Relaxed) {
            Durability::Commit
        } else {
            Durability::Checkpoint
        }
    }

    fn quick_appends(&self) -> bool {
        self.durability() == Durability::Checkpoint
    }

    fn checkpoints_at_head_only(&self) -> bool {
        true
    }

    fn sync_appended(&self) -> Result<()> {
        let path = self.log_path();
        let log = self.lock().log.try_clone().map_err(io(&path))?;
        log.sync_data().map_err(io(&path))
    }

    fn set_durability(&self, durability: Durability) -> Result<()> {
        self.sync_appends.store(durability == Durability::Commit, Ordering::Relaxed);
        Ok(())
    }

    fn put_checkpoint(&self, expected_latest: Option<u64>, cp: &SignedCheckpoint) -> Result<()> {
        let size = self.state()?.size;
        let latest = self.lock().checkpoints.last().cloned();
        let store: &dyn Store = self;
        if !check_checkpoint(
            &self.origin,
            size,
            |s| store.root_at(s),
            latest.as_ref(),
            expected_latest,
            cp,
        )? {
            return Ok(());
        }
        let mut inner = self.lock();
        if inner.checkpoints.last().map(|c| c.checkpoint.size)
            != latest.as_ref().map(|c| c.checkpoint.size)
        {
            return Err(StoreError::CheckpointConflict {
                expected: expected_latest,
                found: inner.checkpoints.last().map(|c| c.checkpoint.size),
            });
        }
        if cp.checkpoint.size != inner.range.size() {
            // The export format places a checkpoint after the last record it covers; a checkpoint
            // of an older size would land in the wrong place, so the file log only takes the
            // current size.
            return Err(StoreError::BadCheckpoint {
                size: cp.checkpoint.size,
                reason: format!(
                    "the file log only stores checkpoints of its current size {}",
                    inner.range.size()
                ),
            });
        }
        let line = export::checkpoint_line(&cp.to_string()) + "\n";
        let path = self.log_path();
        let mut log = &inner.log;
        log.write_all(line.as_bytes()).and_then(|()| log.sync_data()).map_err(io(&path))?;
        inner.end += line.len() as u64;
        inner.checkpoints.push(cp.clone());
        Ok(())
    }

    fn erase(&self, seqs: &[u64]) -> Result<u64> {
        let mut inner = self.lock();
        let lines = self.all_lines()?;
        let mut erased = 0;
        let start = inner.start;
        let mut seq = start;
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            if line.starts_with("{\"record\"") {
                if seqs.contains(&seq) {
                    let mut v: serde_json::Value = serde_json::from_str(&line)
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    if let Some(m) = v.as_object_mut()
                        && m.remove("body").is_some()
                    {
                        m.remove("salt");
                        erased += 1;
                        // Keep the record bytes exactly: rebuild the line from its parts.
                        let rec = parse_stored(&self.log_path(), seq, &line)?;
                        out.push(export::record_line(&rec.canonical, &rec.hash, None));
                        seq += 1;
                        continue;
                    }
                }
                seq += 1;
            }
            out.push(line);
        }
        if erased > 0 {
            self.rewrite(&mut inner, out.into_iter())?;
        }
        Ok(erased)
    }

    fn check_derived(&self, found: &mut dyn FnMut(crate::derived::Mismatch)) -> Result<()> {
        // Queries read the records themselves; only the tree nodes are kept apart (tree.bin).
        crate::derived::check_stored_nodes(self, found)
    }

    fn prune(&self, anchor: &Anchor) -> Result<u64> {
        let mut inner = self.lock();
        if !prune_cuts(anchor, inner.start, inner.range.size())? {
            return Ok(0);
        }
        let lines = self.all_lines()?;
        let removed = anchor.size - inner.start;
        let mut seq = inner.start;
        let mut out = vec![export::anchor_line(anchor)];
        for line in lines {
            if line.starts_with("{\"anchor\"") {
                continue;
            }
            if line.starts_with("{\"record\"") {
                seq += 1;
                if seq <= anchor.size {
                    continue;
                }
            } else if line.starts_with("{\"checkpoint\"") && seq <= anchor.size {
                continue;
            }
            out.push(line);
        }
        // The node cache restarts at the anchor.
        let tree_path = self.dir.join(TREE_FILE);
        inner.tree.set_len(0).map_err(io(&tree_path))?;
        self.rewrite(&mut inner, out.into_iter())?;
        Ok(removed)
    }

    fn anchor(&self) -> Result<Option<Anchor>> {
        Ok(self.lock().anchor.clone())
    }

    fn disk_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for name in [LOG_FILE, TREE_FILE] {
            let p = self.dir.join(name);
            total += fs::metadata(&p).map_err(io(&p))?.len();
        }
        Ok(total)
    }
}

fn parse_stored(path: &Path, seq: u64, line: &str) -> Result<StoredRecord> {
    let corrupt = |reason: String| StoreError::Corrupt { path: path.to_owned(), line: 0, reason };
    match export::parse_line(line.trim_end()).map_err(|e| corrupt(e.to_string()))? {
        ExportLine::Record { canonical, body, .. } => {
            let record = Record::from_canonical(&canonical).map_err(|e| corrupt(e.to_string()))?;
            if record.seq != seq {
                return Err(corrupt(format!("expected seq {seq}, found {}", record.seq)));
            }
            let hash = trail_merkle::leaf_hash(&canonical);
            Ok(StoredRecord { seq, canonical, hash, record, body })
        }
        _ => Err(corrupt(format!("expected the record line of seq {seq}"))),
    }
}

/// Options for a file the store creates: readable by its owner only (0600), like the rest of
/// a data directory, so a rewrite (erase, prune) does not leave the log world-readable.
fn private() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}
