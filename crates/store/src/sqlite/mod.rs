//! The SQLite backend: one database file in WAL mode, the embedded default.
//!
//! Schema (see [`SCHEMA`]):
//!
//! - `records`: one row per record, `seq` as the rowid, the exact canonical bytes (`canonical`,
//!   a BLOB returned byte for byte and never re-serialized), the filterable fields as columns
//!   (`time` as i64 Unix nanoseconds) and `tree`: the record's leaf hash followed by the hashes of
//!   the perfect subtrees the leaf completes, lowest first. Node `(level, index)` is therefore the
//!   32 bytes at `32 * level` of the `tree` of its last leaf `((index + 1) << level) - 1`, so a
//!   proof costs O(log n) point reads and appending writes no extra rows.
//! - `bodies`: salt and canonical body bytes per seq, apart from the record so erasure deletes
//!   them (and their search entry) while the record and the tree stay intact.
//! - `fts`: a contentless FTS5 index over each body's words. The words are cut and lowercased
//!   in Rust exactly as [`crate::query::words`] cuts them (the rule the in-memory evaluator
//!   uses), and FTS5's `ascii` tokenizer only splits them again at the spaces between them, so
//!   search means exactly what it means in [`crate::query`]. Indexing runs outside the append
//!   transaction (it costs as much as the append itself): `meta.fts_next` is the first seq not
//!   yet indexed, and [`SqliteStore::index_pending`] (called by the recorder when idle, and by
//!   `query` before it searches) catches up. A crash loses no index entry: the cursor commits
//!   with the entries.
//! - `stats_rollup` (counts and sums per hour, kind, category, status and agent; `''` for an
//!   absent field, which no valid event has) and `session_rollup` (one [`SessionSummary`](crate::SessionSummary) per
//!   session), updated in the append transaction from the batch folded in memory (a batch
//!   touches few groups, so this costs a few upserts per batch). `stats` and `sessions` read
//!   them when the query filters nothing they cannot answer, instead of scanning every record;
//!   a prune rebuilds them from the records kept.
//! - `checkpoints` (compare and swap inside a transaction), `anchor` (after a prune) and `meta`
//!   (origin, schema version, FTS cursor).
//!
//! Durability: a small batch is durable once its frame is in the append journal (`journal.rs`:
//! one in-place write and one `fdatasync`), and a drainer thread commits journaled records to the
//! database behind the acknowledgement; a large batch commits with `synchronous = FULL` in WAL
//! mode, in one transaction (records, bodies and nodes together), so a crash never leaves half a
//! batch. With [`Durability::Checkpoint`] neither is synced when it is written, and the next
//! checkpoint syncs everything before it (it commits the journaled records to the database with
//! FULL first). Every read, checkpoint, erase and prune commits the journaled records first, so
//! this store's readers see every acknowledged record; other processes see them once drained
//! (within about 100 ms).
//! Reads go to a small pool of read-only connections, which WAL lets run beside the writer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use trail_core::Sealed;
use trail_core::verify::Anchor;
use trail_merkle::{CompactRange, Hash, NodeReader};

use crate::sql::{Where, parse_anchor};
use crate::{Durability, Query, Result, StoreError};

mod append;
use append::{drain, drain_in_background, index_chunk, recover};
mod check;
mod ids;
mod journal;
use journal::Journal;
mod read;
mod store;

use read::{conn_nodes, with_search};

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// The tables and indexes of a new log.
pub const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    category TEXT,
    action TEXT,
    status TEXT,
    agent TEXT,
    session TEXT,
    conversation TEXT,
    actor TEXT,
    source TEXT,
    trace_id TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cost_usd REAL,
    tree BLOB NOT NULL,
    canonical BLOB NOT NULL
);
CREATE UNIQUE INDEX records_id ON records (id);
CREATE INDEX records_session ON records (session) WHERE session IS NOT NULL;
CREATE INDEX records_kind ON records (kind, status);
CREATE INDEX records_agent ON records (agent) WHERE agent IS NOT NULL;
CREATE TABLE bodies (seq INTEGER PRIMARY KEY, salt BLOB NOT NULL, body BLOB NOT NULL);
CREATE VIRTUAL TABLE fts USING fts5 (
    words, content = '', contentless_delete = 1, detail = none, tokenize = 'ascii'
);
CREATE TABLE stats_rollup (
    hour INTEGER NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    agent TEXT NOT NULL,
    events INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    PRIMARY KEY (hour, kind, category, status, agent)
) WITHOUT ROWID;
CREATE TABLE session_rollup (
    session TEXT PRIMARY KEY,
    t_start INTEGER NOT NULL,
    t_end INTEGER NOT NULL,
    events INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    denials INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    last_seq INTEGER NOT NULL,
    agent TEXT
);
CREATE INDEX session_rollup_recent ON session_rollup (last_seq);
CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE anchor (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    size INTEGER NOT NULL,
    json TEXT NOT NULL
);
";

