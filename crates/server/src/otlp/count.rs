//! Counting the spans or log records of an OTLP request before decoding it, so a small body
//! cannot make the receiver build millions of messages (a gzip'd request of 2 KB holding a
//! million empty spans took 2.3 GB to decode and map). Both counts read the bytes once and
//! allocate nothing per item.
//!
//! `ExportTraceServiceRequest` and `ExportLogsServiceRequest` have the same shape: field 1 holds
//! the resource entries, each of which holds its scope entries in field 2, each of which holds
//! its items (spans, log records) in field 2. In JSON the same levels are `resourceSpans` /
//! `scopeSpans` / `spans` and `resourceLogs` / `scopeLogs` / `logRecords` (or their proto
//! field names, which the JSON mapping also accepts).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// What a request holds, counted before it is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Spans or log records.
    pub items: u64,
    /// Every value the decoder would build: each field of every message at every depth (for
    /// JSON, every value), so empty resources, scopes, span events or attribute arrays count as
    /// much as spans do.
    pub fields: u64,
}

/// Counts a protobuf request, stopping once `max_fields` is passed (the count is then over the
/// limit, which is all the caller needs). `None` when the bytes are not well-formed protobuf
/// (the decoder then reports why). Nothing is allocated.
pub fn protobuf_counts(bytes: &[u8], max_fields: u64) -> Option<Counts> {
    let mut c = Counts::default();
    walk(bytes, 0, Some(0), &mut c, max_fields)?;
    Some(c)
}

/// Deepest nesting walked; OTLP's deepest (AnyValue arrays in kvlists) stays far below, and
/// prost refuses beyond 100.
const MAX_DEPTH: u32 = 64;

/// Walks one message. `path` tracks the request's item path (field 1, then 2, then 2): `Some(n)`
/// while the message at this depth is on it. Every field counts; a length-delimited payload that
/// parses as a message is walked too (schema-free: a string that happens to parse counts a
/// little more, an upper bound is all that is needed).
fn walk(mut bytes: &[u8], depth: u32, path: Option<u8>, c: &mut Counts, max: u64) -> Option<()> {
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let (field, wire) = (key >> 3, key & 7);
        c.fields += 1;
        if c.fields > max {
            return Some(());
        }
        match wire {
            0 => {
                varint(&mut bytes)?;
            }
            1 => bytes = bytes.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let payload = bytes.get(..len)?;
                bytes = &bytes[len..];
                let next = match (path, field) {
                    (Some(0), 1) => Some(1),
                    (Some(1), 2) => Some(2),
                    (Some(2), 2) => {
                        c.items += 1;
                        None
                    }
                    _ => None,
                };
                if depth < MAX_DEPTH && looks_like_message(payload) {
                    walk(payload, depth + 1, next, c, max)?;
                } else if next.is_some() {
                    // On the item path a payload must be a message.
                    return None;
                }
            }
            5 => bytes = bytes.get(4..)?,
            _ => return None, // groups (3, 4) are not used by OTLP; anything else is invalid
        }
    }
    Some(())
}

/// Whether `bytes` parse as a sequence of well-formed fields (one shallow pass).
fn looks_like_message(mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let Some(key) = varint(&mut bytes) else { return false };
        let ok = match key & 7 {
            0 => varint(&mut bytes).is_some(),
            1 => bytes.get(8..).map(|b| bytes = b).is_some(),
            2 => match varint(&mut bytes).and_then(|l| usize::try_from(l).ok()) {
                Some(len) if len <= bytes.len() => {
                    bytes = &bytes[len..];
                    true
                }
                _ => false,
            },
            5 => bytes.get(4..).map(|b| bytes = b).is_some(),
            _ => false,
        };
        if !ok || key >> 3 == 0 {
            return false;
        }
    }
    true
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Counts a request in either encoding.
pub fn counts(bytes: &[u8], enc: super::Encoding, logs: bool, max_fields: u64) -> Option<Counts> {
    match enc {
        super::Encoding::Protobuf => protobuf_counts(bytes, max_fields),
        super::Encoding::Json => json_counts(bytes, logs),
    }
}

