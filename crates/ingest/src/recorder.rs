//! The public [`Recorder`] handle: opening a log's recorder, recording events (queued, or
//! appended on the caller's task), flushing, closing, subscribing, metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use trail_core::{Event, Hash, NoteSigner};
use trail_store::{Store, StoredRecord};

use crate::error::store_err;
use crate::queue::{Job, Msg};
use crate::sequencer::{Sequencer, still_signed};
use crate::{Metrics, MetricsSnapshot, Mode, RecordError, RecorderConfig, Scanner};

mod prepare;

pub use prepare::now;

/// What an acknowledged event got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appended {
    pub seq: u64,
    pub id: String,
    pub hash: Hash,
    /// False when the id already existed and the existing record was returned.
    pub created: bool,
}

/// An event validated, scanned and canonicalized ([`Recorder::prepare_event`]), to be queued
/// with [`Recorder::enqueue_prepared`]; dropped, it is never recorded.
pub struct PreparedEvent {
    job: Job,
    reply: oneshot::Receiver<Result<Appended, RecordError>>,
}

/// What [`Recorder::record_now`] did with an event.
pub enum RecordedNow {
    /// Appended: its acknowledgement.
    Done(Appended),
    /// Not appended yet, as that would wait: record it with [`Recorder::record_prepared`].
    Later(Box<PreparedEvent>),
}

/// Where [`Recorder::append_here`] left an event.
enum Here {
    /// Appended and acknowledged.
    Done,
    /// To append on a blocking thread, under the sequencer's lock.
    Blocking(tokio::sync::OwnedMutexGuard<Sequencer>, Job),
    /// To queue.
    Queue(Job),
}

/// A handle to one log's recorder. Cheap to clone; the sequencer stops when every handle is
/// closed or dropped.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Msg>,
    scanner: Arc<Scanner>,
    config: Arc<RecorderConfig>,
    metrics: Arc<Metrics>,
    subscribers: broadcast::Sender<Arc<StoredRecord>>,
    checkpoint_size: watch::Receiver<u64>,
    store: Arc<dyn Store>,
    sequencer_task: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    /// False when every type is off: bodies are then not scanned at all.
    scanning: bool,
    /// The sequencer's state: its task commits batches under this lock, and `record` appends
    /// a lone event under it when the store does not sync appends (see [`Recorder::record`]).
    sequencer: Arc<tokio::sync::Mutex<Sequencer>>,
    /// Events sent to the queue and not yet acknowledged or refused.
    unacknowledged: Arc<AtomicU64>,
    /// Wakes the sequencer's task after an event appended on a caller's task left records to sign.
    sign_wake: Arc<tokio::sync::Notify>,
}

impl Recorder {
    /// Starts the sequencer for `store`, signing checkpoints with `signer`.
    pub fn open(
        store: Arc<dyn Store>,
        signer: NoteSigner,
        scanner: Arc<Scanner>,
        config: RecorderConfig,
    ) -> Result<Recorder, RecordError> {
        let state = store.state().map_err(store_err)?;
        still_signed(&*store, &signer).map_err(store_err)?;
        let (queue, queued) = mpsc::channel(config.queue_capacity.max(1));
        let (subscribers, _) = broadcast::channel(4096);
        let checkpointed =
            store.checkpoints().map_err(store_err)?.last().map_or(0, |c| c.checkpoint.size);
        let (checkpoint_size_tx, checkpoint_size) = watch::channel(checkpointed);
        let metrics = Arc::new(Metrics::default());
        let config = Arc::new(config);
        let sequencer = Sequencer {
            store: store.clone(),
            signer,
            config: config.clone(),
            metrics: metrics.clone(),
            subscribers: subscribers.clone(),
            checkpoint_size: checkpoint_size_tx,
            size: state.size,
            last_hash: state.last_hash,
            checkpointed,
            last_checkpoint_at: Instant::now(),
            unsynced: store.quick_appends(),
            speculative_head: Arc::new(std::sync::Mutex::new((state.size, state.last_hash))),
        };
        let sequencer = Arc::new(tokio::sync::Mutex::new(sequencer));
        let unacknowledged = Arc::new(AtomicU64::new(0));
        let sign_wake = Arc::new(tokio::sync::Notify::new());
        let handle = tokio::spawn(Sequencer::run(
            sequencer.clone(),
            queued,
            unacknowledged.clone(),
            sign_wake.clone(),
        ));
        let p = &config.policy;
        let scanning = p.default_pii != Mode::Off
            || p.default_secret != Mode::Off
            || p.per_type.values().any(|m| *m != Mode::Off);
        Ok(Recorder {
            scanning,
            queue,
            scanner,
            config,
            metrics,
            subscribers,
            checkpoint_size,
            store,
            sequencer_task: Arc::new(tokio::sync::Mutex::new(Some(handle))),
            sequencer,
            unacknowledged,
            sign_wake,
        })
    }

