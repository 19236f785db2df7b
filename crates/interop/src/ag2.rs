//! AG2's hub audit log (`ag2` 1.2.1, `ag2.network.hub.audit.AuditLog`): `audit/audit.jsonl`, one
//! `json.dumps(record, default=str, sort_keys=True)` per line, no ids, no integrity data.
//!
//! Records have no id, so the id is derived from the line itself: `ag2:<sha256(line)[:24]>`, with
//! `:<n>` added to the n-th repeat of an identical line, which keeps re-imports (and appends to
//! the file) idempotent. `at` is whatever the caller passed, so it is parsed leniently (RFC 3339,
//! Python's `str(datetime)` with a space, or no offset read as UTC) and times that go backwards
//! are noted. Kind = the record's kind; agent = `agent_id` (or a task's `owner_id`), conversation
//! = `channel_id`, action and status from the task, turn or expectation fields. The record is kept
//! whole under `body.ag2`.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value, json};
use trail_core::{Event, Timestamp};

use crate::common::{self, ident, kind_from, parse_time, py_to_json};
use crate::pyjson::{self, PyValue};
use crate::{ImportBatch, ImportError, System};

/// What an AG2 audit log cannot prove, recorded with the import.
pub const LIMITS: &str = "AG2's audit log has no hashes, sequence numbers or signatures, and `at` \
is supplied by the caller: lines can be edited, removed or reordered without a trace, and records \
whose store append failed were lost silently, so this import shows only what the file held when \
it was read";

pub fn import(path: &Path) -> Result<ImportBatch, ImportError> {
    let bytes =
        std::fs::read(path).map_err(|source| ImportError::Io { path: path.to_owned(), source })?;
    let file = common::file_name(path);
    let mut events = Vec::new();
    let mut notes = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut last: Option<(u64, Timestamp)> = None;
    let mut items = 0u64;
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let n = i as u64 + 1;
        let at = format!("line {n}");
        let bad =
            |reason: String| ImportError::Bad { path: path.to_owned(), at: at.clone(), reason };
        let text =
            std::str::from_utf8(raw).map_err(|_| bad("the line is not valid UTF-8".into()))?;
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        items += 1;
        let value = pyjson::loads(pyjson::py_strip(text))
            .map_err(|e| bad(format!("invalid JSON — {e}")))?;
        if !matches!(value, PyValue::Object(_)) {
            return Err(bad(format!("expected a JSON object, found {}", value.type_name())));
        }
        let (event, note) = line_event(path, &file, n, text, &value, &mut seen)?;
        if let Some(note) = note {
            notes.push(note);
        }
        if let Some((ln, prev)) = last
            && event.time.is_some_and(|t| t < prev)
        {
            notes.push(format!(
                "{at}: at {} is earlier than line {ln}'s {prev} (AG2 takes `at` from the caller)",
                event.time.map(|t| t.to_string()).unwrap_or_default()
            ));
        }
        last = event.time.map(|t| (n, t));
        events.push(event);
    }
    let mut body = Map::new();
    body.insert("file".into(), json!(file));
    body.insert("records".into(), json!(items));
    body.insert("verdict".into(), json!("not checked: AG2 keeps no integrity data"));
    body.insert("notes".into(), json!(notes));
    body.insert("cannot_prove".into(), json!(LIMITS));
    let import =
        common::import_event("ag2", &common::sha256_hex(&bytes), body).map_err(|reason| {
            ImportError::Bad { path: path.to_owned(), at: "import event".into(), reason }
        })?;
    events.insert(0, import);
    Ok(ImportBatch {
        system: System::Ag2,
        path: path.to_owned(),
        items,
        chain_valid: None,
        problems: Vec::new(),
        notes,
        events,
    })
}

