//! From OpenTelemetry spans and log records to trail events.
//!
//! One mapping layer reads four dialects, each tolerant of older attribute names:
//!
//! | source | recognised by | becomes |
//! |---|---|---|
//! | OTel GenAI | `gen_ai.operation.name` = chat, text_completion, generate_content, embeddings | `llm_call` |
//! | | = execute_tool | `tool_call` (action = `gen_ai.tool.name`) |
//! | | = invoke_agent, create_agent, invoke_workflow | `agent` |
//! | | = retrieval; plan; *_memory* | `retrieval`; `plan`; `memory` |
//! | | any other `gen_ai.*` operation | `gen_ai` (action = the operation) |
//! | OpenInference | `openinference.span.kind` = LLM, EMBEDDING / TOOL / AGENT / RETRIEVER, RERANKER / GUARDRAIL / EVALUATOR | `llm_call` / `tool_call` / `agent` / `retrieval` / `policy_evaluation` / `evaluation` |
//! | OpenLLMetry | `traceloop.span.kind` = workflow, agent / tool / llm; `llm.request.type` | `agent` / `tool_call` / `llm_call` |
//! | Claude Code | log event `claude_code.*` (`event.name`): api_request / api_error, api_retries_exhausted, internal_error / tool_decision / tool_result / user_prompt / … | `llm_call` / `error` / `permission_decision` (reject = `denied`) / `tool_result` / `user_prompt` / … |
//! | | spans `claude_code.llm_request` / `claude_code.tool` | `llm_call` / `tool_call` |
//! | GenAI events | `gen_ai.client.inference.operation.details` / `gen_ai.evaluation.result` / `gen_ai.client.operation.exception` / `gen_ai.*.message`, `gen_ai.choice` | `llm_call` / `evaluation` / `error` / `llm_message` |
//! | anything else | | `custom.otel` (or dropped by config, counted) |
//!
//! Record fields: `agent` = `gen_ai.agent.name` ∨ `gen_ai.agent.id` ∨ `agent.name` ∨ the
//! traceloop entity of an agent span ∨ `service.name`; `session` = `gen_ai.conversation.id` ∨
//! `session.id` ∨ `traceloop.association.properties.session_id`; `conversation` =
//! `gen_ai.conversation.id`; `actor` = `user.id` ∨ `enduser.id`; `source` = `otlp:<scope>`;
//! `trace_id`/`span_id` in hex; `usage` from `gen_ai.usage.*` (∨ `prompt_tokens`/`completion_tokens`,
//! `llm.token_count.*`, Claude Code's `input_tokens`/`output_tokens`/`cost_usd`), model =
//! response ∨ request model; `duration_ms` from the span's times. The body keeps the whole span
//! (name, kind, scope, resource, every attribute, events, status) under `otel`, plus what the
//! mapping recognised (`provider`, `operation`, `tool_call_id`, `agent_id`, arguments and result)
//! so nothing is lost when a mapping is wrong; the scanner then sees every prompt.
//!
//! Ids are deterministic (`otel:<trace>:<span>` for spans, a digest of the record for logs), so
//! a retried export, which OTLP clients do, appends nothing twice.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use trail_core::model::MAX_ID_LEN;
use trail_core::{Event, Fields, Timestamp, Usage};

/// The kind given to spans and log records no known convention describes.
pub const OTHER_KIND: &str = "custom.otel";

/// A mapped span or log record.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub event: Event,
    /// False when it became `custom.otel`.
    pub recognised: bool,
}

/// Attributes as JSON values, by key.
type Attrs = BTreeMap<String, Value>;

