//! What the SQL stores share: the status classes, a query's filters as a `WHERE` clause, the
//! session and stats queries (their dialect differences held as data in [`Dialect`]), and the
//! reading of session and stats rows. The SQLite and PostgreSQL backends differ in how they bind
//! parameters, search and append; what they ask of their rows is written once, here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use trail_core::verify::Anchor;
use trail_core::{Body, Record, SignedCheckpoint, Timestamp};
use trail_merkle::{Hash, NodeReader};

use crate::derived::{RecordColumns, StatsKey};
use crate::query::{DENIAL_STATUSES, ERROR_STATUSES, HOUR_NANOS, HourBucket, duration_ms};
use crate::tree::anchor_peak;
use crate::{Query, Result, SessionSummary, Stats, StoreError, StoredRecord};

/// How one SQL dialect writes what the shared queries need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    /// The character before a parameter's number: `?1` or `$1`.
    pub param: char,
    /// The literal for a condition that always holds.
    pub always: &'static str,
    /// The sum of an integer column, 0 when there is none; `X` stands for the column.
    pub int_sum: &'static str,
    /// The sum of a real column, 0.0 when there is none; `X` stands for the column.
    pub real_sum: &'static str,
}

pub(crate) const SQLITE: Dialect =
    Dialect { param: '?', always: "1", int_sum: "coalesce(sum(X), 0)", real_sum: "total(X)" };

#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: Dialect = Dialect {
    param: '$',
    always: "true",
    int_sum: "coalesce(sum(X), 0)::bigint",
    real_sum: "coalesce(sum(X), 0)::float8",
};

impl Dialect {
    fn int_sum(&self, column: &str) -> String {
        self.int_sum.replace('X', column)
    }

    fn real_sum(&self, column: &str) -> String {
        self.real_sum.replace('X', column)
    }
}

/// A parameter value, owned so it can travel to a connection's thread; each store binds it its
/// own way.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    /// A list of integers (PostgreSQL's `int8[]`).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Ints(Vec<i64>),
}

/// A `WHERE` clause and its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Where {
    pub dialect: Dialect,
    pub sql: String,
    pub params: Vec<Param>,
    /// A `WITH` clause the statement must start with (a backend's search may need one); empty
    /// otherwise.
    pub with: String,
}

impl Where {
    /// A condition that always holds.
    pub fn always(dialect: Dialect) -> Where {
        Where { dialect, sql: dialect.always.to_owned(), params: Vec::new(), with: String::new() }
    }

    /// The time range and field filters of `q` over `records r` (not its search: each backend
    /// searches its own index).
    pub fn records(q: &Query, dialect: Dialect) -> Where {
        let mut w = Where::always(dialect);
        if let Some(t) = q.from {
            w.push("r.time >= ?", Param::Int(t.unix_nanos()));
        }
        if let Some(t) = q.to {
            w.push("r.time < ?", Param::Int(t.unix_nanos()));
        }
        for (column, value) in q.filters() {
            // Column names come from `Query::filters`, a fixed list, never from the caller.
            w.push(&format!("r.{column} = ?"), Param::Text(value.to_owned()));
        }
        w
    }

    /// The field filters of `q` over a rollup table aliased `s`.
    pub fn rollup(q: &Query, dialect: Dialect) -> Where {
        let mut w = Where::always(dialect);
        for (column, value) in q.filters() {
            w.push(&format!("s.{column} = ?"), Param::Text(value.to_owned()));
        }
        w
    }

    /// Adds `AND cond`, where the `?` in `cond` stands for `value`.
    pub fn push(&mut self, cond: &str, value: Param) {
        self.params.push(value);
        let placeholder = self.placeholder(self.params.len());
        let _ = write!(self.sql, " AND {}", cond.replace('?', &placeholder));
    }

    /// How parameter `n` (from 1) is written.
    pub fn placeholder(&self, n: usize) -> String {
        format!("{}{n}", self.dialect.param)
    }

