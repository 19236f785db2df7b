//! What the SQL stores derive from the signed records, and how it is checked against them.
//!
//! Filters, rollups and search read columns and tables that the Merkle tree does not cover: an
//! `UPDATE records SET status = 'ok'` on a copy of the database would hide a denial from
//! `trail query --status denied` while the records, and so `trail verify`'s proofs, stay intact.
//! `Rollup` is the one fold both SQL stores write their rollups with; `compare_columns` and
//! `compare_rollups` are what `Store::check_derived` uses to hold every derived row to the
//! record it was derived from, naming the row that differs.

use std::collections::HashMap;

use serde::Serialize;
use trail_core::Record;

use crate::query::{HOUR_NANOS, HourBucket, SessionSummary, is_denial, is_error};

/// A derived row that does not match the signed records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// The record the row belongs to, where it belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The table (and column) that differs, e.g. `records.status`, `session_rollup`.
    pub table: String,
    pub message: String,
}

/// The key of a `stats_rollup` row: hour, kind, category, status, agent (`""` when absent).
pub(crate) type StatsKey = (i64, String, String, String, String);

/// Records folded into rollup rows: counts and sums per hour and kind, category, status and
/// agent, and one summary per session.
#[derive(Default)]
pub(crate) struct Rollup {
    pub groups: HashMap<StatsKey, HourBucket>,
    pub sessions: HashMap<String, SessionSummary>,
}

impl Rollup {
    pub fn add(&mut self, r: &Record) {
        let f = &r.fields;
        let (inp, out, cost) = f.usage.as_ref().map_or((0, 0, 0.0), |u| {
            (u.input_tokens.unwrap_or(0), u.output_tokens.unwrap_or(0), u.cost_usd.unwrap_or(0.0))
        });
        let t = r.time.unix_nanos();
        let hour = t - t.rem_euclid(HOUR_NANOS);
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let key = (hour, f.kind.clone(), opt(&f.category), opt(&f.status), opt(&f.agent));
        let g = self.groups.entry(key).or_default();
        g.events += 1;
        g.input_tokens = g.input_tokens.saturating_add(inp);
        g.output_tokens = g.output_tokens.saturating_add(out);
        g.cost_usd += cost;
        if let Some(session) = &f.session {
            let e = self.sessions.entry(session.clone()).or_insert_with(|| SessionSummary {
                session: session.clone(),
                start: r.time,
                end: r.time,
                ..SessionSummary::default()
            });
            e.start = e.start.min(r.time);
            e.end = e.end.max(r.time);
            e.events += 1;
            e.errors += u64::from(is_error(f.status.as_deref()));
            e.denials += u64::from(is_denial(f.status.as_deref()));
            e.input_tokens = e.input_tokens.saturating_add(inp);
            e.output_tokens = e.output_tokens.saturating_add(out);
            e.cost_usd += cost;
            e.last_seq = e.last_seq.max(r.seq);
            if e.agent.is_none() {
                e.agent.clone_from(&f.agent);
            }
        }
    }
}

/// The filter columns of a `records` row, as the store reads them.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordColumns {
    pub seq: u64,
    pub id: String,
    pub time: i64,
    pub kind: String,
    pub category: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub agent: Option<String>,
    pub session: Option<String>,
    pub conversation: Option<String>,
    pub actor: Option<String>,
    pub source: Option<String>,
    pub trace_id: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
}

/// Reports every column of `row` that differs from the record it was derived from.
pub(crate) fn compare_columns(row: &RecordColumns, r: &Record, found: &mut dyn FnMut(Mismatch)) {
    let f = &r.fields;
    let usage = f.usage.as_ref();
    let mut differs = |column: &str, stored: String, signed: String| {
        found(Mismatch {
            seq: Some(row.seq),
            table: format!("records.{column}"),
            message: format!(
                "the {column} column holds {stored} but the signed record says {signed}: \
                 queries, filters and counts read the column"
            ),
        });
    };
    let show =
        |v: &Option<String>| v.as_ref().map_or_else(|| "nothing".to_owned(), |s| format!("{s:?}"));
    if row.seq != r.seq {
        differs("seq", row.seq.to_string(), r.seq.to_string());
    }
    if row.id != r.id {
        differs("id", format!("{:?}", row.id), format!("{:?}", r.id));
    }
    if row.time != r.time.unix_nanos() {
        differs("time", row.time.to_string(), r.time.unix_nanos().to_string());
    }
    if row.kind != f.kind {
        differs("kind", format!("{:?}", row.kind), format!("{:?}", f.kind));
    }
    for (column, stored, signed) in [
        ("category", &row.category, &f.category),
        ("action", &row.action, &f.action),
        ("status", &row.status, &f.status),
        ("agent", &row.agent, &f.agent),
        ("session", &row.session, &f.session),
        ("conversation", &row.conversation, &f.conversation),
        ("actor", &row.actor, &f.actor),
        ("source", &row.source, &f.source),
        ("trace_id", &row.trace_id, &f.trace_id),
    ] {
        if stored != signed {
            differs(column, show(stored), show(signed));
        }
    }
    let tokens = |v: Option<u64>| v.and_then(|n| i64::try_from(n).ok());
    for (column, stored, signed) in [
        ("input_tokens", row.input_tokens, tokens(usage.and_then(|u| u.input_tokens))),
        ("output_tokens", row.output_tokens, tokens(usage.and_then(|u| u.output_tokens))),
    ] {
        if stored != signed {
            differs(column, format!("{stored:?}"), format!("{signed:?}"));
        }
    }
    let cost = usage.and_then(|u| u.cost_usd);
    if row.cost_usd.map(f64::to_bits) != cost.map(f64::to_bits) {
        differs("cost_usd", format!("{:?}", row.cost_usd), format!("{cost:?}"));
    }
}

