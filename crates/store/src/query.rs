//! Queries, session summaries and stats, with an evaluator over records in memory that the file
//! and memory backends use (SQLite and PostgreSQL answer the same questions in SQL).
//!
//! Semantics every backend shares: filters are exact matches; `from`/`to` is a half-open time
//! range `[from, to)` on event time; `search` matches records whose body contains every word of
//! the search text as a whole word, case-insensitively (a word is a run of letters and digits);
//! results are ordered by seq (descending unless `ascending`) and paged by a seq cursor, which is
//! stable under concurrent appends; `total` counts every match regardless of the page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trail_core::Timestamp;

use crate::StoredRecord;

/// A query over one log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub agent: Option<String>,
    pub session: Option<String>,
    pub conversation: Option<String>,
    pub actor: Option<String>,
    pub source: Option<String>,
    pub trace_id: Option<String>,
    pub search: Option<String>,
    /// Only records with seq beyond this one (below it when descending).
    pub cursor: Option<u64>,
    /// Page size; 0 means the default of 100.
    pub limit: usize,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

/// The default and the largest page size.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

impl Query {
    pub fn page_size(&self) -> usize {
        match self.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        }
    }

    /// The search words, lowercased.
    pub fn search_words(&self) -> Vec<String> {
        self.search.as_deref().map(words).unwrap_or_default()
    }

    /// The exact-match filters as (column, value).
    pub fn filters(&self) -> Vec<(&'static str, &str)> {
        let mut f = Vec::new();
        for (name, v) in [
            ("kind", &self.kind),
            ("category", &self.category),
            ("action", &self.action),
            ("status", &self.status),
            ("agent", &self.agent),
            ("session", &self.session),
            ("conversation", &self.conversation),
            ("actor", &self.actor),
            ("source", &self.source),
            ("trace_id", &self.trace_id),
        ] {
            if let Some(v) = v {
                f.push((name, v.as_str()));
            }
        }
        f
    }

    /// True when `r` passes every filter except the cursor.
    pub fn matches(&self, r: &StoredRecord, search_words: &[String]) -> bool {
        let rec = &r.record;
        if self.from.is_some_and(|t| rec.time < t) || self.to.is_some_and(|t| rec.time >= t) {
            return false;
        }
        for (name, want) in self.filters() {
            if field(r, name) != Some(want) {
                return false;
            }
        }
        if !search_words.is_empty() {
            let Some(body) = &r.body else { return false };
            let text = String::from_utf8_lossy(&body.canonical);
            let have = words(&text);
            if !search_words.iter().all(|w| have.contains(w)) {
                return false;
            }
        }
        true
    }
}

/// The value of a filterable field of a record.
pub fn field<'a>(r: &'a StoredRecord, name: &str) -> Option<&'a str> {
    let f = &r.record.fields;
    match name {
        "kind" => Some(f.kind.as_str()),
        "category" => f.category.as_deref(),
        "action" => f.action.as_deref(),
        "status" => f.status.as_deref(),
        "agent" => f.agent.as_deref(),
        "session" => f.session.as_deref(),
        "conversation" => f.conversation.as_deref(),
        "actor" => f.actor.as_deref(),
        "source" => f.source.as_deref(),
        "trace_id" => f.trace_id.as_deref(),
        _ => None,
    }
}

/// Splits text into lowercase words of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub records: Vec<StoredRecord>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<u64>,
    /// Matches in total, across all pages.
    pub total: u64,
}

/// What happened in one session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session: String,
    pub agent: Option<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub duration_ms: u64,
    pub events: u64,
    pub errors: u64,
    pub denials: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// The last seq of the session, for ordering by recency.
    pub last_seq: u64,
}

/// Counts and sums.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub events: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
    pub by_agent: BTreeMap<String, u64>,
    /// Events per hour, keyed by the hour's start (RFC 3339).
    pub per_hour: BTreeMap<String, HourBucket>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// One hour of activity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HourBucket {
    pub events: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// Nanoseconds in an hour.
pub const HOUR_NANOS: i64 = 3_600_000_000_000;

/// The start of the hour containing `t`.
pub fn hour_of(t: Timestamp) -> Timestamp {
    Timestamp::from_unix_nanos(t.unix_nanos().div_euclid(HOUR_NANOS) * HOUR_NANOS)
}

/// Folds records into session summaries and stats.
#[derive(Default)]
pub struct Aggregate {
    pub sessions: BTreeMap<String, SessionSummary>,
    pub stats: Stats,
}

