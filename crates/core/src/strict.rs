//! Parsing untrusted JSON into a [`Value`] with two rules `serde_json::from_slice` does not
//! keep: a repeated object key is an error naming its path (JSON leaves duplicates undefined,
//! and "the last one wins" lets a client show one reader a value and another reader another),
//! and an array of events stops at a maximum count while parsing, before more memory is spent.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses one JSON value, refusing repeated keys. Errors read like serde_json's, with the
/// pointer of a repeated key: `duplicate key "kind" at /body/args`.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    inexact_integers(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Strict { path: String::new() }.deserialize(&mut de).map_err(too_deep)?;
    de.end()?;
    Ok(v)
}

/// serde_json's "recursion limit exceeded at line 1 column 136", in words a sender can act on
/// (found by an outside tester: the position is in JSON text the sender may never have seen).
fn too_deep(e: serde_json::Error) -> serde_json::Error {
    if e.to_string().starts_with("recursion limit exceeded") {
        return de::Error::custom(
            "the JSON nests arrays and objects more than 128 levels deep, more than trail \
             stores; flatten it or send the deep part as a string",
        );
    }
    e
}

/// Parses a JSON array of at most `max` values (each parsed as [`from_slice`] parses), failing
/// as soon as element `max + 1` starts: `Ok(Err(n))` says the array holds more than `max`.
pub fn array_at_most(
    bytes: &[u8],
    max: usize,
) -> Result<Result<Vec<Value>, usize>, serde_json::Error> {
    inexact_integers(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match (Bounded { max }).deserialize(&mut de) {
        Ok(v) => {
            de.end()?;
            Ok(Ok(v))
        }
        Err(e) if e.to_string().starts_with(TOO_MANY) => Ok(Err(max + 1)),
        Err(e) => Err(e),
    }
}

/// Parses consecutive JSON values (NDJSON or concatenated), each as [`from_slice`] does.
pub fn stream(bytes: &[u8]) -> impl Iterator<Item = Result<Value, serde_json::Error>> + '_ {
    let inexact = inexact_integers(bytes).err();
    inexact.into_iter().map(Err).chain(
        serde_json::Deserializer::from_slice(bytes)
            .into_iter::<StrictValue>()
            .map(|r| r.map(|v| v.0)),
    )
}

/// Refuses an integer literal beyond the 64-bit range that no double holds exactly: serde_json
/// would read it as the nearest double (`12345678901234567890123` as `1.2345678901234568e22`)
/// and the stored value would silently differ from the one sent. (Integers within 64 bits are
/// kept as integers and checked against 2^53 where events are validated.)
fn inexact_integers(bytes: &[u8]) -> Result<(), serde_json::Error> {
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            // Most of a body is string contents: jump to the next quote or backslash.
            match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                None => break,
                Some(k) => {
                    i += k;
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else {
                        in_string = false;
                        i += 1;
                    }
                }
            }
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit()
                    || matches!(bytes[i], b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                i += 1;
            }
            let token = &bytes[start..i];
            let integer = !token.iter().any(|c| matches!(c, b'.' | b'e' | b'E'));
            let digits = token.iter().filter(|c| c.is_ascii_digit()).count();
            let text = std::str::from_utf8(token).unwrap_or("");
            // Within 64 bits serde_json keeps an integer as an integer.
            let wide = digits > 18 && text.parse::<i64>().is_err() && text.parse::<u64>().is_err();
            if integer && wide {
                // Kept only when the double it is read as is written back with these very
                // digits, the rule integers within 64 bits meet at validation (`jcs.rs`): 2^64
                // would be stored as 18446744073709552000, and 10^21 as 1e+21.
                let canonical = text
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| ryu_js::Buffer::new().format_finite(f).to_owned());
                if canonical.as_deref() != Some(text) {
                    let written = canonical
                        .map_or_else(|| "no finite number".to_owned(), |c| format!("{c} instead"));
                    return Err(de::Error::custom(format_args!(
                        "the integer {text} cannot be stored exactly: numbers are hashed as \
                         doubles (RFC 8785), which write it as {written}; send it as a string"
                    )));
                }
            }
            continue;
        }
        i += 1;
    }
    Ok(())
}

/// A top-level value parsed with the strict rules (so serde_json's stream can drive it).
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StrictValue, D::Error> {
        Strict { path: String::new() }.deserialize(d).map(StrictValue)
    }
}

