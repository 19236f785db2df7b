//! The wire types of the HTTP API. **API Boundary:** these, not the core types, are what clients
//! see; they are built from core and store values and can evolve apart from them. Hashes of
//! records are lowercase hex; proof hashes and roots are base64, as in C2SP checkpoints and
//! receipts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trail_core::Record;
use trail_store::{SessionSummary, Stats, StoredRecord};
use utoipa::{IntoParams, ToSchema};

/// Every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_event`, `body_too_large`, `missing_key`, ...
    pub code: String,
    /// What is wrong, naming the values involved.
    pub message: String,
    /// For a refused batch: every bad event, by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<BadEvent>,
}

/// One bad event of a batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BadEvent {
    /// 0-based position in the array or NDJSON stream.
    pub index: usize,
    pub message: String,
}

/// Parameters of `POST /v1/events`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestParams {
    /// The log to write to (default: the key's only log, or the server's first log).
    pub log: Option<String>,
    /// `checkpoint`: answer once a signed checkpoint covers the events, with receipts.
    pub wait: Option<String>,
}

/// What `POST /v1/events` answers: one entry per event, in request order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestResponse {
    pub events: Vec<Ack>,
    /// With `wait=checkpoint`: the signed checkpoint that covers every event (signed note text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// One durable event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    pub seq: u64,
    pub id: String,
    /// The record's leaf hash, hex.
    pub hash: String,
    /// False when the id existed already and the existing record is returned.
    pub created: bool,
    /// With `wait=checkpoint`: the event's receipt (`c2sp.org/tlog-proof@v1` text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

/// Filters of `GET /v1/events`, `/v1/sessions`, `/v1/stats` and `/v1/tail`: the same as
/// `trail query`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    pub log: Option<String>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Events before this time (RFC 3339).
    pub to: Option<String>,
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
    /// Full-text search: every word must appear in the body.
    pub search: Option<String>,
    /// Keyset cursor: the `next_cursor` of the previous page.
    pub cursor: Option<u64>,
    /// Page size (default 100, at most 10000); for sessions, how many.
    pub limit: Option<usize>,
    /// `desc` (newest first, the default) or `asc`.
    pub order: Option<String>,
}

/// A page of events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventsPage {
    pub events: Vec<EventView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<u64>,
    /// Matches across all pages.
    pub total: u64,
}

/// One stored event: the record, its hash and its body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub seq: u64,
    /// Leaf hash, hex.
    pub hash: String,
    pub record: RecordView,
    /// The body; absent when the event had none or it was erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// True when the body was erased (the record and its proofs stay valid).
    pub erased: bool,
}

/// The record as hashed (its canonical JSON has exactly these fields).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    pub v: u32,
    pub origin: String,
    pub seq: u64,
    pub id: String,
    /// UTC, nine fraction digits.
    pub time: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageView>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_digest: Option<String>,
    pub prev: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsageView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A scanner finding: where and what, never the value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FindingView {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u32,
}

impl RecordView {
    pub fn from_record(r: &Record) -> RecordView {
        let f = &r.fields;
        RecordView {
            v: r.v,
            origin: r.origin.clone(),
            seq: r.seq,
            id: r.id.clone(),
            time: r.time.to_string(),
            kind: f.kind.clone(),
            category: f.category.clone(),
            action: f.action.clone(),
            status: f.status.clone(),
            agent: f.agent.clone(),
            session: f.session.clone(),
            conversation: f.conversation.clone(),
            actor: f.actor.clone(),
            source: f.source.clone(),
            trace_id: f.trace_id.clone(),
            span_id: f.span_id.clone(),
            duration_ms: f.duration_ms,
            usage: f.usage.as_ref().map(|u| UsageView {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cost_usd: u.cost_usd,
                model: u.model.clone(),
            }),
            findings: r
                .findings
                .iter()
                .map(|x| FindingView { path: x.path.clone(), kind: x.kind.clone(), count: x.count })
                .collect(),
            body_digest: r.body_digest.map(|h| h.to_string()),
            prev: r.prev.to_string(),
        }
    }
}

impl EventView {
    pub fn from_stored(r: &StoredRecord) -> EventView {
        EventView {
            seq: r.seq,
            hash: r.hash.to_string(),
            record: RecordView::from_record(&r.record),
            body: r.body.as_ref().and_then(|b| b.value().ok()),
            erased: r.is_erased(),
        }
    }
}

