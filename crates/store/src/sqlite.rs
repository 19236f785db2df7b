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
//!   absent field, which no valid event has) and `session_rollup` (one [`SessionSummary`] per
//!   session), updated in the append transaction from the batch folded in memory (a batch
//!   touches few groups, so this costs a few upserts per batch). `stats` and `sessions` read
//!   them when the query filters nothing they cannot answer, instead of scanning every record;
//!   a prune rebuilds them from the records kept.
//! - `checkpoints` (compare and swap inside a transaction), `anchor` (after a prune) and `meta`
//!   (origin, schema version, FTS cursor).
//!
//! Durability: `synchronous = FULL` in WAL mode, so an append returns only after its one
//! transaction (records, bodies and nodes together) is on disk; a crash never leaves half a batch.
//! With [`Durability::Checkpoint`] appends commit with `synchronous = NORMAL` (written to the WAL,
//! not synced) and the next checkpoint's FULL commit syncs the WAL, and with it every append
//! before it; a power failure rolls back whole transactions after the last sync, never part of one.
//! Reads go to a small pool of read-only connections, which WAL lets run beside the writer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use trail_core::verify::Anchor;
use trail_core::{Body, Record, Sealed, SignedCheckpoint, Timestamp};
use trail_merkle::{CompactRange, Hash, NodeReader};

use crate::derived::{Mismatch, RecordColumns, Rollup, compare_columns, compare_rollups};
use crate::query::{HOUR_NANOS, HourBucket, duration_ms};
use crate::tree::{anchor_peak, check_batch, check_checkpoint};
use crate::{
    Durability, Page, Query, Result, SessionSummary, Stats, Store, StoreError, StoredRecord,
    TreeState,
};

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
    writer: Mutex<Writer>,
    /// Idle read-only connections (file databases only; in memory, reads use the writer).
    readers: Mutex<Vec<Connection>>,
    shared: RwLock<Shared>,
}

/// What the writer knows about the log.
struct Writer {
    conn: Connection,
    range: CompactRange,
    last_hash: Hash,
    /// First seq not yet in the search index.
    fts_next: u64,
    /// When appends are synced; everything else commits with FULL.
    durability: Durability,
}