/// Maps one span.
pub fn span(resource: &[KeyValue], scope: Option<&InstrumentationScope>, s: &Span) -> Mapped {
    let sattrs = attrs(&s.attributes);
    let res = attrs_of(resource);
    let trace_id = hex_id(&s.trace_id);
    let span_id = hex_id(&s.span_id);
    let class = classify_span(&sattrs, &s.name);
    let mut status = match s.status.as_ref().map(|st| st.code) {
        Some(2) => "error",
        _ => "ok",
    }
    .to_owned();
    let (kind, category, action) = match &class {
        Some(c) => (c.kind.to_owned(), Some(c.category.to_owned()), c.action.clone()),
        None => (OTHER_KIND.to_owned(), Some("otel".to_owned()), Some(truncate_id(&s.name))),
    };
    if let Some(st) = &class.as_ref().and_then(|c| c.status.clone()) {
        status = st.clone();
    }
    let mut fields = common_fields(&sattrs, &res, scope, &kind);
    fields.kind = kind;
    fields.category = category;
    fields.action = action.filter(|a| !a.is_empty());
    fields.status = Some(status);
    fields.trace_id = trace_id.clone();
    fields.span_id = span_id.clone();
    if s.end_time_unix_nano > s.start_time_unix_nano && s.start_time_unix_nano > 0 {
        fields.duration_ms = Some((s.end_time_unix_nano - s.start_time_unix_nano) / 1_000_000);
    }
    fields.usage = usage(&sattrs);
    let mut otel = Map::new();
    otel.insert("signal".into(), json!("span"));
    otel.insert("name".into(), json!(s.name));
    otel.insert("span_kind".into(), json!(span_kind(s.kind)));
    if !s.parent_span_id.is_empty() {
        otel.insert("parent_span_id".into(), json!(hex::encode(&s.parent_span_id)));
    }
    scope_json(&mut otel, scope);
    otel.insert("resource".into(), Value::Object(res.clone().into_iter().collect()));
    otel.insert("attributes".into(), Value::Object(sattrs.clone().into_iter().collect()));
    if let Some(st) = &s.status {
        otel.insert("status".into(), json!({"code": st.code, "message": st.message}));
    }
    if !s.events.is_empty() {
        let evs: Vec<Value> = s
            .events
            .iter()
            .map(|e| {
                json!({"name": e.name, "time_unix_nano": e.time_unix_nano.to_string(),
                       "attributes": Value::Object(attrs(&e.attributes).into_iter().collect())})
            })
            .collect();
        otel.insert("events".into(), Value::Array(evs));
    }
    otel.insert("start_time_unix_nano".into(), json!(s.start_time_unix_nano.to_string()));
    otel.insert("end_time_unix_nano".into(), json!(s.end_time_unix_nano.to_string()));
    let mut body = highlights(&sattrs);
    body.insert("otel".into(), Value::Object(otel));
    let id = match (&trace_id, &span_id) {
        (Some(t), Some(sp)) => format!("otel:{t}:{sp}"),
        _ => format!("otel:{}", digest(&s.encode_to_vec(), resource)),
    };
    let event = Event {
        id: Some(id),
        time: time_of(s.start_time_unix_nano),
        fields,
        body: Some(Value::Object(body)),
    };
    Mapped { event, recognised: class.is_some() }
}

