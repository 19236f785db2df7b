//! The cluster role of a node that serves a PostgreSQL log: take the log's sequencer lease when
//! it is free, renew it every quarter of its TTL, and while holding it run the log's recorder
//! (and whatever else the sequencing node does: exporters, retention); step down when renewal
//! says the lease is lost or has failed for a whole TTL. A follower learns the leader's URL from
//! the lease, which is how [`crate::cluster`] forwards ingest to it.
//!
//! Safety never rests on this loop's timing: the store fences every append by the lease's epoch
//! (see `trail_store::postgres`), so a paused or partitioned old leader fails with `LeaseLost`
//! instead of appending. The loop decides only who is live.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use trail_core::NoteSigner;
use trail_ingest::{Recorder, RecorderConfig, Scanner};
use trail_store::postgres::{LeaseToken, PostgresStore};
use trail_store::{Store, StoreError};

use crate::state::{LogHandle, Role};

/// Tasks a term started, awaited when it ends.
pub type Tasks = Vec<JoinHandle<()>>;

/// What a leader does besides appending (exporters, retention): started at the beginning of each
/// term with the term's recorder, told to stop through the receiver when the term ends.
pub type Duties =
    Box<dyn Fn(&Recorder, watch::Receiver<bool>) -> Result<Tasks, String> + Send + Sync>;

/// One log's leadership on this node.
pub struct Leadership {
    store: Arc<PostgresStore>,
    handle: Arc<LogHandle>,
    node: String,
    ttl: Duration,
    signer: NoteSigner,
    scanner: Arc<Scanner>,
    config: RecorderConfig,
    duties: Duties,
}

/// A stretch of time during which this node sequences the log.
pub struct Term {
    token: LeaseToken,
    recorder: Recorder,
    renewed: Instant,
    stop: watch::Sender<bool>,
    tasks: Tasks,
}

impl Term {
    /// The lease's fencing epoch for this term.
    pub fn epoch(&self) -> u64 {
        self.token.epoch
    }
}

impl Leadership {
    /// The leadership of the log in `store`, served through `handle` (which it switches between
    /// [`Role::Leader`] and [`Role::Follower`]), by the node whose URL is `node`, with leases of
    /// `ttl`. Each term opens a recorder with `signer`, `scanner` and `config`.
    pub fn new(
        store: Arc<PostgresStore>,
        handle: Arc<LogHandle>,
        node: impl Into<String>,
        ttl: Duration,
        signer: NoteSigner,
        scanner: Arc<Scanner>,
        config: RecorderConfig,
    ) -> Leadership {
        Leadership {
            store,
            handle,
            node: node.into(),
            ttl,
            signer,
            scanner,
            config,
            duties: Box::new(|_, _| Ok(Vec::new())),
        }
    }

    /// What each term runs besides the recorder.
    pub fn with_duties(mut self, duties: Duties) -> Leadership {
        self.duties = duties;
        self
    }

    /// Runs the loop: one attempt now (so a lone node leads from its first request), then a
    /// step every quarter of the TTL until `stop` changes, when a term held is ended (the
    /// recorder closed, the lease released). Returns once the first attempt is done.
    pub async fn spawn(self, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let mut term = self.step(None).await;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(self.ttl / 4) => {}
                    _ = stop.changed() => break,
                }
                term = self.step(term).await;
            }
            if let Some(t) = term {
                self.end(t, "the node is stopping").await;
            }
        })
    }

    /// One tick: renew the lease held, or try to take a free one; returns the term that goes on.
    pub async fn step(&self, term: Option<Term>) -> Option<Term> {
        match term {
            Some(t) => self.renew(t).await,
            None => self.try_lead().await,
        }
    }

    async fn renew(&self, mut t: Term) -> Option<Term> {
        let (store, token, ttl) = (self.store.clone(), t.token.clone(), self.ttl);
        match blocking(move || store.renew(&token, ttl)).await {
            Ok(()) => {
                t.renewed = Instant::now();
                Some(t)
            }
            Err(e @ StoreError::LeaseLost { .. }) => {
                self.end(t, &e.to_string()).await;
                None
            }
            // The database is unreachable: keep the term only while the lease surely has not
            // expired. (Appends are fenced in any case.)
            Err(e) if t.renewed.elapsed() >= self.ttl => {
                self.end(t, &format!("the lease could not be renewed: {e}")).await;
                None
            }
            Err(e) => {
                tracing::warn!(log = %self.handle.name, error = %e, "cannot renew the sequencer lease; retrying");
                Some(t)
            }
        }
    }

    async fn try_lead(&self) -> Option<Term> {
        let (store, node, ttl) = (self.store.clone(), self.node.clone(), self.ttl);
        match blocking(move || store.try_acquire(&node, ttl)).await {
            Ok(Some(token)) => match self.begin(token.clone()) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::error!(log = %self.handle.name, error = %e, "took the sequencer lease but cannot sequence; giving it up");
                    let store = self.store.clone();
                    let _ = blocking(move || store.release(&token)).await;
                    None
                }
            },
            Ok(None) => {
                let store = self.store.clone();
                let leader = blocking(move || store.lease())
                    .await
                    .ok()
                    .and_then(|l| l.is_live().then_some(l.holder).flatten());
                self.handle.set_role(Role::Follower { leader });
                None
            }
            Err(e) => {
                tracing::warn!(log = %self.handle.name, error = %e, "cannot reach the database to take the sequencer lease");
                self.handle.set_role(Role::Follower { leader: None });
                None
            }
        }
    }

    /// Leadership won: a recorder on the store the lease fences, and the leader's duties.
    fn begin(&self, token: LeaseToken) -> Result<Term, String> {
        let store: Arc<dyn Store> = self.store.clone();
        let recorder =
            Recorder::open(store, self.signer.clone(), self.scanner.clone(), self.config.clone())
                .map_err(|e| e.to_string())?;
        let (stop, stop_rx) = watch::channel(false);
        let tasks = (self.duties)(&recorder, stop_rx)?;
        self.handle.set_role(Role::Leader(recorder.clone()));
        tracing::info!(log = %self.handle.name, node = %self.node, epoch = token.epoch, "this node now sequences the log");
        Ok(Term { token, recorder, renewed: Instant::now(), stop, tasks })
    }

    /// Leadership ends (lost, or the node stops): stop taking events, finish what was queued
    /// (under the old epoch's fence: if another node took over, those appends fail and their
    /// callers are told), and give the lease up.
    pub async fn end(&self, t: Term, why: &str) {
        self.handle.set_role(Role::Follower { leader: None });
        tracing::warn!(log = %self.handle.name, node = %self.node, epoch = t.token.epoch, reason = why, "this node no longer sequences the log");
        let _ = t.stop.send(true);
        for task in t.tasks {
            let _ = task.await;
        }
        if let Err(e) = t.recorder.close().await {
            tracing::warn!(log = %self.handle.name, error = %e, "closing the recorder failed");
        }
        let store = self.store.clone();
        let _ = blocking(move || store.release(&t.token)).await;
    }
}

/// Runs a store call on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> trail_store::Result<T> + Send + 'static,
) -> trail_store::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StoreError::Invalid(format!("a store task panicked: {e}"))))
}
