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

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::{ToSql, Type};
use ::postgres::{GenericClient, Row, Statement};
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

mod conn;

pub use conn::application_name;
use conn::{Conn, Pool, Session, Settings, Stmts};

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// The tables of a new log, created inside its own schema.
pub const SCHEMA: &str = "
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE exporter_cursors (name text PRIMARY KEY, next bigint NOT NULL);
CREATE TABLE state (
    id int PRIMARY KEY CHECK (id = 0),
    size bigint NOT NULL,
    start bigint NOT NULL,
    last_hash bytea NOT NULL,
    root bytea NOT NULL
);
CREATE TABLE lease (
    id int PRIMARY KEY CHECK (id = 0),
    epoch bigint NOT NULL,
    holder text,
    expires timestamptz
);
CREATE TABLE records (
    seq bigint PRIMARY KEY,
    id text NOT NULL,
    time bigint NOT NULL,
    kind text NOT NULL,
    category text,
    action text,
    status text,
    agent text,
    session text,
    conversation text,
    actor text,
    source text,
    trace_id text,
    input_tokens bigint,
    output_tokens bigint,
    cost_usd double precision,
    tree bytea NOT NULL,
    canonical bytea NOT NULL
);
CREATE UNIQUE INDEX records_id ON records (id);
CREATE INDEX records_session ON records (session) WHERE session IS NOT NULL;
CREATE TABLE bodies (seq bigint PRIMARY KEY, salt bytea NOT NULL, body bytea NOT NULL);
CREATE TABLE words (seq bigint PRIMARY KEY, words tsvector NOT NULL);
CREATE INDEX words_search ON words USING gin (words);
CREATE TABLE search_cursor (id int PRIMARY KEY CHECK (id = 0), next bigint NOT NULL);
CREATE TABLE words_overflow (
    seq bigint NOT NULL,
    part int NOT NULL,
    words tsvector NOT NULL,
    PRIMARY KEY (seq, part)
);
CREATE TABLE stats_rollup (
    hour bigint NOT NULL,
    kind text NOT NULL,
    category text NOT NULL,
    status text NOT NULL,
    agent text NOT NULL,
    events bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cost_usd double precision NOT NULL,
    PRIMARY KEY (hour, kind, category, status, agent)
);
CREATE TABLE session_rollup (
    session text PRIMARY KEY,
    t_start bigint NOT NULL,
    t_end bigint NOT NULL,
    events bigint NOT NULL,
    errors bigint NOT NULL,
    denials bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cost_usd double precision NOT NULL,
    last_seq bigint NOT NULL,
    agent text
);
CREATE INDEX session_rollup_recent ON session_rollup (last_seq);
CREATE TABLE checkpoints (size bigint PRIMARY KEY, note text NOT NULL);
CREATE TABLE anchor (id int PRIMARY KEY CHECK (id = 0), size bigint NOT NULL, json text NOT NULL);
";

/// The schema a log of `origin` lives in: `trail_`, the origin's letters and digits (cut to 40),
/// and 8 hex digits of its hash, so distinct origins never share a schema.
pub fn schema_for_origin(origin: &str) -> String {
    let mut name = String::from("trail_");
    for c in origin.chars().take(40) {
        name.push(if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' });
    }
    let hash = trail_merkle::leaf_hash(origin.as_bytes()).to_hex();
    name.push('_');
    name.push_str(&hash[..8]);
    name
}

/// True for a schema name this store accepts: a lowercase SQL identifier of at most 63 bytes.
pub fn is_schema_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Drops a log's schema and everything in it. For tests and for deleting a log on purpose.
pub fn dangerous_drop_schema(url: &str, schema: &str) -> Result<()> {
    let settings = settings(url, schema)?;
    let conn = Conn::open(&settings)?;
    // A session still holding locks in the schema makes the drop fail after a while instead of
    // waiting for it forever.
    let sql = format!("SET lock_timeout TO 30000; DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    conn.run(move |s| s.client.batch_execute(&sql).map_err(pg_err))
}

/// A fencing token: the epoch of a sequencer lease held by `node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseToken {
    pub node: String,
    pub epoch: u64,
}

/// The lease as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    /// The last holder; `None` after a release (or before anyone held it).
    pub holder: Option<String>,
    pub epoch: u64,
    /// Milliseconds until the lease expires; `None` when released, negative when expired.
    pub expires_in_ms: Option<i64>,
}