    /// True when the clause holds for every record.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

/// True when the rollups can answer `q`: no time range, no search, and filters only on `fields`.
pub(crate) fn rollup_answers(q: &Query, fields: &[&str]) -> bool {
    q.from.is_none()
        && q.to.is_none()
        && q.search_words().is_empty()
        && q.filters().iter().all(|(name, _)| fields.contains(name))
}

/// The columns of a session summary, in the order [`session_summary`] reads them (also the
/// column order of `session_rollup`).
pub(crate) const SESSION_COLUMNS: &str = "s.session, s.t_start, s.t_end, s.events, s.errors, \
     s.denials, s.input_tokens, s.output_tokens, s.cost_usd, s.last_seq, s.agent";

/// The fields [`sessions_sql`]'s rollup can filter on.
const SESSION_ROLLUP_FIELDS: [&str; 1] = ["session"];

/// The fields [`stats_sql`]'s rollup can filter on.
const STATS_ROLLUP_FIELDS: [&str; 4] = ["kind", "category", "status", "agent"];

/// The statement that lists the sessions `q` selects, most recent first, in [`SESSION_COLUMNS`]
/// order, and its parameters: from `session_rollup` when it can answer, else from the records
/// that `search` (a backend's search added to `q`'s filters) selects.
pub(crate) fn sessions_sql(
    q: &Query,
    dialect: Dialect,
    search: impl FnOnce(Where) -> Result<Where>,
) -> Result<(String, Vec<Param>)> {
    let limit = q.page_size();
    if rollup_answers(q, &SESSION_ROLLUP_FIELDS) {
        let w = Where::rollup(q, dialect);
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM session_rollup s WHERE {} \
             ORDER BY s.last_seq DESC LIMIT {limit}",
            w.sql
        );
        return Ok((sql, w.params));
    }
    let w = search(Where::records(q, dialect))?;
    Ok((format!("{} LIMIT {limit}", sessions_of_records(&w)), w.params))
}

/// Session summaries of the records matching `w`, most recent first, in [`SESSION_COLUMNS`]
/// order (also what rebuilds `session_rollup`).
pub(crate) fn sessions_of_records(w: &Where) -> String {
    let list = |statuses: &[&str]| {
        statuses.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
    };
    let d = w.dialect;
    format!(
        "{with}SELECT s.session, s.t_start, s.t_end, s.events, s.errors, s.denials, \
                s.input_tokens, s.output_tokens, s.cost_usd, s.last_seq, \
                (SELECT agent FROM records WHERE seq = s.agent_seq) \
         FROM (SELECT r.session AS session, min(r.time) AS t_start, max(r.time) AS t_end, \
                      count(*) AS events, \
                      count(*) FILTER (WHERE r.status IN ({errors})) AS errors, \
                      count(*) FILTER (WHERE r.status IN ({denials})) AS denials, \
                      {input} AS input_tokens, {output} AS output_tokens, {cost} AS cost_usd, \
                      max(r.seq) AS last_seq, \
                      min(r.seq) FILTER (WHERE r.agent IS NOT NULL) AS agent_seq \
               FROM records r WHERE r.session IS NOT NULL AND {cond} GROUP BY r.session) s \
         ORDER BY s.last_seq DESC",
        with = w.with,
        errors = list(&ERROR_STATUSES),
        denials = list(&DENIAL_STATUSES),
        input = d.int_sum("r.input_tokens"),
        output = d.int_sum("r.output_tokens"),
        cost = d.real_sum("r.cost_usd"),
        cond = w.sql,
    )
}