/// Maps one log record.
pub fn log(resource: &[KeyValue], scope: Option<&InstrumentationScope>, l: &LogRecord) -> Mapped {
    let attrs = attrs(&l.attributes);
    let res = attrs_of(resource);
    let body_value = l.body.as_ref().map(any_to_json);
    let event_name = event_name(l, &attrs, body_value.as_ref());
    let class = event_name.as_deref().and_then(|n| classify_log(n, &attrs));
    let (kind, category, action, status) = match &class {
        Some(c) => (
            c.kind.to_owned(),
            Some(c.category.to_owned()),
            c.action.clone(),
            c.status.clone().unwrap_or_else(|| "ok".into()),
        ),
        None => (
            OTHER_KIND.to_owned(),
            Some("otel".to_owned()),
            event_name.as_deref().map(truncate_id),
            if l.severity_number >= 17 { "error".into() } else { "ok".into() },
        ),
    };
    let mut fields = common_fields(&attrs, &res, scope, &kind);
    fields.kind = kind;
    fields.category = category;
    fields.action = action.filter(|a| !a.is_empty());
    fields.status = Some(status);
    fields.trace_id = hex_id(&l.trace_id);
    fields.span_id = hex_id(&l.span_id);
    fields.duration_ms = int(&attrs, &["duration_ms"]);
    fields.usage = usage(&attrs);
    let mut otel = Map::new();
    otel.insert("signal".into(), json!("log"));
    if let Some(n) = &event_name {
        otel.insert("event_name".into(), json!(n));
    }
    if let Some(b) = body_value {
        otel.insert("body".into(), b);
    }
    if !l.severity_text.is_empty() || l.severity_number != 0 {
        otel.insert(
            "severity".into(),
            json!({"number": l.severity_number, "text": l.severity_text}),
        );
    }
    scope_json(&mut otel, scope);
    otel.insert("resource".into(), Value::Object(res.clone().into_iter().collect()));
    otel.insert("attributes".into(), Value::Object(attrs.clone().into_iter().collect()));
    otel.insert("time_unix_nano".into(), json!(l.time_unix_nano.to_string()));
    let mut body = highlights(&attrs);
    if let Some(n) = &event_name
        && n.starts_with("claude_code.")
    {
        claude_highlights(&attrs, &mut body);
    }
    body.insert("otel".into(), Value::Object(otel));
    let t = if l.time_unix_nano > 0 { l.time_unix_nano } else { l.observed_time_unix_nano };
    let time = time_of(t).or_else(|| {
        attrs
            .get("event.timestamp")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Timestamp>().ok())
    });
    let event = Event {
        id: Some(format!("otel-log:{}", digest(&l.encode_to_vec(), resource))),
        time,
        fields,
        body: Some(Value::Object(body)),
    };
    Mapped { event, recognised: class.is_some() }
}

struct Class {
    kind: &'static str,
    category: &'static str,
    action: Option<String>,
    status: Option<String>,
}

fn class(kind: &'static str, category: &'static str, action: Option<String>) -> Option<Class> {
    Some(Class { kind, category, action: action.map(|a| truncate_id(&a)), status: None })
}

fn classify_span(a: &Attrs, name: &str) -> Option<Class> {
    let tool_name =
        || string(a, &["gen_ai.tool.name", "tool.name", "tool_name", "traceloop.entity.name"]);
    if let Some(op) = string(a, &["gen_ai.operation.name"]) {
        return classify_op(&op, a, tool_name);
    }
    if let Some(k) = string(a, &["openinference.span.kind"]) {
        return match k.to_ascii_uppercase().as_str() {
            "LLM" => class("llm_call", "llm", Some("chat".into())),
            "EMBEDDING" => class("llm_call", "llm", Some("embeddings".into())),
            "TOOL" => class("tool_call", "tool_call", tool_name()),
            "AGENT" => class("agent", "agent", Some("invoke_agent".into())),
            "RETRIEVER" | "RERANKER" => {
                class("retrieval", "retrieval", Some(k.to_ascii_lowercase()))
            }
            "GUARDRAIL" => class("policy_evaluation", "safety", Some("guardrail".into())),
            "EVALUATOR" => class("evaluation", "evaluation", Some("evaluator".into())),
            _ => None,
        };
    }
    if let Some(k) = string(a, &["traceloop.span.kind"]) {
        return match k.as_str() {
            "workflow" | "agent" => class("agent", "agent", Some(k)),
            "tool" => class("tool_call", "tool_call", tool_name()),
            "llm" => class("llm_call", "llm", Some("chat".into())),
            _ => None,
        };
    }
    if let Some(t) = string(a, &["llm.request.type"]) {
        let op = if t == "embedding" { "embeddings".to_owned() } else { t };
        return class("llm_call", "llm", Some(op));
    }
    match name {
        "claude_code.llm_request" => class("llm_call", "llm", Some("chat".into())),
        "claude_code.tool" => class("tool_call", "tool_call", tool_name()),
        "claude_code.tool.blocked_on_user" => {
            let mut c = class("permission_decision", "approval", tool_name())?;
            c.status = Some("pending".into());
            Some(c)
        }
        _ => {
            // Older instrumentations set a provider and token counts but no operation.
            let has_system = string(a, &["gen_ai.system", "gen_ai.provider.name"]).is_some();
            let has_model = string(a, &["gen_ai.request.model", "gen_ai.response.model"]).is_some();
            (has_system && has_model)
                .then(|| class("llm_call", "llm", Some("chat".into())))
                .flatten()
        }
    }
}

