//! Server settings: the `[server]` and `[[exporters]]` tables of `trail.toml`.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:7700"
//! logs = ["../other-log"]        # more data directories served beside this one
//! max_body_bytes = 8388608       # POST /v1/events, after decompression
//! max_otlp_body_bytes = 67108864 # POST /v1/traces and /v1/logs, after decompression
//! max_otlp_items = 10000         # spans or log records per OTLP request, counted before decoding
//! max_otlp_fields = 500000       # values per OTLP request (resources, scopes, events, attributes, ...)
//! max_buffered_body_bytes = 268435456  # request bytes all requests hold at once; 503 beyond
//! max_tail_buffer_bytes = 1048576 # what one live-tail subscriber may have queued before it is dropped
//! max_batch = 10000              # events per request
//! max_json_depth = 64
//! max_in_flight = 512            # concurrent ingest requests before 429
//! request_timeout_ms = 30000      # a whole request, body included; 503 with Retry-After beyond it
//! header_read_timeout_ms = 10000  # TLS handshake and request headers (slow clients)
//! min_body_bytes_per_s = 1024    # after header_read_timeout_ms, a body slower than this gets 408
//! max_connections = 1024         # open connections; when full the longest-idle one is closed for a new one
//! max_connections_per_address = 256  # open connections from one address
//! tls_cert = "tls/cert.pem"       # both set: serve HTTPS (rustls); relative to the data directory
//! tls_key = "tls/key.pem"         # mode 0600
//! otlp_keep_other = true         # false: drop non-GenAI spans and log records (counted)
//!
//! [[exporters]]
//! name = "alerts"                # cursor file: exporters/alerts.cursor
//! type = "webhook"               # or "otlp" (OTLP/HTTP protobuf logs to `url` + /v1/logs)
//! url = "http://127.0.0.1:9000/hook"  # or https://, verified against the system's roots
//! filter = { statuses = ["denied"], findings = true }   # any criterion matches; none: all
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address to listen on when `--listen` is not given.
    pub listen: Option<String>,
    /// More data directories served beside this one, relative to this one.
    pub logs: Vec<PathBuf>,
    pub max_body_bytes: usize,
    pub max_otlp_body_bytes: usize,
    /// Spans or log records one OTLP request may carry; counted before any is decoded.
    pub max_otlp_items: usize,
    /// Values one OTLP request may carry at any depth (empty resources, scopes, span events and
    /// attribute arrays count too); counted before any is decoded.
    pub max_otlp_fields: usize,
    /// Request body bytes (after decompression) held by all requests at once.
    pub max_buffered_body_bytes: usize,
    /// Bytes one live-tail subscriber may have queued and not read before it is dropped (told
    /// where to resume).
    pub max_tail_buffer_bytes: usize,
    pub max_batch: usize,
    pub max_json_depth: usize,
    pub max_in_flight: usize,
    pub request_timeout_ms: u64,
    /// How long a client may take to finish the TLS handshake and send a request's headers.
    pub header_read_timeout_ms: u64,
    /// The slowest a request body may arrive, on average, once `header_read_timeout_ms` has
    /// passed (0: no minimum), so a client dripping a body cannot hold an ingest slot until
    /// `request_timeout_ms`.
    pub min_body_bytes_per_s: u64,
    /// Connections open at once; when all are open the longest-idle one is closed for a new
    /// one, and with none idle more are answered 503 with Retry-After and closed.
    pub max_connections: usize,
    /// Connections one address may hold at once.
    pub max_connections_per_address: usize,
    /// PEM certificate chain for HTTPS; with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS; with `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Keep spans and log records that follow no known AI convention as `custom.otel` events.
    pub otlp_keep_other: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: None,
            logs: Vec::new(),
            max_body_bytes: 8 << 20,
            max_otlp_body_bytes: 64 << 20,
            max_otlp_items: 10_000,
            max_otlp_fields: 500_000,
            max_buffered_body_bytes: 256 << 20,
            max_tail_buffer_bytes: 1 << 20,
            max_batch: 10_000,
            max_json_depth: 64,
            max_in_flight: 512,
            request_timeout_ms: 30_000,
            header_read_timeout_ms: 10_000,
            min_body_bytes_per_s: 1024,
            max_connections: 1024,
            max_connections_per_address: 256,
            tls_cert: None,
            tls_key: None,
            otlp_keep_other: true,
        }
    }
}

