//! Harness (`harness-agent` 0.6.0, `harness.audit.logger`): `audit-<session>.jsonl` files whose
//! lines form a SHA-256 chain.
//!
//! Harness hashes each event as `sha256(json.dumps(event_without_hash, sort_keys=True,
//! separators=(",", ":")))`, over the *parsed* line, with `prev_hash` of the first event being 64
//! zeros. [`verify`] applies exactly that rule (through [`crate::pyjson`], which reproduces
//! Python's parsing and float formatting) and reports every problem with its line, including on
//! the lines where Harness's own `verify_chain` raises instead of answering. It also works out the
//! answer Harness itself would give ([`HarnessVerdict`]), so the two can be compared.
//!
//! What a Harness log can never prove is in [`LIMITS`].

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use trail_core::{Event, Timestamp};

use crate::common::{self, ident, kind_from, py_to_json};
use crate::pyjson::{self, PyStr, PyValue};
use crate::{ImportBatch, ImportError, Problem, System};

/// The genesis `prev_hash`.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a Harness log cannot prove, said with every verdict.
pub const LIMITS: &str = "a Harness log has no key, no signature, no event count and no anchor: \
`valid` only means the file agrees with itself. Whoever can write the file can change an event and \
recompute every hash after it, cut events off the end, or empty the file, and it still verifies. \
Import it into trail and keep a signed checkpoint with an auditor to make later changes detectable";

/// The event types Harness writes.
pub const EVENT_TYPES: [&str; 7] = [
    "session_start",
    "session_end",
    "tool_call",
    "tool_result",
    "permission_decision",
    "provider_call",
    "pii_detected",
];

/// One problem, on one physical line (counted from 1 as Harness counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineProblem {
    pub line: u64,
    pub code: &'static str,
    pub message: String,
}

/// What Harness's own `AuditLogger.verify_chain` would do with the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HarnessVerdict {
    /// It returns `(valid, errors)`, errors in its own words.
    Answer { valid: bool, errors: Vec<String> },
    /// It raises on this line instead of answering.
    Crash { line: u64, exception: String },
    /// Its answer depends on Python details this crate does not reproduce (a list in `hash`).
    Unknown { line: u64, reason: String },
}

/// The result of checking one Harness file.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Physical lines, as Harness counts them (`\n`, `\r\n` and `\r` each end one).
    pub lines: u64,
    /// Lines holding a JSON object.
    pub events: u64,
    pub problems: Vec<LineProblem>,
    /// Observations that do not change the verdict (Harness does not check them).
    pub notes: Vec<String>,
    pub sessions: Vec<String>,
    pub harness: HarnessVerdict,
    /// The parsed objects with their line numbers, for importing.
    #[serde(skip)]
    pub objects: Vec<(u64, PyValue)>,
}