fn classify_op(op: &str, a: &Attrs, tool_name: impl Fn() -> Option<String>) -> Option<Class> {
    let _ = a;
    match op {
        "chat" | "text_completion" | "generate_content" | "embeddings" => {
            class("llm_call", "llm", Some(op.into()))
        }
        "execute_tool" => class("tool_call", "tool_call", tool_name().or(Some(op.into()))),
        "invoke_agent" | "create_agent" | "invoke_workflow" => {
            class("agent", "agent", Some(op.into()))
        }
        "retrieval" => class("retrieval", "retrieval", Some(op.into())),
        "plan" => class("plan", "agent", Some(op.into())),
        o if o.contains("memory") => class("memory", "memory", Some(op.into())),
        _ => class("gen_ai", "llm", Some(op.into())),
    }
}

fn event_name(l: &LogRecord, a: &Attrs, body: Option<&Value>) -> Option<String> {
    if !l.event_name.is_empty() {
        return Some(l.event_name.clone());
    }
    // Claude Code: body "claude_code.<name>", attribute event.name "<name>".
    if let Some(b) = body.and_then(Value::as_str)
        && b.starts_with("claude_code.")
    {
        return Some(b.to_owned());
    }
    string(a, &["event.name"])
}

fn classify_log(name: &str, a: &Attrs) -> Option<Class> {
    if let Some(cc) = name.strip_prefix("claude_code.") {
        let tool = || string(a, &["tool_name"]);
        let mut c = match cc {
            "api_request" => class("llm_call", "llm", Some(cc.into()))?,
            "api_error" | "api_retries_exhausted" => {
                let mut c = class("error", "llm", Some(cc.into()))?;
                c.status = Some("error".into());
                c
            }
            "internal_error" => {
                let mut c = class("error", "system", Some(cc.into()))?;
                c.status = Some("error".into());
                c
            }
            "api_refusal" => {
                let mut c = class("llm_call", "llm", Some(cc.into()))?;
                c.status = Some("refused".into());
                c
            }
            "assistant_response" => class("llm_response", "llm", Some(cc.into()))?,
            "user_prompt" => class("user_prompt", "session", Some(cc.into()))?,
            "tool_decision" => {
                let mut c = class("permission_decision", "approval", tool())?;
                let decision = string(a, &["decision"]).unwrap_or_default();
                c.status = Some(if decision == "reject" { "denied" } else { "ok" }.into());
                c
            }
            "tool_result" => {
                let mut c = class("tool_result", "tool_call", tool())?;
                let ok = string(a, &["success"]).is_none_or(|s| s == "true");
                c.status = Some(if ok { "ok" } else { "error" }.into());
                c
            }
            "permission_mode_changed" => class("config_change", "config", Some(cc.into()))?,
            "auth" => class("auth", "auth", string(a, &["action"]))?,
            h if h.starts_with("hook_") => class("hook", "safety", Some(cc.into()))?,
            "api_request_body" | "api_response_body" => {
                class("llm_payload", "llm", Some(cc.into()))?
            }
            _ => class("claude_code", "claude_code", Some(cc.into()))?,
        };
        if c.action.is_none() {
            c.action = Some(cc.to_owned());
        }
        return Some(c);
    }
    match name {
        "gen_ai.client.inference.operation.details" => {
            let op = string(a, &["gen_ai.operation.name"]).unwrap_or_else(|| "chat".into());
            class("llm_call", "llm", Some(op))
        }
        "gen_ai.evaluation.result" => {
            class("evaluation", "evaluation", string(a, &["gen_ai.evaluation.name"]))
        }
        "gen_ai.client.operation.exception" => {
            let mut c = class("error", "llm", Some("exception".into()))?;
            c.status = Some("error".into());
            Some(c)
        }
        "gen_ai.system.message"
        | "gen_ai.user.message"
        | "gen_ai.assistant.message"
        | "gen_ai.tool.message"
        | "gen_ai.choice" => class("llm_message", "llm", Some(name.into())),
        _ => None,
    }
}