impl LeaseInfo {
    /// True while a holder's lease has not expired.
    pub fn is_live(&self) -> bool {
        self.holder.is_some() && self.expires_in_ms.is_some_and(|ms| ms > 0)
    }
}

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

    /// Takes the log's sequencer lease for `node` for `ttl` if nobody else holds a live one, and
    /// returns its token; `None` while another node's lease is live. Every acquisition bumps the
    /// epoch, including `node` taking over its own earlier lease (a restarted node), so whatever
    /// held the lease before is fenced off. From then on this store appends only under this
    /// epoch: an append after another node took the lease fails with [`StoreError::LeaseLost`],
    /// inside the append's own transaction. Expiry is measured on the database's clock.
    pub fn try_acquire(&self, node: &str, ttl: Duration) -> Result<Option<LeaseToken>> {
        let (node_id, ms) = (node.to_owned(), millis(ttl));
        let epoch = self.pool.run(move |s| {
            let row = s
                .client
                .query_opt(
                    "UPDATE lease SET epoch = epoch + 1, holder = $1, \
                     expires = clock_timestamp() + $2::bigint * interval '1 millisecond' \
                     WHERE id = 0 AND (holder IS NULL OR holder = $1 OR expires <= clock_timestamp()) \
                     RETURNING epoch",
                    &[&node_id, &ms],
                )
                .map_err(pg_err)?;
            Ok(row.map(|r| r.get::<_, i64>(0)))
        })?;
        let Some(epoch) = epoch else { return Ok(None) };
        let token = LeaseToken { node: node.to_owned(), epoch: uint(epoch) };
        *self.fence.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        Ok(Some(token))
    }

    /// Extends the lease to `ttl` from now. Fails with [`StoreError::LeaseLost`] when another
    /// node has taken it since; a lease that expired but that nobody took is still this one
    /// (its epoch is unchanged), so renewing it late is safe.
    pub fn renew(&self, token: &LeaseToken, ttl: Duration) -> Result<()> {
        let (node_id, epoch, ms) = (token.node.clone(), int(token.epoch), millis(ttl));
        let current = self.pool.run(move |s| {
            let renewed = s
                .client
                .execute(
                    "UPDATE lease SET expires = clock_timestamp() + $3::bigint * interval '1 millisecond' \
                     WHERE id = 0 AND epoch = $1 AND holder = $2",
                    &[&epoch, &node_id, &ms],
                )
                .map_err(pg_err)?;
            if renewed == 1 {
                return Ok(None);
            }
            let row =
                s.client.query_one("SELECT epoch FROM lease WHERE id = 0", &[]).map_err(pg_err)?;
            Ok(Some(uint(row.get(0))))
        })?;
        match current {
            None => Ok(()),
            Some(current) => Err(StoreError::LeaseLost { epoch: token.epoch, current }),
        }
    }

    /// Gives the lease up (if it is still this token's) so another node can take it at once, and
    /// stops fencing this store's appends with it.
    pub fn release(&self, token: &LeaseToken) -> Result<()> {
        let (node_id, epoch) = (token.node.clone(), int(token.epoch));
        self.pool.run(move |s| {
            s.client
                .execute(
                    "UPDATE lease SET holder = NULL, expires = NULL \
                     WHERE id = 0 AND epoch = $1 AND holder = $2",
                    &[&epoch, &node_id],
                )
                .map_err(pg_err)
        })?;
        let mut fence = self.fence.lock().unwrap_or_else(PoisonError::into_inner);
        if fence.as_ref() == Some(token) {
            *fence = None;
        }
        Ok(())
    }

    /// The lease as the database sees it now.
    pub fn lease(&self) -> Result<LeaseInfo> {
        self.pool.run(|s| {
            let row = s
                .client
                .query_one(
                    "SELECT epoch, holder, \
                     (extract(epoch FROM expires - clock_timestamp()) * 1000)::bigint \
                     FROM lease WHERE id = 0",
                    &[],
                )
                .map_err(pg_err)?;
            Ok(LeaseInfo { epoch: uint(row.get(0)), holder: row.get(1), expires_in_ms: row.get(2) })
        })
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
            let nodes = SessionNodes {
                client: RefCell::new(&mut s.client),
                stmt,
                start: shared.start,
                size,
                anchor: shared.anchor.as_ref(),
            };
            let range = CompactRange::from_reader(&nodes, size).map_err(crate::proof_err)?;
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

    fn fence(&self) -> Option<LeaseToken> {
        self.fence.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Runs a query built from a caller's filters (planned for its own values, not cached).
    fn query_rows(&self, sql: String, params: Vec<Param>) -> Result<Vec<Row>> {
        self.pool.run(move |s| {
            let typed = typed(&params);
            s.client.query_typed(&sql, &typed).map_err(pg_err)
        })
    }

    /// The seqs of bodies kept in `words_overflow` that contain every word.
    fn overflow_hits(&self, lexemes: &[String]) -> Result<Vec<i64>> {
        let mut sql = String::from("SELECT seq FROM words_overflow GROUP BY seq HAVING true");
        let mut params = Vec::new();
        for l in lexemes {
            params.push(Param::Text(tsquery(std::slice::from_ref(l))));
            let _ = write!(sql, " AND bool_or(words @@ ${}::text::tsquery)", params.len());
        }
        let rows = self.query_rows(sql, params)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The search condition's inputs for `q`, if it searches.
    fn search_of(&self, q: &Query) -> Result<Option<Search>> {
        let words = q.search_words();
        if words.is_empty() {
            return Ok(None);
        }
        self.index_all()?;
        let lexemes = query_lexemes(&words);
        let overflow = self.overflow_hits(&lexemes)?;
        Ok(Some(Search { tsquery: tsquery(&lexemes), overflow }))
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
    let anchor = row
        .get::<_, Option<String>>(1)
        .map(|j| {
            serde_json::from_str::<Anchor>(&j)
                .map_err(|e| StoreError::Invalid(format!("stored prune anchor: {e}")))
        })
        .transpose()?;
    Ok(Shared { start, anchor })
}

/// The search index against the bodies, in the caller's snapshot: every body below the index
/// cursor must have exactly its lexemes indexed (in `words`, or in parts in `words_overflow`),
/// no entry may stand for a record without a body, and the cursor must not skip ahead of the log.
fn check_search_index(tx: &mut ::postgres::Transaction<'_>, out: &mut Vec<Mismatch>) -> Result<()> {
    let row = tx
        .query_one(
            "SELECT c.next, s.size FROM search_cursor c, state s WHERE c.id = 0 AND s.id = 0",
            &[],
        )
        .map_err(pg_err)?;
    let (next, size): (i64, i64) = (row.get(0), row.get(1));
    if next > size {
        out.push(Mismatch {
            seq: None,
            table: "search_cursor".into(),
            message: format!(
                "the search index cursor is at {next}, beyond the log's {size} records: records \
                 appended from now on would never be indexed"
            ),
        });
    }
    let params: [&(dyn ToSql + Sync); 1] = [&next];
    let mut rows = tx
        .query_raw(
            "SELECT coalesce(b.seq, w.seq), b.body, w.words FROM \
               (SELECT seq, body FROM bodies WHERE seq < $1) b \
             FULL JOIN \
               (SELECT seq, array_agg(l ORDER BY l) AS words FROM ( \
                  SELECT seq, unnest(tsvector_to_array(words)) AS l FROM words \
                  UNION ALL SELECT seq, unnest(tsvector_to_array(words)) FROM words_overflow) x \
                GROUP BY seq) w \
             ON b.seq = w.seq ORDER BY 1",
            params,
        )
        .map_err(pg_err)?;
    while let Some(r) = rows.next().map_err(pg_err)? {
        let seq: i64 = r.get(0);
        let body: Option<Vec<u8>> = r.get(1);
        let have: Option<Vec<String>> = r.get(2);
        let mut have = have.unwrap_or_default();
        have.sort_unstable();
        have.dedup();
        let mismatch = match &body {
            None => Some(format!(
                "the search index finds record {seq}, which has no body to hold its words"
            )),
            Some(b) if body_lexemes(b) != have => Some(format!(
                "the search index holds other words for record {seq} than its body: a search \
                 misses it or finds it for words it does not hold"
            )),
            Some(_) => None,
        };
        if let Some(message) = mismatch {
            out.push(Mismatch { seq: Some(uint(seq)), table: "words".into(), message });
        }
    }
    Ok(())
}

/// A session summary read as `SELECT s.session, s.t_start, s.t_end, s.events, s.errors,
/// s.denials, s.input_tokens, s.output_tokens, s.cost_usd, s.last_seq, s.agent`.
fn session_summary(r: &Row) -> SessionSummary {
    let start = Timestamp::from_unix_nanos(r.get(1));
    let end = Timestamp::from_unix_nanos(r.get(2));
    SessionSummary {
        session: r.get(0),
        agent: r.get(10),
        start,
        end,
        duration_ms: duration_ms(start, end),
        events: uint(r.get(3)),
        errors: uint(r.get(4)),
        denials: uint(r.get(5)),
        input_tokens: uint(r.get(6)),
        output_tokens: uint(r.get(7)),
        cost_usd: r.get(8),
        last_seq: uint(r.get(9)),
    }
}

fn int(n: u64) -> i64 {
    // Seqs, sizes, epochs and token counts stay far below 2^63 (tokens are checked against 2^53).
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn hash_col(row: &Row, i: usize) -> Result<Hash> {
    Hash::from_slice(row.get::<_, &[u8]>(i))
        .map_err(|e| StoreError::Invalid(format!("stored hash in column {i}: {e}")))
}

const NODE_SQL: &str = "SELECT tree FROM records WHERE seq = $1";

/// Reads tree nodes through one connection (or transaction).
struct SessionNodes<'a, C: GenericClient> {
    client: RefCell<&'a mut C>,
    stmt: Statement,
    start: u64,
    size: u64,
    anchor: Option<&'a Anchor>,
}

impl<C: GenericClient> NodeReader for SessionNodes<'_, C> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let missing = || {
            StoreError::Invalid(format!(
                "node ({level}, {index}) is not in a tree of size {}",
                self.size
            ))
        };
        let last_leaf = last_leaf(level, index).ok_or_else(missing)?;
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
        let row =
            self.client.borrow_mut().query_opt(&self.stmt, &[&int(last_leaf)]).map_err(pg_err)?;
        row.and_then(|r| node_of(r.get(0), level)).ok_or_else(missing)
    }
}

/// The last leaf under node (level, index), whose `tree` column holds the node.
fn last_leaf(level: u32, index: u64) -> Option<u64> {
    index
        .checked_add(1)
        .and_then(|n| n.checked_shl(level))
        .filter(|n| n.trailing_zeros() >= level)
        .map(|n| n - 1)
}

fn node_of(tree: &[u8], level: u32) -> Option<Hash> {
    let at = level as usize * 32;
    tree.get(at..at + 32).and_then(|b| Hash::from_slice(b).ok())
}

/// Columns every record query selects, in the order [`stored`] reads them.
const RECORD_COLUMNS: &str = "r.seq, r.tree, r.canonical, b.salt, b.body";
const RECORD_FROM: &str = "records r LEFT JOIN bodies b ON b.seq = r.seq";

/// Parses a record row whose first column is at `at`.
fn stored(row: &Row, at: usize) -> Result<StoredRecord> {
    let seq = uint(row.get(at));
    let corrupt = |reason: String| StoreError::Invalid(format!("stored record {seq}: {reason}"));
    let tree: &[u8] = row.get(at + 1);
    let canonical: Vec<u8> = row.get(at + 2);
    let hash = tree
        .get(..32)
        .and_then(|b| Hash::from_slice(b).ok())
        .ok_or_else(|| corrupt("no leaf hash".into()))?;
    let record = Record::from_canonical(&canonical).map_err(|e| corrupt(e.to_string()))?;
    let body = match (row.get::<_, Option<&[u8]>>(at + 3), row.get::<_, Option<Vec<u8>>>(at + 4)) {
        (Some(salt), Some(canonical)) => {
            let salt: [u8; 32] =
                salt.try_into().map_err(|_| corrupt("salt is not 32 bytes".into()))?;
            Some(Body { salt, canonical })
        }
        _ => None,
    };
    Ok(StoredRecord { seq, canonical, hash, record, body })
}