impl Verification {
    /// True when the chain holds as Harness defines it and every line could be read.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a Harness log held in `bytes`. `file_name` (e.g. `audit-s1.jsonl`) lets the check note
/// events whose session does not match the file.
pub fn verify(bytes: &[u8], file_name: Option<&str>) -> Verification {
    let mut v = Verification {
        lines: 0,
        events: 0,
        problems: Vec::new(),
        notes: Vec::new(),
        sessions: Vec::new(),
        harness: HarnessVerdict::Answer { valid: true, errors: Vec::new() },
        objects: Vec::new(),
    };
    let mut sim = Simulation::new();
    // Our own chain state: the hash the next prev_hash must equal, or the line that broke it.
    let mut expected: Result<PyStr, u64> = Ok(PyStr::new(GENESIS));
    let mut last_event_line = 0u64;
    let mut notes = Notes::default();
    let lines = split_lines(bytes);
    v.lines = lines.len() as u64;
    for (i, raw) in lines.iter().enumerate() {
        let n = i as u64 + 1;
        let Ok(text) = std::str::from_utf8(raw.bytes) else {
            v.problems.push(problem(n, "not_utf8", "the line is not valid UTF-8 (Harness's verifier raises UnicodeDecodeError on this file)"));
            sim.crash(n, "UnicodeDecodeError");
            expected = Err(n);
            continue;
        };
        let line = pyjson::py_strip(text);
        if line.is_empty() {
            continue;
        }
        if !raw.terminated {
            notes.push(format!("line {n} has no line break at its end: the file may have been cut mid-write (Harness does not notice)"));
        }
        let obj = match pyjson::loads(line) {
            Ok(o) => o,
            Err(e) if e.is_json_decode_error() => {
                v.problems.push(problem(n, "invalid_json", format!("invalid JSON — {e}")));
                sim.stop_with(format!("Line {n}: invalid JSON — {e}"));
                expected = Err(n);
                continue;
            }
            Err(e) => {
                v.problems.push(problem(
                    n,
                    "invalid_json",
                    format!(
                        "Python cannot read this line: {e} (Harness's verifier raises {} here)",
                        e.exception
                    ),
                ));
                sim.crash(n, e.exception);
                expected = Err(n);
                continue;
            }
        };
        if !matches!(obj, PyValue::Object(_)) {
            v.problems.push(problem(
                n,
                "not_object",
                format!("expected a JSON object, found {} (Harness's verifier raises AttributeError here)", obj.type_name()),
            ));
            sim.crash(n, "AttributeError");
            expected = Err(n);
            continue;
        }
        v.events += 1;
        let recomputed = hash_event(&obj);
        expected = check_links(
            n,
            &obj,
            &recomputed,
            &expected,
            last_event_line,
            &mut v.problems,
            &mut |note| notes.push(note),
        );
        last_event_line = n;
        sim.step(n, &obj, &recomputed);
        notes.observe(n, &obj, file_name, &mut v.sessions);
        v.objects.push((n, obj));
    }
    v.notes = notes.finish();
    v.harness = sim.finish();
    v
}

/// `sha256(json.dumps(event_without_hash, sort_keys=True, separators=(",", ":")))`, hex.
pub fn hash_event(obj: &PyValue) -> String {
    let payload = match obj {
        PyValue::Object(items) => {
            PyValue::Object(items.iter().filter(|(k, _)| !k.is("hash")).cloned().collect())
        }
        other => other.clone(),
    };
    hex::encode(Sha256::digest(pyjson::dumps(&payload, true).as_bytes()))
}

/// One event to write in Harness's format.
#[derive(Debug, Clone, PartialEq)]
pub struct HarnessEvent {
    pub event_id: String,
    pub timestamp: f64,
    pub event_type: String,
    pub session_id: String,
    pub data: PyValue,
}

impl HarnessEvent {
    /// The line (without newline) and its hash, chained after `prev_hash`. The line has Harness's
    /// key order and compact, ASCII-escaped JSON, as `AuditLogger` writes it.
    pub fn seal(&self, prev_hash: &str) -> (String, String) {
        let mut items = vec![
            (PyStr::new("event_id"), PyValue::str(&self.event_id)),
            (PyStr::new("timestamp"), PyValue::Float(self.timestamp)),
            (PyStr::new("event_type"), PyValue::str(&self.event_type)),
            (PyStr::new("session_id"), PyValue::str(&self.session_id)),
            (PyStr::new("data"), self.data.clone()),
            (PyStr::new("prev_hash"), PyValue::str(prev_hash)),
        ];
        let hash = hash_event(&PyValue::Object(items.clone()));
        items.push((PyStr::new("hash"), PyValue::str(&hash)));
        (pyjson::dumps(&PyValue::Object(items), false), hash)
    }
}

/// Reads a Harness file into events, after checking its chain; the verdict goes into the
/// `trail.import` event. Lines that cannot be read at all (not UTF-8, not JSON, not an object)
/// make the whole file an error.
pub fn import(path: &Path) -> Result<ImportBatch, ImportError> {
    let bytes =
        std::fs::read(path).map_err(|source| ImportError::Io { path: path.to_owned(), source })?;
    import_bytes(path, &bytes)
}

/// [`import`] of bytes already read; `path` only names the file in events and errors. This is
/// the whole reader of untrusted Harness bytes, so it is what the `harness` fuzz target drives.
pub fn import_bytes(path: &Path, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let name = common::file_name(path);
    let v = verify(bytes, Some(&name));
    if let Some(p) =
        v.problems.iter().find(|p| matches!(p.code, "not_utf8" | "invalid_json" | "not_object"))
    {
        return Err(ImportError::Bad {
            path: path.to_owned(),
            at: format!("line {}", p.line),
            reason: format!(
                "{}; nothing was imported (`trail verify --format harness {}` lists every problem)",
                p.message,
                path.display()
            ),
        });
    }
    let mut events = Vec::with_capacity(v.objects.len() + 1);
    let problems: Vec<Problem> = v
        .problems
        .iter()
        .map(|p| Problem {
            at: format!("line {}", p.line),
            code: p.code,
            message: p.message.clone(),
        })
        .collect();
    let mut body = Map::new();
    body.insert("file".into(), json!(name));
    body.insert("lines".into(), json!(v.lines));
    body.insert("events".into(), json!(v.events));
    body.insert("sessions".into(), json!(v.sessions));
    body.insert("verdict".into(), json!(if v.is_valid() { "valid" } else { "invalid" }));
    body.insert(
        "checked".into(),
        json!("the SHA-256 chain as Harness's AuditLogger.verify_chain defines it"),
    );
    body.insert("problems".into(), json!(v.problems));
    body.insert("notes".into(), json!(v.notes));
    body.insert("harness_verdict".into(), json!(v.harness));
    body.insert("cannot_prove".into(), json!(LIMITS));
    let digest = common::sha256_hex(bytes);
    events.push(common::import_event("harness", &digest, body).map_err(|reason| {
        ImportError::Bad { path: path.to_owned(), at: "import event".into(), reason }
    })?);
    for (line, obj) in &v.objects {
        let line_problems: Vec<&LineProblem> =
            v.problems.iter().filter(|p| p.line == *line).collect();
        events.push(to_event(path, &name, *line, obj, &line_problems)?);
    }
    Ok(ImportBatch {
        system: System::Harness,
        path: path.to_owned(),
        items: v.events,
        chain_valid: Some(v.is_valid()),
        problems,
        notes: v.notes,
        events,
    })
}

/// Where `trail import --from harness --follow` is in one Harness file: the bytes and lines read
/// so far, and what the next event's `prev_hash` must be (the hash of the last event), or the
/// line that could not be read (after which the link is not checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowCursor {
    pub offset: u64,
    pub line: u64,
    pub last_event_line: u64,
    pub expected: Result<String, u64>,
}

