//! Python's `json` module, as far as hashing needs it: `json.loads` and `json.dumps` with
//! `ensure_ascii=True`, compact separators and optional `sort_keys`.
//!
//! Harness hashes `json.dumps(event, sort_keys=True, separators=(",", ":"))` of the *parsed*
//! line, so reproducing its hash needs Python's data model, not JSON's: integers of any size
//! (`1180591620717411303424` stays exact), floats kept apart from integers (`1.0` is not `1`),
//! `NaN` and `Infinity` as bare tokens, strings of code points that may hold lone surrogates,
//! duplicate keys where the last value wins at the first key's place, and floats written by
//! `repr` (shortest round-trip digits, exponent form below 1e-4 and from 1e16 on).

use std::fmt::Write as _;

/// A value as Python's `json.loads` returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    Null,
    Bool(bool),
    /// An integer of any size, as normalised decimal text (`-0` becomes `0`).
    Int(String),
    Float(f64),
    Str(PyStr),
    Array(Vec<PyValue>),
    /// Keys in first-insertion order; a repeated key replaced the earlier value in place.
    Object(Vec<(PyStr, PyValue)>),
}

/// A Python `str`: a sequence of code points, lone surrogates included.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct PyStr(pub Vec<u32>);

impl PyStr {
    pub fn new(s: &str) -> PyStr {
        PyStr(s.chars().map(u32::from).collect())
    }

    /// The text, or `None` when it holds a lone surrogate.
    pub fn as_string(&self) -> Option<String> {
        self.0.iter().map(|&c| char::from_u32(c)).collect()
    }

    /// The text with lone surrogates replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        self.0.iter().map(|&c| char::from_u32(c).unwrap_or('\u{fffd}')).collect()
    }

    /// Python's `s[:n]`.
    pub fn prefix(&self, n: usize) -> String {
        PyStr(self.0.iter().take(n).copied().collect()).to_string_lossy()
    }

    pub fn is(&self, s: &str) -> bool {
        self.0.iter().copied().eq(s.chars().map(u32::from))
    }
}

impl PyValue {
    pub fn str(s: &str) -> PyValue {
        PyValue::Str(PyStr::new(s))
    }

    /// The value under `key` of an object.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Object(items) => items.iter().find(|(k, _)| k.is(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string under `key`, when it is a string without lone surrogates.
    pub fn get_str(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(PyValue::Str(s)) => s.as_string(),
            _ => None,
        }
    }

    /// The number under `key` as a float (integers converted).
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(PyValue::as_f64)
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PyValue::Float(f) => Some(*f),
            PyValue::Int(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The integer under `key`, when it is one that fits an `i64`.
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(PyValue::Int(s)) => s.parse().ok(),
            _ => None,
        }
    }

    /// Python's type name, as an error message would say it.
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::Null => "null",
            PyValue::Bool(_) => "a boolean",
            PyValue::Int(_) => "an integer",
            PyValue::Float(_) => "a float",
            PyValue::Str(_) => "a string",
            PyValue::Array(_) => "an array",
            PyValue::Object(_) => "an object",
        }
    }

    /// Python's `==` between two JSON-born values (`1 == 1.0`, `True == 1`).
    pub fn py_eq(&self, other: &PyValue) -> bool {
        use PyValue::{Array, Bool, Float, Int, Null, Object, Str};
        match (self, other) {
            (Null, Null) => true,
            (Str(a), Str(b)) => a == b,
            (Array(a), Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y)),
            (Object(a), Object(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v.py_eq(v2)))
            }
            (Int(a), Int(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Bool(_) | Int(_) | Float(_), Bool(_) | Int(_) | Float(_)) => {
                match (self.numeric(), other.numeric()) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                }
            }
            _ => false,
        }
    }

    fn numeric(&self) -> Option<f64> {
        match self {
            PyValue::Bool(b) => Some(f64::from(u8::from(*b))),
            other => other.as_f64(),
        }
    }
}

