//! The sequencer: the single serial step that commits sealed batches (or one event appended
//! directly), acknowledges each caller, feeds subscribers and signs checkpoints.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, watch};
use trail_core::{Checkpoint, Hash, NoteSigner};
use trail_store::{Store, StoreError, StoredRecord};

use crate::batcher::{SealedBatch, Stage, batcher};
use crate::error::store_err;
use crate::queue::{Job, Msg};
use crate::seal::seal_jobs;
use crate::{Appended, Metrics, RecordError, RecorderConfig};

/// The largest batch the sequencer writes on its own task when appends are not synced.
const INLINE_MAX: usize = 4;

pub(crate) struct Sequencer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) signer: NoteSigner,
    pub(crate) config: Arc<RecorderConfig>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) subscribers: broadcast::Sender<Arc<StoredRecord>>,
    pub(crate) checkpoint_size: watch::Sender<u64>,
    pub(crate) size: u64,
    pub(crate) last_hash: Hash,
    pub(crate) checkpointed: u64,
    pub(crate) last_checkpoint_at: Instant,
    /// The store's appends are quick (local and not synced: [`Store::quick_appends`]).
    pub(crate) unsynced: bool,
    /// The end of the chain the batcher seals on, ahead of what is committed.
    pub(crate) speculative_head: Arc<std::sync::Mutex<(u64, Hash)>>,
}

impl Sequencer {
    pub(crate) async fn run(
        sequencer: Arc<tokio::sync::Mutex<Sequencer>>,
        queue: mpsc::Receiver<Msg>,
        unacknowledged: Arc<AtomicU64>,
        sign_wake: Arc<tokio::sync::Notify>,
    ) {
        let (to_sequencer, mut staged) = mpsc::channel(2);
        let batches_in_flight = Arc::new(AtomicU64::new(0));
        {
            let s = sequencer.lock().await;
            let origin = s.store.origin().to_owned();
            let speculative_head = s.speculative_head.clone();
            tokio::spawn(batcher(
                queue,
                to_sequencer,
                speculative_head,
                origin,
                s.config.clone(),
                batches_in_flight.clone(),
            ));
        }
        loop {
            // While records wait for a signature, wait for the next batch no longer than the
            // checkpoint interval: a log that goes quiet still gets its tail signed. Events
            // appended on callers' tasks wake this loop through `sign_wake` when they leave
            // records to sign.
            let due = {
                let s = sequencer.lock().await;
                (s.size > s.checkpointed)
                    .then(|| s.last_checkpoint_at + s.config.checkpoint_interval)
            };
            let stage = tokio::select! {
                stage = staged.recv() => stage,
                () = sign_wake.notified() => {
                    let due = {
                        let s = sequencer.lock().await;
                        s.size - s.checkpointed >= s.config.checkpoint_every
                    };
                    if due {
                        let _ = sign_checkpoint(&sequencer).await;
                    }
                    continue;
                }
                () = sleep_until(due) => {
                    let due = {
                        let s = sequencer.lock().await;
                        s.size > s.checkpointed
                            && s.last_checkpoint_at.elapsed() >= s.config.checkpoint_interval
                    };
                    if due && sign_checkpoint(&sequencer).await.is_err() {
                        // Counted and logged; try again one interval later, not at once.
                        sequencer.lock().await.last_checkpoint_at = Instant::now();
                    }
                    continue;
                }
            };
            let Some(stage) = stage else { break };
            match stage {
                Stage::Batch(batch) => {
                    let n = batch.jobs.len() as u64;
                    let due = {
                        let mut s = sequencer.lock().await;
                        s.commit(batch).await;
                        batches_in_flight.fetch_sub(1, Ordering::AcqRel);
                        unacknowledged.fetch_sub(n, Ordering::AcqRel);
                        s.due()
                    };
                    if due {
                        let _ = sign_checkpoint(&sequencer).await;
                    }
                }
                Stage::Flush(reply) => {
                    let _ = reply.send(sign_checkpoint(&sequencer).await);
                }
            }
        }
        // Every handle is gone: commit nothing more, but leave a checkpoint behind.
        let _ = sign_checkpoint(&sequencer).await;
    }