/// `GET /v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionsResponse {
    pub sessions: Vec<SessionView>,
}

/// What happened in one session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub session: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub start: String,
    pub end: String,
    pub duration_ms: u64,
    pub events: u64,
    pub errors: u64,
    pub denials: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub last_seq: u64,
}

impl From<SessionSummary> for SessionView {
    fn from(s: SessionSummary) -> SessionView {
        SessionView {
            session: s.session,
            agent: s.agent,
            start: s.start.to_string(),
            end: s.end.to_string(),
            duration_ms: s.duration_ms,
            events: s.events,
            errors: s.errors,
            denials: s.denials,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cost_usd: s.cost_usd,
            last_seq: s.last_seq,
        }
    }
}

/// `GET /v1/stats`: counts and sums over the matching events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatsView {
    pub events: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
    pub by_agent: BTreeMap<String, u64>,
    /// Keyed by the hour's start (RFC 3339).
    pub per_hour: BTreeMap<String, HourView>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    /// The log's size and latest checkpoint, for context.
    pub size: u64,
    pub checkpoint_size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HourView {
    pub events: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

impl StatsView {
    pub fn new(s: Stats, size: u64, checkpoint_size: u64) -> StatsView {
        StatsView {
            events: s.events,
            by_kind: s.by_kind,
            by_category: s.by_category,
            by_status: s.by_status,
            by_agent: s.by_agent,
            per_hour: s
                .per_hour
                .into_iter()
                .map(|(k, h)| {
                    let v = HourView {
                        events: h.events,
                        input_tokens: h.input_tokens,
                        output_tokens: h.output_tokens,
                        cost_usd: h.cost_usd,
                    };
                    (k, v)
                })
                .collect(),
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cost_usd: s.cost_usd,
            size,
            checkpoint_size,
        }
    }
}

/// Parameters naming only the log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParam {
    pub log: Option<String>,
}

/// `GET /v1/proof/inclusion`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    pub log: Option<String>,
    /// The record's seq (its leaf index).
    pub seq: u64,
    /// Tree size (default: the latest checkpoint's).
    pub size: Option<u64>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    pub seq: u64,
    pub size: u64,
    /// The record's leaf hash, hex.
    pub leaf_hash: String,
    /// Sibling hashes, base64, leaf to root.
    pub proof: Vec<String>,
    /// Root of the tree of `size`, base64.
    pub root: String,
    /// The signed checkpoint when `size` is the latest checkpoint's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// `GET /v1/proof/consistency`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    pub log: Option<String>,
    pub from: u64,
    /// Default: the latest checkpoint's size.
    pub to: Option<u64>,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// Base64 hashes.
    pub proof: Vec<String>,
    pub root_from: String,
    pub root_to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// `GET /v1/tail`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TailParams {
    pub log: Option<String>,
    /// Start after this seq (as `Last-Event-ID` does); default: only new events.
    pub after: Option<u64>,
    /// Start with the latest N events.
    pub n: Option<u64>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub agent: Option<String>,
    pub session: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// One API key as `GET /v1/keys` lists it (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// Empty: every log.
    pub logs: Vec<String>,
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

/// `GET /v1/logs-info`: the logs this key may see.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogsResponse {
    pub logs: Vec<LogInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogInfo {
    pub name: String,
    pub size: u64,
    pub checkpoint_size: u64,
    /// The log's verifier key (`name+keyid+base64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_key: Option<String>,
}

/// `POST /v1/verify`: what the verifier found over the whole stored log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VerifyView {
    pub log: String,
    /// True when no problem was found.
    pub intact: bool,
    /// When the verification started (RFC 3339).
    pub at: String,
    pub elapsed_ms: u64,
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub bodies_checked: u64,
    pub bodies_erased: u64,
    pub checkpoints_checked: u64,
    pub checkpoints_valid: u64,
    /// Size of the largest valid checkpoint that matched the records.
    pub verified_size: u64,
    /// Records after the last valid checkpoint: chained, not yet signed.
    pub unsigned_tail: u64,
    /// The prune cut the verification resumed from.
    pub anchor: Option<u64>,
    /// The first 100 problems.
    pub problems: Vec<ProblemView>,
    pub problems_total: u64,
    pub notes: Vec<String>,
}

/// One problem the verifier found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProblemView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Stable, e.g. `hash_mismatch`.
    pub code: String,
    pub message: String,
}
