//! A log's checkpoints, cosigned by its witnesses (C2SP `tlog-witness`, the client side).
//!
//! For each `[[witnesses]]` entry a task follows the log's checkpoints. When the latest one lacks
//! this witness's cosignature, the task submits it (`POST <url>/add-checkpoint`) with a
//! consistency proof from the size the witness last cosigned, checks the cosignature against the
//! witness's key, and stores it with the checkpoint, where `/tlog/checkpoint`, `/v1/checkpoint`
//! and receipts pick it up. A 409 names the witness's size: the task resubmits from there. Other
//! failures back off (doubling, up to a minute) and are counted; ingest never waits on a witness.
//! At most one submission per witness per `[witness] interval_ms`.
//!
//! The task runs where the log is sequenced: on the single node, or on the PostgreSQL node that
//! holds the lease (a leadership duty), so one node submits at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use trail_core::note::{Note, NoteSignature};
use trail_core::{NoteVerifier, SignedCheckpoint};
use trail_ingest::Recorder;
use trail_store::Store;
use trail_witness::AddCheckpoint;
use trail_witness::protocol::SIZE_CONTENT_TYPE;

use crate::config::{WitnessSection, WitnessTarget};

/// The longest wait between failed submissions.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The most of a witness's answer read: a few cosignature lines (an ML-DSA one is 3.3 KB) or a
/// size. A witness is a third party; what it sends beyond this is refused unread.
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// A log's witnesses: their keys, the quorum `?wait=checkpoint` waits for, and what each task
/// counted. Built once per log; its tasks are started by whichever node sequences the log.
pub struct Witnessing {
    targets: Vec<(WitnessTarget, NoteVerifier)>,
    /// The witnesses' keys, for counting cosignatures.
    pub keys: Vec<NoteVerifier>,
    pub quorum: usize,
    pub wait: Duration,
    interval: Duration,
    timeout: Duration,
    pub metrics: Vec<Arc<WitnessMetrics>>,
    /// Bumped whenever a cosignature is stored.
    cosigned: watch::Sender<u64>,
}

/// Counters of one witness.
#[derive(Debug, Default)]
pub struct WitnessMetrics {
    pub name: String,
    /// The size of the latest checkpoint it cosigned (as far as this node knows).
    pub cosigned_size: AtomicU64,
    /// The size of the latest checkpoint submitted or to submit.
    pub checkpoint_size: AtomicU64,
    pub cosignatures: AtomicU64,
    pub failures: AtomicU64,
    /// Answers that accuse the log or the witness: a 422 (the witness holds the checkpoint
    /// inconsistent with what it cosigned: a fork or a rollback of the log) or a witness that
    /// reports a smaller size than it cosigned before (it lost or rolled back its state).
    pub alarms: AtomicU64,
}

impl WitnessMetrics {
    /// How many records the witness's cosigned size trails the log's latest checkpoint by.
    pub fn lag(&self) -> u64 {
        self.checkpoint_size
            .load(Ordering::Relaxed)
            .saturating_sub(self.cosigned_size.load(Ordering::Relaxed))
    }
}

/// Why the witness configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WitnessConfigError {
    #[error("[[witnesses]] {name:?}: {reason}")]
    Target { name: String, reason: String },
    #[error("[witness] quorum = {quorum}: give a number from 1 to the {count} [[witnesses]]")]
    Quorum { quorum: usize, count: usize },
    #[error("[witness] is set but no [[witnesses]] are listed")]
    NoWitnesses,
}

