//! Helpers every importer shares: value conversion, time parsing, identifiers, digests.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use trail_core::{Event, Timestamp};

use crate::pyjson::PyValue;

/// The largest integer JCS (and so trail) hashes faithfully.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// Converts a Python value to JSON trail can hash. What JSON or JCS cannot hold becomes text,
/// and its RFC 6901 path is pushed to `kept_as_text`: integers beyond ±2^53, NaN, the
/// infinities and -0.0, and strings holding lone surrogates.
pub fn py_to_json(v: &PyValue, path: &str, kept_as_text: &mut Vec<String>) -> Value {
    match v {
        PyValue::Null => Value::Null,
        PyValue::Bool(b) => Value::Bool(*b),
        PyValue::Int(s) => match s.parse::<i64>() {
            Ok(n) if n.unsigned_abs() <= MAX_SAFE => Value::from(n),
            _ => {
                kept_as_text.push(path.to_owned());
                Value::String(s.clone())
            }
        },
        // JCS writes -0.0 as 0, so its sign would be lost.
        PyValue::Float(f) => match serde_json::Number::from_f64(*f)
            .filter(|_| !(*f == 0.0 && f.is_sign_negative()))
        {
            Some(n) => Value::Number(n),
            None => {
                kept_as_text.push(path.to_owned());
                Value::String(crate::pyjson::float_repr(*f))
            }
        },
        PyValue::Str(s) => match s.as_string() {
            Some(t) => Value::String(t),
            None => {
                kept_as_text.push(path.to_owned());
                Value::String(s.to_string_lossy())
            }
        },
        PyValue::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| py_to_json(x, &format!("{path}/{i}"), kept_as_text))
                .collect(),
        ),
        PyValue::Object(items) => {
            let mut m = Map::new();
            for (k, x) in items {
                let key = k.to_string_lossy();
                let child = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                if k.as_string().is_none() {
                    kept_as_text.push(child.clone());
                }
                m.insert(key, py_to_json(x, &child, kept_as_text));
            }
            Value::Object(m)
        }
    }
}

/// Pushes the paths of floats with an integral value (`1.0`, `1e+16`): JCS writes them as
/// integers, so the paths are kept to give them back their Python type on a Harness export.
pub fn integral_float_paths(v: &PyValue, path: &str, out: &mut Vec<String>) {
    match v {
        PyValue::Float(f) if f.is_finite() && f.fract() == 0.0 => out.push(path.to_owned()),
        PyValue::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                integral_float_paths(x, &format!("{path}/{i}"), out);
            }
        }
        PyValue::Object(items) => {
            for (k, x) in items {
                let key = k.to_string_lossy().replace('~', "~0").replace('/', "~1");
                integral_float_paths(x, &format!("{path}/{key}"), out);
            }
        }
        _ => {}
    }
}

