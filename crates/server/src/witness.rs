//! `trail witness serve`: a C2SP `tlog-witness` over HTTP.
//!
//! - `POST /add-checkpoint`: the spec's call; the witness's answer and status as
//!   [`trail_witness::Refusal`] gives them (429 past the log's rate, counted after its signature
//!   verified). A request, body included, must arrive within 10 s (408 otherwise), so stalled
//!   bodies cannot hold the connections.
//! - `GET /<sha256(origin) hex>/checkpoint`: the latest checkpoint cosigned for that log, with
//!   the log's signature and this witness's cosignature (the spec's monitoring prefix is the root).
//! - `GET /healthz`.
//!
//! Each request's checks and the state's syncs run on a blocking thread; one request per log at a
//! time gets past the witness's lock.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use trail_witness::{AddCheckpoint, Refusal, Witness};

/// The largest request accepted: a checkpoint with a hundred ML-DSA signatures and 63 proof lines.
const MAX_REQUEST_BYTES: usize = 512 << 10;

/// How long a request may take to arrive, body included.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
struct WitnessState {
    witness: Arc<Witness>,
}

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/{origin_hash}/checkpoint", get(latest))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(WitnessState { witness })
}

async fn add_checkpoint(State(s): State<WitnessState>, body: Bytes) -> Response {
    let req = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(r) => return refusal(&r),
    };
    let witness = s.witness.clone();
    match tokio::task::spawn_blocking(move || witness.add_checkpoint(&req)).await {
        Ok(Ok(lines)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], lines).into_response()
        }
        Ok(Err(r)) => {
            if r.status() == 422 {
                tracing::warn!(reason = %r, "refused an inconsistent checkpoint");
            } else if r.status() == 503 {
                tracing::error!(reason = %r, "cannot use the witness's state");
            }
            refusal(&r)
        }
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint failed");
            refusal(&Refusal::Storage(e.to_string()))
        }
    }
}

async fn latest(State(s): State<WitnessState>, Path(origin_hash): Path<String>) -> Response {
    let witness = s.witness.clone();
    match tokio::task::spawn_blocking(move || witness.latest(&origin_hash)).await {
        Ok(Ok(Some(cp))) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], cp.to_string()).into_response()
        }
        Ok(Ok(None)) => {
            (StatusCode::NOT_FOUND, "this witness has cosigned no checkpoint of that log\n")
                .into_response()
        }
        Ok(Err(r)) => refusal(&r),
        Err(e) => refusal(&Refusal::Storage(e.to_string())),
    }
}

fn refusal(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, [(header::CONTENT_TYPE, r.content_type())], r.body()).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(1u64));
    }
    resp
}
