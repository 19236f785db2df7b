//! The dashboard at `/`: one embedded page, a script and a stylesheet, served by the same
//! binary (no front-end build, no CDN). The page draws everything from the JSON API a reader
//! key may use: `/v1/sessions` and `/v1/stats` (the store's rollups), `/v1/events` (keyset
//! pages, never the whole log), `/v1/tail` (server-sent events), `/v1/checkpoint`,
//! `/v1/receipt/{id}` and `/v1/verify`, which this module adds.
//!
//! Auth: with API keys configured, the page asks for a read key, keeps it in `sessionStorage`
//! and sends it as `Authorization: Bearer`. `EventSource` cannot set headers, so for
//! `/v1/tail` only the page also sets a cookie `trail_key` (path `/v1/tail`,
//! `SameSite=Strict`), and [`tail_cookie_auth`] turns it into the bearer header for that path.
//! We chose a cookie over `?key=` because a query string lands in access logs, proxy logs and
//! browser history. The risk that remains: the cookie is readable by script on the page (it
//! is set by script, as is the sessionStorage copy), so an XSS on this origin could read the
//! key; the page builds every node with `textContent` and is served with a strict
//! `Content-Security-Policy` (no inline script) to keep that door shut.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use trail_core::{NoteVerifier, Report, Timestamp, VerifyOptions};

use crate::api::{ErrorBody, LogParam, ProblemView, VerifyView};
use crate::error::{ApiError, store_error};
use crate::handler::blocking;
use crate::state::{Access, AppState, LogHandle, Read};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// Same-origin only; no inline script, so injected markup cannot run.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The cookie the page sets for `EventSource` on `/v1/tail`.
pub const TAIL_COOKIE: &str = "trail_key";

/// The page and its assets (no auth: they hold no data).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/assets/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON) }))
        .route("/dashboard/config", get(config))
}

/// What the page needs before it has a key: whether it must ask for one. Asking here, rather
/// than trying an API call and getting a 401, keeps the browser console clean.
async fn config(State(state): State<AppState>) -> Json<serde_json::Value> {
    let open = state.keys.authenticate(&axum::http::HeaderMap::new()).is_ok();
    Json(serde_json::json!({ "auth_required": !open }))
}

async fn index() -> Response {
    let mut r = asset("text/html; charset=utf-8", INDEX_HTML);
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    r.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// For `GET /v1/tail` only: a request without `Authorization` but with the `trail_key` cookie
/// is treated as if it had sent that key as a bearer token. Every other path ignores the
/// cookie, so it cannot be used to read or write anything else.
pub async fn tail_cookie_auth(mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/v1/tail" && !req.headers().contains_key(header::AUTHORIZATION) {
        let key = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(name, _)| *name == TAIL_COOKIE)
            .map(|(_, value)| value.to_owned());
        if let Some(v) = key
            .filter(|k| !k.is_empty())
            .and_then(|k| HeaderValue::from_str(&format!("Bearer {k}")).ok())
        {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
    }
    next.run(req).await
}

/// Runs the verifier over the whole log as stored (records, bodies, checkpoints, the prune
/// anchor) with the log's verifier key, and answers its report. Needs `read`. One
/// verification per log runs at a time; a second request waits for the first.
#[utoipa::path(
    post,
    path = "/v1/verify",
    tag = "integrity",
    params(LogParam),
    responses((status = 200, body = VerifyView), (status = 400, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn verify_now(access: Access<Read>) -> Result<Json<VerifyView>, ApiError> {
    let log = access.log;
    let lock = verify_lock(&log.name);
    let _running = lock.lock().await;
    let handle = log.clone();
    let view = blocking(move || verify_log(&handle)).await??;
    if let Ok(mut last) = last_results().lock() {
        last.insert(log.name.clone(), view.clone());
    }
    Ok(Json(view))
}

/// The last verification this server ran of the log, if any (`null` otherwise).
#[utoipa::path(
    get,
    path = "/v1/verify",
    tag = "integrity",
    params(LogParam),
    responses((status = 200, body = Option<VerifyView>)),
    security(("bearer" = []))
)]
pub async fn last_verification(access: Access<Read>) -> Json<Option<VerifyView>> {
    let last = last_results().lock().ok().and_then(|m| m.get(&access.log.name).cloned());
    Json(last)
}

/// Verifies `log` through its store, as `trail verify --data` does.
pub fn verify_log(log: &LogHandle) -> Result<VerifyView, ApiError> {
    let started = Instant::now();
    let at = now();
    let mut verifiers = Vec::new();
    let mut notes = Vec::new();
    match log.verifier_key.as_deref().map(str::parse::<NoteVerifier>) {
        Some(Ok(v)) => verifiers.push(v),
        Some(Err(e)) => notes.push(format!("the log's verifier key does not parse: {e}")),
        None => notes.push("the server has no verifier key for this log".to_owned()),
    }
    let opts =
        VerifyOptions { verifiers, origin: Some(log.name.clone()), ..VerifyOptions::default() };
    let report = trail_store::verify_store(&*log.store, opts, &mut |_| {}).map_err(store_error)?;
    let mut view = VerifyView::from_report(&log.name, &report, at, started.elapsed());
    view.notes.extend(notes);
    Ok(view)
}

impl VerifyView {
    fn from_report(log: &str, r: &Report, at: String, took: std::time::Duration) -> VerifyView {
        VerifyView {
            log: log.to_owned(),
            intact: r.is_intact(),
            at,
            elapsed_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            records: r.records,
            first_seq: r.first_seq,
            last_seq: r.last_seq,
            bodies_checked: r.bodies_checked,
            bodies_erased: r.bodies_erased,
            checkpoints_checked: r.checkpoints_checked,
            checkpoints_valid: r.checkpoints_valid,
            verified_size: r.verified_size,
            unsigned_tail: r.unsigned_tail,
            anchor: r.anchor,
            problems: r
                .problems
                .iter()
                .take(100)
                .map(|p| ProblemView {
                    seq: p.at.seq,
                    code: p.code.to_owned(),
                    message: p.message.clone(),
                })
                .collect(),
            problems_total: r.problem_count(),
            notes: r.notes.clone(),
        }
    }
}

fn now() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0);
    Timestamp::from_unix_nanos(nanos).to_string()
}

type Results = Mutex<HashMap<String, VerifyView>>;

/// The last result per log, for this process (a restart forgets it; `trail verify` and the
/// button recompute it).
fn last_results() -> &'static Results {
    static LAST: OnceLock<Results> = OnceLock::new();
    LAST.get_or_init(Default::default)
}

fn verify_lock(log: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    match locks.lock() {
        Ok(mut m) => m.entry(log.to_owned()).or_default().clone(),
        Err(_) => Arc::default(),
    }
}
