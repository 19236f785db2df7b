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

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use trail_core::{
    Checkpoint, Event, EventError, FindingSummary, Hash, NoteSigner, Prepared, Sealed, Timestamp,
};
use trail_store::{Store, StoreError, StoredRecord};

pub use trail_scan::json::{Mode, Policy};
pub use trail_scan::{ScanConfig, Scanner};

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

/// What an acknowledged event got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appended {
    pub seq: u64,
    pub id: String,
    pub hash: Hash,
    /// False when the id already existed and the existing record was returned.
    pub created: bool,
}

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

struct Job {
    prepared: Prepared,
    reply: oneshot::Sender<Result<Appended, RecordError>>,
}

enum Msg {
    Event(Box<Job>),
    Flush(oneshot::Sender<Result<(), RecordError>>),
}

/// A handle to one log's recorder. Cheap to clone; the sequencer stops when every handle is
/// closed or dropped.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    scanner: Arc<Scanner>,
    config: Arc<RecorderConfig>,
    metrics: Arc<Metrics>,
    events: broadcast::Sender<Arc<StoredRecord>>,
    checkpoint: watch::Receiver<u64>,
    store: Arc<dyn Store>,
    done: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    /// False when every type is off: bodies are then not scanned at all.
    scanning: bool,
    /// The sequencer's state: its task commits batches under this lock, and `record` appends
    /// a lone event under it when the store does not sync appends (see [`Recorder::record`]).
    seq: Arc<tokio::sync::Mutex<Sequencer>>,
    /// Events sent to the queue and not yet acknowledged or refused.
    pipeline: Arc<AtomicU64>,
    /// Wakes the sequencer's task after an event appended on a caller's task left records to sign.
    tail: Arc<tokio::sync::Notify>,
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
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let (events, _) = broadcast::channel(4096);
        let latest =
            store.checkpoints().map_err(store_err)?.last().map_or(0, |c| c.checkpoint.size);
        let (cp_tx, checkpoint) = watch::channel(latest);
        let metrics = Arc::new(Metrics::default());
        let config = Arc::new(config);
        let seq = Sequencer {
            store: store.clone(),
            signer,
            config: config.clone(),
            metrics: metrics.clone(),
            events: events.clone(),
            checkpoint: cp_tx,
            size: state.size,
            last_hash: state.last_hash,
            checkpointed: latest,
            last_checkpoint_at: Instant::now(),
            unsynced: store.quick_appends(),
            spec: Arc::new(std::sync::Mutex::new((state.size, state.last_hash))),
        };
        let seq = Arc::new(tokio::sync::Mutex::new(seq));
        let pipeline = Arc::new(AtomicU64::new(0));
        let tail = Arc::new(tokio::sync::Notify::new());
        let handle = tokio::spawn(Sequencer::run(seq.clone(), rx, pipeline.clone(), tail.clone()));
        let p = &config.policy;
        let scanning = p.default_pii != Mode::Off
            || p.default_secret != Mode::Off
            || p.per_type.values().any(|m| *m != Mode::Off);
        Ok(Recorder {
            scanning,
            tx,
            scanner,
            config,
            metrics,
            events,
            checkpoint,
            store,
            done: Arc::new(tokio::sync::Mutex::new(Some(handle))),
            seq,
            pipeline,
            tail,
        })
    }

    /// Records one event, waiting while the queue is full; returns once it is durable.
    ///
    /// When the store's appends are quick (a local store that does not sync them:
    /// [`Store::quick_appends`]) and no event is queued or being committed, the event is sealed
    /// and appended right here, on the caller's task: such an append takes microseconds, less
    /// than handing the event to the sequencer's task and waking this one again (on a
    /// multi-thread runtime each hand-off can wake a parked thread).
    /// Anything the fast way cannot finish (a store error, a known id) goes the usual way, whose
    /// recovery handles it.
    pub async fn record(&self, event: Event) -> Result<Appended, RecordError> {
        let (job, rx) = self.prepare(event)?;
        if let Some(job) = self.append_here(job) {
            self.pipeline.fetch_add(1, Ordering::AcqRel);
            if self.tx.send(Msg::Event(Box::new(job))).await.is_err() {
                self.pipeline.fetch_sub(1, Ordering::AcqRel);
                return Err(RecordError::Closed);
            }
        }
        rx.await.map_err(|_| RecordError::Closed)?
    }

    /// Appends a lone event on this task when nothing is queued or committing and the store does
    /// not sync appends; gives the job back otherwise. Never waits: the lock is only tried, and
    /// the store call holds no await, so a caller that gives up cannot leave it half done.
    fn append_here(&self, job: Job) -> Option<Job> {
        if self.pipeline.load(Ordering::Acquire) != 0 {
            return Some(job);
        }
        let Ok(mut seq) = self.seq.try_lock() else { return Some(job) };
        // Checked again under the lock: every event sent before this one is acknowledged, so
        // one caller's events stay in the order it sent them.
        if !seq.unsynced || self.pipeline.load(Ordering::Acquire) != 0 {
            return Some(job);
        }
        seq.append_one(job, &self.tail)
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
        self.pipeline.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.tx.try_send(Msg::Event(Box::new(job))) {
            self.pipeline.fetch_sub(1, Ordering::AcqRel);
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

    /// Commits everything queued so far and signs a checkpoint covering it.
    pub async fn flush(&self) -> Result<(), RecordError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Msg::Flush(tx)).await.map_err(|_| RecordError::Closed)?;
        rx.await.map_err(|_| RecordError::Closed)?
    }

    /// Flushes, signs a final checkpoint and stops the sequencer.
    pub async fn close(self) -> Result<(), RecordError> {
        let flushed = self.flush().await;
        let handle = self.done.lock().await.take();
        drop(self.tx);
        if let Some(h) = handle {
            // Other clones may still hold senders; the sequencer stops when the last one goes.
            if Arc::strong_count(&self.done) == 1 {
                let _ = h.await;
            }
        }
        flushed
    }

    /// Live records, fed after each commit. A subscriber that falls behind by more than 4096
    /// records gets `RecvError::Lagged` and should re-read from the store.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoredRecord>> {
        self.events.subscribe()
    }

    /// The size of the latest signed checkpoint, updated as new ones are stored.
    pub fn checkpoints(&self) -> watch::Receiver<u64> {
        self.checkpoint.clone()
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
            queue_depth: (self.config.queue_capacity - self.tx.capacity()) as u64,
        }
    }

    /// Scans every string field of the event under the log's policy, as the body is: a
    /// credential in `action` or `usage.model` is redacted in place (the field keeps the rest of
    /// its text), and findings name the field as `@action`, `@usage.model`. The `id` is never
    /// rewritten (retries find their events by it): an id holding something the policy redacts
    /// or blocks refuses the event, naming the field.
    fn scan_fields(
        &self,
        event: &mut Event,
        findings: &mut Vec<FindingSummary>,
    ) -> Result<(), RecordError> {
        let policy = &self.config.policy;
        let tag = self.config.redaction_tag_key.as_deref();
        if let Some(id) = &event.id
            && let Some(kind) = trail_scan::json::must_change(&self.scanner, policy, id)
        {
            return Err(RecordError::Blocked(format!(
                "field `id`: holds a value of type {} that the log's policy does not let it \
                 store; ids are kept exactly as sent (retries find their events by them), so \
                 choose an id without it",
                kind.as_str().to_ascii_lowercase()
            )));
        }
        let f = &mut event.fields;
        let model = f.usage.as_mut().map(|u| &mut u.model);
        let mut strings: Vec<(&str, &mut String)> = Vec::new();
        if let Some(id) = event.id.as_mut() {
            strings.push(("@id", id));
        }
        strings.push(("@kind", &mut f.kind));
        for (name, v) in [
            ("@category", &mut f.category),
            ("@action", &mut f.action),
            ("@status", &mut f.status),
            ("@agent", &mut f.agent),
            ("@session", &mut f.session),
            ("@conversation", &mut f.conversation),
            ("@actor", &mut f.actor),
            ("@source", &mut f.source),
            ("@trace_id", &mut f.trace_id),
            ("@span_id", &mut f.span_id),
        ] {
            if let Some(v) = v.as_mut() {
                strings.push((name, v));
            }
        }
        if let Some(Some(m)) = model {
            strings.push(("@usage.model", m));
        }
        for (path, value) in strings {
            let (new, found) = trail_scan::json::scan_str(&self.scanner, policy, value, path, tag)
                .map_err(|b| RecordError::Blocked(b.to_string()))?;
            if let Some(new) = new {
                *value = new;
            }
            findings.extend(found.into_iter().map(|f| FindingSummary {
                path: f.path,
                kind: f.kind.as_str().to_ascii_lowercase(),
                count: f.count,
            }));
        }
        Ok(())
    }

    /// Validates, scans and canonicalizes on the caller's task, so the sequencer only seals.
    fn prepare(
        &self,
        mut event: Event,
    ) -> Result<(Job, oneshot::Receiver<Result<Appended, RecordError>>), RecordError> {
        let result = (|| {
            // `Event::prepare` below validates the fields and canonicalizes the body, so the
            // event is not validated twice.
            let mut findings = Vec::new();
            if self.config.drop_tool_args
                && event.fields.kind == "tool_call"
                && let Some(serde_json::Value::Object(body)) = event.body.as_mut()
            {
                body.remove("args");
            }
            if let Some(body) = event.body.as_mut().filter(|_| self.scanning) {
                let found = trail_scan::json::scan_value(
                    &self.scanner,
                    &self.config.policy,
                    body,
                    self.config.redaction_tag_key.as_deref(),
                )
                .map_err(|b| RecordError::Blocked(b.to_string()))?;
                findings = found
                    .into_iter()
                    .map(|f| FindingSummary {
                        path: f.path,
                        kind: f.kind.as_str().to_ascii_lowercase(),
                        count: f.count,
                    })
                    .collect();
            }
            if self.scanning {
                self.scan_fields(&mut event, &mut findings)?;
            }
            if !findings.is_empty() {
                self.metrics.findings.fetch_add(findings.len() as u64, Ordering::Relaxed);
                tracing::info!(findings = findings.len(), kinds = %kinds(&findings), "scanner findings in event");
            }
            let id = event.id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            let time = event.time.unwrap_or_else(now);
            let salt: [u8; 32] = rand::random();
            Ok::<_, RecordError>(event.prepare(id, time, findings, salt)?)
        })();
        let prepared = result.inspect_err(|e| {
            let counter = match e {
                RecordError::Blocked(_) => &self.metrics.rejected_blocked,
                _ => &self.metrics.rejected_invalid,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        })?;
        let (reply, rx) = oneshot::channel();
        Ok((Job { prepared, reply }, rx))
    }
}