impl Default for FollowCursor {
    fn default() -> Self {
        FollowCursor { offset: 0, line: 0, last_event_line: 0, expected: Ok(GENESIS.to_owned()) }
    }
}

/// What one appended line held: its problems against the chain, notes, and its event (`None`
/// for a blank line or one that could not be read).
#[derive(Debug)]
pub struct FollowedLine {
    pub line: u64,
    pub problems: Vec<LineProblem>,
    pub notes: Vec<String>,
    pub event: Option<Result<Event, ImportError>>,
}

/// Reads one complete line (`raw` with its newline) appended to the Harness file `path` after
/// `cursor`, checks it against the chain as [`verify`] does, and maps it as [`import`] does;
/// advances the cursor past it.
pub fn follow_line(path: &Path, cursor: &mut FollowCursor, raw: &[u8]) -> FollowedLine {
    let n = cursor.line + 1;
    cursor.line = n;
    cursor.offset += raw.len() as u64;
    let mut out = FollowedLine { line: n, problems: Vec::new(), notes: Vec::new(), event: None };
    let Ok(text) = std::str::from_utf8(raw) else {
        out.problems.push(problem(n, "not_utf8", "the line is not valid UTF-8"));
        cursor.expected = Err(n);
        return out;
    };
    let line = pyjson::py_strip(text);
    if line.is_empty() {
        return out;
    }
    let obj = match pyjson::loads(line) {
        Ok(o @ PyValue::Object(_)) => o,
        Ok(other) => {
            out.problems.push(problem(
                n,
                "not_object",
                format!("expected a JSON object, found {}", other.type_name()),
            ));
            cursor.expected = Err(n);
            return out;
        }
        Err(e) => {
            out.problems.push(problem(n, "invalid_json", format!("invalid JSON — {e}")));
            cursor.expected = Err(n);
            return out;
        }
    };
    let recomputed = hash_event(&obj);
    let expected = cursor.expected.clone().map(|h| PyStr::new(&h));
    let next = check_links(
        n,
        &obj,
        &recomputed,
        &expected,
        cursor.last_event_line,
        &mut out.problems,
        &mut |note| out.notes.push(note),
    );
    cursor.expected = next.map(|h| h.to_string_lossy());
    cursor.last_event_line = n;
    let problems: Vec<&LineProblem> = out.problems.iter().collect();
    out.event = Some(to_event(path, &common::file_name(path), n, &obj, &problems));
    out
}

