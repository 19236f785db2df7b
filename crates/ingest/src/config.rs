//! How a recorder batches, checkpoints and scans: [`RecorderConfig`] and its defaults.

use std::time::Duration;

use crate::Policy;

/// How a recorder batches, checkpoints and scans.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// Events waiting for the sequencer before `record` waits and `try_record` fails.
    pub queue_capacity: usize,
    /// The most events committed in one transaction.
    pub batch_max: usize,
    /// How long the sequencer waits for more events before committing a partial batch.
    pub batch_linger: Duration,
    /// Sign a checkpoint once this many events are not covered by one.
    pub checkpoint_every: u64,
    /// Sign a checkpoint at least this often while events arrive.
    pub checkpoint_interval: Duration,
    /// What to do with PII and secrets found in bodies.
    pub policy: Policy,
    /// Key for correlation tags in redactions; `None` writes plain `[REDACTED:type]`.
    pub redaction_tag_key: Option<Vec<u8>>,
    /// Leave the `args` of `tool_call` bodies out (Harness's `log_tool_args = false`).
    pub drop_tool_args: bool,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            queue_capacity: 65_536,
            batch_max: 4096,
            batch_linger: Duration::from_millis(2),
            checkpoint_every: 10_000,
            checkpoint_interval: Duration::from_secs(1),
            policy: Policy::default(),
            redaction_tag_key: None,
            drop_tool_args: false,
        }
    }
}