impl Witnessing {
    /// Checks the configuration: every vkey a cosigner key named as the entry, URLs http(s), no
    /// witness twice, a quorum they can meet. `None` when no witness is configured.
    pub fn new(
        targets: &[WitnessTarget],
        section: Option<&WitnessSection>,
    ) -> Result<Option<Arc<Witnessing>>, WitnessConfigError> {
        if targets.is_empty() {
            return match section {
                Some(_) => Err(WitnessConfigError::NoWitnesses),
                None => Ok(None),
            };
        }
        let section = section.cloned().unwrap_or_default();
        let mut checked = Vec::new();
        for t in targets {
            let bad = |reason: String| WitnessConfigError::Target { name: t.name.clone(), reason };
            let key: NoteVerifier = t.vkey.parse().map_err(|e| bad(format!("vkey: {e}")))?;
            if !key.is_cosigner() {
                return Err(bad(
                    "vkey is a log key (type 0x01), not a witness's cosigner key".into()
                ));
            }
            if key.name() != t.name {
                return Err(bad(format!("the vkey is named {:?}", key.name())));
            }
            if !(t.url.starts_with("http://") || t.url.starts_with("https://")) {
                return Err(bad(format!("url {:?} must start with http:// or https://", t.url)));
            }
            if checked.iter().any(|(_, k): &(WitnessTarget, NoteVerifier)| *k == key) {
                return Err(bad("listed twice".into()));
            }
            checked.push((t.clone(), key));
        }
        let quorum = section.quorum.unwrap_or(checked.len());
        if quorum == 0 || quorum > checked.len() {
            return Err(WitnessConfigError::Quorum { quorum, count: checked.len() });
        }
        let metrics = checked
            .iter()
            .map(|(t, _)| Arc::new(WitnessMetrics { name: t.name.clone(), ..Default::default() }))
            .collect();
        Ok(Some(Arc::new(Witnessing {
            keys: checked.iter().map(|(_, k)| k.clone()).collect(),
            targets: checked,
            quorum,
            wait: Duration::from_millis(section.wait_ms),
            interval: Duration::from_millis(section.interval_ms),
            timeout: Duration::from_millis(section.timeout_ms.max(1)),
            metrics,
            cosigned: watch::channel(0).0,
        })))
    }

    /// Starts one task per witness over `recorder`'s log, until `shutdown`.
    pub fn spawn(
        self: &Arc<Self>,
        recorder: &Recorder,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Vec<JoinHandle<()>>, String> {
        let client = crate::listen::client_builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| format!("witness client: {e}"))?;
        Ok((0..self.targets.len())
            .map(|index| {
                let runner = Runner {
                    submitter: Submitter {
                        witnessing: self.clone(),
                        index,
                        store: recorder.store().clone(),
                        client: client.clone(),
                    },
                    checkpoints: recorder.checkpoints(),
                    shutdown: shutdown.clone(),
                };
                tokio::spawn(runner.run())
            })
            .collect())
    }

    /// Submits `store`'s latest checkpoint once to every witness that has not cosigned it and
    /// stores their cosignatures (for `trail checkpoint`): per witness, the size it cosigned now,
    /// `None` when it had already, or why it did not.
    pub async fn cosign_latest(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
    ) -> Result<Vec<(String, Result<Option<u64>, String>)>, String> {
        let client = crate::listen::client_builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| format!("witness client: {e}"))?;
        let mut out = Vec::new();
        for index in 0..self.targets.len() {
            let w = Submitter {
                witnessing: self.clone(),
                index,
                store: store.clone(),
                client: client.clone(),
            };
            let mut known = 0;
            let result = match w.step(&mut known).await {
                Step::Idle => Ok(None),
                Step::Cosigned(size) => Ok(Some(size)),
                Step::Failed(why) => Err(why),
            };
            out.push((w.target().name.clone(), result));
        }
        Ok(out)
    }

    /// How many of this log's witnesses cosigned `cp`.
    pub fn cosignatures(&self, cp: &SignedCheckpoint) -> usize {
        cp.note.cosigned_by(&self.keys).len()
    }

    /// A receiver told whenever a cosignature is stored.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.cosigned.subscribe()
    }
}

/// Submits a log's latest checkpoint to one witness.
struct Submitter {
    witnessing: Arc<Witnessing>,
    index: usize,
    store: Arc<dyn Store>,
    client: reqwest::Client,
}

/// What one submission round did.
enum Step {
    /// Nothing to submit: no checkpoint, or the latest one carries this witness's cosignature.
    Idle,
    /// The witness cosigned the checkpoint of this size, and its cosignature is stored.
    Cosigned(u64),
    Failed(String),
}

impl Submitter {
    fn target(&self) -> &WitnessTarget {
        &self.witnessing.targets[self.index].0
    }

    fn key(&self) -> &NoteVerifier {
        &self.witnessing.targets[self.index].1
    }

