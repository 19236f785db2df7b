//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! Every hash in trail is over JCS bytes, so this module decides what a record *is*. It writes
//! object keys sorted by their UTF-16 code units, strings with the minimal escapes of RFC 8785
//! §3.2.2.2, and numbers as ECMAScript's `Number.prototype.toString` would (via `ryu-js`).
//!
//! An integer beyond ±2^53 that no IEEE double represents exactly would be silently rounded by
//! JCS; here it is an error naming its JSON pointer instead, and the sender must send it as a
//! string. The same goes for any number that did not parse as a finite double. An integer beyond
//! 2^53 that is exactly how JCS writes a double (`10000000000000000`, `16666888888888887000`) is
//! kept: JCS writes every double of magnitude below 10^21 as plain digits, so refusing those
//! digits would make canonical bytes that no longer canonicalize (found by the `jcs` fuzz target).

use serde_json::{Map, Number, Value};

/// The largest integer magnitude an IEEE double represents exactly (2^53).
pub const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    #[error(
        "number {number} at {path} is an integer beyond ±2^53 and cannot be hashed faithfully; send it as a string"
    )]
    UnsafeInteger { path: String, number: String },
    #[error("number {number} at {path} is not a finite double")]
    NotFinite { path: String, number: String },
}

/// Returns the canonical bytes of `value`.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    write(&mut out, value)?;
    Ok(out)
}

/// Checks that `value` has canonical bytes (every number a safe integer or a finite double)
/// without writing them: validation does this, and the bytes are written once, after the scan.
pub fn check(value: &Value) -> Result<(), JcsError> {
    fn numbers_ok(v: &Value) -> bool {
        match v {
            Value::Number(n) => number_ok(n),
            Value::Array(a) => a.iter().all(numbers_ok),
            Value::Object(m) => m.values().all(numbers_ok),
            _ => true,
        }
    }
    if numbers_ok(value) {
        Ok(())
    } else {
        // Rare: write it to find the number's path for the error.
        to_vec(value).map(drop)
    }
}

#[expect(clippy::cast_precision_loss, reason = "the rounding is what is checked")]
fn number_ok(n: &Number) -> bool {
    if let Some(u) = n.as_u64() {
        u <= MAX_SAFE_INTEGER || format_f64(u as f64) == u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() <= MAX_SAFE_INTEGER || format_f64(i as f64) == i.to_string()
    } else {
        n.as_f64().is_some_and(f64::is_finite)
    }
}

/// Appends the canonical bytes of `value` to `out`.
pub fn write(out: &mut Vec<u8>, value: &Value) -> Result<(), JcsError> {
    // Written without tracking where it is (a path costs allocations on every key); a number
    // with no canonical form is rare, and then it is found again, with its path.
    write_value(out, value).map_err(|NoCanonicalForm| {
        locate(value, &mut String::new()).unwrap_or_else(|| JcsError::NotFinite {
            path: "/".to_owned(),
            number: "(unknown)".to_owned(),
        })
    })
}

/// A number with no canonical form was met (where is found by [`locate`]).
struct NoCanonicalForm;

/// Iterates `map` in canonical key order, calling `f` for each entry: UTF-8 byte order equals
/// UTF-16 order unless a key holds a character at or above U+E000 (a surrogate pair sorts below
/// U+E000..U+FFFF in UTF-16). The map's own order is not trusted (serde_json's `preserve_order`
/// feature, turned on by any crate in a build, makes it insertion order), but when it is
/// already canonical, as it is without that feature, no list of the entries is made.
fn for_each_sorted<E>(
    map: &Map<String, Value>,
    mut f: impl FnMut(&String, &Value) -> Result<(), E>,
) -> Result<(), E> {
    // A character at or above U+E000 starts with the byte 0xEE or above in UTF-8.
    let high = map.keys().any(|k| k.bytes().any(|b| b >= 0xee));
    if !high && map.keys().is_sorted() {
        for (k, v) in map {
            f(k, v)?;
        }
        return Ok(());
    }
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    if high {
        entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    } else {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    for (k, v) in entries {
        f(k, v)?;
    }
    Ok(())
}

/// The error for the first number, in canonical order, that has no canonical form, naming its
/// JSON pointer.
fn locate(value: &Value, path: &mut String) -> Option<JcsError> {
    match value {
        Value::Number(n) => number_error(n, path),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push('/');
            path.push_str(&i.to_string());
            let found = locate(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => {
            let found = for_each_sorted(map, |key, item| {
                let len = path.len();
                path.push('/');
                path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                let found = locate(item, path);
                path.truncate(len);
                found.map_or(Ok(()), Err)
            });
            found.err()
        }
        _ => None,
    }
}

/// Writes a JSON string literal with the escapes RFC 8785 prescribes.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Most bytes need no escape: skip 8 at a time while none of them is a control
        // character, `"` or `\` (SWAR), also after an escape (bodies hold many line breaks).
        if let Some(word) = bytes.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            if !needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// True when one of the 8 bytes of `w` is below 0x20, `"` or `\\` (each test is the classic
/// "has a zero byte" trick: a byte borrows into its high bit only if it was zero, or below `n`).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'"')));
    let backslash =
        (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) & HIGH != 0
}

/// Formats a finite double as ECMAScript does (RFC 8785 §3.2.2.3).
pub fn format_f64(value: f64) -> String {
    if value == 0.0 {
        // Covers -0, which ECMAScript prints as "0".
        return "0".to_owned();
    }
    let mut buf = ryu_js::Buffer::new();
    buf.format_finite(value).to_owned()
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), NoCanonicalForm> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            let mut first = true;
            for_each_sorted(map, |key, item| {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_str(out, key);
                out.push(b':');
                write_value(out, item)
            })?;
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), NoCanonicalForm> {
    if number_ok(n) {
        if let Some(u) = n.as_u64() {
            out.extend_from_slice(u.to_string().as_bytes());
        } else if let Some(i) = n.as_i64() {
            out.extend_from_slice(i.to_string().as_bytes());
        } else if let Some(f) = n.as_f64() {
            out.extend_from_slice(format_f64(f).as_bytes());
        }
        Ok(())
    } else {
        Err(NoCanonicalForm)
    }
}