/// What readers need without taking the writer's lock.
#[derive(Clone)]
struct Shared {
    state: TreeState,
    start: u64,
    anchor: Option<Anchor>,
}

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
        let mut w = self.writer();
        index_chunk(&mut w, max.max(1))
    }

    /// Makes every appended body searchable.
    pub fn index_all(&self) -> Result<()> {
        while self.index_pending(INDEX_CHUNK)? > 0 {}
        Ok(())
    }

    /// Appends a batch in one transaction, under the writer's lock.
    fn append_locked(&self, w: &mut Writer, batch: &[Sealed]) -> Result<()> {
        let size = w.range.size();
        check_batch(&self.origin, size, w.last_hash, batch)?;
        let mut range = w.range.clone();
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process appending to the same file would fork our view of the log.
        let stored_size: Option<i64> =
            tx.prepare_cached("SELECT max(seq) FROM records")?.query_row([], |r| r.get(0))?;
        if let Some(max) = stored_size
            && max as u64 + 1 != size
        {
            return Err(StoreError::OutOfOrder { size: max as u64 + 1, seq: batch[0].record.seq });
        }
        {
            let mut insert_record = tx.prepare_cached(
                "INSERT INTO records (seq, id, time, kind, category, action, status, agent, session, \
                 conversation, actor, source, trace_id, input_tokens, output_tokens, cost_usd, tree, canonical) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?;
            let mut insert_body =
                tx.prepare_cached("INSERT INTO bodies (seq, salt, body) VALUES (?1, ?2, ?3)")?;
            let mut tree = Vec::with_capacity(32 * 65);
            let mut rollup = Rollup::default();
            for s in batch {
                rollup.add(&s.record);
                let r = &s.record;
                let f = &r.fields;
                tree.clear();
                for (_, _, h) in range.append(s.hash) {
                    tree.extend_from_slice(h.as_bytes());
                }
                let usage = f.usage.as_ref();
                let inserted = insert_record.execute(params![
                    int(r.seq),
                    r.id,
                    r.time.unix_nanos(),
                    f.kind,
                    f.category,
                    f.action,
                    f.status,
                    f.agent,
                    f.session,
                    f.conversation,
                    f.actor,
                    f.source,
                    f.trace_id,
                    usage.and_then(|u| u.input_tokens).map(int),
                    usage.and_then(|u| u.output_tokens).map(int),
                    usage.and_then(|u| u.cost_usd),
                    tree,
                    s.canonical,
                ]);
                if let Err(e) = inserted {
                    if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
                        let existing: Option<i64> = tx
                            .query_row("SELECT seq FROM records WHERE id = ?1", [&r.id], |row| {
                                row.get(0)
                            })
                            .optional()?;
                        if let Some(seq) = existing {
                            return Err(StoreError::DuplicateId {
                                id: r.id.clone(),
                                seq: seq as u64,
                            });
                        }
                    }
                    return Err(e.into());
                }
                if let Some(b) = &s.body {
                    insert_body.execute(params![int(r.seq), b.salt, b.canonical])?;
                }
            }
            rollup.write_sqlite(&tx)?;
        }
        tx.commit()?;
        let last_hash = batch[batch.len() - 1].hash;
        let state = TreeState { size: range.size(), last_hash, root: range.root() };
        w.range = range;
        w.last_hash = last_hash;
        self.set_shared(|s| s.state = state);
        Ok(())
    }

    fn load(conn: Connection, path: Option<PathBuf>) -> Result<SqliteStore> {
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
            let nodes = ConnNodes { conn: &conn, start, size, anchor: anchor.as_ref() };
            let range = CompactRange::from_reader(&nodes, size).map_err(crate::proof_err)?;
            let last_hash = match (size > start, &anchor) {
                (true, _) => nodes.node(0, size - 1)?,
                (false, Some(a)) => a.last_hash,
                (false, None) => Hash::ZERO,
            };
            (range, last_hash)
        };
        let state = TreeState { size, last_hash, root: range.root() };
        Ok(SqliteStore {
            origin,
            path,
            writer: Mutex::new(Writer {
                conn,
                range,
                last_hash,
                fts_next: fts_next as u64,
                durability: Durability::Commit,
            }),
            readers: Mutex::new(Vec::new()),
            shared: RwLock::new(Shared { state, start, anchor }),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // Every write is one transaction that rolls back when dropped, and the cached state
        // changes only after a commit, so a panic elsewhere leaves the writer usable.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
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
        let Some(path) = &self.path else {
            let w = self.writer();
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
    json.map(|j| {
        serde_json::from_str(&j)
            .map_err(|e| StoreError::Invalid(format!("stored prune anchor: {e}")))
    })
    .transpose()
}

fn int(n: u64) -> i64 {
    // Seqs, sizes and token counts stay far below 2^63 (tokens are checked against 2^53).
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads tree nodes through one connection.
struct ConnNodes<'a> {
    conn: &'a Connection,
    start: u64,
    size: u64,
    anchor: Option<&'a Anchor>,
}

impl NodeReader for ConnNodes<'_> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let missing = || {
            StoreError::Invalid(format!(
                "node ({level}, {index}) is not in a tree of size {}",
                self.size
            ))
        };
        let last_leaf = index
            .checked_add(1)
            .and_then(|n| n.checked_shl(level))
            .filter(|n| n.trailing_zeros() >= level)
            .map(|n| n - 1)
            .ok_or_else(missing)?;
        if last_leaf >= self.size {
            return Err(missing());
        }
        if last_leaf < self.start {
            // Proofs about the records kept need only the anchor's peaks from the pruned part.
            return self
                .anchor
                .and_then(|a| anchor_peak(a, level, index))
                .ok_or(StoreError::Pruned { seq: index << level, start: self.start });
        }
        let mut stmt = self.conn.prepare_cached("SELECT tree FROM records WHERE seq = ?1")?;
        let tree: Option<Vec<u8>> = stmt.query_row([int(last_leaf)], |r| r.get(0)).optional()?;
        let at = level as usize * 32;
        tree.as_deref()
            .and_then(|t| t.get(at..at + 32))
            .and_then(|b| Hash::from_slice(b).ok())
            .ok_or_else(missing)
    }
}

/// Columns every record query selects, in the order [`stored`] reads them.
const RECORD_COLUMNS: &str = "r.seq, r.tree, r.canonical, b.salt, b.body";
const RECORD_FROM: &str = "records r LEFT JOIN bodies b ON b.seq = r.seq";

