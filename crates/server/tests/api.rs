//! The HTTP API without a socket: ingest, search, sessions, stats, proofs, receipts, limits and
//! errors.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use std::io::Write;
use trail_core::Receipt;
use trail_server::Limits;

const TWO: &str = r#"[{"kind":"tool_call","agent":"bot","session":"s1","action":"Read","body":{"path":"/etc/hosts"}},
                    {"kind":"llm_call","agent":"bot","session":"s1","status":"error","usage":{"input_tokens":10,"output_tokens":5}}]"#;

#[tokio::test]
async fn ingest_answers_seq_id_and_hash_per_event_once_durable() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let r = post_json(&s, "/v1/events", None, TWO).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let evs = v["events"].as_array().unwrap();
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0]["seq"], 0);
    assert_eq!(evs[1]["seq"], 1);
    assert_eq!(evs[0]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(l.recorder.store().state().unwrap().size, 2);
}

#[tokio::test]
async fn one_object_and_ndjson_are_batches_too() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let r = post_json(&s, "/v1/events", None, r#"{"kind":"a","id":"x1"}"#).await;
    assert_eq!(r.json()["events"][0]["id"], "x1");
    let r = post(
        &s,
        "/v1/events",
        None,
        "application/x-ndjson",
        b"{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n".to_vec(),
    )
    .await;
    assert_eq!(r.json()["events"].as_array().unwrap().len(), 2);
    // Resending an id changes nothing and says so.
    let r = post_json(&s, "/v1/events", None, r#"{"kind":"a","id":"x1"}"#).await;
    assert_eq!(r.json()["events"][0]["created"], false);
    assert_eq!(r.json()["events"][0]["seq"], 0);
    assert_eq!(l.recorder.store().state().unwrap().size, 3);
}

#[tokio::test]
async fn a_bad_event_refuses_the_batch_and_every_bad_index_is_listed() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let body = r#"[{"kind":"ok"},{"kind":""},{"kind":"ok"},{"kind":"x","bogus":1},"nope"]"#;
    let r = post_json(&s, "/v1/events", None, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let v = r.json();
    assert_eq!(v["error"]["code"], "invalid_event");
    let idx: Vec<u64> = v["error"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, vec![1, 3, 4]);
    assert!(v["error"]["events"][1]["message"].as_str().unwrap().contains("bogus"));
    assert!(v["error"]["message"].as_str().unwrap().contains("3 of 5"));
    assert_eq!(l.recorder.store().state().unwrap().size, 0, "nothing appended");
}

#[tokio::test]
async fn limits_answer_413_and_400_with_json_errors() {
    let l = log("test/a");
    let limits =
        Limits { max_body_bytes: 2048, max_batch: 3, max_json_depth: 8, ..Limits::default() };
    let s = state(&[&l], trail_server::KeyFile::default(), limits);
    let big = format!(r#"{{"kind":"a","body":"{}"}}"#, "x".repeat(5000));
    let r = post_json(&s, "/v1/events", None, &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "body_too_large");
    let r = post_json(
        &s,
        "/v1/events",
        None,
        r#"[{"kind":"a"},{"kind":"a"},{"kind":"a"},{"kind":"a"}]"#,
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "too_many_events"));
    let deep = format!(r#"{{"kind":"a","body":{}1{}}}"#, "[".repeat(20), "]".repeat(20));
    let r = post_json(&s, "/v1/events", None, &deep).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "too_deep"));
    let r = post_json(&s, "/v1/events", None, "{not json").await;
    assert_eq!(r.code(), "invalid_json");
    let r = post_json(&s, "/v1/events", None, "").await;
    assert_eq!(r.code(), "empty_body");
    // A gzip bomb is measured after decompression.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(big.as_bytes()).unwrap();
    let req = Request::post("/v1/events")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(Body::from(gz.finish().unwrap()))
        .unwrap();
    assert_eq!(call(&s, req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(l.recorder.store().state().unwrap().size, 0);
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(TWO.as_bytes()).unwrap();
    let req = Request::post("/v1/events")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(Body::from(gz.finish().unwrap()))
        .unwrap();
    let r = call(&s, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn overload_answers_with_retry_after() {
    let l = log("test/a");
    let limits = Limits { max_in_flight: 1, ..Limits::default() };
    let s = state(&[&l], trail_server::KeyFile::default(), limits);
    let _held = s.in_flight.clone().try_acquire_owned().unwrap();
    let r = post_json(&s, "/v1/events", None, r#"{"kind":"a"}"#).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.code(), "too_many_requests");
}

/// A batch the recorder queue can never hold is refused for good (413), not answered 503 with
/// `Retry-After`, which a client would retry for ever.
#[tokio::test]
async fn a_batch_larger_than_the_queue_is_refused_and_appends_nothing() {
    let mut cfg = config();
    cfg.queue_capacity = 2;
    let l = log_with("test/a", cfg);
    let s = open_state(&[&l]);
    let r = post_json(&s, "/v1/events", None, r#"[{"kind":"a"},{"kind":"a"},{"kind":"a"}]"#).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.code(), "batch_over_queue");
    assert!(!r.headers.contains_key("retry-after"));
    assert_eq!(l.recorder.store().state().unwrap().size, 0);
}

#[tokio::test]
async fn wait_checkpoint_answers_with_receipts_that_verify_offline() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let r = post_json(&s, "/v1/events?wait=checkpoint", None, TWO).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    for (i, e) in v["events"].as_array().unwrap().iter().enumerate() {
        let receipt = Receipt::parse(e["receipt"].as_str().unwrap()).unwrap();
        let rec = receipt.verify(std::slice::from_ref(&l.verifier)).unwrap();
        assert_eq!(rec.seq, i as u64);
    }
    assert!(v["checkpoint"].as_str().unwrap().starts_with("test/a\n2\n"));
    let bad = post_json(&s, "/v1/events?wait=forever", None, TWO).await;
    assert_eq!(bad.code(), "bad_query");
}

#[tokio::test]
async fn events_are_searched_with_every_filter_and_a_keyset_cursor() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let mut batch = Vec::new();
    for i in 0..25 {
        batch.push(format!(
            r#"{{"kind":"{}","agent":"a{}","session":"s{}","trace_id":"t{}","body":{{"text":"word{i}"}}}}"#,
            if i % 2 == 0 { "tool_call" } else { "llm_call" },
            i % 3,
            i % 5,
            i % 2
        ));
    }
    let r = post_json(&s, "/v1/events", None, &format!("[{}]", batch.join(","))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = get(&s, "/v1/events?kind=tool_call&limit=5", None).await;
    let v = r.json();
    assert_eq!(v["total"], 13);
    assert_eq!(v["events"].as_array().unwrap().len(), 5);
    assert_eq!(v["events"][0]["seq"], 24, "newest first");
    let mut seen = 0;
    let mut cursor = v["next_cursor"].as_u64();
    seen += 5;
    while let Some(c) = cursor {
        let page =
            get(&s, &format!("/v1/events?kind=tool_call&limit=5&cursor={c}"), None).await.json();
        seen += page["events"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_u64();
        assert!(seen <= 13);
    }
    assert_eq!(seen, 13);
    let v = get(&s, "/v1/events?agent=a1&session=s1&order=asc", None).await.json();
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["record"]["agent"] == "a1" && e["record"]["session"] == "s1")
    );
    let v = get(&s, "/v1/events?search=word7", None).await.json();
    assert_eq!(v["total"], 1);
    assert_eq!(v["events"][0]["body"]["text"], "word7");
    let v = get(&s, "/v1/events?trace_id=t1", None).await.json();
    assert_eq!(v["total"], 12);
    let bad = get(&s, "/v1/events?from=yesterday", None).await;
    assert_eq!((bad.status, bad.code().as_str()), (StatusCode::BAD_REQUEST, "bad_query"));
    let bad = get(&s, "/v1/events?limit=lots", None).await;
    assert_eq!(bad.code(), "bad_query");
}

#[tokio::test]
async fn one_event_sessions_and_stats() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    post_json(&s, "/v1/events", None, r#"[{"kind":"a","id":"e1","session":"s1","agent":"bot"},{"kind":"b","session":"s1","status":"denied","usage":{"input_tokens":7,"cost_usd":0.5}}]"#).await;
    let r = get(&s, "/v1/events/e1", None).await;
    assert_eq!(r.json()["record"]["id"], "e1");
    let r = get(&s, "/v1/events/nope", None).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "no_such_event"));
    let v = get(&s, "/v1/sessions", None).await.json();
    assert_eq!(v["sessions"][0]["session"], "s1");
    assert_eq!(v["sessions"][0]["events"], 2);
    assert_eq!(v["sessions"][0]["denials"], 1);
    let v = get(&s, "/v1/stats", None).await.json();
    assert_eq!(v["events"], 2);
    assert_eq!(v["input_tokens"], 7);
    assert_eq!(v["by_kind"]["a"], 1);
    assert_eq!(v["size"], 2);
}

#[tokio::test]
async fn checkpoint_proofs_and_receipts() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let r = get(&s, "/v1/checkpoint", None).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "no_checkpoint"));
    let mut batch = Vec::new();
    for i in 0..7 {
        batch.push(format!(r#"{{"kind":"a","id":"e{i}"}}"#));
    }
    post_json(&s, "/v1/events?wait=checkpoint", None, &format!("[{}]", batch.join(","))).await;
    let r = get(&s, "/v1/checkpoint", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    let cp = trail_core::SignedCheckpoint::parse(&r.text()).unwrap();
    cp.verify(std::slice::from_ref(&l.verifier)).unwrap();
    assert_eq!(cp.checkpoint.size, 7);

    let v = get(&s, "/v1/proof/inclusion?seq=3", None).await.json();
    assert_eq!(v["size"], 7);
    let proof: Vec<trail_core::Hash> = v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| trail_core::Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    let leaf: trail_core::Hash = v["leaf_hash"].as_str().unwrap().parse().unwrap();
    trail_merkle::verify_inclusion(&leaf, 3, 7, &proof, &cp.checkpoint.root).unwrap();
    assert!(v["checkpoint"].is_string());
    let r = get(&s, "/v1/proof/inclusion?seq=9", None).await;
    assert_eq!(r.code(), "invalid_range");
    let r = get(&s, "/v1/proof/inclusion", None).await;
    assert_eq!(r.code(), "bad_query");

    let v = get(&s, "/v1/proof/consistency?from=3&to=7", None).await.json();
    let proof: Vec<trail_core::Hash> = v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| trail_core::Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect();
    let r1 = trail_core::Hash::from_base64(v["root_from"].as_str().unwrap()).unwrap();
    trail_merkle::verify_consistency(3, 7, &proof, &r1, &cp.checkpoint.root).unwrap();
    let r = get(&s, "/v1/proof/consistency?from=8&to=7", None).await;
    assert_eq!(r.code(), "invalid_range");

    let r = get(&s, "/v1/receipt/e5", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-disposition"].to_str().unwrap().contains("event-5.tlog-proof"));
    let rec = Receipt::parse(&r.text()).unwrap().verify(std::slice::from_ref(&l.verifier)).unwrap();
    assert_eq!(rec.id, "e5");
    assert_eq!(get(&s, "/v1/receipt/none", None).await.code(), "no_such_event");
}

#[tokio::test]
async fn ops_endpoints_and_unknown_routes() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    post_json(&s, "/v1/events", None, r#"{"kind":"a"}"#).await;
    assert_eq!(get(&s, "/healthz", None).await.json()["status"], "ok");
    let m = get(&s, "/metrics", None).await.text();
    assert!(m.contains("trail_recorder_accepted_total{log=\"test/a\"} 1"), "{m}");
    assert!(
        m.contains(
            "trail_http_requests_total{route=\"/v1/events\",method=\"POST\",status=\"200\"} 1"
        ),
        "{m}"
    );
    let api = get(&s, "/openapi.json", None).await.json();
    for p in [
        "/v1/events",
        "/v1/events/{id}",
        "/v1/sessions",
        "/v1/stats",
        "/v1/checkpoint",
        "/v1/proof/inclusion",
        "/v1/proof/consistency",
        "/v1/receipt/{id}",
        "/v1/tail",
        "/v1/traces",
        "/v1/logs",
        "/healthz",
        "/metrics",
    ] {
        assert!(api["paths"][p].is_object(), "openapi lacks {p}");
    }
    assert!(api["components"]["schemas"]["EventView"].is_object());
    assert!(get(&s, "/", None).await.text().contains("trail"));
    let r = get(&s, "/v2/nothing", None).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "no_such_route"));
    let info = get(&s, "/v1/info", None).await.json();
    assert_eq!(info["logs"][0]["name"], "test/a");
    assert!(info["logs"][0]["verifier_key"].as_str().unwrap().starts_with("test/a+"));
}

#[tokio::test]
async fn several_logs_are_chosen_by_the_log_parameter() {
    let a = log("test/a");
    let b = log("test/b");
    let s = open_state(&[&a, &b]);
    post_json(&s, "/v1/events?log=test/b", None, r#"{"kind":"only_b"}"#).await;
    post_json(&s, "/v1/events", None, r#"{"kind":"default_a"}"#).await;
    assert_eq!(
        get(&s, "/v1/events?log=test/b", None).await.json()["events"][0]["record"]["kind"],
        "only_b"
    );
    assert_eq!(
        get(&s, "/v1/events", None).await.json()["events"][0]["record"]["kind"],
        "default_a"
    );
    let r = get(&s, "/v1/events?log=test/zzz", None).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "unknown_log"));
}

#[tokio::test]
async fn a_blocking_scan_policy_refuses_the_whole_batch() {
    let mut cfg = config();
    cfg.policy.default_secret = trail_ingest::Mode::Block;
    let l = log_with("test/a", cfg);
    let s = open_state(&[&l]);
    let body = r#"[{"kind":"a","body":"fine"},{"kind":"a","body":{"k":"AKIAQWERTYUIOPASDFGH"}}]"#;
    let r = post_json(&s, "/v1/events", None, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.code(), "blocked_event");
    assert_eq!(r.json()["error"]["events"][0]["index"], 1);
    assert!(!r.text().contains("AKIAQWERTYUIOPASDFGH"), "the secret is not echoed");
    assert_eq!(l.recorder.store().state().unwrap().size, 0);
}
