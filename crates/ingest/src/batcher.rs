//! The batcher: the task that gathers queued events into batches and seals them ahead of their
//! commit, handing them (and flush requests) to the sequencer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use trail_core::Hash;

use crate::queue::{Job, Msg};
use crate::seal::{SealedJobs, seal_jobs};
use crate::{RecordError, RecorderConfig};

/// A batch sealed ahead of its commit, on the speculative chain.
pub(crate) struct SealedBatch {
    pub(crate) jobs: Vec<Job>,
    /// Size and last hash the batch was sealed after.
    pub(crate) start: (u64, Hash),
    pub(crate) sealed: SealedJobs,
}

/// What the batcher hands the committer.
pub(crate) enum Stage {
    Batch(SealedBatch),
    Flush(oneshot::Sender<Result<(), RecordError>>),
}

/// Gathers events into batches by size and linger time and seals them on the speculative chain
/// (`speculative_head`), so sealing the next batch overlaps the commit of the previous one. The
/// committer reseals a batch whose start no longer matches the durable chain (after a failure or
/// a duplicate id), so speculation never reaches the store.
///
/// The linger only pays while the committer is busy: events that arrive during a commit join
/// the next batch. When no batch is staged or committing (`batches_in_flight` is 0) and nothing
/// more is queued, the batch goes at once, so a lone event waits for its own commit and not also
/// for the linger (which was 2 ms of about 4 ms per acknowledged event on a disk that fsyncs in 2).
pub(crate) async fn batcher(
    mut queue: mpsc::Receiver<Msg>,
    to_sequencer: mpsc::Sender<Stage>,
    speculative_head: Arc<std::sync::Mutex<(u64, Hash)>>,
    origin: String,
    config: Arc<RecorderConfig>,
    batches_in_flight: Arc<AtomicU64>,
) {
    let mut jobs: Vec<Job> = Vec::new();
    loop {
        let Some(first) = queue.recv().await else { break };
        let deadline = tokio::time::Instant::now() + config.batch_linger;
        let mut msg = Some(first);
        let mut flush = None;
        loop {
            match msg.take() {
                Some(Msg::Event(job)) => jobs.push(*job),
                Some(Msg::Flush(reply)) => {
                    flush = Some(reply);
                    break;
                }
                None => {}
            }
            if jobs.len() >= config.batch_max {
                break;
            }
            match queue.try_recv() {
                Ok(m) => msg = Some(m),
                Err(_) if batches_in_flight.load(Ordering::Acquire) == 0 => break,
                Err(_) => match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(m)) => msg = Some(m),
                    _ => break,
                },
            }
        }
        if !jobs.is_empty() {
            let batch = std::mem::take(&mut jobs);
            let (start, sealed) = {
                let mut head =
                    speculative_head.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let start = *head;
                let sealed = seal_jobs(&origin, start, &batch, &HashMap::new());
                *head = sealed.end;
                (start, sealed)
            };
            batches_in_flight.fetch_add(1, Ordering::AcqRel);
            if to_sequencer
                .send(Stage::Batch(SealedBatch { jobs: batch, start, sealed }))
                .await
                .is_err()
            {
                return;
            }
        }
        if let Some(reply) = flush
            && to_sequencer.send(Stage::Flush(reply)).await.is_err()
        {
            return;
        }
    }
}