/// Page size of new databases.
const PAGE_SIZE: i64 = 16_384;

/// Read-only connections kept open for reuse.
const READERS: usize = 4;

/// Records read per step of a scan, so no read transaction stays open while the caller works.
const SCAN_CHUNK: usize = 1024;

/// Bodies indexed per transaction when catching up.
const INDEX_CHUNK: usize = 10_000;

/// The SQLite backend.
pub struct SqliteStore {
    origin: String,
    /// The database file; `None` in memory.
    path: Option<PathBuf>,
    /// Its write-ahead log.
    wal: Option<PathBuf>,
    /// The database's writer: what is committed to the database.
    writer: Arc<Mutex<Writer>>,
    /// The log's head: what is appended, journaled or committed.
    head: Arc<HeadLock>,
    /// Idle read-only connections (file databases only; in memory, reads use the writer).
    readers: Mutex<Vec<Connection>>,
    shared: RwLock<Shared>,
    /// The thread that commits journaled records to the database.
    drainer: Option<std::thread::JoinHandle<()>>,
}

/// What the database's writer knows: its connection and the tree of the records it holds.
struct Writer {
    conn: Connection,
    range: CompactRange,
    last_hash: Hash,
    /// First seq not yet in the search index.
    fts_next: u64,
}

/// The log's head, ahead of the database by the journaled records not yet committed to it.
pub(super) struct Head {
    range: CompactRange,
    last_hash: Hash,
    /// When appends are synced; everything else commits with FULL.
    durability: Durability,
    /// The append journal, when this store holds it (file databases).
    journal: Option<Journal>,
    /// Why this store does not append (another process holds the journal, or writing it failed).
    refused: Option<String>,
    /// Journaled records not yet committed to the database, in order.
    pending: Vec<Arc<Sealed>>,
    pending_ids: ids::JournaledIds,
    /// Whether the drainer stops.
    stop: bool,
    /// Whether the drainer waits (a test's way to hold records in the journal).
    paused: bool,
}

/// The head under its lock, the drainer's wake-up, and how many records wait for the database
/// (read without the lock).
pub(super) struct HeadLock {
    head: Mutex<Head>,
    wake: Condvar,
    pending: AtomicUsize,
}