    fn metrics(&self) -> &WitnessMetrics {
        &self.witnessing.metrics[self.index]
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> trail_store::Result<T> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// Submits the latest checkpoint if this witness has not cosigned it, from `known` (what the
    /// witness cosigned, as far as this node knows; a 409 corrects it), and stores the answer.
    async fn step(&self, known: &mut u64) -> Step {
        let latest = match self.blocking(|s| s.latest_checkpoint()).await {
            Ok(Some(cp)) => cp,
            Ok(None) => return Step::Idle,
            Err(e) => return Step::Failed(format!("reading the latest checkpoint: {e}")),
        };
        let size = latest.checkpoint.size;
        self.metrics().checkpoint_size.store(size, Ordering::Relaxed);
        if !latest.note.cosigned_by(std::slice::from_ref(self.key())).is_empty() {
            *known = (*known).max(size);
            self.metrics().cosigned_size.fetch_max(size, Ordering::Relaxed);
            return Step::Idle;
        }
        for _ in 0..3 {
            if *known > size {
                return Step::Failed(format!(
                    "the witness cosigned size {known}, larger than this log's latest checkpoint {size}: \
                     the log was rolled back or forked, or another writer signed a larger checkpoint"
                ));
            }
            match self.submit(&latest, *known).await {
                Outcome::Cosigned(sigs) => {
                    let root = latest.checkpoint.root;
                    if let Err(e) =
                        self.blocking(move |s| s.add_cosignatures(size, &root, &sigs)).await
                    {
                        return Step::Failed(format!("storing the cosignature: {e}"));
                    }
                    *known = size;
                    self.metrics().cosigned_size.fetch_max(size, Ordering::Relaxed);
                    self.metrics().cosignatures.fetch_add(1, Ordering::Relaxed);
                    self.witnessing.cosigned.send_modify(|n| *n += 1);
                    return Step::Cosigned(size);
                }
                Outcome::Conflict(theirs) if theirs < *known => {
                    self.metrics().alarms.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        witness = %self.target().name, log = %self.store.origin(), theirs, cosigned = *known,
                        "the witness reports a smaller size than it cosigned of this log before: it lost or rolled back its state; resubmitting from its size"
                    );
                    *known = theirs;
                }
                // The witness is elsewhere: resubmit from its size.
                Outcome::Conflict(theirs) if theirs != *known => {
                    tracing::info!(witness = %self.target().name, theirs, ours = *known, "the witness has another size; resubmitting from it");
                    *known = theirs;
                }
                Outcome::Conflict(theirs) => {
                    return Step::Failed(format!(
                        "the witness answers 409 with size {theirs} for a submission from that size"
                    ));
                }
                Outcome::Refused(why) => {
                    self.metrics().alarms.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        witness = %self.target().name, log = %self.store.origin(), size, reason = %why,
                        "the witness refuses this log's checkpoint as inconsistent with what it cosigned before: the log may have been forked or rolled back"
                    );
                    return Step::Failed(why);
                }
                Outcome::Failed(why) => return Step::Failed(why),
            }
        }
        Step::Failed(format!(
            "the witness keeps answering 409 (its size {known}, this checkpoint {size})"
        ))
    }

    async fn submit(&self, cp: &SignedCheckpoint, old: u64) -> Outcome {
        let size = cp.checkpoint.size;
        let proof = if old == 0 || old == size {
            Ok(Vec::new())
        } else {
            self.blocking(move |s| s.consistency_proof(old, size)).await
        };
        let proof = match proof {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(format!("consistency proof {old} to {size}: {e}")),
        };
        // The log's own signatures only: cosignatures already collected are not the witness's
        // business (and a note may carry at most so many).
        let mut bare = cp.clone();
        bare.note.signatures.retain(|s| {
            !self.witnessing.keys.iter().any(|k| k.name() == s.name && k.key_id() == s.key_id)
        });
        submit(&self.client, &self.target().url, &bare, old, proof, self.key()).await
    }
}

/// A witness's task: a submission whenever the log signs a checkpoint, at most one per
/// interval, backing off on failure.
struct Runner {
    submitter: Submitter,
    checkpoints: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
}