/// The statement that counts and sums the records `q` selects per hour, kind, category, status
/// and agent, in `stats_rollup` column order (the order [`StatsFold::add`] reads), and its
/// parameters: from `stats_rollup` when it can answer, else from the records that `search`
/// selects.
pub(crate) fn stats_sql(
    q: &Query,
    dialect: Dialect,
    search: impl FnOnce(Where) -> Result<Where>,
) -> Result<(String, Vec<Param>)> {
    if rollup_answers(q, &STATS_ROLLUP_FIELDS) {
        let w = Where::rollup(q, dialect);
        let sql = format!(
            "SELECT s.hour, s.kind, s.category, s.status, s.agent, s.events, s.input_tokens, \
                    s.output_tokens, s.cost_usd FROM stats_rollup s WHERE {}",
            w.sql
        );
        return Ok((sql, w.params));
    }
    let w = search(Where::records(q, dialect))?;
    Ok((stats_of_records(&w), w.params))
}

/// Counts and sums of the records matching `w` per hour, kind, category, status and agent, in
/// `stats_rollup` column order (also what rebuilds `stats_rollup`).
pub(crate) fn stats_of_records(w: &Where) -> String {
    let d = w.dialect;
    format!(
        "{with}SELECT r.time - ((r.time % {HOUR_NANOS}) + {HOUR_NANOS}) % {HOUR_NANOS} AS hour, \
                r.kind, coalesce(r.category, ''), coalesce(r.status, ''), \
                coalesce(r.agent, ''), count(*), {input}, {output}, {cost} \
         FROM records r WHERE {cond} GROUP BY 1, 2, 3, 4, 5",
        with = w.with,
        input = d.int_sum("r.input_tokens"),
        output = d.int_sum("r.output_tokens"),
        cost = d.real_sum("r.cost_usd"),
        cond = w.sql,
    )
}

/// A result row, read by column number; each SQL store implements it for its client's row.
pub(crate) trait Columns {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn real(&self, i: usize) -> Result<f64>;
    fn opt_real(&self, i: usize) -> Result<Option<f64>>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
}

/// The filter columns of `records` in the order [`record_columns`] reads them, then the
/// canonical bytes (column 16).
pub(crate) const CHECKED_COLUMNS: &str = "seq, id, time, kind, category, action, status, agent, \
     session, conversation, actor, source, trace_id, input_tokens, output_tokens, cost_usd, \
     canonical";

/// The filter columns of a row selected with [`CHECKED_COLUMNS`].
pub(crate) fn record_columns(r: &impl Columns) -> Result<RecordColumns> {
    Ok(RecordColumns {
        seq: uint(r.int(0)?),
        id: r.text(1)?,
        time: r.int(2)?,
        kind: r.text(3)?,
        category: r.opt_text(4)?,
        action: r.opt_text(5)?,
        status: r.opt_text(6)?,
        agent: r.opt_text(7)?,
        session: r.opt_text(8)?,
        conversation: r.opt_text(9)?,
        actor: r.opt_text(10)?,
        source: r.opt_text(11)?,
        trace_id: r.opt_text(12)?,
        input_tokens: r.opt_int(13)?,
        output_tokens: r.opt_int(14)?,
        cost_usd: r.opt_real(15)?,
    })
}

/// Every row of `stats_rollup`, in the order [`stats_group`] reads.
pub(crate) const STATS_ROLLUP_ROWS: &str = "SELECT hour, kind, category, status, agent, events, \
     input_tokens, output_tokens, cost_usd FROM stats_rollup";

/// Every row of `session_rollup`, in [`SESSION_COLUMNS`] order.
pub(crate) const SESSION_ROLLUP_ROWS: &str = "SELECT s.session, s.t_start, s.t_end, s.events, \
     s.errors, s.denials, s.input_tokens, s.output_tokens, s.cost_usd, s.last_seq, s.agent \
     FROM session_rollup s";

/// A `stats_rollup` row read in [`STATS_ROLLUP_ROWS`] order.
pub(crate) fn stats_group(r: &impl Columns) -> Result<(StatsKey, HourBucket)> {
    let key = (r.int(0)?, r.text(1)?, r.text(2)?, r.text(3)?, r.text(4)?);
    let bucket = HourBucket {
        events: uint(r.int(5)?),
        input_tokens: uint(r.int(6)?),
        output_tokens: uint(r.int(7)?),
        cost_usd: r.real(8)?,
    };
    Ok((key, bucket))
}

