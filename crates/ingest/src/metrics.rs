//! The recorder's counters ([`Metrics`]) and their point-in-time copy ([`MetricsSnapshot`]).

use std::sync::atomic::AtomicU64;

use serde::Serialize;

/// Counters of everything the recorder did and refused.
#[derive(Debug, Default)]
pub struct Metrics {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected_invalid: AtomicU64,
    pub rejected_blocked: AtomicU64,
    pub rejected_full: AtomicU64,
    pub failed_writes: AtomicU64,
    pub batches: AtomicU64,
    pub checkpoints: AtomicU64,
    pub checkpoint_failures: AtomicU64,
    pub findings: AtomicU64,
}

/// A point-in-time copy of [`Metrics`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected_invalid: u64,
    pub rejected_blocked: u64,
    pub rejected_full: u64,
    pub failed_writes: u64,
    pub batches: u64,
    pub checkpoints: u64,
    pub checkpoint_failures: u64,
    pub findings: u64,
    pub queue_depth: u64,
}