fn read_records(rows: &[Row]) -> Result<Vec<StoredRecord>> {
    rows.iter().map(|r| stored(r, 0)).collect()
}

/// A query parameter, owned so it can travel to the connection's thread.
#[derive(Debug, Clone)]
enum Param {
    Int(i64),
    Text(String),
    Ints(Vec<i64>),
}

fn typed(params: &[Param]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|p| match p {
            Param::Int(v) => (v as &(dyn ToSql + Sync), Type::INT8),
            Param::Text(v) => (v as &(dyn ToSql + Sync), Type::TEXT),
            Param::Ints(v) => (v as &(dyn ToSql + Sync), Type::INT8_ARRAY),
        })
        .collect()
}

/// A search, ready for SQL.
struct Search {
    /// The words ANDed, each quoted, as `tsquery` text.
    tsquery: String,
    /// Bodies kept in `words_overflow` that match.
    overflow: Vec<i64>,
}

/// A `WHERE` clause over `records r` and its parameters.
struct Where {
    sql: String,
    params: Vec<Param>,
    /// The `WITH hits` clause a search puts before the statement; empty otherwise.
    with: String,
    /// `sql` without the search.
    filters: String,
}

impl Where {
    fn new(q: &Query, search: Option<&Search>) -> Where {
        let mut w = Where {
            sql: String::from("true"),
            params: Vec::new(),
            with: String::new(),
            filters: String::new(),
        };
        if let Some(t) = q.from {
            w.push("r.time >= ?", Param::Int(t.unix_nanos()));
        }
        if let Some(t) = q.to {
            w.push("r.time < ?", Param::Int(t.unix_nanos()));
        }
        for (column, value) in q.filters() {
            // Column names come from `Query::filters`, a fixed list, never from the caller.
            w.push(&format!("r.{column} = ?"), Param::Text(value.to_owned()));
        }
        w.filters = w.sql.clone();
        if let Some(s) = search {
            // The matches are collected once through the GIN index (`MATERIALIZED`, so the
            // planner cannot trade that for a scan in seq order on a bad estimate) and serve the
            // total and the page alike.
            w.params.push(Param::Text(s.tsquery.clone()));
            w.with = format!(
                "WITH hits AS MATERIALIZED (SELECT w.seq FROM words w \
                 WHERE w.words @@ ${}::text::tsquery",
                w.params.len()
            );
            if !s.overflow.is_empty() {
                w.params.push(Param::Ints(s.overflow.clone()));
                let _ = write!(w.with, " UNION SELECT unnest(${}::int8[])", w.params.len());
            }
            w.with.push_str(") ");
            w.sql.push_str(" AND r.seq IN (SELECT seq FROM hits)");
        }
        w
    }

    fn push(&mut self, cond: &str, value: Param) {
        self.params.push(value);
        let n = self.params.len();
        let _ = write!(self.sql, " AND {}", cond.replace('?', &format!("${n}")));
    }

    fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

/// Session summaries of the records matching `w`, most recent first, in `session_rollup`
/// column order.
fn sessions_sql(w: &Where) -> String {
    format!(
        "{}SELECT s.session, s.t_start, s.t_end, s.events, s.errors, s.denials, s.input_tokens, \
                s.output_tokens, s.cost_usd, s.last_seq, \
                (SELECT agent FROM records WHERE seq = s.agent_seq) \
         FROM (SELECT r.session AS session, min(r.time) AS t_start, max(r.time) AS t_end, \
                      count(*) AS events, \
                      count(*) FILTER (WHERE r.status IN ('error', 'failed', 'failure')) AS errors, \
                      count(*) FILTER (WHERE r.status IN ('denied', 'deny', 'rejected', 'blocked')) AS denials, \
                      coalesce(sum(r.input_tokens), 0)::bigint AS input_tokens, \
                      coalesce(sum(r.output_tokens), 0)::bigint AS output_tokens, \
                      coalesce(sum(r.cost_usd), 0)::float8 AS cost_usd, max(r.seq) AS last_seq, \
                      min(r.seq) FILTER (WHERE r.agent IS NOT NULL) AS agent_seq \
               FROM records r WHERE r.session IS NOT NULL AND {} GROUP BY r.session) s \
         ORDER BY s.last_seq DESC",
        w.with, w.sql
    )
}

/// Counts and sums of the records matching `w` per hour, kind, category, status and agent, in
/// `stats_rollup` column order.
fn stats_sql(w: &Where) -> String {
    format!(
        "{}SELECT r.time - ((r.time % {HOUR_NANOS}) + {HOUR_NANOS}) % {HOUR_NANOS} AS hour, r.kind, \
                coalesce(r.category, ''), coalesce(r.status, ''), coalesce(r.agent, ''), count(*), \
                coalesce(sum(r.input_tokens), 0)::bigint, coalesce(sum(r.output_tokens), 0)::bigint, \
                coalesce(sum(r.cost_usd), 0)::float8 \
         FROM records r WHERE {} GROUP BY 1, 2, 3, 4, 5",
        w.with, w.sql
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
    let mut w = Where {
        sql: String::from("true"),
        params: Vec::new(),
        with: String::new(),
        filters: String::new(),
    };
    for (column, value) in q.filters() {
        w.push(&format!("s.{column} = ?"), Param::Text(value.to_owned()));
    }
    w
}

// ---------------------------------------------------------------------------------------------
// Words.

/// The longest lexeme a `tsvector` holds, in bytes.
const MAX_LEXEME: usize = 2047;

/// What one `tsvector` may hold in lexeme bytes (PostgreSQL's limit is 1 MiB - 1), with room to
/// spare.
const MAX_VECTOR_BYTES: usize = 1_000_000;

/// The distinct words of a body as lexemes, sorted by bytes (the order `tsvector` keeps).
fn body_lexemes(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut out: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(lexeme).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The lexeme of one word: the word lowercased as [`crate::query::words`] does, or, when that
/// is too long for a lexeme, `#` and 32 hex digits of its hash.
fn lexeme(word: &str) -> String {
    let lower = if word.is_ascii() { word.to_ascii_lowercase() } else { word.to_lowercase() };
    if lower.len() <= MAX_LEXEME {
        return lower;
    }
    let hex = trail_merkle::leaf_hash(lower.as_bytes()).to_hex();
    format!("#{}", &hex[..32])
}

/// The lexemes of search words (already lowercased by [`Query::search_words`]).
fn query_lexemes(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = words.iter().map(|w| lexeme(w)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `'a' & 'b'`: every lexeme quoted, so nothing in it is `tsquery` syntax.
fn tsquery(lexemes: &[String]) -> String {
    lexemes
        .iter()
        .map(|l| format!("'{}'", l.replace('\\', "\\\\").replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Splits sorted lexemes into parts that each fit one `tsvector`.
fn vector_parts(lexemes: &[String]) -> Vec<&[String]> {
    let mut parts = Vec::new();
    let (mut from, mut bytes) = (0, 0);
    for (i, l) in lexemes.iter().enumerate() {
        if bytes + l.len() > MAX_VECTOR_BYTES && i > from {
            parts.push(&lexemes[from..i]);
            (from, bytes) = (i, 0);
        }
        bytes += l.len();
    }
    parts.push(&lexemes[from..]);
    parts
}

// ---------------------------------------------------------------------------------------------
// Binary COPY.

/// Rows in PostgreSQL's binary `COPY` format.
struct CopyBuf(Vec<u8>);

impl CopyBuf {
    fn new(capacity: usize) -> CopyBuf {
        let mut b = Vec::with_capacity(capacity + 32);
        b.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        b.extend_from_slice(&0i32.to_be_bytes()); // flags
        b.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        CopyBuf(b)
    }

    fn row(&mut self, fields: i16) {
        self.0.extend_from_slice(&fields.to_be_bytes());
    }

    fn len_prefix(&mut self, n: usize) {
        // Values are bounded well below 2 GiB (bodies by the ingest limits; a `tsvector` by
        // `MAX_VECTOR_BYTES`); a larger one is refused by the server, never truncated here.
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        self.0.extend_from_slice(&n.to_be_bytes());
    }

    fn null(&mut self) {
        self.0.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn int8(&mut self, v: i64) {
        self.len_prefix(8);
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn float8(&mut self, v: f64) {
        self.len_prefix(8);
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn bytes(&mut self, v: &[u8]) {
        self.len_prefix(v.len());
        self.0.extend_from_slice(v);
    }

    fn text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.bytes(v.as_bytes()),
            None => self.null(),
        }
    }

    fn opt_int8(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int8(v),
            None => self.null(),
        }
    }

    /// A `tsvector` without positions: a count, then each lexeme NUL-terminated with a zero
    /// position count (PostgreSQL's `tsvectorsend` format). The lexemes are sorted and distinct.
    fn tsvector(&mut self, lexemes: &[String]) {
        let len = 4 + lexemes.iter().map(|l| l.len() + 3).sum::<usize>();
        self.len_prefix(len);
        let n = i32::try_from(lexemes.len()).unwrap_or(i32::MAX);
        self.0.extend_from_slice(&n.to_be_bytes());
        for l in lexemes {
            self.0.extend_from_slice(l.as_bytes());
            self.0.extend_from_slice(&[0, 0, 0]);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&(-1i16).to_be_bytes());
        self.0
    }
}

/// A batch encoded for one append transaction.
struct Encoded {
    records: Vec<u8>,
    bodies: Vec<u8>,
    rollup: Rollup,
    size: u64,
    last_hash: Hash,
    new_size: u64,
    new_last: Hash,
    new_root: Hash,
}

const RECORDS_COPY: &str = "COPY records (seq, id, time, kind, category, action, status, agent, \
     session, conversation, actor, source, trace_id, input_tokens, output_tokens, cost_usd, tree, \
     canonical) FROM STDIN (FORMAT binary)";
const BODIES_COPY: &str = "COPY bodies (seq, salt, body) FROM STDIN (FORMAT binary)";
const WORDS_COPY: &str = "COPY words (seq, words) FROM STDIN (FORMAT binary)";

/// Encodes `batch` after the tree in `range` (which it grows).
fn encode(batch: &[Sealed], range: &mut CompactRange, last_hash: Hash) -> Encoded {
    let size = range.size();
    let bytes: usize = batch.iter().map(|s| s.canonical.len()).sum();
    let body_bytes: usize =
        batch.iter().filter_map(|s| s.body.as_ref()).map(|b| b.canonical.len()).sum();
    let mut records = CopyBuf::new(bytes + batch.len() * 200);
    let mut bodies = CopyBuf::new(body_bytes + batch.len() * 64);
    let mut rollup = Rollup::default();
    let mut tree = Vec::with_capacity(32 * 65);
    for s in batch {
        let r = &s.record;
        let f = &r.fields;
        rollup.add(r);
        tree.clear();
        for (_, _, h) in range.append(s.hash) {
            tree.extend_from_slice(h.as_bytes());
        }
        let usage = f.usage.as_ref();
        records.row(18);
        records.int8(int(r.seq));
        records.text(Some(&r.id));
        records.int8(r.time.unix_nanos());
        records.text(Some(&f.kind));
        for v in [
            &f.category,
            &f.action,
            &f.status,
            &f.agent,
            &f.session,
            &f.conversation,
            &f.actor,
            &f.source,
            &f.trace_id,
        ] {
            records.text(v.as_deref());
        }
        records.opt_int8(usage.and_then(|u| u.input_tokens).map(int));
        records.opt_int8(usage.and_then(|u| u.output_tokens).map(int));
        match usage.and_then(|u| u.cost_usd) {
            Some(c) => records.float8(c),
            None => records.null(),
        }
        records.bytes(&tree);
        records.bytes(&s.canonical);
        if let Some(b) = &s.body {
            bodies.row(3);
            bodies.int8(int(r.seq));
            bodies.bytes(&b.salt);
            bodies.bytes(&b.canonical);
        }
    }
    let new_last = batch.last().map_or(last_hash, |s| s.hash);
    Encoded {
        records: records.finish(),
        bodies: bodies.finish(),
        rollup,
        size,
        last_hash,
        new_size: range.size(),
        new_last,
        new_root: range.root(),
    }
}

impl Rollup {
    fn write_pg(&self, tx: &mut impl GenericClient, stmts: &mut Stmts) -> Result<()> {
        let n = self.groups.len();
        let (mut hour, mut kind, mut category, mut status, mut agent) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut events, mut inp, mut out, mut cost) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for ((h, k, c, s, a), g) in &self.groups {
            hour.push(*h);
            kind.push(k.as_str());
            category.push(c.as_str());
            status.push(s.as_str());
            agent.push(a.as_str());
            events.push(int(g.events));
            inp.push(int(g.input_tokens));
            out.push(int(g.output_tokens));
            cost.push(g.cost_usd);
        }
        let stmt = stmts.get(
            tx,
            "INSERT INTO stats_rollup (hour, kind, category, status, agent, events, input_tokens, \
             output_tokens, cost_usd) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
                                  $6::int8[], $7::int8[], $8::int8[], $9::float8[]) \
             ON CONFLICT (hour, kind, category, status, agent) DO UPDATE SET \
             events = stats_rollup.events + excluded.events, \
             input_tokens = stats_rollup.input_tokens + excluded.input_tokens, \
             output_tokens = stats_rollup.output_tokens + excluded.output_tokens, \
             cost_usd = stats_rollup.cost_usd + excluded.cost_usd",
        )?;
        tx.execute(&stmt, &[&hour, &kind, &category, &status, &agent, &events, &inp, &out, &cost])
            .map_err(pg_err)?;
        if self.sessions.is_empty() {
            return Ok(());
        }
        let n = self.sessions.len();
        let mut session: Vec<&str> = Vec::with_capacity(n);
        let mut agent: Vec<Option<&str>> = Vec::with_capacity(n);
        let mut cost: Vec<f64> = Vec::with_capacity(n);
        // t_start, t_end, events, errors, denials, input_tokens, output_tokens, last_seq.
        let mut ints: [Vec<i64>; 8] = Default::default();
        for e in self.sessions.values() {
            session.push(e.session.as_str());
            agent.push(e.agent.as_deref());
            cost.push(e.cost_usd);
            let values = [
                e.start.unix_nanos(),
                e.end.unix_nanos(),
                int(e.events),
                int(e.errors),
                int(e.denials),
                int(e.input_tokens),
                int(e.output_tokens),
                int(e.last_seq),
            ];
            for (col, v) in ints.iter_mut().zip(values) {
                col.push(v);
            }
        }
        let [t_start, t_end, events, errors, denials, inp, out, last] = ints;
        let stmt = stmts.get(
            tx,
            "INSERT INTO session_rollup (session, t_start, t_end, events, errors, denials, \
             input_tokens, output_tokens, cost_usd, last_seq, agent) \
             SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
                                  $6::int8[], $7::int8[], $8::int8[], $9::float8[], $10::int8[], \
                                  $11::text[]) \
             ON CONFLICT (session) DO UPDATE SET \
             t_start = least(session_rollup.t_start, excluded.t_start), \
             t_end = greatest(session_rollup.t_end, excluded.t_end), \
             events = session_rollup.events + excluded.events, \
             errors = session_rollup.errors + excluded.errors, \
             denials = session_rollup.denials + excluded.denials, \
             input_tokens = session_rollup.input_tokens + excluded.input_tokens, \
             output_tokens = session_rollup.output_tokens + excluded.output_tokens, \
             cost_usd = session_rollup.cost_usd + excluded.cost_usd, \
             last_seq = greatest(session_rollup.last_seq, excluded.last_seq), \
             agent = coalesce(session_rollup.agent, excluded.agent)",
        )?;
        tx.execute(
            &stmt,
            &[
                &session, &t_start, &t_end, &events, &errors, &denials, &inp, &out, &cost, &last,
                &agent,
            ],
        )
        .map_err(pg_err)?;
        Ok(())
    }
}

/// How an append transaction ended.
enum Appended {
    Done,
    /// The log's head is not the one the batch was encoded after: another writer appended.
    Stale,
    /// The unique index on `id` refused the batch.
    DuplicateId,
    /// The connection was gone before anything of the batch was sent (the server restarted or
    /// ended it while it sat idle): nothing was written, so a new connection may try again.
    Unsent(StoreError),
}

const HEAD_SQL: &str = "SELECT s.size, s.last_hash, l.epoch, l.holder, \
     coalesce(l.expires > clock_timestamp(), false) \
     FROM state s CROSS JOIN lease l WHERE s.id = 0 AND l.id = 0 \
     FOR UPDATE OF s FOR SHARE OF l";

/// One append transaction: lock the head, check the lease and the head, copy, upsert, commit.
fn append_tx(
    s: &mut Session,
    e: Encoded,
    fence: Option<LeaseToken>,
    durability: Durability,
) -> Result<Appended> {
    let head_stmt = match s.stmts.get(&mut s.client, HEAD_SQL) {
        Ok(stmt) => stmt,
        Err(e) if s.client.is_closed() => return Ok(Appended::Unsent(e)),
        Err(e) => return Err(e),
    };
    let mut tx = match s.client.transaction() {
        Ok(tx) => tx,
        Err(e) if connection_lost(&e) => return Ok(Appended::Unsent(pg_err(e))),
        Err(e) => return Err(pg_err(e)),
    };
    // Locking the lease row for share makes a takeover wait for this commit, so no append
    // commits after a new epoch did.
    let head = tx.query_one(&head_stmt, &[]).map_err(pg_err)?;
    let epoch = uint(head.get(2));
    let holder: Option<String> = head.get(3);
    let live: bool = head.get(4);
    match &fence {
        Some(t) if t.epoch != epoch || holder.as_deref() != Some(t.node.as_str()) => {
            return Err(StoreError::LeaseLost { epoch: t.epoch, current: epoch });
        }
        Some(_) => {}
        None => {
            if let Some(holder) = holder.filter(|_| live) {
                return Err(StoreError::LeaseHeld { holder, epoch });
            }
        }
    }
    if uint(head.get(0)) != e.size || hash_col(&head, 1)? != e.last_hash {
        return Ok(Appended::Stale);
    }
    if durability == Durability::Checkpoint {
        // The next checkpoint commits with synchronous_commit on, and its WAL flush covers
        // every commit before it.
        tx.batch_execute("SET LOCAL synchronous_commit TO off").map_err(pg_err)?;
    }
    let copied = (|| {
        let mut w = tx.copy_in(RECORDS_COPY)?;
        std::io::Write::write_all(&mut w, &e.records).map_err(io_to_pg)?;
        w.finish()?;
        let mut w = tx.copy_in(BODIES_COPY)?;
        std::io::Write::write_all(&mut w, &e.bodies).map_err(io_to_pg)?;
        w.finish()?;
        Ok::<_, PgOrIo>(())
    })();
    match copied {
        Ok(()) => {}
        Err(PgOrIo::Pg(err)) => {
            if err.code() == Some(&SqlState::UNIQUE_VIOLATION)
                && err.as_db_error().and_then(|d| d.constraint()) == Some("records_id")
            {
                return Ok(Appended::DuplicateId);
            }
            return Err(pg_err(err));
        }
        Err(PgOrIo::Io(err)) => {
            return Err(StoreError::Postgres(format!("copy to the server failed: {err}")));
        }
    }
    e.rollup.write_pg(&mut tx, &mut s.stmts)?;
    let update = s
        .stmts
        .get(&mut tx, "UPDATE state SET size = $1, last_hash = $2, root = $3 WHERE id = 0")?;
    tx.execute(
        &update,
        &[&int(e.new_size), &e.new_last.as_bytes().as_slice(), &e.new_root.as_bytes().as_slice()],
    )
    .map_err(pg_err)?;
    tx.commit().map_err(pg_err)?;
    Ok(Appended::Done)
}

/// True when `e` says the connection is gone: closed, or ended by the server (class 57,
/// operator intervention: `pg_terminate_backend`, shutdown, crash).
fn connection_lost(e: &::postgres::Error) -> bool {
    e.is_closed() || e.code().is_some_and(|c| c.code().starts_with("57P"))
}

enum PgOrIo {
    Pg(::postgres::Error),
    Io(std::io::Error),
}

impl From<::postgres::Error> for PgOrIo {
    fn from(e: ::postgres::Error) -> Self {
        PgOrIo::Pg(e)
    }
}

fn io_to_pg(e: std::io::Error) -> PgOrIo {
    PgOrIo::Io(e)
}

/// Bodies indexed per transaction when catching up.
const INDEX_CHUNK: usize = 10_000;

/// Body bytes read per indexing transaction, so large bodies do not pile up in memory.
const INDEX_BYTES: usize = 32 << 20;

/// Indexes the bodies of up to `max` records from the search cursor on; returns how many
/// records the cursor moved over.
fn index_chunk(s: &mut Session, max: i64) -> Result<u64> {
    let mut tx = s.client.transaction().map_err(pg_err)?;
    // The index is derived data that the next run rebuilds from the cursor, so its commits need
    // not wait for the disk: a crash loses whole transactions, entries and cursor together.
    tx.batch_execute("SET LOCAL synchronous_commit TO off").map_err(pg_err)?;
    // The cursor's lock orders indexers, erasures and prunes: none of them sees a body that
    // another is deleting or indexing.
    let row = tx
        .query_one(
            "SELECT c.next, s.size FROM search_cursor c, state s \
             WHERE c.id = 0 AND s.id = 0 FOR UPDATE OF c",
            &[],
        )
        .map_err(pg_err)?;
    let (from, size): (i64, i64) = (row.get(0), row.get(1));
    if from >= size {
        return Ok(0);
    }
    let mut to = size.min(from.saturating_add(max));
    let mut words = CopyBuf::new(0);
    let mut overflow = Vec::new();
    {
        let params: [&(dyn ToSql + Sync); 2] = [&from, &to];
        let mut rows = tx
            .query_raw(
                "SELECT seq, body FROM bodies WHERE seq >= $1 AND seq < $2 ORDER BY seq",
                params,
            )
            .map_err(pg_err)?;
        let mut bytes = 0;
        while let Some(row) = rows.next().map_err(pg_err)? {
            let seq: i64 = row.get(0);
            let body: &[u8] = row.get(1);
            let lexemes = body_lexemes(body);
            let parts = vector_parts(&lexemes);
            if parts.len() == 1 {
                words.row(2);
                words.int8(seq);
                words.tsvector(&lexemes);
            } else {
                for (part, p) in (0i32..).zip(parts) {
                    overflow.push((seq, part, p.to_vec()));
                }
            }
            bytes += body.len();
            if bytes >= INDEX_BYTES {
                to = seq + 1;
                break;
            }
        }
    }
    let mut w = tx.copy_in(WORDS_COPY).map_err(pg_err)?;
    std::io::Write::write_all(&mut w, &words.finish())
        .map_err(|e| StoreError::Postgres(format!("copy to the server failed: {e}")))?;
    w.finish().map_err(pg_err)?;
    for (seq, part, lexemes) in &overflow {
        // Rare (a body with over a megabyte of distinct words), so a plain insert will do.
        tx.execute(
            "INSERT INTO words_overflow (seq, part, words) \
             VALUES ($1, $2, array_to_tsvector($3::text[]))",
            &[seq, part, lexemes],
        )
        .map_err(pg_err)?;
    }
    tx.execute("UPDATE search_cursor SET next = $1 WHERE id = 0", &[&to]).map_err(pg_err)?;
    tx.commit().map_err(pg_err)?;
    Ok(uint(to - from))
}

/// Records read per step of a scan, so no transaction stays open while the caller works.
const SCAN_CHUNK: i64 = 1024;

/// Test sessions get distinct schema names; see `scratch_schema`.
static SCRATCH: AtomicU64 = AtomicU64::new(0);

/// A schema name no other test uses: the process id, the time and a counter.
pub fn scratch_schema(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
    let mut name = format!("{prefix}_{}_{nanos}_{n}", std::process::id());
    name.truncate(63);
    name
}

impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn state(&self) -> Result<TreeState> {
        let (state, start) = self.pool.run(|s| {
            let stmt = s.stmts.get(
                &mut s.client,
                "SELECT size, last_hash, root, start FROM state WHERE id = 0",
            )?;
            let row = s.client.query_one(&stmt, &[]).map_err(pg_err)?;
            let state = TreeState {
                size: uint(row.get(0)),
                last_hash: hash_col(&row, 1)?,
                root: hash_col(&row, 2)?,
            };
            Ok((state, uint(row.get(3))))
        })?;
        self.shared_at(start)?;
        Ok(state)
    }

    fn exporter_cursor(&self, name: &str) -> Result<Option<u64>> {
        let name = name.to_owned();
        self.pool.run(move |s| {
            match s.client.query_opt("SELECT next FROM exporter_cursors WHERE name = $1", &[&name])
            {
                Ok(row) => Ok(row.map(|r| uint(r.get(0)))),
                // A log made before the table existed, opened by a role that may not create it.
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
                Err(e) => Err(pg_err(e)),
            }
        })
    }

    fn set_exporter_cursor(&self, name: &str, next: u64) -> Result<()> {
        let name = name.to_owned();
        self.pool.run(move |s| {
            s.client
                .execute(
                    "INSERT INTO exporter_cursors (name, next) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET next = greatest(exporter_cursors.next, excluded.next)",
                    &[&name, &int(next)],
                )
                .map_err(pg_err)?;
            Ok(())
        })
    }

    fn quick_appends(&self) -> bool {
        // Every append is a round trip to the server, synced or not.
        false
    }

    fn durability(&self) -> Durability {
        self.writer().durability
    }

    fn set_durability(&self, durability: Durability) -> Result<()> {
        self.writer().durability = durability;
        Ok(())
    }

    fn append(&self, batch: &[Sealed]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut w = self.writer();
        let fence = self.fence();
        let mut reloaded = false;
        let mut reconnected = false;
        loop {
            match check_batch(&self.origin, w.range.size(), w.last_hash, batch) {
                Ok(()) => {}
                // What this process cached may be behind another writer: look again, once.
                Err(StoreError::OutOfOrder { .. } | StoreError::Fork { .. }) if !reloaded => {
                    self.reload(&mut w)?;
                    reloaded = true;
                    continue;
                }
                Err(e) => return Err(e),
            }
            let mut range = w.range.clone();
            let encoded = encode(batch, &mut range, w.last_hash);
            let fence = fence.clone();
            let durability = w.durability;
            let outcome = writer_conn(&mut w, &self.pool)?
                .run(move |s| append_tx(s, encoded, fence, durability))?;
            match outcome {
                Appended::Done => {
                    w.last_hash = batch[batch.len() - 1].hash;
                    w.range = range;
                    return Ok(());
                }
                Appended::Stale if !reloaded => {
                    self.reload(&mut w)?;
                    reloaded = true;
                }
                Appended::Stale => {
                    // Another writer moved the head again while this batch was in flight: say
                    // where it is now, not where it was.
                    self.reload(&mut w)?;
                    return Err(StoreError::OutOfOrder {
                        size: w.range.size(),
                        seq: batch[0].record.seq,
                    });
                }
                // An idle connection the server ended: open a new one and try once more.
                Appended::Unsent(_) if !reconnected => {
                    w.conn = None;
                    reconnected = true;
                }
                Appended::Unsent(e) => return Err(e),
                Appended::DuplicateId => {
                    let ids: Vec<&str> = batch.iter().map(|s| s.record.id.as_str()).collect();
                    let found = self.find_ids(&ids)?;
                    let first = found.into_iter().min_by_key(|r| r.seq);
                    return Err(match first {
                        Some(r) => StoreError::DuplicateId { id: r.record.id, seq: r.seq },
                        None => StoreError::Invalid(
                            "the batch repeats an id that another writer stored meanwhile".into(),
                        ),
                    });
                }
            }
        }
    }

    fn find_ids(&self, ids: &[&str]) -> Result<Vec<StoredRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        let rows = self.pool.run(move |s| {
            let stmt = s.stmts.get(
                &mut s.client,
                &format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.id = ANY($1)"),
            )?;
            s.client.query(&stmt, &[&ids]).map_err(pg_err)
        })?;
        read_records(&rows)
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>> {
        let rows = self.pool.run(move |s| {
            let stmt = s.stmts.get(
                &mut s.client,
                &format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.seq = $1"),
            )?;
            s.client.query(&stmt, &[&int(seq)]).map_err(pg_err)
        })?;
        Ok(read_records(&rows)?.pop())
    }

    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(StoredRecord) -> Result<bool>,
    ) -> Result<()> {
        let mut next = from;
        while next < to {
            let (lo, hi) = (int(next), int(to));
            let rows = self.pool.run(move |s| {
                let stmt = s.stmts.get(
                    &mut s.client,
                    &format!(
                        "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.seq >= $1 AND r.seq < $2 \
                         ORDER BY r.seq LIMIT {SCAN_CHUNK}"
                    ),
                )?;
                s.client.query(&stmt, &[&lo, &hi]).map_err(pg_err)
            })?;
            let chunk = read_records(&rows)?;
            let Some(last) = chunk.last() else { break };
            next = last.seq + 1;
            let full = chunk.len() as i64 == SCAN_CHUNK;
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
        let Some(leaf) = last_leaf(level, index) else {
            return Err(StoreError::Invalid(format!("node ({level}, {index}) is out of range")));
        };
        let (tree, size, start) = self.pool.run(move |s| {
            let stmt = s.stmts.get(&mut s.client, NODE_SQL)?;
            if let Some(row) = s.client.query_opt(&stmt, &[&int(leaf)]).map_err(pg_err)? {
                return Ok((Some(row.get::<_, Vec<u8>>(0)), 0, 0));
            }
            let row = s
                .client
                .query_one("SELECT size, start FROM state WHERE id = 0", &[])
                .map_err(pg_err)?;
            Ok((None, uint(row.get(0)), uint(row.get(1))))
        })?;
        let missing =
            || StoreError::Invalid(format!("node ({level}, {index}) is not in the stored tree"));
        if let Some(tree) = tree {
            return node_of(&tree, level).ok_or_else(missing);
        }
        if leaf >= size {
            return Err(StoreError::Invalid(format!(
                "node ({level}, {index}) is not in a tree of size {size}"
            )));
        }
        let shared = self.shared_at(start)?;
        if leaf < start {
            return shared
                .anchor
                .as_ref()
                .and_then(|a| anchor_peak(a, level, index))
                .ok_or(StoreError::Pruned { seq: index << level, start });
        }
        Err(missing())
    }

    fn query(&self, q: &Query) -> Result<Page> {
        let limit = q.page_size();
        let search = self.search_of(q)?;
        let cond = Where::new(q, search.as_ref());
        let mut params = cond.params.clone();
        let (op, order) = if q.ascending { (">", "ASC") } else { ("<", "DESC") };
        let after = match q.cursor {
            Some(c) => {
                params.push(Param::Int(int(c)));
                format!(" AND seq {op} ${}", params.len())
            }
            None => String::new(),
        };
        let page = if cond.with.is_empty() {
            format!(
                "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE {}{} \
                 ORDER BY r.seq {order} LIMIT {}",
                cond.sql,
                after.replace("seq", "r.seq"),
                limit + 1
            )
        } else {
            // Walk the matches in seq order and stop at a full page: `OFFSET 0` keeps each
            // lookup a point read instead of a join the planner might turn into a scan.
            format!(
                "SELECT {RECORD_COLUMNS} \
                 FROM (SELECT seq FROM hits WHERE true{after} ORDER BY seq {order}) h \
                 CROSS JOIN LATERAL (SELECT * FROM records r WHERE r.seq = h.seq AND {} OFFSET 0) r \
                 LEFT JOIN bodies b ON b.seq = r.seq ORDER BY h.seq {order} LIMIT {}",
                cond.filters,
                limit + 1
            )
        };
        let total = if cond.is_empty() {
            // Seqs are contiguous, so counting them all needs two index lookups, not a scan.
            "SELECT coalesce(max(seq) - min(seq) + 1, 0) AS total FROM records".to_owned()
        } else {
            format!("SELECT count(*) AS total FROM records r WHERE {}", cond.sql)
        };
        // One statement, so the page and the total see the same snapshot.
        let sql = format!(
            "{}SELECT t.total, p.* FROM ({total}) t LEFT JOIN LATERAL ({page}) p ON true",
            cond.with
        );
        let rows = self.query_rows(sql, params)?;
        let total = rows.first().map_or(0, |r| uint(r.get(0)));
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.get::<_, Option<i64>>(1).is_some() {
                records.push(stored(row, 1)?);
            }
        }
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
                "SELECT s.session, s.t_start, s.t_end, s.events, s.errors, s.denials, \
                        s.input_tokens, s.output_tokens, s.cost_usd, s.last_seq, s.agent \
                 FROM session_rollup s WHERE {} ORDER BY s.last_seq DESC LIMIT {limit}",
                cond.sql
            );
            (sql, cond.params)
        } else {
            let search = self.search_of(q)?;
            let cond = Where::new(q, search.as_ref());
            (format!("{} LIMIT {limit}", sessions_sql(&cond)), cond.params)
        };
        let rows = self.query_rows(sql, params)?;
        Ok(rows.iter().map(session_summary).collect())
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
            let search = self.search_of(q)?;
            let cond = Where::new(q, search.as_ref());
            (stats_sql(&cond), cond.params)
        };
        let rows = self.query_rows(sql, params)?;
        let mut s = Stats::default();
        let mut hours: BTreeMap<i64, HourBucket> = BTreeMap::new();
        for row in &rows {
            let hour: i64 = row.get(0);
            let (n, inp, out) = (uint(row.get(5)), uint(row.get(6)), uint(row.get(7)));
            let cost: f64 = row.get(8);
            s.events += n;
            *s.by_kind.entry(row.get(1)).or_default() += n;
            for (map, i) in [(&mut s.by_category, 2), (&mut s.by_status, 3), (&mut s.by_agent, 4)] {
                let key: String = row.get(i);
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

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        let note: Option<String> = self.pool.run(|s| {
            let stmt = s
                .stmts
                .get(&mut s.client, "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")?;
            let rows = s.client.query(&stmt, &[]).map_err(pg_err)?;
            Ok(rows.first().map(|r| r.get(0)))
        })?;
        note.map(|n| {
            SignedCheckpoint::parse(&n)
                .map_err(|e| StoreError::Invalid(format!("stored checkpoint: {e}")))
        })
        .transpose()
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        let notes: Vec<String> = self.pool.run(|s| {
            let stmt = s.stmts.get(&mut s.client, "SELECT note FROM checkpoints ORDER BY size")?;
            let rows = s.client.query(&stmt, &[]).map_err(pg_err)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })?;
        notes
            .iter()
            .map(|n| {
                SignedCheckpoint::parse(n)
                    .map_err(|e| StoreError::Invalid(format!("stored checkpoint: {e}")))
            })
            .collect()
    }

    fn put_checkpoint(&self, expected_latest: Option<u64>, cp: &SignedCheckpoint) -> Result<()> {
        let origin = self.origin.clone();
        let cp = cp.clone();
        self.pool.run(move |s| {
            let stmt = s.stmts.get(&mut s.client, NODE_SQL)?;
            let mut tx = s.client.transaction().map_err(pg_err)?;
            // The head's lock makes compare and swap atomic across processes.
            let head = tx
                .query_one("SELECT size, start FROM state WHERE id = 0 FOR UPDATE", &[])
                .map_err(pg_err)?;
            let (size, start) = (uint(head.get(0)), uint(head.get(1)));
            let latest: Option<String> = tx
                .query_opt("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1", &[])
                .map_err(pg_err)?
                .map(|r| r.get(0));
            let latest = latest
                .map(|n| {
                    SignedCheckpoint::parse(&n)
                        .map_err(|e| StoreError::Invalid(format!("stored checkpoint: {e}")))
                })
                .transpose()?;
            let anchor: Option<String> = tx
                .query_opt("SELECT json FROM anchor WHERE id = 0", &[])
                .map_err(pg_err)?
                .map(|r| r.get(0));
            let anchor = anchor
                .map(|j| {
                    serde_json::from_str::<Anchor>(&j)
                        .map_err(|e| StoreError::Invalid(format!("stored prune anchor: {e}")))
                })
                .transpose()?;
            let store = {
                let nodes = SessionNodes {
                    client: RefCell::new(&mut tx),
                    stmt,
                    start,
                    size,
                    anchor: anchor.as_ref(),
                };
                let root_at = |n: u64| trail_merkle::root(&nodes, n).map_err(crate::proof_err);
                check_checkpoint(&origin, size, root_at, latest.as_ref(), expected_latest, &cp)?
            };
            if store {
                tx.execute(
                    "INSERT INTO checkpoints (size, note) VALUES ($1, $2)",
                    &[&int(cp.checkpoint.size), &cp.to_string()],
                )
                .map_err(pg_err)?;
                tx.commit().map_err(pg_err)?;
            }
            Ok(())
        })
    }

    fn erase(&self, seqs: &[u64]) -> Result<u64> {
        let seqs: Vec<i64> = seqs.iter().map(|&s| int(s)).collect();
        self.pool.run(move |s| {
            let mut tx = s.client.transaction().map_err(pg_err)?;
            tx.execute("SELECT 1 FROM search_cursor WHERE id = 0 FOR UPDATE", &[])
                .map_err(pg_err)?;
            let erased =
                tx.execute("DELETE FROM bodies WHERE seq = ANY($1)", &[&seqs]).map_err(pg_err)?;
            tx.execute("DELETE FROM words WHERE seq = ANY($1)", &[&seqs]).map_err(pg_err)?;
            tx.execute("DELETE FROM words_overflow WHERE seq = ANY($1)", &[&seqs])
                .map_err(pg_err)?;
            tx.commit().map_err(pg_err)?;
            if erased > 0 {
                // The deleted rows are invisible at once, but their bytes stay in the table's
                // pages until a vacuum reclaims them; do not leave that to autovacuum. A failure
                // here changes nothing the caller can see (autovacuum comes later anyway), so it
                // does not turn the erasure into an error.
                let _ = s.client.batch_execute("VACUUM bodies, words, words_overflow");
            }
            Ok(erased)
        })
    }

    fn check_derived(&self, found: &mut dyn FnMut(Mismatch)) -> Result<()> {
        let mismatches = self.pool.run(|s| {
            // One snapshot: the records and the rollups as of one moment.
            let mut tx = s
                .client
                .build_transaction()
                .isolation_level(::postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg_err)?;
            let mut out = Vec::new();
            let mut rollup = Rollup::default();
            let mut next: i64 = 0;
            loop {
                let rows = tx
                    .query(
                        "SELECT seq, id, time, kind, category, action, status, agent, session, \
                         conversation, actor, source, trace_id, input_tokens, output_tokens, \
                         cost_usd, canonical FROM records WHERE seq >= $1 ORDER BY seq LIMIT 4096",
                        &[&next],
                    )
                    .map_err(pg_err)?;
                for row in &rows {
                    let seq: i64 = row.get(0);
                    next = seq + 1;
                    let canonical: Vec<u8> = row.get(16);
                    let Ok(record) = Record::from_canonical(&canonical) else { continue };
                    let cols = RecordColumns {
                        seq: uint(seq),
                        id: row.get(1),
                        time: row.get(2),
                        kind: row.get(3),
                        category: row.get(4),
                        action: row.get(5),
                        status: row.get(6),
                        agent: row.get(7),
                        session: row.get(8),
                        conversation: row.get(9),
                        actor: row.get(10),
                        source: row.get(11),
                        trace_id: row.get(12),
                        input_tokens: row.get(13),
                        output_tokens: row.get(14),
                        cost_usd: row.get(15),
                    };
                    compare_columns(&cols, &record, &mut |m| out.push(m));
                    rollup.add(&record);
                }
                if rows.len() < 4096 {
                    break;
                }
            }
            let stats = tx
                .query(
                    "SELECT hour, kind, category, status, agent, events, input_tokens, \
                     output_tokens, cost_usd FROM stats_rollup",
                    &[],
                )
                .map_err(pg_err)?
                .iter()
                .map(|r| {
                    (
                        (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)),
                        HourBucket {
                            events: uint(r.get(5)),
                            input_tokens: uint(r.get(6)),
                            output_tokens: uint(r.get(7)),
                            cost_usd: r.get(8),
                        },
                    )
                })
                .collect();
            let sessions = tx
                .query(
                    "SELECT s.session, s.t_start, s.t_end, s.events, s.errors, s.denials, \
                     s.input_tokens, s.output_tokens, s.cost_usd, s.last_seq, s.agent \
                     FROM session_rollup s",
                    &[],
                )
                .map_err(pg_err)?
                .iter()
                .map(session_summary)
                .collect();
            check_search_index(&mut tx, &mut out)?;
            tx.commit().map_err(pg_err)?;
            compare_rollups(&rollup, stats, sessions, &mut |m| out.push(m));
            Ok(out)
        })?;
        mismatches.into_iter().for_each(found);
        Ok(())
    }

    fn prune(&self, anchor: &Anchor) -> Result<u64> {
        let w = self.writer();
        let anchor = anchor.clone();
        let (removed, pruned) = self.pool.run(move |s| {
            let stmt = s.stmts.get(&mut s.client, NODE_SQL)?;
            let mut tx = s.client.transaction().map_err(pg_err)?;
            let head = tx
                .query_one("SELECT size, start FROM state WHERE id = 0 FOR UPDATE", &[])
                .map_err(pg_err)?;
            let (size, start) = (uint(head.get(0)), uint(head.get(1)));
            if anchor.size <= start {
                return Ok((0, false));
            }
            if anchor.size > size {
                return Err(StoreError::Invalid(format!(
                    "cannot prune to {} records: the log has {size}",
                    anchor.size
                )));
            }
            let old: Option<String> = tx
                .query_opt("SELECT json FROM anchor WHERE id = 0", &[])
                .map_err(pg_err)?
                .map(|r| r.get(0));
            let old = old
                .map(|j| {
                    serde_json::from_str::<Anchor>(&j)
                        .map_err(|e| StoreError::Invalid(format!("stored prune anchor: {e}")))
                })
                .transpose()?;
            {
                // The anchor replaces the pruned records in every later proof, so it must be
                // theirs.
                let nodes = SessionNodes {
                    client: RefCell::new(&mut tx),
                    stmt,
                    start,
                    size,
                    anchor: old.as_ref(),
                };
                let range =
                    CompactRange::from_reader(&nodes, anchor.size).map_err(crate::proof_err)?;
                let last = nodes.node(0, anchor.size - 1)?;
                if range.peaks() != anchor.peaks.as_slice() || last != anchor.last_hash {
                    return Err(StoreError::Invalid(format!(
                        "the prune anchor of size {} does not match the stored tree",
                        anchor.size
                    )));
                }
            }
            let cut = int(anchor.size);
            tx.execute("SELECT 1 FROM search_cursor WHERE id = 0 FOR UPDATE", &[])
                .map_err(pg_err)?;
            tx.execute("DELETE FROM words WHERE seq < $1", &[&cut]).map_err(pg_err)?;
            tx.execute("DELETE FROM words_overflow WHERE seq < $1", &[&cut]).map_err(pg_err)?;
            tx.execute("UPDATE search_cursor SET next = greatest(next, $1) WHERE id = 0", &[&cut])
                .map_err(pg_err)?;
            tx.execute("DELETE FROM bodies WHERE seq < $1", &[&cut]).map_err(pg_err)?;
            let removed =
                tx.execute("DELETE FROM records WHERE seq < $1", &[&cut]).map_err(pg_err)?;
            tx.execute("DELETE FROM checkpoints WHERE size < $1", &[&cut]).map_err(pg_err)?;
            // The rollups summarize the records kept: rebuild them (a prune is rare).
            let all = Where {
                sql: "true".into(),
                params: Vec::new(),
                with: String::new(),
                filters: String::new(),
            };
            tx.batch_execute(&format!(
                "DELETE FROM stats_rollup; INSERT INTO stats_rollup {}; \
                 DELETE FROM session_rollup; INSERT INTO session_rollup {};",
                stats_sql(&all),
                sessions_sql(&all)
            ))
            .map_err(pg_err)?;
            let json =
                serde_json::to_string(&anchor).map_err(|e| StoreError::Invalid(e.to_string()))?;
            tx.execute(
                "INSERT INTO anchor (id, size, json) VALUES (0, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET size = excluded.size, json = excluded.json",
                &[&cut, &json],
            )
            .map_err(pg_err)?;
            tx.execute("UPDATE state SET start = $1 WHERE id = 0", &[&cut]).map_err(pg_err)?;
            tx.commit().map_err(pg_err)?;
            Ok((removed, true))
        })?;
        drop(w);
        if pruned {
            let fresh = self.pool.run(read_shared)?;
            *self.shared.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        }
        Ok(removed)
    }

    fn anchor(&self) -> Result<Option<Anchor>> {
        let start = self.pool.run(|s| {
            let row =
                s.client.query_one("SELECT start FROM state WHERE id = 0", &[]).map_err(pg_err)?;
            Ok(uint(row.get(0)))
        })?;
        Ok(self.shared_at(start)?.anchor)
    }

    fn disk_bytes(&self) -> Result<u64> {
        let schema = self.schema.clone();
        self.pool.run(move |s| {
            let row = s
                .client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relkind = 'r'",
                    &[&schema],
                )
                .map_err(pg_err)?;
            Ok(uint(row.get(0)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_identifiers_and_distinct() {
        let a = schema_for_origin("trail.test/conformance");
        assert!(is_schema_name(&a), "{a}");
        assert!(a.starts_with("trail_trail_test_conformance_"), "{a}");
        assert_ne!(a, schema_for_origin("trail.test/Conformance"));
        assert!(is_schema_name(&schema_for_origin(&"é".repeat(200))));
        assert!(!is_schema_name("Bad"));
        assert!(!is_schema_name("a;drop"));
        assert!(!is_schema_name(""));
    }

    #[test]
    fn lexemes_are_query_words_sorted_and_distinct() {
        let text = r#"{"text":"Hello hello WORLD İstanbul x² 東京"}"#;
        let mut expect = crate::query::words(text);
        expect.sort_unstable();
        expect.dedup();
        assert_eq!(body_lexemes(text.as_bytes()), expect);
    }

    #[test]
    fn long_words_become_hashes_on_both_sides() {
        let long = "a".repeat(MAX_LEXEME + 1);
        let l = lexeme(&long);
        assert_eq!(l.len(), 33);
        assert!(l.starts_with('#'));
        assert_eq!(query_lexemes(std::slice::from_ref(&long)), vec![l]);
        assert_eq!(lexeme(&"b".repeat(MAX_LEXEME)), "b".repeat(MAX_LEXEME));
    }

    #[test]
    fn tsquery_quotes_every_lexeme() {
        assert_eq!(tsquery(&["a".into(), "it's".into(), "x\\".into()]), r"'a' & 'it''s' & 'x\\'");
    }

    #[test]
    fn parts_stay_under_the_vector_limit() {
        let lexemes: Vec<String> = (0..300_000).map(|i| format!("w{i:07}")).collect();
        let parts = vector_parts(&lexemes);
        assert!(parts.len() > 1);
        assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), lexemes.len());
        for p in parts {
            assert!(p.iter().map(String::len).sum::<usize>() <= MAX_VECTOR_BYTES);
        }
        assert_eq!(vector_parts(&[]).len(), 1);
    }

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