fn kinds(findings: &[FindingSummary]) -> String {
    let mut k: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    k.sort_unstable();
    k.dedup();
    k.join(",")
}

/// The current time from the system clock.
pub fn now() -> Timestamp {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Timestamp::from_unix_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
}

/// Checks that the stored tree still has, at the latest stored checkpoint's size, the root that
/// checkpoint signs (and that this log's key signed it). Records rewritten outside trail, even
/// with every hash and tree node recomputed, fail here, so the recorder refuses to append to
/// them or to sign a new checkpoint over them: a signed history is never forked by trail itself.
fn still_signed(store: &dyn Store, signer: &trail_core::NoteSigner) -> Result<(), StoreError> {
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

fn store_err(e: StoreError) -> RecordError {
    RecordError::Store(e.to_string())
}

/// Sleeps until `due`, or for ever.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due.into()).await,
        None => std::future::pending().await,
    }
}

/// The largest batch the sequencer writes on its own task when appends are not synced.
const INLINE_MAX: usize = 4;

struct Sequencer {
    store: Arc<dyn Store>,
    signer: NoteSigner,
    config: Arc<RecorderConfig>,
    metrics: Arc<Metrics>,
    events: broadcast::Sender<Arc<StoredRecord>>,
    checkpoint: watch::Sender<u64>,
    size: u64,
    last_hash: Hash,
    checkpointed: u64,
    last_checkpoint_at: Instant,
    /// The store's appends are quick (local and not synced: [`Store::quick_appends`]).
    unsynced: bool,
    /// The end of the chain the batcher seals on, ahead of what is committed.
    spec: Arc<std::sync::Mutex<(u64, Hash)>>,
}

