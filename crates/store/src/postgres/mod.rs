//! The PostgreSQL backend: each log in its own schema of a shared database, written by whichever
//! process holds the log's sequencer lease.
//!
//! Schema (see [`SCHEMA`]), one PostgreSQL schema per log, named after the origin by
//! [`schema_for_origin`] unless given:
//!
//! - `records`: one row per record, the exact canonical bytes as `bytea` (returned byte for
//!   byte), the filterable fields as columns (`time` as bigint Unix nanoseconds, as in SQLite)
//!   and `tree`: the leaf hash followed by the hashes of the perfect subtrees the leaf completes,
//!   so node `(level, index)` is 32 bytes of one row and a proof costs O(log n) point reads.
//!   A unique index on `id` refuses a duplicate inside the append transaction.
//! - `bodies`: salt and canonical body bytes per seq, apart from the record so erasure deletes
//!   them (and their search entry) while the record and the tree stay intact.
//! - `words`: per body, a `tsvector` of its words cut and lowercased in Rust exactly as
//!   [`crate::query::words`] cuts them (sorted, distinct, no positions), with a GIN index. A
//!   search is `words @@ 'w1' & 'w2'` of the quoted words, so PostgreSQL never stems, drops stop
//!   words or re-tokenizes: search means what it means in [`crate::query`]. A word longer than a
//!   lexeme may be (2047 bytes) is stored and searched as `#` and the hex of its hash (no real
//!   word contains `#`); a body whose distinct words exceed what one `tsvector` holds (1 MiB)
//!   keeps them in parts in `words_overflow` instead, which a search consults first (it is empty
//!   unless such a body was ever stored). Indexing runs outside the append transaction, because
//!   a GIN insert of some 60 words costs several times the rest of an append (measured: about
//!   30 µs a body): `search_cursor.next` is the first seq not yet indexed, and
//!   [`PostgresStore::index_pending`] (called by `query` before it searches, and by anyone who
//!   wants searches to stay cheap) catches up, in transactions that commit the entries and the
//!   cursor together, so a crash loses no entry.
//! - `stats_rollup` and `session_rollup`: counts and sums per hour/kind/category/status/agent and
//!   per session, upserted in the append transaction from the batch folded in memory, exactly as
//!   the SQLite backend keeps them; `stats` and `sessions` read them when they can.
//! - `state`: one row, the log's head (size, last leaf hash, root, first kept seq). Every append
//!   locks it (`FOR UPDATE`) and re-checks that its batch continues that head, so appenders are
//!   serialised by the database and two writers can never fork the log, whatever they cached.
//! - `lease`: one row, the sequencer lease: holder, expiry (the database's clock) and `epoch`, a
//!   fencing token bumped by every acquisition. See [`PostgresStore::try_acquire`].
//! - `checkpoints` (compare and swap under the `state` lock), `anchor` (after a prune), `meta`.
//!
//! Appends: one transaction per batch: lock the head and check the lease, then binary `COPY` of
//! the records and bodies (encoded here, not through per-value `ToSql` calls), two multi-row
//! upserts for the rollups, and the new head. `synchronous_commit` is set on for every
//! connection, so an append returns only after its commit is on the server's disk (with
//! [`Durability::Checkpoint`] an append commits with `synchronous_commit` off, and the next
//! checkpoint's synchronous commit flushes the server's WAL up to and past it).
//!
//! Connections: each lives on a thread of its own (see `conn`), so the store may be called from
//! any thread, including one that drives async tasks. One connection writes; a small pool reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use ::postgres::Row;
use ::postgres::error::SqlState;
use trail_core::verify::Anchor;
use trail_merkle::{CompactRange, Hash};

use crate::sql::{Param, int, parse_anchor, uint};
use crate::{Durability, Result, StoreError};

mod append;
mod conn;
mod copy;
mod lease;
mod read;
mod schema;
mod search;
mod store;

