//! A log's tables and the schema (PostgreSQL's namespace) they live in.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Conn, pg_err, settings};
use crate::Result;

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

/// Test sessions get distinct schema names; see `scratch_schema`.
pub(super) static SCRATCH: AtomicU64 = AtomicU64::new(0);

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
}