    /// Records one event, waiting while the queue is full; returns once it is durable.
    ///
    /// When no event is queued or being committed, the event is sealed and appended without the
    /// queue: right here, on the caller's task, when the store's appends are quick (a local store
    /// that does not sync them: [`Store::quick_appends`]), since such an append takes
    /// microseconds, less than handing the event to the sequencer's task and waking this one
    /// again (on a multi-thread runtime each hand-off can wake a parked thread); otherwise on a
    /// blocking thread, one hand-off where the queue takes three.
    /// Anything the fast way cannot finish (a store error, a known id) goes the usual way, whose
    /// recovery handles it.
    pub async fn record(&self, event: Event) -> Result<Appended, RecordError> {
        let (job, rx) = self.prepare(event)?;
        self.record_job(job, rx).await
    }

    /// Records one event at once when nothing needs waiting for: the store's appends are quick
    /// (see [`Recorder::record`]), nothing is queued and the sequencer's lock is free. Otherwise
    /// gives the event back prepared, for [`Recorder::record_prepared`]. For callers outside
    /// the runtime (the Python package), which would otherwise enter it for every event.
    pub fn record_now(&self, event: Event) -> Result<RecordedNow, RecordError> {
        let (job, mut reply) = self.prepare(event)?;
        let job = match self.sequencer.try_lock() {
            Ok(mut sequencer)
                if sequencer.unsynced && self.unacknowledged.load(Ordering::Acquire) == 0 =>
            {
                match sequencer.append_one(job, &self.sign_wake) {
                    None => {
                        drop(sequencer);
                        return match reply.try_recv() {
                            Ok(acknowledged) => acknowledged.map(RecordedNow::Done),
                            Err(_) => Err(RecordError::Closed),
                        };
                    }
                    Some(job) => job,
                }
            }
            _ => job,
        };
        Ok(RecordedNow::Later(Box::new(PreparedEvent { job, reply })))
    }

    /// Records an event prepared by [`Recorder::prepare_event`] or given back by
    /// [`Recorder::record_now`], as [`Recorder::record`] does.
    pub async fn record_prepared(&self, event: PreparedEvent) -> Result<Appended, RecordError> {
        self.record_job(event.job, event.reply).await
    }

    async fn record_job(
        &self,
        job: Job,
        rx: oneshot::Receiver<Result<Appended, RecordError>>,
    ) -> Result<Appended, RecordError> {
        let job = match self.append_here(job).await {
            Here::Done => return rx.await.map_err(|_| RecordError::Closed)?,
            Here::Blocking(sequencer, job) => {
                let sign_wake = self.sign_wake.clone();
                let back = tokio::task::spawn_blocking(move || {
                    let mut sequencer = sequencer;
                    sequencer.append_one(job, &sign_wake)
                })
                .await
                .map_err(|e| RecordError::Store(e.to_string()))?;
                match back {
                    None => return rx.await.map_err(|_| RecordError::Closed)?,
                    Some(job) => job,
                }
            }
            Here::Queue(job) => job,
        };
        self.unacknowledged.fetch_add(1, Ordering::AcqRel);
        if self.queue.send(Msg::Event(Box::new(job))).await.is_err() {
            self.unacknowledged.fetch_sub(1, Ordering::AcqRel);
            return Err(RecordError::Closed);
        }
        rx.await.map_err(|_| RecordError::Closed)?
    }

    /// Appends a lone event without the queue when nothing is queued or committing: on this
    /// task when the store does not sync appends, or on a blocking thread (one hand-off, instead
    /// of the queue's three) when it does. Gives the job back otherwise.
    ///
    /// With nothing queued, the sequencer's lock is held only for moments (its task reading
    /// whether a checkpoint is due, or recording one signed), so this waits for it: giving the
    /// event to the queue instead would wait for the batcher's linger. The one await is before
    /// anything is done, and the store call holds none, so a caller that gives up cannot leave
    /// an append half done.
    async fn append_here(&self, job: Job) -> Here {
        if self.unacknowledged.load(Ordering::Acquire) != 0 {
            return Here::Queue(job);
        }
        let mut sequencer = match self.sequencer.clone().try_lock_owned() {
            Ok(s) => s,
            Err(_) => self.sequencer.clone().lock_owned().await,
        };
        // Checked again under the lock: every event sent before this one is acknowledged, so
        // one caller's events stay in the order it sent them.
        if self.unacknowledged.load(Ordering::Acquire) != 0 {
            return Here::Queue(job);
        }
        if !sequencer.unsynced {
            return Here::Blocking(sequencer, job);
        }
        match sequencer.append_one(job, &self.sign_wake) {
            None => Here::Done,
            Some(job) => Here::Queue(job),
        }
    }

