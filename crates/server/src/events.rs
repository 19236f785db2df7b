//! `POST /v1/events` (ingest) and `GET /v1/events`, `GET /v1/events/{id}` (reading).
//!
//! A batch is one JSON object, a JSON array, or NDJSON (concatenated JSON values). Every event
//! is validated before any is queued: if one is invalid (or blocked by the scan policy), the
//! answer is 400 listing every bad index and nothing is appended. A valid batch is queued in
//! order, so its events get consecutive seqs unless other requests interleave; the answer comes
//! once every event is durable. If the store then fails, the events already committed stay
//! committed (the answer lists the ones that failed); retrying with event ids is idempotent.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use futures_util::future::{BoxFuture, FutureExt, join_all};
use serde_json::Value;
use trail_core::{Event, Timestamp};
use trail_ingest::RecordError;
use trail_store::Query as StoreQuery;

use crate::api::{
    Ack, BadEvent, ErrorBody, EventView, EventsPage, EventsParams, IngestParams, IngestResponse,
};
use crate::error::{ApiError, store_error};
use crate::handler::{blocking, query};
use crate::proofs::build_receipt;
use crate::state::{Access, AppState, Ingest, LogHandle, Read};

/// Append events.
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "events",
    params(IngestParams),
    request_body(
        content = Value,
        description = "One event object, a JSON array of events, or NDJSON",
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "Every event is durable", body = IngestResponse),
        (status = 400, description = "Invalid JSON, invalid events (all listed), too many, too deep", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 429, description = "Too many requests in flight; see Retry-After", body = ErrorBody),
        (status = 503, description = "Recorder queue full; see Retry-After", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn ingest(
    State(state): State<AppState>,
    access: Access<Ingest>,
    params: Result<Query<IngestParams>, QueryRejection>,
    body: Body,
) -> Result<Json<IngestResponse>, ApiError> {
    let params = query(params)?;
    let wait_checkpoint = match params.wait.as_deref() {
        None | Some("" | "durable") => false,
        Some("checkpoint") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_query",
                format!("wait={other:?}: use wait=checkpoint or leave it out"),
            ));
        }
    };
    let _permit = state.in_flight.clone().try_acquire_owned().map_err(|_| {
        state.metrics.overloaded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ApiError::overloaded(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("{} ingest requests are in flight; retry later", state.limits.max_in_flight),
        )
    })?;
    let (bytes, _budget) = read_body(body, state.limits.max_body_bytes, &state).await?;
    let log = access.log;
    log.recorder()?; // a follower that got this request during a takeover says who leads
    // Parsing, validating and (in `submit`) scanning a large body take milliseconds to seconds:
    // off the async workers, so /healthz and other requests keep being answered.
    let heavy = bytes.len() > HEAVY_BODY;
    let (max_batch, max_depth) = (state.limits.max_batch, state.limits.max_json_depth);
    let events = if heavy {
        let l = log.clone();
        blocking(move || validate(&l, parse_batch(&bytes, max_batch, max_depth)?)).await??
    } else {
        validate(&log, parse_batch(&bytes, max_batch, max_depth)?)?
    };
    let n = events.len();
    if n > log.queue_capacity {
        // It could never fit: a 503 would be retried for ever.
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_over_queue",
            format!(
                "{n} events are more than the recorder queue of log {:?} holds ({}, [audit] \
                 buffer_size); send them in smaller batches",
                log.name, log.queue_capacity
            ),
        ));
    }
    if log.queue_room() < n {
        state.metrics.overloaded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            format!(
                "the recorder queue of log {:?} has no room for {n} events; retry later",
                log.name
            ),
        ));
    }
    let results =
        if heavy { submit_blocking(&log, events).await? } else { submit(&log, events).await };
    let mut acks = Vec::with_capacity(n);
    let mut failed = Vec::new();
    let mut refused = 0;
    for (index, r) in results.into_iter().enumerate() {
        if matches!(r, Err(RecordError::Blocked(_) | RecordError::Invalid(_))) {
            refused += 1;
        }
        match r {
            Ok(a) => acks.push(Ack {
                seq: a.seq,
                id: a.id,
                hash: a.hash.to_string(),
                created: a.created,
                receipt: None,
            }),
            Err(e) => failed.push(BadEvent { index, message: e.to_string() }),
        }
    }
    state
        .metrics
        .events_ingested
        .fetch_add(acks.len() as u64, std::sync::atomic::Ordering::Relaxed);
    if !failed.is_empty() && refused == failed.len() {
        // Refused by the recorder's scan of the fields (a secret in an `id`): the client's to
        // fix, not to retry.
        let mut e = ApiError::bad_request(
            "refused_event",
            format!(
                "{} of {n} events were refused ({}); the others are durable",
                failed.len(),
                failed[0].message
            ),
        );
        e.events = failed;
        return Err(e);
    }
    if !failed.is_empty() {
        let mut e = ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_stored",
            format!(
                "{} of {n} events were not stored ({}); the others are durable, and resending with the same ids is safe",
                failed.len(),
                failed[0].message
            ),
        );
        e.events = failed;
        return Err(e);
    }
    let mut checkpoint = None;
    if wait_checkpoint && !acks.is_empty() {
        let need = acks.iter().map(|a| a.seq).max().unwrap_or(0) + 1;
        let cp = wait_for_checkpoint(&log, need).await?;
        let store = log.store.clone();
        let seqs: Vec<u64> = acks.iter().map(|a| a.seq).collect();
        let cp2 = cp.clone();
        let receipts = blocking(move || {
            seqs.iter().map(|&s| build_receipt(&*store, s, &cp2)).collect::<Result<Vec<_>, _>>()
        })
        .await??;
        for (a, r) in acks.iter_mut().zip(receipts) {
            a.receipt = Some(r.to_text());
        }
        checkpoint = Some(cp.to_string());
    }
    Ok(Json(IngestResponse { events: acks, checkpoint }))
}