pub use conn::application_name;
use conn::{Conn, Pool, Session, Settings};
pub use lease::{LeaseInfo, LeaseToken};
use read::{NODE_SQL, hash_col, session_nodes, typed};
/// The binary `COPY` rows of `batch`'s records (a log's first records, from seq 0), exactly as an
/// append encodes them; public only for the benchmark that holds this encoder against the
/// `postgres` crate's `BinaryCopyInWriter` (`benches/postgres.rs`, group `copy_encoding`).
#[doc(hidden)]
pub fn encode_records_for_bench(batch: &[trail_core::Sealed]) -> Vec<u8> {
    copy::encode(batch, &mut CompactRange::new(), Hash::ZERO).records
}

pub use schema::{
    SCHEMA, SCHEMA_VERSION, dangerous_drop_schema, is_schema_name, schema_for_origin,
    scratch_schema,
};
use search::{INDEX_CHUNK, index_chunk};

/// The PostgreSQL backend.
pub struct PostgresStore {
    origin: String,
    schema: String,
    pool: Pool,
    writer: Mutex<Writer>,
    shared: RwLock<Shared>,
    /// The lease this store appends under, once acquired through it.
    fence: Mutex<Option<LeaseToken>>,
    drop_on_drop: bool,
}

/// What the writer knows about the log (checked against `state` in every append).
struct Writer {
    conn: Option<Conn>,
    range: CompactRange,
    last_hash: Hash,
    durability: Durability,
}

/// The prune anchor as last read.
#[derive(Clone, Default)]
struct Shared {
    start: u64,
    anchor: Option<Anchor>,
}

impl PostgresStore {
    /// Creates a new log for `origin` at `url`, in the schema [`schema_for_origin`] names.
    pub fn create(url: &str, origin: &str) -> Result<PostgresStore> {
        PostgresStore::create_in(url, &schema_for_origin(origin), origin)
    }

