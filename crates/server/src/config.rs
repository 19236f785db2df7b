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

pub use trail_datadir::serving::{
    ExportFilter, ExportStart, ExporterConfig, ExporterKind, ServerSection, WitnessSection,
    WitnessTarget,
};

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
