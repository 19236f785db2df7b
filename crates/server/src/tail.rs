//! `GET /v1/tail`: new records as server-sent events, resumable with `Last-Event-ID`.
//!
//! Each record is an SSE event `record` whose id is its seq. A client that reconnects with
//! `Last-Event-ID: N` (or `?after=N`) gets every record after N exactly once: the stream
//! subscribes to the recorder first, then replays from the store up to where the live feed
//! begins, and whenever the live feed skips (a slow client lagged, or records arrived before the
//! subscription), it fills the gap from the store. So there are no gaps and no duplicates.
//! New signed checkpoints arrive as `checkpoint` events (`{"size": N}`).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::{broadcast, mpsc};
use trail_store::{Query as StoreQuery, StoredRecord};

use crate::api::{ErrorBody, EventView, TailParams};
use crate::error::ApiError;
use crate::handler::query;
use crate::state::{Access, AppState, LogHandle, Read};

/// Records replayed from the store per read.
const REPLAY_CHUNK: u64 = 500;

/// Live records as server-sent events.
#[utoipa::path(
    get,
    path = "/v1/tail",
    tag = "events",
    params(TailParams, ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this seq")),
    responses(
        (status = 200, description = "text/event-stream of `record` events (id = seq, data = EventView) and `checkpoint` events", content_type = "text/event-stream", body = EventView),
        (status = 400, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn tail(
    State(state): State<AppState>,
    access: Access<Read>,
    headers: HeaderMap,
    params: Result<Query<TailParams>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let p = query(params)?;
    let last_id = match headers.get("last-event-id") {
        Some(v) => {
            Some(v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()).ok_or_else(|| {
                ApiError::bad_request("bad_last_event_id", "Last-Event-ID must be a seq number")
            })?)
        }
        None => None,
    };
    let filter = StoreQuery {
        kind: p.kind.clone(),
        status: p.status.clone(),
        agent: p.agent.clone(),
        session: p.session.clone(),
        ..StoreQuery::default()
    };
    let log = access.log;
    // Subscribe before reading the size, so nothing committed in between is missed. A node that
    // does not sequence the log has no live feed and polls the store instead.
    let live = log.recorder().ok().map(|r| (r.subscribe(), r.checkpoints()));
    let store = log.store.clone();
    let size = crate::handler::blocking(move || store.state().map(|s| s.size))
        .await?
        .map_err(crate::error::store_error)?;
    if let Some(after) = last_id.or(p.after)
        && after >= size
        && size > 0
    {
        // An id the log has not reached: resuming there would skip the records up to it.
        return Err(ApiError::bad_request(
            "bad_last_event_id",
            format!(
                "Last-Event-ID / after = {after} is beyond the log's newest seq ({})",
                size - 1
            ),
        ));
    }
    let next = match (last_id.or(p.after), p.n) {
        // Range-checked: u64::MAX + 1 must not wrap to a replay from seq 0.
        (Some(after), _) => {
            after.checked_add(1).filter(|&n| n <= i64::MAX as u64).ok_or_else(|| {
                ApiError::bad_request(
                    "bad_last_event_id",
                    format!("Last-Event-ID / after = {after} is beyond any seq a log can reach"),
                )
            })?
        }
        (None, Some(n)) => size.saturating_sub(n),
        (None, None) => size,
    };
    let (sender, mut rx) = mpsc::channel::<(SseEvent, usize)>(64);
    let queued = Arc::new(AtomicUsize::new(0));
    let tx = Outbox {
        tx: sender,
        queued: queued.clone(),
        limit: state.limits.max_tail_buffer_bytes,
        dropped: state.metrics.tail_dropped.clone(),
    };
    let shutdown = state.shutdown.clone();
    match live {
        Some((live, checkpoints)) => {
            tokio::spawn(pump(log, live, checkpoints, next, filter, tx, shutdown));
        }
        None => {
            tokio::spawn(poll(log, next, filter, tx, shutdown));
        }
    }
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| {
            o.map(|(ev, bytes)| {
                queued.fetch_sub(bytes, Ordering::Relaxed);
                Ok(ev)
            })
        })
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Feeds one client until it disconnects or the server shuts down.
async fn pump(
    log: Arc<LogHandle>,
    mut live: broadcast::Receiver<Arc<StoredRecord>>,
    mut checkpoints: tokio::sync::watch::Receiver<u64>,
    mut next: u64,
    filter: StoreQuery,
    tx: Outbox,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    checkpoints.mark_unchanged();
    // Replay everything already stored from `next` on.
    if replay(&log, &mut next, u64::MAX, &filter, &tx).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            r = live.recv() => match r {
                Ok(rec) => {
                    if rec.seq < next {
                        continue;
                    }
                    if rec.seq > next && replay(&log, &mut next, rec.seq, &filter, &tx).await.is_err() {
                        return;
                    }
                    if rec.seq == next {
                        next = rec.seq + 1;
                        if matches(&filter, &rec) && tx.send(record_event(&rec)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if replay(&log, &mut next, u64::MAX, &filter, &tx).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            c = checkpoints.changed() => {
                if c.is_err() {
                    return;
                }
                let size = *checkpoints.borrow_and_update();
                let ev = SseEvent::default().event("checkpoint").data(format!("{{\"size\":{size}}}"));
                if tx.send((ev, 16)).await.is_err() {
                    return;
                }
            }
            _ = shutdown.changed() => return,
            () = tx.closed() => return,
        }
    }
}

/// How often a node without the live feed (a follower) looks for new records.
const POLL: Duration = Duration::from_millis(250);

/// Feeds one client from the store alone, on a node that does not sequence the log.
async fn poll(
    log: Arc<LogHandle>,
    mut next: u64,
    filter: StoreQuery,
    tx: Outbox,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut signed = None;
    loop {
        if replay(&log, &mut next, u64::MAX, &filter, &tx).await.is_err() {
            return;
        }
        let store = log.store.clone();
        if let Ok(Ok(Some(cp))) =
            tokio::task::spawn_blocking(move || store.latest_checkpoint()).await
        {
            let size = cp.checkpoint.size;
            if signed.is_some_and(|s| s < size) {
                let ev =
                    SseEvent::default().event("checkpoint").data(format!("{{\"size\":{size}}}"));
                if tx.send((ev, 16)).await.is_err() {
                    return;
                }
            }
            signed = Some(size);
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => return,
            () = tx.closed() => return,
        }
    }
}

/// Sends stored records in `[next, until)`, advancing `next`.
async fn replay(
    log: &LogHandle,
    next: &mut u64,
    until: u64,
    filter: &StoreQuery,
    tx: &Outbox,
) -> Result<(), ()> {
    loop {
        if *next >= until {
            return Ok(());
        }
        let store = log.store.clone();
        let from = (*next).max(store.start().unwrap_or(0));
        let to = until.min(from.saturating_add(REPLAY_CHUNK));
        let chunk = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            store
                .scan(from, to, &mut |r| {
                    out.push(r);
                    Ok(true)
                })
                .map(|()| out)
        })
        .await;
        let chunk = match chunk {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, log = %log.name, "tail replay failed");
                return Err(());
            }
            Err(_) => return Err(()),
        };
        if chunk.is_empty() {
            // Nothing stored there yet: the live feed will bring it.
            *next = (*next).max(from);
            return Ok(());
        }
        for r in chunk {
            *next = r.seq + 1;
            if matches(filter, &r) && tx.send(record_event(&r)).await.is_err() {
                return Err(());
            }
        }
    }
}

