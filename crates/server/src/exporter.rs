//! Exporters out: each `[[exporters]]` entry is a task that reads the log from the store, in
//! seq order, and delivers the events its filter selects to a webhook (JSON) or an OTLP/HTTP
//! collector (protobuf logs).
//!
//! Delivery is at least once: the cursor (`exporters/<name>.cursor` in the data directory, the
//! next seq to look at) is written, atomically, only after a batch is delivered, so a restart
//! resumes where the last delivered batch ended and may resend that batch, never skip one. A
//! failing receiver is retried with exponential backoff, forever; the exporter then falls behind,
//! which `/metrics` shows (`trail_exporter_cursor`, `trail_exporter_failures_total`). An exporter
//! only reads the store (and, on PostgreSQL, saves its cursor there too, so the node that takes
//! over the log's lease resumes where the last leader's exporter stopped), so its failure never
//! affects the log or its ingest.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use trail_ingest::Recorder;
use trail_store::StoredRecord;

use crate::api::EventView;
use crate::config::{ExportStart, ExporterConfig, ExporterKind};

/// Counters of one exporter.
#[derive(Debug, Default)]
pub struct ExporterMetrics {
    pub name: String,
    pub delivered: AtomicU64,
    pub failures: AtomicU64,
    /// The next seq the exporter will look at.
    pub cursor: AtomicU64,
}

/// Why an exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    #[error("exporter name {0:?} must be letters, digits, - and _")]
    BadName(String),
    #[error("exporter {name}: url {url:?} must start with http:// or https://")]
    BadUrl { name: String, url: String },
    #[error("exporter {name}: cursor file {path}: {reason}")]
    Cursor { name: String, path: PathBuf, reason: String },
    #[error("exporter {name}: {reason}")]
    Client { name: String, reason: String },
}