/// A session summary read in [`SESSION_COLUMNS`] order.
pub(crate) fn session_summary(r: &impl Columns) -> Result<SessionSummary> {
    let start = Timestamp::from_unix_nanos(r.int(1)?);
    let end = Timestamp::from_unix_nanos(r.int(2)?);
    Ok(SessionSummary {
        session: r.text(0)?,
        agent: r.opt_text(10)?,
        start,
        end,
        duration_ms: duration_ms(start, end),
        events: uint(r.int(3)?),
        errors: uint(r.int(4)?),
        denials: uint(r.int(5)?),
        input_tokens: uint(r.int(6)?),
        output_tokens: uint(r.int(7)?),
        cost_usd: r.real(8)?,
        last_seq: uint(r.int(9)?),
    })
}

/// [`Stats`] folded from rows of [`stats_sql`].
#[derive(Default)]
pub(crate) struct StatsFold {
    stats: Stats,
    hours: BTreeMap<i64, HourBucket>,
}

impl StatsFold {
    pub fn add(&mut self, row: &impl Columns) -> Result<()> {
        let s = &mut self.stats;
        let (n, inp, out) = (uint(row.int(5)?), uint(row.int(6)?), uint(row.int(7)?));
        let cost = row.real(8)?;
        s.events += n;
        *s.by_kind.entry(row.text(1)?).or_default() += n;
        for (map, i) in [(&mut s.by_category, 2), (&mut s.by_status, 3), (&mut s.by_agent, 4)] {
            let key = row.text(i)?;
            // '' stands for an absent field (see the schemas).
            if !key.is_empty() {
                *map.entry(key).or_default() += n;
            }
        }
        let h = self.hours.entry(row.int(0)?).or_default();
        h.events += n;
        h.input_tokens = h.input_tokens.saturating_add(inp);
        h.output_tokens = h.output_tokens.saturating_add(out);
        h.cost_usd += cost;
        s.input_tokens = s.input_tokens.saturating_add(inp);
        s.output_tokens = s.output_tokens.saturating_add(out);
        s.cost_usd += cost;
        Ok(())
    }

    pub fn finish(self) -> Stats {
        let mut s = self.stats;
        s.per_hour = self
            .hours
            .into_iter()
            .map(|(h, b)| (Timestamp::from_unix_nanos(h).to_string(), b))
            .collect();
        s
    }
}

/// Columns every record query selects, in the order [`stored_record`] takes them.
pub(crate) const RECORD_COLUMNS: &str = "r.seq, r.tree, r.canonical, b.salt, b.body";
pub(crate) const RECORD_FROM: &str = "records r LEFT JOIN bodies b ON b.seq = r.seq";

/// A record from the columns of [`RECORD_COLUMNS`]: seq, tree (the leaf hash first), canonical
/// bytes, and salt and body unless erased.
pub(crate) fn stored_record(
    seq: i64,
    tree: &[u8],
    canonical: Vec<u8>,
    salt: Option<&[u8]>,
    body: Option<Vec<u8>>,
) -> Result<StoredRecord> {
    let seq = uint(seq);
    let corrupt = |reason: String| StoreError::Invalid(format!("stored record {seq}: {reason}"));
    let hash = node_of(tree, 0).ok_or_else(|| corrupt("no leaf hash".into()))?;
    let record = Record::from_canonical(&canonical).map_err(|e| corrupt(e.to_string()))?;
    let body = match (salt, body) {
        (Some(salt), Some(canonical)) => {
            let salt: [u8; 32] =
                salt.try_into().map_err(|_| corrupt("salt is not 32 bytes".into()))?;
            Some(Body { salt, canonical })
        }
        _ => None,
    };
    Ok(StoredRecord { seq, canonical, hash, record, body })
}