impl Aggregate {
    pub fn add(&mut self, r: &StoredRecord) {
        let rec = &r.record;
        let f = &rec.fields;
        let (inp, out, cost) = f.usage.as_ref().map_or((0, 0, 0.0), |u| {
            (u.input_tokens.unwrap_or(0), u.output_tokens.unwrap_or(0), u.cost_usd.unwrap_or(0.0))
        });
        let s = &mut self.stats;
        s.events += 1;
        *s.by_kind.entry(f.kind.clone()).or_default() += 1;
        if let Some(c) = &f.category {
            *s.by_category.entry(c.clone()).or_default() += 1;
        }
        if let Some(c) = &f.status {
            *s.by_status.entry(c.clone()).or_default() += 1;
        }
        if let Some(c) = &f.agent {
            *s.by_agent.entry(c.clone()).or_default() += 1;
        }
        let hour = s.per_hour.entry(hour_of(rec.time).to_string()).or_default();
        hour.events += 1;
        hour.input_tokens = hour.input_tokens.saturating_add(inp);
        hour.output_tokens = hour.output_tokens.saturating_add(out);
        hour.cost_usd += cost;
        s.input_tokens = s.input_tokens.saturating_add(inp);
        s.output_tokens = s.output_tokens.saturating_add(out);
        s.cost_usd += cost;
        if let Some(session) = &f.session {
            let e = self.sessions.entry(session.clone()).or_insert_with(|| SessionSummary {
                session: session.clone(),
                start: rec.time,
                end: rec.time,
                ..SessionSummary::default()
            });
            e.start = e.start.min(rec.time);
            e.end = e.end.max(rec.time);
            e.events += 1;
            if is_error(f.status.as_deref()) {
                e.errors += 1;
            }
            if is_denial(f.status.as_deref()) {
                e.denials += 1;
            }
            e.input_tokens = e.input_tokens.saturating_add(inp);
            e.output_tokens = e.output_tokens.saturating_add(out);
            e.cost_usd += cost;
            e.last_seq = e.last_seq.max(r.seq);
            if e.agent.is_none() {
                e.agent = f.agent.clone();
            }
        }
    }

    /// Sessions, most recently active first, with durations filled in.
    pub fn into_sessions(self, limit: usize) -> Vec<SessionSummary> {
        let mut v: Vec<SessionSummary> = self
            .sessions
            .into_values()
            .map(|mut s| {
                s.duration_ms = duration_ms(s.start, s.end);
                s
            })
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.last_seq));
        v.truncate(limit);
        v
    }
}

/// Milliseconds between two times, never negative.
pub fn duration_ms(start: Timestamp, end: Timestamp) -> u64 {
    let nanos = i128::from(end.unix_nanos()) - i128::from(start.unix_nanos());
    u64::try_from(nanos / 1_000_000).unwrap_or(0)
}

/// Statuses counted as errors (`SessionSummary::errors`, [`is_error`]).
pub const ERROR_STATUSES: [&str; 3] = ["error", "failed", "failure"];

/// Statuses counted as permission denials (`SessionSummary::denials`, [`is_denial`]).
pub const DENIAL_STATUSES: [&str; 4] = ["denied", "deny", "rejected", "blocked"];

/// Statuses that count as errors ([`ERROR_STATUSES`]).
pub fn is_error(status: Option<&str>) -> bool {
    status.is_some_and(|s| ERROR_STATUSES.contains(&s))
}

/// Statuses that count as denials ([`DENIAL_STATUSES`]).
pub fn is_denial(status: Option<&str>) -> bool {
    status.is_some_and(|s| DENIAL_STATUSES.contains(&s))
}

/// Runs a query over records given in ascending seq order (file and memory backends).
pub fn run_query(q: &Query, records: impl Iterator<Item = StoredRecord>) -> Page {
    let mut run = QueryRun::new(q);
    for r in records {
        run.push(r);
    }
    run.finish()
}

/// [`run_query`] fed one record at a time, holding at most a page and one record: a store that
/// reads its records in a pass (the files store) answers without holding the log in memory.
pub struct QueryRun<'a> {
    q: &'a Query,
    words: Vec<String>,
    limit: usize,
    total: u64,
    /// Ascending: the first `limit + 1` past the cursor. Descending: the last `limit + 1`
    /// before it, oldest first.
    hits: std::collections::VecDeque<StoredRecord>,
}

impl<'a> QueryRun<'a> {
    pub fn new(q: &'a Query) -> QueryRun<'a> {
        QueryRun {
            q,
            words: q.search_words(),
            limit: q.page_size(),
            total: 0,
            hits: std::collections::VecDeque::new(),
        }
    }

    /// Takes the next record, in ascending `seq` order.
    pub fn push(&mut self, r: StoredRecord) {
        let q = self.q;
        if !q.matches(&r, &self.words) {
            return;
        }
        self.total += 1;
        let past_cursor = match (q.cursor, q.ascending) {
            (None, _) => true,
            (Some(c), true) => r.seq > c,
            (Some(c), false) => r.seq < c,
        };
        if !past_cursor {
            return;
        }
        if q.ascending {
            if self.hits.len() <= self.limit {
                self.hits.push_back(r);
            }
        } else {
            self.hits.push_back(r);
            if self.hits.len() > self.limit + 1 {
                self.hits.pop_front();
            }
        }
    }

    /// The page.
    pub fn finish(self) -> Page {
        let mut hits: Vec<StoredRecord> = self.hits.into();
        if !self.q.ascending {
            hits.reverse();
        }
        let more = hits.len() > self.limit;
        hits.truncate(self.limit);
        let next_cursor = if more { hits.last().map(|r| r.seq) } else { None };
        Page { records: hits, next_cursor, total: self.total }
    }
}