/// Queues events in order and waits until each is durable. A full queue (other requests got
/// there first) makes this event wait for room instead of failing half a batch.
/// Request bodies larger than this are parsed, validated and scanned on blocking threads.
pub const HEAVY_BODY: usize = 64 << 10;

/// [`submit`] on a blocking thread: the recorder scans each event on the task that submits it,
/// and a large body's scan must not hold an async worker.
pub async fn submit_blocking(
    log: &Arc<LogHandle>,
    events: Vec<Event>,
) -> Result<Vec<Result<trail_ingest::Appended, RecordError>>, ApiError> {
    let log = log.clone();
    let rt = tokio::runtime::Handle::current();
    blocking(move || rt.block_on(submit(&log, events))).await
}

pub async fn submit(
    log: &LogHandle,
    events: Vec<Event>,
) -> Vec<Result<trail_ingest::Appended, RecordError>> {
    let mut pending: Vec<BoxFuture<'static, Result<trail_ingest::Appended, RecordError>>> =
        Vec::with_capacity(events.len());
    let Ok(recorder) = log.recorder() else {
        return events.iter().map(|_| Err(RecordError::Closed)).collect();
    };
    if events.len() == 1 {
        // `record` may append a lone event on this task (when the store does not sync appends),
        // without a hand-off to the sequencer's task and back.
        let mut events = events;
        let ev = events.remove(0);
        return vec![recorder.record(ev).await];
    }
    for ev in events {
        let spare = ev.clone();
        match recorder.try_record(ev) {
            Ok(fut) => pending.push(fut.boxed()),
            Err(RecordError::Full { .. }) => {
                let r = recorder.record(spare).await;
                pending.push(futures_util::future::ready(r).boxed());
            }
            Err(e) => pending.push(futures_util::future::ready(Err(e)).boxed()),
        }
    }
    join_all(pending).await
}