/// Maps one Harness event given as the JSON text Harness writes (a line of its file) to the
/// trail event `trail import` makes of it, for recorders that receive Harness's events as they
/// are made (the Python package's `trail.compat.harness`); `source` names where they came from.
pub fn event_from_line(line: &str, source: &str) -> Result<Event, ImportError> {
    let path = Path::new(source);
    let obj = pyjson::loads(line).map_err(|e| ImportError::Bad {
        path: path.to_owned(),
        at: "event".into(),
        reason: format!("not JSON as Python writes it: {e}"),
    })?;
    to_event(path, source, 0, &obj, &[])
}

/// Maps one Harness event. Record fields: id `harness:<event_id>`, time from the float epoch,
/// kind = event_type, session, and per type action / status / usage. Body: the whole event under
/// `harness` (hash and prev_hash included) and where it came from under `import`.
fn to_event(
    path: &Path,
    file: &str,
    line: u64,
    obj: &PyValue,
    line_problems: &[&LineProblem],
) -> Result<Event, ImportError> {
    let field_err = |field: &str, reason: String| ImportError::Field {
        path: path.to_owned(),
        at: format!("line {line}"),
        field: field.to_owned(),
        reason,
    };
    let event_id = match obj.get("event_id") {
        Some(PyValue::Str(s)) => s.as_string().and_then(|s| ident(&s)).ok_or_else(|| {
            field_err("event_id", "must be a non-empty string without control characters".into())
        })?,
        Some(other) => {
            return Err(field_err(
                "event_id",
                format!("expected a string, found {}", other.type_name()),
            ));
        }
        None => return Err(field_err("event_id", "required field is missing".into())),
    };
    let seconds = match obj.get("timestamp") {
        Some(v @ (PyValue::Float(_) | PyValue::Int(_))) => v.as_f64().unwrap_or(f64::NAN),
        Some(other) => {
            return Err(field_err(
                "timestamp",
                format!("expected epoch seconds (a number), found {}", other.type_name()),
            ));
        }
        None => return Err(field_err("timestamp", "required field is missing".into())),
    };
    let time = Timestamp::from_unix_seconds_f64(seconds).ok_or_else(|| {
        field_err(
            "timestamp",
            format!("{} is not a time trail can store", pyjson::float_repr(seconds)),
        )
    })?;
    let event_type = obj
        .get_str("event_type")
        .ok_or_else(|| field_err("event_type", "expected a string".into()))?;
    let data = obj.get("data").cloned().unwrap_or(PyValue::Null);
    let mut record = Map::new();
    record.insert("id".into(), json!(format!("harness:{event_id}")));
    record.insert("time".into(), json!(time.to_string()));
    record.insert("kind".into(), json!(kind_from(&event_type)));
    record.insert("source".into(), json!("harness"));
    if let Some(s) = obj.get_str("session_id").and_then(|s| ident(&s)) {
        record.insert("session".into(), json!(s));
    }
    let tool = data.get_str("tool").and_then(|s| ident(&s));
    let (category, action, status) = match event_type.as_str() {
        "session_start" => (Some("session"), Some("start".to_owned()), None),
        "session_end" => (Some("session"), Some("end".to_owned()), None),
        "tool_call" => (Some("tool_call"), tool, None),
        "tool_result" => {
            let status = match data.get("is_error") {
                Some(PyValue::Bool(true)) => Some("error"),
                Some(PyValue::Bool(false)) => Some("ok"),
                _ => None,
            };
            (Some("tool_call"), tool, status)
        }
        "permission_decision" => {
            let status = match data.get_str("decision").as_deref() {
                Some("allow") => Some("ok"),
                Some("deny") => Some("denied"),
                Some("ask") => Some("pending"),
                _ => None,
            };
            (Some("approval"), tool, status)
        }
        "provider_call" => (Some("llm"), data.get_str("provider").and_then(|s| ident(&s)), None),
        "pii_detected" => (Some("safety"), data.get_str("pattern").and_then(|s| ident(&s)), None),
        _ => (None, None, None),
    };
    if let Some(c) = category {
        record.insert("category".into(), json!(c));
    }
    if let Some(a) = action {
        record.insert("action".into(), json!(a));
    }
    if let Some(s) = status {
        record.insert("status".into(), json!(s));
    }
    if event_type == "provider_call" {
        let mut usage = Map::new();
        for (from, to) in [("input_tokens", "input_tokens"), ("output_tokens", "output_tokens")] {
            if let Some(n) = data.get_i64(from).filter(|n| (0..1 << 53).contains(n)) {
                usage.insert(to.into(), json!(n));
            }
        }
        if let Some(c) = data.get_f64("cost").filter(|c| c.is_finite() && *c >= 0.0) {
            usage.insert("cost_usd".into(), json!(c));
        }
        if let Some(m) = data.get_str("model").and_then(|s| ident(&s)) {
            usage.insert("model".into(), json!(m));
        }
        if !usage.is_empty() {
            record.insert("usage".into(), Value::Object(usage));
        }
    }
    let mut kept_as_text = Vec::new();
    let original = py_to_json(obj, "/harness", &mut kept_as_text);
    let mut import = Map::new();
    import.insert("file".into(), json!(file));
    import.insert("line".into(), json!(line));
    if !kept_as_text.is_empty() {
        import.insert("kept_as_text".into(), json!(kept_as_text));
    }
    let mut floats = Vec::new();
    common::integral_float_paths(obj, "/harness", &mut floats);
    floats.retain(|p| p != "/harness/timestamp");
    if !floats.is_empty() {
        import.insert("integral_floats".into(), json!(floats));
    }
    if !line_problems.is_empty() {
        import.insert("chain_problems".into(), json!(line_problems));
    }
    record.insert("body".into(), json!({"harness": original, "import": import}));
    common::event(Value::Object(record)).map_err(|reason| ImportError::Bad {
        path: path.to_owned(),
        at: format!("line {line}"),
        reason,
    })
}

