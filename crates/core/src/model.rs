//! The event an agent sends and the record the log stores.
//!
//! An [`Event`] is untrusted input: it is parsed strictly (unknown fields, wrong types, empty
//! kinds and bad times are errors that name the field). [`Event::prepare`] turns it into a
//! [`Prepared`] record whose body is already canonical and digested, and the sequencer then
//! [`Prepared::seal`]s it at a position: that last step cannot fail, so nothing after a `seq` is
//! assigned can reject an event.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use trail_merkle::{Hash, leaf_hash};

use crate::jcs::{self, JcsError, MAX_SAFE_INTEGER};
use crate::timestamp::Timestamp;

/// The record format version this crate writes and reads.
pub const RECORD_VERSION: u32 = 1;

/// Longest accepted identifier field (agent, session, ...), in bytes.
pub const MAX_ID_LEN: usize = 512;

/// Token counts and cost of an LLM call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The model that was called; an identifier, kept with the usage it explains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// What the scanner found in a body: where, what type, how many times. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingSummary {
    /// RFC 6901 JSON pointer into the body.
    pub path: String,
    /// Lowercase taxonomy name, e.g. `email`, `aws_access_key`.
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u32,
}

/// The metadata fields shared by events and records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
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
    pub usage: Option<Usage>,
}

/// An event as an agent sends it: the record's fields without `v`, `origin`, `seq`, `prev`,
/// `body_digest` and `findings`, plus an optional body of any JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Event {
    /// Unique within a log; the recorder assigns one when absent. Resending an id is idempotent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it happened; the recorder uses its clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(flatten)]
    pub fields: Fields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// A bad event, naming the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("event must be a JSON object, found {0}")]
    NotAnObject(&'static str),
    #[error("field `{field}`: {reason}")]
    Field { field: String, reason: String },
    #[error("body: {0}")]
    Body(#[from] JcsError),
}

impl EventError {
    fn field(field: &str, reason: impl Into<String>) -> Self {
        EventError::Field { field: field.to_owned(), reason: reason.into() }
    }
}

/// Kinds trail writes itself (`trail.erasure`, `trail.prune`, `trail.import`): the verifier
/// believes what an erasure or prune event says, so no client may send one.
pub const RESERVED_KIND_PREFIX: &str = "trail.";

impl Event {
    /// Refuses an event from a client (HTTP, `trail log`, OTLP) whose kind is one trail writes
    /// itself: a client-made `trail.erasure` would excuse a body deleted outside trail.
    pub fn check_client_kind(&self) -> Result<(), EventError> {
        if self.fields.kind.starts_with(RESERVED_KIND_PREFIX) {
            return Err(EventError::field(
                "kind",
                format!(
                    "kinds starting with {RESERVED_KIND_PREFIX:?} are written by trail itself \
                     (erasures, prunes, imports) and cannot be sent"
                ),
            ));
        }
        Ok(())
    }

    /// Parses and validates one event from JSON text.
    pub fn from_slice(bytes: &[u8]) -> Result<Event, EventError> {
        // Strict: a repeated key is refused with its path, never silently "last one wins".
        let value: Value =
            crate::strict::from_slice(bytes).map_err(|e| EventError::Json(e.to_string()))?;
        Event::from_value(value)
    }

    /// Parses and validates one event from a JSON value.
    pub fn from_value(value: Value) -> Result<Event, EventError> {
        let type_name = json_type_name(&value);
        if !value.is_object() {
            return Err(EventError::NotAnObject(type_name));
        }
        // `flatten` hides unknown fields from `deny_unknown_fields`, so check them by hand.
        if let Value::Object(map) = &value {
            for key in map.keys() {
                if !EVENT_FIELDS.contains(&key.as_str()) {
                    return Err(EventError::field(
                        key,
                        format!("unknown field (known fields: {})", EVENT_FIELDS.join(", ")),
                    ));
                }
            }
        }
        let Value::Object(mut map) = value else { return Err(EventError::NotAnObject(type_name)) };
        let id = match map.remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                return Err(EventError::field(
                    "id",
                    format!("expected a string, found {}", json_type_name(&other)),
                ));
            }
        };
        let time = match map.remove("time") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(s.parse::<Timestamp>().map_err(|e| EventError::field("time", e.to_string()))?)
            }
            Some(other) => {
                return Err(EventError::field(
                    "time",
                    format!("expected an RFC 3339 string, found {}", json_type_name(&other)),
                ));
            }
        };
        let body = map.remove("body").filter(|b| !b.is_null());
        let fields = fields_from_map(map)?;
        let event = Event { id, time, fields, body };
        event.validate()?;
        Ok(event)
    }

    /// Checks what types alone cannot: non-empty kind, identifier shapes, number ranges.
    pub fn validate(&self) -> Result<(), EventError> {
        if let Some(id) = &self.id {
            check_identifier("id", id)?;
        }
        self.fields.validate()?;
        if let Some(body) = &self.body {
            jcs::to_vec(body)?;
        }
        Ok(())
    }

    /// Canonicalizes and digests the body under `salt` and fixes the id and time, producing a
    /// record that only lacks its position in the log.
    pub fn prepare(
        self,
        id: String,
        time: Timestamp,
        findings: Vec<FindingSummary>,
        salt: [u8; 32],
    ) -> Result<Prepared, EventError> {
        check_identifier("id", &id)?;
        self.fields.validate()?;
        let body = match &self.body {
            Some(value) => {
                let canonical = jcs::to_vec(value)?;
                Some(Body { salt, canonical })
            }
            None => None,
        };
        let body_digest = body.as_ref().map(Body::digest);
        Ok(Prepared { id, time, fields: self.fields, findings, body_digest, body })
    }
}

