//! Storage for one trail log: the [`Store`] trait and its backends.
//!
//! A store keeps records exactly as the sequencer sealed them (it returns the canonical bytes it
//! was given and never re-serializes a record), their bodies and salts, the perfect-subtree nodes
//! of the Merkle tree (so a proof costs O(log n) reads), and the signed checkpoints. It refuses an
//! append that does not continue the log (wrong seq or `prev`), so two writers can never fork it,
//! and it refuses a checkpoint whose root is not the root of its own records at that size.
//!
//! Backends: [`file::FileStore`] (append-only JSON Lines, portable, the export format itself),
//! [`sqlite::SqliteStore`] (the embedded default), `postgres::PostgresStore` (behind the feature
//! of that name: one schema per log in a shared PostgreSQL database, with a sequencer lease) and
//! [`memory::MemoryStore`] (bounded, for tests and embedding). Every backend passes the same
//! conformance suite (the `conformance` module, behind the feature of that name).
//!
//! The store knows nothing of HTTP, the recorder or the command line; it reads no clock.

use std::path::PathBuf;

use serde::Serialize;
use trail_core::note::NoteSignature;
use trail_core::verify::Anchor;
use trail_core::{Body, Record, Sealed, SignedCheckpoint};
use trail_merkle::Hash;

pub mod derived;
pub mod file;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod query;
mod sql;
pub mod sqlite;
pub mod tiles;
mod tree;
pub mod verify;

pub use verify::verify_store;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use query::{Page, Query, SessionSummary, Stats};

/// A record as stored: canonical bytes, leaf hash, parsed record and body (if not erased).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub seq: u64,
    pub canonical: Vec<u8>,
    pub hash: Hash,
    pub record: Record,
    pub body: Option<Body>,
}

impl StoredRecord {
    /// Builds a stored record from what the sequencer sealed.
    pub fn from_sealed(s: &Sealed) -> StoredRecord {
        StoredRecord {
            seq: s.record.seq,
            canonical: s.canonical.clone(),
            hash: s.hash,
            record: s.record.clone(),
            body: s.body.clone(),
        }
    }

    /// True when the record had a body that has been erased.
    pub fn is_erased(&self) -> bool {
        self.record.body_digest.is_some() && self.body.is_none()
    }
}

/// Where appending resumes: the size, the last leaf hash and the compact range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeState {
    pub size: u64,
    pub last_hash: Hash,
    pub root: Hash,
}

/// Storage errors. Messages name the values involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("sqlite: {}", describe_sqlite(.0))]
    Sqlite(#[from] rusqlite::Error),
    #[error("append out of order: the log has {size} records but the batch starts at seq {seq}")]
    OutOfOrder { size: u64, seq: u64 },
    #[error("append would fork the log: record {seq} names prev {found} but record {} hashes to {expected}", seq.saturating_sub(1))]
    Fork { seq: u64, expected: Hash, found: Hash },
    #[error("record {seq} belongs to log {found:?}, not {expected:?}")]
    WrongOrigin { seq: u64, expected: String, found: String },
    #[error("id {id:?} already exists at seq {seq}")]
    DuplicateId { id: String, seq: u64 },
    #[error("checkpoint of size {size} does not match the stored records: {reason}")]
    BadCheckpoint { size: u64, reason: String },
    #[error(
        "checkpoint conflict: expected the latest checkpoint to have size {expected:?}, found {found:?}"
    )]
    CheckpointConflict { expected: Option<u64>, found: Option<u64> },
    #[error(
        "{path}: line {line} is incomplete ({bytes} bytes after the last newline); the process stopped mid-write and that event was never acknowledged. Run `trail repair` to move it aside"
    )]
    TornTail { path: PathBuf, line: u64, bytes: u64 },
    #[error("{path}: line {line} is not a valid log line: {reason}")]
    Corrupt { path: PathBuf, line: u64, reason: String },
    #[error("seq {seq} is beyond the log size {size}")]
    NoSuchSeq { seq: u64, size: u64 },
    #[error("seq {seq} was pruned (the log starts at {start})")]
    Pruned { seq: u64, start: u64 },
    #[error("the memory store is full ({capacity} records)")]
    Full { capacity: usize },
    #[error("postgres: {0}")]
    Postgres(String),
    #[error(
        "the sequencer lease of epoch {epoch} is lost: the log's lease is now at epoch {current}, so another writer took over"
    )]
    LeaseLost { epoch: u64, current: u64 },
    #[error(
        "the log's sequencer lease is held by {holder:?} (epoch {epoch}): append through that writer or wait for its lease to end"
    )]
    LeaseHeld { holder: String, epoch: u64 },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SQLite's own text for I/O failures ("disk I/O error") does not say which; the extended code
