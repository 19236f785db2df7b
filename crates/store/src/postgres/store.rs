//! [`Store`] for [`PostgresStore`].

use std::sync::PoisonError;

use ::postgres::error::SqlState;
use trail_core::note::NoteSignature;
use trail_core::verify::Anchor;
use trail_core::{Record, Sealed, SignedCheckpoint};
use trail_merkle::Hash;

use super::append::{Appended, append_tx};
use super::copy::encode;
use super::read::{NODE_SQL, hash_col, read_records, session_nodes, stored};
use super::search::check_search_index;
use super::{PostgresStore, SCAN_CHUNK, pg_err, read_shared, writer_conn};
use crate::derived::{Mismatch, Rollup, compare_columns, compare_rollups};
use crate::sql::{
    CHECKED_COLUMNS, POSTGRES, Param, RECORD_COLUMNS, RECORD_FROM, SESSION_ROLLUP_ROWS,
    STATS_ROLLUP_ROWS, StatsFold, Where, int, last_leaf, node_of, parse_anchor, parse_checkpoint,
    record_columns, scan_chunked, session_summary, sessions_of_records, sessions_sql, stats_group,
    stats_of_records, stats_sql, uint,
};
use crate::tree::{anchor_peak, check_anchor, check_batch, check_checkpoint, prune_cuts};
use crate::{
    Durability, Page, Query, Result, SessionSummary, Stats, Store, StoreError, StoredRecord,
    TreeState,
};

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
        let mut read = |next: u64, to: u64| {
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
            read_records(&rows)
        };
        scan_chunked(from, to, SCAN_CHUNK as usize, &mut read, visit)
    }

    fn entries(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let (lo, hi) = (int(from), int(to));
        let rows = self.pool.run(move |s| {
            let stmt = s.stmts.get(
                &mut s.client,
                "SELECT seq, canonical FROM records WHERE seq >= $1 AND seq < $2 ORDER BY seq",
            )?;
            s.client.query(&stmt, &[&lo, &hi]).map_err(pg_err)
        })?;
        for row in &rows {
            let canonical: &[u8] = row.try_get(1).map_err(pg_err)?;
            visit(uint(row.get(0)), canonical)?;
        }
        Ok(())
    }

    fn nodes(&self, level: u32, indexes: std::ops::Range<u64>) -> Result<Vec<Hash>> {
        // One query for the rows that hold these nodes; what it does not find (a pruned part
        // of the tree, held by the anchor) is read one by one.
        let leaves: Vec<i64> =
            indexes.clone().filter_map(|i| last_leaf(level, i)).map(int).collect();
        let rows = self.pool.run(move |s| {
            let stmt =
                s.stmts.get(&mut s.client, "SELECT seq, tree FROM records WHERE seq = ANY($1)")?;
            s.client.query(&stmt, &[&leaves]).map_err(pg_err)
        })?;
        let found: std::collections::HashMap<u64, Vec<u8>> =
            rows.iter().map(|r| (uint(r.get(0)), r.get::<_, Vec<u8>>(1))).collect();
        indexes
            .map(|i| {
                match last_leaf(level, i)
                    .and_then(|leaf| found.get(&leaf))
                    .and_then(|t| node_of(t, level))
                {
                    Some(h) => Ok(h),
                    None => self.node(level, i),
                }
            })
            .collect()
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
        let filters = Where::records(q, POSTGRES);
        let cond = self.searched(filters.clone(), q)?;
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
                filters.sql,
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
        let (sql, params) = sessions_sql(q, POSTGRES, |w| self.searched(w, q))?;
        let rows = self.query_rows(sql, params)?;
        rows.iter().map(session_summary).collect()
    }

    fn stats(&self, q: &Query) -> Result<Stats> {
        let (sql, params) = stats_sql(q, POSTGRES, |w| self.searched(w, q))?;
        let mut fold = StatsFold::default();
        for row in &self.query_rows(sql, params)? {
            fold.add(row)?;
        }
        Ok(fold.finish())
    }

    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        let note: Option<String> = self.pool.run(|s| {
            let stmt = s
                .stmts
                .get(&mut s.client, "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")?;
            let rows = s.client.query(&stmt, &[]).map_err(pg_err)?;
            Ok(rows.first().map(|r| r.get(0)))
        })?;
        note.map(|n| parse_checkpoint(&n)).transpose()
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        let notes: Vec<String> = self.pool.run(|s| {
            let stmt = s.stmts.get(&mut s.client, "SELECT note FROM checkpoints ORDER BY size")?;
            let rows = s.client.query(&stmt, &[]).map_err(pg_err)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })?;
        notes.iter().map(|n| parse_checkpoint(n)).collect()
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
            let latest = latest.map(|n| parse_checkpoint(&n)).transpose()?;
            let anchor: Option<String> = tx
                .query_opt("SELECT json FROM anchor WHERE id = 0", &[])
                .map_err(pg_err)?
                .map(|r| r.get(0));
            let anchor = anchor.map(|j| parse_anchor(&j)).transpose()?;
            let store = {
                let nodes = session_nodes(&mut tx, stmt, start, size, anchor.as_ref());
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

    fn add_cosignatures(&self, size: u64, root: &Hash, sigs: &[NoteSignature]) -> Result<usize> {
        let (root, sigs) = (*root, sigs.to_vec());
        self.pool.run(move |s| {
            let mut tx = s.client.transaction().map_err(pg_err)?;
            let stored: Option<String> = tx
                .query_opt("SELECT note FROM checkpoints WHERE size = $1 FOR UPDATE", &[&int(size)])
                .map_err(pg_err)?
                .map(|r| r.get(0));
            let stored = stored.ok_or_else(|| crate::tree::no_checkpoint(size))?;
            let Some((text, n)) = crate::tree::with_cosignatures(&stored, size, &root, &sigs)?
            else {
                return Ok(0);
            };
            tx.execute("UPDATE checkpoints SET note = $1 WHERE size = $2", &[&text, &int(size)])
                .map_err(pg_err)?;
            tx.commit().map_err(pg_err)?;
            Ok(n)
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
                        &format!(
                            "SELECT {CHECKED_COLUMNS} FROM records WHERE seq >= $1 \
                             ORDER BY seq LIMIT 4096"
                        ),
                        &[&next],
                    )
                    .map_err(pg_err)?;
                for row in &rows {
                    let seq: i64 = row.get(0);
                    next = seq + 1;
                    let canonical: Vec<u8> = row.get(16);
                    let Ok(record) = Record::from_canonical(&canonical) else { continue };
                    let cols = record_columns(row)?;
                    compare_columns(&cols, &record, &mut |m| out.push(m));
                    rollup.add(&record);
                }
                if rows.len() < 4096 {
                    break;
                }
            }
            let stats = tx
                .query(STATS_ROLLUP_ROWS, &[])
                .map_err(pg_err)?
                .iter()
                .map(stats_group)
                .collect::<Result<Vec<_>>>()?;
            let sessions = tx
                .query(SESSION_ROLLUP_ROWS, &[])
                .map_err(pg_err)?
                .iter()
                .map(session_summary)
                .collect::<Result<Vec<_>>>()?;
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
            if !prune_cuts(&anchor, start, size)? {
                return Ok((0, false));
            }
            let old: Option<String> = tx
                .query_opt("SELECT json FROM anchor WHERE id = 0", &[])
                .map_err(pg_err)?
                .map(|r| r.get(0));
            let old = old.map(|j| parse_anchor(&j)).transpose()?;
            check_anchor(&anchor, &session_nodes(&mut tx, stmt, start, size, old.as_ref()))?;
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
            let all = Where::always(POSTGRES);
            tx.batch_execute(&format!(
                "DELETE FROM stats_rollup; INSERT INTO stats_rollup {}; \
                 DELETE FROM session_rollup; INSERT INTO session_rollup {};",
                stats_of_records(&all),
                sessions_of_records(&all)
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
