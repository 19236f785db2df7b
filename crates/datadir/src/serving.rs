//! The tables of `trail.toml` that `trail serve` reads: `[server]`, `[[exporters]]`,
//! `[[witnesses]]` and `[witness]` (their meaning: `trail_server::config`, `exporter`,
//! `witnessing`). They live here, with the rest of the file's schema, so every reader of a data
//! directory parses one schema.

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
