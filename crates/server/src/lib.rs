//! trail's HTTP server: the API of `trail serve`, the OTLP/HTTP receiver, the live tail, API
//! keys and the exporters out. It turns requests into `Recorder` calls and store reads, and
//! knows nothing of the command line or of how a data directory is laid out on disk (the CLI
//! opens the logs and hands them over).
//!
//! The app is `app(state) -> Router`, so tests drive it without a socket. One module per
//! concept: [`events`] (ingest and search), [`browse`] (sessions, stats, logs), [`proofs`]
//! (checkpoint, inclusion and consistency proofs, receipts), [`tail`] (server-sent events),
//! [`otlp`] (the receiver and its mapping of GenAI, OpenInference, OpenLLMetry and Claude Code
//! telemetry to audit events), [`ops`] (health, metrics, keys), [`dashboard`] (the page at `/`
//! and `/v1/verify`), [`auth`] (API keys), [`exporter`] (webhook and OTLP exporters with
//! persisted cursors), [`listen`] (plain or TLS connections, header read timeout, graceful stop). [`api`] holds the wire types: **API Boundary:** core types are not the
//! HTTP API.
//!
//! **Architecture Invariant:** the server never appends on its own; every event goes through
//! the log's one `Recorder`, is acknowledged only once durable, and every refusal (bad input,
//! overload, a dropped span) is answered or counted, never silent.
//!
//! Errors are JSON, `{"error": {"code": "stable_code", "message": "what is wrong"}}`, with
//! `Retry-After` on 429 and 503.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub mod api;
pub mod auth;
pub mod browse;
pub mod cluster;
pub mod config;
pub mod connections;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod exporter;
pub mod handler;
#[cfg(feature = "postgres")]
pub mod leadership;
pub mod listen;
pub mod metrics;
pub mod ops;
pub mod otlp;
pub mod proofs;
pub mod report;
pub mod state;
pub mod tail;
pub mod tlog;
pub mod witness;
pub mod witnessing;

pub use auth::{KeyFile, KeyRing, Scope};
pub use config::{ExporterConfig, Limits, ServerSection, WitnessSection, WitnessTarget};
pub use error::ApiError;
pub use listen::{ServeOptions, TlsError, serve_router, serve_with, tls_config};
pub use state::{AppState, LogHandle};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "trail",
        description = "A tamper-evident flight recorder for AI agents: events in (JSON or OTLP), \
                       search, live tail, signed checkpoints, proofs and receipts."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "events", description = "Append, search and follow events"),
        (name = "browse", description = "Sessions, stats and logs"),
        (name = "integrity", description = "Checkpoints, proofs and receipts"),
        (name = "otlp", description = "OpenTelemetry OTLP/HTTP receiver"),
        (name = "ops", description = "Health, metrics and keys"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and their OpenAPI description. Routes that answer in bounded time get the
/// request timeout; the tail streams and is added after it.
fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(events::ingest, events::list))
        .routes(routes!(events::get_one))
        .routes(routes!(browse::sessions))
        .routes(routes!(browse::stats))
        .routes(routes!(browse::info))
        .routes(routes!(proofs::checkpoint))
        .routes(routes!(proofs::inclusion))
        .routes(routes!(proofs::consistency))
        .routes(routes!(proofs::receipt))
        .routes(routes!(otlp::traces))
        .routes(routes!(otlp::logs))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::keys))
        .route("/tlog/checkpoint", get(tlog::checkpoint))
        .route("/tlog/tile/{*rest}", get(tlog::tile))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            state.limits.request_timeout,
        ))
        .routes(routes!(tail::tail))
        .routes(routes!(dashboard::verify_now, dashboard::last_verification))
        // A report verifies and folds the whole log: as long as a verification takes.
        .routes(routes!(report::report))
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let state =
        AppState::new(Vec::new(), KeyRing::fixed(KeyFile::default(), false), Limits::default());
    api_router(&state).into_openapi()
}

/// The whole app over `state`.
pub fn app(state: AppState) -> Router {
    let (router, api) = api_router(&state).split_for_parts();
    let api = Arc::new(api);
    router
        .route("/openapi.json", get(move || async move { Json(api.as_ref().clone()) }))
        .merge(dashboard::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), cluster::forward_ingest))
        .layer(axum::middleware::from_fn(refusals))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .layer(axum::middleware::from_fn(dashboard::tail_cookie_auth))
        .layer(RequestDecompressionLayer::new().gzip(true))
        // The span names the method and path only: a query string may carry what must not be
        // logged (a key sent as ?key= is refused, but would still be written at debug level).
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // The method from a closed set too: a client may send any token, at any length.
            let method = match req.method().as_str() {
                m @ ("GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH") => m,
                _ => "other",
            };
            let path: String = req.uri().path().chars().take(200).collect();
            tracing::debug_span!("request", method, path = %path)
        }))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(
        "no_such_route",
        format!("no endpoint at {}; see /openapi.json", uri.path()),
    )
}

/// True for addresses only this machine can reach.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Serves `state` on `listener` over plain HTTP with the default [`ServeOptions`] until
/// `shutdown` resolves; see [`serve_with`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, shutdown, ServeOptions::default()).await
}

/// Every 429 and 503 tells the client when to retry, including those no handler wrote (the
/// request timeout's 503); handlers that know better set their own. A refused request that
/// carried a body (which may be unread) also closes its connection: hyper cannot reuse it, and a
/// client told so does not send its next request on a connection that is about to close.
async fn refusals(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let has_body = req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let mut resp = next.run(req).await;
    let status = resp.status();
    let headers = resp.headers_mut();
    if matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
        && !headers.contains_key(header::RETRY_AFTER)
    {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
    }
    if has_body
        && matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::PAYLOAD_TOO_LARGE
        )
    {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}