/// Deserializes the metadata fields, naming the field that is wrong.
fn fields_from_map(map: serde_json::Map<String, Value>) -> Result<Fields, EventError> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." {
            // A missing required field: serde names it in the message.
            match inner.strip_prefix("missing field `").and_then(|s| s.strip_suffix('`')) {
                Some(field) => EventError::field(field, "required field is missing"),
                None => EventError::field("(event)", inner),
            }
        } else {
            EventError::field(&path, inner)
        }
    })
}

/// The names an event may carry.
pub const EVENT_FIELDS: &[&str] = &[
    "id",
    "time",
    "kind",
    "category",
    "action",
    "status",
    "agent",
    "session",
    "conversation",
    "actor",
    "source",
    "trace_id",
    "span_id",
    "duration_ms",
    "usage",
    "body",
];

impl Fields {
    fn validate(&self) -> Result<(), EventError> {
        if self.kind.is_empty() {
            return Err(EventError::field("kind", "must not be empty"));
        }
        if self.kind.len() > 128
            || !self.kind.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-/".contains(&b))
        {
            return Err(EventError::field(
                "kind",
                format!(
                    "{:?} must be at most 128 characters of letters, digits and _ . : - /",
                    truncate(&self.kind)
                ),
            ));
        }
        for (name, value) in [
            ("category", &self.category),
            ("action", &self.action),
            ("status", &self.status),
            ("agent", &self.agent),
            ("session", &self.session),
            ("conversation", &self.conversation),
            ("actor", &self.actor),
            ("source", &self.source),
            ("trace_id", &self.trace_id),
            ("span_id", &self.span_id),
        ] {
            if let Some(v) = value {
                check_identifier(name, v)?;
            }
        }
        if let Some(ms) = self.duration_ms {
            check_safe("duration_ms", ms)?;
        }
        if let Some(u) = &self.usage {
            if let Some(n) = u.input_tokens {
                check_safe("usage.input_tokens", n)?;
            }
            if let Some(n) = u.output_tokens {
                check_safe("usage.output_tokens", n)?;
            }
            if let Some(c) = u.cost_usd
                && !(c.is_finite() && c >= 0.0)
            {
                return Err(EventError::field("usage.cost_usd", "must be a finite number >= 0"));
            }
            if let Some(m) = &u.model {
                check_identifier("usage.model", m)?;
            }
        }
        Ok(())
    }
}

