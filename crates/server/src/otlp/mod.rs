//! The OTLP/HTTP receiver: `POST /v1/traces` and `POST /v1/logs`, as OpenTelemetry SDKs send
//! them, so `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:7700` is all an agent needs.
//!
//! Protobuf (`application/x-protobuf`) and JSON (`application/json`) on the same paths, chosen
//! by `Content-Type`; gzip bodies (decompressed before the size limit applies, 64 MiB by
//! default, 413 beyond it); the answer is an `Export*ServiceResponse` in the request's encoding,
//! with `partial_success` counting what was refused or dropped and saying why (clients must not
//! retry those). A full recorder queue answers 503 with `Retry-After`, which OTLP clients retry;
//! span ids make the retry idempotent. Failures carry a `google.rpc.Status` (protobuf) or, for
//! JSON, `{"code", "message"}` beside trail's usual `{"error"}`. No gRPC.

pub mod count;
pub mod map;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::atomic::Ordering;
use trail_core::Event;
use trail_ingest::RecordError;

use crate::api::ErrorBody;
use crate::error::ApiError;
use crate::events::{read_body, submit};
use crate::handler::blocking;
use crate::state::{Access, AppState, Ingest, LogHandle};

/// How the request was encoded; the answer uses the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// `google.rpc.Status`, the body of OTLP failures.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// Receive spans (OTLP/HTTP).
#[utoipa::path(
    post,
    path = "/v1/traces",
    tag = "otlp",
    params(crate::api::LogParam),
    request_body(content = Vec<u8>, description = "ExportTraceServiceRequest, protobuf or JSON, optionally gzip", content_type = "application/x-protobuf"),
    responses(
        (status = 200, description = "ExportTraceServiceResponse (partial_success lists refused or dropped spans)"),
        (status = 400, description = "Not a valid ExportTraceServiceRequest", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, description = "Queue full; retry after Retry-After", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn traces(
    State(state): State<AppState>,
    access: Access<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let enc = match encoding(&headers) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    let result = async {
        let outcome = receive(&state, &access.log, body, enc, Signal::Traces).await?;
        let partial = outcome.message().map(|m| ExportTracePartialSuccess {
            rejected_spans: i64::try_from(outcome.refused()).unwrap_or(i64::MAX),
            error_message: m,
        });
        Ok::<_, ApiError>(ExportTraceServiceResponse { partial_success: partial })
    }
    .await;
    respond(enc, result)
}

/// Receive log records (OTLP/HTTP): GenAI events and Claude Code's events.
#[utoipa::path(
    post,
    path = "/v1/logs",
    tag = "otlp",
    params(crate::api::LogParam),
    request_body(content = Vec<u8>, description = "ExportLogsServiceRequest, protobuf or JSON, optionally gzip", content_type = "application/x-protobuf"),
    responses(
        (status = 200, description = "ExportLogsServiceResponse (partial_success lists refused or dropped records)"),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn logs(
    State(state): State<AppState>,
    access: Access<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let enc = match encoding(&headers) {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    let result = async {
        let outcome = receive(&state, &access.log, body, enc, Signal::Logs).await?;
        let partial = outcome.message().map(|m| ExportLogsPartialSuccess {
            rejected_log_records: i64::try_from(outcome.refused()).unwrap_or(i64::MAX),
            error_message: m,
        });
        Ok::<_, ApiError>(ExportLogsServiceResponse { partial_success: partial })
    }
    .await;
    respond(enc, result)
}

/// Which OTLP signal a request carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signal {
    Traces,
    Logs,
}

/// One OTLP export, either signal: the slot before the body, then counting, decoding and
/// mapping off the async workers, then recording.
async fn receive(
    state: &AppState,
    log: &std::sync::Arc<LogHandle>,
    body: Body,
    enc: Encoding,
    signal: Signal,
) -> Result<Outcome, ApiError> {
    let (_slot, bytes, _budget) = take_slot_and_read(state, body).await?;
    let heavy = bytes.len() > crate::events::HEAVY_BODY;
    let (max, depth) = (state.limits.max_otlp_items, state.limits.max_json_depth);
    let budget = state.body_budget.clone();
    let max_fields = state.limits.max_otlp_fields;
    let logs = signal == Signal::Logs;
    let (mapped, _decoded) = blocking(move || {
        let counts = count::counts(&bytes, enc, logs, max_fields as u64);
        let what = if logs { "log records" } else { "spans" };
        let decoded = check_items(counts, max, max_fields, what, &budget)?;
        let mapped =
            if logs { decode_logs(&bytes, enc, depth) } else { decode_traces(&bytes, enc, depth) };
        mapped.map(|m| (m, decoded))
    })
    .await??;
    let received =
        if logs { &state.metrics.otlp_logs_received } else { &state.metrics.otlp_spans_received };
    received.fetch_add(mapped.len() as u64, Ordering::Relaxed);
    record(state, log, mapped, heavy).await
}

/// An ingest slot, taken before a byte of the body is read (as for `POST /v1/events`), then the
/// body within the byte budget. Decoding and mapping then run off the async workers, and only
/// after the items were counted: work per byte received stays bounded.
async fn take_slot_and_read(
    state: &AppState,
    body: Body,
) -> Result<
    (tokio::sync::OwnedSemaphorePermit, axum::body::Bytes, crate::events::BodyBudget),
    ApiError,
> {
    let slot = state.in_flight.clone().try_acquire_owned().map_err(|_| {
        state.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
        ApiError::overloaded(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("{} ingest requests are in flight; retry later", state.limits.max_in_flight),
        )
    })?;
    let (bytes, budget) = read_body(body, state.limits.max_otlp_body_bytes, state).await?;
    Ok((slot, bytes, budget))
}

/// Refuses a request of more items than `max_otlp_items` or more values than
/// `max_otlp_fields`, before any is decoded; then reserves what decoding it may take (an upper
/// bound of [`DECODED_BYTES_PER_FIELD`] a value) from the server's byte budget, held until the
/// request is done, so that many requests at once cannot decode more than
/// `max_buffered_body_bytes` together.
fn check_items(
    counts: Option<count::Counts>,
    max: usize,
    max_fields: usize,
    what: &str,
    budget: &std::sync::Arc<tokio::sync::Semaphore>,
) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ApiError> {
    let Some(c) = counts else { return Ok(None) };
    // Counting stops past `max_fields`: the item count is then a lower bound.
    let at_least = if c.fields > max_fields as u64 { "at least " } else { "" };
    if c.items > max as u64 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_items",
            format!(
                "the request holds {at_least}{} {what}, more than the {max} one request may \
                 carry ([server] max_otlp_items); send them in smaller batches; nothing was stored",
                c.items
            ),
        ));
    }
    if c.fields > max_fields as u64 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_items",
            format!(
                "the request holds more than {max_fields} values (resources, scopes, {what}, \
                 events, attributes) ([server] max_otlp_fields); send it in smaller batches; \
                 nothing was stored"
            ),
        ));
    }
    let kib =
        u32::try_from((c.fields * DECODED_BYTES_PER_FIELD).div_ceil(1024)).unwrap_or(u32::MAX);
    budget.clone().try_acquire_many_owned(kib.max(1)).map(Some).map_err(|_| {
        ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            "the server is decoding its limit of requests ([server] max_buffered_body_bytes); \
             retry later",
        )
    })
}