/// Waits until a signed checkpoint covers `need` records: for the recorder's own interval
/// first, then by asking it to flush.
pub async fn wait_for_checkpoint(
    log: &LogHandle,
    need: u64,
) -> Result<trail_core::SignedCheckpoint, ApiError> {
    let recorder = log.recorder()?;
    let mut rx = recorder.checkpoints();
    let wait = log.checkpoint_interval + std::time::Duration::from_millis(50);
    let covered =
        matches!(tokio::time::timeout(wait, rx.wait_for(|s| *s >= need)).await, Ok(Ok(_)));
    if !covered {
        recorder.flush().await.map_err(|e| {
            ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                "checkpoint_failed",
                e.to_string(),
            )
        })?;
    }
    let store = log.store.clone();
    let mut cp = blocking(move || store.latest_checkpoint()).await?.map_err(store_error)?;
    // With witnesses, wait (a while) for the quorum's cosignatures to join the checkpoint.
    if let Some(w) = &log.witnessing {
        let deadline = tokio::time::Instant::now() + w.wait;
        let mut changes = w.changes();
        while cp.as_ref().is_some_and(|c| c.checkpoint.size >= need && w.cosignatures(c) < w.quorum)
        {
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                tracing::warn!(log = %log.name, quorum = w.quorum, "answering wait=checkpoint without the witness quorum");
                break;
            }
            let store = log.store.clone();
            cp = blocking(move || store.latest_checkpoint()).await?.map_err(store_error)?;
        }
    }
    match cp {
        Some(cp) if cp.checkpoint.size >= need => Ok(cp),
        _ => Err(ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "checkpoint_failed",
            format!("no signed checkpoint covers {need} records yet"),
        )),
    }
}

/// Search events.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventsParams),
    responses(
        (status = 200, body = EventsPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    access: Access<Read>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Json<EventsPage>, ApiError> {
    let params = query(params)?;
    let q = store_query(&params)?;
    let store = access.log.store.clone();
    let page = blocking(move || store.query(&q)).await?.map_err(store_error)?;
    Ok(Json(EventsPage {
        events: page.records.iter().map(EventView::from_stored).collect(),
        next_cursor: page.next_cursor,
        total: page.total,
    }))
}

/// One event by id, with its body.
#[utoipa::path(
    get,
    path = "/v1/events/{id}",
    tag = "events",
    params(("id" = String, Path, description = "Event id"), crate::api::LogParam),
    responses(
        (status = 200, body = EventView),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    access: Access<Read>,
    Path(id): Path<String>,
) -> Result<Json<EventView>, ApiError> {
    let store = access.log.store.clone();
    let id2 = id.clone();
    let r = blocking(move || store.find_id(&id2)).await?.map_err(store_error)?;
    let r = r.ok_or_else(|| {
        ApiError::not_found(
            "no_such_event",
            format!("log {:?} has no event with id {id:?}", access.log.name),
        )
    })?;
    Ok(Json(EventView::from_stored(&r)))
}

/// Builds a store query from the HTTP filters.
pub fn store_query(p: &EventsParams) -> Result<StoreQuery, ApiError> {
    let time = |v: &Option<String>, name: &str| {
        v.as_deref()
            .map(|t| {
                t.parse::<Timestamp>()
                    .map_err(|e| ApiError::bad_request("bad_query", format!("{name}: {e}")))
            })
            .transpose()
    };
    let ascending = match p.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_query",
                format!("order={other:?}: use asc or desc"),
            ));
        }
    };
    if p.limit == Some(0) || p.limit.is_some_and(|l| l > 10_000) {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit={}: give 1 to 10000 (or leave it out)", p.limit.unwrap_or(0)),
        ));
    }
    Ok(StoreQuery {
        from: time(&p.from, "from")?,
        to: time(&p.to, "to")?,
        kind: p.kind.clone(),
        category: p.category.clone(),
        action: p.action.clone(),
        status: p.status.clone(),
        agent: p.agent.clone(),
        session: p.session.clone(),
        conversation: p.conversation.clone(),
        actor: p.actor.clone(),
        source: p.source.clone(),
        trace_id: p.trace_id.clone(),
        search: p.search.clone(),
        cursor: p.cursor,
        limit: p.limit.unwrap_or(0),
        ascending,
    })
}