fn check_identifier(field: &str, value: &str) -> Result<(), EventError> {
    if value.is_empty() {
        return Err(EventError::field(field, "must not be empty (omit the field instead)"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(EventError::field(
            field,
            format!("is {} bytes long; identifiers are at most {MAX_ID_LEN}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(EventError::field(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_safe(field: &str, n: u64) -> Result<(), EventError> {
    if n > MAX_SAFE_INTEGER {
        return Err(EventError::field(field, format!("{n} is beyond 2^53; JCS cannot hash it")));
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A body as stored beside its record: the salt and the canonical bytes of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub salt: [u8; 32],
    pub canonical: Vec<u8>,
}

impl Body {
    /// `SHA-256(salt || JCS(body))`.
    pub fn digest(&self) -> Hash {
        body_digest(&self.salt, &self.canonical)
    }

    /// The body as JSON.
    pub fn value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_slice(&self.canonical)
    }
}

/// `SHA-256(salt || canonical_body)`.
pub fn body_digest(salt: &[u8; 32], canonical_body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(canonical_body);
    Hash(h.finalize().into())
}

/// A validated record that has not been given a position yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub id: String,
    pub time: Timestamp,
    pub fields: Fields,
    pub findings: Vec<FindingSummary>,
    pub body_digest: Option<Hash>,
    pub body: Option<Body>,
}

impl Prepared {
    /// Places the record at `seq` after `prev` in log `origin`. Cannot fail.
    pub fn seal(self, origin: &str, seq: u64, prev: Hash) -> Sealed {
        let record = Record {
            v: RECORD_VERSION,
            origin: origin.to_owned(),
            seq,
            id: self.id,
            time: self.time,
            fields: self.fields,
            findings: self.findings,
            body_digest: self.body_digest,
            prev,
        };
        let canonical = record.canonical();
        let hash = leaf_hash(&canonical);
        Sealed { record, canonical, hash, body: self.body }
    }
}

/// A record with its canonical bytes, its leaf hash and its body: what a store appends.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    pub record: Record,
    pub canonical: Vec<u8>,
    pub hash: Hash,
    pub body: Option<Body>,
}

/// The leaf of the log. Hashed as `SHA-256(0x00 || JCS(record))`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub v: u32,
    pub origin: String,
    pub seq: u64,
    pub id: String,
    pub time: Timestamp,
    #[serde(flatten)]
    pub fields: Fields,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_digest: Option<Hash>,
    pub prev: Hash,
}

/// Why stored bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not a record: {0}")]
    Parse(String),
    #[error("record version {0} is not supported (this trail reads version 1)")]
    Version(u32),
    #[error("record bytes are not in canonical (RFC 8785) form")]
    NotCanonical,
}

/// The names a record may carry.
pub const RECORD_FIELDS: &[&str] = &[
    "v",
    "origin",
    "seq",
    "id",
    "time",
    "kind",
    "category",
    "action",
    "status",
    "agent",
    "session",
    "conversation",
    "actor",
    "source",
    "trace_id",
    "span_id",
    "duration_ms",
    "usage",
    "findings",
    "body_digest",
    "prev",
];

impl Record {
    /// The RFC 8785 bytes of this record, written directly in sorted key order.
    pub fn canonical(&self) -> Vec<u8> {
        let mut w = ObjectWriter::new(Vec::with_capacity(384));
        let f = &self.fields;
        w.opt_str("action", f.action.as_deref());
        w.opt_str("actor", f.actor.as_deref());
        w.opt_str("agent", f.agent.as_deref());
        w.opt_str("body_digest", self.body_digest.map(|h| h.to_string()).as_deref());
        w.opt_str("category", f.category.as_deref());
        w.opt_str("conversation", f.conversation.as_deref());
        w.opt_u64("duration_ms", f.duration_ms);
        if !self.findings.is_empty() {
            w.key("findings");
            w.out.push(b'[');
            for (i, finding) in self.findings.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                let mut inner = ObjectWriter::new(std::mem::take(&mut w.out));
                inner.opt_u64("count", Some(u64::from(finding.count)));
                inner.opt_str("path", Some(&finding.path));
                inner.opt_str("type", Some(&finding.kind));
                w.out = inner.finish();
            }
            w.out.push(b']');
        }
        w.opt_str("id", Some(&self.id));
        w.opt_str("kind", Some(&f.kind));
        w.opt_str("origin", Some(&self.origin));
        w.opt_str("prev", Some(&self.prev.to_string()));
        w.opt_u64("seq", Some(self.seq));
        w.opt_str("session", f.session.as_deref());
        w.opt_str("source", f.source.as_deref());
        w.opt_str("span_id", f.span_id.as_deref());
        w.opt_str("status", f.status.as_deref());
        w.opt_str("time", Some(&self.time.to_string()));
        w.opt_str("trace_id", f.trace_id.as_deref());
        if let Some(u) = &f.usage {
            w.key("usage");
            let mut inner = ObjectWriter::new(std::mem::take(&mut w.out));
            if let Some(c) = u.cost_usd {
                inner.key("cost_usd");
                inner.out.extend_from_slice(jcs::format_f64(c).as_bytes());
            }
            inner.opt_u64("input_tokens", u.input_tokens);
            inner.opt_str("model", u.model.as_deref());
            inner.opt_u64("output_tokens", u.output_tokens);
            w.out = inner.finish();
        }
        w.opt_u64("v", Some(u64::from(self.v)));
        w.finish()
    }

    /// The leaf hash of this record.
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.canonical())
    }

    /// Parses stored canonical bytes, checking they are exactly the canonical form.
    pub fn from_canonical(bytes: &[u8]) -> Result<Record, RecordError> {
        // Stores and verifiers parse every record they read, so the common case goes straight
        // from the bytes to the fields. Whatever that path does not accept takes the general
        // one, which names the problem; whatever it accepts is held to the canonical check
        // below, like everything else, so it can only yield the record the bytes encode.
        let record = match serde_json::from_slice::<FlatRecord>(bytes) {
            Ok(flat) if flat.v == RECORD_VERSION => flat.into_record(),
            _ => Record::from_json_slice(bytes)?,
        };
        if record.canonical() != bytes {
            return Err(RecordError::NotCanonical);
        }
        Ok(record)
    }

    /// Parses a record from any JSON text (for example a line of an export).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Record, RecordError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Parse(e.to_string()))?;
        Record::from_value(value)
    }

    /// Parses a record from a JSON value.
    pub fn from_value(value: Value) -> Result<Record, RecordError> {
        let Value::Object(map) = &value else {
            return Err(RecordError::Parse(format!(
                "expected a JSON object, found {}",
                json_type_name(&value)
            )));
        };
        if let Some(key) = map.keys().find(|k| !RECORD_FIELDS.contains(&k.as_str())) {
            return Err(RecordError::Parse(format!("unknown field `{key}`")));
        }
        let Value::Object(mut map) = value else { unreachable_object() };
        let mut take = |name: &str| map.remove(name).unwrap_or(Value::Null);
        let outer = serde_json::json!({
            "v": take("v"), "origin": take("origin"), "seq": take("seq"), "id": take("id"),
            "time": take("time"), "findings": take("findings"),
            "body_digest": take("body_digest"), "prev": take("prev"),
        });
        let parse_err = |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            RecordError::Parse(format!("{path}: {}", e.into_inner()))
        };
        let outer: RecordOuter = serde_path_to_error::deserialize(outer).map_err(parse_err)?;
        let fields: Fields =
            serde_path_to_error::deserialize(Value::Object(map)).map_err(parse_err)?;
        let record = Record {
            v: outer.v,
            origin: outer.origin,
            seq: outer.seq,
            id: outer.id,
            time: outer.time,
            fields,
            findings: outer.findings.unwrap_or_default(),
            body_digest: outer.body_digest,
            prev: outer.prev,
        };
        if record.v != RECORD_VERSION {
            return Err(RecordError::Version(record.v));
        }
        Ok(record)
    }

    /// The record as a JSON value (for exports and APIs).
    pub fn to_value(&self) -> Value {
        // The canonical bytes are valid JSON by construction.
        serde_json::from_slice(&self.canonical()).unwrap_or(Value::Null)
    }
}