/// `json.loads` failed; the message is Python's (`Expecting value: line 1 column 14 (char 13)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub msg: String,
    /// Position in code points, as Python counts.
    pub pos: usize,
    /// The exception Python raises: `JSONDecodeError` (caught by Harness's verifier), or
    /// `ValueError` / `RecursionError`, which escape it and end its run.
    pub exception: &'static str,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.exception == JSON_DECODE_ERROR {
            write!(f, "{}: line 1 column {} (char {})", self.msg, self.pos + 1, self.pos)
        } else {
            write!(f, "{}", self.msg)
        }
    }
}

impl std::error::Error for DecodeError {}

const JSON_DECODE_ERROR: &str = "JSONDecodeError";

impl DecodeError {
    /// Whether Python raises `json.JSONDecodeError` (a caller catching it goes on).
    pub fn is_json_decode_error(&self) -> bool {
        self.exception == JSON_DECODE_ERROR
    }
}

/// Deeper nesting than this is refused; Python itself fails near its recursion limit (1000).
pub const MAX_DEPTH: usize = 900;

/// Python 3.11+ refuses to convert integers longer than this (`sys.get_int_max_str_digits()`);
/// `json.loads` raises `ValueError` for them.
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// Python's `json.loads(text)` for a text that holds no line break (one stripped line).
pub fn loads(text: &str) -> Result<PyValue, DecodeError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.first() == Some(&'\u{feff}') {
        return Parser::err("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    }
    let mut p = Parser { s: &chars, depth: 0 };
    let start = p.ws(0);
    let (value, end) = p.value(start)?;
    let end = p.ws(end);
    if end != chars.len() {
        return Parser::err("Extra data", end);
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [char],
    depth: usize,
}

impl Parser<'_> {
    fn ws(&self, mut i: usize) -> usize {
        while matches!(self.s.get(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        i
    }

    fn err<T>(msg: &str, pos: usize) -> Result<T, DecodeError> {
        Err(DecodeError { msg: msg.to_owned(), pos, exception: JSON_DECODE_ERROR })
    }

    fn bad_escape(pos: usize) -> DecodeError {
        DecodeError { msg: "Invalid \\uXXXX escape".into(), pos, exception: JSON_DECODE_ERROR }
    }

    fn starts(&self, i: usize, lit: &str) -> bool {
        lit.chars().enumerate().all(|(k, c)| self.s.get(i + k) == Some(&c))
    }

    fn value(&mut self, i: usize) -> Result<(PyValue, usize), DecodeError> {
        let Some(&c) = self.s.get(i) else { return Self::err("Expecting value", i) };
        match c {
            '"' => {
                let (s, end) = self.string(i + 1)?;
                Ok((PyValue::Str(s), end))
            }
            '{' => self.nested(i, true),
            '[' => self.nested(i, false),
            'n' if self.starts(i, "null") => Ok((PyValue::Null, i + 4)),
            't' if self.starts(i, "true") => Ok((PyValue::Bool(true), i + 4)),
            'f' if self.starts(i, "false") => Ok((PyValue::Bool(false), i + 5)),
            'N' if self.starts(i, "NaN") => Ok((PyValue::Float(f64::NAN), i + 3)),
            'I' if self.starts(i, "Infinity") => Ok((PyValue::Float(f64::INFINITY), i + 8)),
            '-' if self.starts(i, "-Infinity") => Ok((PyValue::Float(f64::NEG_INFINITY), i + 9)),
            '-' | '0'..='9' => self.number(i),
            _ => Self::err("Expecting value", i),
        }
    }

    fn nested(&mut self, i: usize, object: bool) -> Result<(PyValue, usize), DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DecodeError {
                msg: "maximum recursion depth exceeded while decoding a JSON document \
                      (nesting deeper than 900 levels)"
                    .into(),
                pos: i,
                exception: "RecursionError",
            });
        }
        let r = if object { self.object(i + 1) } else { self.array(i + 1) };
        self.depth -= 1;
        r
    }

    fn object(&mut self, i: usize) -> Result<(PyValue, usize), DecodeError> {
        let mut items: Vec<(PyStr, PyValue)> = Vec::new();
        let mut j = self.ws(i);
        match self.s.get(j) {
            Some('}') => return Ok((PyValue::Object(items), j + 1)),
            Some('"') => {}
            _ => return Self::err("Expecting property name enclosed in double quotes", j),
        }
        loop {
            let (key, end) = self.string(j + 1)?;
            j = self.ws(end);
            if self.s.get(j) != Some(&':') {
                return Self::err("Expecting ':' delimiter", j);
            }
            j = self.ws(j + 1);
            let (value, end) = self.value(j)?;
            match items.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => items.push((key, value)),
            }
            j = self.ws(end);
            match self.s.get(j) {
                Some('}') => return Ok((PyValue::Object(items), j + 1)),
                Some(',') => {}
                _ => return Self::err("Expecting ',' delimiter", j),
            }
            j = self.ws(j + 1);
            if self.s.get(j) != Some(&'"') {
                return Self::err("Expecting property name enclosed in double quotes", j);
            }
        }
    }

    fn array(&mut self, i: usize) -> Result<(PyValue, usize), DecodeError> {
        let mut items = Vec::new();
        let mut j = self.ws(i);
        if self.s.get(j) == Some(&']') {
            return Ok((PyValue::Array(items), j + 1));
        }
        loop {
            let (value, end) = self.value(j)?;
            items.push(value);
            j = self.ws(end);
            match self.s.get(j) {
                Some(']') => return Ok((PyValue::Array(items), j + 1)),
                Some(',') => {}
                _ => return Self::err("Expecting ',' delimiter", j),
            }
            j = self.ws(j + 1);
        }
    }

    /// Python's NUMBER_RE: `(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?`.
    fn number(&self, i: usize) -> Result<(PyValue, usize), DecodeError> {
        let digits = |mut j: usize| {
            while self.s.get(j).is_some_and(char::is_ascii_digit) {
                j += 1;
            }
            j
        };
        let mut j = i;
        if self.s.get(j) == Some(&'-') {
            j += 1;
        }
        match self.s.get(j) {
            Some('0') => j += 1,
            Some('1'..='9') => j = digits(j),
            _ => return Self::err("Expecting value", i),
        }
        let int_end = j;
        let mut is_float = false;
        if self.s.get(j) == Some(&'.') && self.s.get(j + 1).is_some_and(char::is_ascii_digit) {
            j = digits(j + 1);
            is_float = true;
        }
        if matches!(self.s.get(j), Some('e' | 'E')) {
            let mut k = j + 1;
            if matches!(self.s.get(k), Some('+' | '-')) {
                k += 1;
            }
            if self.s.get(k).is_some_and(char::is_ascii_digit) {
                j = digits(k);
                is_float = true;
            }
        }
        let text: String = self.s[i..j].iter().collect();
        if is_float {
            // Rust's parse is correctly rounded, like Python's float(); overflow gives inf.
            let f: f64 = text.parse().unwrap_or(f64::NAN);
            Ok((PyValue::Float(f), j))
        } else {
            debug_assert_eq!(int_end, j);
            let digits = text.trim_start_matches('-').len();
            if digits > INT_MAX_STR_DIGITS {
                return Err(DecodeError {
                    msg: format!(
                        "Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string \
                         conversion: value has {digits} digits; use \
                         sys.set_int_max_str_digits() to increase the limit"
                    ),
                    pos: i,
                    exception: "ValueError",
                });
            }
            let normal = if text == "-0" { "0".to_owned() } else { text };
            Ok((PyValue::Int(normal), j))
        }
    }

    /// A string body starting after the opening quote at `i - 1`.
    fn string(&self, i: usize) -> Result<(PyStr, usize), DecodeError> {
        let begin = i - 1;
        let mut out = Vec::new();
        let mut j = i;
        loop {
            let Some(&c) = self.s.get(j) else {
                return Self::err("Unterminated string starting at", begin);
            };
            match c {
                '"' => return Ok((PyStr(out), j + 1)),
                '\\' => {
                    let Some(&e) = self.s.get(j + 1) else {
                        return Self::err("Unterminated string starting at", begin);
                    };
                    let simple = match e {
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        '/' => Some('/'),
                        'b' => Some('\u{8}'),
                        'f' => Some('\u{c}'),
                        'n' => Some('\n'),
                        'r' => Some('\r'),
                        't' => Some('\t'),
                        _ => None,
                    };
                    if let Some(ch) = simple {
                        out.push(u32::from(ch));
                        j += 2;
                        continue;
                    }
                    if e != 'u' {
                        return Self::err("Invalid \\escape", j);
                    }
                    let unit = self.hex4(j + 2).ok_or(Self::bad_escape(j + 1))?;
                    j += 6;
                    if (0xd800..0xdc00).contains(&unit)
                        && self.s.get(j) == Some(&'\\')
                        && self.s.get(j + 1) == Some(&'u')
                    {
                        let low = self.hex4(j + 2).ok_or(Self::bad_escape(j + 1))?;
                        if (0xdc00..0xe000).contains(&low) {
                            out.push(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00));
                            j += 6;
                            continue;
                        }
                    }
                    out.push(unit);
                }
                c if u32::from(c) < 0x20 => {
                    return Self::err("Invalid control character at", j);
                }
                c => {
                    out.push(u32::from(c));
                    j += 1;
                }
            }
        }
    }

    fn hex4(&self, i: usize) -> Option<u32> {
        let mut v = 0u32;
        for k in 0..4 {
            let d = self.s.get(i + k)?.to_digit(16)?;
            v = v * 16 + d;
        }
        Some(v)
    }
}

