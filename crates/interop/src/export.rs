//! Writing a trail log out for other tools: Harness files, CSV, one JSON document, OCSF, CEF.
//!
//! Every writer takes records one at a time in seq order ([`Item`]), so a log of any size streams
//! through. The formats keep what lets a reader check them where the format allows it: CSV rows
//! and the JSON document carry each record's canonical bytes with its hash and `prev` (so the
//! chain and every leaf hash can be recomputed from a spreadsheet), OCSF and CEF carry the hash
//! and `prev` as fields, and Harness files carry a fresh Harness chain per session that Harness's
//! own `verify_chain` accepts.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value, json};
use trail_core::{Body, Hash, Record};

use crate::common::{json_to_py, sha256_hex};
use crate::harness::{GENESIS, HarnessEvent};
use crate::pyjson::{PyStr, PyValue};

/// The export formats this crate writes (trail's own JSON Lines lives in `trail_core::export`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Harness,
    Ocsf,
    Cef,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "csv" => Format::Csv,
            "json" => Format::Json,
            "harness" => Format::Harness,
            "ocsf" => Format::Ocsf,
            "cef" => Format::Cef,
            other => {
                return Err(format!(
                    "unknown export format {other:?}: use jsonl, csv, json, harness, ocsf or cef"
                ));
            }
        })
    }
}

/// One stored record as the exporters read it.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub record: &'a Record,
    /// The record's canonical (RFC 8785) bytes, exactly as stored.
    pub canonical: &'a [u8],
    pub hash: &'a Hash,
    /// `None` when the event had no body or the body was erased.
    pub body: Option<&'a Body>,
}

impl Item<'_> {
    /// The body as JSON; an erased body reads as `"[erased]"`.
    fn body_value(&self) -> Option<Value> {
        match self.body {
            Some(b) => Some(b.value().unwrap_or_else(|_| json!("[unreadable body]"))),
            None if self.record.body_digest.is_some() => Some(json!("[erased]")),
            None => None,
        }
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} already exists; refusing to overwrite it (choose an empty --out directory)")]
    Exists { path: PathBuf },
}

// ---------------------------------------------------------------------------------------------
// CSV

/// CSV columns, in order. `record` is the canonical record (its leaf hash is
/// `SHA-256(0x00 || record)`), `body` the canonical body and `salt` its salt
/// (`body_digest = SHA-256(salt || body)`).
pub const CSV_COLUMNS: [&str; 26] = [
    "seq",
    "time",
    "id",
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
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "model",
    "findings",
    "body_digest",
    "prev",
    "hash",
    "record",
    "body",
    "salt",
];

/// The CSV header line (RFC 4180, CRLF).
pub fn csv_header() -> String {
    let mut s = CSV_COLUMNS.join(",");
    s.push_str("\r\n");
    s
}

/// One CSV row (RFC 4180 quoting, CRLF). Display cells that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`; the `record`, `body` and
/// `salt` cells are never altered, so the hashes can be recomputed from them.
pub fn csv_row(item: &Item<'_>) -> String {
    let r = item.record;
    let f = &r.fields;
    let u = f.usage.as_ref();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    let findings = if r.findings.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&r.findings).unwrap_or_default()
    };
    let display = [
        r.seq.to_string(),
        r.time.to_string(),
        r.id.clone(),
        f.kind.clone(),
        opt(&f.category),
        opt(&f.action),
        opt(&f.status),
        opt(&f.agent),
        opt(&f.session),
        opt(&f.conversation),
        opt(&f.actor),
        opt(&f.source),
        opt(&f.trace_id),
        opt(&f.span_id),
        num(f.duration_ms),
        num(u.and_then(|u| u.input_tokens)),
        num(u.and_then(|u| u.output_tokens)),
        u.and_then(|u| u.cost_usd).map(trail_core::jcs::format_f64).unwrap_or_default(),
        u.and_then(|u| u.model.clone()).unwrap_or_default(),
        findings,
        r.body_digest.map(|h| h.to_string()).unwrap_or_default(),
        r.prev.to_string(),
        item.hash.to_string(),
    ];
    let exact = [
        String::from_utf8_lossy(item.canonical).into_owned(),
        item.body.map(|b| String::from_utf8_lossy(&b.canonical).into_owned()).unwrap_or_default(),
        item.body.map(|b| hex::encode(b.salt)).unwrap_or_default(),
    ];
    csv_line(&display, &exact)
}