/// Checks one event's links: its `hash` against `recomputed`, its `prev_hash` against `expected`
/// (the hash of the event on `last_event_line`, or the line that could not be read). Returns what
/// the next event's `prev_hash` must be.
fn check_links(
    n: u64,
    obj: &PyValue,
    recomputed: &str,
    expected: &Result<PyStr, u64>,
    last_event_line: u64,
    problems: &mut Vec<LineProblem>,
    note: &mut dyn FnMut(String),
) -> Result<PyStr, u64> {
    let stored = obj.get("hash");
    match stored {
        None => problems.push(problem(
            n,
            "hash_missing",
            format!("the event has no `hash` (recomputed {recomputed})"),
        )),
        Some(PyValue::Str(s)) if s.is(recomputed) => {}
        Some(PyValue::Str(s)) => problems.push(problem(
            n,
            "hash_mismatch",
            format!("hash mismatch: stored {} recomputed {recomputed}", s.to_string_lossy()),
        )),
        Some(other) => problems.push(problem(
            n,
            "hash_not_string",
            format!(
                "`hash` is {}, not a string (recomputed {recomputed}; Harness's verifier raises TypeError here)",
                other.type_name()
            ),
        )),
    }
    match (expected, obj.get("prev_hash")) {
        (Err(bad), _) => {
            note(format!("line {n}: prev_hash not checked: line {bad} before it could not be read"))
        }
        (Ok(_), None) => {
            problems.push(problem(n, "prev_hash_missing", "the event has no `prev_hash`"))
        }
        (Ok(exp), Some(PyValue::Str(got))) if got == exp => {}
        (Ok(exp), Some(PyValue::Str(got))) => {
            let after = if last_event_line == 0 {
                "genesis".to_owned()
            } else {
                format!("the hash of line {last_event_line}")
            };
            let mut msg = format!(
                "prev_hash mismatch: expected {} ({after}) got {}",
                show_hash(exp),
                got.to_string_lossy()
            );
            if got.is(GENESIS) && last_event_line > 0 {
                msg.push_str(": a second chain starts here (Harness restarts the chain when a session's file is opened again)");
            }
            problems.push(problem(n, "prev_hash_mismatch", msg));
        }
        (Ok(_), Some(other)) => problems.push(problem(
            n,
            "prev_hash_not_string",
            format!(
                "`prev_hash` is {}, not a string (Harness's verifier raises TypeError here)",
                other.type_name()
            ),
        )),
    }
    match stored {
        None => Ok(PyStr::default()),
        Some(PyValue::Str(s)) => Ok(s.clone()),
        Some(_) => Err(n),
    }
}