/// A batch sealed ahead of its commit, on the speculative chain.
struct SealedBatch {
    jobs: Vec<Job>,
    /// Size and last hash the batch was sealed after.
    start: (u64, Hash),
    sealed: SealedJobs,
}

/// The result of sealing jobs: records, per-job freshness, the end of the chain, new acks.
struct SealedJobs {
    records: Vec<Sealed>,
    fresh: Vec<bool>,
    end: (u64, Hash),
    acks: HashMap<String, Appended>,
}

/// What the batcher hands the committer.
enum Stage {
    Batch(SealedBatch),
    Flush(oneshot::Sender<Result<(), RecordError>>),
}

/// Seals the jobs whose ids are not `known` after `start`. Ids repeated within the jobs resolve
/// to their first occurrence.
fn seal_jobs(
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

/// Gathers events into batches by size and linger time and seals them on the speculative chain
/// (`spec`), so sealing the next batch overlaps the commit of the previous one. The committer
/// reseals a batch whose start no longer matches the durable chain (after a failure or a
/// duplicate id), so speculation never reaches the store.
///
/// The linger only pays while the committer is busy: events that arrive during a commit join
/// the next batch. When no batch is staged or committing (`in_flight` is 0) and nothing more is
/// queued, the batch goes at once, so a lone event waits for its own commit and not also for
/// the linger (which was 2 ms of about 4 ms per acknowledged event on a disk that fsyncs in 2).
async fn batcher(
    mut rx: mpsc::Receiver<Msg>,
    tx: mpsc::Sender<Stage>,
    spec: Arc<std::sync::Mutex<(u64, Hash)>>,
    origin: String,
    config: Arc<RecorderConfig>,
    in_flight: Arc<AtomicU64>,
) {
    let mut jobs: Vec<Job> = Vec::new();
    loop {
        let Some(first) = rx.recv().await else { break };
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
            match rx.try_recv() {
                Ok(m) => msg = Some(m),
                Err(_) if in_flight.load(Ordering::Acquire) == 0 => break,
                Err(_) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(m)) => msg = Some(m),
                    _ => break,
                },
            }
        }
        if !jobs.is_empty() {
            let batch = std::mem::take(&mut jobs);
            let (start, sealed) = {
                let mut spec = spec.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let start = *spec;
                let sealed = seal_jobs(&origin, start, &batch, &HashMap::new());
                *spec = sealed.end;
                (start, sealed)
            };
            in_flight.fetch_add(1, Ordering::AcqRel);
            if tx.send(Stage::Batch(SealedBatch { jobs: batch, start, sealed })).await.is_err() {
                return;
            }
        }
        if let Some(reply) = flush
            && tx.send(Stage::Flush(reply)).await.is_err()
        {
            return;
        }
    }
}

