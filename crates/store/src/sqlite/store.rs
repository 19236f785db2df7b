//! [`Store`] for [`SqliteStore`].

use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use trail_core::note::NoteSignature;
use trail_core::verify::Anchor;
use trail_core::{Sealed, SignedCheckpoint};
use trail_merkle::{Hash, NodeReader};

use super::check::check_derived_in;
use super::journal::journal_path;
use super::read::{conn_nodes, read_records, values, with_search};
use super::{SCAN_CHUNK, SqliteStore, wal_path};
use crate::derived::Mismatch;
use crate::sql::{
    Param, RECORD_COLUMNS, RECORD_FROM, SQLITE, StatsFold, Where, int, parse_checkpoint,
    scan_chunked, session_summary, sessions_of_records, sessions_sql, stats_of_records, stats_sql,
};
use crate::tree::{check_anchor, check_checkpoint, prune_cuts};
use crate::{
    Durability, Page, Query, Result, SessionSummary, Stats, Store, StoreError, StoredRecord,
    TreeState,
};

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn state(&self) -> Result<TreeState> {
        let s = self.shared.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(TreeState { size: s.range.size(), last_hash: s.last_hash, root: s.range.root() })
    }

    fn append(&self, batch: &[Sealed]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.append_batch(batch, None)
    }

    fn append_one(&self, sealed: Sealed) -> std::result::Result<(), Box<(StoreError, Sealed)>> {
        let kept = Arc::new(sealed);
        match self.append_batch(std::slice::from_ref(&*kept), Some(kept.clone())) {
            Ok(()) => Ok(()),
            // Refused before the journal kept it: this is the only reference left.
            Err(e) => {
                Err(Box::new((e, Arc::try_unwrap(kept).unwrap_or_else(|kept| (*kept).clone()))))
            }
        }
    }

    fn durability(&self) -> Durability {
        self.head.lock().durability
    }

    fn quick_appends(&self) -> bool {
        self.durability() == Durability::Checkpoint
    }

    fn set_durability(&self, durability: Durability) -> Result<()> {
        self.head.lock().durability = durability;
        Ok(())
    }

    fn find_ids(&self, ids: &[&str]) -> Result<Vec<StoredRecord>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.id = ?1");
        self.read(|conn| {
            let mut out = Vec::new();
            for id in ids {
                out.extend(read_records(conn, &sql, &[Param::Text((*id).to_owned())])?);
            }
            Ok(out)
        })
    }

    fn get(&self, seq: u64) -> Result<Option<StoredRecord>> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.seq = ?1");
        Ok(self.read(|conn| read_records(conn, &sql, &[Param::Int(int(seq))]))?.pop())
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
        let mut read = |next: u64, to: u64| {
            self.read(|conn| {
                read_records(conn, &sql, &[Param::Int(int(next)), Param::Int(int(to))])
            })
        };
        scan_chunked(from, to, SCAN_CHUNK, &mut read, visit)
    }

    fn entries(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, canonical FROM records WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
            )?;
            let mut rows = stmt.query([int(from), int(to)])?;
            while let Some(row) = rows.next()? {
                let canonical = row.get_ref(1)?;
                let bytes = match canonical {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => b,
                    _ => {
                        return Err(StoreError::Invalid(
                            "a record's canonical bytes are missing".into(),
                        ));
                    }
                };
                visit(crate::sql::uint(row.get(0)?), bytes)?;
            }
            Ok(())
        })
    }

    fn nodes(&self, level: u32, indexes: std::ops::Range<u64>) -> Result<Vec<Hash>> {
        let shared = self.shared();
        self.read(|conn| {
            let nodes = conn_nodes(conn, shared.start, shared.range.size(), shared.anchor.as_ref());
            indexes.map(|i| nodes.node(level, i)).collect()
        })
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let shared = self.shared();
        self.read(|conn| {
            conn_nodes(conn, shared.start, shared.range.size(), shared.anchor.as_ref())
                .node(level, index)
        })
    }

    fn query(&self, q: &Query) -> Result<Page> {
        if !q.search_words().is_empty() {
            self.catch_up()?;
        }
        let limit = q.page_size();
        let cond = with_search(Where::records(q, SQLITE), q);
        let mut page = cond.clone();
        if let Some(c) = q.cursor {
            let op = if q.ascending { ">" } else { "<" };
            page.push(&format!("r.seq {op} ?"), Param::Int(int(c)));
        }
        let order = if q.ascending { "ASC" } else { "DESC" };
        let page_sql = format!(
            "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE {} ORDER BY r.seq {order} LIMIT {}",
            page.sql,
            limit + 1
        );
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
            let records = read_records(&tx, &page_sql, &page.params)?;
            let total: i64 =
                tx.prepare_cached(&count_sql)?.query_row(values(&cond.params), |r| r.get(0))?;
            Ok((records, total as u64))
        })?;
        let more = records.len() > limit;
        records.truncate(limit);
        let next_cursor = if more { records.last().map(|r| r.seq) } else { None };
        Ok(Page { records, next_cursor, total })
    }

    fn sessions(&self, q: &Query) -> Result<Vec<SessionSummary>> {
        let (sql, params) = sessions_sql(q, SQLITE, |w| self.searched(w, q))?;
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(values(&params))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(session_summary(row)?);
            }
            Ok(out)
        })
    }

    fn stats(&self, q: &Query) -> Result<Stats> {
        let (sql, params) = stats_sql(q, SQLITE, |w| self.searched(w, q))?;
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(values(&params))?;
            let mut fold = StatsFold::default();
            while let Some(row) = rows.next()? {
                fold.add(row)?;
            }
            Ok(fold.finish())
        })
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        let notes: Vec<String> = self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT note FROM checkpoints ORDER BY size")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        notes.iter().map(|n| parse_checkpoint(n)).collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        let note: Option<String> = self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")?;
            Ok(stmt.query_row([], |r| r.get(0)).optional()?)
        })?;
        note.map(|n| parse_checkpoint(&n)).transpose()
    }

    fn put_checkpoint(&self, expected_latest: Option<u64>, cp: &SignedCheckpoint) -> Result<()> {
        let mut w = self.writer()?;
        let shared = self.shared();
        let size = w.range.size();
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let latest: Option<String> = tx
            .prepare_cached("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        let latest = latest.map(|n| parse_checkpoint(&n)).transpose()?;
        let new = {
            let nodes = conn_nodes(&tx, shared.start, size, shared.anchor.as_ref());
            let root_at = |s: u64| trail_merkle::root(&nodes, s).map_err(crate::proof_err);
            check_checkpoint(&self.origin, size, root_at, latest.as_ref(), expected_latest, cp)?
        };
        if new {
            tx.execute(
                "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                params![int(cp.checkpoint.size), cp.to_string()],
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    fn add_cosignatures(&self, size: u64, root: &Hash, sigs: &[NoteSignature]) -> Result<usize> {
        let mut w = self.writer()?;
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored: Option<String> = tx
            .prepare_cached("SELECT note FROM checkpoints WHERE size = ?1")?
            .query_row([int(size)], |r| r.get(0))
            .optional()?;
        let stored = stored.ok_or_else(|| crate::tree::no_checkpoint(size))?;
        let Some((text, n)) = crate::tree::with_cosignatures(&stored, size, root, sigs)? else {
            return Ok(0);
        };
        tx.execute("UPDATE checkpoints SET note = ?1 WHERE size = ?2", params![text, int(size)])?;
        tx.commit()?;
        Ok(n)
    }

    fn erase(&self, seqs: &[u64]) -> Result<u64> {
        self.wipe_journal()?;
        let mut w = self.writer()?;
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
        self.drain(false)?;
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
            None => check(&self.writer()?.conn),
        }
    }

    fn prune(&self, anchor: &Anchor) -> Result<u64> {
        self.wipe_journal()?;
        let mut w = self.writer()?;
        let shared = self.shared();
        let size = w.range.size();
        if !prune_cuts(anchor, shared.start, size)? {
            return Ok(0);
        }
        let fts_next = w.fts_next;
        let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        check_anchor(anchor, &conn_nodes(&tx, shared.start, size, shared.anchor.as_ref()))?;
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
            stats_of_records(&Where::always(SQLITE)),
            sessions_of_records(&Where::always(SQLITE))
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
        for p in [path.clone(), wal_path(path), journal_path(path)] {
            match std::fs::metadata(&p) {
                Ok(m) => total += m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { path: p, source }),
            }
        }
        Ok(total)
    }
}
