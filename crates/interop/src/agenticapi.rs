//! AgenticAPI (`agentharnessapi` 0.1.0, `SqliteAuditRecorder`): one `audit_traces` row per
//! execution, no integrity data.
//!
//! A trace covers the stages of one request, and each stage becomes its own event so that trail's
//! filters see them (`--kind policy_evaluation --status denied`): `intent`, `code_generation`
//! (when code, reasoning or usage is present), one `policy_evaluation` per policy, `execution`, and
//! `approval` (when an approval request is named). Ids are `agenticapi:<trace_id>:<stage>`; every
//! stage shares the trace's time, `trace_id` and endpoint (as `agent`). Every column lands in the
//! body of one stage under `agenticapi`; columns this version does not know go to `execution`.

use std::path::Path;

use serde_json::{Map, Value, json};
use trail_core::Event;

use crate::common::{self, Cell, ident, parse_time};
use crate::pyjson::{self};
use crate::{ImportBatch, ImportError, System};

/// Columns read into a specific stage; any other column is kept in the execution stage.
const KNOWN: [&str; 14] = [
    "trace_id",
    "timestamp",
    "endpoint_name",
    "intent_raw",
    "intent_action",
    "generated_code",
    "reasoning",
    "execution_duration_ms",
    "execution_result",
    "error",
    "llm_usage",
    "policy_evaluations",
    "approval_request_id",
    "stream_events",
];

/// What AgenticAPI's store cannot prove, recorded with the import.
pub const LIMITS: &str = "AgenticAPI keeps no hashes, counts or signatures: a row can be updated, \
replaced by INSERT OR REPLACE, evicted or deleted without a trace, so this import shows only what \
the database held when it was read";

pub fn import(path: &Path) -> Result<ImportBatch, ImportError> {
    let table = common::read_table(path, System::AgenticApi, "audit_traces", "rowid")?;
    for col in ["trace_id", "timestamp"] {
        if table.col(col).is_none() {
            return Err(ImportError::NotThisSystem {
                path: path.to_owned(),
                system: System::AgenticApi,
                reason: format!("table audit_traces has no column {col}"),
            });
        }
    }
    let file = common::file_name(path);
    let mut events = Vec::new();
    let mut digest_input = Vec::new();
    let mut notes = Vec::new();
    for row in &table.rows {
        let mut kept = Vec::new();
        let cells: Vec<(String, Value)> = table
            .columns
            .iter()
            .zip(row)
            .skip(1)
            .map(|(c, cell)| (c.clone(), cell.to_json(&format!("/agenticapi/{c}"), &mut kept)))
            .collect();
        digest_input
            .extend_from_slice(serde_json::to_string(&cells).unwrap_or_default().as_bytes());
        digest_input.push(b'\n');
        let trace = Trace { path, file: &file, table: &table, row, kept };
        events.extend(trace.events(&mut notes)?);
    }
    let mut body = Map::new();
    body.insert("file".into(), json!(file));
    body.insert("traces".into(), json!(table.rows.len()));
    body.insert("events".into(), json!(events.len()));
    body.insert("verdict".into(), json!("not checked: AgenticAPI keeps no integrity data"));
    body.insert("notes".into(), json!(notes));
    body.insert("cannot_prove".into(), json!(LIMITS));
    let import =
        common::import_event("agenticapi", &common::sha256_hex(&digest_input), body).map_err(
            |reason| ImportError::Bad { path: path.to_owned(), at: "import event".into(), reason },
        )?;
    events.insert(0, import);
    Ok(ImportBatch {
        system: System::AgenticApi,
        path: path.to_owned(),
        items: table.rows.len() as u64,
        chain_valid: None,
        problems: Vec::new(),
        notes,
        events,
    })
}

/// The events of one trace given as the row AgenticAPI's `SqliteAuditRecorder` writes
/// (`columns` with `row`, as its `_trace_to_row` orders them), mapped as [`import`] maps a
/// stored row, for recorders that get AgenticAPI's traces as they are made (the Python
/// package's `trail.compat.agenticapi`); `source` names where they came from, `n` the row.
/// The cells are JSON values as SQLite would hold them: null, integers, reals and text.
pub fn events_from_row(
    columns: &[String],
    row: &[Value],
    source: &str,
    n: i64,
) -> Result<Vec<Event>, ImportError> {
    let table = common::Table {
        columns: std::iter::once("rowid".to_owned()).chain(columns.iter().cloned()).collect(),
        rows: Vec::new(),
    };
    let cell = |v: &Value| match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Int(i64::from(*b)),
        Value::Number(x) => {
            x.as_i64().map_or_else(|| Cell::Real(x.as_f64().unwrap_or(f64::NAN)), Cell::Int)
        }
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    };
    let row: Vec<Cell> = std::iter::once(Cell::Int(n)).chain(row.iter().map(cell)).collect();
    let path = Path::new(source);
    let file = common::file_name(path);
    let trace = Trace { path, file: &file, table: &table, row: &row, kept: Vec::new() };
    trace.events(&mut Vec::new())
}