/// Starts one exporter over `recorder`'s log; its cursor lives in `data_dir/exporters/`, and also
/// in the log when the store keeps exporter cursors (PostgreSQL, shared by several nodes).
pub fn spawn(
    config: ExporterConfig,
    recorder: Recorder,
    data_dir: &Path,
    shutdown: watch::Receiver<bool>,
) -> Result<(Arc<ExporterMetrics>, JoinHandle<()>), ExporterError> {
    let name = config.name.clone();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ExporterError::BadName(name));
    }
    if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
        return Err(ExporterError::BadUrl { name, url: config.url.clone() });
    }
    let dir = data_dir.join("exporters");
    let cursor_err = |path: &Path, reason: String| ExporterError::Cursor {
        name: name.clone(),
        path: path.to_owned(),
        reason,
    };
    std::fs::create_dir_all(&dir).map_err(|e| cursor_err(&dir, e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    let path = dir.join(format!("{name}.cursor"));
    // A log that several nodes share keeps the cursor too: the node that takes over exporting
    // resumes where the last one stopped, not where its own file says.
    let shared =
        recorder.store().exporter_cursor(&name).map_err(|e| cursor_err(&path, e.to_string()))?;
    let cursor = match (read_cursor(&path).map_err(|r| cursor_err(&path, r))?, shared) {
        (Some(file), Some(shared)) => file.max(shared),
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => match config.start {
            ExportStart::Beginning => 0,
            ExportStart::End => {
                recorder.store().state().map_err(|e| cursor_err(&path, e.to_string()))?.size
            }
        },
    };
    write_cursor(&path, cursor).map_err(|e| cursor_err(&path, e.to_string()))?;
    let client = crate::listen::client_builder()
        .timeout(Duration::from_millis(config.timeout_ms.max(1)))
        .build()
        .map_err(|e| ExporterError::Client { name: name.clone(), reason: e.to_string() })?;
    let metrics = Arc::new(ExporterMetrics { name: name.clone(), ..ExporterMetrics::default() });
    metrics.cursor.store(cursor, Ordering::Relaxed);
    let log_name = recorder.store().origin().to_owned();
    let runner =
        Runner { config, log_name, recorder, path, client, metrics: metrics.clone(), shutdown };
    Ok((metrics, tokio::spawn(runner.run(cursor))))
}

struct Runner {
    config: ExporterConfig,
    log_name: String,
    recorder: Recorder,
    path: PathBuf,
    client: reqwest::Client,
    metrics: Arc<ExporterMetrics>,
    shutdown: watch::Receiver<bool>,
}

impl Runner {
    async fn run(mut self, mut next: u64) {
        let mut live = self.recorder.subscribe();
        tracing::info!(exporter = %self.config.name, log = %self.log_name, cursor = next, "exporter started");
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            let batch = match self.read(next).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(exporter = %self.config.name, error = %e, "exporter cannot read the log; retrying");
                    if self.pause(Duration::from_secs(1)).await {
                        return;
                    }
                    continue;
                }
            };
            let Some(last) = batch.last().map(|r| r.seq) else {
                // Caught up: wait for the next commit (or a second, in case a wake-up was missed).
                let mut stop = self.shutdown.clone();
                tokio::select! {
                    _ = live.recv() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
                continue;
            };
            let selected: Vec<&StoredRecord> =
                batch.iter().filter(|r| self.config.filter.matches(&r.record)).collect();
            if !selected.is_empty() && !self.deliver(&selected).await {
                return;
            }
            next = last + 1;
            if let Err(e) = write_cursor(&self.path, next) {
                // The batch will be sent again after a restart: at least once still holds.
                tracing::error!(exporter = %self.config.name, error = %e, path = %self.path.display(), "cannot save the exporter cursor");
            }
            let store = self.recorder.store().clone();
            let name = self.config.name.clone();
            match tokio::task::spawn_blocking(move || store.set_exporter_cursor(&name, next)).await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(exporter = %self.config.name, error = %e, "cannot save the exporter cursor with the log");
                }
                Err(e) => {
                    tracing::error!(exporter = %self.config.name, error = %e, "cannot save the exporter cursor with the log");
                }
            }
            self.metrics.cursor.store(next, Ordering::Relaxed);
        }
    }

    /// Up to `batch` records from `next` on.
    async fn read(&self, next: u64) -> Result<Vec<StoredRecord>, String> {
        let store = self.recorder.store().clone();
        let max = self.config.batch.max(1);
        tokio::task::spawn_blocking(move || {
            let from = next.max(store.start()?);
            let mut out = Vec::new();
            store.scan(from, u64::MAX, &mut |r| {
                out.push(r);
                Ok(out.len() < max)
            })?;
            Ok::<_, trail_store::StoreError>(out)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
    }

    /// Sends until the receiver accepts; false if the server is shutting down first.
    async fn deliver(&mut self, records: &[&StoredRecord]) -> bool {
        let mut delay = Duration::from_millis(self.config.backoff_initial_ms.max(1));
        let max = Duration::from_millis(self.config.backoff_max_ms.max(1));
        loop {
            match self.send(records).await {
                Ok(()) => {
                    self.metrics.delivered.fetch_add(records.len() as u64, Ordering::Relaxed);
                    return true;
                }
                Err(e) => {
                    self.metrics.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        exporter = %self.config.name,
                        error = %e,
                        first_seq = records[0].seq,
                        retry_in_ms = delay.as_millis() as u64,
                        "export failed; will retry"
                    );
                    if self.pause(delay).await {
                        return false;
                    }
                    delay = (delay * 2).min(max);
                }
            }
        }
    }

    /// Sleeps; true if the server began shutting down meanwhile.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => *self.shutdown.borrow(),
            _ = self.shutdown.changed() => true,
        }
    }

    async fn send(&self, records: &[&StoredRecord]) -> Result<(), String> {
        let first = records[0].seq;
        let last = records[records.len() - 1].seq;
        let mut req = match self.config.kind {
            ExporterKind::Webhook => {
                let events: Vec<EventView> =
                    records.iter().map(|r| EventView::from_stored(r)).collect();
                let body =
                    json!({"log": self.log_name, "exporter": self.config.name, "events": events});
                self.client
                    .post(&self.config.url)
                    .header("content-type", "application/json")
                    .body(body.to_string())
            }
            ExporterKind::Otlp => {
                let url = if self.config.url.trim_end_matches('/').ends_with("/v1/logs") {
                    self.config.url.clone()
                } else {
                    format!("{}/v1/logs", self.config.url.trim_end_matches('/'))
                };
                let msg = otlp_request(&self.log_name, records);
                self.client
                    .post(url)
                    .header("content-type", "application/x-protobuf")
                    .body(msg.encode_to_vec())
            }
        };
        req = req.header("x-trail-delivery", format!("{}:{first}-{last}", self.log_name));
        for (k, v) in &self.config.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        // Without the URL: its path and query may hold a webhook's secret (logged at WARN).
        let resp = req.send().await.map_err(|e| crate::listen::error_chain(&e.without_url()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("receiver answered {}", resp.status()))
        }
    }
}

