//! Counters of the HTTP side, and `/metrics` in the Prometheus text format (the recorder's own
//! counters, per log, come from `Recorder::metrics`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// What the server counted.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// (route, method, status) -> requests.
    pub requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    pub auth_failures: AtomicU64,
    pub overloaded: AtomicU64,
    /// Connections refused because `max_connections` were open.
    pub connections_refused: AtomicU64,
    /// Request bodies cut off for arriving below `min_body_bytes_per_s`.
    pub slow_bodies: AtomicU64,
    pub events_ingested: AtomicU64,
    pub otlp_spans_received: AtomicU64,
    pub otlp_logs_received: AtomicU64,
    /// Spans and log records mapped to an AI event kind (not `custom.otel`).
    pub otlp_mapped: AtomicU64,
    /// Kept as `custom.otel`.
    pub otlp_other_kept: AtomicU64,
    /// Dropped because `otlp_keep_other = false` (and reported to the sender).
    pub otlp_dropped: AtomicU64,
    /// Refused (invalid after mapping, or blocked by the scan policy).
    pub otlp_rejected: AtomicU64,
    /// Live-tail subscribers dropped for falling `max_tail_buffer_bytes` behind.
    pub tail_dropped: std::sync::Arc<AtomicU64>,
}

/// Middleware counting every request by route and status.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // A closed set of labels: any other method token (a client may send any, up to the header
    // limit) is counted as `other`, so unauthenticated requests cannot grow /metrics.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    if let Ok(mut m) = state.metrics.requests.lock() {
        *m.entry((route, method, status)).or_default() += 1;
    }
    resp
}