/// Reads the (already decompressed) body up to `limit` bytes: 413 beyond it.
pub async fn read_body(
    body: Body,
    limit: usize,
    state: &AppState,
) -> Result<(Bytes, BodyBudget), ApiError> {
    use http_body_util::BodyExt as _;
    let limits = &state.limits;
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    let mut budget = BodyBudget(None);
    let start = tokio::time::Instant::now();
    loop {
        let next = body.frame();
        let frame = if limits.min_body_rate == 0 {
            next.await
        } else {
            // The next frame is due when the bytes so far stop meeting the minimum rate (and
            // not before the grace period ends).
            let owed =
                Duration::from_secs_f64((buf.len() + 1) as f64 / limits.min_body_rate as f64);
            match tokio::time::timeout_at(start + limits.body_grace.max(owed), next).await {
                Ok(frame) => frame,
                Err(_) => {
                    state.metrics.slow_bodies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let secs = start.elapsed().as_secs_f64();
                    return Err(ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "body_too_slow",
                        format!(
                            "the request body arrived at {:.0} bytes/s ({} bytes in {secs:.1} s), below the minimum of {} bytes/s; nothing was stored",
                            buf.len() as f64 / secs,
                            buf.len(),
                            limits.min_body_rate
                        ),
                    ));
                }
            }
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| body_error(&e, limit))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large(limit));
            }
            budget.grow(state, buf.len() + data.len())?;
            buf.extend_from_slice(&data);
        }
    }
    Ok((Bytes::from(buf), budget))
}

/// A request's share of `max_buffered_body_bytes`, the request bytes (after decompression) all
/// requests may hold at once, in KiB; returned when dropped. A request that would go beyond it
/// is answered 503 with `Retry-After` before its buffer grows.
pub struct BodyBudget(Option<tokio::sync::OwnedSemaphorePermit>);

impl BodyBudget {
    fn grow(&mut self, state: &AppState, bytes: usize) -> Result<(), ApiError> {
        let need = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        let held =
            self.0.as_ref().map_or(0, |p| u32::try_from(p.num_permits()).unwrap_or(u32::MAX));
        if need <= held {
            return Ok(());
        }
        let more = state.body_budget.clone().try_acquire_many_owned(need - held).map_err(|_| {
            state.metrics.overloaded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_busy",
                format!(
                    "the server holds its limit of request bodies ({} MiB, [server] \
                     max_buffered_body_bytes); retry later",
                    state.limits.max_buffered_body_bytes >> 20
                ),
            )
        })?;
        match &mut self.0 {
            Some(p) => p.merge(more),
            None => self.0 = Some(more),
        }
        Ok(())
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than {limit} bytes (after decompression)"),
    )
}

fn body_error(e: &axum::Error, limit: usize) -> ApiError {
    let too_big = std::error::Error::source(e)
        .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        || e.to_string().contains("length limit");
    if too_big {
        too_large(limit)
    } else {
        ApiError::bad_request("bad_body", format!("cannot read the request body: {e}"))
    }
}