/// Record fields every mapping shares.
fn common_fields(
    a: &Attrs,
    res: &Attrs,
    scope: Option<&InstrumentationScope>,
    kind: &str,
) -> Fields {
    let agent = string(a, &["gen_ai.agent.name", "gen_ai.agent.id", "agent.name", "agent_name"])
        .or_else(|| {
            let tl = string(a, &["traceloop.span.kind"]);
            matches!(tl.as_deref(), Some("agent" | "workflow"))
                .then(|| string(a, &["traceloop.entity.name", "traceloop.workflow.name"]))
                .flatten()
        })
        .or_else(|| string(a, &["traceloop.workflow.name"]))
        .or_else(|| string(res, &["service.name"]));
    let conversation = string(a, &["gen_ai.conversation.id"]);
    let session = conversation
        .clone()
        .or_else(|| string(a, &["session.id", "traceloop.association.properties.session_id"]))
        .or_else(|| string(res, &["session.id"]));
    let actor = string(a, &["user.id", "enduser.id", "traceloop.association.properties.user_id"])
        .or_else(|| string(res, &["user.id", "enduser.id"]));
    let source = scope
        .map(|s| s.name.as_str())
        .filter(|n| !n.is_empty())
        .map_or_else(|| "otlp".to_owned(), |n| truncate_id(&format!("otlp:{n}")));
    let _ = kind;
    Fields {
        agent: agent.map(|s| truncate_id(&s)),
        session: session.map(|s| truncate_id(&s)),
        conversation: conversation.map(|s| truncate_id(&s)),
        actor: actor.map(|s| truncate_id(&s)),
        source: Some(source),
        ..Fields::default()
    }
}

fn usage(a: &Attrs) -> Option<Usage> {
    let u = Usage {
        input_tokens: int(
            a,
            &[
                "gen_ai.usage.input_tokens",
                "gen_ai.usage.prompt_tokens",
                "llm.token_count.prompt",
                "llm.usage.prompt_tokens",
                "input_tokens",
            ],
        ),
        output_tokens: int(
            a,
            &[
                "gen_ai.usage.output_tokens",
                "gen_ai.usage.completion_tokens",
                "llm.token_count.completion",
                "llm.usage.completion_tokens",
                "output_tokens",
            ],
        ),
        cost_usd: float(a, &["gen_ai.usage.cost", "llm.cost.total", "cost_usd"]),
        model: string(
            a,
            &[
                "gen_ai.response.model",
                "gen_ai.request.model",
                "llm.model_name",
                "llm.response.model_name",
                "llm.request.model_name",
                "model",
            ],
        )
        .map(|m| truncate_id(&m)),
    };
    (u.input_tokens.is_some()
        || u.output_tokens.is_some()
        || u.cost_usd.is_some()
        || u.model.is_some())
    .then_some(u)
}

/// What the mapping recognised, next to the raw span, for people and filters.
fn highlights(a: &Attrs) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |name: &str, keys: &[&str], parse_json: bool| {
        for k in keys {
            if let Some(v) = a.get(*k) {
                let v = match v {
                    Value::String(s) if parse_json => {
                        serde_json::from_str(s).unwrap_or_else(|_| v.clone())
                    }
                    _ => v.clone(),
                };
                m.insert(name.to_owned(), v);
                return;
            }
        }
    };
    put(
        "operation",
        &[
            "gen_ai.operation.name",
            "openinference.span.kind",
            "traceloop.span.kind",
            "llm.request.type",
        ],
        false,
    );
    put(
        "provider",
        &["gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"],
        false,
    );
    put("request_model", &["gen_ai.request.model", "llm.request.model_name"], false);
    put(
        "response_model",
        &["gen_ai.response.model", "llm.model_name", "llm.response.model_name"],
        false,
    );
    put("tool_name", &["gen_ai.tool.name", "tool.name"], false);
    put("tool_call_id", &["gen_ai.tool.call.id", "tool_call.id", "tool_use_id"], false);
    put(
        "arguments",
        &["gen_ai.tool.call.arguments", "tool.parameters", "traceloop.entity.input"],
        true,
    );
    put("result", &["gen_ai.tool.call.result", "traceloop.entity.output"], true);
    put("agent_id", &["gen_ai.agent.id", "agent_id"], false);
    put("agent_name", &["gen_ai.agent.name", "agent.name"], false);
    put("finish_reasons", &["gen_ai.response.finish_reasons"], false);
    put("response_id", &["gen_ai.response.id", "request_id"], false);
    put("error_type", &["error.type"], false);
    m
}