/// A record row as read, before parsing.
type RawRecord = (i64, Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

fn raw(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn stored((seq, tree, canonical, salt, body): RawRecord) -> Result<StoredRecord> {
    let seq = seq as u64;
    let corrupt = |reason: String| StoreError::Invalid(format!("stored record {seq}: {reason}"));
    let hash = tree
        .get(..32)
        .and_then(|b| Hash::from_slice(b).ok())
        .ok_or_else(|| corrupt("no leaf hash".into()))?;
    let record = Record::from_canonical(&canonical).map_err(|e| corrupt(e.to_string()))?;
    let body = match (salt, body) {
        (Some(salt), Some(canonical)) => {
            let salt: [u8; 32] =
                salt.try_into().map_err(|_| corrupt("salt is not 32 bytes".into()))?;
            Some(Body { salt, canonical })
        }
        _ => None,
    };
    Ok(StoredRecord { seq, canonical, hash, record, body })
}

fn read_records(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<StoredRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raws = stmt
        .query_map(rusqlite::params_from_iter(params), raw)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter().map(stored).collect()
}

/// Indexes the bodies of up to `max` records from the FTS cursor on; returns how many records
/// the cursor moved over.
fn index_chunk(w: &mut Writer, max: usize) -> Result<u64> {
    let size = w.range.size();
    if w.fts_next >= size {
        return Ok(0);
    }
    // The index is derived data that the next run rebuilds from the cursor, so its commits need
    // not wait for the disk: with NORMAL a power loss may lose the last index transactions, never
    // records, and the cursor is lost with them. The next FULL commit (an append) syncs the WAL
    // including these frames.
    set_synchronous(&w.conn, false)?;
    let out = (|| -> Result<u64> {
        let from = w.fts_next;
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut next = size.min(from.saturating_add(max as u64));
        {
            let mut select = tx.prepare_cached(
                "SELECT seq, body FROM bodies WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
            )?;
            let mut insert = tx.prepare_cached("INSERT INTO fts (rowid, words) VALUES (?1, ?2)")?;
            let mut rows = select.query([int(from), int(next)])?;
            let mut text = String::new();
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let body = row
                    .get_ref(1)?
                    .as_blob()
                    .map_err(|e| StoreError::Invalid(format!("stored body {seq}: {e}")))?;
                text.clear();
                push_words(&String::from_utf8_lossy(body), &mut text);
                insert.execute(params![seq, text])?;
            }
            next = next.max(from);
        }
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'fts_next'", [int(next)])?;
        tx.commit()?;
        Ok(next)
    })();
    let restore = set_synchronous(&w.conn, true);
    let next = out?;
    restore?;
    let moved = next - w.fts_next;
    w.fts_next = next;
    Ok(moved)
}

/// Appends the words of `text` as [`crate::query::words`] cuts and lowercases them, each followed
/// by a space, without allocating per word (the `ascii` tokenizer then splits exactly at the
/// spaces).
fn push_words(text: &str, out: &mut String) {
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if word.is_ascii() {
            out.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            out.push_str(&word.to_lowercase());
        }
        out.push(' ');
    }
}

/// The columns of a session summary, in the order `sessions` reads them.
const SESSION_COLUMNS: &str = "s.session, s.t_start, s.t_end, s.events, s.errors, s.denials, \
     s.input_tokens, s.output_tokens, s.cost_usd, s.last_seq, s.agent";

/// Session summaries of the records matching `cond`, most recent first, in [`SESSION_COLUMNS`]
/// order (also the column order of `session_rollup`).
fn sessions_sql(cond: &str) -> String {
    format!(
        "SELECT s.session, s.t_start, s.t_end, s.events, s.errors, s.denials, s.input_tokens, \
                s.output_tokens, s.cost_usd, s.last_seq, (SELECT agent FROM records WHERE seq = s.agent_seq) \
         FROM (SELECT r.session AS session, min(r.time) AS t_start, max(r.time) AS t_end, \
                      count(*) AS events, \
                      count(CASE WHEN r.status IN ('error', 'failed', 'failure') THEN 1 END) AS errors, \
                      count(CASE WHEN r.status IN ('denied', 'deny', 'rejected', 'blocked') THEN 1 END) AS denials, \
                      coalesce(sum(r.input_tokens), 0) AS input_tokens, \
                      coalesce(sum(r.output_tokens), 0) AS output_tokens, \
                      total(r.cost_usd) AS cost_usd, max(r.seq) AS last_seq, \
                      min(CASE WHEN r.agent IS NOT NULL THEN r.seq END) AS agent_seq \
               FROM records r WHERE r.session IS NOT NULL AND {cond} GROUP BY r.session) s \
         ORDER BY s.last_seq DESC"
    )
}

/// Counts and sums of the records matching `cond` per hour, kind, category, status and agent,
/// in `stats_rollup` column order.
fn stats_sql(cond: &str) -> String {
    format!(
        "SELECT r.time - ((r.time % {HOUR_NANOS}) + {HOUR_NANOS}) % {HOUR_NANOS} AS hour, r.kind, \
                coalesce(r.category, ''), coalesce(r.status, ''), coalesce(r.agent, ''), count(*), \
                coalesce(sum(r.input_tokens), 0), coalesce(sum(r.output_tokens), 0), total(r.cost_usd) \
         FROM records r WHERE {cond} GROUP BY 1, 2, 3, 4, 5"
    )
}

/// True when the rollups can answer `q`: no time range, no search, and filters only on `fields`.
fn rollup_answers(q: &Query, fields: &[&str]) -> bool {
    q.from.is_none()
        && q.to.is_none()
        && q.search_words().is_empty()
        && q.filters().iter().all(|(name, _)| fields.contains(name))
}

/// The filters of `q` over a rollup table aliased `s`.
fn rollup_where(q: &Query) -> Where {
    let mut w = Where { sql: String::from("1"), params: Vec::new() };
    for (column, value) in q.filters() {
        w.push(&format!("s.{column} = ?"), Value::Text(value.to_owned()));
    }
    w
}

