//! [`Store::check_derived`] for SQLite: filter columns, rollups, tree nodes and the search index
//! held to the records.

use rusqlite::Connection;
use trail_core::Record;
use trail_merkle::CompactRange;

use super::append::push_words;
use super::read_anchor;
use crate::derived::{Mismatch, Rollup, compare_columns, compare_rollups};
use crate::sql::{
    CHECKED_COLUMNS, SESSION_ROLLUP_ROWS, STATS_ROLLUP_ROWS, record_columns, session_summary,
    stats_group,
};
use crate::{Result, StoreError};

/// [`Store::check_derived`] inside one read transaction: every `records` row against its
/// canonical bytes, then both rollup tables against the fold of the records.
pub(super) fn check_derived_in(conn: &Connection, found: &mut dyn FnMut(Mismatch)) -> Result<()> {
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
    let mut stmt = conn.prepare(&format!(
        "SELECT {CHECKED_COLUMNS}, tree FROM records WHERE seq >= ?1 ORDER BY seq LIMIT 4096"
    ))?;
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
            let cols = record_columns(row)?;
            compare_columns(&cols, &record, found);
            rollup.add(&record);
        }
        if n < 4096 {
            break;
        }
    }
    let mut stats = Vec::new();
    let mut stmt = conn.prepare(STATS_ROLLUP_ROWS)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        stats.push(stats_group(row)?);
    }
    let mut sessions = Vec::new();
    let mut stmt = conn.prepare(SESSION_ROLLUP_ROWS)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        sessions.push(session_summary(row)?);
    }
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