    /// Creates a new log for `origin` in `schema`, which must not exist.
    pub fn create_in(url: &str, schema: &str, origin: &str) -> Result<PostgresStore> {
        let settings = settings(url, schema)?;
        let conn = Conn::open(&settings)?;
        let (schema_name, origin_text) = (schema.to_owned(), origin.to_owned());
        conn.run(move |s| {
            let exists: bool = s
                .client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                    &[&schema_name],
                )
                .map_err(pg_err)?
                .get(0);
            if exists {
                return Err(StoreError::Invalid(format!(
                    "schema {schema_name:?} already exists; open the log in it instead"
                )));
            }
            let mut tx = s.client.transaction().map_err(pg_err)?;
            tx.batch_execute(&format!(
                "CREATE SCHEMA \"{schema_name}\"; SET LOCAL search_path TO \"{schema_name}\"; {SCHEMA}"
            ))
            .map_err(pg_err)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', $1), ('origin', $2)",
                &[&SCHEMA_VERSION.to_string(), &origin_text],
            )
            .map_err(pg_err)?;
            tx.execute(
                "INSERT INTO state (id, size, start, last_hash, root) VALUES (0, 0, 0, $1, $2)",
                &[&Hash::ZERO.as_bytes().as_slice(), &trail_merkle::empty_root().as_bytes().as_slice()],
            )
            .map_err(pg_err)?;
            tx.execute("INSERT INTO lease (id, epoch) VALUES (0, 0)", &[]).map_err(pg_err)?;
            tx.execute("INSERT INTO search_cursor (id, next) VALUES (0, 0)", &[])
                .map_err(pg_err)?;
            tx.commit().map_err(pg_err)
        })?;
        PostgresStore::load(settings, Some(conn), Some(origin))
    }

    /// Opens the log whose schema is `origin_or_schema` (when such a schema exists) or else the
    /// one [`schema_for_origin`] names for that origin.
    pub fn open(url: &str, origin_or_schema: &str) -> Result<PostgresStore> {
        if is_schema_name(origin_or_schema) {
            let settings = settings(url, origin_or_schema)?;
            let conn = Conn::open(&settings)?;
            let name = origin_or_schema.to_owned();
            let exists = conn.run(move |s| {
                let row = s
                    .client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                        &[&name],
                    )
                    .map_err(pg_err)?;
                Ok(row.get::<_, bool>(0))
            })?;
            if exists {
                return PostgresStore::load(settings, Some(conn), None);
            }
        }
        let settings = settings(url, &schema_for_origin(origin_or_schema))?;
        PostgresStore::load(settings, None, Some(origin_or_schema))
    }

    /// Opens the log in `schema`.
    pub fn open_in(url: &str, schema: &str) -> Result<PostgresStore> {
        PostgresStore::load(settings(url, schema)?, None, None)
    }

    /// Drops the log's schema when the store is dropped: for tests, which must clean up even
    /// when they fail.
    pub fn dangerous_drop_on_drop(mut self) -> PostgresStore {
        self.drop_on_drop = true;
        self
    }

    /// The schema the log lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Indexes up to `max` bodies that are not yet searchable (fewer when they are large);
    /// returns how many records the cursor moved over, 0 when the index is complete. Searching
    /// calls it first; calling it when idle keeps searches from having much to catch up on.
    pub fn index_pending(&self, max: usize) -> Result<u64> {
        let max = int(max.max(1) as u64);
        self.pool.run(move |s| index_chunk(s, max))
    }

    /// Makes every appended body searchable.
    pub fn index_all(&self) -> Result<()> {
        while self.index_pending(INDEX_CHUNK)? > 0 {}
        Ok(())
    }

    /// Refreshes the planner's statistics and the visibility map of the log's tables.
    /// Autovacuum does the same on its own schedule; call it after a bulk load, so the first
    /// queries are planned on real row counts.
    pub fn vacuum_analyze(&self) -> Result<()> {
        self.pool.run(|s| {
            s.client
                .batch_execute("VACUUM (ANALYZE) records, bodies, words, session_rollup")
                .map_err(pg_err)
        })
    }

    fn load(
        settings: Arc<Settings>,
        conn: Option<Conn>,
        expected_origin: Option<&str>,
    ) -> Result<PostgresStore> {
        let conn = match conn {
            Some(c) => c,
            None => Conn::open(&settings)?,
        };
        let schema = settings.schema.clone();
        let schema_name = schema.clone();
        let (origin, shared) = conn.run(move |s| {
            let meta = s
                .client
                .query(
                    "SELECT key, value FROM meta WHERE key IN ('schema', 'origin') \
                     AND to_regclass('meta') IS NOT NULL",
                    &[],
                )
                .map_err(|e| match e.code() {
                    Some(&SqlState::UNDEFINED_TABLE) => no_log(&schema_name),
                    _ => pg_err(e),
                })?;
            let meta: HashMap<String, String> = meta.iter().map(|r| (r.get(0), r.get(1))).collect();
            let (Some(version), Some(origin)) = (meta.get("schema"), meta.get("origin")) else {
                return Err(no_log(&schema_name));
            };
            if version != &SCHEMA_VERSION.to_string() {
                return Err(StoreError::Invalid(format!(
                    "log schema version {version} in {schema_name:?} is not supported \
                     (this trail reads version {SCHEMA_VERSION})"
                )));
            }
            // Logs made before exporter cursors were kept with the log get the table; a role
            // that may not create tables leaves it to the owner (the exporter then keeps its
            // cursor in the data directory only).
            let _ = s.client.batch_execute(
                "CREATE TABLE IF NOT EXISTS exporter_cursors (name text PRIMARY KEY, next bigint NOT NULL)",
            );
            Ok((origin.clone(), read_shared(s)?))
        })?;
        if let Some(expected) = expected_origin
            && expected != origin
        {
            return Err(StoreError::Invalid(format!(
                "schema {schema:?} holds the log {origin:?}, not {expected:?}"
            )));
        }
        let pool = Pool::new(settings);
        let store = PostgresStore {
            origin,
            schema,
            pool,
            writer: Mutex::new(Writer {
                conn: Some(conn),
                range: CompactRange::new(),
                last_hash: Hash::ZERO,
                durability: Durability::Commit,
            }),
            shared: RwLock::new(shared),
            fence: Mutex::new(None),
            drop_on_drop: false,
        };
        {
            let mut w = store.writer();
            store.reload(&mut w)?;
        }
        Ok(store)
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // The cached state changes only after a commit, so a panic elsewhere leaves it valid.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shared(&self) -> Shared {
        self.shared.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The prune anchor for a log whose first kept seq is `start`, re-read if it moved (another
    /// process pruned).
    fn shared_at(&self, start: u64) -> Result<Shared> {
        let cached = self.shared();
        if cached.start == start {
            return Ok(cached);
        }
        let fresh = self.pool.run(read_shared)?;
        *self.shared.write().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }

    /// Re-reads the head and the compact range from the database (on open, and when another
    /// process appended since this one last did).
    fn reload(&self, w: &mut Writer) -> Result<()> {
        let (range, last_hash, shared) = writer_conn(w, &self.pool)?.run(|s| {
            let shared = read_shared(s)?;
            let head = s
                .client
                .query_one("SELECT size, last_hash, root FROM state WHERE id = 0", &[])
                .map_err(pg_err)?;
            let size = uint(head.get(0));
            let last_hash = hash_col(&head, 1)?;
            let root = hash_col(&head, 2)?;
            let stmt = s.stmts.get(&mut s.client, NODE_SQL)?;
            let range = {
                let anchor = shared.anchor.as_ref();
                let nodes = session_nodes(&mut s.client, stmt, shared.start, size, anchor);
                CompactRange::from_reader(&nodes, size).map_err(crate::proof_err)?
            };
            if range.root() != root {
                return Err(StoreError::Invalid(format!(
                    "the stored tree of size {size} has root {} but the log's head names {root}",
                    range.root()
                )));
            }
            Ok((range, last_hash, shared))
        })?;
        w.range = range;
        w.last_hash = last_hash;
        *self.shared.write().unwrap_or_else(PoisonError::into_inner) = shared;
        Ok(())
    }

    /// Runs a query built from a caller's filters (planned for its own values, not cached).
    fn query_rows(&self, sql: String, params: Vec<Param>) -> Result<Vec<Row>> {
        self.pool.run(move |s| {
            let typed = typed(&params);
            s.client.query_typed(&sql, &typed).map_err(pg_err)
        })
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("origin", &self.origin)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if !self.drop_on_drop {
            return;
        }
        self.pool.clear();
        self.writer().conn.take();
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        let dropped = Conn::open(&self.pool.settings)
            .and_then(|c| c.run(move |s| s.client.batch_execute(&sql).map_err(pg_err)));
        if let Err(e) = dropped {
            // A test's leftover schema is worth a line on stderr; there is no caller to tell.
            eprintln!("trail: could not drop the scratch schema {}: {e}", self.schema);
        }
    }
}

fn settings(url: &str, schema: &str) -> Result<Arc<Settings>> {
    if !is_schema_name(schema) {
        return Err(StoreError::Invalid(format!(
            "{schema:?} is not a schema name: use lowercase letters, digits and _ (at most 63)"
        )));
    }
    Ok(Arc::new(Settings { url: url.to_owned(), schema: schema.to_owned() }))
}

fn no_log(schema: &str) -> StoreError {
    StoreError::Invalid(format!("schema {schema:?} holds no trail log"))
}

/// The writer's connection, reopened if it broke.
fn writer_conn<'a>(w: &'a mut Writer, pool: &Pool) -> Result<&'a Conn> {
    if w.conn.as_ref().is_none_or(Conn::is_broken) {
        let conn = Conn::open(&pool.settings)?;
        // The writer only appends, which takes milliseconds. A node frozen in the middle of a
        // `COPY` (the server waits for its data, so the session is not idle) would hold the
        // head's lock until this ends the statement.
        conn.run(|s| {
            s.client
                .batch_execute(&format!(
                    "SET statement_timeout TO {}",
                    WRITER_STATEMENT_TIMEOUT.as_millis()
                ))
                .map_err(pg_err)
        })?;
        w.conn = Some(conn);
    }
    w.conn.as_ref().ok_or_else(|| StoreError::Postgres("no writer connection".into()))
}