    /// A checkpoint is due: by count, or by time while records wait for one.
    fn due(&self) -> bool {
        self.size - self.checkpointed >= self.config.checkpoint_every
            || (self.size > self.checkpointed
                && self.last_checkpoint_at.elapsed() >= self.config.checkpoint_interval)
    }

    /// Seals and appends one job after the committed chain, without waiting; acknowledges it.
    /// Gives the job back when the store refuses it (the usual path then resolves a known id
    /// or reports the error).
    pub(crate) fn append_one(&mut self, job: Job, sign_wake: &tokio::sync::Notify) -> Option<Job> {
        let (size, prev) = (self.size, self.last_hash);
        let Job { prepared, reply } = job;
        let sealed = prepared.seal(self.store.origin(), size, prev);
        let (hash, id) = (sealed.hash, sealed.record.id.clone());
        let published = (self.subscribers.receiver_count() > 0)
            .then(|| Arc::new(StoredRecord::from_sealed(&sealed)));
        if let Err(refused) = self.store.append_one(sealed) {
            return Some(Job { prepared: refused.1.unseal(), reply });
        }
        let was_signed = self.size == self.checkpointed;
        (self.size, self.last_hash) = (size + 1, hash);
        {
            // The batcher seals on `speculative_head`; move it along unless it is already ahead
            // (then the batch it sealed is resealed after this record when it is committed).
            let mut head =
                self.speculative_head.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if *head == (size, prev) {
                *head = (self.size, self.last_hash);
            }
        }
        self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
        self.metrics.batches.fetch_add(1, Ordering::Relaxed);
        let ack = Appended { seq: size, id, hash, created: true };
        if let Some(record) = published {
            let _ = self.subscribers.send(record);
        }
        let _ = reply.send(Ok(ack));
        // Once when the first record waits for a checkpoint (its task then waits one interval),
        // and once when enough wait: not on every append after that while a checkpoint is
        // being signed (its task would take the lock from this caller again and again).
        if was_signed || self.size - self.checkpointed == self.config.checkpoint_every {
            sign_wake.notify_one();
        }
        None
    }

    /// Commits one batch durably, then acknowledges it. Optimistic about ids: most are new (and
    /// generated ids always are), so it appends first and looks ids up only when the store
    /// reports one that exists; the store checks ids inside the same transaction, so a duplicate
    /// can never be appended.
    async fn commit(&mut self, batch: SealedBatch) {
        let SealedBatch { jobs, start, mut sealed } = batch;
        let durable = (self.size, self.last_hash);
        let origin = self.store.origin().to_owned();
        let mut known: HashMap<String, Appended> = HashMap::new();
        let mut resealed = start != durable;
        if resealed {
            sealed = seal_jobs(&origin, durable, &jobs, &known);
        }
        for attempt in 1..=2 {
            let records = Arc::new(std::mem::take(&mut sealed.records));
            let to_store = records.clone();
            let store = self.store.clone();
            let result = if records.is_empty() {
                Ok(Ok(()))
            } else if self.unsynced && records.len() <= INLINE_MAX {
                // A few records written without a sync take less time than handing them to
                // another thread and waking this one again (measured with one event per
                // call: p50 309 -> 208 us on SQLite, 168 -> 90 us on files).
                Ok(store.append(&to_store))
            } else {
                tokio::task::spawn_blocking(move || store.append(&to_store)).await
            };
            let result = match result {
                Ok(r) => r,
                Err(e) => return self.fail(jobs, &RecordError::Store(e.to_string())),
            };
            // A store can report an error for a batch it did commit (PostgreSQL when the
            // connection drops during COMMIT). The durable head says which: if it is this
            // batch's end, the batch is durable and is acknowledged like any other.
            let head = match &result {
                Err(_) if !records.is_empty() => self.durable_head().await,
                _ => None,
            };
            let result = match result {
                Err(e) if head == Some(sealed.end) => {
                    tracing::warn!(error = %e, events = records.len(), "the store reported an error for a batch it committed; acknowledging the batch");
                    Ok(())
                }
                other => other,
            };
            match result {
                Ok(()) => {
                    known.extend(sealed.acks.drain());
                    (self.size, self.last_hash) = sealed.end;
                    if resealed {
                        // Later batches were sealed on a chain that did not happen; they will be
                        // resealed when they arrive. New ones continue from here.
                        *self
                            .speculative_head
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = sealed.end;
                    }
                    if !records.is_empty() {
                        self.metrics.batches.fetch_add(1, Ordering::Relaxed);
                    }
                    self.acknowledge(jobs, &sealed.fresh, &known);
                    if self.subscribers.receiver_count() > 0 {
                        for s in records.iter() {
                            let _ = self.subscribers.send(Arc::new(StoredRecord::from_sealed(s)));
                        }
                    }
                    return;
                }
                Err(StoreError::DuplicateId { .. }) if attempt == 1 => {
                    let ids: Vec<String> = jobs.iter().map(|j| j.prepared.id.clone()).collect();
                    let store = self.store.clone();
                    let found = tokio::task::spawn_blocking(move || {
                        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                        store.find_ids(&refs)
                    })
                    .await;
                    match found {
                        Ok(Ok(found)) => {
                            for r in found {
                                let a = Appended {
                                    seq: r.seq,
                                    id: r.record.id.clone(),
                                    hash: r.hash,
                                    created: false,
                                };
                                known.insert(r.record.id, a);
                            }
                        }
                        Ok(Err(e)) => return self.fail(jobs, &store_err(e)),
                        Err(e) => return self.fail(jobs, &RecordError::Store(e.to_string())),
                    }
                    sealed = seal_jobs(&origin, durable, &jobs, &known);
                    resealed = true;
                }
                Err(e) => {
                    let e = store_err(e);
                    tracing::error!(error = %e, events = jobs.len(), "batch commit failed; every event in it was refused");
                    // Later batches continue the durable chain, even when an earlier batch that
                    // was reported failed turned out to be committed.
                    if let Some(durable) = head.filter(|h| h.0 > self.size) {
                        tracing::warn!(
                            size = durable.0,
                            "the store holds more than was acknowledged; continuing after it"
                        );
                        (self.size, self.last_hash) = durable;
                    }
                    return self.fail(jobs, &e);
                }
            }
        }
    }

