//! Exporters against tiny receivers on loopback: a webhook that fails first, a restart in the
//! middle of a failing delivery, and OTLP into a second trail server.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::*;
use serde_json::Value;
use trail_core::Event;
use trail_server::config::{ExportFilter, ExportStart, ExporterConfig, ExporterKind};
use trail_server::exporter;

/// A webhook receiver that answers 500 to its first `fail` requests.
#[derive(Clone, Default)]
struct Receiver {
    fail: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<(u64, String)>>>,
}

async fn hook(State(r): State<Receiver>, Json(v): Json<Value>) -> StatusCode {
    r.calls.fetch_add(1, Ordering::SeqCst);
    if r.fail.load(Ordering::SeqCst) > 0 {
        r.fail.fetch_sub(1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let mut got = r.got.lock().unwrap();
    for e in v["events"].as_array().unwrap() {
        got.push((e["seq"].as_u64().unwrap(), e["record"]["id"].as_str().unwrap().to_owned()));
    }
    StatusCode::OK
}

async fn receiver(fail: usize) -> (Receiver, String) {
    let r = Receiver::default();
    r.fail.store(fail, Ordering::SeqCst);
    let app = axum::Router::new().route("/hook", post(hook)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, format!("http://{addr}/hook"))
}

fn webhook(url: &str, filter: ExportFilter) -> ExporterConfig {
    ExporterConfig {
        name: "alerts".into(),
        kind: ExporterKind::Webhook,
        url: url.into(),
        headers: [("x-token".to_owned(), "t".to_owned())].into(),
        filter,
        batch: 7,
        timeout_ms: 2000,
        backoff_initial_ms: 20,
        backoff_max_ms: 100,
        start: ExportStart::Beginning,
    }
}

async fn record(l: &TestLog, id: &str, status: &str, body: Value) {
    let ev = Event::from_value(
        serde_json::json!({"kind": "tool_call", "id": id, "status": status, "body": body}),
    )
    .unwrap();
    l.recorder.record(ev).await.unwrap();
}

/// Waits (bounded) until `cond` holds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn webhook_delivers_denied_and_pii_events_after_the_receiver_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let l = log("test/exp");
    let (rx, url) = receiver(3).await;
    let filter =
        ExportFilter { statuses: vec!["denied".into()], findings: true, ..ExportFilter::default() };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (metrics, task) =
        exporter::spawn(webhook(&url, filter), l.recorder.clone(), dir.path(), stop).unwrap();
    let mut want = Vec::new();
    for i in 0..30 {
        let id = format!("e{i}");
        match i % 5 {
            0 => {
                record(&l, &id, "denied", serde_json::json!({"tool": "rm"})).await;
                want.push(id);
            }
            1 => {
                record(&l, &id, "ok", serde_json::json!({"note": "mail alice@example.com"})).await;
                want.push(id);
            }
            _ => record(&l, &id, "ok", serde_json::json!({"n": i})).await,
        }
    }
    // The receiver fails, yet the log took every event.
    assert_eq!(l.recorder.store().state().unwrap().size, 30);
    eventually("every matching event delivered", || {
        let got = rx.got.lock().unwrap();
        want.iter().all(|w| got.iter().any(|(_, id)| id == w))
    })
    .await;
    let got = rx.got.lock().unwrap().clone();
    assert!(got.iter().all(|(_, id)| want.contains(id)), "only matching events: {got:?}");
    assert!(metrics.failures.load(Ordering::Relaxed) >= 3);
    eventually("cursor at the end", || metrics.cursor.load(Ordering::Relaxed) == 30).await;
    assert_eq!(
        exporter::read_cursor(&dir.path().join("exporters/alerts.cursor")).unwrap(),
        Some(30)
    );
    stop_tx.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_restart_in_the_middle_resumes_from_the_persisted_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let l = log("test/exp");
    let (rx, url) = receiver(0).await;
    let cfg = webhook(&url, ExportFilter::default());
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (_m, task) = exporter::spawn(cfg.clone(), l.recorder.clone(), dir.path(), stop).unwrap();
    for i in 0..10 {
        record(&l, &format!("a{i}"), "ok", Value::Null).await;
    }
    eventually("first ten delivered", || rx.got.lock().unwrap().len() == 10).await;
    // The receiver goes down; more events arrive; the exporter retries and is stopped mid-retry.
    rx.fail.store(usize::MAX / 2, Ordering::SeqCst);
    for i in 0..10 {
        record(&l, &format!("b{i}"), "ok", Value::Null).await;
    }
    let calls = rx.calls.load(Ordering::SeqCst);
    eventually("a failed attempt", || rx.calls.load(Ordering::SeqCst) > calls).await;
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    let cursor =
        exporter::read_cursor(&dir.path().join("exporters/alerts.cursor")).unwrap().unwrap();
    assert_eq!(cursor, 10, "nothing after the last delivered batch is marked done");
    // Restart with the receiver back: delivery resumes at seq 10 and nothing is lost.
    rx.fail.store(0, Ordering::SeqCst);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (_m, task) = exporter::spawn(cfg, l.recorder.clone(), dir.path(), stop).unwrap();
    eventually("all twenty delivered", || rx.got.lock().unwrap().len() >= 20).await;
    let got = rx.got.lock().unwrap().clone();
    let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (0..20).collect::<Vec<u64>>(), "each event once, in order");
    stop_tx.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn an_exporter_that_starts_at_the_end_skips_history() {
    let dir = tempfile::tempdir().unwrap();
    let l = log("test/exp");
    for i in 0..5 {
        record(&l, &format!("old{i}"), "ok", Value::Null).await;
    }
    let (rx, url) = receiver(0).await;
    let mut cfg = webhook(&url, ExportFilter::default());
    cfg.start = ExportStart::End;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (_m, task) = exporter::spawn(cfg, l.recorder.clone(), dir.path(), stop).unwrap();
    record(&l, "new", "ok", Value::Null).await;
    eventually("the new event", || !rx.got.lock().unwrap().is_empty()).await;
    assert_eq!(rx.got.lock().unwrap().clone(), vec![(5, "new".to_owned())]);
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    let bad = webhook("ftp://example.invalid/x", ExportFilter::default());
    let (_t, stop) = tokio::sync::watch::channel(false);
    assert!(exporter::spawn(bad, l.recorder.clone(), dir.path(), stop).is_err());
}

#[tokio::test]
async fn otlp_exporter_feeds_another_trail_server() {
    let dir = tempfile::tempdir().unwrap();
    let source = log("test/source");
    let sink = log("test/sink");
    let (base, stop_sink) = spawn_server(open_state(&[&sink])).await;
    let cfg = ExporterConfig {
        name: "otel".into(),
        kind: ExporterKind::Otlp,
        url: base.clone(),
        headers: Default::default(),
        filter: ExportFilter::default(),
        batch: 4,
        timeout_ms: 2000,
        backoff_initial_ms: 20,
        backoff_max_ms: 100,
        start: ExportStart::Beginning,
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (m, task) = exporter::spawn(cfg, source.recorder.clone(), dir.path(), stop).unwrap();
    for i in 0..9 {
        record(
            &source,
            &format!("s{i}"),
            if i == 3 { "denied" } else { "ok" },
            serde_json::json!({"i": i}),
        )
        .await;
    }
    eventually("nine log records in the sink", || sink.recorder.store().state().unwrap().size == 9)
        .await;
    assert_eq!(m.delivered.load(Ordering::Relaxed), 9);
    let page = sink
        .recorder
        .store()
        .query(&trail_store::Query { ascending: true, ..Default::default() })
        .unwrap();
    let first = page.records[0].body.as_ref().unwrap().value().unwrap();
    let attrs = &first["otel"]["attributes"];
    assert_eq!(attrs["trail.id"], "s0");
    assert_eq!(attrs["trail.seq"], 0);
    assert_eq!(first["otel"]["event_name"], "trail.tool_call");
    assert_eq!(first["otel"]["body"]["record"]["origin"], "test/source");
    assert_eq!(first["otel"]["resource"]["service.name"], "trail");
    let denied = &page.records[3].body.as_ref().unwrap().value().unwrap();
    assert_eq!(denied["otel"]["severity"]["text"], "WARN");
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    let _ = stop_sink.send(());
}

/// Two nodes of a cluster share one PostgreSQL log, each with its own data directory: when the
/// second takes over, its exporter resumes where the first one's stopped (kept with the log),
/// instead of from its own (absent) cursor file, so nothing is delivered twice.
#[tokio::test]
async fn a_node_taking_over_a_shared_log_resumes_the_exporter_where_the_last_stopped() {
    use trail_store::postgres::{PostgresStore, scratch_schema};
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = scratch_schema("trail_export_takeover");
    let store = match PostgresStore::create_in(&url, &schema, "test/takeover") {
        Ok(s) => Arc::new(s.dangerous_drop_on_drop()),
        Err(e) if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") => {
            let loud = format!("\n*** SKIPPED: no PostgreSQL at {url} ({e}) ***\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), loud.as_bytes());
            return;
        }
        Err(e) => panic!("no PostgreSQL at {url}: {e}; start it (see .ci/run)"),
    };
    let (rx, hook_url) = receiver(0).await;
    // Node A leads: it records 20 events and exports them, then goes away.
    let a = Node::start(&store, &hook_url);
    for i in 0..20 {
        record(&a.log, &format!("a{i}"), "ok", serde_json::json!({"n": i})).await;
    }
    a.stop_at(20).await;
    // Node B takes over with a data directory of its own, which holds no cursor file.
    let b = Node::start(&store, &hook_url);
    assert_eq!(b.metrics.cursor.load(Ordering::Relaxed), 20, "node B starts after A's last");
    for i in 0..5 {
        record(&b.log, &format!("b{i}"), "ok", serde_json::json!({"n": i})).await;
    }
    let node_b = b.stop_at(25).await;
    let got = rx.got.lock().unwrap().clone();
    let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (0..25).collect::<Vec<_>>(), "each event delivered once, in order");
    assert_eq!(
        exporter::read_cursor(&node_b.path().join("exporters/alerts.cursor")).unwrap(),
        Some(25)
    );
}

/// A node leading a shared log: its recorder, its own data directory and its exporter.
struct Node {
    log: TestLog,
    dir: tempfile::TempDir,
    metrics: Arc<exporter::ExporterMetrics>,
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Node {
    fn start(store: &Arc<trail_store::postgres::PostgresStore>, hook_url: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let log = log_on(store.clone(), trail_ingest::RecorderConfig::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (metrics, task) = exporter::spawn(
            webhook(hook_url, ExportFilter::default()),
            log.recorder.clone(),
            dir.path(),
            stopped,
        )
        .unwrap();
        Node { log, dir, metrics, task, stop }
    }

    /// Waits until the exporter's cursor reaches `next`, then stops the node; returns its data
    /// directory.
    async fn stop_at(self, next: u64) -> tempfile::TempDir {
        eventually("the node delivered its events", || {
            self.metrics.cursor.load(Ordering::Relaxed) == next
        })
        .await;
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
        self.log.recorder.clone().close().await.unwrap();
        self.dir
    }
}
