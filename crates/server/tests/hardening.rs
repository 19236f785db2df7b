//! The second hardening round's findings, each as the probe that found it: a secret in a record
//! field, a million empty spans in a small body, repeated JSON keys, invented HTTP methods, a
//! repeated `?log=`, an `otel:` id posted by a client, a wrapping `Last-Event-ID`, a key scoped
//! to one log reading another's metrics and keys, and a live-tail subscriber that never reads.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::io::Write as _;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trail_server::{KeyFile, Limits, Scope};

const SECRET: &str = "AKIAZ7Q3VN4XK2LMB5TP";

fn stored(l: &TestLog) -> Vec<String> {
    let store = l.recorder.store();
    let size = store.state().unwrap().size;
    (0..size)
        .map(|s| String::from_utf8(store.get(s).unwrap().unwrap().canonical.clone()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_secret_in_any_record_field_never_reaches_the_store() {
    let l = log("test/fields");
    let s = open_state(&[&l]);
    let secret = format!("aws_secret_access_key={SECRET}");
    let event = json!({
        "kind": "tool_call", "action": format!("Bash {secret}"), "agent": format!("bot {SECRET}"),
        "session": SECRET, "actor": SECRET, "conversation": SECRET, "source": SECRET,
        "category": SECRET, "usage": {"model": format!("gpt {SECRET}")}
    });
    let r = post_json(&s, "/v1/events", None, &event.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    l.recorder.flush().await.unwrap();
    let all = stored(&l).join("\n");
    assert!(!all.contains(SECRET), "a field kept the secret: {all}");
    assert!(all.contains("[REDACTED:aws_access_key_id]"), "{all}");
    assert!(all.contains("\"action\":\"Bash "), "the field keeps the rest of its text: {all}");
    assert!(all.contains("\"path\":\"@usage.model\""), "findings name the field: {all}");

    // In an id the secret is refused, naming the field: ids are never rewritten.
    let r =
        post_json(&s, "/v1/events", None, &json!({"kind": "a", "id": SECRET}).to_string()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("field `id`"), "{}", r.text());

    // An OTLP span name and service.name land in `action` and `agent`: scanned too.
    let otlp = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": format!("svc {SECRET}")}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "name": format!("call {SECRET}"), "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000100000000"
        }]}]
    }]});
    let r = post_json(&s, "/v1/traces", None, &otlp.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    l.recorder.flush().await.unwrap();
    let all = stored(&l).join("\n");
    assert!(!all.contains(SECRET), "an OTLP name kept the secret: {all}");
}

/// Protobuf for one resource, one scope and `n` empty spans.
fn empty_spans(n: usize) -> Vec<u8> {
    let spans: Vec<u8> = std::iter::repeat_n([0x12u8, 0x00], n).flatten().collect();
    field(0x0a, &field(0x12, &spans))
}

