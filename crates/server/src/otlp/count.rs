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

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Items (spans or log records) in a protobuf request: the length-delimited entries of field 2
/// inside field 2 inside field 1. `None` when the bytes are not well-formed protobuf (the decoder
/// then reports why).
pub fn protobuf_items(bytes: &[u8]) -> Option<u64> {
    let mut total = 0u64;
    for resource in fields(bytes, 1)? {
        for scope in fields(resource, 2)? {
            total += fields(scope, 2)?.len() as u64;
        }
    }
    Some(total)
}

/// The payloads of the length-delimited occurrences of field `want` in a message, skipping
/// every other field by its wire type.
fn fields(mut bytes: &[u8], want: u64) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                varint(&mut bytes)?;
            }
            1 => bytes = bytes.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let payload = bytes.get(..len)?;
                bytes = &bytes[len..];
                if field == want {
                    out.push(payload);
                }
            }
            5 => bytes = bytes.get(4..)?,
            _ => return None, // groups (3, 4) are not used by OTLP; anything else is invalid
        }
    }
    Some(out)
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

/// Items in a request in either encoding.
pub fn protobuf_or_json(bytes: &[u8], enc: super::Encoding, logs: bool) -> Option<u64> {
    match enc {
        super::Encoding::Protobuf => protobuf_items(bytes),
        super::Encoding::Json => json_items(bytes, logs),
    }
}

/// Items in an OTLP/JSON request, counted while parsing with nothing kept per item. `None`
/// when the text is not JSON of that shape (the decoder then reports why).
pub fn json_items(bytes: &[u8], logs: bool) -> Option<u64> {
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
    let n = Level { names: &names, depth: 0 }.deserialize(&mut de).ok()?;
    Some(n)
}

struct Names {
    outer: [&'static str; 2],
    middle: [&'static str; 2],
    inner: [&'static str; 2],
}

/// One level of the request: an object whose member at this depth's names is an array of the
/// next level (or, at the deepest level, of items to count).
#[derive(Clone, Copy)]
struct Level<'a> {
    names: &'a Names,
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OTLP object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let names = match self.depth {
            0 => self.names.outer,
            1 => self.names.middle,
            _ => self.names.inner,
        };
        let mut total = 0u64;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if names.contains(&key.as_ref()) {
                total += map.next_value_seed(List { level: self })?;
            } else {
                map.next_value::<IgnoredAny>()?;
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
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut total = 0u64;
        if self.level.depth >= 2 {
            while seq.next_element::<IgnoredAny>()?.is_some() {
                total += 1;
            }
        } else {
            let next = Level { names: self.level.names, depth: self.level.depth + 1 };
            while let Some(n) = seq.next_element_seed(next)? {
                total += n;
            }
        }
        Ok(total)
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
            assert_eq!(protobuf_items(&req.encode_to_vec()), Some(want), "{shape:?}");
            let json = serde_json::to_vec(&req).unwrap_or_default();
            assert_eq!(json_items(&json, false), Some(want), "{shape:?}");
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
        assert_eq!(protobuf_items(&body), Some(1_000_000));
        let json = format!(
            "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{}]}}]}}]}}",
            vec!["{}"; 100_000].join(",")
        );
        assert_eq!(json_items(json.as_bytes(), false), Some(100_000));
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
        assert_eq!(protobuf_items(&[0x0a, 0x05, 0x01]), None);
        assert_eq!(protobuf_items(&[0x0b]), None);
        assert_eq!(json_items(b"[1,2]", false), None);
        assert_eq!(json_items(b"{\"resourceSpans\": 3}", false), None);
    }
}