/// `json.dumps(value, sort_keys=sort, separators=(",", ":"))` with Python's defaults otherwise
/// (`ensure_ascii=True`, `allow_nan=True`).
pub fn dumps(value: &PyValue, sort_keys: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, value, sort_keys);
    out
}

fn write_value(out: &mut String, value: &PyValue, sort: bool) {
    match value {
        PyValue::Null => out.push_str("null"),
        PyValue::Bool(true) => out.push_str("true"),
        PyValue::Bool(false) => out.push_str("false"),
        PyValue::Int(s) => out.push_str(s),
        PyValue::Float(f) => out.push_str(&float_repr(*f)),
        PyValue::Str(s) => write_str(out, s),
        PyValue::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, v, sort);
            }
            out.push(']');
        }
        PyValue::Object(items) => {
            let mut refs: Vec<&(PyStr, PyValue)> = items.iter().collect();
            if sort {
                refs.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, v)) in refs.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v, sort);
            }
            out.push('}');
        }
    }
}

/// Python's `ensure_ascii` string encoding.
fn write_str(out: &mut String, s: &PyStr) {
    out.push('"');
    for &c in &s.0 {
        match c {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            // Python's ESCAPE_ASCII is `[^\ -~]`: DEL (0x7f) is escaped too.
            0x20..=0x7e => out.push(char::from_u32(c).unwrap_or('?')),
            0..=0xffff => {
                let _ = write!(out, "\\u{c:04x}");
            }
            _ => {
                let v = c - 0x10000;
                let _ = write!(out, "\\u{:04x}\\u{:04x}", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
            }
        }
    }
    out.push('"');
}

/// Python's `repr(float)` as `json.dumps` writes it (`NaN`, `Infinity`, `-Infinity` bare).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, as Python's repr does; where two
    // digit strings of that length round-trip (the value lies exactly between them), Python
    // (David Gay's dtoa, mode 0) takes the one nearest the value, ties to even, while Rust may
    // take the other (1658206780088562.25: Python `.2`, Rust `.3`). Rounding the exact value to
    // the same number of digits (half to even) gives Python's choice whenever it round-trips.
    let shortest = format!("{:e}", f.abs());
    let n =
        shortest.split_once('e').map_or(0, |(m, _)| m.chars().filter(char::is_ascii_digit).count());
    let nearest = format!("{:.*e}", n.saturating_sub(1), f.abs());
    let sci = if nearest.parse::<f64>() == Ok(f.abs()) { nearest } else { shortest };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // Python: scientific when the decimal exponent is below -4 or at least 16.
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let mant = if rest.is_empty() { first.to_owned() } else { format!("{first}.{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mant}e{esign}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    let s = if exp < 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-exp - 1).unwrap_or(0)))
    } else if exp + 1 >= n {
        format!("{digits}{}.0", "0".repeat(usize::try_from(exp + 1 - n).unwrap_or(0)))
    } else {
        let (a, b) = digits.split_at(usize::try_from(exp + 1).unwrap_or(0));
        format!("{a}.{b}")
    };
    format!("{sign}{s}")
}

/// Python's `str.strip()` whitespace (Unicode White_Space plus the separators U+001C..U+001F).
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(input: &str, sorted: &str) {
        let v = loads(input).unwrap();
        assert_eq!(dumps(&v, true), sorted, "input {input}");
    }

    #[test]
    fn floats_follow_python_repr() {
        // python3 -c 'import json; print(json.dumps([1e-07, 1e16, 1e15, 1.7976931348623157e308,
        //   5e-324, 0.0, -0.0, 1.0, 0.0001, 0.00001, 123456789.123, 1795463445.5796418]))'
        roundtrip(
            "[1e-07,1e16,1e15,1.7976931348623157e308,5e-324,0.0,-0.0,1.0,0.0001,0.00001,123456789.123,1795463445.5796418]",
            "[1e-07,1e+16,1000000000000000.0,1.7976931348623157e+308,5e-324,0.0,-0.0,1.0,0.0001,1e-05,123456789.123,1795463445.5796418]",
        );
        roundtrip("[NaN,Infinity,-Infinity,1e400]", "[NaN,Infinity,-Infinity,Infinity]");
        roundtrip("[1E5,2.5e-3,-12.0e0]", "[100000.0,0.0025,-12.0]");
    }

    #[test]
    fn integers_are_exact_and_distinct_from_floats() {
        roundtrip("[1180591620717411303424,-0,1,1.0]", "[1180591620717411303424,0,1,1.0]");
    }

    #[test]
    fn strings_are_ascii_escaped() {
        // python3 -c 'import json; print(json.dumps("Grüße — 🚀\x01\x7f\t\"/\\"))'
        // (every code point is checked against Python itself in tests/python_differential.rs)
        roundtrip(
            "\"Grüße — 🚀\\u0001\u{7f}\\t\\\"/\\\\\"",
            "\"Gr\\u00fc\\u00dfe \\u2014 \\ud83d\\ude80\\u0001\\u007f\\t\\\"/\\\\\"",
        );
        roundtrip("\"\\ud83d\\ude80 \\ud800 x\"", "\"\\ud83d\\ude80 \\ud800 x\"");
    }

    #[test]
    fn keys_sort_by_code_point_and_last_duplicate_wins() {
        roundtrip(
            r#"{"b":1,"a":{"z":1,"é":2,"Z":3},"b":2}"#,
            r#"{"a":{"Z":3,"z":1,"\u00e9":2},"b":2}"#,
        );
        let v = loads(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        assert_eq!(dumps(&v, false), r#"{"b":3,"a":2}"#);
    }

    fn check_err(input: &str, expect: &str) {
        assert_eq!(loads(input).unwrap_err().to_string(), expect, "input {input}");
    }

    #[test]
    fn errors_read_like_python() {
        check_err(r#"{"event_id": oops}"#, "Expecting value: line 1 column 14 (char 13)");
        check_err("[1,2", "Expecting ',' delimiter: line 1 column 5 (char 4)");
        check_err(r#"{"a" 1}"#, "Expecting ':' delimiter: line 1 column 6 (char 5)");
        check_err(
            "{1:2}",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        );
        check_err(r#"{"a":1} x"#, "Extra data: line 1 column 9 (char 8)");
        check_err(r#""abc"#, "Unterminated string starting at: line 1 column 1 (char 0)");
        check_err("\"a\u{1}\"", "Invalid control character at: line 1 column 3 (char 2)");
        check_err(r#""\x""#, "Invalid \\escape: line 1 column 2 (char 1)");
        check_err(r#""\u12""#, "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
        check_err("[1,]", "Expecting value: line 1 column 4 (char 3)");
        check_err(
            r#"{"a":1,}"#,
            "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)",
        );
        check_err("01", "Extra data: line 1 column 2 (char 1)");
        check_err("", "Expecting value: line 1 column 1 (char 0)");
        check_err(
            &"[".repeat(1000),
            "maximum recursion depth exceeded while decoding a JSON document (nesting deeper \
             than 900 levels)",
        );
    }

    #[test]
    fn python_equality() {
        let one = PyValue::Int("1".into());
        assert!(one.py_eq(&PyValue::Float(1.0)));
        assert!(one.py_eq(&PyValue::Bool(true)));
        assert!(!PyValue::str("1").py_eq(&one));
    }
}