/// What decoding one protobuf or JSON value may take at most, in bytes (a prost message with
/// its vectors and strings, empty).
const DECODED_BYTES_PER_FIELD: u64 = 160;

fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {ct:?} is not OTLP/HTTP: use application/x-protobuf or application/json"
            ),
        )),
    }
}

/// Decodes an `ExportTraceServiceRequest` body (already decompressed and size-checked) and maps
/// every span. Pure and synchronous: the receiver calls it, and so does the `otlp` fuzz target,
/// since these are the bytes any client on the network can send.
pub fn decode_traces(
    bytes: &[u8],
    enc: Encoding,
    max_json_depth: usize,
) -> Result<Vec<map::Mapped>, ApiError> {
    let req: ExportTraceServiceRequest = decode(bytes, enc, max_json_depth)?;
    let mut mapped = Vec::new();
    for rs in &req.resource_spans {
        let resource = rs.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                mapped.push(map::span(resource, ss.scope.as_ref(), s));
            }
        }
    }
    Ok(mapped)
}

/// Decodes an `ExportLogsServiceRequest` body and maps every log record, as [`decode_traces`].
pub fn decode_logs(
    bytes: &[u8],
    enc: Encoding,
    max_json_depth: usize,
) -> Result<Vec<map::Mapped>, ApiError> {
    let req: ExportLogsServiceRequest = decode(bytes, enc, max_json_depth)?;
    let mut mapped = Vec::new();
    for rl in &req.resource_logs {
        let resource = rl.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        for sl in &rl.scope_logs {
            for l in &sl.log_records {
                mapped.push(map::log(resource, sl.scope.as_ref(), l));
            }
        }
    }
    Ok(mapped)
}