/// One AG2 audit record (`text`, the line as written, parsed as `value`) at line `n` of `file`,
/// mapped: id `ag2:` and the first 24 hex digits of the line's SHA-256 (a repeated line gets
/// `:2`, `:3`, counted in `seen`), and a note on its time's form when it is not RFC 3339. Used by
/// [`import`] and by recorders that get AG2's records as they are appended.
pub fn line_event(
    path: &Path,
    file: &str,
    n: u64,
    text: &str,
    value: &PyValue,
    seen: &mut HashMap<String, u32>,
) -> Result<(Event, Option<String>), ImportError> {
    let at = format!("line {n}");
    let bad = |reason: String| ImportError::Bad { path: path.to_owned(), at: at.clone(), reason };
    let field_err = |field: &str, reason: String| ImportError::Field {
        path: path.to_owned(),
        at: at.clone(),
        field: field.into(),
        reason,
    };
    let kind =
        value.get_str("kind").ok_or_else(|| field_err("kind", "expected a string".into()))?;
    let at_text = value.get_str("at").ok_or_else(|| match value.get("at") {
        None => field_err("at", "required field is missing".into()),
        Some(v) => field_err("at", format!("expected an ISO-8601 string, found {}", v.type_name())),
    })?;
    let (time, form) = parse_time(&at_text).map_err(|e| field_err("at", e))?;
    let note = match form {
        common::TimeForm::Rfc3339 => None,
        common::TimeForm::SpaceSeparated => Some(format!(
            "{at}: at {at_text:?} has a space for `T` (Python's str(datetime)); read as RFC 3339"
        )),
        common::TimeForm::Naive => {
            Some(format!("{at}: at {at_text:?} has no UTC offset; read as UTC"))
        }
    };

    let digest = common::sha256_hex(text.as_bytes());
    let short = &digest[..24];
    let count = seen.entry(short.to_owned()).or_insert(0);
    *count += 1;
    let id = if *count == 1 { format!("ag2:{short}") } else { format!("ag2:{short}:{count}") };

    let s = |k: &str| value.get_str(k).and_then(|v| ident(&v));
    let mut record = Map::new();
    record.insert("id".into(), json!(id));
    record.insert("time".into(), json!(time.to_string()));
    record.insert("kind".into(), json!(kind_from(&kind)));
    record.insert("source".into(), json!("ag2"));
    let category = match kind.as_str() {
        "agent_registered" | "agent_unregistered" | "resume_set" | "skill_set" | "rule_set" => {
            Some("agent")
        }
        "channel_created" | "channel_closed" | "channel_expired" => Some("channel"),
        "task_terminated" => Some("task"),
        "expectation_violated" => Some("safety"),
        "turn_failed" => Some("turn"),
        _ => None,
    };
    if let Some(c) = category {
        record.insert("category".into(), json!(c));
    }
    if let Some(a) = s("agent_id").or_else(|| s("owner_id")).or_else(|| s("creator_id")) {
        record.insert("agent".into(), json!(a));
    }
    if let Some(c) = s("channel_id") {
        record.insert("conversation".into(), json!(c));
    }
    let (action, status) = match kind.as_str() {
        "task_terminated" => {
            let status = match value.get_str("outcome").as_deref() {
                Some("completed") => Some("ok".to_owned()),
                Some("failed" | "expired") => Some("error".to_owned()),
                Some(other) => ident(other),
                None => None,
            };
            (s("capability"), status)
        }
        "turn_failed" => (s("exc_type"), Some("error".to_owned())),
        "expectation_violated" => (s("expectation"), Some("denied".to_owned())),
        "resume_set" => (s("source"), None),
        _ => (None, None),
    };
    if let Some(a) = action {
        record.insert("action".into(), json!(a));
    }
    if let Some(st) = status {
        record.insert("status".into(), json!(st));
    }
    let mut kept = Vec::new();
    let original = py_to_json(value, "/ag2", &mut kept);
    let mut import = json!({"file": file, "line": n});
    if !kept.is_empty() {
        import["kept_as_text"] = json!(kept);
    }
    record.insert("body".into(), json!({"ag2": original, "import": import}));
    Ok((common::event(Value::Object(record)).map_err(bad)?, note))
}

/// [`line_event`] for one line as AG2's `AuditLog.append` writes it.
pub fn event_from_line(
    line: &str,
    source: &str,
    n: u64,
    seen: &mut HashMap<String, u32>,
) -> Result<Event, ImportError> {
    let path = Path::new(source);
    let text = line.trim_end_matches(['\n', '\r']);
    let value = pyjson::loads(pyjson::py_strip(text)).map_err(|e| ImportError::Bad {
        path: path.to_owned(),
        at: format!("line {n}"),
        reason: format!("invalid JSON — {e}"),
    })?;
    if !matches!(value, PyValue::Object(_)) {
        return Err(ImportError::Bad {
            path: path.to_owned(),
            at: format!("line {n}"),
            reason: format!("expected a JSON object, found {}", value.type_name()),
        });
    }
    Ok(line_event(path, &common::file_name(path), n, text, &value, seen)?.0)
}