/// Trail records as OTLP log records: event name `trail.<kind>`, the event (record and body)
/// as a structured body, the identifying fields as `trail.*` attributes.
pub fn otlp_request(log: &str, records: &[&StoredRecord]) -> ExportLogsServiceRequest {
    let log_records = records
        .iter()
        .map(|r| {
            let f = &r.record.fields;
            let view = serde_json::to_value(EventView::from_stored(r)).unwrap_or(Value::Null);
            let mut attrs = vec![
                kv(
                    "trail.seq",
                    any_value::Value::IntValue(i64::try_from(r.seq).unwrap_or(i64::MAX)),
                ),
                kv("trail.id", any_value::Value::StringValue(r.record.id.clone())),
                kv("trail.hash", any_value::Value::StringValue(r.hash.to_string())),
                kv("trail.kind", any_value::Value::StringValue(f.kind.clone())),
            ];
            for (k, v) in [
                ("trail.status", &f.status),
                ("trail.agent", &f.agent),
                ("trail.session", &f.session),
                ("trail.action", &f.action),
            ] {
                if let Some(v) = v {
                    attrs.push(kv(k, any_value::Value::StringValue(v.clone())));
                }
            }
            let (severity_number, severity_text) = match f.status.as_deref() {
                Some("error" | "failed" | "failure") => (17, "ERROR"),
                Some("denied" | "deny" | "rejected" | "blocked") => (13, "WARN"),
                _ => (9, "INFO"),
            };
            let nanos = u64::try_from(r.record.time.unix_nanos()).unwrap_or(0);
            LogRecord {
                time_unix_nano: nanos,
                observed_time_unix_nano: nanos,
                severity_number,
                severity_text: severity_text.into(),
                body: Some(json_to_any(&view)),
                attributes: attrs,
                trace_id: f
                    .trace_id
                    .as_deref()
                    .and_then(|t| hex::decode(t).ok())
                    .filter(|b| b.len() == 16)
                    .unwrap_or_default(),
                span_id: f
                    .span_id
                    .as_deref()
                    .and_then(|t| hex::decode(t).ok())
                    .filter(|b| b.len() == 8)
                    .unwrap_or_default(),
                event_name: format!("trail.{}", f.kind),
                ..LogRecord::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", any_value::Value::StringValue("trail".into())),
                    kv("trail.origin", any_value::Value::StringValue(log.to_owned())),
                ],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "trail".into(),
                    ..InstrumentationScope::default()
                }),
                log_records,
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }), ..KeyValue::default() }
}

fn json_to_any(v: &Value) -> AnyValue {
    let value = match v {
        Value::Null => None,
        Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64().unwrap_or(0.0)),
        }),
        Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        Value::Array(a) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: a.iter().map(json_to_any).collect(),
        })),
        Value::Object(o) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: o
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: Some(json_to_any(v)),
                    ..KeyValue::default()
                })
                .collect(),
        })),
    };
    AnyValue { value }
}

/// The saved cursor, if any.
pub fn read_cursor(path: &Path) -> Result<Option<u64>, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => t
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("{:?} is not a seq number", t.trim())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes the cursor atomically: a temporary file, synced, renamed over the old one.
pub fn write_cursor(path: &Path, next: u64) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("cursor.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    writeln!(f, "{next}")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
