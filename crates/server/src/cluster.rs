//! Several nodes, one log: a node that does not sequence a log forwards its ingest to the node
//! that does.
//!
//! Which node sequences a log is decided by the `leadership` module (for PostgreSQL, through the
//! store's lease), which sets each [`LogHandle`]'s [`Role`]. Here, a middleware in
//! front of the ingest endpoints (`POST /v1/events`, `/v1/traces`, `/v1/logs`) authenticates the
//! request as the endpoint would, and on a follower sends it on to the leader unchanged (same
//! path, query, key and body) and returns the leader's answer. A request is forwarded at most
//! once: one that arrives forwarded at a node that is not the leader (leadership moved in
//! between) is answered 503 with `Retry-After`, like a request that finds no leader or an
//! unreachable one, so the client retries; resending events with the same ids is safe.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::{Access, AppState, Ingest, LogHandle, Role};

/// Marks a request one node forwarded to another.
pub const FORWARDED: &str = "x-trail-forwarded-by";

/// The client a follower forwards with: short connect timeout (a dead leader is noticed at
/// once), generous total time (a batch waits for its commit).
pub fn forward_client() -> reqwest::Client {
    crate::listen::client_builder()
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

fn is_ingest(method: &Method, path: &str) -> bool {
    method == Method::POST && matches!(path, "/v1/events" | "/v1/traces" | "/v1/logs")
}

/// The middleware: ingest for a log this node follows goes to its leader.
pub async fn forward_ingest(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_ingest(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let log = match Access::<Ingest>::from_request_parts(&mut parts, &state).await {
        Ok(access) => access.log,
        Err(e) => return e.into_response(),
    };
    let leader = match log.role() {
        Role::Leader(_) => return next.run(Request::from_parts(parts, body)).await,
        Role::Follower { leader } => leader,
    };
    let Some(leader) = leader.filter(|_| !parts.headers.contains_key(FORWARDED)) else {
        return not_leader(&log);
    };
    if !leader.starts_with("http://") && !leader.starts_with("https://") {
        // A `trail log`, `import` or `erase` run holds the lease for a while: not a node to
        // forward to, and it gives the lease up when it ends.
        return ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "log_busy",
            format!(
                "a trail command ({leader}) is writing to log {:?} and holds its sequencer lease; \
                 retry when it ends (a node takes the log back within the lease TTL)",
                log.name
            ),
        )
        .into_response();
    }
    let bytes = match axum::body::to_bytes(body, state.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body exceeds {} bytes", state.limits.max_body_bytes),
            )
            .into_response();
        }
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", leader.trim_end_matches('/'));
    let mut out = state.forwarder.post(&url).body(bytes);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE, header::CONTENT_ENCODING] {
        if let Some(v) = parts.headers.get(&name) {
            out = out.header(name, v.clone());
        }
    }
    if let Some(v) = parts.headers.get("x-api-key") {
        out = out.header("x-api-key", v.clone());
    }
    out = out.header(FORWARDED, state.node.as_str());
    match out.send().await {
        Ok(resp) => relay(resp).await,
        Err(e) => {
            let cause = crate::listen::error_chain(&e);
            tracing::warn!(log = %log.name, leader = %leader, error = %cause, "cannot forward ingest to the leader");
            ApiError::overloaded(
                StatusCode::SERVICE_UNAVAILABLE,
                "leader_unreachable",
                format!(
                    "this node cannot reach the node that sequences log {:?} ({leader}): {cause}; retry (any node)",
                    log.name
                ),
            )
            .into_response()
        }
    }
}

fn not_leader(log: &Arc<LogHandle>) -> Response {
    match log.recorder() {
        Err(e) => e.into_response(),
        Ok(_) => ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_leader",
            "leadership moved while the request was forwarded; retry",
        )
        .into_response(),
    }
}

/// The leader's answer, passed on: status, body and the headers a client acts on.
async fn relay(resp: reqwest::Response) -> Response {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let keep: Vec<(HeaderName, HeaderValue)> = [header::CONTENT_TYPE, header::RETRY_AFTER]
        .into_iter()
        .filter_map(|h| resp.headers().get(&h).map(|v| (h, v.clone())))
        .collect();
    match resp.bytes().await {
        Ok(body) => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = status;
            r.headers_mut().extend(keep);
            r
        }
        Err(e) => ApiError::overloaded(
            StatusCode::SERVICE_UNAVAILABLE,
            "leader_unreachable",
            format!("the leader's answer was cut off ({e}); whether the events were stored is unknown: resend them with the same ids"),
        )
        .into_response(),
    }
}
