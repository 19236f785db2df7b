//! The stored [`Record`] and [`Sealed`] (a record with its canonical bytes and leaf hash), and
//! the writer that emits a record's canonical JSON with its keys in JCS order.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trail_merkle::{Hash, leaf_hash};

use super::event::Body;
use super::fields::{Fields, FindingSummary, Usage, json_type_name};
use crate::jcs;
use crate::timestamp::Timestamp;

/// The record format version this crate writes and reads.
pub const RECORD_VERSION: u32 = 1;

/// A record with its canonical bytes, its leaf hash and its body: what a store appends.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    pub record: Record,
    pub canonical: Vec<u8>,
    pub hash: Hash,
    pub body: Option<Body>,
    /// The id was generated for this record by the recorder (a new UUIDv7), not given by a
    /// client, so no stored record holds it: a store need not look it up before appending.
    pub fresh_id: bool,
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
        if let Some(digest) = &self.body_digest {
            w.hex("body_digest", digest);
        }
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
        w.hex("prev", &self.prev);
        w.opt_u64("seq", Some(self.seq));
        w.opt_str("session", f.session.as_deref());
        w.opt_str("source", f.source.as_deref());
        w.opt_str("span_id", f.span_id.as_deref());
        w.opt_str("status", f.status.as_deref());
        w.key("time");
        w.out.push(b'"');
        w.out.extend_from_slice(&self.time.rfc3339());
        w.out.push(b'"');
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

    /// A hash as its lowercase hex string.
    fn hex(&mut self, key: &str, hash: &Hash) {
        self.key(key);
        let mut hex = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(hash.0, &mut hex);
        self.out.push(b'"');
        self.out.extend_from_slice(&hex);
        self.out.push(b'"');
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;
    use serde_json::json;

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