impl Runner {
    async fn run(mut self) {
        let w = &self.submitter;
        let name = w.target().name.clone();
        tracing::info!(witness = %name, log = %w.store.origin(), url = %w.target().url, "witnessing started");
        let interval = w.witnessing.interval;
        let mut known: u64 = 0;
        let mut backoff = interval;
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            let pause = match self.submitter.step(&mut known).await {
                Step::Idle => {
                    // Nothing to submit until the log signs a new checkpoint.
                    tokio::select! {
                        r = self.checkpoints.changed() => if r.is_err() { return },
                        _ = self.shutdown.changed() => return,
                    }
                    continue;
                }
                Step::Cosigned(size) => {
                    tracing::debug!(witness = %name, size, "checkpoint cosigned");
                    backoff = interval;
                    interval
                }
                Step::Failed(why) => {
                    self.submitter.metrics().failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(witness = %name, log = %self.submitter.store.origin(), error = %why, "witness submission failed; retrying with backoff");
                    let pause = backoff.max(Duration::from_millis(500));
                    backoff = (pause * 2).min(MAX_BACKOFF);
                    pause
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.shutdown.changed() => return,
            }
        }
    }
}

/// How one submission ended.
pub enum Outcome {
    /// The witness's cosignatures that verify under its key.
    Cosigned(Vec<NoteSignature>),
    /// 409: the witness's size.
    Conflict(u64),
    /// 422: the witness holds the checkpoint inconsistent with what it cosigned.
    Refused(String),
    Failed(String),
}

/// Submits `cp` to the witness at `url` (its submission prefix) with a consistency proof from
/// `old`, and keeps the cosignatures of the answer that verify under `key` (lines by other keys
/// are ignored, as the spec says).
pub async fn submit(
    client: &reqwest::Client,
    url: &str,
    cp: &SignedCheckpoint,
    old: u64,
    proof: Vec<trail_core::Hash>,
    key: &NoteVerifier,
) -> Outcome {
    let body = AddCheckpoint { old, proof, checkpoint: cp.to_string() }.to_body();
    let url = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let resp = match client.post(&url).body(body).send().await {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failed(format!("POST {url}: {}", crate::listen::error_chain(&e)));
        }
    };
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = match read_capped(resp).await {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(format!("POST {url}: {status}: {e}")),
    };
    match status {
        200 => {
            let sigs = match Note::parse_signature_lines(&text) {
                Ok(s) => s,
                Err(e) => return Outcome::Failed(format!("the witness answered 200 with {e}")),
            };
            let ours: Vec<NoteSignature> = sigs
                .into_iter()
                .filter(|s| s.name == key.name() && s.key_id == key.key_id())
                .collect();
            let note = Note { text: cp.note.text.clone(), signatures: ours.clone() };
            if note.cosigned_by(std::slice::from_ref(key)).is_empty() {
                let times: Vec<u64> = ours
                    .iter()
                    .filter_map(|s| trail_core::note::cosignature_time(&s.bytes))
                    .collect();
                return Outcome::Failed(match times.iter().find(|&&t| t == 0 || t > i64::MAX as u64) {
                    Some(t) => format!(
                        "the witness answered 200 with a cosignature timestamped {t}; the spec asks for 1 to 2^63-1"
                    ),
                    None => "the witness answered 200 without a cosignature that verifies under its vkey".into(),
                });
            }
            Outcome::Cosigned(ours)
        }
        409 => match (
            content_type.starts_with(SIZE_CONTENT_TYPE),
            trail_witness::protocol::decimal(text.trim_end_matches('\n')),
        ) {
            (true, Some(n)) => Outcome::Conflict(n),
            _ => {
                Outcome::Failed(format!("409 without a size ({content_type:?}): {}", short(&text)))
            }
        },
        422 => Outcome::Refused(format!("422 from {url}: {}", short(&text))),
        _ => Outcome::Failed(format!("{status} from {url}: {}", short(&text))),
    }
}

/// A witness's answer, at most [`MAX_ANSWER_BYTES`] of it.
async fn read_capped(mut resp: reqwest::Response) -> Result<String, String> {
    if resp.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
        return Err(format!(
            "an answer of {} bytes; no witness answer is over {MAX_ANSWER_BYTES}",
            resp.content_length().unwrap_or(0)
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading the answer: {e}"))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "an answer over {MAX_ANSWER_BYTES} bytes; no witness answer is that long"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "the answer is not UTF-8".into())
}

fn short(s: &str) -> String {
    s.trim().chars().take(300).collect()
}
