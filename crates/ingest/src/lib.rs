//! The recorder: how events get into a trail log.
//!
//! ```text
//! record(event) ─► validate, scan/redact, canonicalize body (on the caller's task)
//!               ─► bounded queue ─► one sequencer per log: dedupe ids, assign seq, seal,
//!                  batch by size and linger, commit durably ─► acknowledge each caller
//!               ─► checkpoint every N events or T ms ─► live subscribers
//! ```
//! **Architecture Invariant:** exactly one sequencer task assigns `seq` and appends; an event is
//! acknowledged only after its batch is durable; the queue is bounded; nothing is dropped
//! silently: a full queue makes [`Recorder::record`] wait and [`Recorder::try_record`] fail, a
//! failed write fails every call in the batch, and each rejection is counted in [`Metrics`].
//!
//! Appending an id that already exists returns the existing record and changes nothing.

mod batcher;
mod config;
mod error;
mod metrics;
mod queue;
mod recorder;
mod seal;
mod sequencer;

pub use trail_scan::json::{Mode, Policy};
pub use trail_scan::{ScanConfig, Scanner};

pub use config::RecorderConfig;
pub use error::RecordError;
pub use metrics::{Metrics, MetricsSnapshot};
pub use recorder::{Appended, PreparedEvent, RecordedNow, Recorder, now};
