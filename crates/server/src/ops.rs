//! Operating the server: `/healthz`, `/metrics`, `/openapi.json`, `/v1/keys`, and the
//! placeholder page at `/` (the dashboard replaces it).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::api::{Health, KeyView};
use crate::error::ApiError;
use crate::state::{Admin, AppState, Authorized};

/// Liveness: 200 while the server runs. Needs no key and says nothing about the logs.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Prometheus metrics: HTTP, OTLP, recorder (per log) and exporter counters. Needs `admin`
/// when keys are configured.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")),
    security(("bearer" = []))
)]
pub async fn metrics(State(state): State<AppState>, auth: Authorized<Admin>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::render(&state, &|log| auth.principal.allows_log(log)),
    )
        .into_response()
}

/// The API keys (ids, names, scopes, logs; never secrets). Needs `admin`.
#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "ops",
    responses((status = 200, body = Vec<KeyView>)),
    security(("bearer" = []))
)]
pub async fn keys(
    State(state): State<AppState>,
    auth: Authorized<Admin>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    // A key scoped to some logs sees the keys that touch only those logs: not the keys of other
    // logs, nor the server-wide keys (a key with no logs listed touches them all).
    let visible = |k: &crate::auth::KeyEntry| match &auth.principal {
        crate::auth::Principal::Key(me) if !me.logs.is_empty() => {
            !k.logs.is_empty() && k.logs.iter().all(|l| me.logs.contains(l))
        }
        _ => true,
    };
    Ok(Json(state.keys.list().iter().filter(|k| visible(k)).map(|k| k.view()).collect()))
}

/// A placeholder until the dashboard lands: names the API and where to read about it.
pub async fn index() -> Html<&'static str> {
    Html(INDEX)
}

const INDEX: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trail</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .25rem;border-radius:3px}</style></head>
<body><h1>trail</h1>
<p>A tamper-evident flight recorder for AI agents. This server records events sent to
<code>POST /v1/events</code> and OpenTelemetry sent to <code>/v1/traces</code> and <code>/v1/logs</code>.</p>
<ul>
<li><a href="/openapi.json">/openapi.json</a>: the HTTP API</li>
<li><a href="/v1/events">/v1/events</a>, <a href="/v1/sessions">/v1/sessions</a>, <a href="/v1/stats">/v1/stats</a>, <a href="/v1/checkpoint">/v1/checkpoint</a></li>
<li><a href="/v1/tail?n=20">/v1/tail</a>: live events (server-sent events)</li>
<li><a href="/healthz">/healthz</a>, <a href="/metrics">/metrics</a></li>
</ul>
<p>The dashboard will live here.</p></body></html>
"#;