/// One length-delimited protobuf field: its key byte, the payload's length, the payload.
fn field(key: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![key];
    out.extend(varint_len(payload.len()));
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn a_million_empty_spans_are_refused_before_they_are_decoded() {
    let l = log("test/spans");
    let s = open_state(&[&l]);
    let raw = empty_spans(1_000_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 10_000, "the probe's request is small: {} bytes", gz.len());
    let started = std::time::Instant::now();
    let req = Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(Body::from(gz))
        .unwrap();
    let r = call(&s, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.text().contains("spans, more than the 10000"), "{}", r.text());
    // Counting is one pass over 2 MB; decoding and mapping a million spans took seconds.
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(l.recorder.store().state().unwrap().size, 0, "nothing stored");
    // At the limit it is accepted (and each span is mapped).
    let ok = call(
        &s,
        Request::post("/v1/traces")
            .header("content-type", "application/x-protobuf")
            .body(Body::from(empty_spans(3)))
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
}

/// Empty resources (no span at all) and a span of a million empty events: counted as values
/// before anything is decoded, so neither is built nor stored.
#[tokio::test]
async fn empty_containers_and_span_events_count_against_the_request() {
    let l = log("test/containers");
    let s = open_state(&[&l]);
    let gz = |raw: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(raw).unwrap();
        gz.finish().unwrap()
    };
    let empty_resources: Vec<u8> =
        std::iter::repeat_n([0x0au8, 0x00], 2_000_000).flatten().collect();
    // One resource, one scope, one span (field 2) whose events (field 11) are a million empty
    // messages.
    let events: Vec<u8> = std::iter::repeat_n([0x5au8, 0x00], 1_000_000).flatten().collect();
    let req = field(0x0a, &field(0x12, &field(0x12, &events)));
    for (what, raw) in [("empty resources", empty_resources), ("span events", req)] {
        let started = std::time::Instant::now();
        let r = call(
            &s,
            Request::post("/v1/traces")
                .header("content-type", "application/x-protobuf")
                .header("content-encoding", "gzip")
                .body(Body::from(gz(&raw)))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{what}: {}", r.text());
        assert!(r.text().contains("max_otlp_fields"), "{what}: {}", r.text());
        assert!(started.elapsed() < Duration::from_secs(5), "{what}: {:?}", started.elapsed());
    }
    assert_eq!(l.recorder.store().state().unwrap().size, 0, "nothing stored");
}

fn varint_len(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

#[tokio::test]
async fn repeated_json_keys_are_refused_with_their_path() {
    let l = log("test/dup");
    let s = open_state(&[&l]);
    let r = post_json(&s, "/v1/events", None, r#"{"kind":"a","kind":"b"}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("duplicate key"), "{}", r.text());
    let r = post_json(&s, "/v1/events", None, r#"[{"kind":"a","body":{"x":{"y":1,"y":2}}}]"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("/body/x"), "{}", r.text());
    // An array past max_batch stops while parsing.
    let many = format!("[{}]", vec![r#"{"kind":"a"}"#; 10_001].join(","));
    let r = post_json(&s, "/v1/events", None, &many).await;
    assert_eq!(r.code(), "too_many_events", "{}", r.text());
}

#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics() {
    let l = log("test/metrics");
    let s = open_state(&[&l]);
    // The series /metrics holds, without their values.
    let series = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').map_or(l, |(k, _)| k).to_owned())
            .collect()
    };
    for i in 0..50 {
        let method = format!("X{i}{}", "A".repeat(200));
        let req = Request::builder()
            .method(method.as_str())
            .uri("/v1/events")
            .body(Body::empty())
            .unwrap();
        let _ = call(&s, req).await;
    }
    let _ = get(&s, "/metrics", None).await;
    let before = series(&get(&s, "/metrics", None).await.text());
    for i in 50..2050 {
        let method = format!("Y{i}{}", "B".repeat(200));
        let req = Request::builder()
            .method(method.as_str())
            .uri("/v1/events")
            .body(Body::empty())
            .unwrap();
        let _ = call(&s, req).await;
    }
    let text = get(&s, "/metrics", None).await.text();
    assert_eq!(series(&text), before, "2,000 invented methods added series to /metrics");
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(text.len() < 20_000, "{} bytes of metrics", text.len());
}

#[tokio::test]
async fn a_repeated_or_empty_log_parameter_is_refused_on_every_route() {
    let a = log("test/a");
    let b = log("test/b");
    let s = open_state(&[&a, &b]);
    for uri in
        ["/v1/events?log=test/b&log=test/a", "/v1/traces?log=test/b&log=test/a", "/v1/events?log="]
    {
        let body = if uri.starts_with("/v1/traces") { "{}" } else { r#"{"kind":"a"}"# };
        let r = post(&s, uri, None, "application/json", body.as_bytes().to_vec()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
        assert_eq!(r.code(), "bad_query", "{uri}: {}", r.text());
    }
    assert_eq!(a.recorder.store().state().unwrap().size, 0, "nothing went to the default log");
}

#[tokio::test]
async fn otel_ids_are_the_receivers_alone() {
    let l = log("test/otel");
    let s = open_state(&[&l]);
    for id in ["otel:5b8e:eee1", "otel-log:5ab251ab", "OTEL:x", "Otel-Log:x", " otel:x"] {
        let r =
            post_json(&s, "/v1/events", None, &json!({"kind": "a", "id": id}).to_string()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{id}: {}", r.text());
        assert!(r.text().contains("field `id`"), "{}", r.text());
    }
}

#[tokio::test]
async fn a_last_event_id_at_the_top_of_the_range_does_not_replay_from_zero() {
    let l = log("test/lei");
    let s = open_state(&[&l]);
    let req = Request::get("/v1/tail")
        .header("last-event-id", u64::MAX.to_string())
        .body(Body::empty())
        .unwrap();
    let r = call(&s, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = get(&s, &format!("/v1/tail?after={}", u64::MAX), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // An id the log has not reached would skip the records up to it.
    let r = post_json(&s, "/v1/events", None, r#"[{"kind":"a"},{"kind":"b"}]"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let req = Request::get("/v1/tail").header("last-event-id", "5").body(Body::empty()).unwrap();
    assert_eq!(call(&s, req).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_key_scoped_to_one_log_sees_only_its_metrics_and_keys() {
    let a = log("test/a");
    let b = log("test/b");
    let mut keys = KeyFile::default();
    let (admin_a, _) = add_key(&mut keys, &[Scope::Admin], &["test/a"]);
    let (_admin_b, _) = add_key(&mut keys, &[Scope::Admin], &["test/b"]);
    let (all, _) = add_key(&mut keys, &[Scope::Admin], &[]);
    let s = state(&[&a, &b], keys, Limits::default());
    let m = get(&s, "/metrics", Some(&admin_a)).await.text();
    assert!(m.contains("log=\"test/a\""), "{m}");
    assert!(!m.contains("test/b"), "a test/a key reads test/b's metrics: {m}");
    let k = get(&s, "/v1/keys", Some(&admin_a)).await.json();
    let listed: Vec<String> = k.as_array().unwrap().iter().map(|e| e["logs"].to_string()).collect();
    assert_eq!(listed, vec!["[\"test/a\"]".to_owned()], "{k}");
    assert_eq!(get(&s, "/v1/keys", Some(&all)).await.json().as_array().unwrap().len(), 3);
    assert!(get(&s, "/metrics", Some(&all)).await.text().contains("test/b"));
}

#[tokio::test]
async fn a_tail_subscriber_that_never_reads_is_dropped_and_told_where_to_resume() {
    let l = log("test/tail");
    let limits = Limits { max_tail_buffer_bytes: 256 << 10, ..Limits::default() };
    let s = state(&[&l], KeyFile::default(), limits);
    let (base, _stop) = spawn_server(s.clone()).await;
    let addr = base.trim_start_matches("http://").to_owned();
    // A subscriber that sends its request and then never reads.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(format!("GET /v1/tail HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // 40 events of 256 KiB: far more than the socket buffers and the subscriber's budget.
    let big = "x".repeat(256 << 10);
    for i in 0..40 {
        let e = json!({"kind": "tool_result", "id": format!("big-{i}"), "body": {"out": big}});
        let r = post_json(&s, "/v1/events", None, &e.to_string()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let mut dropped = 0;
    for _ in 0..100 {
        let m = get(&s, "/metrics", None).await.text();
        dropped = m
            .lines()
            .find(|l| l.starts_with("trail_tail_subscribers_dropped_total "))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if dropped > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dropped, 1, "the subscriber that never reads is dropped");
    // What it finally reads ends with where to resume, and the stream ends.
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), idle.read_to_end(&mut all)).await;
    assert!(read.is_ok(), "the dropped subscriber's stream ends");
    let text = String::from_utf8_lossy(&all);
    assert!(text.contains("event: dropped"), "{}", &text[text.len().saturating_sub(500)..]);
    assert!(text.contains("Last-Event-ID"), "tells how to resume");
}