fn matches(filter: &StoreQuery, r: &StoredRecord) -> bool {
    filter.matches(r, &[])
}

/// A record as an SSE event, with its size in bytes (what it holds while queued).
fn record_event(r: &StoredRecord) -> (SseEvent, usize) {
    let data = serde_json::to_string(&EventView::from_stored(r)).unwrap_or_else(|_| "{}".into());
    let bytes = data.len() + 32;
    (SseEvent::default().event("record").id(r.seq.to_string()).data(data), bytes)
}

/// What one subscriber has queued and not yet taken, bounded in bytes: a subscriber that stops
/// reading cannot hold the server's memory (nor, by blocking its feed, the live records every
/// other subscriber shares). When the next event would take it past `limit`, the subscriber is
/// dropped with a last `dropped` event saying where to resume; reconnecting with
/// `Last-Event-ID` (which SSE clients send by themselves) replays the rest from the store.
struct Outbox {
    tx: mpsc::Sender<(SseEvent, usize)>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl Outbox {
    async fn send(&self, (ev, bytes): (SseEvent, usize)) -> Result<(), ()> {
        let queued = self.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + bytes > self.limit {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            let last = SseEvent::default().event("dropped").data(format!(
                "{{\"reason\":\"this subscriber fell more than {} bytes behind; reconnect with \
                 Last-Event-ID set to the last id received to resume\"}}",
                self.limit
            ));
            let _ = self.tx.try_send((last, 0));
            return Err(());
        }
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        self.tx.send((ev, bytes)).await.map_err(|_| ())
    }

    async fn closed(&self) {
        self.tx.closed().await;
    }
}