/// The record's own fields, parsed apart from the shared metadata.
#[derive(Deserialize)]
struct RecordOuter {
    v: u32,
    origin: String,
    seq: u64,
    id: String,
    time: Timestamp,
    findings: Option<Vec<FindingSummary>>,
    body_digest: Option<Hash>,
    prev: Hash,
}

/// Every field of a record at one level: the fast path of [`Record::from_canonical`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatRecord {
    v: u32,
    origin: String,
    seq: u64,
    id: String,
    time: Timestamp,
    findings: Option<Vec<FindingSummary>>,
    body_digest: Option<Hash>,
    prev: Hash,
    kind: String,
    category: Option<String>,
    action: Option<String>,
    status: Option<String>,
    agent: Option<String>,
    session: Option<String>,
    conversation: Option<String>,
    actor: Option<String>,
    source: Option<String>,
    trace_id: Option<String>,
    span_id: Option<String>,
    duration_ms: Option<u64>,
    usage: Option<Usage>,
}

impl FlatRecord {
    fn into_record(self) -> Record {
        Record {
            v: self.v,
            origin: self.origin,
            seq: self.seq,
            id: self.id,
            time: self.time,
            fields: Fields {
                kind: self.kind,
                category: self.category,
                action: self.action,
                status: self.status,
                agent: self.agent,
                session: self.session,
                conversation: self.conversation,
                actor: self.actor,
                source: self.source,
                trace_id: self.trace_id,
                span_id: self.span_id,
                duration_ms: self.duration_ms,
                usage: self.usage,
            },
            findings: self.findings.unwrap_or_default(),
            body_digest: self.body_digest,
            prev: self.prev,
        }
    }
}

