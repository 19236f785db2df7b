//! The OTLP/HTTP receiver against every captured fixture in testdata/otlp: real
//! protobuf from the Python SDK (pydantic-ai GenAI semconv, OpenAI Agents + OpenInference),
//! OTLP/JSON from the JSON exporter, and Claude Code's log events.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::io::Write;

use axum::http::StatusCode;
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde_json::Value;
use trail_server::Limits;

fn fixture(dir: &str, file: &str) -> Vec<u8> {
    let p = fixtures().join(dir).join(file);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// Every event of the log, oldest first.
async fn events(s: &trail_server::AppState) -> Vec<Value> {
    let v = get(s, "/v1/events?order=asc&limit=1000", None).await.json();
    v["events"].as_array().unwrap().clone()
}

fn by_kind<'a>(evs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["record"]["kind"] == kind).collect()
}

#[tokio::test]
async fn pydantic_ai_genai_spans_become_agent_llm_and_tool_events() {
    let l = log("test/otel");
    let s = open_state(&[&l]);
    for i in 1..=4 {
        let r = post(
            &s,
            "/v1/traces",
            None,
            "application/x-protobuf",
            fixture("pydantic_ai_2.68_genai_semconv", &format!("req{i}.bin")),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "req{i}: {}", r.text());
        assert_eq!(r.headers["content-type"], "application/x-protobuf");
        let resp = ExportTraceServiceResponse::decode(r.body.as_slice()).unwrap();
        assert!(resp.partial_success.is_none(), "req{i}: {resp:?}");
    }
    let evs = events(&s).await;
    assert_eq!(evs.len(), 4);
    let llm = by_kind(&evs, "llm_call");
    assert_eq!(llm.len(), 2);
    let mut inputs: Vec<u64> =
        llm.iter().map(|e| e["record"]["usage"]["input_tokens"].as_u64().unwrap()).collect();
    inputs.sort_unstable();
    assert_eq!(inputs, vec![53, 56]);
    assert_eq!(llm[0]["record"]["usage"]["model"], "test");
    assert_eq!(llm[0]["record"]["action"], "chat");
    assert_eq!(llm[0]["record"]["agent"], "weather_agent");
    assert_eq!(llm[0]["body"]["provider"], "test");
    let tool = by_kind(&evs, "tool_call");
    assert_eq!(tool.len(), 1);
    let t = tool[0];
    assert_eq!(t["record"]["action"], "get_weather");
    assert_eq!(t["body"]["tool_call_id"], "pyd_ai_tool_call_id__get_weather");
    assert_eq!(t["body"]["arguments"]["city"], "a", "JSON-string arguments are parsed");
    assert_eq!(t["record"]["trace_id"].as_str().unwrap().len(), 32);
    assert_eq!(t["record"]["span_id"].as_str().unwrap().len(), 16);
    assert_eq!(t["record"]["source"], "otlp:pydantic-ai");
    let agent = by_kind(&evs, "agent");
    assert_eq!(agent[0]["record"]["action"], "invoke_agent");
    // Session and conversation come from gen_ai.conversation.id, on every span.
    let conv = "01a205a6-cbf6-77f8-ab37-e42bed6499ad";
    assert!(
        evs.iter().all(|e| e["record"]["session"] == conv && e["record"]["conversation"] == conv)
    );
    assert!(
        evs.iter().all(|e| e["body"]["otel"]["attributes"].is_object()),
        "the raw span is kept"
    );
    // OTLP clients retry: the same spans again append nothing.
    for i in 1..=4 {
        post(
            &s,
            "/v1/traces",
            None,
            "application/x-protobuf",
            fixture("pydantic_ai_2.68_genai_semconv", &format!("req{i}.bin")),
        )
        .await;
    }
    assert_eq!(l.recorder.store().state().unwrap().size, 4);
}

#[tokio::test]
async fn openinference_spans_map_by_span_kind_and_chains_stay_custom() {
    let l = log("test/otel");
    let s = open_state(&[&l]);
    for i in 1..=8 {
        let r = post(
            &s,
            "/v1/traces",
            None,
            "application/x-protobuf",
            fixture("openai_agents_0.24_openinference_2.6", &format!("req{i}.bin")),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "req{i}: {}", r.text());
    }
    let evs = events(&s).await;
    assert_eq!(evs.len(), 8);
    let llm = by_kind(&evs, "llm_call");
    assert_eq!(llm.len(), 2);
    assert_eq!(llm[0]["record"]["usage"]["input_tokens"], 42);
    assert_eq!(llm[0]["record"]["usage"]["output_tokens"], 7);
    assert_eq!(llm[0]["record"]["usage"]["model"], "fake-model");
    assert_eq!(llm[0]["body"]["provider"], "openai");
    let tool = by_kind(&evs, "tool_call");
    assert_eq!(tool.len(), 1);
    assert_eq!(tool[0]["record"]["action"], "get_weather");
    let agents = by_kind(&evs, "agent");
    assert_eq!(agents.len(), 2);
    assert!(agents.iter().any(|a| a["record"]["agent"] == "weather_agent"));
    assert_eq!(by_kind(&evs, "custom.otel").len(), 3, "CHAIN spans");
    assert!(
        evs.iter()
            .all(|e| e["record"]["source"] == "otlp:openinference.instrumentation.openai_agents")
    );
}