const TOO_MANY: &str = "more elements than the maximum";

struct Bounded {
    max: usize,
}

impl<'de> DeserializeSeed<'de> for Bounded {
    type Value = Vec<Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Bounded {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut out = Vec::new();
        let mut i = 0usize;
        while let Some(v) = seq.next_element_seed(Strict { path: format!("/{i}") })? {
            if out.len() == self.max {
                return Err(de::Error::custom(TOO_MANY));
            }
            out.push(v);
            i += 1;
        }
        Ok(out)
    }
}

/// A value at a JSON pointer (for messages).
struct Strict {
    path: String,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        let mut i = 0usize;
        while let Some(v) = seq.next_element_seed(Strict { path: format!("{}/{i}", self.path) })? {
            out.push(v);
            i += 1;
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}/{}", self.path, key.replace('~', "~0").replace('/', "~1"));
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key {key:?} at {}",
                    if self.path.is_empty() { "the top level" } else { &self.path }
                )));
            }
            let v = map.next_value_seed(Strict { path })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]
    use super::*;

    #[test]
    fn repeated_keys_are_named_with_their_path() {
        let e = from_slice(br#"{"kind":"a","kind":"b"}"#).unwrap_err().to_string();
        assert!(e.contains("duplicate key \"kind\" at the top level"), "{e}");
        let e = from_slice(br#"{"body":{"args":[{"x":1,"x":2}]}}"#).unwrap_err().to_string();
        assert!(e.contains("duplicate key \"x\" at /body/args/0"), "{e}");
        let v = from_slice(br#"{"a":{"b":[1,2.5,"x",null,true]},"c":{}}"#).unwrap();
        assert_eq!(v, serde_json::json!({"a":{"b":[1,2.5,"x",null,true]},"c":{}}));
    }

    #[test]
    fn nesting_too_deep_is_said_in_words() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let e = from_slice(deep.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("more than 128 levels deep"), "{e}");
    }

    #[test]
    fn integers_no_double_holds_are_refused() {
        let e = from_slice(br#"{"n":12345678901234567890123}"#).unwrap_err().to_string();
        assert!(e.contains("cannot be stored exactly"), "{e}");
        assert!(from_slice(br#"{"n":-12345678901234567890123}"#).is_err());
        // One rule at every size (found by an outside tester: 2^64 and 10^21 were stored as
        // 18446744073709552000 and 1e+21 while 2^60 was refused): an integer beyond 2^53 is
        // kept only when it is written as its double is canonically written.
        for n in ["1180591620717411303424", "18446744073709551616", "1000000000000000000000"] {
            let e = from_slice(format!("{{\"n\":{n}}}").as_bytes()).unwrap_err().to_string();
            assert!(e.contains("cannot be stored exactly"), "{n}: {e}");
        }
        assert!(from_slice(br#"{"n":18446744073709552000,"s":"12345678901234567890123"}"#).is_ok());
        // Within 64 bits the rule is applied where events are validated; a string of digits
        // is no number.
        assert!(
            from_slice(br#"{"n":18446744073709551615,"f":1.2345678901234567890123e5}"#).is_ok()
        );
        assert!(stream(b"{\"n\":99999999999999999999999}").any(|r| r.is_err()));
    }

    #[test]
    fn arrays_stop_at_the_maximum_while_parsing() {
        assert_eq!(array_at_most(b"[1,2,3]", 3).unwrap().unwrap().len(), 3);
        assert_eq!(array_at_most(b"[1,2,3,4]", 3).unwrap(), Err(4));
        // The element past the maximum is never parsed: invalid JSON there does not matter.
        assert_eq!(array_at_most(b"[1,2,3,4,oops", 3).unwrap(), Err(4));
        assert!(array_at_most(b"[1,2", 3).is_err());
        assert!(array_at_most(br#"[{"a":1,"a":2}]"#, 3).is_err());
    }

    #[test]
    fn streams_of_values() {
        let all: Vec<_> = stream(b"{\"a\":1}\n{\"b\":2} {\"c\":3}\n").collect();
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.iter().all(Result::is_ok));
        let all: Vec<_> = stream(b"{\"a\":1}\n{\"a\":1,\"a\":2}\n").collect();
        assert!(all[1].is_err());
        assert_eq!(stream(b"  \n").count(), 0);
    }
}