/// One CSV line (RFC 4180 quoting, CRLF): every CSV trail prints or exports is written here.
/// `display` cells are defused (a cell a spreadsheet would run as a formula gets a leading `'`);
/// `exact` cells follow them unaltered, for bytes a verifier must read back as they are.
pub fn csv_line(display: &[String], exact: &[String]) -> String {
    let mut cells: Vec<String> = display.iter().map(|c| csv_cell(&defuse_formula(c))).collect();
    cells.extend(exact.iter().map(|c| csv_cell(c)));
    let mut line = cells.join(",");
    line.push_str("\r\n");
    line
}

/// OWASP's rule for CSV injection: a cell starting with `=`, `+`, `-`, `@`, tab or CR is a
/// formula to a spreadsheet; a leading `'` makes it text. Numbers trail writes (`-1.5` is never
/// written: counts, costs and times are not negative) are unaffected.
fn defuse_formula(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// JSON document

/// Writes one JSON document: `{"format", "version", "origin", "anchor"?, "records": [...],
/// "checkpoints": [...]}`. Each element of `records` is exactly a line of trail's JSON Lines
/// export (`record`, `hash`, `body`, `salt`), so the same checks apply.
pub struct JsonDocument<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonDocument<W> {
    pub fn start(mut out: W, origin: &str, anchor: Option<Value>) -> std::io::Result<Self> {
        write!(out, "{{\"format\":\"trail.json\",\"version\":1,\"origin\":{}", json!(origin))?;
        if let Some(a) = anchor {
            write!(out, ",\"anchor\":{a}")?;
        }
        write!(out, ",\"records\":[")?;
        Ok(JsonDocument { out, first: true })
    }

    pub fn record(&mut self, item: &Item<'_>) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"\n")?;
        let line = trail_core::export::record_line(item.canonical, item.hash, item.body);
        self.out.write_all(line.as_bytes())
    }

    /// Closes the document with the signed checkpoints (note text).
    pub fn finish(mut self, checkpoints: &[String]) -> std::io::Result<W> {
        write!(self.out, "\n],\"checkpoints\":{}}}\n", json!(checkpoints))?;
        Ok(self.out)
    }
}

// ---------------------------------------------------------------------------------------------
// OCSF

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.8.0";

/// One OCSF event (one JSON object per line). Session start and end are Application Lifecycle
/// (6002) Start / Stop; everything else is API Activity (6003), activity Other with the trail
/// kind as its name. LLM usage fills the `ai_operation` profile (`ai_model`, `message_context`),
/// trace ids the `trace` profile; trail's hash, prev, kind and body go under `unmapped.trail`.
pub fn ocsf(item: &Item<'_>, origin: &str) -> Value {
    let r = item.record;
    let f = &r.fields;
    let lifecycle = match f.kind.as_str() {
        "session_start" => Some((3, "Start")),
        "session_end" => Some((4, "Stop")),
        _ => None,
    };
    let (class_uid, class_name, activity_id, activity_name) = match lifecycle {
        Some((id, name)) => (6002, "Application Lifecycle", id, name.to_owned()),
        None => (6003, "API Activity", 99, f.kind.clone()),
    };
    let (status_id, status) = match f.status.as_deref() {
        Some("ok") => (1, "Success"),
        Some("error" | "denied") => (2, "Failure"),
        None => (0, "Unknown"),
        Some(_) => (99, "Other"),
    };
    let (severity_id, severity) = match f.status.as_deref() {
        Some("error" | "denied") => (3, "Medium"),
        _ if !r.findings.is_empty() => (2, "Low"),
        _ => (1, "Informational"),
    };
    let millis = r.time.unix_nanos().div_euclid(1_000_000);
    let mut profiles = vec!["datetime"];
    let mut ev = json!({
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": 6,
        "category_name": "Application Activity",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": format!("{class_name}: {}", if activity_id == 99 { "Other" } else { activity_name.as_str() }),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "time": millis,
        "time_dt": r.time.to_string(),
        "message": match &f.action { Some(a) => format!("{} {a}", f.kind), None => f.kind.clone() },
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "trail", "vendor_name": "trail", "version": env!("CARGO_PKG_VERSION")},
            "uid": r.id,
            "sequence": r.seq,
            "log_name": origin,
        },
    });
    let m = &mut ev;
    if let Some(s) = &f.status {
        m["status_code"] = json!(s);
    }
    if let Some(d) = f.duration_ms {
        m["duration"] = json!(d);
    }
    if let Some(s) = &f.session {
        m["metadata"]["correlation_uid"] = json!(s);
    }
    if let Some(s) = &f.source {
        m["metadata"]["log_provider"] = json!(s);
    }
    let mut actor = Map::new();
    if let Some(a) = &f.agent {
        actor.insert("app_name".into(), json!(a));
    }
    if let Some(a) = &f.actor {
        actor.insert("user".into(), json!({"name": a}));
    }
    m["actor"] = Value::Object(actor);
    let endpoint_name = f.agent.clone().unwrap_or_else(|| "unknown".into());
    if class_uid == 6003 {
        m["api"] = json!({
            "operation": f.action.clone().unwrap_or_else(|| f.kind.clone()),
            "service": {"name": f.source.clone().unwrap_or_else(|| "trail".into())},
        });
        m["src_endpoint"] = json!({"name": endpoint_name});
    } else {
        m["app"] = json!({"name": endpoint_name, "vendor_name": f.source.clone().unwrap_or_else(|| "trail".into())});
    }
    if let Some(u) = &f.usage {
        profiles.push("ai_operation");
        if let Some(model) = &u.model {
            // Harness's provider_call names the provider as the action; otherwise name the source.
            let provider = match f.category.as_deref() {
                Some("llm") => f.action.clone(),
                _ => None,
            };
            let provider =
                provider.or_else(|| f.source.clone()).unwrap_or_else(|| "unknown".into());
            m["ai_model"] = json!({"name": model, "ai_provider": provider});
        }
        let mut ctx = Map::new();
        if let Some(s) = &f.session {
            ctx.insert("uid".into(), json!(s));
        }
        if let Some(n) = u.input_tokens {
            ctx.insert("prompt_tokens".into(), json!(n));
        }
        if let Some(n) = u.output_tokens {
            ctx.insert("completion_tokens".into(), json!(n));
        }
        if u.input_tokens.is_some() || u.output_tokens.is_some() {
            let total = u.input_tokens.unwrap_or(0) + u.output_tokens.unwrap_or(0);
            ctx.insert("total_tokens".into(), json!(total));
        }
        m["message_context"] = Value::Object(ctx);
    }
    if let Some(t) = &f.trace_id {
        profiles.push("trace");
        let mut trace = json!({"uid": t});
        if let Some(s) = &f.span_id {
            trace["span"] = json!({"uid": s});
        }
        m["trace"] = trace;
    }
    m["metadata"]["profiles"] = json!(profiles);
    let mut trail = json!({
        "kind": f.kind,
        "hash": item.hash.to_string(),
        "prev": r.prev.to_string(),
    });
    for (k, v) in [("category", &f.category), ("conversation", &f.conversation)] {
        if let Some(v) = v {
            trail[k] = json!(v);
        }
    }
    if let Some(c) = f.usage.as_ref().and_then(|u| u.cost_usd) {
        trail["cost_usd"] = json!(c);
    }
    if let Some(d) = r.body_digest {
        trail["body_digest"] = json!(d.to_string());
    }
    if !r.findings.is_empty() {
        trail["findings"] = json!(r.findings);
    }
    if let Some(b) = item.body_value() {
        trail["body"] = b;
    }
    m["unmapped"] = json!({"trail": trail});
    ev
}