#[tokio::test]
async fn otlp_json_from_the_json_exporter() {
    let l = log("test/otel");
    let s = open_state(&[&l]);
    let r = post(
        &s,
        "/v1/traces",
        None,
        "application/json",
        fixture("python_json_exporter_0.66b1", "req1.json.body"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.json().get("partialSuccess").is_none_or(Value::is_null), "{}", r.text());
    let evs = events(&s).await;
    assert_eq!(evs.len(), 1);
    let e = &evs[0]["record"];
    assert_eq!(e["kind"], "tool_call");
    assert_eq!(e["action"], "get_weather");
    assert_eq!(e["trace_id"], "e170d298162a99428b707e5425930824");
    assert_eq!(e["span_id"], "b745c2c77c460b1d");
    assert_eq!(e["usage"]["input_tokens"], 12);
    assert_eq!(e["agent"], "json-demo", "service.name when no agent attribute");
    assert_eq!(evs[0]["body"]["tool_call_id"], "call_1");
    // startTimeUnixNano 1795391154499403722, as `date -u -d @1795391154` shows.
    assert_eq!(e["time"], "2026-11-22T23:45:54.499403722Z");
}

#[tokio::test]
async fn claude_code_log_events_become_decisions_calls_results_and_errors() {
    let l = log("test/otel");
    let s = open_state(&[&l]);
    let r = post(
        &s,
        "/v1/logs",
        None,
        "application/json",
        fixture("claude_code_constructed", "logs.json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let evs = events(&s).await;
    let kinds: Vec<&str> = evs.iter().map(|e| e["record"]["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "user_prompt",
            "llm_call",
            "permission_decision",
            "tool_result",
            "permission_decision",
            "error"
        ]
    );
    let call = &evs[1]["record"];
    assert_eq!(call["usage"]["input_tokens"], 1200);
    assert_eq!(call["usage"]["output_tokens"], 85);
    assert_eq!(call["usage"]["cost_usd"], 0.0123);
    assert_eq!(call["usage"]["model"], "claude-sonnet-5");
    assert_eq!(call["duration_ms"], 1830);
    assert_eq!(evs[2]["record"]["status"], "ok");
    assert_eq!(evs[2]["record"]["action"], "Bash");
    assert_eq!(evs[2]["body"]["decision_source"], "user_temporary");
    assert_eq!(evs[4]["record"]["status"], "denied");
    assert_eq!(evs[4]["record"]["action"], "Write");
    assert_eq!(evs[3]["record"]["status"], "ok");
    assert_eq!(evs[3]["body"]["tool_call_id"], "toolu_01EXAMPLE");
    assert_eq!(evs[5]["record"]["status"], "error");
    assert!(evs.iter().all(|e| e["record"]["session"] == "5f0c9a4e-2b1d-4c7e-9a55-0d3b7f1e2a10"));
    assert!(evs.iter().all(|e| e["record"]["actor"] == "inst-3c1e"));
    assert!(evs.iter().all(|e| e["record"]["agent"] == "claude-code"));
    // The session view counts the denial and the error.
    let sess = get(&s, "/v1/sessions", None).await.json();
    assert_eq!(sess["sessions"][0]["denials"], 1);
    assert_eq!(sess["sessions"][0]["errors"], 1);
    // Resending is idempotent for log records too.
    post(&s, "/v1/logs", None, "application/json", fixture("claude_code_constructed", "logs.json"))
        .await;
    assert_eq!(l.recorder.store().state().unwrap().size, 6);
}

#[tokio::test]
async fn gzip_protobuf_is_accepted() {
    let l = log("test/otel");
    let s = open_state(&[&l]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&fixture("pydantic_ai_2.68_genai_semconv", "req1.bin")).unwrap();
    let req = axum::http::Request::post("/v1/traces")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(axum::body::Body::from(gz.finish().unwrap()))
        .unwrap();
    assert_eq!(call(&s, req).await.status, StatusCode::OK);
    assert_eq!(l.recorder.store().state().unwrap().size, 1);
}

#[tokio::test]
async fn other_spans_are_dropped_by_config_and_reported_as_partial_success() {
    let l = log("test/otel");
    let limits = Limits { otlp_keep_other: false, ..Limits::default() };
    let s = state(&[&l], trail_server::KeyFile::default(), limits);
    let mut rejected = 0;
    for i in 1..=8 {
        let r = post(
            &s,
            "/v1/traces",
            None,
            "application/x-protobuf",
            fixture("openai_agents_0.24_openinference_2.6", &format!("req{i}.bin")),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        if let Some(p) =
            ExportTraceServiceResponse::decode(r.body.as_slice()).unwrap().partial_success
        {
            assert!(p.error_message.contains("dropped"), "{}", p.error_message);
            rejected += p.rejected_spans;
        }
    }
    assert_eq!(rejected, 3);
    assert_eq!(l.recorder.store().state().unwrap().size, 5);
    let m = get(&s, "/metrics", None).await.text();
    assert!(m.contains("trail_otlp_dropped_total 3"), "{m}");
    assert!(m.contains("trail_otlp_mapped_total 5"), "{m}");
}

#[tokio::test]
async fn bad_requests_get_status_bodies_in_the_request_encoding() {
    let l = log("test/otel");
    let s = open_state(&[&l]);
    let r = post(&s, "/v1/traces", None, "text/plain", b"hi".to_vec()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let r = post(&s, "/v1/traces", None, "application/x-protobuf", vec![0xff, 0xff, 0xff]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let st = trail_server::otlp::RpcStatus::decode(r.body.as_slice()).unwrap();
    assert!(st.message.contains("not a valid OTLP protobuf"), "{}", st.message);
    let r = post(&s, "/v1/logs", None, "application/json", b"{\"resourceLogs\": 5}".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["code"], 3);
    assert_eq!(r.code(), "invalid_otlp");
    // An empty request is a success.
    let r = post(&s, "/v1/traces", None, "application/json", b"{}".to_vec()).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = post(&s, "/v1/traces", None, "application/x-protobuf", Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(l.recorder.store().state().unwrap().size, 0);
}