fn claude_highlights(a: &Attrs, m: &mut Map<String, Value>) {
    for (name, key) in [
        ("decision", "decision"),
        ("decision_source", "source"),
        ("tool_source", "tool_source"),
        ("prompt_id", "prompt.id"),
        ("error", "error"),
        ("from_mode", "from_mode"),
        ("to_mode", "to_mode"),
    ] {
        if let Some(v) = a.get(key) {
            m.insert(name.to_owned(), v.clone());
        }
    }
}

fn scope_json(otel: &mut Map<String, Value>, scope: Option<&InstrumentationScope>) {
    if let Some(s) = scope {
        otel.insert("scope".into(), json!({"name": s.name, "version": s.version}));
    }
}

fn attrs(kvs: &[KeyValue]) -> Attrs {
    kvs.iter()
        .filter_map(|kv| kv.value.as_ref().map(|v| (kv.key.clone(), any_to_json(v))))
        .collect()
}

fn attrs_of(kvs: &[KeyValue]) -> Attrs {
    attrs(kvs)
}

/// An OTLP value as JSON. Integers beyond ±2^53 become strings (JCS cannot hash them as numbers),
/// and so do non-finite doubles and bytes (base64).
pub fn any_to_json(v: &AnyValue) -> Value {
    match &v.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => {
            if i.unsigned_abs() <= trail_core::jcs::MAX_SAFE_INTEGER {
                json!(i)
            } else {
                Value::String(i.to_string())
            }
        }
        Some(any_value::Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map_or_else(|| Value::String(d.to_string()), Value::Number),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(any_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, any_to_json)))
                .collect(),
        ),
        Some(any_value::Value::BytesValue(b)) => Value::String(B64.encode(b)),
        #[allow(
            unreachable_patterns,
            reason = "profiles' string table index is not used by traces or logs"
        )]
        Some(_) => Value::Null,
    }
}

fn string(a: &Attrs, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match a.get(*k) {
        Some(Value::String(s)) if !s.is_empty() && !s.chars().any(char::is_control) => {
            Some(s.clone())
        }
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

fn int(a: &Attrs, keys: &[&str]) -> Option<u64> {
    keys.iter()
        .find_map(|k| match a.get(*k) {
            Some(Value::Number(n)) => {
                n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            }
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            _ => None,
        })
        .filter(|n| *n <= trail_core::jcs::MAX_SAFE_INTEGER)
}

fn float(a: &Attrs, keys: &[&str]) -> Option<f64> {
    keys.iter()
        .find_map(|k| match a.get(*k) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        })
        .filter(|f| f.is_finite() && *f >= 0.0)
}

fn hex_id(b: &[u8]) -> Option<String> {
    (!b.is_empty() && b.iter().any(|x| *x != 0)).then(|| hex::encode(b))
}

fn time_of(nanos: u64) -> Option<Timestamp> {
    (nanos > 0).then(|| Timestamp::from_unix_nanos(i64::try_from(nanos).unwrap_or(i64::MAX)))
}

fn span_kind(k: i32) -> &'static str {
    match k {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

/// A stable digest of an encoded message and its resource, for ids of things without one.
fn digest(encoded: &[u8], resource: &[KeyValue]) -> String {
    let mut h = Sha256::new();
    for kv in resource {
        h.update(kv.encode_to_vec());
    }
    h.update([0xff]);
    h.update(encoded);
    hex::encode(&h.finalize()[..16])
}

/// Cuts a string to an identifier's length at a character boundary.
fn truncate_id(s: &str) -> String {
    if s.len() <= MAX_ID_LEN {
        return s.to_owned();
    }
    let mut end = MAX_ID_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