/// The longest an append statement may run on the writer's connection.
const WRITER_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Maps a client error, naming the server's message and SQLSTATE.
pub(crate) fn pg_err(e: ::postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Postgres(format!(
            "{} (sqlstate {}{})",
            db.message(),
            db.code().code(),
            db.detail().map(|d| format!(", {d}")).unwrap_or_default()
        )),
        // The client's own text ("error communicating with the server") keeps the reason, such
        // as the server closing the connection, in its source.
        None => StoreError::Postgres(match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        }),
    }
}

fn read_shared(s: &mut Session) -> Result<Shared> {
    let row = s
        .client
        .query_one(
            "SELECT s.start, a.json FROM state s LEFT JOIN anchor a ON a.id = 0 WHERE s.id = 0",
            &[],
        )
        .map_err(pg_err)?;
    let start = uint(row.get(0));
    let anchor = row.get::<_, Option<String>>(1).map(|j| parse_anchor(&j)).transpose()?;
    Ok(Shared { start, anchor })
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// Records read per step of a scan, so no transaction stays open while the caller works.
const SCAN_CHUNK: i64 = 1024;

#[cfg(test)]
mod tests {
    use super::append::HEAD_SQL;
    use super::*;
    use crate::Store;

    /// A node frozen inside a transaction (GC pause, SIGSTOP, suspended VM) holds the head's
    /// lock; the server must end its session so another writer can append.
    #[test]
    fn a_session_frozen_inside_a_transaction_does_not_block_the_log() {
        let url = std::env::var("TRAIL_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = scratch_schema("trail_frozen");
        let store = match PostgresStore::create_in(&url, &schema, crate::conformance::ORIGIN) {
            Ok(s) => s.dangerous_drop_on_drop(),
            Err(_) if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") => return,
            Err(e) => panic!("no PostgreSQL at {url}: {e}"),
        };
        // One of trail's sessions locks the head as an append does, then goes quiet.
        let frozen = Conn::open(&store.pool.settings).expect("connect");
        frozen
            .run(|s| s.client.batch_execute(&format!("BEGIN; {HEAD_SQL}")).map_err(pg_err))
            .expect("lock the head");
        let other = Arc::new(PostgresStore::open(&url, &schema).expect("open"));
        let (done, appended) = std::sync::mpsc::channel();
        let writer = other.clone();
        std::thread::spawn(move || {
            let batch =
                crate::conformance::seal(&*writer, &[serde_json::json!({"kind": "message"})]);
            let _ = done.send(writer.append(&batch));
        });
        // Without the server-side timeout this waits for as long as the session is frozen.
        let waited = conn::IDLE_IN_TRANSACTION * 12;
        let result = appended.recv_timeout(waited).unwrap_or_else(|_| {
            panic!("the append still waited for the frozen session after {waited:?}")
        });
        result.expect("the append goes through once the frozen session is ended");
        assert_eq!(other.state().expect("state").size, 1);
        // The frozen session is gone: its next statement fails instead of committing anything.
        let after = frozen.run(|s| s.client.batch_execute("COMMIT").map_err(pg_err));
        assert!(after.is_err(), "the frozen session survived: {after:?}");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(conn::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(conn::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
