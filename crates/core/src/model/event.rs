//! The untrusted [`Event`], parsed strictly, and the [`Prepared`] record it becomes once its body
//! is canonical and digested.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use trail_merkle::{Hash, leaf_hash};

use super::fields::{Fields, FindingSummary, STRING_FIELDS, check_identifier, json_type_name};
use super::record::{RECORD_VERSION, Record, Sealed};
use crate::jcs::{self, JcsError};
use crate::timestamp::Timestamp;

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
    pub(super) fn field(field: &str, reason: impl Into<String>) -> Self {
        EventError::Field { field: field.to_owned(), reason: reason.into() }
    }
}

/// Kinds trail writes itself (`trail.erasure`, `trail.prune`, `trail.import`): the verifier
/// believes what an erasure or prune event says, so no client may send one.
pub const RESERVED_KIND_PREFIX: &str = "trail.";

/// Ids the OTLP receiver gives spans (`otel:<trace>:<span>`) and log records (`otel-log:`).
pub const OTEL_ID_PREFIX: &str = "otel:";

impl Event {
    /// Refuses an event from a client (HTTP, `trail log`, OTLP, the Python package) whose kind
    /// is one trail writes itself: a client-made `trail.erasure` would excuse a body deleted
    /// outside trail. The prefix is matched in any case (`TRAIL.erasure` reads the same to a
    /// person).
    pub fn check_client_kind(&self) -> Result<(), EventError> {
        let kind = self.fields.kind.as_bytes();
        if kind.len() >= RESERVED_KIND_PREFIX.len()
            && kind[..RESERVED_KIND_PREFIX.len()]
                .eq_ignore_ascii_case(RESERVED_KIND_PREFIX.as_bytes())
        {
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

    /// The event as a client may send it: [`Event::check_client_kind`], and no id of the OTLP
    /// receiver's shape (`otel:`, `otel-log:`, in any case, after leading spaces), which would
    /// stand in for the span when it arrives (the span would be taken for a retry). For every
    /// way in but the OTLP receiver itself.
    pub fn checked_from_client(self) -> Result<Event, EventError> {
        self.check_client_kind()?;
        if let Some(id) = &self.id {
            let id = id.trim_start().to_ascii_lowercase();
            if id.starts_with(OTEL_ID_PREFIX) || id.starts_with("otel-log:") {
                return Err(EventError::field(
                    "id",
                    format!(
                        "ids starting with {OTEL_ID_PREFIX:?} are the OTLP receiver's (a span's \
                         id is otel:<trace>:<span>); an event sent with one would stand in for \
                         the span when it arrives"
                    ),
                ));
            }
        }
        Ok(self)
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
            jcs::check(body)?;
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
        Ok(Prepared { id, time, fields: self.fields, findings, body_digest, body, fresh_id: false })
    }
}

/// Deserializes the metadata fields, naming the field that is wrong.
fn fields_from_map(map: serde_json::Map<String, Value>) -> Result<Fields, EventError> {
    let plain = map.contains_key("kind")
        && map.iter().all(|(k, v)| v.is_string() && STRING_FIELDS.contains(&k.as_str()));
    if plain {
        return Ok(plain_fields(map));
    }
    // serde reads a struct from an array too, by position: `[100, 200]` would be taken as
    // input and output tokens (found by an outside tester).
    if let Some(usage) = map.get("usage").filter(|u| !u.is_object() && !u.is_null()) {
        return Err(EventError::field(
            "usage",
            format!("expected an object, found {}", json_type_name(usage)),
        ));
    }
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

/// The fields of a map whose every member is a string field holding a string, with a `kind`
/// (most events): read directly, where serde (which the rest take, for its messages) walks
/// the map through a deserializer.
fn plain_fields(map: serde_json::Map<String, Value>) -> Fields {
    let mut f = Fields::default();
    for (key, value) in map {
        if let Value::String(v) = value {
            f.set_string(&key, v);
        }
    }
    f
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
    /// See [`Sealed::fresh_id`]; false unless the recorder that generated the id says so.
    pub fresh_id: bool,
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
        Sealed { record, canonical, hash, body: self.body, fresh_id: self.fresh_id }
    }
}

impl Sealed {
    /// The prepared record this was sealed from, to seal again at another position.
    pub fn unseal(self) -> Prepared {
        let r = self.record;
        Prepared {
            id: r.id,
            time: r.time,
            fields: r.fields,
            findings: r.findings,
            body_digest: r.body_digest,
            body: self.body,
            fresh_id: self.fresh_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_fields_read_directly_are_what_serde_reads() {
        // Every subset of the string fields (by bit), each holding a distinct string: the
        // direct reading and serde's must agree.
        let optional = &STRING_FIELDS[1..];
        for mask in 0u32..(1 << optional.len()) {
            let mut map = serde_json::Map::new();
            map.insert("kind".into(), Value::String("k".into()));
            for (i, name) in optional.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    map.insert((*name).into(), Value::String(format!("{name}-{mask}")));
                }
            }
            let by_serde: Fields = serde_json::from_value(Value::Object(map.clone())).unwrap();
            assert_eq!(plain_fields(map.clone()), by_serde, "{map:?}");
            assert_eq!(fields_from_map(map).unwrap(), by_serde);
        }
    }

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
        // Found by an outside tester: serde read an array as the struct, by position.
        check_event(
            r#"{"kind":"llm","usage":[100,200,1.5,"gpt-4"]}"#,
            "field `usage`: expected an object, found an array",
        );
        check_event(
            r#"{"kind":"llm","usage":[]}"#,
            "field `usage`: expected an object, found an array",
        );
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
        // reads them. (A record's cost is now at most 1e9, so the big doubles are in the body.)
        let event = Event::from_slice(
            br#"{"kind":"x","usage":{"cost_usd":1e9},"body":{"n":16666888888888886666.5,"m":[1e16,-1.5e17]}}"#,
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
}
