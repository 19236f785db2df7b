//! Appending: a small batch through the append journal (see `journal.rs`), committed to the
//! database behind the acknowledgement in one transaction per many records; a large one in its
//! own transaction (records, bodies, tree nodes and rollups); and the search index caught up
//! behind both.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use trail_core::Sealed;

use super::journal::{self, Journal};
use super::{
    DRAIN_AT, DRAIN_LINGER, Head, HeadLock, SqliteStore, Writer, lock_writer, set_synchronous,
};
use crate::derived::Rollup;
use crate::sql::{int, session_ints};
use crate::tree::check_batch;
use crate::{Durability, Result, StoreError};

impl SqliteStore {
    /// Appends a batch: through the journal when it is small and this store holds one, else in
    /// one database transaction after every journaled record.
    /// `kept`, when given, is `batch`'s one record, shared: journaled, it is kept as it is
    /// instead of copied.
    pub(super) fn append_batch(
        &self,
        batch: &[Sealed],
        mut kept: Option<Arc<Sealed>>,
    ) -> Result<()> {
        let mut h = self.head.lock();
        if let Some(reason) = &h.refused {
            return Err(StoreError::Invalid(reason.clone()));
        }
        check_batch(&self.origin, h.range.size(), h.last_hash, batch)?;
        let sync = h.durability == Durability::Commit;
        if h.journal.is_some() && journal::journaled(batch) {
            self.check_new_ids(&h, batch)?;
            let fits = h.journal.as_ref().is_some_and(|j| j.fits(batch));
            if !fits {
                drain_locked(&self.origin, &mut h, &self.writer, &self.head, self.wal.as_deref())?;
            }
            let Some(j) = h.journal.as_mut() else { unreachable!("checked above") };
            if let Err(e) = j.write(batch, sync) {
                // What reached the file is unknown: a later frame must not follow it.
                h.refused = Some(format!(
                    "writing the append journal failed ({e}); reopen the log to recover what it holds"
                ));
                return Err(e);
            }
            let before = h.pending.len();
            for s in batch {
                h.range.append(s.hash);
                // Generated ids too: a client may send one again (a retry with the id its
                // acknowledgement gave it).
                h.pending_ids.insert(s.record.id.clone(), s.record.seq);
                h.pending.push(kept.take().unwrap_or_else(|| Arc::new(s.clone())));
            }
            h.last_hash = batch[batch.len() - 1].hash;
            let n = h.pending.len();
            self.head.pending.store(n, Ordering::Release);
            // Woken when there is something to linger over, and when the batch is due. Not on
            // every append past that: each notify is a system call, and the drainer looks at
            // the count under this lock before it waits again.
            if before == 0 || (before < DRAIN_AT && n >= DRAIN_AT) {
                self.head.wake.notify_one();
            }
        } else {
            drain_locked(&self.origin, &mut h, &self.writer, &self.head, self.wal.as_deref())?;
            let mut w = lock_writer(&self.writer);
            insert(&self.origin, &mut w, batch.iter(), sync)?;
            h.range = w.range.clone();
            h.last_hash = w.last_hash;
        }
        self.set_shared(|s| {
            s.range.clone_from(&h.range);
            s.last_hash = h.last_hash;
        });
        Ok(())
    }

    /// Commits every journaled record to the database (synced), then zeroes the journal: an
    /// erasure or a prune must leave no copy of a body behind, and the journal held each body
    /// until it reached the database (and keeps old frames until they are overwritten).
    pub(super) fn wipe_journal(&self) -> Result<()> {
        let mut h = self.head.lock();
        if h.journal.is_none() {
            return Ok(());
        }
        let committed =
            commit_pending(&self.origin, &self.writer, &h.pending, self.wal.as_deref())?;
        let _forgotten = forget_committed(&mut h, &self.head, committed, true);
        match h.journal.as_mut() {
            Some(j) => j.wipe(),
            None => Ok(()),
        }
    }

    /// Refuses a batch whose id is journaled or in the database already (the database's unique
    /// index would refuse it only when the journaled record is committed, after it was
    /// acknowledged).
    fn check_new_ids(&self, h: &Head, batch: &[Sealed]) -> Result<()> {
        for s in batch {
            if let Some(seq) = h.pending_ids.get(&s.record.id) {
                return Err(StoreError::DuplicateId { id: s.record.id.clone(), seq });
            }
        }
        // A generated id is new everywhere: only ids clients gave are looked up.
        if batch.iter().all(|s| s.fresh_id) {
            return Ok(());
        }
        // A record's id leaves `pending_ids` only after its commit, under the head's lock that
        // the caller holds, so every id is in one of the two.
        let found = self.read_database(|conn| {
            let mut stmt = conn.prepare_cached("SELECT seq FROM records WHERE id = ?1")?;
            for s in batch.iter().filter(|s| !s.fresh_id) {
                let seq: Option<i64> = stmt.query_row([&s.record.id], |r| r.get(0)).optional()?;
                if let Some(seq) = seq {
                    return Ok(Some((s.record.id.clone(), seq as u64)));
                }
            }
            Ok(None)
        })?;
        match found {
            Some((id, seq)) => Err(StoreError::DuplicateId { id, seq }),
            None => Ok(()),
        }
    }
}