/// Renders every counter in the Prometheus text exposition format; per-log series only for the
/// logs `visible` allows (the asking key's logs).
pub fn render(state: &AppState, visible: &dyn Fn(&str) -> bool) -> String {
    let mut s = String::new();
    let m = &state.metrics;
    let _ =
        writeln!(s, "# HELP trail_http_requests_total HTTP requests by route, method and status.");
    let _ = writeln!(s, "# TYPE trail_http_requests_total counter");
    if let Ok(reqs) = m.requests.lock() {
        for ((route, method, status), n) in reqs.iter() {
            let _ = writeln!(
                s,
                "trail_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
    }
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    for (name, help, v) in [
        (
            "trail_http_auth_failures_total",
            "Requests refused for a missing, bad or insufficient key.",
            get(&m.auth_failures),
        ),
        (
            "trail_http_overloaded_total",
            "Requests refused with 429 or 503 under load.",
            get(&m.overloaded),
        ),
        (
            "trail_http_connections_refused_total",
            "Connections refused with 503 because max_connections were open.",
            get(&m.connections_refused),
        ),
        (
            "trail_http_slow_bodies_total",
            "Requests answered 408 because their body arrived below min_body_bytes_per_s.",
            get(&m.slow_bodies),
        ),
        (
            "trail_http_events_ingested_total",
            "Events acknowledged through POST /v1/events.",
            get(&m.events_ingested),
        ),
        (
            "trail_otlp_spans_received_total",
            "Spans received on /v1/traces.",
            get(&m.otlp_spans_received),
        ),
        (
            "trail_otlp_log_records_received_total",
            "Log records received on /v1/logs.",
            get(&m.otlp_logs_received),
        ),
        (
            "trail_otlp_mapped_total",
            "Spans and log records mapped to an AI event kind.",
            get(&m.otlp_mapped),
        ),
        (
            "trail_otlp_other_kept_total",
            "Spans and log records kept as custom.otel.",
            get(&m.otlp_other_kept),
        ),
        (
            "trail_otlp_dropped_total",
            "Spans and log records dropped by otlp_keep_other = false.",
            get(&m.otlp_dropped),
        ),
        (
            "trail_otlp_rejected_total",
            "Spans and log records refused (invalid or blocked).",
            get(&m.otlp_rejected),
        ),
        (
            "trail_tail_subscribers_dropped_total",
            "Live-tail subscribers dropped for falling max_tail_buffer_bytes behind.",
            get(&m.tail_dropped),
        ),
    ] {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
    }
    type Get = fn(&trail_ingest::MetricsSnapshot) -> u64;
    let recorder_counters: [(&str, &str, Get); 11] = [
        ("accepted", "counter", |x| x.accepted),
        ("duplicates", "counter", |x| x.duplicates),
        ("rejected_invalid", "counter", |x| x.rejected_invalid),
        ("rejected_blocked", "counter", |x| x.rejected_blocked),
        ("rejected_full", "counter", |x| x.rejected_full),
        ("failed_writes", "counter", |x| x.failed_writes),
        ("batches", "counter", |x| x.batches),
        ("checkpoints", "counter", |x| x.checkpoints),
        ("checkpoint_failures", "counter", |x| x.checkpoint_failures),
        ("findings", "counter", |x| x.findings),
        ("queue_depth", "gauge", |x| x.queue_depth),
    ];
    let _ = writeln!(s, "# TYPE trail_log_leader gauge");
    for l in state.logs.iter().filter(|l| visible(&l.name)) {
        let leads = matches!(l.role(), crate::state::Role::Leader(_));
        let _ = writeln!(s, "trail_log_leader{{log=\"{}\"}} {}", escape(&l.name), u8::from(leads));
    }
    // Recorder counters exist on the node that sequences each log.
    let snaps: Vec<_> = state
        .logs
        .iter()
        .filter(|l| visible(&l.name))
        .filter_map(|l| l.recorder().ok().map(|r| (l.name.clone(), r.metrics())))
        .collect();
    for (what, kind, f) in recorder_counters {
        let name = if kind == "counter" {
            format!("trail_recorder_{what}_total")
        } else {
            format!("trail_recorder_{what}")
        };
        let _ = writeln!(s, "# TYPE {name} {kind}");
        for (log, snap) in &snaps {
            let _ = writeln!(s, "{name}{{log=\"{}\"}} {}", escape(log), f(snap));
        }
    }
    let _ = writeln!(s, "# TYPE trail_witness_cosigned_size gauge");
    let _ = writeln!(s, "# TYPE trail_witness_lag gauge");
    let _ = writeln!(s, "# TYPE trail_witness_cosignatures_total counter");
    let _ = writeln!(s, "# TYPE trail_witness_failures_total counter");
    let _ = writeln!(s, "# TYPE trail_witness_alarms_total counter");
    for log in &state.logs {
        for w in log.witnessing.iter().flat_map(|w| w.metrics.iter()) {
            let labels = format!("log=\"{}\",witness=\"{}\"", escape(&log.name), escape(&w.name));
            let _ =
                writeln!(s, "trail_witness_cosigned_size{{{labels}}} {}", get(&w.cosigned_size));
            let _ = writeln!(s, "trail_witness_lag{{{labels}}} {}", w.lag());
            let _ = writeln!(
                s,
                "trail_witness_cosignatures_total{{{labels}}} {}",
                get(&w.cosignatures)
            );
            let _ = writeln!(s, "trail_witness_failures_total{{{labels}}} {}", get(&w.failures));
            let _ = writeln!(s, "trail_witness_alarms_total{{{labels}}} {}", get(&w.alarms));
        }
    }
    let _ = writeln!(s, "# TYPE trail_exporter_delivered_total counter");
    let _ = writeln!(s, "# TYPE trail_exporter_failures_total counter");
    let _ = writeln!(s, "# TYPE trail_exporter_cursor gauge");
    for log in state.logs.iter().filter(|l| visible(&l.name)) {
        for e in &log.exporters {
            let labels = format!("log=\"{}\",exporter=\"{}\"", escape(&log.name), escape(&e.name));
            let _ = writeln!(s, "trail_exporter_delivered_total{{{labels}}} {}", get(&e.delivered));
            let _ = writeln!(s, "trail_exporter_failures_total{{{labels}}} {}", get(&e.failures));
            let _ = writeln!(s, "trail_exporter_cursor{{{labels}}} {}", get(&e.cursor));
        }
    }
    s
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