impl Rollup {
    fn write_sqlite(&self, tx: &Connection) -> Result<()> {
        let mut stats = tx.prepare_cached(
            "INSERT INTO stats_rollup (hour, kind, category, status, agent, events, input_tokens, \
             output_tokens, cost_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT DO UPDATE SET events = events + excluded.events, \
             input_tokens = input_tokens + excluded.input_tokens, \
             output_tokens = output_tokens + excluded.output_tokens, \
             cost_usd = cost_usd + excluded.cost_usd",
        )?;
        for ((hour, kind, category, status, agent), g) in &self.groups {
            stats.execute(params![
                hour,
                kind,
                category,
                status,
                agent,
                int(g.events),
                int(g.input_tokens),
                int(g.output_tokens),
                g.cost_usd
            ])?;
        }
        let mut sessions = tx.prepare_cached(
            "INSERT INTO session_rollup (session, t_start, t_end, events, errors, denials, \
             input_tokens, output_tokens, cost_usd, last_seq, agent) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT DO UPDATE SET t_start = min(t_start, excluded.t_start), \
             t_end = max(t_end, excluded.t_end), events = events + excluded.events, \
             errors = errors + excluded.errors, denials = denials + excluded.denials, \
             input_tokens = input_tokens + excluded.input_tokens, \
             output_tokens = output_tokens + excluded.output_tokens, \
             cost_usd = cost_usd + excluded.cost_usd, last_seq = max(last_seq, excluded.last_seq), \
             agent = coalesce(agent, excluded.agent)",
        )?;
        for e in self.sessions.values() {
            sessions.execute(params![
                e.session,
                e.start.unix_nanos(),
                e.end.unix_nanos(),
                int(e.events),
                int(e.errors),
                int(e.denials),
                int(e.input_tokens),
                int(e.output_tokens),
                e.cost_usd,
                int(e.last_seq),
                e.agent
            ])?;
        }
        Ok(())
    }
}

/// A `WHERE` clause and its parameters.
struct Where {
    sql: String,
    params: Vec<Value>,
}