/// Commits every journaled record to the database (the caller does not hold the head's lock).
/// With `sync` (`wal`: the database's write-ahead log) the database is synced after, so the
/// journal may start again once nothing more was journaled meanwhile; without, the records are
/// visible to readers and still held by the journal.
pub(super) fn drain(
    origin: &str,
    head: &HeadLock,
    writer: &Mutex<Writer>,
    sync: Option<&Path>,
) -> Result<()> {
    let snapshot: Vec<Arc<Sealed>> = head.lock().pending.clone();
    if snapshot.is_empty() {
        return Ok(());
    }
    let committed = commit_pending(origin, writer, &snapshot, sync)?;
    let mut h = head.lock();
    let forgotten = forget_committed(&mut h, head, committed, sync.is_some());
    drop(h);
    drop(forgotten);
    Ok(())
}

/// A synced [`drain`] by a caller that holds the head's lock: nothing is journaled meanwhile, so
/// the journal starts again from its beginning.
fn drain_locked(
    origin: &str,
    h: &mut Head,
    writer: &Mutex<Writer>,
    head: &HeadLock,
    wal: Option<&Path>,
) -> Result<()> {
    if h.journal.as_ref().is_none_or(|j| j.is_empty()) {
        return Ok(());
    }
    let committed = commit_pending(origin, writer, &h.pending, wal)?;
    let _forgotten = forget_committed(h, head, committed, true);
    Ok(())
}

/// Commits the records of `pending` the database does not hold yet; returns the database's size
/// after. With `wal`, the database is synced: by the commit, or (when the records were all
/// committed before without a sync) by syncing its write-ahead log, which holds every commit
/// since the last synced one.
fn commit_pending(
    origin: &str,
    writer: &Mutex<Writer>,
    pending: &[Arc<Sealed>],
    wal: Option<&Path>,
) -> Result<u64> {
    let mut w = lock_writer(writer);
    let size = w.range.size();
    let todo = pending.iter().map(|s| &**s).filter(|s| s.record.seq >= size);
    if todo.clone().next().is_some() {
        insert(origin, &mut w, todo, wal.is_some())?;
    } else if let Some(wal) = wal {
        sync_file(wal)?;
    }
    Ok(w.range.size())
}