impl HeadLock {
    fn lock(&self) -> MutexGuard<'_, Head> {
        self.head.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What readers need without taking the writer's lock.
#[derive(Clone)]
struct Shared {
    /// The tree: its root is computed when [`Store::state`] asks (appends would otherwise hash
    /// the peaks on every record, about 1 µs each).
    range: trail_merkle::CompactRange,
    last_hash: Hash,
    start: u64,
    anchor: Option<Anchor>,
}

/// Journaled records at which the drainer commits them without waiting for its linger.
const DRAIN_AT: usize = 512;

/// How long journaled records wait for more before the drainer commits them, so that other
/// processes reading the database see them soon.
const DRAIN_LINGER: std::time::Duration = std::time::Duration::from_millis(100);

impl SqliteStore {
    /// Creates a new log database at `path` (which must not exist) for `origin`.
    pub fn create(path: &Path, origin: &str) -> Result<SqliteStore> {
        if path.exists() {
            return Err(StoreError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the file already exists",
                ),
            });
        }
        let mut conn = Connection::open(path)?;
        // Set before the first table exists. 16 KiB pages cut the WAL frames, system calls and
        // b-tree splits per appended record (measured: about 25 % less CPU per append than 4 KiB).
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        configure_writer(&conn, true)?;
        init_schema(&mut conn, origin)?;
        drop(conn);
        SqliteStore::open(path)
    }

    /// Opens the log database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if !path.exists() {
            return Err(StoreError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no log database here"),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        configure_writer(&conn, true)?;
        SqliteStore::load(conn, Some(path.to_owned()))
    }

    /// An empty log in memory, for tests.
    pub fn open_in_memory(origin: &str) -> Result<SqliteStore> {
        let mut conn = Connection::open_in_memory()?;
        configure_writer(&conn, false)?;
        init_schema(&mut conn, origin)?;
        SqliteStore::load(conn, None)
    }

    /// Indexes up to `max` bodies that are not yet searchable; returns how many records it
    /// covered (0 when the index is complete). The recorder calls this when idle so that
    /// searching never has much to catch up on.
    pub fn index_pending(&self, max: usize) -> Result<u64> {
        let mut w = self.writer()?;
        index_chunk(&mut w, max.max(1))
    }

    /// Makes every appended body searchable.
    pub fn index_all(&self) -> Result<()> {
        while self.index_pending(INDEX_CHUNK)? > 0 {}
        Ok(())
    }

    fn load(conn: Connection, path: Option<PathBuf>) -> Result<SqliteStore> {
        let mut refused = None;
        let version: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0))
            .optional()?
            .ok_or_else(|| {
                StoreError::Invalid("not a trail log database (no schema version)".into())
            })?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::Invalid(format!(
                "log database schema {version} is not supported \
                 (this trail reads schema {SCHEMA_VERSION})"
            )));
        }
        // Logs made before the agent index existed get it (once; a no-op afterwards). "Newest
        // events of agent X" is the most common question, and without it counts scan the log.
        if path.is_some() {
            conn.execute_batch(
                "CREATE INDEX IF NOT EXISTS records_agent ON records (agent) WHERE agent IS NOT NULL",
            )?;
        }
        let origin: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'origin'", [], |r| r.get(0))?;
        let fts_next: i64 =
            conn.query_row("SELECT value FROM meta WHERE key = 'fts_next'", [], |r| r.get(0))?;
        let anchor = read_anchor(&conn)?;
        let start = anchor.as_ref().map_or(0, |a| a.size);
        let max_seq: Option<i64> =
            conn.query_row("SELECT max(seq) FROM records", [], |r| r.get(0))?;
        let size = max_seq.map_or(start, |m| m as u64 + 1);
        let (range, last_hash) = {
            let nodes = conn_nodes(&conn, start, size, anchor.as_ref());
            let range = CompactRange::from_reader(&nodes, size).map_err(crate::proof_err)?;
            let last_hash = match (size > start, &anchor) {
                (true, _) => nodes.node(0, size - 1)?,
                (false, Some(a)) => a.last_hash,
                (false, None) => Hash::ZERO,
            };
            (range, last_hash)
        };
        let journal = match &path {
            Some(p) => match Journal::open(p) {
                Ok(Some(j)) => Some(j),
                Err(e @ StoreError::Io { .. }) => {
                    // A read-only or full disk: append straight to the database, unless the
                    // journal holds acknowledged records the database lacks.
                    let held = journal::records_from(p, size)?;
                    if held > 0 {
                        return Err(StoreError::Invalid(format!(
                            "the append journal holds {held} acknowledged records that are not \
                             yet in the database, and it cannot be opened for writing ({e}): \
                             open the log once where it is writable"
                        )));
                    }
                    None
                }
                Err(e) => return Err(e),
                Ok(None) => {
                    refused = Some(format!(
                        "another process is appending to this log (it holds {}); this one only \
                         reads it",
                        journal::journal_path(p).display()
                    ));
                    None
                }
            },
            None => None,
        };
        let mut writer = Writer { conn, range, last_hash, fts_next: fts_next as u64 };
        let journal = match journal {
            Some(mut j) => {
                recover(&origin, &mut writer, &mut j)?;
                Some(j)
            }
            None => None,
        };
        let (range, last_hash) = (writer.range.clone(), writer.last_hash);
        let tree = range.clone();
        let has_journal = journal.is_some();
        let head = Arc::new(HeadLock {
            head: Mutex::new(Head {
                range,
                last_hash,
                durability: Durability::Commit,
                journal,
                refused,
                pending: Vec::new(),
                pending_ids: ids::JournaledIds::default(),
                stop: false,
                paused: false,
            }),
            wake: Condvar::new(),
            pending: AtomicUsize::new(0),
        });
        let writer = Arc::new(Mutex::new(writer));
        let drainer = if has_journal {
            let (head, writer, origin) = (head.clone(), writer.clone(), origin.clone());
            let wal = path.as_deref().map(wal_path);
            Some(
                std::thread::Builder::new()
                    .name("trail-sqlite-drain".into())
                    .spawn(move || drain_in_background(&origin, &head, &writer, wal.as_deref()))
                    .map_err(|source| StoreError::Io {
                        path: path.clone().unwrap_or_default(),
                        source,
                    })?,
            )
        } else {
            None
        };
        Ok(SqliteStore {
            origin,
            wal: path.as_deref().map(wal_path),
            path,
            writer,
            head,
            readers: Mutex::new(Vec::new()),
            shared: RwLock::new(Shared { range: tree, last_hash, start, anchor }),
            drainer,
        })
    }

    /// Commits every journaled record to the database file, so that other processes reading it
    /// see them (they do within about 10 ms anyway).
    pub fn commit_journal(&self) -> Result<()> {
        self.drain(true)
    }

    /// Stops or restarts the drainer: while it is paused, journaled records reach the database
    /// only when this store reads or the journal is full. For crash tests.
    #[doc(hidden)]
    pub fn pause_drainer(&self, paused: bool) {
        self.head.lock().paused = paused;
        self.head.wake.notify_all();
    }

    /// Commits every journaled record to the database, synced when `sync` (then the journal
    /// can start again).
    fn drain(&self, sync: bool) -> Result<()> {
        if self.head.pending.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        drain(&self.origin, &self.head, &self.writer, self.wal.as_deref().filter(|_| sync))
    }

    /// The database's writer, once every journaled record is committed to it.
    fn writer(&self) -> Result<MutexGuard<'_, Writer>> {
        self.drain(true)?;
        Ok(lock_writer(&self.writer))
    }

    fn shared(&self) -> Shared {
        self.shared.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_shared(&self, f: impl FnOnce(&mut Shared)) {
        f(&mut self.shared.write().unwrap_or_else(PoisonError::into_inner));
    }

    /// Runs `f` on a read-only connection (the writer's, in memory). `f` must not call back into
    /// the store.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.drain(false)?;
        self.read_database(f)
    }

    /// Runs `f` on a read-only connection without committing journaled records first: it sees
    /// the database, not the journal.
    fn read_database<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let Some(path) = &self.path else {
            let w = lock_writer(&self.writer);
            return f(&w.conn);
        };
        let idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(c) => c,
            None => open_reader(path)?,
        };
        let out = f(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < READERS {
            idle.push(conn);
        }
        out
    }

    /// Indexes every body appended so far, so a search sees all of them.
    fn catch_up(&self) -> Result<()> {
        self.index_all()
    }

    /// `w` with `q`'s search added, once the index has caught up.
    fn searched(&self, w: Where, q: &Query) -> Result<Where> {
        if !q.search_words().is_empty() {
            self.catch_up()?;
        }
        Ok(with_search(w, q))
    }
}