impl Where {
    fn new(q: &Query) -> Where {
        let mut w = Where { sql: String::from("1"), params: Vec::new() };
        if let Some(t) = q.from {
            w.push("r.time >= ?", Value::Integer(t.unix_nanos()));
        }
        if let Some(t) = q.to {
            w.push("r.time < ?", Value::Integer(t.unix_nanos()));
        }
        for (column, value) in q.filters() {
            // Column names come from `Query::filters`, a fixed list, never from the caller.
            w.push(&format!("r.{column} = ?"), Value::Text(value.to_owned()));
        }
        let words = q.search_words();
        if !words.is_empty() {
            // Each word is quoted, so the caller's text is never FTS5 syntax.
            let expr = words
                .iter()
                .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" ");
            w.push("r.seq IN (SELECT rowid FROM fts WHERE fts MATCH ?)", Value::Text(expr));
        }
        w
    }

    fn push(&mut self, cond: &str, value: Value) {
        let n = self.params.len() + 1;
        let _ = write!(self.sql, " AND {}", cond.replace('?', &format!("?{n}")));
        self.params.push(value);
    }

    fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn state(&self) -> Result<TreeState> {
        Ok(self.shared().state)
    }

    fn append(&self, batch: &[Sealed]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut w = self.writer();
        if w.durability == Durability::Commit {
            return self.append_locked(&mut w, batch);
        }
        // Synced by the next checkpoint's FULL commit: syncing the write-ahead log covers every
        // frame before it. NORMAL still commits atomically; a power failure can only roll back
        // whole transactions after the last sync.
        set_synchronous(&w.conn, false)?;
        let out = self.append_locked(&mut w, batch);
        set_synchronous(&w.conn, true)?;
        out
    }

    fn durability(&self) -> Durability {
        self.writer().durability
    }

    fn quick_appends(&self) -> bool {
        self.durability() == Durability::Checkpoint
    }

    fn set_durability(&self, durability: Durability) -> Result<()> {
        self.writer().durability = durability;
        Ok(())
    }

    fn find_ids(&self, ids: &[&str]) -> Result<Vec<StoredRecord>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.id = ?1");
        self.read(|conn| {
            let mut out = Vec::new();
            for id in ids {
                out.extend(read_records(conn, &sql, &[Value::Text((*id).to_owned())])?);
            }
            Ok(out)
        })
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.seq = ?1");
        Ok(self.read(|conn| read_records(conn, &sql, &[Value::Integer(int(seq))]))?.pop())
    }

    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(StoredRecord) -> Result<bool>,
    ) -> Result<()> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.seq >= ?1 AND r.seq < ?2 \
             ORDER BY r.seq LIMIT {SCAN_CHUNK}"
        );
        let mut next = from;
        while next < to {
            let chunk = self.read(|conn| {
                read_records(conn, &sql, &[Value::Integer(int(next)), Value::Integer(int(to))])
            })?;
            let Some(last) = chunk.last() else { break };
            next = last.seq + 1;
            let full = chunk.len() == SCAN_CHUNK;
            for r in chunk {
                if !visit(r)? {
                    return Ok(());
                }
            }
            if !full {
                break;
            }
        }
        Ok(())
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let shared = self.shared();
        self.read(|conn| {
            ConnNodes {
                conn,
                start: shared.start,
                size: shared.state.size,
                anchor: shared.anchor.as_ref(),
            }
            .node(level, index)
        })
    }

    fn query(&self, q: &Query) -> Result<Page> {
        if !q.search_words().is_empty() {
            self.catch_up()?;
        }
        let limit = q.page_size();
        let cond = Where::new(q);
        let mut page_params = cond.params.clone();
        let mut page_sql = format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE {}", cond.sql);
        if let Some(c) = q.cursor {
            let op = if q.ascending { ">" } else { "<" };
            let _ = write!(page_sql, " AND r.seq {op} ?{}", page_params.len() + 1);
            page_params.push(Value::Integer(int(c)));
        }
        let order = if q.ascending { "ASC" } else { "DESC" };
        let _ = write!(page_sql, " ORDER BY r.seq {order} LIMIT {}", limit + 1);
        let count_sql = if cond.is_empty() {
            // Seqs are contiguous, so counting them all needs two index lookups, not a scan.
            "SELECT coalesce((SELECT max(seq) FROM records) - (SELECT min(seq) FROM records) + 1, 0)"
                .to_owned()
        } else {
            format!("SELECT count(*) FROM records r WHERE {}", cond.sql)
        };
        let (mut records, total) = self.read(|conn| {
            // One read transaction, so the page and the total see the same records.
            let tx = conn.unchecked_transaction()?;
            let records = read_records(&tx, &page_sql, &page_params)?;
            let total: i64 = tx
                .prepare_cached(&count_sql)?
                .query_row(rusqlite::params_from_iter(&cond.params), |r| r.get(0))?;
            Ok((records, total as u64))
        })?;
        let more = records.len() > limit;
        records.truncate(limit);
        let next_cursor = if more { records.last().map(|r| r.seq) } else { None };
        Ok(Page { records, next_cursor, total })
    }

    fn sessions(&self, q: &Query) -> Result<Vec<SessionSummary>> {
        let limit = q.page_size();
        let (sql, params) = if rollup_answers(q, &["session"]) {
            let cond = rollup_where(q);
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM session_rollup s WHERE {} \
                 ORDER BY s.last_seq DESC LIMIT {limit}",
                cond.sql
            );
            (sql, cond.params)
        } else {
            if !q.search_words().is_empty() {
                self.catch_up()?;
            }
            let cond = Where::new(q);
            (format!("{} LIMIT {limit}", sessions_sql(&cond.sql)), cond.params)
        };
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(&params), session_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn stats(&self, q: &Query) -> Result<Stats> {
        let (sql, params) = if rollup_answers(q, &["kind", "category", "status", "agent"]) {
            let cond = rollup_where(q);
            let sql = format!(
                "SELECT s.hour, s.kind, s.category, s.status, s.agent, s.events, s.input_tokens, \
                        s.output_tokens, s.cost_usd FROM stats_rollup s WHERE {}",
                cond.sql
            );
            (sql, cond.params)
        } else {
            if !q.search_words().is_empty() {
                self.catch_up()?;
            }
            let cond = Where::new(q);
            (stats_sql(&cond.sql), cond.params)
        };
        type Group = (i64, String, String, String, String, i64, i64, i64, f64);
        let groups: Vec<Group> = self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(&params), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut s = Stats::default();
        let mut hours: BTreeMap<i64, HourBucket> = BTreeMap::new();
        for (hour, kind, category, status, agent, n, inp, out, cost) in groups {
            let (n, inp, out) = (n as u64, inp as u64, out as u64);
            s.events += n;
            *s.by_kind.entry(kind).or_default() += n;
            for (map, key) in [
                (&mut s.by_category, category),
                (&mut s.by_status, status),
                (&mut s.by_agent, agent),
            ] {
                // '' stands for an absent field (see the schema).
                if !key.is_empty() {
                    *map.entry(key).or_default() += n;
                }
            }
            let h = hours.entry(hour).or_default();
            h.events += n;
            h.input_tokens += inp;
            h.output_tokens += out;
            h.cost_usd += cost;
            s.input_tokens += inp;
            s.output_tokens += out;
            s.cost_usd += cost;
        }
        s.per_hour = hours
            .into_iter()
            .map(|(h, b)| (Timestamp::from_unix_nanos(h).to_string(), b))
            .collect();
        Ok(s)
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        let notes: Vec<String> = self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT note FROM checkpoints ORDER BY size")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        notes
            .iter()
            .map(|n| {
                SignedCheckpoint::parse(n)
                    .map_err(|e| StoreError::Invalid(format!("stored checkpoint: {e}")))
            })
            .collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        let note: Option<String> = self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")?;
            Ok(stmt.query_row([], |r| r.get(0)).optional()?)
        })?;
        note.map(|n| {
            SignedCheckpoint::parse(&n)
                .map_err(|e| StoreError::Invalid(format!("stored checkpoint: {e}")))
        })
        .transpose()
    }

    fn put_checkpoint(&self, expected_latest: Option<u64>, cp: &SignedCheckpoint) -> Result<()> {
        let mut w = self.writer();
        let shared = self.shared();
        let size = w.range.size();
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let latest: Option<String> = tx
            .prepare_cached("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        let latest = latest
            .map(|n| {
                SignedCheckpoint::parse(&n)
                    .map_err(|e| StoreError::Invalid(format!("stored checkpoint: {e}")))
            })
            .transpose()?;
        let nodes =
            ConnNodes { conn: &tx, start: shared.start, size, anchor: shared.anchor.as_ref() };
        let root_at = |s: u64| trail_merkle::root(&nodes, s).map_err(crate::proof_err);
        if check_checkpoint(&self.origin, size, root_at, latest.as_ref(), expected_latest, cp)? {
            tx.execute(
                "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                params![int(cp.checkpoint.size), cp.to_string()],
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    fn erase(&self, seqs: &[u64]) -> Result<u64> {
        let mut w = self.writer();
        let fts_next = w.fts_next;
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut erased = 0;
        {
            let mut delete_body = tx.prepare_cached("DELETE FROM bodies WHERE seq = ?1")?;
            let mut delete_words = tx.prepare_cached("DELETE FROM fts WHERE rowid = ?1")?;
            for &seq in seqs {
                if delete_body.execute([int(seq)])? > 0 {
                    erased += 1;
                    if seq < fts_next {
                        delete_words.execute([int(seq)])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(erased)
    }

    fn check_derived(&self, found: &mut dyn FnMut(Mismatch)) -> Result<()> {
        let mut check = |conn: &Connection| {
            // One read transaction: the records and the rollups as of one moment.
            conn.execute_batch("BEGIN")?;
            let result = check_derived_in(conn, found);
            let _ = conn.execute_batch("COMMIT");
            result
        };
        match &self.path {
            // A read-only connection of its own, without `query_only`: reading the search index
            // needs an `fts5vocab` table in the connection's temp schema.
            Some(path) => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags)?;
                conn.pragma_update(None, "temp_store", "MEMORY")?;
                conn.pragma_update(None, "busy_timeout", 5_000)?;
                check(&conn)
            }
            None => check(&self.writer().conn),
        }
    }

    fn prune(&self, anchor: &Anchor) -> Result<u64> {
        let mut w = self.writer();
        let shared = self.shared();
        let size = w.range.size();
        if anchor.size <= shared.start {
            return Ok(0);
        }
        if anchor.size > size {
            return Err(StoreError::Invalid(format!(
                "cannot prune to {} records: the log has {size}",
                anchor.size
            )));
        }
        let fts_next = w.fts_next;
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            // The anchor replaces the pruned records in every later proof, so it must be theirs.
            let nodes =
                ConnNodes { conn: &tx, start: shared.start, size, anchor: shared.anchor.as_ref() };
            let range = CompactRange::from_reader(&nodes, anchor.size).map_err(crate::proof_err)?;
            let last = nodes.node(0, anchor.size - 1)?;
            if range.peaks() != anchor.peaks.as_slice() || last != anchor.last_hash {
                return Err(StoreError::Invalid(format!(
                    "the prune anchor of size {} does not match the stored tree",
                    anchor.size
                )));
            }
        }
        let cut = int(anchor.size);
        tx.execute(
            "DELETE FROM fts WHERE rowid IN (SELECT seq FROM bodies WHERE seq < ?1 AND seq < ?2)",
            [cut, int(fts_next)],
        )?;
        tx.execute("DELETE FROM bodies WHERE seq < ?1", [cut])?;
        let removed = tx.execute("DELETE FROM records WHERE seq < ?1", [cut])? as u64;
        tx.execute("DELETE FROM checkpoints WHERE size < ?1", [cut])?;
        // The rollups summarize the records kept: rebuild them (a prune is rare).
        tx.execute_batch(&format!(
            "DELETE FROM stats_rollup; INSERT INTO stats_rollup {}; \
             DELETE FROM session_rollup; INSERT INTO session_rollup {};",
            stats_sql("1"),
            sessions_sql("1")
        ))?;
        let json = serde_json::to_string(anchor).map_err(|e| StoreError::Invalid(e.to_string()))?;
        tx.execute(
            "INSERT OR REPLACE INTO anchor (id, size, json) VALUES (0, ?1, ?2)",
            params![cut, json],
        )?;
        let next = fts_next.max(anchor.size);
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'fts_next'", [int(next)])?;
        tx.commit()?;
        w.fts_next = next;
        self.set_shared(|s| {
            s.start = anchor.size;
            s.anchor = Some(anchor.clone());
        });
        Ok(removed)
    }

    fn anchor(&self) -> Result<Option<Anchor>> {
        Ok(self.shared().anchor)
    }

    fn disk_bytes(&self) -> Result<u64> {
        let Some(path) = &self.path else { return Ok(0) };
        let mut total = 0;
        for p in [path.clone(), wal_path(path)] {
            match std::fs::metadata(&p) {
                Ok(m) => total += m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { path: p, source }),
            }
        }
        Ok(total)
    }
}

fn wal_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// A session summary read in [`SESSION_COLUMNS`] order.
fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionSummary> {
    let start = Timestamp::from_unix_nanos(r.get(1)?);
    let end = Timestamp::from_unix_nanos(r.get(2)?);
    Ok(SessionSummary {
        session: r.get(0)?,
        agent: r.get(10)?,
        start,
        end,
        duration_ms: duration_ms(start, end),
        events: r.get::<_, i64>(3)? as u64,
        errors: r.get::<_, i64>(4)? as u64,
        denials: r.get::<_, i64>(5)? as u64,
        input_tokens: r.get::<_, i64>(6)? as u64,
        output_tokens: r.get::<_, i64>(7)? as u64,
        cost_usd: r.get(8)?,
        last_seq: r.get::<_, i64>(9)? as u64,
    })
}

/// [`Store::check_derived`] inside one read transaction: every `records` row against its
/// canonical bytes, then both rollup tables against the fold of the records.
fn check_derived_in(conn: &Connection, found: &mut dyn FnMut(Mismatch)) -> Result<()> {
    let mut rollup = Rollup::default();
    // The tree nodes each row stores (proofs and receipts are built from them), recomputed from
    // the records' hashes from the anchor on.
    let anchor = read_anchor(conn)?;
    let mut range = match &anchor {
        Some(a) => CompactRange::from_parts(a.size, a.peaks.clone())
            .map_err(|e| StoreError::Invalid(format!("the stored anchor: {e}")))?,
        None => CompactRange::new(),
    };
    let mut tree_ok = true;
    let mut stmt = conn.prepare(
        "SELECT seq, id, time, kind, category, action, status, agent, session, conversation, \
         actor, source, trace_id, input_tokens, output_tokens, cost_usd, canonical, tree \
         FROM records WHERE seq >= ?1 ORDER BY seq LIMIT 4096",
    )?;
    let mut next: i64 = 0;
    loop {
        let mut rows = stmt.query([next])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            n += 1;
            let seq: i64 = row.get(0)?;
            next = seq + 1;
            let canonical: Vec<u8> = row.get(16)?;
            if tree_ok {
                let stored: Vec<u8> = row.get(17)?;
                let expected: Vec<u8> = range
                    .append(trail_merkle::leaf_hash(&canonical))
                    .iter()
                    .flat_map(|(_, _, h)| h.as_bytes().to_vec())
                    .collect();
                if stored != expected {
                    // One problem: every node above this one differs with it.
                    tree_ok = false;
                    found(Mismatch {
                        seq: u64::try_from(seq).ok(),
                        table: "records.tree".into(),
                        message: format!(
                            "the tree nodes stored with record {seq} are not those its hash \
                             makes: proofs and receipts built from them would not verify"
                        ),
                    });
                }
            }
            // A record that does not parse is the verifier's to report, with its hash.
            let Ok(record) = Record::from_canonical(&canonical) else { continue };
            let cols = RecordColumns {
                seq: u64::try_from(seq).unwrap_or(0),
                id: row.get(1)?,
                time: row.get(2)?,
                kind: row.get(3)?,
                category: row.get(4)?,
                action: row.get(5)?,
                status: row.get(6)?,
                agent: row.get(7)?,
                session: row.get(8)?,
                conversation: row.get(9)?,
                actor: row.get(10)?,
                source: row.get(11)?,
                trace_id: row.get(12)?,
                input_tokens: row.get(13)?,
                output_tokens: row.get(14)?,
                cost_usd: row.get(15)?,
            };
            compare_columns(&cols, &record, found);
            rollup.add(&record);
        }
        if n < 4096 {
            break;
        }
    }
    let stats = conn
        .prepare(
            "SELECT hour, kind, category, status, agent, events, input_tokens, output_tokens, \
             cost_usd FROM stats_rollup",
        )?
        .query_map([], |r| {
            Ok((
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                HourBucket {
                    events: r.get::<_, i64>(5)?.try_into().unwrap_or(0),
                    input_tokens: r.get::<_, i64>(6)?.try_into().unwrap_or(0),
                    output_tokens: r.get::<_, i64>(7)?.try_into().unwrap_or(0),
                    cost_usd: r.get(8)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let sessions = conn
        .prepare(&format!("SELECT {SESSION_COLUMNS} FROM session_rollup s"))?
        .query_map([], session_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    compare_rollups(&rollup, stats, sessions, found);
    check_search_index(conn, found)
}

/// The search index against the bodies: each indexed record must be found by exactly the words
/// of its body (a missing entry hides it from `--search`; an extra one makes it turn up for
/// words it does not hold), and the index cursor must not skip ahead of the log. The index is
/// contentless, so its (word, record) pairs are read through `fts5vocab`.
fn check_search_index(conn: &Connection, found: &mut dyn FnMut(Mismatch)) -> Result<()> {
    use std::collections::BTreeSet;
    let fts_next: i64 =
        conn.query_row("SELECT value FROM meta WHERE key = 'fts_next'", [], |r| r.get(0))?;
    let size: i64 =
        conn.query_row("SELECT coalesce(max(seq) + 1, 0) FROM records", [], |r| r.get(0))?;
    if fts_next > size.max(0) && size > 0 {
        found(Mismatch {
            seq: None,
            table: "meta.fts_next".into(),
            message: format!(
                "the search index cursor is at {fts_next}, beyond the log's {size} records: records \
                 appended from now on would never be indexed"
            ),
        });
    }
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_pairs USING fts5vocab(main, 'fts', 'instance')",
    )?;
    let mut bodies = conn.prepare("SELECT seq, body FROM bodies WHERE seq < ?1 ORDER BY seq")?;
    let mut pairs = conn.prepare("SELECT doc, term FROM temp.fts_pairs ORDER BY doc")?;
    let mut bodies = bodies.query([fts_next])?;
    let mut pairs = pairs.query([])?;
    let mut pending: Option<(i64, String)> = None;
    let mut next_pair = |pending: &mut Option<(i64, String)>| -> Result<Option<(i64, String)>> {
        if let Some(p) = pending.take() {
            return Ok(Some(p));
        }
        Ok(match pairs.next()? {
            Some(r) => Some((r.get(0)?, r.get(1)?)),
            None => None,
        })
    };
    let mut report = |seq: i64, message: String| {
        found(Mismatch { seq: u64::try_from(seq).ok(), table: "fts".into(), message });
    };
    loop {
        let body = match bodies.next()? {
            Some(r) => {
                let seq: i64 = r.get(0)?;
                let text =
                    String::from_utf8_lossy(r.get_ref(1)?.as_blob().unwrap_or(&[])).into_owned();
                Some((seq, text))
            }
            None => None,
        };
        // Index entries of records before this body (or after the last one): no body holds them.
        let until = body.as_ref().map_or(i64::MAX, |(seq, _)| *seq);
        let mut stray: Option<i64> = None;
        while let Some((doc, term)) = next_pair(&mut pending)? {
            if doc >= until {
                pending = Some((doc, term));
                break;
            }
            if stray != Some(doc) {
                report(
                    doc,
                    format!(
                        "the search index finds record {doc} (for {term:?}, ...) but it has no body to hold those words"
                    ),
                );
                stray = Some(doc);
            }
        }
        let Some((seq, text)) = body else { break };
        let mut words = String::new();
        push_words(&text, &mut words);
        let want: BTreeSet<&str> = words.split(' ').filter(|w| !w.is_empty()).collect();
        let mut have: BTreeSet<String> = BTreeSet::new();
        while let Some((doc, term)) = next_pair(&mut pending)? {
            if doc != seq {
                pending = Some((doc, term));
                break;
            }
            have.insert(term);
        }
        let missing: Vec<&&str> = want.iter().filter(|w| !have.contains(**w)).take(3).collect();
        let extra: Vec<&String> =
            have.iter().filter(|w| !want.contains(w.as_str())).take(3).collect();
        if !missing.is_empty() {
            report(
                seq,
                format!(
                    "the search index lacks words of record {seq}'s body ({missing:?}...): a search for them misses it"
                ),
            );
        }
        if !extra.is_empty() {
            report(
                seq,
                format!(
                    "the search index finds record {seq} for words its body does not hold ({extra:?}...)"
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::push_words;
    use crate::query::words;

    fn check(text: &str) {
        let mut out = String::new();
        push_words(text, &mut out);
        let got: Vec<&str> = out.split(' ').filter(|w| !w.is_empty()).collect();
        assert_eq!(got, words(text), "text {text:?}");
    }

    #[test]
    fn ascii() {
        check(r#"{"text":"Event number 7 says HELLO, needle!\nDone"}"#);
    }

    #[test]
    fn unicode_letters_digits_and_case() {
        check("Ünïcødé ΣΊΣΥΦΟΣ straße İstanbul ǅemal ٣٤ 東京タワー x²");
    }

    #[test]
    fn nothing_but_separators() {
        check(" -- !! \"\" ");
        check("");
    }
}