/// Syncs the file at `path` (a write-ahead log that SQLite may have removed: then its commits
/// are in the database file, synced by the checkpoint that folded them in).
fn sync_file(path: &Path) -> Result<()> {
    match std::fs::File::open(path) {
        Ok(f) => f.sync_data().map_err(|source| StoreError::Io { path: path.to_owned(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StoreError::Io { path: path.to_owned(), source }),
    }
}

/// Drops the journaled records below `committed` from the head; with none left and the database
/// `synced`, the journal starts again from its beginning. Returns what was dropped, for the
/// caller to free once it has released the head's lock (appends wait for that lock).
#[must_use = "freed under the head's lock otherwise"]
fn forget_committed(h: &mut Head, head: &HeadLock, committed: u64, synced: bool) -> Forgotten {
    let n = h.pending.iter().take_while(|s| s.record.seq < committed).count();
    let records: Vec<Arc<Sealed>> = h.pending.drain(..n).collect();
    let ids = h.pending_ids.committed(committed);
    if synced
        && h.pending.is_empty()
        && let Some(j) = h.journal.as_mut()
    {
        j.reset();
    }
    head.pending.store(h.pending.len(), Ordering::Release);
    Forgotten { _records: records, _ids: ids }
}

/// Records and ids the head no longer holds, freed when this is dropped.
struct Forgotten {
    _records: Vec<Arc<Sealed>>,
    _ids: std::collections::HashMap<String, u64>,
}

/// The drainer: commits journaled records once [`DRAIN_AT`] wait or the oldest has waited
/// [`DRAIN_LINGER`], until the store stops it. A failed commit is tried again one linger later;
/// an append that needs room in the journal meets the error itself.
pub(super) fn drain_in_background(
    origin: &str,
    head: &HeadLock,
    writer: &Mutex<Writer>,
    wal: Option<&Path>,
) {
    loop {
        let past_half = {
            let mut h = head.lock();
            loop {
                if h.stop {
                    return;
                }
                if h.pending.len() >= DRAIN_AT && !h.paused {
                    break;
                }
                if h.pending.is_empty() || h.paused {
                    h = head.wake.wait(h).unwrap_or_else(PoisonError::into_inner);
                    continue;
                }
                h = head
                    .wake
                    .wait_timeout(h, DRAIN_LINGER)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                if h.stop {
                    return;
                }
                if !h.pending.is_empty() && !h.paused {
                    break;
                }
            }
            h.journal.as_ref().is_some_and(Journal::past_half)
        };
        // Not synced while the journal has room: the records stay in it until an append finds
        // it full or the store's next synced write (a checkpoint). Past half, synced: the
        // append that finds the journal full commits what is left and syncs the database
        // before the journal starts again, with the appends waiting, and that sync is short
        // when the database was synced here, off their path, shortly before (measured: the
        // full journal's sync was 0.6 µs of every unsynced append's 10).
        let sync = if past_half { wal } else { None };
        if drain(origin, head, writer, sync).is_err() {
            std::thread::sleep(DRAIN_LINGER);
        }
    }
}

/// Commits the journaled records that continue the database, and empties the journal. A
/// journal damaged in the middle (a whole frame beyond a broken one holds records the database
/// lacks) is refused, naming the file and the byte: taking the frames before the damage and
/// dropping the rest would silently lose acknowledged records.
pub(super) fn recover(origin: &str, w: &mut Writer, journal: &mut Journal) -> Result<()> {
    let frames = journal.read_frames()?;
    let path = journal.path().display().to_string();
    let size = w.range.size();
    let todo: Vec<&Sealed> = frames.records.iter().filter(|s| s.record.seq >= size).collect();
    let next = todo.last().map_or(size, |s| s.record.seq + 1);
    if let Some((at, lost)) =
        frames.beyond.iter().find(|(_, records)| records.iter().any(|s| s.record.seq >= next))
    {
        let first = lost.iter().map(|s| s.record.seq).filter(|&q| q >= next).min().unwrap_or(next);
        return Err(StoreError::Invalid(format!(
            "the append journal {path} is damaged at byte {}: a whole frame at byte {at} holds \
             records from seq {first} that the database lacks, so acknowledged records would be \
             lost; restore the data directory from a backup (the database holds records up to \
             seq {size})",
            frames.end
        )));
    }
    if let Some(first) = todo.first() {
        if first.record.seq != size {
            return Err(StoreError::Invalid(format!(
                "the append journal {path} holds records from seq {} but the database ends at \
                 {size}: the database is older than its journal (restored from a backup, or \
                 copied before its journal?); copy the two together",
                first.record.seq
            )));
        }
        insert(origin, w, todo.iter().copied(), true).map_err(|e| match e {
            StoreError::OutOfOrder { .. }
            | StoreError::Fork { .. }
            | StoreError::WrongOrigin { .. } => StoreError::Invalid(format!(
                "the append journal {path} holds records that do not continue this log: {e}"
            )),
            other => other,
        })?;
    }
    journal.reset();
    Ok(())
}

/// Inserts `batch` in one transaction after what the database holds, synced when `sync`.
fn insert<'a>(
    origin: &str,
    w: &mut Writer,
    batch: impl Iterator<Item = &'a Sealed> + Clone,
    sync: bool,
) -> Result<()> {
    if !sync {
        // Synced by the next synced commit: syncing the write-ahead log covers every frame
        // before it. NORMAL still commits atomically; a power failure can only roll back whole
        // transactions after the last sync.
        set_synchronous(&w.conn, false)?;
    }
    let out = insert_in_transaction(origin, w, batch);
    if !sync {
        set_synchronous(&w.conn, true)?;
    }
    out
}

fn insert_in_transaction<'a>(
    origin: &str,
    w: &mut Writer,
    batch: impl Iterator<Item = &'a Sealed> + Clone,
) -> Result<()> {
    let size = w.range.size();
    check_batch(origin, size, w.last_hash, batch.clone())?;
    let mut range = w.range.clone();
    let mut last_hash = w.last_hash;
    let tx = w.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process appending to the same file would fork our view of the log.
    let stored_size: Option<i64> =
        tx.prepare_cached("SELECT max(seq) FROM records")?.query_row([], |r| r.get(0))?;
    if let Some(max) = stored_size
        && max as u64 + 1 != size
    {
        return Err(StoreError::OutOfOrder { size: max as u64 + 1, seq: size });
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
            last_hash = s.hash;
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
                        return Err(StoreError::DuplicateId { id: r.id.clone(), seq: seq as u64 });
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
    w.range = range;
    w.last_hash = last_hash;
    Ok(())
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