    fn acknowledge(&self, jobs: Vec<Job>, fresh: &[bool], known: &HashMap<String, Appended>) {
        for (job, &fresh) in jobs.into_iter().zip(fresh) {
            let Some(mut ack) = known.get(&job.prepared.id).cloned() else {
                let _ = job.reply.send(Err(RecordError::Store(format!(
                    "id {} was not resolved",
                    job.prepared.id
                ))));
                continue;
            };
            if fresh {
                self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
            } else {
                ack.created = false;
                self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
            }
            let _ = job.reply.send(Ok(ack));
        }
    }

    /// The store's head (size, last hash), or `None` if it cannot be read.
    async fn durable_head(&self) -> Option<(u64, Hash)> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.state()).await {
            Ok(Ok(s)) => Some((s.size, s.last_hash)),
            _ => None,
        }
    }

    /// Refuses every event of a batch; later batches are resealed after the durable chain.
    fn fail(&self, jobs: Vec<Job>, e: &RecordError) {
        *self.speculative_head.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            (self.size, self.last_hash);
        self.metrics.failed_writes.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        for j in jobs {
            let _ = j.reply.send(Err(e.clone()));
        }
    }

    /// What signing a checkpoint over every record appended so far needs; `None` when the
    /// latest checkpoint covers them all.
    fn to_sign(&self) -> Option<ToSign> {
        (self.size > self.checkpointed).then(|| ToSign {
            store: self.store.clone(),
            signer: self.signer.clone(),
            expected: Some(self.checkpointed).filter(|&s| s > 0),
            size: self.size,
        })
    }

    /// Records the outcome of signing the checkpoint of `size`.
    fn signed(&mut self, size: u64, result: Result<(), StoreError>) -> Result<(), RecordError> {
        match result {
            Ok(()) => {
                self.checkpointed = self.checkpointed.max(size);
                self.last_checkpoint_at = Instant::now();
                self.metrics.checkpoints.fetch_add(1, Ordering::Relaxed);
                let _ = self.checkpoint_size.send(self.checkpointed);
                Ok(())
            }
            Err(e) => {
                self.metrics.checkpoint_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, size, "checkpoint not stored");
                Err(store_err(e))
            }
        }
    }
}