/// Counts an OTLP/JSON request while parsing it, with nothing kept per value. `None` when the
/// text is not JSON of that shape (the decoder then reports why).
pub fn json_counts(bytes: &[u8], logs: bool) -> Option<Counts> {
    let names = if logs {
        Names {
            outer: ["resourceLogs", "resource_logs"],
            middle: ["scopeLogs", "scope_logs"],
            inner: ["logRecords", "log_records"],
        }
    } else {
        Names {
            outer: ["resourceSpans", "resource_spans"],
            middle: ["scopeSpans", "scope_spans"],
            inner: ["spans", "spans"],
        }
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Level { names: &names, depth: 0 }.deserialize(&mut de).ok()
}

struct Names {
    outer: [&'static str; 2],
    middle: [&'static str; 2],
    inner: [&'static str; 2],
}

fn add(a: Counts, b: Counts) -> Counts {
    Counts { items: a.items + b.items, fields: a.fields + b.fields }
}

/// One level of the request: an object whose member at this depth's names is an array of the
/// next level (or, at the deepest level, of items to count).
#[derive(Clone, Copy)]
struct Level<'a> {
    names: &'a Names,
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = Counts;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Counts, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = Counts;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OTLP object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Counts, A::Error> {
        let names = match self.depth {
            0 => self.names.outer,
            1 => self.names.middle,
            _ => self.names.inner,
        };
        let mut total = Counts { items: 0, fields: 1 };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if names.contains(&key.as_ref()) {
                total = add(total, map.next_value_seed(List { level: self })?);
            } else {
                total.fields += map.next_value_seed(CountAll)?;
            }
        }
        Ok(total)
    }
}

/// An array at one level: counts its elements at the deepest level, sums the next level's
/// counts above it.
struct List<'a> {
    level: Level<'a>,
}

impl<'de> DeserializeSeed<'de> for List<'_> {
    type Value = Counts;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Counts, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = Counts;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Counts, E> {
        Ok(Counts::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counts, A::Error> {
        let mut total = Counts { items: 0, fields: 1 };
        if self.level.depth >= 2 {
            while let Some(n) = seq.next_element_seed(CountAll)? {
                total.items += 1;
                total.fields += n;
            }
        } else {
            let next = Level { names: self.level.names, depth: self.level.depth + 1 };
            while let Some(n) = seq.next_element_seed(next)? {
                total = add(total, n);
            }
        }
        Ok(total)
    }
}

/// Every value in a JSON value, itself included, counted without keeping any.
struct CountAll;

impl<'de> DeserializeSeed<'de> for CountAll {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CountAll {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<u64, E> {
        Ok(1)
    }
    fn visit_i64<E>(self, _: i64) -> Result<u64, E> {
        Ok(1)
    }
    fn visit_u64<E>(self, _: u64) -> Result<u64, E> {
        Ok(1)
    }
    fn visit_f64<E>(self, _: f64) -> Result<u64, E> {
        Ok(1)
    }
    fn visit_str<E>(self, _: &str) -> Result<u64, E> {
        Ok(1)
    }
    fn visit_unit<E>(self) -> Result<u64, E> {
        Ok(1)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut n = 1;
        while let Some(c) = seq.next_element_seed(CountAll)? {
            n += c;
        }
        Ok(n)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut n = 1;
        while map.next_key::<de::IgnoredAny>()?.is_some() {
            n += map.next_value_seed(CountAll)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;

    fn request(shape: &[&[usize]]) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: shape
                .iter()
                .map(|scopes| ResourceSpans {
                    scope_spans: scopes
                        .iter()
                        .map(|&n| ScopeSpans {
                            spans: (0..n)
                                .map(|i| Span { name: format!("s{i}"), ..Span::default() })
                                .collect(),
                            ..ScopeSpans::default()
                        })
                        .collect(),
                    ..ResourceSpans::default()
                })
                .collect(),
        }
    }

    #[test]
    fn counts_agree_with_the_decoder_in_both_encodings() {
        for shape in [&[][..], &[&[0][..]], &[&[3, 0, 2][..], &[5][..]], &[&[1][..]; 7]] {
            let req = request(shape);
            let want: u64 = shape.iter().flat_map(|s| s.iter()).map(|&n| n as u64).sum();
            let pb = protobuf_counts(&req.encode_to_vec(), u64::MAX).map(|c| c.items);
            assert_eq!(pb, Some(want), "{shape:?}");
            let json = serde_json::to_vec(&req).unwrap_or_default();
            assert_eq!(json_counts(&json, false).map(|c| c.items), Some(want), "{shape:?}");
        }
    }

    #[test]
    fn a_million_empty_spans_are_counted_without_decoding_them() {
        // One resource, one scope, 1,000,000 spans of zero bytes: `0x12 0x00` each.
        let mut scope = Vec::new();
        for _ in 0..1_000_000 {
            scope.extend_from_slice(&[0x12, 0x00]);
        }
        let mut resource = vec![0x12];
        push_len(&mut resource, scope.len());
        resource.extend_from_slice(&scope);
        let mut body = vec![0x0a];
        push_len(&mut body, resource.len());
        body.extend_from_slice(&resource);
        let c = protobuf_counts(&body, u64::MAX);
        assert_eq!(c.map(|c| c.items), Some(1_000_000));
        assert!(c.is_some_and(|c| c.fields >= 1_000_002), "{c:?}");
        let json = format!(
            "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{}]}}]}}]}}",
            vec!["{}"; 100_000].join(",")
        );
        assert_eq!(json_counts(json.as_bytes(), false).map(|c| c.items), Some(100_000));
    }

    fn push_len(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    #[test]
    fn malformed_bytes_are_left_to_the_decoder() {
        assert_eq!(protobuf_counts(&[0x0a, 0x05, 0x01], u64::MAX), None);
        assert_eq!(protobuf_counts(&[0x0b], u64::MAX), None);
        assert_eq!(json_counts(b"[1,2]", false), None);
        assert_eq!(json_counts(b"{\"resourceSpans\": 3}", false), None);
    }

    #[test]
    fn empty_containers_and_nested_values_count_as_fields() {
        // Ten million empty ResourceSpans: no span, but ten million fields to decode.
        let body: Vec<u8> = std::iter::repeat_n([0x0au8, 0x00], 10_000).flatten().collect();
        let c = protobuf_counts(&body, u64::MAX).unwrap();
        assert_eq!((c.items, c.fields), (0, 10_000));
        // The count stops once past the maximum.
        assert_eq!(protobuf_counts(&body, 100).map(|c| c.fields), Some(101));
        // A span whose events (field 11) are a thousand empty messages.
        let events: Vec<u8> = std::iter::repeat_n([0x5au8, 0x00], 1000).flatten().collect();
        let mut span = vec![0x12];
        push_len(&mut span, events.len());
        span.extend_from_slice(&events);
        let mut scope = vec![0x12];
        push_len(&mut scope, span.len());
        scope.extend_from_slice(&span);
        let mut req = vec![0x0a];
        push_len(&mut req, scope.len());
        req.extend_from_slice(&scope);
        let c = protobuf_counts(&req, u64::MAX).unwrap();
        assert_eq!(c.items, 1);
        assert!(c.fields > 1000, "{c:?}");
        let json = format!(
            "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{{\"events\":[{}]}}]}}]}}]}}",
            vec!["{}"; 1000].join(",")
        );
        let c = json_counts(json.as_bytes(), false).unwrap();
        assert_eq!(c.items, 1);
        assert!(c.fields > 1000, "{c:?}");
    }
}
