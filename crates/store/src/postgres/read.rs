//! Reading rows: records, tree nodes and parameters as the `postgres` client takes them.

use std::cell::RefCell;

use ::postgres::types::{ToSql, Type};
use ::postgres::{GenericClient, Row, Statement};
use trail_core::verify::Anchor;
use trail_merkle::Hash;

use super::pg_err;
use crate::sql::{Columns, Param, TreeColumn, int, node_of, stored_record};
use crate::{Result, StoreError, StoredRecord};

/// The statement [`session_nodes`] reads a node with.
pub(super) const NODE_SQL: &str = "SELECT tree FROM records WHERE seq = $1";

/// Tree nodes read through one connection (or transaction), with `stmt` prepared from
/// [`NODE_SQL`] on it.
pub(super) fn session_nodes<'a, C: GenericClient>(
    client: &'a mut C,
    stmt: Statement,
    start: u64,
    size: u64,
    anchor: Option<&'a Anchor>,
) -> TreeColumn<'a, impl Fn(u64, u32) -> Result<Option<Hash>> + 'a> {
    let client = RefCell::new(client);
    let read = move |seq: u64, level: u32| -> Result<Option<Hash>> {
        let row = client.borrow_mut().query_opt(&stmt, &[&int(seq)]).map_err(pg_err)?;
        Ok(row.and_then(|r| node_of(r.get(0), level)))
    };
    TreeColumn { read, start, size, anchor }
}

/// A record whose [`crate::sql::RECORD_COLUMNS`] start at column `at`.
pub(super) fn stored(row: &Row, at: usize) -> Result<StoredRecord> {
    stored_record(row.get(at), row.get(at + 1), row.get(at + 2), row.get(at + 3), row.get(at + 4))
}

pub(super) fn read_records(rows: &[Row]) -> Result<Vec<StoredRecord>> {
    rows.iter().map(|r| stored(r, 0)).collect()
}

/// Parameters with the types the statement is planned for.
pub(super) fn typed(params: &[Param]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|p| match p {
            Param::Int(v) => (v as &(dyn ToSql + Sync), Type::INT8),
            Param::Text(v) => (v as &(dyn ToSql + Sync), Type::TEXT),
            Param::Ints(v) => (v as &(dyn ToSql + Sync), Type::INT8_ARRAY),
        })
        .collect()
}

/// A 32-byte hash column.
pub(super) fn hash_col(row: &Row, i: usize) -> Result<Hash> {
    Hash::from_slice(row.get::<_, &[u8]>(i))
        .map_err(|e| StoreError::Invalid(format!("stored hash in column {i}: {e}")))
}

impl Columns for Row {
    fn int(&self, i: usize) -> Result<i64> {
        self.try_get(i).map_err(pg_err)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.try_get(i).map_err(pg_err)
    }

    fn real(&self, i: usize) -> Result<f64> {
        self.try_get(i).map_err(pg_err)
    }

    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        self.try_get(i).map_err(pg_err)
    }

    fn text(&self, i: usize) -> Result<String> {
        self.try_get(i).map_err(pg_err)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.try_get(i).map_err(pg_err)
    }
}
