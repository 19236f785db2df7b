//! Sealing prepared events onto a chain: the batcher seals on the speculative chain, the
//! sequencer reseals on the durable one.

use std::collections::HashMap;

use trail_core::{Hash, Sealed};

use crate::Appended;
use crate::queue::Job;

/// The result of sealing jobs: records, per-job freshness, the end of the chain, new acks.
pub(crate) struct SealedJobs {
    pub(crate) records: Vec<Sealed>,
    pub(crate) fresh: Vec<bool>,
    pub(crate) end: (u64, Hash),
    pub(crate) acks: HashMap<String, Appended>,
}

/// Seals the jobs whose ids are not `known` after `start`. Ids repeated within the jobs resolve
/// to their first occurrence.
pub(crate) fn seal_jobs(
    origin: &str,
    start: (u64, Hash),
    jobs: &[Job],
    known: &HashMap<String, Appended>,
) -> SealedJobs {
    let (mut size, mut prev) = start;
    let mut records = Vec::with_capacity(jobs.len());
    let mut fresh = Vec::with_capacity(jobs.len());
    let mut acks: HashMap<String, Appended> = HashMap::new();
    for job in jobs {
        let id = job.prepared.id.as_str();
        if known.contains_key(id) || acks.contains_key(id) {
            fresh.push(false);
            continue;
        }
        let s = job.prepared.clone().seal(origin, size, prev);
        acks.insert(
            id.to_owned(),
            Appended { seq: size, id: id.to_owned(), hash: s.hash, created: true },
        );
        prev = s.hash;
        size += 1;
        fresh.push(true);
        records.push(s);
    }
    SealedJobs { records, fresh, end: (size, prev), acks }
}
