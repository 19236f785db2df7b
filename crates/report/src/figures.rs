//! The report's figures, folded from a log's records in one pass: coverage (events per agent,
//! session and day, sessions without an end, gaps in agents' activity), risk (denials, errors,
//! findings by type, erasures and prunes with their reasons), and usage (tokens and cost per
//! agent and model). Deterministic: the same records and period give the same figures, so a
//! report can be checked against its log by folding the log again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trail_core::verify::{ERASURE_KIND, PRUNE_KIND};
use trail_core::{Body, Record, Timestamp};
use trail_store::query::{is_denial, is_error};

/// Rows listed in full at most; beyond, the report gives the count.
pub const MAX_LISTED: usize = 50;

const DAY_NANOS: i64 = 86_400_000_000_000;

/// What the report says about the records of its period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Records folded (those in the period).
    pub events: u64,
    /// Records of the log outside the period.
    pub outside_period: u64,
    pub first_time: Option<Timestamp>,
    pub last_time: Option<Timestamp>,
    pub agents: BTreeMap<String, AgentFigures>,
    /// Events per UTC day (`YYYY-MM-DD`).
    pub days: BTreeMap<String, u64>,
    pub sessions: u64,
    /// The sessions with the most events, most first.
    pub top_sessions: Vec<SessionFigures>,
    /// Sessions that record a `session_start` and no `session_end`, longest first.
    pub open_sessions: Vec<OpenSession>,
    pub open_sessions_total: u64,
    /// The longest silences of an agent that was active before and after, longest first.
    pub gaps: Vec<Gap>,
    pub gaps_total: u64,
    /// The minimum silence counted as a gap, in minutes.
    pub gap_minutes: u64,
    pub denials: u64,
    pub errors: u64,
    /// The first denials, in log order.
    pub denial_list: Vec<Listed>,
    /// Findings by type: how many values of each type the scanner found (never the values).
    pub findings: BTreeMap<String, u64>,
    pub records_with_findings: u64,
    pub erasures: Vec<Maintenance>,
    pub prunes: Vec<Maintenance>,
    /// Tokens and cost per agent and model.
    pub usage: Vec<Usage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentFigures {
    pub events: u64,
    pub sessions: u64,
    pub denials: u64,
    pub errors: u64,
    pub first_time: Option<Timestamp>,
    pub last_time: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFigures {
    pub session: String,
    pub agent: String,
    pub first: Timestamp,
    pub last: Timestamp,
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenSession {
    pub session: String,
    pub agent: String,
    pub started: Timestamp,
    pub last_event: Timestamp,
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub agent: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub minutes: u64,
}

/// One record listed by the report (never its body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    pub seq: u64,
    pub time: Timestamp,
    pub agent: String,
    pub kind: String,
    pub action: String,
    pub status: String,
}

/// An erasure or a prune: when, who asked, why, and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    pub seq: u64,
    pub time: Timestamp,
    /// Who asked: the event's actor, else its source (`trail-cli`, `trail-serve`).
    pub by: String,
    /// The reason recorded, when the event's body is at hand (tiles carry no bodies).
    pub reason: Option<String>,
    /// Bodies erased, or records pruned.
    pub count: Option<u64>,
    /// For a prune: the size of the signed anchor the log now starts from.
    pub anchor_size: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub agent: String,
    pub model: String,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// Folds records into [`Figures`].
pub struct Fold {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    gap_nanos: i128,
    f: Figures,
    sessions: BTreeMap<String, SessionState>,
    agent_sessions: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Each agent's event times, for the gaps.
    times: BTreeMap<String, Vec<i64>>,
    usage: BTreeMap<(String, String), Usage>,
}

struct SessionState {
    agent: String,
    first: Timestamp,
    started: Option<Timestamp>,
    ended: bool,
    last: Timestamp,
    events: u64,
}

fn name(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// A field's value as the report may show it: withheld, naming the types found, when the scanner
/// found PII or a secret in it (in detect mode the log keeps such a value as sent).
fn shown(r: &Record, field: &str, v: &Option<String>) -> String {
    let path = format!("@{field}");
    let mut kinds: Vec<&str> =
        r.findings.iter().filter(|f| f.path == path).map(|f| f.kind.as_str()).collect();
    if kinds.is_empty() {
        return name(v);
    }
    kinds.dedup();
    format!("[{} withheld]", kinds.join(", "))
}

impl Fold {
    /// A fold of the records whose time is in `[from, to)` (either bound open), counting a
    /// silence of at least `gap_minutes` as a gap.
    pub fn new(from: Option<Timestamp>, to: Option<Timestamp>, gap_minutes: u64) -> Fold {
        Fold {
            from,
            to,
            gap_nanos: i128::from(gap_minutes.max(1)) * 60_000_000_000,
            f: Figures { gap_minutes: gap_minutes.max(1), ..Figures::default() },
            sessions: BTreeMap::new(),
            agent_sessions: BTreeMap::new(),
            times: BTreeMap::new(),
            usage: BTreeMap::new(),
        }
    }

    /// Adds one record, with its body when the source has it.
    pub fn add(&mut self, r: &Record, body: Option<&Body>) {
        if self.from.is_some_and(|t| r.time < t) || self.to.is_some_and(|t| r.time >= t) {
            self.f.outside_period += 1;
            return;
        }
        let f = &r.fields;
        let fig = &mut self.f;
        fig.events += 1;
        fig.first_time = Some(fig.first_time.map_or(r.time, |t| t.min(r.time)));
        fig.last_time = Some(fig.last_time.map_or(r.time, |t| t.max(r.time)));
        let agent = shown(r, "agent", &f.agent);
        let a = fig.agents.entry(agent.clone()).or_default();
        a.events += 1;
        a.first_time = Some(a.first_time.map_or(r.time, |t| t.min(r.time)));
        a.last_time = Some(a.last_time.map_or(r.time, |t| t.max(r.time)));
        let day = r.time.unix_nanos().div_euclid(DAY_NANOS) * DAY_NANOS;
        let day = Timestamp::from_unix_nanos(day).to_string();
        *fig.days.entry(day.get(..10).unwrap_or(&day).to_owned()).or_default() += 1;
        let status = f.status.as_deref();
        if is_denial(status) {
            fig.denials += 1;
            a.denials += 1;
            if fig.denial_list.len() < MAX_LISTED {
                fig.denial_list.push(Listed {
                    seq: r.seq,
                    time: r.time,
                    agent: agent.clone(),
                    kind: f.kind.clone(),
                    action: shown(r, "action", &f.action),
                    status: shown(r, "status", &f.status),
                });
            }
        }
        if is_error(status) {
            fig.errors += 1;
            a.errors += 1;
        }
        if !r.findings.is_empty() {
            fig.records_with_findings += 1;
        }
        for finding in &r.findings {
            *fig.findings.entry(finding.kind.clone()).or_default() += u64::from(finding.count);
        }
        if f.kind == ERASURE_KIND || f.kind == PRUNE_KIND {
            let body = body.and_then(|b| b.value().ok());
            let get = |k: &str| body.as_ref().and_then(|b| b.get(k).cloned());
            let m = Maintenance {
                seq: r.seq,
                time: r.time,
                by: if f.actor.is_some() {
                    shown(r, "actor", &f.actor)
                } else {
                    shown(r, "source", &f.source)
                },
                reason: get("reason").and_then(|v| v.as_str().map(str::to_owned)),
                count: get(if f.kind == ERASURE_KIND { "erased" } else { "removed" })
                    .and_then(|v| v.as_u64()),
                anchor_size: (f.kind == PRUNE_KIND)
                    .then(|| get("size").and_then(|v| v.as_u64()))
                    .flatten(),
            };
            if f.kind == ERASURE_KIND { fig.erasures.push(m) } else { fig.prunes.push(m) }
        }
        if let Some(u) = &f.usage {
            let key = (agent.clone(), shown(r, "usage.model", &u.model));
            let e = self.usage.entry(key.clone()).or_insert_with(|| Usage {
                agent: key.0,
                model: key.1,
                ..Usage::default()
            });
            e.calls += 1;
            e.input_tokens = e.input_tokens.saturating_add(u.input_tokens.unwrap_or(0));
            e.output_tokens = e.output_tokens.saturating_add(u.output_tokens.unwrap_or(0));
            e.cost_usd += u.cost_usd.unwrap_or(0.0);
        }
        if f.session.is_some() {
            let session = &shown(r, "session", &f.session);
            self.agent_sessions.entry(agent.clone()).or_default().insert(session.clone());
            let s = self.sessions.entry(session.clone()).or_insert_with(|| SessionState {
                agent: agent.clone(),
                first: r.time,
                started: None,
                ended: false,
                last: r.time,
                events: 0,
            });
            s.events += 1;
            s.last = s.last.max(r.time);
            s.first = s.first.min(r.time);
            match f.kind.as_str() {
                "session_start" => s.started = Some(s.started.map_or(r.time, |t| t.min(r.time))),
                "session_end" => s.ended = true,
                _ => {}
            }
        }
        self.times.entry(agent).or_default().push(r.time.unix_nanos());
    }

    pub fn finish(mut self) -> Figures {
        let mut f = self.f;
        for (agent, sessions) in &self.agent_sessions {
            if let Some(a) = f.agents.get_mut(agent) {
                a.sessions = sessions.len() as u64;
            }
        }
        f.sessions = self.sessions.len() as u64;
        let mut top: Vec<SessionFigures> = self
            .sessions
            .iter()
            .map(|(session, s)| SessionFigures {
                session: session.clone(),
                agent: s.agent.clone(),
                first: s.first,
                last: s.last,
                events: s.events,
            })
            .collect();
        top.sort_by(|a, b| b.events.cmp(&a.events).then(a.session.cmp(&b.session)));
        top.truncate(MAX_LISTED);
        f.top_sessions = top;
        let mut open: Vec<OpenSession> = self
            .sessions
            .into_iter()
            .filter_map(|(session, s)| {
                let started = s.started?;
                (!s.ended).then_some(OpenSession {
                    session,
                    agent: s.agent,
                    started,
                    last_event: s.last,
                    events: s.events,
                })
            })
            .collect();
        f.open_sessions_total = open.len() as u64;
        open.sort_by(|a, b| b.started.cmp(&a.started).then(a.session.cmp(&b.session)));
        open.truncate(MAX_LISTED);
        f.open_sessions = open;
        let mut gaps = Vec::new();
        for (agent, times) in &mut self.times {
            times.sort_unstable();
            for w in times.windows(2) {
                // In i128: client-given times may lie centuries apart.
                let silence = i128::from(w[1]) - i128::from(w[0]);
                if silence >= self.gap_nanos {
                    gaps.push(Gap {
                        agent: agent.clone(),
                        from: Timestamp::from_unix_nanos(w[0]),
                        to: Timestamp::from_unix_nanos(w[1]),
                        minutes: u64::try_from(silence / 60_000_000_000).unwrap_or(u64::MAX),
                    });
                }
            }
        }
        f.gaps_total = gaps.len() as u64;
        gaps.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.from.cmp(&b.from)));
        gaps.truncate(MAX_LISTED);
        f.gaps = gaps;
        f.usage = self.usage.into_values().collect();
        f
    }
}