/// Splits a body into JSON values: one object, an array, or NDJSON.
pub fn parse_batch(
    bytes: &[u8],
    max_batch: usize,
    max_depth: usize,
) -> Result<Vec<Value>, ApiError> {
    if let Some(depth) = too_deep(bytes, max_depth) {
        return Err(ApiError::bad_request(
            "too_deep",
            format!("JSON nesting reaches depth {depth}; at most {max_depth} levels are accepted"),
        ));
    }
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(ApiError::bad_request("empty_body", "the request body holds no event"));
    };
    // Parsed strictly (a repeated key is refused with its path) and counted while parsing, so
    // an array of a million events stops at the limit before it is built.
    let values: Vec<Value> = if bytes[start] == b'[' {
        match trail_core::strict::array_at_most(bytes, max_batch) {
            Ok(Ok(values)) => values,
            Ok(Err(_)) => {
                return Err(ApiError::bad_request(
                    "too_many_events",
                    format!("the request holds more than {max_batch} events; split it"),
                ));
            }
            Err(e) => {
                return Err(ApiError::bad_request(
                    "invalid_json",
                    format!("the JSON array is not valid JSON: {e}"),
                ));
            }
        }
    } else {
        let mut out = Vec::new();
        for (index, v) in trail_core::strict::stream(bytes).enumerate() {
            let v = v.map_err(|e| {
                ApiError::bad_request(
                    "invalid_json",
                    format!("event {index} is not valid JSON: {e}"),
                )
            })?;
            out.push(v);
            if out.len() > max_batch {
                break;
            }
        }
        out
    };
    if values.is_empty() {
        return Err(ApiError::bad_request("empty_body", "the request body holds no event"));
    }
    if values.len() > max_batch {
        return Err(ApiError::bad_request(
            "too_many_events",
            format!("the request holds more than {max_batch} events; split it"),
        ));
    }
    Ok(values)
}

/// Validates every event (and, where the policy blocks some type, scans it) before any is
/// queued; lists every bad one.
fn validate(log: &LogHandle, values: Vec<Value>) -> Result<Vec<Event>, ApiError> {
    let n = values.len();
    let mut events = Vec::with_capacity(n);
    let mut bad = Vec::new();
    let mut blocked = 0;
    for (index, v) in values.into_iter().enumerate() {
        match Event::from_value(v).and_then(Event::checked_from_client) {
            Ok(ev) => {
                if let (Some((policy, tag)), Some(body)) = (&log.blocking_policy, &ev.body) {
                    let mut copy = body.clone();
                    if let Err(b) = trail_scan::json::scan_value(
                        &log.scanner,
                        policy,
                        &mut copy,
                        tag.as_deref(),
                    ) {
                        blocked += 1;
                        bad.push(BadEvent {
                            index,
                            message: format!("refused by the scan policy: {b}"),
                        });
                        continue;
                    }
                }
                events.push(ev);
            }
            Err(e) => bad.push(BadEvent { index, message: e.to_string() }),
        }
    }
    if bad.is_empty() {
        return Ok(events);
    }
    let code = if blocked == bad.len() { "blocked_event" } else { "invalid_event" };
    let first = format!("event {}: {}", bad[0].index, bad[0].message);
    let mut e = ApiError::bad_request(
        code,
        format!("{} of {n} events are invalid, nothing was appended; {first}", bad.len()),
    );
    bad.truncate(1000);
    e.events = bad;
    Err(e)
}

/// The depth at which `bytes` first exceeds `max` nesting levels, if it does.
pub fn too_deep(bytes: &[u8], max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(depth);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(too_deep(br#"{"a":[[1]]}"#, 3), None);
        assert_eq!(too_deep(br#"{"a":[[[1]]]}"#, 3), Some(4));
        assert_eq!(too_deep(br#"{"a":"[[[[[\"[["}"#, 2), None);
    }

    #[test]
    fn batches_come_as_object_array_or_ndjson() {
        assert_eq!(parse_batch(br#"{"kind":"a"}"#, 10, 10).unwrap().len(), 1);
        assert_eq!(parse_batch(br#"[{"kind":"a"},{"kind":"b"}]"#, 10, 10).unwrap().len(), 2);
        assert_eq!(parse_batch(b"{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n", 10, 10).unwrap().len(), 2);
        assert_eq!(parse_batch(b"  \n", 10, 10).unwrap_err().code, "empty_body");
        assert_eq!(parse_batch(b"[{},{},{}]", 2, 10).unwrap_err().code, "too_many_events");
        assert_eq!(
            parse_batch(b"{\"kind\":\"a\"}\n{oops", 10, 10).unwrap_err().code,
            "invalid_json"
        );
    }
}