/// The limits the app enforces, from [`ServerSection`].
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_otlp_body_bytes: usize,
    pub max_otlp_items: usize,
    pub max_otlp_fields: usize,
    pub max_buffered_body_bytes: usize,
    pub max_tail_buffer_bytes: usize,
    pub max_batch: usize,
    pub max_json_depth: usize,
    pub max_in_flight: usize,
    pub request_timeout: std::time::Duration,
    /// A request body must arrive at this many bytes a second on average (0: any rate)...
    pub min_body_rate: u64,
    /// ...once this long has passed since the handler started reading it.
    pub body_grace: std::time::Duration,
    pub otlp_keep_other: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from(&ServerSection::default())
    }
}

impl From<&ServerSection> for Limits {
    fn from(s: &ServerSection) -> Limits {
        Limits {
            max_body_bytes: s.max_body_bytes.max(1024),
            max_otlp_body_bytes: s.max_otlp_body_bytes.max(1024),
            max_otlp_items: s.max_otlp_items.max(1),
            max_otlp_fields: s.max_otlp_fields.max(100),
            max_buffered_body_bytes: s.max_buffered_body_bytes.max(s.max_body_bytes).max(1 << 20),
            max_tail_buffer_bytes: s.max_tail_buffer_bytes.max(64 << 10),
            max_batch: s.max_batch.max(1),
            max_json_depth: s.max_json_depth.max(2),
            max_in_flight: s.max_in_flight.max(1),
            request_timeout: std::time::Duration::from_millis(s.request_timeout_ms.max(100)),
            min_body_rate: s.min_body_bytes_per_s,
            body_grace: std::time::Duration::from_millis(s.header_read_timeout_ms.max(100)),
            otlp_keep_other: s.otlp_keep_other,
        }
    }
}

/// One `[[exporters]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterConfig {
    /// Names the cursor file `exporters/<name>.cursor`; letters, digits, `-` and `_`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ExporterKind,
    /// Webhook: the URL POSTed to. OTLP: the base URL; `/v1/logs` is appended unless present.
    pub url: String,
    /// Extra request headers, e.g. `Authorization`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub filter: ExportFilter,
    /// Events per request.
    #[serde(default = "default_batch")]
    pub batch: usize,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "default_backoff_initial")]
    pub backoff_initial_ms: u64,
    #[serde(default = "default_backoff_max")]
    pub backoff_max_ms: u64,
    /// Where a new exporter (no cursor file yet) starts.
    #[serde(default)]
    pub start: ExportStart,
}

fn default_batch() -> usize {
    100
}
fn default_timeout() -> u64 {
    10_000
}
fn default_backoff_initial() -> u64 {
    500
}
fn default_backoff_max() -> u64 {
    60_000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExporterKind {
    Webhook,
    Otlp,
}

/// Where a new exporter starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportStart {
    /// Every event of the log.
    #[default]
    Beginning,
    /// Only events appended after the exporter first starts.
    End,
}

/// Which events an exporter delivers: all when empty, otherwise those matching any criterion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportFilter {
    pub kinds: Vec<String>,
    pub statuses: Vec<String>,
    /// Events in which the scanner found PII or secrets.
    pub findings: bool,
}

impl ExportFilter {
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty() && self.statuses.is_empty() && !self.findings
    }

    pub fn matches(&self, r: &trail_core::Record) -> bool {
        if self.is_empty() {
            return true;
        }
        let f = &r.fields;
        self.kinds.contains(&f.kind)
            || f.status.as_ref().is_some_and(|s| self.statuses.contains(s))
            || (self.findings && !r.findings.is_empty())
    }
}

/// `[[witnesses]]`: a witness this log submits its checkpoints to (C2SP `tlog-witness`).
///
/// ```toml
/// [[witnesses]]
/// name = "witness.example/w1"                 # the name in its vkey
/// url = "https://witness.example/w1"          # its submission prefix; POSTs go to url + /add-checkpoint
/// vkey = "witness.example/w1+1a2b3c4d+BA..."  # its cosigner key (type 0x04 or 0x06)
///
/// [witness]
/// quorum = 2            # cosignatures `?wait=checkpoint` waits for [default: every witness]
/// interval_ms = 1000    # at most one submission per witness this often (public witnesses want a few seconds)
/// timeout_ms = 5000     # one submission
/// wait_ms = 5000        # how long `?wait=checkpoint` waits for the quorum before answering without it
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessTarget {
    pub name: String,
    pub url: String,
    pub vkey: String,
}

/// `[witness]`: how this log uses its witnesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessSection {
    /// Cosignatures a checkpoint needs before `?wait=checkpoint` answers; `None`: every witness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<usize>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub wait_ms: u64,
}

impl Default for WitnessSection {
    fn default() -> Self {
        WitnessSection { quorum: None, interval_ms: 1000, timeout_ms: 5000, wait_ms: 5000 }
    }
}