fn decode<T: Message + Default + DeserializeOwned>(
    bytes: &[u8],
    enc: Encoding,
    max_json_depth: usize,
) -> Result<T, ApiError> {
    match enc {
        Encoding::Protobuf => T::decode(bytes).map_err(|e| {
            ApiError::bad_request(
                "invalid_otlp",
                format!("the body is not a valid OTLP protobuf message: {e}"),
            )
        }),
        Encoding::Json => {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(T::default());
            }
            if let Some(d) = crate::events::too_deep(bytes, max_json_depth.max(32)) {
                return Err(ApiError::bad_request(
                    "too_deep",
                    format!("JSON nesting reaches depth {d}"),
                ));
            }
            serde_json::from_slice(bytes).map_err(|e| {
                ApiError::bad_request(
                    "invalid_otlp",
                    format!("the body is not valid OTLP/JSON: {e}"),
                )
            })
        }
    }
}

/// What happened to the items of one export.
#[derive(Debug, Default)]
struct Outcome {
    dropped: u64,
    rejected: Vec<String>,
}

impl Outcome {
    fn refused(&self) -> u64 {
        self.dropped + self.rejected.len() as u64
    }

    fn message(&self) -> Option<String> {
        if self.refused() == 0 {
            return None;
        }
        let mut parts = Vec::new();
        if self.dropped > 0 {
            parts.push(format!(
                "{} items follow no AI convention and were dropped (otlp_keep_other = false)",
                self.dropped
            ));
        }
        if let Some(first) = self.rejected.first() {
            parts.push(format!("{} items were refused; the first: {first}", self.rejected.len()));
        }
        Some(parts.join("; "))
    }
}

async fn record(
    state: &AppState,
    log: &std::sync::Arc<LogHandle>,
    mapped: Vec<map::Mapped>,
    heavy: bool,
) -> Result<Outcome, ApiError> {
    let mut outcome = Outcome::default();
    let mut events: Vec<Event> = Vec::with_capacity(mapped.len());
    for m in mapped {
        if !m.recognised && !state.limits.otlp_keep_other {
            outcome.dropped += 1;
            continue;
        }
        if let Err(e) = m.event.validate().and_then(|()| m.event.check_client_kind()) {
            outcome.rejected.push(e.to_string());
            continue;
        }
        if m.recognised {
            state.metrics.otlp_mapped.fetch_add(1, Ordering::Relaxed);
        } else {
            state.metrics.otlp_other_kept.fetch_add(1, Ordering::Relaxed);
        }
        events.push(m.event);
    }
    state.metrics.otlp_dropped.fetch_add(outcome.dropped, Ordering::Relaxed);
    if outcome.dropped > 0 {
        tracing::info!(dropped = outcome.dropped, log = %log.name, "otlp items dropped by otlp_keep_other = false");
    }
    if events.is_empty() {
        state.metrics.otlp_rejected.fetch_add(outcome.rejected.len() as u64, Ordering::Relaxed);
        return Ok(outcome);
    }
    log.recorder()?;
    if log.queue_room() < events.len() {
        state.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            format!("the recorder queue of log {:?} is full; retry later", log.name),
        ));
    }
    // Mapped spans carry their attributes as bodies: scanned off the async workers when many.
    let results = if heavy || events.len() > 16 {
        crate::events::submit_blocking(log, events).await?
    } else {
        submit(log, events).await
    };
    for r in results {
        match r {
            Ok(_) => {}
            Err(e @ RecordError::Blocked(_)) | Err(e @ RecordError::Invalid(_)) => {
                outcome.rejected.push(e.to_string());
            }
            Err(e) => {
                return Err(ApiError::overloaded(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_stored",
                    e.to_string(),
                ));
            }
        }
    }
    state.metrics.otlp_rejected.fetch_add(outcome.rejected.len() as u64, Ordering::Relaxed);
    Ok(outcome)
}

fn respond<T: Message + Serialize>(enc: Encoding, result: Result<T, ApiError>) -> Response {
    match (enc, result) {
        (Encoding::Protobuf, Ok(msg)) => {
            ([(header::CONTENT_TYPE, "application/x-protobuf")], msg.encode_to_vec())
                .into_response()
        }
        (Encoding::Json, Ok(msg)) => axum::Json(msg).into_response(),
        (Encoding::Protobuf, Err(e)) => {
            let status = RpcStatus { code: grpc_code(e.status), message: e.message.clone() };
            let mut resp = (
                e.status,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                status.encode_to_vec(),
            )
                .into_response();
            add_retry_after(&mut resp, &e);
            resp
        }
        (Encoding::Json, Err(e)) => {
            let mut v = serde_json::to_value(e.body()).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("code".into(), grpc_code(e.status).into());
                o.insert("message".into(), e.message.clone().into());
            }
            let mut resp = (e.status, axum::Json(v)).into_response();
            add_retry_after(&mut resp, &e);
            resp
        }
    }
}

fn add_retry_after(resp: &mut Response, e: &ApiError) {
    if let Some(s) = e.retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
}

/// The gRPC code matching an HTTP status, as `google.rpc.Status` wants.
fn grpc_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 | 413 | 415 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        429 => 8,
        503 => 14,
        _ => 13,
    }
}
