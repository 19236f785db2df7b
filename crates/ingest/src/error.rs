//! Why an event was not recorded: [`RecordError`], and how store errors become one.

use trail_core::EventError;
use trail_store::StoreError;

/// Why an event was not recorded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RecordError {
    #[error("invalid event: {0}")]
    Invalid(#[from] EventError),
    #[error("event refused: {0}")]
    Blocked(String),
    #[error("the recorder queue is full ({capacity} events waiting); retry later")]
    Full { capacity: usize },
    #[error("the recorder is closed")]
    Closed,
    #[error("the event was not stored: {0}")]
    Store(String),
}

pub(crate) fn store_err(e: StoreError) -> RecordError {
    RecordError::Store(e.to_string())
}