/// does, so name it and what usually causes it.
fn describe_sqlite(e: &rusqlite::Error) -> String {
    use rusqlite::ffi;
    let rusqlite::Error::SqliteFailure(err, _) = e else { return e.to_string() };
    let hint = match err.extended_code {
        ffi::SQLITE_IOERR_WRITE => {
            "a write to the database or its WAL failed: the disk may be full or the file larger than allowed"
        }
        ffi::SQLITE_IOERR_FSYNC | ffi::SQLITE_IOERR_DIR_FSYNC => {
            "fsync failed: the device could not make the write durable"
        }
        ffi::SQLITE_IOERR_TRUNCATE => "truncating a file failed",
        ffi::SQLITE_IOERR_SHMMAP | ffi::SQLITE_IOERR_SHMSIZE | ffi::SQLITE_IOERR_SHMOPEN => {
            "the WAL index (-shm file) could not be mapped: the directory may be read-only or full"
        }
        ffi::SQLITE_FULL => "the disk is full",
        ffi::SQLITE_READONLY | ffi::SQLITE_READONLY_DIRECTORY | ffi::SQLITE_READONLY_RECOVERY => {
            "the database or its directory is read-only"
        }
        ffi::SQLITE_CANTOPEN => "the file cannot be opened: check the path and permissions",
        ffi::SQLITE_CORRUPT => "the database file is corrupt",
        _ => return e.to_string(),
    };
    format!("{e} ({hint})")
}

/// When an appended batch reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every append is synced to disk before it returns (the default): an acknowledged record
    /// survives a power failure.
    #[default]
    Commit,
    /// Appends are written (to the operating system, or to PostgreSQL without waiting for its
    /// WAL flush) and synced together by the next stored checkpoint, which syncs before it
    /// returns. An acknowledged record survives a crash of trail; a power failure (or, on
    /// PostgreSQL, a server crash) may lose the records appended since the last checkpoint, never
    /// a checkpoint or a record it covers, so the log can never fork from a signed checkpoint.
    Checkpoint,
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "commit" => Ok(Durability::Commit),
            "checkpoint" => Ok(Durability::Checkpoint),
            other => Err(format!("unknown durability {other:?}: use \"commit\" or \"checkpoint\"")),
        }
    }
}

/// One log's storage.
pub trait Store: Send + Sync {
    /// A short name of the backend, e.g. `sqlite`.
    fn backend(&self) -> &'static str;

    /// The log's origin, fixed at creation.
    fn origin(&self) -> &str;

    /// Size, last leaf hash and root.
    fn state(&self) -> Result<TreeState>;

    /// Appends a batch atomically: all of it or none, on disk as [`Store::set_durability`] says
    /// (by default before it returns). The batch must continue the log (first seq = size, each
    /// `prev` = the previous hash) and carry new ids only.
    fn append(&self, batch: &[Sealed]) -> Result<()>;

    /// Appends one record as [`Store::append`] does, giving it back with the error when it is
    /// refused. A store that keeps what it appends (SQLite's journaled records, until they reach
    /// the database) takes it without a copy.
    fn append_one(&self, sealed: Sealed) -> std::result::Result<(), Box<(StoreError, Sealed)>> {
        match self.append(std::slice::from_ref(&sealed)) {
            Ok(()) => Ok(()),
            Err(e) => Err(Box::new((e, sealed))),
        }
    }

    /// Exporter `name`'s cursor (the first seq not yet delivered), kept with the log by stores
    /// that several nodes share (PostgreSQL), so the node that takes over exporting resumes
    /// where the last one stopped. Stores of one node keep none (`None`): the cursor file in the
    /// data directory is the only one.
    fn exporter_cursor(&self, _name: &str) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Saves exporter `name`'s cursor with the log, never moving it back; nothing for stores of
    /// one node (see [`Store::exporter_cursor`]).
    fn set_exporter_cursor(&self, _name: &str, _next: u64) -> Result<()> {
        Ok(())
    }

    /// Sets when appends reach the disk (checkpoints, erasures and prunes are always synced
    /// before they return).
    fn set_durability(&self, durability: Durability) -> Result<()>;

    /// When appends reach the disk.
    fn durability(&self) -> Durability;

    /// Whether an append returns without waiting for a disk or a network: a local store whose
    /// appends are not synced. The recorder then appends small batches on its own task, or a
    /// lone event on the caller's, instead of handing them to a blocking thread.
    fn quick_appends(&self) -> bool {
        false
    }

    /// Whether [`Store::put_checkpoint`] takes only a checkpoint of the store's current size
    /// (the files store, whose export format places a checkpoint after the last record it
    /// covers). The recorder then appends nothing while it signs and stores one.
    fn checkpoints_at_head_only(&self) -> bool {
        false
    }

    /// Syncs what is appended so far, without holding up appends for the sync (a store whose
    /// [`Store::put_checkpoint`] syncs may do most of that work here first, so the checkpoint's
    /// own sync, with appends waiting, is short). Does nothing by default.
    fn sync_appended(&self) -> Result<()> {
        Ok(())
    }