/// Sums of costs are added in another order by SQL than here: equal within rounding.
fn same_cost(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Reports every rollup row that differs from the fold of the signed records (`expected`), and
/// every row that no record accounts for or that is missing.
pub(crate) fn compare_rollups(
    expected: &Rollup,
    stats: Vec<(StatsKey, HourBucket)>,
    sessions: Vec<SessionSummary>,
    found: &mut dyn FnMut(Mismatch),
) {
    let mut seen = std::collections::HashSet::new();
    for (key, row) in stats {
        let what = format!(
            "hour {} kind {:?} category {:?} status {:?} agent {:?}",
            key.0, key.1, key.2, key.3, key.4
        );
        match expected.groups.get(&key) {
            None => found(Mismatch {
                seq: None,
                table: "stats_rollup".into(),
                message: format!(
                    "a row for {what} counts {} events that no record holds",
                    row.events
                ),
            }),
            Some(e)
                if e.events != row.events
                    || e.input_tokens != row.input_tokens
                    || e.output_tokens != row.output_tokens
                    || !same_cost(e.cost_usd, row.cost_usd) =>
            {
                found(Mismatch {
                    seq: None,
                    table: "stats_rollup".into(),
                    message: format!(
                        "the row for {what} says {} events, {}/{} tokens, ${} but the records \
                         give {} events, {}/{} tokens, ${}",
                        row.events,
                        row.input_tokens,
                        row.output_tokens,
                        row.cost_usd,
                        e.events,
                        e.input_tokens,
                        e.output_tokens,
                        e.cost_usd
                    ),
                });
            }
            Some(_) => {}
        }
        seen.insert(key);
    }
    for (key, e) in &expected.groups {
        if !seen.contains(key) {
            found(Mismatch {
                seq: None,
                table: "stats_rollup".into(),
                message: format!(
                    "no row for hour {} kind {:?} category {:?} status {:?} agent {:?}, which \
                     the records give {} events",
                    key.0, key.1, key.2, key.3, key.4, e.events
                ),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    for row in sessions {
        let Some(e) = expected.sessions.get(&row.session) else {
            found(Mismatch {
                seq: None,
                table: "session_rollup".into(),
                message: format!("session {:?} is listed but no record belongs to it", row.session),
            });
            continue;
        };
        // Each column that differs, with the stored value and the records' value.
        let mut differs: Vec<String> = Vec::new();
        let mut col = |name: &str, stored: String, signed: String| {
            if stored != signed {
                differs.push(format!("{name} {stored} (the records give {signed})"));
            }
        };
        col("t_start", row.start.to_string(), e.start.to_string());
        col("t_end", row.end.to_string(), e.end.to_string());
        col("events", row.events.to_string(), e.events.to_string());
        col("errors", row.errors.to_string(), e.errors.to_string());
        col("denials", row.denials.to_string(), e.denials.to_string());
        col("input_tokens", row.input_tokens.to_string(), e.input_tokens.to_string());
        col("output_tokens", row.output_tokens.to_string(), e.output_tokens.to_string());
        if !same_cost(e.cost_usd, row.cost_usd) {
            col("cost_usd", row.cost_usd.to_string(), e.cost_usd.to_string());
        }
        col("last_seq", row.last_seq.to_string(), e.last_seq.to_string());
        col("agent", format!("{:?}", row.agent), format!("{:?}", e.agent));
        if !differs.is_empty() {
            found(Mismatch {
                seq: Some(row.last_seq),
                table: "session_rollup".into(),
                message: format!("session {:?} says {}", row.session, differs.join(", ")),
            });
        }
        seen.insert(row.session);
    }
    for (name, e) in &expected.sessions {
        if !seen.contains(name) {
            found(Mismatch {
                seq: Some(e.last_seq),
                table: "session_rollup".into(),
                message: format!("session {name:?} ({} events) is missing", e.events),
            });
        }
    }
}

/// Every tree node the store keeps (proofs and receipts are built from them) against the node
/// the records' hashes make, from the anchor on; the first that differs is reported once (every
/// node above it differs with it). For stores whose nodes live apart from the records.
pub(crate) fn check_stored_nodes(
    store: &dyn crate::Store,
    found: &mut dyn FnMut(Mismatch),
) -> crate::Result<()> {
    let anchor = store.anchor()?;
    let mut range = match &anchor {
        Some(a) => trail_merkle::CompactRange::from_parts(a.size, a.peaks.clone())
            .map_err(|e| crate::StoreError::Invalid(format!("the stored anchor: {e}")))?,
        None => trail_merkle::CompactRange::new(),
    };
    let start = anchor.as_ref().map_or(0, |a| a.size);
    let mut failed: Option<crate::StoreError> = None;
    store.scan(start, u64::MAX, &mut |r| {
        for &(level, index, hash) in range.append(r.hash) {
            match store.node(level, index) {
                Ok(stored) if stored == hash => {}
                Ok(_) => {
                    found(Mismatch {
                        seq: Some(r.seq),
                        table: "tree".into(),
                        message: format!(
                            "the stored tree node ({level}, {index}) completed by record {} is \
                             not the one the records' hashes make: proofs and receipts built \
                             from it would not verify",
                            r.seq
                        ),
                    });
                    return Ok(false);
                }
                Err(e) => {
                    failed = Some(e);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    })?;
    failed.map_or(Ok(()), Err)
}