/// Sets the writer's `synchronous` level through a cached statement (appends switch it per batch
/// when durability is [`Durability::Checkpoint`]).
fn set_synchronous(conn: &Connection, full: bool) -> Result<()> {
    let sql = if full { "PRAGMA synchronous = FULL" } else { "PRAGMA synchronous = NORMAL" };
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn configure_writer(conn: &Connection, file: bool) -> Result<()> {
    if file {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Invalid(format!(
                "sqlite refused WAL mode (journal mode is {mode})"
            )));
        }
    }
    // FULL, not NORMAL: in WAL mode NORMAL skips the fsync at commit, so the last transactions
    // could vanish on power loss after `append` acknowledged them.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // Erasure must not leave a body's bytes in free space inside the file. Appends only insert,
    // so this costs nothing on the hot path.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    // After a burst the WAL is cut back to this size at the next checkpoint.
    conn.pragma_update(None, "journal_size_limit", 64 << 20)?;
    conn.pragma_update(None, "busy_timeout", 5_000)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn open_reader(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.pragma_update(None, "busy_timeout", 5_000)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn init_schema(conn: &mut Connection, origin: &str) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('schema', ?1), ('origin', ?2), ('fts_next', 0)",
        params![SCHEMA_VERSION, origin],
    )?;
    tx.commit()?;
    Ok(())
}

fn read_anchor(conn: &Connection) -> Result<Option<Anchor>> {
    let json: Option<String> =
        conn.query_row("SELECT json FROM anchor WHERE id = 0", [], |r| r.get(0)).optional()?;
    json.map(|j| parse_anchor(&j)).transpose()
}

/// The database's writer. Every write is one transaction that rolls back when dropped, and the
/// cached state changes only after a commit, so a panic elsewhere leaves the writer usable.
fn lock_writer(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    writer.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for SqliteStore {
    /// Stops the drainer and commits what it left, so the database alone holds the whole log.
    fn drop(&mut self) {
        if let Some(drainer) = self.drainer.take() {
            self.head.lock().stop = true;
            self.head.wake.notify_all();
            let _ = drainer.join();
            let _ = self.drain(true);
        }
    }
}

fn wal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}