struct Trace<'a> {
    path: &'a Path,
    file: &'a str,
    table: &'a common::Table,
    row: &'a [Cell],
    kept: Vec<String>,
}

impl Trace<'_> {
    fn cell(&self, name: &str) -> &Cell {
        self.table.col(name).and_then(|i| self.row.get(i)).unwrap_or(&Cell::Null)
    }

    fn raw(&mut self, name: &str) -> Value {
        let cell = self.cell(name).clone();
        cell.to_json(&format!("/agenticapi/{name}"), &mut self.kept)
    }

    /// A column holding Python `json.dumps` output, parsed as Python would; text that is not
    /// JSON is kept as it is (AgenticAPI's own reader does the same).
    fn json_col(&mut self, name: &str, notes: &mut Vec<String>, at: &str) -> Value {
        match self.cell(name).clone() {
            Cell::Text(s) => match pyjson::loads(pyjson::py_strip(&s)) {
                Ok(v) => common::py_to_json(&v, &format!("/agenticapi/{name}"), &mut self.kept),
                Err(e) => {
                    notes.push(format!("{at}: {name} is not JSON ({e}); kept as text"));
                    Value::String(s)
                }
            },
            other => other.to_json(&format!("/agenticapi/{name}"), &mut self.kept),
        }
    }

    fn err(&self, at: &str, field: &str, reason: String) -> ImportError {
        ImportError::Field {
            path: self.path.to_owned(),
            at: at.to_owned(),
            field: field.into(),
            reason,
        }
    }

    fn events(mut self, notes: &mut Vec<String>) -> Result<Vec<Event>, ImportError> {
        let rowid = match self.row.first() {
            Some(Cell::Int(n)) => *n,
            _ => 0,
        };
        let at = format!("row {rowid}");
        let trace_id = self
            .cell("trace_id")
            .text()
            .and_then(ident)
            .ok_or_else(|| self.err(&at, "trace_id", "expected a non-empty text id".into()))?;
        let at = format!("trace {trace_id}");
        let ts_text = self
            .cell("timestamp")
            .text()
            .ok_or_else(|| self.err(&at, "timestamp", "expected ISO-8601 text".into()))?
            .to_owned();
        let (time, form) = parse_time(&ts_text).map_err(|e| self.err(&at, "timestamp", e))?;
        if form != common::TimeForm::Rfc3339 {
            notes.push(format!("{at}: timestamp {ts_text:?} has no UTC offset; taken as UTC"));
        }
        let endpoint = self.cell("endpoint_name").text().and_then(ident);
        let base = |stage: &str| {
            let mut m = Map::new();
            m.insert("id".into(), json!(format!("agenticapi:{trace_id}:{stage}")));
            m.insert("time".into(), json!(time.to_string()));
            m.insert("source".into(), json!("agenticapi"));
            m.insert("trace_id".into(), json!(trace_id));
            if let Some(e) = &endpoint {
                m.insert("agent".into(), json!(e));
            }
            m
        };
        let import = json!({"file": self.file, "row": rowid});
        let mut out: Vec<Map<String, Value>> = Vec::new();

        // intent
        let mut intent = base("intent");
        intent.insert("kind".into(), json!("intent"));
        intent.insert("category".into(), json!("intent"));
        if let Some(a) = self.cell("intent_action").text().and_then(ident) {
            intent.insert("action".into(), json!(a));
        }
        let body = json!({
            "trace_id": self.raw("trace_id"), "timestamp": self.raw("timestamp"),
            "endpoint_name": self.raw("endpoint_name"), "intent_raw": self.raw("intent_raw"),
            "intent_action": self.raw("intent_action"),
        });
        intent.insert("body".into(), json!({"agenticapi": body, "import": import}));
        out.push(intent);

        // code generation
        let usage = self.json_col("llm_usage", notes, &at);
        let code = self.raw("generated_code");
        let reasoning = self.raw("reasoning");
        if code.as_str().is_some_and(|s| !s.is_empty()) || !reasoning.is_null() || !usage.is_null()
        {
            let mut gen_ev = base("code_generation");
            gen_ev.insert("kind".into(), json!("code_generation"));
            gen_ev.insert("category".into(), json!("llm"));
            let mut u = Map::new();
            for (from, to) in [
                ("input_tokens", "input_tokens"),
                ("prompt_tokens", "input_tokens"),
                ("output_tokens", "output_tokens"),
                ("completion_tokens", "output_tokens"),
            ] {
                if let Some(n) = usage.get(from).and_then(Value::as_u64).filter(|n| *n < 1 << 53)
                    && !u.contains_key(to)
                {
                    u.insert(to.into(), json!(n));
                }
            }
            if !u.is_empty() {
                gen_ev.insert("usage".into(), Value::Object(u));
            }
            gen_ev.insert(
                "body".into(),
                json!({"agenticapi": {"generated_code": code, "reasoning": reasoning, "llm_usage": usage}, "import": import}),
            );
            out.push(gen_ev);
        } else {
            // Nothing to show, but the (empty) columns still land somewhere.
            out[0]["body"]["agenticapi"]["generated_code"] = code;
            out[0]["body"]["agenticapi"]["reasoning"] = reasoning;
            out[0]["body"]["agenticapi"]["llm_usage"] = usage;
        }

        // policy evaluations
        let policies = self.json_col("policy_evaluations", notes, &at);
        match &policies {
            Value::Array(items) => {
                for (i, p) in items.iter().enumerate() {
                    let mut ev = base(&format!("policy:{i}"));
                    ev.insert("kind".into(), json!("policy_evaluation"));
                    ev.insert("category".into(), json!("policy"));
                    if let Some(name) = p.get("policy_name").and_then(Value::as_str).and_then(ident)
                    {
                        ev.insert("action".into(), json!(name));
                    }
                    match p.get("allowed").and_then(Value::as_bool) {
                        Some(true) => drop(ev.insert("status".into(), json!("ok"))),
                        Some(false) => drop(ev.insert("status".into(), json!("denied"))),
                        None => {}
                    }
                    ev.insert(
                        "body".into(),
                        json!({"agenticapi": {"policy_evaluations": {"index": i, "of": items.len(), "policy": p}}, "import": import}),
                    );
                    out.push(ev);
                }
            }
            Value::Null => {}
            other => {
                let mut ev = base("policy:0");
                ev.insert("kind".into(), json!("policy_evaluation"));
                ev.insert("category".into(), json!("policy"));
                ev.insert(
                    "body".into(),
                    json!({"agenticapi": {"policy_evaluations": other}, "import": import}),
                );
                out.push(ev);
            }
        }

        // execution
        let mut exec = base("execution");
        exec.insert("kind".into(), json!("execution"));
        exec.insert("category".into(), json!("execution"));
        let error = self.raw("error");
        exec.insert("status".into(), json!(if error.is_null() { "ok" } else { "error" }));
        let ms = match self.cell("execution_duration_ms") {
            Cell::Real(ms) => Some(*ms),
            Cell::Int(n) => i32::try_from(*n).ok().map(f64::from),
            _ => None,
        };
        if let Some(ms) = ms.filter(|ms| (0.0..9e15).contains(ms)) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "range checked above"
            )]
            exec.insert("duration_ms".into(), json!(ms.round() as u64));
        }
        let mut exec_body = Map::new();
        exec_body.insert("execution_result".into(), self.json_col("execution_result", notes, &at));
        exec_body.insert("execution_duration_ms".into(), self.raw("execution_duration_ms"));
        exec_body.insert("error".into(), error);
        exec_body.insert("stream_events".into(), self.json_col("stream_events", notes, &at));
        let extra: Vec<String> = self
            .table
            .columns
            .iter()
            .skip(1)
            .filter(|c| !KNOWN.contains(&c.as_str()))
            .cloned()
            .collect();
        for c in extra {
            let v = self.raw(&c);
            exec_body.insert(c, v);
        }
        exec.insert("body".into(), json!({"agenticapi": exec_body, "import": import}));
        out.push(exec);

        // approval
        let approval = self.raw("approval_request_id");
        if !approval.is_null() {
            let mut ev = base("approval");
            ev.insert("kind".into(), json!("approval"));
            ev.insert("category".into(), json!("approval"));
            ev.insert("status".into(), json!("pending"));
            if let Some(a) = approval.as_str().and_then(ident) {
                ev.insert("action".into(), json!(a));
            }
            ev.insert(
                "body".into(),
                json!({"agenticapi": {"approval_request_id": approval}, "import": import}),
            );
            out.push(ev);
        } else if let Some(b) = out[0].get_mut("body") {
            b["agenticapi"]["approval_request_id"] = Value::Null;
        }

        if !self.kept.is_empty() {
            let kept = std::mem::take(&mut self.kept);
            if let Some(b) = out.last_mut().and_then(|e| e.get_mut("body")) {
                b["import"]["kept_as_text"] = json!(kept);
            }
        }
        out.into_iter()
            .map(|m| {
                common::event(Value::Object(m)).map_err(|reason| ImportError::Bad {
                    path: self.path.to_owned(),
                    at: at.clone(),
                    reason,
                })
            })
            .collect()
    }
}
