//! The trail export format: JSON Lines in seq order.
//!
//! ```text
//! {"anchor": {...}}                                  (only when the log was pruned)
//! {"record": {...}, "hash": "<hex>", "body": {...}, "salt": "<hex>"}
//! {"checkpoint": "<signed note text>"}               (after the last record it covers)
//! ```
//! `body` and `salt` are absent when the event had no body or the body was erased. Reading an
//! export never trusts `hash`: the verifier recomputes it from the canonical form of `record`.

use serde_json::{Map, Value};
use trail_merkle::Hash;

use crate::jcs;
use crate::model::Body;
use crate::verify::Anchor;

/// One parsed line of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportLine {
    Record { canonical: Vec<u8>, hash: Option<Hash>, body: Option<Body> },
    Checkpoint(String),
    Anchor(Anchor),
}

/// Why a line is not an export line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("expected an object with `record`, `checkpoint` or `anchor`")]
    UnknownLine,
    #[error("field `{0}`: {1}")]
    Field(&'static str, String),
}

/// Writes a record line (without newline).
pub fn record_line(canonical: &[u8], hash: &Hash, body: Option<&Body>) -> String {
    let mut s = String::with_capacity(canonical.len() + 200);
    s.push_str("{\"record\":");
    push_utf8(&mut s, canonical);
    s.push_str(",\"hash\":\"");
    s.push_str(&hash.to_string());
    s.push('"');
    if let Some(body) = body {
        s.push_str(",\"body\":");
        push_utf8(&mut s, &body.canonical);
        s.push_str(",\"salt\":\"");
        s.push_str(&hex::encode(body.salt));
        s.push('"');
    }
    s.push('}');
    s
}

/// Appends canonical JSON, UTF-8 by construction (checked by the standard library's fast
/// validation; `from_utf8_lossy`'s chunked walk cost more than the rest of the line).
fn push_utf8(s: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => s.push_str(text),
        Err(_) => s.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// Writes a checkpoint line (without newline).
pub fn checkpoint_line(note: &str) -> String {
    let mut m = Map::new();
    m.insert("checkpoint".into(), Value::String(note.to_owned()));
    Value::Object(m).to_string()
}

/// Writes an anchor line (without newline).
pub fn anchor_line(anchor: &Anchor) -> String {
    serde_json::json!({ "anchor": anchor }).to_string()
}

/// Parses one line.
pub fn parse_line(line: &str) -> Result<ExportLine, ExportError> {
    let value: Value = serde_json::from_str(line).map_err(|e| ExportError::Json(e.to_string()))?;
    let Value::Object(mut map) = value else { return Err(ExportError::UnknownLine) };
    if let Some(cp) = map.remove("checkpoint") {
        return match cp {
            Value::String(s) => Ok(ExportLine::Checkpoint(s)),
            _ => Err(ExportError::Field("checkpoint", "must be a string".into())),
        };
    }
    if let Some(anchor) = map.remove("anchor") {
        return serde_json::from_value(anchor)
            .map(ExportLine::Anchor)
            .map_err(|e| ExportError::Field("anchor", e.to_string()));
    }
    let Some(record) = map.remove("record") else { return Err(ExportError::UnknownLine) };
    let canonical =
        jcs::to_vec(&record).map_err(|e| ExportError::Field("record", e.to_string()))?;
    let hash = match map.remove("hash") {
        None => None,
        // Lowercase only, as written: an export is checked byte for byte, so a changed byte
        // never passes unnoticed, even where it would mean the same hash.
        Some(Value::String(s)) if is_lower_hex(&s) => Some(
            s.parse().map_err(|_| ExportError::Field("hash", "not a 64-digit hex hash".into()))?,
        ),
        Some(Value::String(_)) => {
            return Err(ExportError::Field("hash", "not 64 lowercase hex digits".into()));
        }
        Some(_) => return Err(ExportError::Field("hash", "must be a string".into())),
    };
    let body = match (map.remove("body"), map.remove("salt")) {
        (None, None) => None,
        (Some(body), Some(Value::String(salt))) => {
            if !is_lower_hex(&salt) {
                return Err(ExportError::Field("salt", "not 64 lowercase hex digits".into()));
            }
            let salt = hex::decode(&salt)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| ExportError::Field("salt", "not 64 hex digits".into()))?;
            let canonical =
                jcs::to_vec(&body).map_err(|e| ExportError::Field("body", e.to_string()))?;
            Some(Body { salt, canonical })
        }
        (Some(_), _) => return Err(ExportError::Field("salt", "a body needs its salt".into())),
        (None, Some(_)) => return Err(ExportError::Field("body", "a salt without a body".into())),
    };
    if let Some(key) = map.keys().next() {
        return Err(ExportError::Field("record", format!("unexpected field `{key}` in the line")));
    }
    Ok(ExportLine::Record { canonical, hash, body })
}

/// Hex as trail writes it: lowercase only, so a changed letter case is a changed file.
fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