fn problem(line: u64, code: &'static str, message: impl Into<String>) -> LineProblem {
    LineProblem { line, code, message: message.into() }
}

fn show_hash(s: &PyStr) -> String {
    if s.0.is_empty() {
        "\"\" (the line before has no hash)".to_owned()
    } else {
        s.to_string_lossy()
    }
}

/// A physical line as Python's universal-newline reading splits it.
struct RawLine<'a> {
    bytes: &'a [u8],
    terminated: bool,
}

fn split_lines(bytes: &[u8]) -> Vec<RawLine<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(RawLine { bytes: &bytes[start..i], terminated: true });
                i += 1;
                start = i;
            }
            b'\r' => {
                out.push(RawLine { bytes: &bytes[start..i], terminated: true });
                i += if bytes.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        out.push(RawLine { bytes: &bytes[start..], terminated: false });
    }
    out
}

/// Harness's `verify_chain`, step by step, including where it raises.
struct Simulation {
    expected_prev: PyValue,
    errors: Vec<String>,
    done: Option<HarnessVerdict>,
}

impl Simulation {
    fn new() -> Self {
        Simulation { expected_prev: PyValue::str(GENESIS), errors: Vec::new(), done: None }
    }

    fn crash(&mut self, line: u64, exception: &str) {
        if self.done.is_none() {
            self.done = Some(HarnessVerdict::Crash { line, exception: exception.to_owned() });
        }
    }

    fn unknown(&mut self, line: u64, reason: &str) {
        if self.done.is_none() {
            self.done = Some(HarnessVerdict::Unknown { line, reason: reason.to_owned() });
        }
    }

    fn stop_with(&mut self, error: String) {
        if self.done.is_none() {
            self.errors.push(error);
            self.done = Some(HarnessVerdict::Answer {
                valid: false,
                errors: std::mem::take(&mut self.errors),
            });
        }
    }

    /// Python's `s[:12]` of a value in an f-string: only strings are handled; lists are not
    /// reproduced, and anything else raises TypeError.
    fn slice12(&mut self, line: u64, v: &PyValue) -> Option<String> {
        match v {
            PyValue::Str(s) => Some(s.prefix(12)),
            PyValue::Array(_) => {
                self.unknown(line, "a list where a hash belongs");
                None
            }
            _ => {
                self.crash(line, "TypeError");
                None
            }
        }
    }

    fn step(&mut self, n: u64, obj: &PyValue, recomputed: &str) {
        if self.done.is_some() {
            return;
        }
        let stored = obj.get("hash").cloned().unwrap_or_else(|| PyValue::str(""));
        if !matches!(&stored, PyValue::Str(s) if s.is(recomputed)) {
            let Some(s) = self.slice12(n, &stored) else { return };
            self.errors.push(format!(
                "Line {n}: hash mismatch (stored={s}\u{2026} recomputed={}\u{2026})",
                &recomputed[..12]
            ));
        }
        let prev = obj.get("prev_hash").cloned().unwrap_or(PyValue::Null);
        if !prev.py_eq(&self.expected_prev) {
            let expected = self.expected_prev.clone();
            let Some(e) = self.slice12(n, &expected) else { return };
            let got = match obj.get("prev_hash") {
                None => String::new(),
                Some(p) => {
                    let Some(g) = self.slice12(n, p) else { return };
                    g
                }
            };
            self.errors.push(format!(
                "Line {n}: prev_hash mismatch (expected={e}\u{2026} got={got}\u{2026})"
            ));
        }
        self.expected_prev = stored;
    }

