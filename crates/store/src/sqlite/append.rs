//! Appending: one transaction per batch (records, bodies, tree nodes and rollups), and the
//! search index caught up behind it.

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use trail_core::Sealed;

use super::{SqliteStore, Writer, set_synchronous};
use crate::derived::Rollup;
use crate::sql::{int, session_ints};
use crate::tree::check_batch;
use crate::{Result, StoreError, TreeState};

impl SqliteStore {
    /// Appends a batch in one transaction, under the writer's lock.
    pub(super) fn append_locked(&self, w: &mut Writer, batch: &[Sealed]) -> Result<()> {
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
}

/// Indexes the bodies of up to `max` records from the FTS cursor on; returns how many records
/// the cursor moved over.
pub(super) fn index_chunk(w: &mut Writer, max: usize) -> Result<u64> {
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
/// The longest word the search index holds, in bytes.
pub(crate) const MAX_INDEXED_WORD: usize = 32 * 1024;

pub(super) fn push_words(text: &str, out: &mut String) {
    // FTS5 drops tokens over its limit (32 KiB) without a word, so the index and its check
    // would disagree on them; nobody searches for a word that long, so none is indexed.
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.len() <= MAX_INDEXED_WORD)
    {
        if word.is_ascii() {
            out.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            out.push_str(&word.to_lowercase());
        }
        out.push(' ');
    }
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
            let [t_start, t_end, events, errors, denials, input, output, last] = session_ints(e);
            sessions.execute(params![
                e.session, t_start, t_end, events, errors, denials, input, output, e.cost_usd,
                last, e.agent
            ])?;
        }
        Ok(())
    }
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