    /// Like [`Recorder::record`], as a future that owns what it needs.
    pub fn record_owned(
        &self,
        event: Event,
    ) -> impl Future<Output = Result<Appended, RecordError>> + Send + 'static {
        let this = self.clone();
        async move { this.record(event).await }
    }

    /// Records one event if the queue has room, failing with [`RecordError::Full`] otherwise;
    /// the returned future resolves once the event is durable.
    pub fn try_record(
        &self,
        event: Event,
    ) -> Result<impl Future<Output = Result<Appended, RecordError>> + Send + use<>, RecordError>
    {
        let (job, rx) = self.prepare(event)?;
        self.unacknowledged.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.queue.try_send(Msg::Event(Box::new(job))) {
            self.unacknowledged.fetch_sub(1, Ordering::AcqRel);
            return Err(match e {
                mpsc::error::TrySendError::Full(_) => {
                    self.metrics.rejected_full.fetch_add(1, Ordering::Relaxed);
                    RecordError::Full { capacity: self.config.queue_capacity }
                }
                mpsc::error::TrySendError::Closed(_) => RecordError::Closed,
            });
        }
        Ok(async move { rx.await.map_err(|_| RecordError::Closed)? })
    }

    /// Queues one event, waiting for room when the queue is full; the returned future resolves
    /// once the event is durable. A caller queueing many events this way before awaiting any
    /// has them committed together, and gives no event up (or prepares it twice) when the
    /// queue fills.
    pub async fn enqueue(
        &self,
        event: Event,
    ) -> Result<impl Future<Output = Result<Appended, RecordError>> + Send + use<>, RecordError>
    {
        self.enqueue_prepared(self.prepare_event(event)?).await
    }

    /// Validates, scans and canonicalizes an event for [`Recorder::enqueue_prepared`]. This
    /// depends on nothing but the event and the log's policy, so a caller with many events may
    /// prepare them on several threads and queue them in their order.
    pub fn prepare_event(&self, event: Event) -> Result<PreparedEvent, RecordError> {
        let (job, reply) = self.prepare(event)?;
        Ok(PreparedEvent { job, reply })
    }

    /// Queues a prepared event as [`Recorder::enqueue`] does.
    pub async fn enqueue_prepared(
        &self,
        event: PreparedEvent,
    ) -> Result<impl Future<Output = Result<Appended, RecordError>> + Send + use<>, RecordError>
    {
        let PreparedEvent { job, reply } = event;
        self.unacknowledged.fetch_add(1, Ordering::AcqRel);
        if self.queue.send(Msg::Event(Box::new(job))).await.is_err() {
            self.unacknowledged.fetch_sub(1, Ordering::AcqRel);
            return Err(RecordError::Closed);
        }
        Ok(async move { reply.await.map_err(|_| RecordError::Closed)? })
    }

    /// Commits everything queued so far and signs a checkpoint covering it.
    pub async fn flush(&self) -> Result<(), RecordError> {
        let (tx, rx) = oneshot::channel();
        self.queue.send(Msg::Flush(tx)).await.map_err(|_| RecordError::Closed)?;
        rx.await.map_err(|_| RecordError::Closed)?
    }

    /// Flushes, signs a final checkpoint and stops the sequencer.
    pub async fn close(self) -> Result<(), RecordError> {
        let flushed = self.flush().await;
        let handle = self.sequencer_task.lock().await.take();
        drop(self.queue);
        if let Some(h) = handle {
            // Other clones may still hold senders; the sequencer stops when the last one goes.
            if Arc::strong_count(&self.sequencer_task) == 1 {
                let _ = h.await;
            }
        }
        flushed
    }

    /// Live records, fed after each commit. A subscriber that falls behind by more than 4096
    /// records gets `RecvError::Lagged` and should re-read from the store.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredRecord>> {
        self.subscribers.subscribe()
    }

    /// The size of the latest signed checkpoint, updated as new ones are stored.
    pub fn checkpoints(&self) -> watch::Receiver<u64> {
        self.checkpoint_size.clone()
    }

    /// The store behind this recorder.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The scanner used on bodies.
    pub fn scanner(&self) -> &Arc<Scanner> {
        &self.scanner
    }

    /// Counters so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        let m = &self.metrics;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            accepted: get(&m.accepted),
            duplicates: get(&m.duplicates),
            rejected_invalid: get(&m.rejected_invalid),
            rejected_blocked: get(&m.rejected_blocked),
            rejected_full: get(&m.rejected_full),
            failed_writes: get(&m.failed_writes),
            batches: get(&m.batches),
            checkpoints: get(&m.checkpoints),
            checkpoint_failures: get(&m.checkpoint_failures),
            findings: get(&m.findings),
            queue_depth: (self.config.queue_capacity - self.queue.capacity()) as u64,
        }
    }
}
