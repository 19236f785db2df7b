//! denkeeper (`internal/audit`, tag v0.29.10): one `audit_events` row per event in SQLite, no
//! integrity data, timestamps in RFC3339Nano in each time's own zone.
//!
//! Each row becomes one event: id `denkeeper:<id>`, kind and category = the category, action,
//! agent, status (`''` left out), `duration_ms`, conversation = `conversation_id`. For tool calls
//! the action is the tool named in `detail` (the row's own action, `execute`, stays in the body).
//! The row is kept whole under `body.denkeeper` with `detail` parsed when it is JSON text and
//! non-UTF-8 summaries (byte-cut by denkeeper's `truncateSummary`) kept as hex beside a lossy text.
//! Times with any offset and any fraction length are normalised to UTC, which also fixes
//! denkeeper's text order (`.5Z` sorted before `Z`).

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::common::{self, Cell, ident, kind_from, parse_time};
use crate::{ImportBatch, ImportError, System};

/// What denkeeper's store cannot prove, recorded with the import.
pub const LIMITS: &str = "denkeeper keeps no hashes or signatures: rows can be updated or deleted \
without a trace (its AUTOINCREMENT ids are the only sign of a deletion), and events dropped by its \
full buffer or failed flushes were never written, so this import shows only what the database held \
when it was read";

pub fn import(path: &Path) -> Result<ImportBatch, ImportError> {
    let table = common::read_table(path, System::Denkeeper, "audit_events", "rowid")?;
    for col in ["timestamp", "category", "action"] {
        if table.col(col).is_none() {
            return Err(ImportError::NotThisSystem {
                path: path.to_owned(),
                system: System::Denkeeper,
                reason: format!("table audit_events has no column {col}"),
            });
        }
    }
    let file = common::file_name(path);
    let mut events = Vec::with_capacity(table.rows.len() + 1);
    let mut notes = Vec::new();
    let mut digest_input = Vec::new();
    let mut last_id: Option<i64> = None;
    let mut gaps = Vec::new();
    for row in &table.rows {
        let id = match row.first() {
            Some(Cell::Int(n)) => *n,
            _ => 0,
        };
        if let Some(prev) = last_id
            && id > prev + 1
        {
            gaps.push(if id == prev + 2 {
                format!("{}", prev + 1)
            } else {
                format!("{}-{}", prev + 1, id - 1)
            });
        }
        last_id = Some(id);
        let at = format!("id {id}");
        let get = |name: &str| table.col(name).and_then(|i| row.get(i)).unwrap_or(&Cell::Null);
        let field_err = |field: &str, reason: String| ImportError::Field {
            path: path.to_owned(),
            at: at.clone(),
            field: field.into(),
            reason,
        };
        let mut kept = Vec::new();
        let mut original = Map::new();
        for (c, cell) in table.columns.iter().zip(row).skip(1) {
            let v = if c == "detail" {
                match cell {
                    Cell::Text(s) if s.trim_start().starts_with(['{', '[']) => {
                        serde_json::from_str::<Value>(s).unwrap_or_else(|_| json!(s))
                    }
                    other => other.to_json("/denkeeper/detail", &mut kept),
                }
            } else {
                cell.to_json(&format!("/denkeeper/{c}"), &mut kept)
            };
            original.insert(c.clone(), v);
        }
        original.insert("id".into(), json!(id));
        digest_input.extend_from_slice(Value::Object(original.clone()).to_string().as_bytes());
        digest_input.push(b'\n');

        let ts_text = get("timestamp")
            .text()
            .ok_or_else(|| field_err("timestamp", "expected RFC 3339 text".into()))?;
        let (time, form) = parse_time(ts_text).map_err(|e| field_err("timestamp", e))?;
        if form != common::TimeForm::Rfc3339 {
            notes.push(format!(
                "{at}: timestamp {ts_text:?} is not RFC 3339 with an offset; read as UTC"
            ));
        }
        let category = get("category").text().unwrap_or_default();
        let mut record = Map::new();
        record.insert("id".into(), json!(format!("denkeeper:{id}")));
        record.insert("time".into(), json!(time.to_string()));
        record.insert("kind".into(), json!(kind_from(category)));
        record.insert("source".into(), json!("denkeeper"));
        if let Some(c) = ident(category) {
            record.insert("category".into(), json!(c));
        }
        let detail = original.get("detail").cloned().unwrap_or(Value::Null);
        let tool = (category == "tool_call")
            .then(|| detail.get("tool").and_then(Value::as_str).and_then(ident))
            .flatten();
        if let Some(a) = tool.or_else(|| get("action").text().and_then(ident)) {
            record.insert("action".into(), json!(a));
        }
        for (col, field) in
            [("agent", "agent"), ("status", "status"), ("conversation_id", "conversation")]
        {
            if let Some(v) = get(col).text().and_then(ident) {
                record.insert(field.into(), json!(v));
            }
        }
        match get("duration_ms") {
            Cell::Int(n) if (0..1 << 53).contains(n) => {
                drop(record.insert("duration_ms".into(), json!(n)))
            }
            Cell::Null | Cell::Int(_) => {}
            other => notes.push(format!(
                "{at}: duration_ms {other:?} is not a count of milliseconds; kept in the body"
            )),
        }
        if get("status").text() == Some("") {
            notes.push(format!("{at}: empty status (written without the emitter's default \"ok\"); left out of the record"));
        }
        if matches!(get("summary"), Cell::BadText(_)) {
            notes.push(format!(
                "{at}: summary is not valid UTF-8 (cut mid-character); kept as hex in the body"
            ));
        }
        let mut import = json!({"file": file, "row": id});
        if !kept.is_empty() {
            import["kept_as_text"] = json!(kept);
        }
        record.insert("body".into(), json!({"denkeeper": original, "import": import}));
        events.push(common::event(Value::Object(record)).map_err(|reason| ImportError::Bad {
            path: path.to_owned(),
            at: at.clone(),
            reason,
        })?);
    }
    if !gaps.is_empty() {
        notes.push(format!(
            "ids missing: {} (rows deleted by retention or by hand; denkeeper records no deletion)",
            gaps.join(", ")
        ));
    }
    let mut body = Map::new();
    body.insert("file".into(), json!(file));
    body.insert("rows".into(), json!(table.rows.len()));
    body.insert("verdict".into(), json!("not checked: denkeeper keeps no integrity data"));
    body.insert("notes".into(), json!(notes));
    body.insert("cannot_prove".into(), json!(LIMITS));
    let import =
        common::import_event("denkeeper", &common::sha256_hex(&digest_input), body).map_err(
            |reason| ImportError::Bad { path: path.to_owned(), at: "import event".into(), reason },
        )?;
    events.insert(0, import);
    Ok(ImportBatch {
        system: System::Denkeeper,
        path: path.to_owned(),
        items: table.rows.len() as u64,
        chain_valid: None,
        problems: Vec::new(),
        notes,
        events,
    })
}
