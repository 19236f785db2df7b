//! Search: the words of each body as `tsvector` lexemes cut in Rust, the index caught up
//! behind the appends, a query's words as SQL, and the index checked against the bodies.

use std::fmt::Write as _;

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::ToSql;

use super::copy::{CopyBuf, WORDS_COPY};
use super::{PostgresStore, Session, pg_err};
use crate::derived::Mismatch;
use crate::sql::{Param, Where, uint};
use crate::{Query, Result, StoreError};

impl PostgresStore {
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

    /// `w` with `q`'s search added, once the index has caught up: the matches are collected
    /// once through the GIN index in a `WITH hits` clause (`MATERIALIZED`, so the planner cannot
    /// trade that for a scan in seq order on a bad estimate) and serve the total and the page
    /// alike.
    pub(super) fn searched(&self, mut w: Where, q: &Query) -> Result<Where> {
        let words = q.search_words();
        if words.is_empty() {
            return Ok(w);
        }
        self.index_all()?;
        let lexemes = query_lexemes(&words);
        let overflow = self.overflow_hits(&lexemes)?;
        w.params.push(Param::Text(tsquery(&lexemes)));
        w.with = format!(
            "WITH hits AS MATERIALIZED (SELECT w.seq FROM words w \
             WHERE w.words @@ ${}::text::tsquery",
            w.params.len()
        );
        if !overflow.is_empty() {
            w.params.push(Param::Ints(overflow));
            let _ = write!(w.with, " UNION SELECT unnest(${}::int8[])", w.params.len());
        }
        w.with.push_str(") ");
        w.sql.push_str(" AND r.seq IN (SELECT seq FROM hits)");
        Ok(w)
    }
}

/// The longest lexeme a `tsvector` holds, in bytes.
pub(super) const MAX_LEXEME: usize = 2047;

/// What one `tsvector` may hold in lexeme bytes (PostgreSQL's limit is 1 MiB - 1), with room to
/// spare.
pub(super) const MAX_VECTOR_BYTES: usize = 1_000_000;

/// The distinct words of a body as lexemes, sorted by bytes (the order `tsvector` keeps).
pub(super) fn body_lexemes(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut out: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(lexeme).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The lexeme of one word: the word lowercased as [`crate::query::words`] does, or, when that
/// is too long for a lexeme, `#` and 32 hex digits of its hash.
pub(super) fn lexeme(word: &str) -> String {
    let lower = if word.is_ascii() { word.to_ascii_lowercase() } else { word.to_lowercase() };
    if lower.len() <= MAX_LEXEME {
        return lower;
    }
    let hex = trail_merkle::leaf_hash(lower.as_bytes()).to_hex();
    format!("#{}", &hex[..32])
}

/// The lexemes of search words (already lowercased by [`Query::search_words`]).
pub(super) fn query_lexemes(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = words.iter().map(|w| lexeme(w)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `'a' & 'b'`: every lexeme quoted, so nothing in it is `tsquery` syntax.
pub(super) fn tsquery(lexemes: &[String]) -> String {
    lexemes
        .iter()
        .map(|l| format!("'{}'", l.replace('\\', "\\\\").replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// Splits sorted lexemes into parts that each fit one `tsvector`.
pub(super) fn vector_parts(lexemes: &[String]) -> Vec<&[String]> {
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

/// Bodies indexed per transaction when catching up.
pub(super) const INDEX_CHUNK: usize = 10_000;

/// Body bytes read per indexing transaction, so large bodies do not pile up in memory.
pub(super) const INDEX_BYTES: usize = 32 << 20;

/// Indexes the bodies of up to `max` records from the search cursor on; returns how many
/// records the cursor moved over.
pub(super) fn index_chunk(s: &mut Session, max: i64) -> Result<u64> {
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

/// The search index against the bodies, in the caller's snapshot: every body below the index
/// cursor must have exactly its lexemes indexed (in `words`, or in parts in `words_overflow`),
/// no entry may stand for a record without a body, and the cursor must not skip ahead of the log.
pub(super) fn check_search_index(
    tx: &mut ::postgres::Transaction<'_>,
    out: &mut Vec<Mismatch>,
) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
