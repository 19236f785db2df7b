//! Python values read straight into JSON values, without `json.dumps` and a parse.
//!
//! Only what maps to exactly one JSON value is read here: `None`, `bool`, `int` within 64 bits,
//! finite `float`, `str`, and `dict` with `str` keys, `list` and `tuple` of those, each of its
//! exact type (a subclass may serialise itself otherwise). Anything else (another type, a key
//! that is not a `str`, a lone surrogate, a non-finite float, an integer beyond 64 bits, nesting
//! deeper than [`MAX_DEPTH`]) gives `None`, and the caller takes the JSON-text path, whose
//! `json.dumps` and strict parse accept or refuse it with their own messages. So both paths
//! record the same events and refuse the same ones.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};
use trail_core::{Event, Fields};

/// Deeper values take the JSON-text path (serde_json's parser stops at 128 levels).
pub const MAX_DEPTH: usize = 100;

/// `value` as JSON, when it maps to exactly one JSON value (see the module's text).
pub fn json_of(value: &Bound<'_, PyAny>, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    if value.is_none() {
        return Some(Value::Null);
    }
    if let Ok(s) = value.cast_exact::<PyString>() {
        return utf8_of(s).map(Value::String);
    }
    if let Ok(b) = value.cast_exact::<PyBool>() {
        return Some(Value::Bool(b.is_true()));
    }
    if let Ok(i) = value.cast_exact::<PyInt>() {
        if let Ok(n) = i.extract::<i64>() {
            return Some(Value::Number(n.into()));
        }
        return i.extract::<u64>().ok().map(|n| Value::Number(n.into()));
    }
    if let Ok(f) = value.cast_exact::<PyFloat>() {
        return Number::from_f64(f.value()).map(Value::Number);
    }
    if let Ok(d) = value.cast_exact::<PyDict>() {
        return object_of(d, depth).map(Value::Object);
    }
    if let Ok(l) = value.cast_exact::<PyList>() {
        return l.iter().map(|v| json_of(&v, depth + 1)).collect::<Option<_>>().map(Value::Array);
    }
    if let Ok(t) = value.cast_exact::<PyTuple>() {
        return t.iter().map(|v| json_of(&v, depth + 1)).collect::<Option<_>>().map(Value::Array);
    }
    None
}

/// A `dict` with `str` keys as a JSON object.
pub fn object_of(dict: &Bound<'_, PyDict>, depth: usize) -> Option<Map<String, Value>> {
    let mut map = Map::new();
    for (k, v) in dict.iter() {
        let key = utf8_of(k.cast_exact::<PyString>().ok()?)?;
        map.insert(key, json_of(&v, depth + 1)?);
    }
    Some(map)
}

unsafe extern "C" {
    /// In the limited API from Python 3.10 on; CPython has exported it with this signature since
    /// 3.3, so this abi3-py39 module finds it in every interpreter that loads it.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

/// A `str`'s text, read from the string's own UTF-8 (kept in the object: for ASCII text, its
/// characters themselves) rather than through a new `bytes` object per string, which is the
/// 3.9 limited API's way (`PyUnicode_AsUTF8String`) and was most of this module's conversion
/// cost. `None` for a lone surrogate, which has no UTF-8.
fn utf8_of(s: &Bound<'_, PyString>) -> Option<String> {
    text_of(s).map(str::to_owned)
}

/// A `str`'s text, borrowed from the string (see [`utf8_of`]).
fn text_of<'a>(s: &'a Bound<'_, PyString>) -> Option<&'a str> {
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live `str` (exact type) held by the caller, and the GIL is held; the
    // returned buffer belongs to `s` and is copied below, while `s` is still held.
    let ptr = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &raw mut size) };
    if ptr.is_null() {
        // The error it set is taken: the caller goes the `json.dumps` way, which names it.
        drop(PyErr::take(s.py()));
        return None;
    }
    let len = usize::try_from(size).ok()?;
    // SAFETY: CPython returns `size` bytes at `ptr`, alive as long as `s` (see above).
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).ok()
}

/// The event of `record(kind, **fields)` read straight from the call, when it is the usual
/// one: every field a string field holding a `str` (`kind`, `action`, `session`, ...), or `id`,
/// or `body`. `None` otherwise (another field, another type, a body not read as JSON here),
/// and the caller builds the event from a JSON object, which accepts or refuses the rest with
/// its own messages. The event is not yet validated.
pub fn plain_event(kind: Option<&Bound<'_, PyAny>>, fields: &Bound<'_, PyDict>) -> Option<Event> {
    let mut event = Event { id: None, time: None, fields: Fields::default(), body: None };
    let mut has_kind = false;
    if let Some(kind) = kind {
        event.fields.kind = utf8_of(kind.cast_exact::<PyString>().ok()?)?;
        has_kind = true;
    }
    for (k, v) in fields.iter() {
        let key = k.cast_exact::<PyString>().ok()?;
        let key = text_of(key)?;
        if key == "body" {
            event.body = Some(json_of(&v, 1)?).filter(|b| !b.is_null());
            continue;
        }
        let value = utf8_of(v.cast_exact::<PyString>().ok()?)?;
        match key {
            "id" => event.id = Some(value),
            _ if event.fields.set_string(key, value) => has_kind |= key == "kind",
            _ => return None,
        }
    }
    has_kind.then_some(event)
}