/// A checkpoint to sign, over the records appended when it was taken.
struct ToSign {
    store: Arc<dyn Store>,
    signer: NoteSigner,
    /// The size of the latest checkpoint this sequencer stored (the store refuses the new one
    /// if another writer stored one since); `None` before the first.
    expected: Option<u64>,
    size: u64,
}

impl ToSign {
    /// Signs the tree of `size` records and stores the checkpoint (which makes them durable
    /// first). Blocking: checks the stored tree, may sync.
    fn sign(self) -> Result<(), StoreError> {
        let ToSign { store, signer, expected, size } = self;
        let expected = match expected {
            Some(s) => Some(s),
            None => store.checkpoints()?.last().map(|c| c.checkpoint.size),
        };
        // Never sign a tree that no longer contains what was signed before.
        still_signed(&*store, &signer)?;
        let root = store.root_at(size)?;
        let cp = Checkpoint { origin: store.origin().to_owned(), size, root }.sign(&signer);
        store.put_checkpoint(expected, &cp)
    }
}

/// Signs and stores a checkpoint over every record appended so far. The sequencer's lock is
/// held only to read what to sign and to record the outcome, not while the store checks its
/// tree and syncs: events keep being appended meanwhile (the records the checkpoint covers are
/// those appended before it was taken, and their root is read at that size). A store that
/// takes only checkpoints of its current size ([`Store::checkpoints_at_head_only`]) is signed
/// with the lock held throughout, as appends meanwhile would make the checkpoint too old.
async fn sign_checkpoint(sequencer: &tokio::sync::Mutex<Sequencer>) -> Result<(), RecordError> {
    let mut held = sequencer.lock().await;
    let Some(mut to_sign) = held.to_sign() else { return Ok(()) };
    if to_sign.store.checkpoints_at_head_only() {
        // Most of storing the checkpoint is its sync: done first without the lock (so events
        // keep being appended), the sync with the lock held covers only what came meanwhile.
        drop(held);
        let store = to_sign.store.clone();
        let synced = tokio::task::spawn_blocking(move || store.sync_appended()).await;
        if let Ok(Err(e)) = synced {
            tracing::warn!(error = %e, "syncing the log before a checkpoint failed");
        }
        held = sequencer.lock().await;
        match held.to_sign() {
            Some(t) => to_sign = t,
            None => return Ok(()),
        }
    }
    let held = to_sign.store.checkpoints_at_head_only().then_some(held);
    let size = to_sign.size;
    let result = tokio::task::spawn_blocking(move || to_sign.sign())
        .await
        .map_err(|e| RecordError::Store(e.to_string()))?;
    match held {
        Some(mut s) => s.signed(size, result),
        None => sequencer.lock().await.signed(size, result),
    }
}

/// Checks that the stored tree still has, at the latest stored checkpoint's size, the root that
/// checkpoint signs (and that this log's key signed it). Records rewritten outside trail, even
/// with every hash and tree node recomputed, fail here, so the recorder refuses to append to
/// them or to sign a new checkpoint over them: a signed history is never forked by trail itself.
pub(crate) fn still_signed(
    store: &dyn Store,
    signer: &trail_core::NoteSigner,
) -> Result<(), StoreError> {
    let Some(cp) = store.latest_checkpoint()? else { return Ok(()) };
    let size = cp.checkpoint.size;
    if cp.verify(&[signer.verifier()]).is_err() {
        return Err(StoreError::Invalid(format!(
            "the latest stored checkpoint (size {size}) is not signed by this log's key: the log \
             was changed outside trail; nothing is appended or signed until it is restored (run \
             `trail verify`)"
        )));
    }
    let root = store.root_at(size)?;
    if root != cp.checkpoint.root {
        return Err(StoreError::Invalid(format!(
            "the stored records no longer hash to the root the checkpoint of size {size} signs: \
             the log was changed outside trail; nothing is appended or signed until it is \
             restored (run `trail verify`)"
        )));
    }
    Ok(())
}

/// Sleeps until `due`, or for ever.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due.into()).await,
        None => std::future::pending().await,
    }
}