impl Sequencer {
    async fn run(
        seq: Arc<tokio::sync::Mutex<Sequencer>>,
        rx: mpsc::Receiver<Msg>,
        pipeline: Arc<AtomicU64>,
        tail: Arc<tokio::sync::Notify>,
    ) {
        let (tx, mut staged) = mpsc::channel(2);
        let in_flight = Arc::new(AtomicU64::new(0));
        {
            let s = seq.lock().await;
            let origin = s.store.origin().to_owned();
            let spec = s.spec.clone();
            tokio::spawn(batcher(rx, tx, spec, origin, s.config.clone(), in_flight.clone()));
        }
        loop {
            // While records wait for a signature, wait for the next batch no longer than the
            // checkpoint interval: a log that goes quiet still gets its tail signed. Events
            // appended on callers' tasks wake this loop through `tail` when they leave records
            // to sign.
            let due = {
                let s = seq.lock().await;
                (s.size > s.checkpointed)
                    .then(|| s.last_checkpoint_at + s.config.checkpoint_interval)
            };
            let stage = tokio::select! {
                stage = staged.recv() => stage,
                () = tail.notified() => {
                    let mut s = seq.lock().await;
                    if s.size - s.checkpointed >= s.config.checkpoint_every {
                        let _ = s.sign_checkpoint().await;
                    }
                    continue;
                }
                () = sleep_until(due) => {
                    let mut s = seq.lock().await;
                    if s.size > s.checkpointed
                        && s.last_checkpoint_at.elapsed() >= s.config.checkpoint_interval
                        && s.sign_checkpoint().await.is_err()
                    {
                        // Counted and logged; try again one interval later, not at once.
                        s.last_checkpoint_at = Instant::now();
                    }
                    continue;
                }
            };
            let Some(stage) = stage else { break };
            let mut s = seq.lock().await;
            match stage {
                Stage::Batch(batch) => {
                    let n = batch.jobs.len() as u64;
                    s.commit(batch).await;
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    pipeline.fetch_sub(n, Ordering::AcqRel);
                    if s.due() {
                        let _ = s.sign_checkpoint().await;
                    }
                }
                Stage::Flush(reply) => {
                    let _ = reply.send(s.sign_checkpoint().await);
                }
            }
        }
        // Every handle is gone: commit nothing more, but leave a checkpoint behind.
        let _ = seq.lock().await.sign_checkpoint().await;
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
    fn append_one(&mut self, job: Job, tail: &tokio::sync::Notify) -> Option<Job> {
        let (size, prev) = (self.size, self.last_hash);
        let sealed = job.prepared.clone().seal(self.store.origin(), size, prev);
        if self.store.append(std::slice::from_ref(&sealed)).is_err() {
            return Some(job);
        }
        let was_signed = self.size == self.checkpointed;
        (self.size, self.last_hash) = (size + 1, sealed.hash);
        {
            // The batcher seals on `spec`; move it along unless it is already ahead (then the
            // batch it sealed is resealed after this record when it is committed).
            let mut spec = self.spec.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if *spec == (size, prev) {
                *spec = (self.size, self.last_hash);
            }
        }
        self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
        self.metrics.batches.fetch_add(1, Ordering::Relaxed);
        let ack =
            Appended { seq: size, id: sealed.record.id.clone(), hash: sealed.hash, created: true };
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(Arc::new(StoredRecord::from_sealed(&sealed)));
        }
        let _ = job.reply.send(Ok(ack));
        if was_signed || self.size - self.checkpointed >= self.config.checkpoint_every {
            tail.notify_one();
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
                        *self.spec.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                            sealed.end;
                    }
                    if !records.is_empty() {
                        self.metrics.batches.fetch_add(1, Ordering::Relaxed);
                    }
                    self.acknowledge(jobs, &sealed.fresh, &known);
                    if self.events.receiver_count() > 0 {
                        for s in records.iter() {
                            let _ = self.events.send(Arc::new(StoredRecord::from_sealed(s)));
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
        *self.spec.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            (self.size, self.last_hash);
        self.metrics.failed_writes.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        for j in jobs {
            let _ = j.reply.send(Err(e.clone()));
        }
    }

    async fn sign_checkpoint(&mut self) -> Result<(), RecordError> {
        if self.size <= self.checkpointed {
            return Ok(());
        }
        let store = self.store.clone();
        let signer = self.signer.clone();
        let expected = Some(self.checkpointed).filter(|&s| s > 0);
        let size = self.size;
        let origin = store.origin().to_owned();
        let result = tokio::task::spawn_blocking(move || {
            let expected = match expected {
                Some(s) => Some(s),
                None => store.checkpoints()?.last().map(|c| c.checkpoint.size),
            };
            // Never sign a tree that no longer contains what was signed before.
            still_signed(&*store, &signer)?;
            let root = store.state()?.root;
            let cp = Checkpoint { origin, size, root }.sign(&signer);
            store.put_checkpoint(expected, &cp)
        })
        .await;
        match result {
            Ok(Ok(())) => {
                self.checkpointed = size;
                self.last_checkpoint_at = Instant::now();
                self.metrics.checkpoints.fetch_add(1, Ordering::Relaxed);
                let _ = self.checkpoint.send(size);
                Ok(())
            }
            Ok(Err(e)) => {
                self.metrics.checkpoint_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, size, "checkpoint not stored");
                Err(store_err(e))
            }
            Err(e) => Err(RecordError::Store(e.to_string())),
        }
    }
}