/// Gives the value at RFC 6901 `pointer` back its Python type: an integer that was an integral
/// float becomes a float again (see [`integral_float_paths`]), and text that [`py_to_json`] kept
/// for a big integer, NaN or an infinity becomes that number again.
pub fn restore_float(v: &mut PyValue, pointer: &str) {
    let mut cur = v;
    for token in pointer.split('/').skip(1) {
        let key = token.replace("~1", "/").replace("~0", "~");
        let next = match cur {
            PyValue::Object(items) => items.iter_mut().find(|(k, _)| k.is(&key)).map(|(_, x)| x),
            PyValue::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        let Some(n) = next else { return };
        cur = n;
    }
    match cur {
        PyValue::Int(s) => {
            if let Ok(f) = s.parse::<f64>() {
                *cur = PyValue::Float(f);
            }
        }
        // A value kept as text by [`py_to_json`]: a big integer, NaN or an infinity.
        PyValue::Str(s) => {
            let text = s.to_string_lossy();
            let digits = text.strip_prefix('-').unwrap_or(&text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                *cur = PyValue::Int(text);
            } else if let Ok(f @ PyValue::Float(_)) = crate::pyjson::loads(&text) {
                *cur = f;
            }
        }
        _ => {}
    }
}

/// Converts JSON back to a Python value (integers stay integers, other numbers become floats).
pub fn json_to_py(v: &Value) -> PyValue {
    match v {
        Value::Null => PyValue::Null,
        Value::Bool(b) => PyValue::Bool(*b),
        Value::Number(n) => {
            if n.is_u64() || n.is_i64() {
                PyValue::Int(n.to_string())
            } else {
                PyValue::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => PyValue::str(s),
        Value::Array(items) => PyValue::Array(items.iter().map(json_to_py).collect()),
        Value::Object(m) => PyValue::Object(
            m.iter().map(|(k, x)| (crate::pyjson::PyStr::new(k), json_to_py(x))).collect(),
        ),
    }
}

/// How a source time was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeForm {
    /// RFC 3339 with an offset.
    Rfc3339,
    /// A space instead of `T` (Python's `str(datetime)`), otherwise RFC 3339.
    SpaceSeparated,
    /// No offset at all: taken as UTC.
    Naive,
}

/// Parses RFC 3339 with any offset and any fraction length, and also the two forms Python code
/// writes by accident: `2025-06-01 12:00:00+00:00` (`str(datetime)`) and no offset at all (a
/// naive datetime, taken as UTC and reported).
pub fn parse_time(s: &str) -> Result<(Timestamp, TimeForm), String> {
    let t = s.trim();
    let spaced = t.len() > 10 && t.as_bytes()[10] == b' ' && t.is_char_boundary(11);
    let fixed = if spaced { format!("{}T{}", &t[..10], &t[11..]) } else { t.to_owned() };
    if let Ok(ts) = fixed.parse::<Timestamp>() {
        return Ok((ts, if spaced { TimeForm::SpaceSeparated } else { TimeForm::Rfc3339 }));
    }
    if let Ok(ts) = format!("{fixed}Z").parse::<Timestamp>() {
        return Ok((ts, TimeForm::Naive));
    }
    Err(format!("{s:?} is not an RFC 3339 date-time such as 2025-06-01T12:00:00.5Z"))
}

/// A string usable as a record identifier field: non-empty, at most 512 bytes, no control
/// characters. Anything else stays in the body only.
pub fn ident(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= trail_core::model::MAX_ID_LEN && !s.chars().any(char::is_control))
        .then(|| s.to_owned())
}

/// A valid event kind from a source's type name: kept as is when it fits trail's kind syntax,
/// otherwise `custom.` and the name with other characters replaced by `_`.
pub fn kind_from(s: &str) -> String {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b"_.:-/".contains(&b);
    if !s.is_empty() && s.len() <= 128 && s.bytes().all(ok) {
        return s.to_owned();
    }
    let cleaned: String =
        s.bytes().take(100).map(|b| if ok(b) { char::from(b) } else { '_' }).collect();
    format!("custom.{}", if cleaned.is_empty() { "unnamed" } else { &cleaned })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The file name of a path, for bodies (not the full path, which may name a user's home).
pub fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Builds an event from a JSON object of record fields and checks it, so every event an importer
/// returns is one the recorder accepts.
pub fn event(fields: Value) -> Result<Event, String> {
    Event::from_value(fields).map_err(|e| e.to_string())
}

/// The `trail.import` event of a batch. Its id is derived from the imported content, so
/// importing the same content twice records it once.
pub fn import_event(
    system: &str,
    content_digest: &str,
    mut body: Map<String, Value>,
) -> Result<Event, String> {
    body.insert("from".into(), json!(system));
    body.insert("content_sha256".into(), json!(content_digest));
    event(json!({
        "id": format!("trail.import:{system}:{}", &content_digest[..32.min(content_digest.len())]),
        "kind": "trail.import",
        "category": "import",
        "action": system,
        "source": "trail",
        "body": Value::Object(body),
    }))
}

/// One SQLite cell, read without assuming the column's declared type or valid UTF-8.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// TEXT whose bytes are not UTF-8 (denkeeper's byte-cut summaries).
    BadText(Vec<u8>),
    Blob(Vec<u8>),
}

impl Cell {
    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The cell as JSON; what JSON cannot hold exactly becomes text and its path is listed.
    pub fn to_json(&self, path: &str, kept_as_text: &mut Vec<String>) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(n) if n.unsigned_abs() <= MAX_SAFE => json!(n),
            Cell::Int(n) => {
                kept_as_text.push(path.to_owned());
                json!(n.to_string())
            }
            Cell::Real(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => {
                    kept_as_text.push(path.to_owned());
                    json!(f.to_string())
                }
            },
            Cell::Text(s) => json!(s),
            Cell::BadText(b) => {
                kept_as_text.push(path.to_owned());
                json!({"text_lossy": String::from_utf8_lossy(b), "bytes_hex": hex::encode(b)})
            }
            Cell::Blob(b) => json!({"blob_hex": hex::encode(b)}),
        }
    }
}