/// Tree nodes read from the `tree` column of `records`, which holds a record's leaf hash followed
/// by the hashes of the perfect subtrees the leaf completes, lowest first: node `(level, index)`
/// is the 32 bytes at `32 * level` of the `tree` of its last leaf.
pub(crate) struct TreeColumn<'a, F> {
    /// Node `level` of the `tree` of the record at a seq ([`node_of`] cuts it), or `None` when
    /// there is no such record.
    pub read: F,
    /// The first seq kept (the prune anchor's size, or 0).
    pub start: u64,
    pub size: u64,
    pub anchor: Option<&'a Anchor>,
}

impl<F: Fn(u64, u32) -> Result<Option<Hash>>> NodeReader for TreeColumn<'_, F> {
    type Error = StoreError;

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let missing = || {
            StoreError::Invalid(format!(
                "node ({level}, {index}) is not in a tree of size {}",
                self.size
            ))
        };
        let last_leaf = last_leaf(level, index).ok_or_else(missing)?;
        if last_leaf >= self.size {
            return Err(missing());
        }
        if last_leaf < self.start {
            // Proofs about the records kept need only the anchor's peaks from the pruned part.
            return self
                .anchor
                .and_then(|a| anchor_peak(a, level, index))
                .ok_or(StoreError::Pruned { seq: index << level, start: self.start });
        }
        (self.read)(last_leaf, level)?.ok_or_else(missing)
    }
}

/// The last leaf under node (level, index), whose `tree` column holds the node.
pub(crate) fn last_leaf(level: u32, index: u64) -> Option<u64> {
    index
        .checked_add(1)
        .and_then(|n| n.checked_shl(level))
        .filter(|n| n.trailing_zeros() >= level)
        .map(|n| n - 1)
}

/// Node `level` of a `tree` column.
pub(crate) fn node_of(tree: &[u8], level: u32) -> Option<Hash> {
    let at = level as usize * 32;
    tree.get(at..at + 32).and_then(|b| Hash::from_slice(b).ok())
}

/// The integer columns of a `session_rollup` row, in table order: t_start, t_end, events,
/// errors, denials, input_tokens, output_tokens, last_seq.
pub(crate) fn session_ints(e: &SessionSummary) -> [i64; 8] {
    [
        e.start.unix_nanos(),
        e.end.unix_nanos(),
        int(e.events),
        int(e.errors),
        int(e.denials),
        int(e.input_tokens),
        int(e.output_tokens),
        int(e.last_seq),
    ]
}

/// Visits records `[from, to)` in order, read `chunk` at a time by `read(next, to)` (each read
/// short and on its own, so no transaction stays open while `visit` works), until `visit` says
/// stop.
pub(crate) fn scan_chunked(
    from: u64,
    to: u64,
    chunk: usize,
    read: &mut dyn FnMut(u64, u64) -> Result<Vec<StoredRecord>>,
    visit: &mut dyn FnMut(StoredRecord) -> Result<bool>,
) -> Result<()> {
    let mut next = from;
    while next < to {
        let records = read(next, to)?;
        let Some(last) = records.last() else { break };
        next = last.seq + 1;
        let full = records.len() == chunk;
        for r in records {
            if !visit(r)? {
                return Ok(());
            }
        }
        if !full {
            break;
        }
    }
    Ok(())
}

/// A checkpoint note as stored.
pub(crate) fn parse_checkpoint(note: &str) -> Result<SignedCheckpoint> {
    SignedCheckpoint::parse(note)
        .map_err(|e| StoreError::Invalid(format!("stored checkpoint: {e}")))
}

/// A prune anchor as stored (JSON).
pub(crate) fn parse_anchor(json: &str) -> Result<Anchor> {
    serde_json::from_str(json).map_err(|e| StoreError::Invalid(format!("stored prune anchor: {e}")))
}

/// A count or seq as SQL's signed 64-bit integer. Seqs, sizes, epochs and token counts stay far
/// below 2^63 (an event reports at most 2^32 - 1 tokens).
pub(crate) fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count or seq read back; a negative value (which no store writes) reads as 0.
pub(crate) fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
