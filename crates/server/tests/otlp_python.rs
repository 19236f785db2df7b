//! Real spans from the Python OpenTelemetry SDK (`opentelemetry-sdk` and
//! `opentelemetry-exporter-otlp-proto-http` from PyPI) exported to a running server with
//! nothing but `OTEL_EXPORTER_OTLP_ENDPOINT`, and found in the log.
//!
//! The virtualenv is cached under the target directory (`tmp/py-otel`), so reruns are fast. If
//! it cannot be made, the test says so loudly and fails, unless `TRAIL_SKIP_PYTHON=1`.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const SCRIPT: &str = r#"
import os, time
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.trace import Status, StatusCode

provider = TracerProvider(resource=Resource.create({"service.name": "py-agent"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("py-genai-test")

with tracer.start_as_current_span("invoke_agent planner") as agent:
    agent.set_attribute("gen_ai.operation.name", "invoke_agent")
    agent.set_attribute("gen_ai.agent.name", "planner")
    agent.set_attribute("gen_ai.conversation.id", "conv-py-1")
    with tracer.start_as_current_span("chat gpt-test", kind=trace.SpanKind.CLIENT) as chat:
        chat.set_attribute("gen_ai.operation.name", "chat")
        chat.set_attribute("gen_ai.provider.name", "openai")
        chat.set_attribute("gen_ai.request.model", "gpt-test")
        chat.set_attribute("gen_ai.usage.input_tokens", 321)
        chat.set_attribute("gen_ai.usage.output_tokens", 12)
        chat.set_attribute("gen_ai.conversation.id", "conv-py-1")
    with tracer.start_as_current_span("execute_tool search") as tool:
        tool.set_attribute("gen_ai.operation.name", "execute_tool")
        tool.set_attribute("gen_ai.tool.name", "search")
        tool.set_attribute("gen_ai.tool.call.id", "call_py_1")
        tool.set_attribute("gen_ai.tool.call.arguments", '{"q": "trail"}')
        tool.set_attribute("gen_ai.conversation.id", "conv-py-1")
        tool.set_status(Status(StatusCode.ERROR, "tool failed"))
provider.shutdown()
print("exported")
"#;

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("py-otel")
}

/// Makes (once) a virtualenv with the OpenTelemetry SDK and the OTLP/HTTP exporter.
fn venv() -> Result<PathBuf, String> {
    let dir = venv_dir();
    let python = dir.join("bin/python");
    let ready = dir.join(".ready");
    if ready.exists() && python.exists() {
        return Ok(python);
    }
    let out = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() {
        return Err(format!("python3 -m venv failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(["opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http"])
        .output()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !out.status.success() {
        return Err(format!("pip install failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    std::fs::write(&ready, "ok").map_err(|e| e.to_string())?;
    Ok(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_from_the_python_sdk_land_in_the_log() {
    let python = match tokio::task::spawn_blocking(venv).await.unwrap() {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "\n!!! PYTHON OPENTELEMETRY SDK UNAVAILABLE: {e}\n!!! this test needs python3 with venv and pip reaching PyPI\n"
            );
            if std::env::var("TRAIL_SKIP_PYTHON").as_deref() == Ok("1") {
                eprintln!("!!! TRAIL_SKIP_PYTHON=1: skipping the Python OTLP test\n");
                return;
            }
            panic!(
                "the Python OpenTelemetry SDK could not be installed: {e} (set TRAIL_SKIP_PYTHON=1 to skip)"
            );
        }
    };
    let l = log("test/python");
    let (base, stop) = spawn_server(open_state(&[&l])).await;
    let script = venv_dir().join("export_genai.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &base)
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "10");
    // The exporter's own timeout (10 s per span) bounds the run.
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed: {stderr}");
    assert!(!stderr.contains("Failed to export"), "the exporter reported a failure: {stderr}");
    let text = reqwest::get(format!("{base}/v1/events?order=asc&session=conv-py-1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let evs = v["events"].as_array().unwrap();
    let kinds: Vec<&str> = evs.iter().map(|e| e["record"]["kind"].as_str().unwrap()).collect();
    // SimpleSpanProcessor exports each span as it ends: children first.
    assert_eq!(kinds, ["llm_call", "tool_call", "agent"], "{v}");
    let chat = &evs[0]["record"];
    assert_eq!(chat["usage"]["input_tokens"], 321);
    assert_eq!(chat["usage"]["model"], "gpt-test");
    assert_eq!(chat["agent"], "py-agent");
    assert_eq!(chat["source"], "otlp:py-genai-test");
    let tool = &evs[1];
    assert_eq!(tool["record"]["action"], "search");
    assert_eq!(tool["record"]["status"], "error");
    assert_eq!(tool["body"]["tool_call_id"], "call_py_1");
    assert_eq!(tool["body"]["arguments"]["q"], "trail");
    assert_eq!(evs[2]["record"]["agent"], "planner");
    let trace = chat["trace_id"].as_str().unwrap();
    assert!(evs.iter().all(|e| e["record"]["trace_id"] == trace), "one trace");
    let _ = stop.send(());
}