/// A table read whole: its column names and rows, in the order given.
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Opens a SQLite database read-only and reads `table` whole, ordered by `order`.
pub fn read_table(
    path: &std::path::Path,
    system: crate::System,
    table: &str,
    order: &str,
) -> Result<Table, crate::ImportError> {
    use rusqlite::types::ValueRef;
    use rusqlite::{Connection, OpenFlags};
    let sql_err = |source| crate::ImportError::Sqlite { path: path.to_owned(), source };
    // A missing file would otherwise surface as SQLite's vague "unable to open database file".
    std::fs::metadata(path)
        .map_err(|source| crate::ImportError::Io { path: path.to_owned(), source })?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    if exists == 0 {
        return Err(crate::ImportError::NotThisSystem {
            path: path.to_owned(),
            system,
            reason: format!("the database has no table {table}"),
        });
    }
    let mut stmt =
        conn.prepare(&format!("SELECT rowid, * FROM {table} ORDER BY {order}")).map_err(sql_err)?;
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let n = columns.len();
    let rows = stmt
        .query_map([], |row| {
            (0..n)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => Cell::Null,
                        ValueRef::Integer(v) => Cell::Int(v),
                        ValueRef::Real(v) => Cell::Real(v),
                        ValueRef::Text(b) => match std::str::from_utf8(b) {
                            Ok(s) => Cell::Text(s.to_owned()),
                            Err(_) => Cell::BadText(b.to_vec()),
                        },
                        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
                    })
                })
                .collect::<Result<Vec<Cell>, rusqlite::Error>>()
        })
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?;
    Ok(Table { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_time(input: &str, expect: &str) {
        let got = match parse_time(input) {
            Ok((t, form)) => format!("{t} {form:?}"),
            Err(e) => e,
        };
        assert_eq!(got, expect, "input {input:?}");
    }

    #[test]
    fn times_are_normalised_to_utc() {
        check_time("2025-01-01T10:00:01+10:00", "2025-01-01T00:00:01.000000000Z Rfc3339");
        check_time("2025-01-01T00:00:00.5Z", "2025-01-01T00:00:00.500000000Z Rfc3339");
        check_time("2025-06-01T13:00:00+00:00", "2025-06-01T13:00:00.000000000Z Rfc3339");
        check_time(
            "2025-06-01 12:00:00.123456+00:00",
            "2025-06-01T12:00:00.123456000Z SpaceSeparated",
        );
        check_time("2025-06-01T12:00:00", "2025-06-01T12:00:00.000000000Z Naive");
        check_time("soon", "\"soon\" is not an RFC 3339 date-time such as 2025-06-01T12:00:00.5Z");
    }

    #[test]
    fn kinds_are_kept_or_made_custom() {
        assert_eq!(kind_from("tenant.billing_adjusted"), "tenant.billing_adjusted");
        assert_eq!(kind_from("odd kind!"), "custom.odd_kind_");
        assert_eq!(kind_from(""), "custom.unnamed");
    }

    #[test]
    fn values_json_cannot_hold_become_text() {
        let v = crate::pyjson::loads(
            r#"{"n":1180591620717411303424,"f":NaN,"s":"\ud800","ok":[1,2.5]}"#,
        )
        .unwrap();
        let mut kept = Vec::new();
        let j = py_to_json(&v, "", &mut kept);
        assert_eq!(
            j,
            json!({"n": "1180591620717411303424", "f": "NaN", "s": "\u{fffd}", "ok": [1, 2.5]})
        );
        assert_eq!(kept, ["/n", "/f", "/s"]);
    }
}