/// Why `n` has no canonical form, at `path`; `None` when it has one.
fn number_error(n: &Number, path: &str) -> Option<JcsError> {
    if number_ok(n) {
        return None;
    }
    let path = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
    let number = n.to_string();
    Some(if n.is_f64() {
        JcsError::NotFinite { path, number }
    } else {
        JcsError::UnsafeInteger { path, number }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time skip finds every byte that needs an escape, wherever it sits, and
    /// writes what serde_json writes for a string (the same escapes as RFC 8785).
    /// `check` accepts exactly what `to_vec` can write, and names the same number.
    #[test]
    fn check_agrees_with_writing() {
        for text in [
            r#"{"a":[1,2.5,-3,9007199254740992,1e308]}"#,
            r#"{"a":{"b":[9007199254740993]}}"#,
            r#"[-9007199254740993]"#,
            r#"{"x":18446744073709551615}"#,
            r#""plain""#,
        ] {
            let v: Value = serde_json::from_str(text).expect("json");
            assert_eq!(
                super::check(&v).map_err(|e| e.to_string()),
                to_vec(&v).map(drop).map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn strings_escape_every_special_byte_at_every_position() {
        let mut specials: Vec<char> = (0u8..0x20).map(char::from).collect();
        specials.extend(['"', '\\', 'a', '~', '\u{7f}', 'é', '€', '😀']);
        for len in 0..26 {
            for at in 0..len {
                for &c in &specials {
                    let mut text: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                    text.replace_range(at..=at, &c.to_string());
                    let mut out = Vec::new();
                    write_str(&mut out, &text);
                    let want = serde_json::to_string(&text).unwrap();
                    assert_eq!(String::from_utf8(out).unwrap(), want, "{text:?}");
                }
            }
        }
    }
    use serde_json::json;

    #[test]
    fn rejects_integers_beyond_2_pow_53_with_their_path() {
        let err = to_vec(&json!({"a": [1, 9007199254740993u64]})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "number 9007199254740993 at /a/1 is an integer beyond ±2^53 and cannot be hashed faithfully; send it as a string"
        );
        assert!(to_vec(&json!({"a": -9007199254740993i64})).is_err());
        assert_eq!(to_vec(&json!(9007199254740992u64)).unwrap(), b"9007199254740992");
    }

    /// The error names the first bad number in canonical order, its pointer escaped (RFC 6901).
    #[test]
    fn the_first_bad_number_in_canonical_order_is_named_with_its_pointer() {
        let v = json!({"z": 9007199254740995u64, "a/b": {"~": [0, 9007199254740993u64]}});
        assert_eq!(
            to_vec(&v).unwrap_err(),
            JcsError::UnsafeInteger {
                path: "/a~1b/~0/1".into(),
                number: "9007199254740993".into()
            }
        );
    }

    /// Canonical bytes canonicalize again to themselves; a number that cannot be hashed
    /// faithfully is refused.
    fn check(input: &str, want: Result<&str, &str>) {
        let v: Value = serde_json::from_str(input).unwrap();
        match (to_vec(&v), want) {
            (Ok(once), Ok(text)) => {
                assert_eq!(String::from_utf8(once.clone()).unwrap(), text, "{input}");
                let again = to_vec(&serde_json::from_slice(&once).unwrap()).unwrap();
                assert_eq!(again, once, "{input}: not idempotent");
            }
            (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{input}: {e}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn doubles_beyond_2_pow_53_canonicalize_again_to_themselves() {
        // Found by the `jcs` fuzz target: the first number was written as 16666888888888887000,
        // which was then refused as an unsafe integer when the canonical bytes were read again.
        check(
            r#"{"numbers": [16666888888888886666.33303329, 1E30, 4.51, 2e-3, 0.000010000000000000000000001]}"#,
            Ok(r#"{"numbers":[16666888888888887000,1e+30,4.51,0.002,0.00001]}"#),
        );
        check("1e16", Ok("10000000000000000"));
        check("1e20", Ok("100000000000000000000"));
        check("-1.5e17", Ok("-150000000000000000"));
        // Integers that are exactly how a double is written are kept; others would be rounded.
        check("10000000000000000", Ok("10000000000000000"));
        check("-150000000000000000", Ok("-150000000000000000"));
        check("10000000000000001", Err("number 10000000000000001 at / is an integer beyond ±2^53"));
        check("16666888888888887296", Err("is an integer beyond ±2^53"));
        check("-9007199254740993", Err("is an integer beyond ±2^53"));
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(format_f64(-0.0), "0");
    }

    #[test]
    fn utf16_key_order_differs_from_utf8_order() {
        // U+FB33 (UTF-16 0xFB33) sorts after U+1F602 (UTF-16 0xD83D 0xDE02), the reverse of UTF-8.
        let v: Value = serde_json::from_str(r#"{"\ufb33":1,"\ud83d\ude02":2}"#).unwrap();
        assert_eq!(
            String::from_utf8(to_vec(&v).unwrap()).unwrap(),
            "{\"\u{1f602}\":2,\"\u{fb33}\":1}"
        );
    }
}
