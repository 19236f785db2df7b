//! PostgreSQL's binary `COPY` format, encoded here for the append transaction's records, bodies
//! and words.

use trail_core::Sealed;
use trail_merkle::{CompactRange, Hash};

use crate::derived::Rollup;
use crate::sql::int;

/// Rows in PostgreSQL's binary `COPY` format.
pub(super) struct CopyBuf(Vec<u8>);

impl CopyBuf {
    pub(super) fn new(capacity: usize) -> CopyBuf {
        let mut b = Vec::with_capacity(capacity + 32);
        b.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        b.extend_from_slice(&0i32.to_be_bytes()); // flags
        b.extend_from_slice(&0i32.to_be_bytes()); // header extension length
        CopyBuf(b)
    }

    pub(super) fn row(&mut self, fields: i16) {
        self.0.extend_from_slice(&fields.to_be_bytes());
    }

    pub(super) fn len_prefix(&mut self, n: usize) {
        // Values are bounded well below 2 GiB (bodies by the ingest limits; a `tsvector` by
        // `MAX_VECTOR_BYTES`); a larger one is refused by the server, never truncated here.
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        self.0.extend_from_slice(&n.to_be_bytes());
    }

    pub(super) fn null(&mut self) {
        self.0.extend_from_slice(&(-1i32).to_be_bytes());
    }

    pub(super) fn int8(&mut self, v: i64) {
        self.len_prefix(8);
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    pub(super) fn float8(&mut self, v: f64) {
        self.len_prefix(8);
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    pub(super) fn bytes(&mut self, v: &[u8]) {
        self.len_prefix(v.len());
        self.0.extend_from_slice(v);
    }

    pub(super) fn text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.bytes(v.as_bytes()),
            None => self.null(),
        }
    }

    pub(super) fn opt_int8(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int8(v),
            None => self.null(),
        }
    }

    /// A `tsvector` without positions: a count, then each lexeme NUL-terminated with a zero
    /// position count (PostgreSQL's `tsvectorsend` format). The lexemes are sorted and distinct.
    pub(super) fn tsvector(&mut self, lexemes: &[String]) {
        let len = 4 + lexemes.iter().map(|l| l.len() + 3).sum::<usize>();
        self.len_prefix(len);
        let n = i32::try_from(lexemes.len()).unwrap_or(i32::MAX);
        self.0.extend_from_slice(&n.to_be_bytes());
        for l in lexemes {
            self.0.extend_from_slice(l.as_bytes());
            self.0.extend_from_slice(&[0, 0, 0]);
        }
    }

    pub(super) fn finish(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&(-1i16).to_be_bytes());
        self.0
    }
}

/// A batch encoded for one append transaction.
pub(super) struct Encoded {
    pub(super) records: Vec<u8>,
    pub(super) bodies: Vec<u8>,
    pub(super) rollup: Rollup,
    pub(super) size: u64,
    pub(super) last_hash: Hash,
    pub(super) new_size: u64,
    pub(super) new_last: Hash,
    pub(super) new_root: Hash,
}

pub(super) const RECORDS_COPY: &str = "COPY records (seq, id, time, kind, category, action, status, agent, \
     session, conversation, actor, source, trace_id, input_tokens, output_tokens, cost_usd, tree, \
     canonical) FROM STDIN (FORMAT binary)";
pub(super) const BODIES_COPY: &str = "COPY bodies (seq, salt, body) FROM STDIN (FORMAT binary)";
pub(super) const WORDS_COPY: &str = "COPY words (seq, words) FROM STDIN (FORMAT binary)";

/// Encodes `batch` after the tree in `range` (which it grows).
pub(super) fn encode(batch: &[Sealed], range: &mut CompactRange, last_hash: Hash) -> Encoded {
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