fn unreachable_object() -> ! {
    // Checked by the caller just above.
    unreachable!("value is an object")
}

/// Writes one JSON object whose keys the caller supplies in sorted order.
struct ObjectWriter {
    out: Vec<u8>,
    first: bool,
}

impl ObjectWriter {
    fn new(mut out: Vec<u8>) -> Self {
        out.push(b'{');
        ObjectWriter { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        jcs::write_str(&mut self.out, key);
        self.out.push(b':');
    }

    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.key(key);
            jcs::write_str(&mut self.out, v);
        }
    }

    fn opt_u64(&mut self, key: &str, value: Option<u64>) {
        if let Some(v) = value {
            self.key(key);
            self.out.extend_from_slice(v.to_string().as_bytes());
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_event(input: &str, expect: &str) {
        let got = match Event::from_slice(input.as_bytes()) {
            Ok(e) => format!("ok kind={}", e.fields.kind),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "input {input}");
    }

    #[test]
    fn good_event() {
        check_event(
            r#"{"kind":"tool_call","action":"Read","body":{"args":{"path":"/etc"}}}"#,
            "ok kind=tool_call",
        );
    }

    #[test]
    fn unknown_field_is_named() {
        check_event(
            r#"{"kind":"tool_call","colour":"red"}"#,
            "field `colour`: unknown field (known fields: id, time, kind, category, action, status, agent, session, conversation, actor, source, trace_id, span_id, duration_ms, usage, body)",
        );
    }

    #[test]
    fn wrong_type_is_named() {
        check_event(
            r#"{"kind":"tool_call","duration_ms":"12"}"#,
            "field `duration_ms`: invalid type: string \"12\", expected u64",
        );
        check_event(
            r#"{"kind":"llm","usage":{"input_tokens":-1}}"#,
            "field `usage.input_tokens`: invalid value: integer `-1`, expected u64",
        );
    }

    #[test]
    fn empty_and_missing_kind() {
        check_event(r#"{"kind":""}"#, "field `kind`: must not be empty");
        check_event(r#"{"action":"x"}"#, "field `kind`: required field is missing");
    }

    #[test]
    fn bad_time() {
        check_event(
            r#"{"kind":"x","time":"yesterday"}"#,
            "field `time`: \"yesterday\" is not an RFC 3339 date-time such as 2026-11-22T22:45:12.123Z",
        );
    }

    #[test]
    fn not_an_object() {
        check_event("[1]", "event must be a JSON object, found an array");
        check_event("{", "invalid JSON: EOF while parsing an object at line 1 column 1");
    }

    #[test]
    fn big_integer_in_body() {
        check_event(
            r#"{"kind":"x","body":{"n":[18446744073709551615]}}"#,
            "body: number 18446744073709551615 at /n/0 is an integer beyond ±2^53 and cannot be hashed faithfully; send it as a string",
        );
    }

    #[test]
    fn big_doubles_in_a_body_read_back_as_an_export_line() {
        // Regression (found by the `jcs` fuzz target): these bodies were stored, but an export
        // of them could not be read back, since the canonical digits of the doubles were refused
        // as unsafe integers. Record and body go through the export reader as `trail verify`
        // reads them.
        let event = Event::from_slice(
            br#"{"kind":"x","usage":{"cost_usd":1e17},"body":{"n":16666888888888886666.5,"m":[1e16,-1.5e17]}}"#,
        )
        .unwrap();
        let sealed = event.prepare("id".into(), Timestamp::EPOCH, vec![], [1; 32]).unwrap().seal(
            "trail.test/big",
            0,
            Hash::ZERO,
        );
        let body = sealed.body.clone().unwrap();
        let line = format!(
            r#"{{"record":{},"hash":"{}","body":{},"salt":"{}"}}"#,
            String::from_utf8(sealed.canonical.clone()).unwrap(),
            sealed.hash,
            String::from_utf8(body.canonical.clone()).unwrap(),
            hex::encode(body.salt)
        );
        match crate::export::parse_line(&line).unwrap() {
            crate::export::ExportLine::Record { canonical, body: Some(b), .. } => {
                assert_eq!(canonical, sealed.canonical);
                assert_eq!(b.canonical, body.canonical);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn canonical_writer_equals_generic_jcs() {
        let event = Event::from_value(json!({
            "kind": "llm", "agent": "a\u{1}b".replace('\u{1}', ""), "session": "s\"1",
            "usage": {"input_tokens": 10, "output_tokens": 3, "cost_usd": 0.0125, "model": "m"},
            "duration_ms": 5, "trace_id": "t", "span_id": "sp", "status": "ok",
            "body": {"z": 1, "a": [1.5, "é"]}
        }))
        .unwrap();
        let findings = vec![FindingSummary { path: "/a/1".into(), kind: "email".into(), count: 2 }];
        let sealed = event
            .prepare("id-1".into(), Timestamp::from_unix_nanos(5), findings, [7; 32])
            .unwrap()
            .seal("trail.test/log", 3, Hash([9; 32]));
        let generic = jcs::to_vec(&serde_json::to_value(&sealed.record).unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(sealed.canonical.clone()).unwrap(),
            String::from_utf8(generic).unwrap()
        );
        assert_eq!(Record::from_canonical(&sealed.canonical).unwrap(), sealed.record);
    }

    #[test]
    fn non_canonical_bytes_are_rejected() {
        let sealed = Event::from_value(json!({"kind": "x"}))
            .unwrap()
            .prepare("i".into(), Timestamp::EPOCH, vec![], [0; 32])
            .unwrap()
            .seal("o", 0, Hash::ZERO);
        let mut spaced = String::from_utf8(sealed.canonical).unwrap();
        spaced.insert(1, ' ');
        assert_eq!(Record::from_canonical(spaced.as_bytes()), Err(RecordError::NotCanonical));
    }
}
