//! The fields an event and its record share: what happened, to whom, at what cost, and what the
//! scanner found; validated where they are parsed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event::EventError;
use crate::jcs::MAX_SAFE_INTEGER;

/// The most tokens one event may report (2^32 - 1, far beyond any model's window): sums over a
/// log then stay within 64 bits for billions of events.
pub const MAX_TOKENS: u64 = u32::MAX as u64;

/// The largest cost one event may report, in US dollars: sums stay finite and exact enough.
pub const MAX_COST_USD: f64 = 1e9;

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

/// The fields that hold a string ([`Fields::set_string`] sets each of them).
pub(crate) const STRING_FIELDS: &[&str] = &[
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
];

impl Fields {
    /// Sets the string field `name` (one of `STRING_FIELDS`) to `value`; false, changing
    /// nothing, for any other name.
    pub fn set_string(&mut self, name: &str, value: String) -> bool {
        let slot = match name {
            "kind" => {
                self.kind = value;
                return true;
            }
            "category" => &mut self.category,
            "action" => &mut self.action,
            "status" => &mut self.status,
            "agent" => &mut self.agent,
            "session" => &mut self.session,
            "conversation" => &mut self.conversation,
            "actor" => &mut self.actor,
            "source" => &mut self.source,
            "trace_id" => &mut self.trace_id,
            "span_id" => &mut self.span_id,
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    pub(super) fn validate(&self) -> Result<(), EventError> {
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
            for (field, n) in
                [("usage.input_tokens", u.input_tokens), ("usage.output_tokens", u.output_tokens)]
            {
                if let Some(n) = n
                    && n > MAX_TOKENS
                {
                    return Err(EventError::field(
                        field,
                        format!("{n} is more tokens than one call can use (at most {MAX_TOKENS})"),
                    ));
                }
            }
            if let Some(c) = u.cost_usd
                && !(c.is_finite() && (0.0..=MAX_COST_USD).contains(&c))
            {
                return Err(EventError::field(
                    "usage.cost_usd",
                    format!("must be a number from 0 to {MAX_COST_USD}"),
                ));
            }
            if let Some(m) = &u.model {
                check_identifier("usage.model", m)?;
            }
        }
        Ok(())
    }
}

pub(super) fn check_identifier(field: &str, value: &str) -> Result<(), EventError> {
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

pub(super) fn check_safe(field: &str, n: u64) -> Result<(), EventError> {
    if n > MAX_SAFE_INTEGER {
        return Err(EventError::field(field, format!("{n} is beyond 2^53; JCS cannot hash it")));
    }
    Ok(())
}

pub(super) fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

pub(super) fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
