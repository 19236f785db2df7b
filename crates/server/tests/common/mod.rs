//! Shared test setup: logs on in-memory SQLite, keys, and a `call` helper over `app` without a
//! socket.
#![allow(dead_code, reason = "each test binary uses part of the helpers")]
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use trail_core::{NoteSigner, NoteVerifier};
use trail_ingest::{Recorder, RecorderConfig, ScanConfig, Scanner};
use trail_server::auth::KeyEntry;
use trail_server::{AppState, KeyFile, KeyRing, Limits, LogHandle, Scope};
use trail_store::Store;
use trail_store::sqlite::SqliteStore;

pub struct TestLog {
    pub recorder: Recorder,
    pub verifier: NoteVerifier,
    pub handle: Arc<LogHandle>,
}

pub fn config() -> RecorderConfig {
    RecorderConfig {
        checkpoint_every: 1000,
        checkpoint_interval: Duration::from_millis(50),
        batch_linger: Duration::from_millis(1),
        ..RecorderConfig::default()
    }
}

/// A log named `origin` on in-memory SQLite.
pub fn log(origin: &str) -> TestLog {
    log_with(origin, config())
}

pub fn log_with(origin: &str, config: RecorderConfig) -> TestLog {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory(origin).unwrap());
    log_on(store, config)
}

pub fn log_on(store: Arc<dyn Store>, config: RecorderConfig) -> TestLog {
    let origin = store.origin().to_owned();
    let signer = NoteSigner::from_seed(&origin, [7; 32]).unwrap();
    let verifier = signer.verifier();
    let scanner = Arc::new(Scanner::new(&ScanConfig::default()).unwrap());
    let recorder = Recorder::open(store, signer, scanner, config.clone()).unwrap();
    let mut handle = LogHandle::new(recorder.clone(), &config);
    handle.verifier_key = Some(verifier.to_string());
    TestLog { recorder, verifier, handle: Arc::new(handle) }
}

/// An open (no keys, loopback) app state over these logs.
pub fn open_state(logs: &[&TestLog]) -> AppState {
    state(logs, KeyFile::default(), Limits::default())
}

pub fn state(logs: &[&TestLog], keys: KeyFile, limits: Limits) -> AppState {
    AppState::new(
        logs.iter().map(|l| l.handle.clone()).collect(),
        KeyRing::fixed(keys, true),
        limits,
    )
}

/// Adds a key to `file`; returns its text.
pub fn add_key(file: &mut KeyFile, scopes: &[Scope], logs: &[&str]) -> (String, KeyEntry) {
    file.add("test", scopes.to_vec(), logs.iter().map(|s| s.to_string()).collect(), "now".into())
        .unwrap()
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The stable error code of an error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or("").to_owned()
    }
}

/// One request through the app, no socket.
pub async fn call(state: &AppState, req: Request<Body>) -> Resp {
    let resp = trail_server::app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Resp { status, headers, body }
}

pub async fn get(state: &AppState, uri: &str, key: Option<&str>) -> Resp {
    let mut b = Request::get(uri);
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    call(state, b.body(Body::empty()).unwrap()).await
}

pub async fn post(state: &AppState, uri: &str, key: Option<&str>, ct: &str, body: Vec<u8>) -> Resp {
    let mut b = Request::post(uri).header("content-type", ct);
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    call(state, b.body(Body::from(body)).unwrap()).await
}

pub async fn post_json(state: &AppState, uri: &str, key: Option<&str>, body: &str) -> Resp {
    post(state, uri, key, "application/json", body.as_bytes().to_vec()).await
}

pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/otlp")
}

/// Serves the app on a real loopback socket; returns its base URL.
pub async fn spawn_server(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = trail_server::serve(listener, state, async move {
            let _ = rx.await;
        })
        .await;
    });
    (format!("http://{addr}"), tx)
}