// ---------------------------------------------------------------------------------------------
// CEF

/// One ArcSight CEF line: `CEF:0|trail|trail|<version>|<kind>|<name>|<severity>|<extension>`.
/// Header fields escape `\` and `|`; extension values escape `\`, `=` and line breaks. Severity:
/// 7 error, 6 denied, 5 PII or secrets found, 3 otherwise.
pub fn cef(item: &Item<'_>, origin: &str) -> String {
    let r = item.record;
    let f = &r.fields;
    let severity = match f.status.as_deref() {
        Some("error") => 7,
        Some("denied") => 6,
        _ if !r.findings.is_empty() => 5,
        _ => 3,
    };
    let name = match &f.action {
        Some(a) => format!("{} {a}", f.kind),
        None => f.kind.clone(),
    };
    let mut ext: Vec<(&str, String)> = vec![
        ("rt", r.time.unix_nanos().div_euclid(1_000_000).to_string()),
        ("externalId", r.id.clone()),
        ("deviceExternalId", origin.to_owned()),
    ];
    let mut push = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            ext.push((k, v.clone()));
        }
    };
    push("cat", &f.category);
    push("act", &f.action);
    push("outcome", &f.status);
    push("suser", &f.actor);
    push("app", &f.source);
    let labelled: [(&str, &str, Option<String>); 6] = [
        ("cs1", "session", f.session.clone()),
        ("cs2", "agent", f.agent.clone()),
        ("cs3", "conversation", f.conversation.clone()),
        ("cs4", "trace_id", f.trace_id.clone()),
        ("cs5", "hash", Some(item.hash.to_string())),
        ("cs6", "prev", Some(r.prev.to_string())),
    ];
    let mut pairs: Vec<(String, String)> =
        ext.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (key, label, value) in labelled {
        if let Some(v) = value {
            pairs.push((format!("{key}Label"), label.to_owned()));
            pairs.push((key.to_owned(), v));
        }
    }
    let tokens =
        f.usage.as_ref().map(|u| u.input_tokens.unwrap_or(0) + u.output_tokens.unwrap_or(0));
    for (key, label, value) in [
        ("cn1", "seq", Some(r.seq)),
        ("cn2", "duration_ms", f.duration_ms),
        ("cn3", "tokens", tokens),
    ] {
        if let Some(v) = value {
            pairs.push((format!("{key}Label"), label.to_owned()));
            pairs.push((key.to_owned(), v.to_string()));
        }
    }
    if !r.findings.is_empty() {
        let list: Vec<String> =
            r.findings.iter().map(|x| format!("{} at {}", x.kind, x.path)).collect();
        pairs.push(("msg".into(), format!("findings: {}", list.join(", "))));
    }
    let ext: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", cef_value(v))).collect();
    format!(
        "CEF:0|trail|trail|{}|{}|{}|{severity}|{}",
        cef_header(env!("CARGO_PKG_VERSION")),
        cef_header(&f.kind),
        cef_header(&name),
        ext.join(" ")
    )
}

fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

// ---------------------------------------------------------------------------------------------
// Harness

/// Writes one `audit-<session>.jsonl` per session into a directory, each a Harness chain from
/// genesis that Harness's `AuditLogger.verify_chain` accepts.
///
/// Events imported from Harness are written back as they were (event id, float timestamp, type,
/// session, data; redactions applied), so when nothing was redacted their hashes equal the
/// original ones. Other events get `event_id` = trail id, `event_type` = kind, `session_id` =
/// session (or Harness's own `unknown`), and `data` = `{"tool"?, "trail": {record fields, hash,
/// prev}, "body"?}`.
pub struct HarnessWriter {
    dir: PathBuf,
    sessions: HashMap<String, SessionFile>,
    order: Vec<String>,
}

struct SessionFile {
    path: PathBuf,
    prev: String,
    events: u64,
    out: Option<BufWriter<File>>,
}

/// One file a [`HarnessWriter`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HarnessFile {
    pub session: String,
    pub path: PathBuf,
    pub events: u64,
    /// The hash of the last event: keep it to detect a later truncation.
    pub last_hash: String,
}

/// At most this many session files are kept open at once.
const MAX_OPEN: usize = 64;

impl HarnessWriter {
    pub fn new(dir: &Path) -> Result<Self, ExportError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| ExportError::Io { path: dir.to_owned(), source })?;
        Ok(HarnessWriter { dir: dir.to_owned(), sessions: HashMap::new(), order: Vec::new() })
    }

    pub fn write(&mut self, item: &Item<'_>) -> Result<(), ExportError> {
        let ev = harness_event(item);
        if !self.sessions.contains_key(&ev.session_id) {
            let path = self.dir.join(format!("audit-{}.jsonl", file_safe(&ev.session_id)));
            let file =
                OpenOptions::new().write(true).create_new(true).open(&path).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::AlreadyExists {
                        ExportError::Exists { path: path.clone() }
                    } else {
                        ExportError::Io { path: path.clone(), source }
                    }
                })?;
            self.order.push(ev.session_id.clone());
            self.sessions.insert(
                ev.session_id.clone(),
                SessionFile {
                    path,
                    prev: GENESIS.to_owned(),
                    events: 0,
                    out: Some(BufWriter::new(file)),
                },
            );
        }
        let open = self.sessions.values().filter(|s| s.out.is_some()).count();
        if open > MAX_OPEN {
            for (name, s) in &mut self.sessions {
                if *name != ev.session_id
                    && let Some(mut w) = s.out.take()
                {
                    w.flush().map_err(|source| ExportError::Io { path: s.path.clone(), source })?;
                }
            }
        }
        let Some(s) = self.sessions.get_mut(&ev.session_id) else { return Ok(()) };
        if s.out.is_none() {
            let f = OpenOptions::new()
                .append(true)
                .open(&s.path)
                .map_err(|source| ExportError::Io { path: s.path.clone(), source })?;
            s.out = Some(BufWriter::new(f));
        }
        let (line, hash) = ev.seal(&s.prev);
        if let Some(w) = s.out.as_mut() {
            w.write_all(line.as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .map_err(|source| ExportError::Io { path: s.path.clone(), source })?;
        }
        s.prev = hash;
        s.events += 1;
        Ok(())
    }

    /// Flushes every file and lists them in the order sessions first appeared.
    pub fn finish(mut self) -> Result<Vec<HarnessFile>, ExportError> {
        let mut out = Vec::new();
        for name in &self.order {
            if let Some(s) = self.sessions.get_mut(name) {
                if let Some(mut w) = s.out.take() {
                    w.flush().map_err(|source| ExportError::Io { path: s.path.clone(), source })?;
                    w.get_ref()
                        .sync_all()
                        .map_err(|source| ExportError::Io { path: s.path.clone(), source })?;
                }
                out.push(HarnessFile {
                    session: name.clone(),
                    path: s.path.clone(),
                    events: s.events,
                    last_hash: s.prev.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// A session id as a file name part: kept when it is plain, otherwise cleaned and suffixed with
/// a digest so two sessions never share a file.
fn file_safe(session: &str) -> String {
    let plain = !session.is_empty()
        && session.len() <= 128
        && !session.starts_with('.')
        && session.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if plain {
        return session.to_owned();
    }
    let cleaned: String = session
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() || "_-".contains(c) { c } else { '_' })
        .collect();
    format!("{cleaned}-{}", &sha256_hex(session.as_bytes())[..12])
}

/// Harness types whose float fields must stay floats (JCS writes `0.0` as `0`).
const FLOAT_FIELDS: [(&str, &str); 2] = [("session_end", "total_cost"), ("provider_call", "cost")];

/// Maps one trail record to a Harness event.
pub fn harness_event(item: &Item<'_>) -> HarnessEvent {
    let r = item.record;
    let f = &r.fields;
    let body = item.body_value();
    let original = body
        .as_ref()
        .and_then(|b| b.get("harness"))
        .filter(|_| f.source.as_deref() == Some("harness"));
    if let Some(h) = original
        && let (Some(id), Some(ts), Some(ty)) = (
            h.get("event_id").and_then(Value::as_str),
            h.get("timestamp").and_then(Value::as_f64),
            h.get("event_type").and_then(Value::as_str),
        )
    {
        let mut data = h.get("data").map(json_to_py).unwrap_or(PyValue::Null);
        let typed = ["/import/integral_floats", "/import/kept_as_text"].map(|k| {
            body.as_ref()
                .and_then(|b| b.pointer(k))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        });
        for p in typed.iter().flatten().filter_map(Value::as_str) {
            if let Some(rest) = p.strip_prefix("/harness/data") {
                crate::common::restore_float(&mut data, rest);
            }
        }
        if let PyValue::Object(items) = &mut data {
            for (k, v) in items.iter_mut() {
                if FLOAT_FIELDS.iter().any(|(t, name)| *t == ty && k.is(name))
                    && let PyValue::Int(n) = v
                {
                    *v = PyValue::Float(n.parse().unwrap_or(f64::NAN));
                }
            }
        }
        let session = h
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| f.session.clone())
            .unwrap_or_else(|| "unknown".into());
        return HarnessEvent {
            event_id: id.to_owned(),
            timestamp: ts,
            event_type: ty.to_owned(),
            session_id: session,
            data,
        };
    }
    let mut data: Vec<(PyStr, PyValue)> = Vec::new();
    if matches!(f.kind.as_str(), "tool_call" | "tool_result" | "permission_decision")
        && let Some(a) = &f.action
    {
        data.push((PyStr::new("tool"), PyValue::str(a)));
    }
    if let Some(u) = &f.usage {
        if let Some(m) = &u.model {
            data.push((PyStr::new("model"), PyValue::str(m)));
        }
        if let Some(n) = u.input_tokens {
            data.push((PyStr::new("input_tokens"), PyValue::Int(n.to_string())));
        }
        if let Some(n) = u.output_tokens {
            data.push((PyStr::new("output_tokens"), PyValue::Int(n.to_string())));
        }
        if let Some(c) = u.cost_usd {
            data.push((PyStr::new("cost"), PyValue::Float(c)));
        }
    }
    let mut meta = r.to_value();
    if let Value::Object(m) = &mut meta {
        m.insert("hash".into(), json!(item.hash.to_string()));
    }
    data.push((PyStr::new("trail"), json_to_py(&meta)));
    if let Some(b) = &body {
        data.push((PyStr::new("body"), json_to_py(b)));
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "epoch seconds as a float, as Harness writes them"
    )]
    let timestamp = r.time.unix_nanos() as f64 / 1e9;
    HarnessEvent {
        event_id: r.id.clone(),
        timestamp,
        event_type: f.kind.clone(),
        session_id: f.session.clone().unwrap_or_else(|| "unknown".into()),
        data: PyValue::Object(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_per_rfc_4180_and_defuses_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse_formula("Read"), "Read");
    }

    #[test]
    fn cef_escapes_header_and_extension_differently() {
        assert_eq!(cef_header("a|b\\c\nd"), "a\\|b\\\\c d");
        assert_eq!(cef_value("k=v|x\\y\r\nz\n"), "k\\=v|x\\\\y\\nz\\n");
    }

    #[test]
    fn session_ids_become_safe_distinct_file_names() {
        assert_eq!(file_safe("fixture-session"), "fixture-session");
        let a = file_safe("../etc/passwd");
        assert!(a.starts_with("___etc_passwd-") && !a.contains('/'), "{a}");
        assert_ne!(file_safe("a/b"), file_safe("a:b"));
    }
}