    fn finish(self) -> HarnessVerdict {
        self.done.unwrap_or(HarnessVerdict::Answer {
            valid: self.errors.is_empty(),
            errors: self.errors,
        })
    }
}

/// Observations Harness does not make, capped so a broken file cannot flood the report.
#[derive(Default)]
struct Notes {
    notes: Vec<String>,
    dropped: usize,
    ids: HashSet<String>,
    types: HashSet<String>,
    last_time: Option<(u64, f64)>,
}

impl Notes {
    const MAX: usize = 20;

    fn push(&mut self, note: String) {
        if self.notes.len() < Self::MAX {
            self.notes.push(note);
        } else {
            self.dropped += 1;
        }
    }

    fn observe(
        &mut self,
        n: u64,
        obj: &PyValue,
        file_name: Option<&str>,
        sessions: &mut Vec<String>,
    ) {
        if let Some(s) = obj.get_str("session_id")
            && !sessions.contains(&s)
        {
            if let Some(f) = file_name
                .and_then(|f| f.strip_prefix("audit-"))
                .and_then(|f| f.strip_suffix(".jsonl"))
                && f != s
            {
                self.push(format!("line {n}: session {s:?} in a file named for session {f:?}"));
            }
            sessions.push(s);
        }
        match obj.get_str("event_type") {
            Some(t) if EVENT_TYPES.contains(&t.as_str()) => {}
            Some(t) => {
                if self.types.insert(t.clone()) {
                    self.push(format!(
                        "line {n}: event_type {t:?} is not one Harness writes (noted once per type)"
                    ));
                }
            }
            None => self.push(format!("line {n}: no event_type string")),
        }
        if let Some(id) = obj.get_str("event_id")
            && !self.ids.insert(id.clone())
        {
            self.push(format!("line {n}: event_id {id} appears a second time"));
        }
        if let Some(t) = obj.get_f64("timestamp") {
            if let Some((ln, prev)) = self.last_time
                && t < prev
            {
                self.push(format!(
                    "line {n}: timestamp {} is earlier than line {ln}'s {}",
                    pyjson::float_repr(t),
                    pyjson::float_repr(prev)
                ));
            }
            self.last_time = Some((n, t));
        }
        if has_non_finite(obj) {
            self.push(format!(
                "line {n}: holds NaN or Infinity, which is not JSON (Python accepts it)"
            ));
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.notes.push(format!("... and {} more notes", self.dropped));
        }
        self.notes
    }
}

fn has_non_finite(v: &PyValue) -> bool {
    match v {
        PyValue::Float(f) => !f.is_finite(),
        PyValue::Array(items) => items.iter().any(has_non_finite),
        PyValue::Object(items) => items.iter().any(|(_, x)| has_non_finite(x)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_events_verify_and_chain() {
        let ev = HarnessEvent {
            event_id: "abc".into(),
            timestamp: 1_700_000_000.25,
            event_type: "tool_call".into(),
            session_id: "s".into(),
            data: pyjson::loads(r#"{"tool":"Read","args":{"é":1e-07}}"#).unwrap(),
        };
        let (l1, h1) = ev.seal(GENESIS);
        let (l2, _) = ev.seal(&h1);
        assert!(l1.starts_with(r#"{"event_id":"abc","timestamp":1700000000.25,"event_type":"tool_call","session_id":"s","data":{"tool":"Read","args":{"\u00e9":1e-07}},"prev_hash":"000"#));
        let v = verify(format!("{l1}\n{l2}\n").as_bytes(), None);
        assert!(v.is_valid(), "{:?}", v.problems);
        assert_eq!(v.harness, HarnessVerdict::Answer { valid: true, errors: vec![] });
    }

    #[test]
    fn universal_newlines_count_lines_as_python_does() {
        let lines = split_lines(b"a\r\nb\rc\n\nd");
        let got: Vec<(&[u8], bool)> = lines.iter().map(|l| (l.bytes, l.terminated)).collect();
        assert_eq!(
            got,
            vec![(&b"a"[..], true), (b"b", true), (b"c", true), (b"", true), (b"d", false)]
        );
    }
}