    /// Finds the records with these ids (for idempotent appends).
    fn find_ids(&self, ids: &[&str]) -> Result<Vec<StoredRecord>>;

    /// The record at `seq`.
    fn get(&self, seq: u64) -> Result<Option<StoredRecord>>;

    /// Visits records in `[from, to)` in seq order without loading them all.
    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(StoredRecord) -> Result<bool>,
    ) -> Result<()>;

    /// Visits the canonical bytes of the records in `[from, to)` in seq order, nothing else (no
    /// body, nothing parsed): what a tile's entry bundle holds. The SQL stores read just that
    /// column.
    fn entries(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.scan(from, to, &mut |r| {
            visit(r.seq, &r.canonical)?;
            Ok(true)
        })
    }

    /// The hash of the perfect subtree (level, index).
    fn node(&self, level: u32, index: u64) -> Result<Hash>;

    /// The hashes of the perfect subtrees `(level, index)` for `index` in `indexes` (a hash
    /// tile's row). The SQL stores read them in one go.
    fn nodes(&self, level: u32, indexes: std::ops::Range<u64>) -> Result<Vec<Hash>> {
        indexes.map(|i| self.node(level, i)).collect()
    }

    /// Records matching the query, newest first or oldest first, with a keyset cursor.
    fn query(&self, q: &Query) -> Result<Page>;

    /// Sessions matching the query's filters.
    fn sessions(&self, q: &Query) -> Result<Vec<SessionSummary>>;

    /// Counts and sums over the records matching the query's filters.
    fn stats(&self, q: &Query) -> Result<Stats>;

    /// Every stored checkpoint, oldest first.
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>>;

    /// Stores a checkpoint if the latest stored one still has size `expected_latest` (compare and
    /// swap) and its root is the root of the stored records at its size.
    fn put_checkpoint(&self, expected_latest: Option<u64>, cp: &SignedCheckpoint) -> Result<()>;

    /// Adds witnesses' cosignatures to the stored checkpoint of `size`, which must sign `root`
    /// (a cosignature of another tree head is refused); a witness's newer cosignature replaces
    /// its older one. Returns how many were added or replaced. The caller has verified them.
    fn add_cosignatures(&self, size: u64, root: &Hash, sigs: &[NoteSignature]) -> Result<usize> {
        let _ = (size, root, sigs);
        Err(StoreError::Invalid(format!(
            "the {} store keeps no witness cosignatures: use the sqlite or postgres store",
            self.backend()
        )))
    }

    /// Deletes the bodies and salts of these seqs; returns how many bodies were deleted.
    fn erase(&self, seqs: &[u64]) -> Result<u64>;

    /// Removes records below `anchor.size`, keeping the anchor; returns how many were removed.
    fn prune(&self, anchor: &Anchor) -> Result<u64>;

    /// Holds everything the store derived from the records (filter columns, rollups) to the
    /// signed records, calling `found` for each row that differs. A store that derives what
    /// queries read from the records as it reads them (files, memory) has nothing to check.
    fn check_derived(&self, found: &mut dyn FnMut(derived::Mismatch)) -> Result<()> {
        let _ = found;
        Ok(())
    }

    /// The prune anchor, if the log was pruned.
    fn anchor(&self) -> Result<Option<Anchor>>;

    /// The latest stored checkpoint. Proofs, receipts and every checkpoint the recorder signs
    /// ask for it: the SQL stores answer with one indexed read, not by parsing every checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        Ok(self.checkpoints()?.pop())
    }

    /// Bytes the log takes on disk (0 for memory).
    fn disk_bytes(&self) -> Result<u64>;
}

impl dyn Store + '_ {
    /// The first seq still stored.
    pub fn start(&self) -> Result<u64> {
        Ok(self.anchor()?.map_or(0, |a| a.size))
    }

    /// The record with this id.
    pub fn find_id(&self, id: &str) -> Result<Option<StoredRecord>> {
        Ok(self.find_ids(&[id])?.pop())
    }

    /// The root of the first `size` records.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        trail_merkle::root(&Nodes(self), size).map_err(proof_err)
    }

    /// An inclusion proof of `index` in the tree of `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        trail_merkle::inclusion_proof(&Nodes(self), index, size).map_err(proof_err)
    }

    /// A consistency proof from `size1` to `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>> {
        trail_merkle::consistency_proof(&Nodes(self), size1, size2).map_err(proof_err)
    }
}

/// Adapts a store to the Merkle crate's node reader.
pub struct Nodes<'a>(pub &'a dyn Store);

impl trail_merkle::NodeReader for Nodes<'_> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        self.0.node(level, index)
    }
}

fn proof_err(e: trail_merkle::ProofError<StoreError>) -> StoreError {
    match e {
        trail_merkle::ProofError::Read { source, .. } => source,
        other => StoreError::Invalid(other.to_string()),
    }
}
