//! Reading: records and tree nodes from rows, a query's search as SQL, and rows as
//! [`Columns`] for what the SQL stores share.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};
use trail_core::verify::Anchor;
use trail_merkle::Hash;

use crate::sql::{Columns, Param, TreeColumn, Where, int, node_of, stored_record};
use crate::{Query, Result, StoredRecord};

/// Tree nodes read through one connection.
pub(super) fn conn_nodes<'a>(
    conn: &'a Connection,
    start: u64,
    size: u64,
    anchor: Option<&'a Anchor>,
) -> TreeColumn<'a, impl Fn(u64, u32) -> Result<Option<Hash>> + 'a> {
    let read = move |seq: u64, level: u32| -> Result<Option<Hash>> {
        let mut stmt = conn.prepare_cached("SELECT tree FROM records WHERE seq = ?1")?;
        let tree: Option<Vec<u8>> = stmt.query_row([int(seq)], |r| r.get(0)).optional()?;
        Ok(tree.and_then(|t| node_of(&t, level)))
    };
    TreeColumn { read, start, size, anchor }
}

/// The records `sql` selects in [`crate::sql::RECORD_COLUMNS`] order.
pub(super) fn read_records(
    conn: &Connection,
    sql: &str,
    params: &[Param],
) -> Result<Vec<StoredRecord>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(value)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let tree: &[u8] = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        let salt: Option<&[u8]> =
            row.get_ref(3)?.as_blob_or_null().map_err(rusqlite::Error::from)?;
        out.push(stored_record(row.get(0)?, tree, row.get(2)?, salt, row.get(4)?)?);
    }
    Ok(out)
}

/// `w` with `q`'s search added: every word quoted, so the caller's text is never FTS5 syntax.
pub(super) fn with_search(mut w: Where, q: &Query) -> Where {
    let words = q.search_words();
    if !words.is_empty() {
        let expr = words
            .iter()
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ");
        w.push("r.seq IN (SELECT rowid FROM fts WHERE fts MATCH ?)", Param::Text(expr));
    }
    w
}

/// A parameter as SQLite binds it.
pub(super) fn value(p: &Param) -> Value {
    match p {
        Param::Int(v) => Value::Integer(*v),
        Param::Text(v) => Value::Text(v.clone()),
        // SQLite has no arrays; no query of this store makes one.
        Param::Ints(v) => Value::Text(format!("{v:?}")),
    }
}

/// Parameters as SQLite binds them.
pub(super) fn values(params: &[Param]) -> impl rusqlite::Params + '_ {
    rusqlite::params_from_iter(params.iter().map(value))
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }

    fn real(&self, i: usize) -> Result<f64> {
        Ok(self.get(i)?)
    }

    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        Ok(self.get(i)?)
    }

    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
}
