//! Taking a log for writing. Every command that appends (`log`, `import`, `erase`, `prune`,
//! `checkpoint`) holds the data directory's writer lock, and for a PostgreSQL log also the
//! log's sequencer lease, the same lease `trail serve` nodes take: two writers on one log, each
//! with its own copy of the data directory, take turns instead of racing for the head. A writer
//! that finds the lock or the lease held waits for it, saying who holds it; `trail log` can
//! instead send its events to the `trail serve` node that holds either ([`Turn::Served`]).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use trail_store::Store;
use trail_store::postgres::{LeaseToken, PostgresStore};

use crate::datadir::{DataDir, WriterLock};

/// How long a command's lease lasts unless renewed; renewed every quarter of it. A command that
/// dies leaves the log to others after at most this long.
const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often a waiting writer asks for the lease again.
const RETRY: Duration = Duration::from_millis(200);
/// How often a waiting writer says it is still waiting.
const PROGRESS: Duration = Duration::from_secs(10);

/// What a writer does when a `trail serve` node holds the log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Served {
    /// Answer [`Turn::Served`] at once (`trail log` sends its events there).
    Forward,
    /// Answer [`Turn::Served`] once the node is seen renewing its lease (a stopped node's lease
    /// runs out, and is then taken); a data directory the node holds is refused at once.
    Refuse,
    /// Wait whoever holds it.
    Wait,
}

/// What a writer got.
pub enum Turn {
    /// The log is this process's to append to until the writer is dropped.
    Own(Writer),
    /// A `trail serve` node (this URL) sequences the log; events can be sent to it.
    Served { node: String },
}

/// The writer lock and, for PostgreSQL, the sequencer lease (renewed on a thread of its own and
/// released on drop, after everything appended under it has committed).
pub struct Writer {
    pub store: Arc<dyn Store>,
    lease: Option<LeaseKeeper>,
    _lock: WriterLock,
}

impl Writer {
    /// Takes the log; with `forward`, a log sequenced by a `trail serve` node is answered with
    /// [`Turn::Served`] instead of waiting for the node to stop.
    pub fn take(dir: &DataDir, forward: bool) -> Result<Turn> {
        Writer::take_as(dir, if forward { Served::Forward } else { Served::Wait })
    }

    fn take_as(dir: &DataDir, served_by_node: Served) -> Result<Turn> {
        let forward = served_by_node != Served::Wait;
        let me = format!("a trail command (pid {})", std::process::id());
        let lock = match dir.try_lock_writer_as(&me)? {
            Ok(lock) => lock,
            // `trail serve` holds this data directory: its URL is in the lock file.
            Err(holder)
                if forward && (holder.starts_with("http://") || holder.starts_with("https://")) =>
            {
                return Ok(Turn::Served { node: holder });
            }
            Err(_) => dir.lock_writer_as(&me)?,
        };
        let Some(pg) = dir.postgres_store()? else {
            return Ok(Turn::Own(Writer { store: dir.store()?, lease: None, _lock: lock }));
        };
        let node = format!(
            "trail-cli://{}/{}",
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "localhost".into()),
            std::process::id()
        );
        let started = Instant::now();
        let mut last_word: Option<Instant> = None;
        // A serving node's lease, first seen when, and how long it had left then.
        let mut node_seen: Option<(String, Instant, Duration)> = None;
        loop {
            if let Some(token) = pg.try_acquire(&node, LEASE_TTL)? {
                if last_word.is_some() {
                    eprintln!(
                        "trail: took the log's sequencer lease after {}",
                        duration(started.elapsed())
                    );
                }
                let lease = LeaseKeeper::start(pg.clone(), token);
                let store: Arc<dyn Store> = pg;
                return Ok(Turn::Own(Writer { store, lease: Some(lease), _lock: lock }));
            }
            let lease = pg.lease()?;
            let holder = lease.holder.clone().unwrap_or_default();
            let served = holder.starts_with("http://") || holder.starts_with("https://");
            if served && served_by_node == Served::Forward {
                return Ok(Turn::Served { node: holder });
            }
            if served && served_by_node == Served::Refuse {
                // A node that stopped lets its lease run out; one that runs keeps renewing it.
                let left = Duration::from_millis(
                    u64::try_from(lease.expires_in_ms.unwrap_or(0)).unwrap_or(0),
                );
                let (who, since, had) =
                    node_seen.get_or_insert_with(|| (holder.clone(), Instant::now(), left));
                if *who != holder {
                    node_seen = Some((holder.clone(), Instant::now(), left));
                } else if since.elapsed() > *had + Duration::from_secs(2) {
                    return Ok(Turn::Served { node: holder });
                }
            }
            if last_word.is_none_or(|t| t.elapsed() >= PROGRESS) {
                if last_word.is_none() && served {
                    eprintln!(
                        "trail: the trail serve node at {holder} sequences this log; waiting \
                         until it gives the lease up (stop it, or send events to it: `trail log` \
                         does so by itself)"
                    );
                } else if last_word.is_none() {
                    eprintln!(
                        "trail: another writer ({holder}) holds this log's sequencer lease; \
                         waiting for it to finish"
                    );
                } else {
                    eprintln!(
                        "trail: still waiting for the sequencer lease held by {holder} ({})",
                        duration(started.elapsed())
                    );
                }
                last_word = Some(Instant::now());
            }
            std::thread::sleep(RETRY);
        }
    }

    /// Takes the log, waiting for a command that holds it; a `trail serve` node never gives a
    /// log up while it runs, so that is an error naming it instead of a wait without end.
    pub fn wait(dir: &DataDir) -> Result<Writer> {
        match Writer::take_as(dir, Served::Refuse)? {
            Turn::Own(w) => Ok(w),
            Turn::Served { node } => anyhow::bail!(
                "the trail serve node at {node} holds this log and keeps it while it runs: stop it \
                 first, or do this through it (its HTTP API)"
            ),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.stop();
        }
    }
}

/// Renews a lease until stopped, then releases it.
struct LeaseKeeper {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl LeaseKeeper {
    fn start(pg: Arc<PostgresStore>, token: LeaseToken) -> LeaseKeeper {
        let (stop, stopped): (Sender<()>, Receiver<()>) = channel();
        let thread = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(LEASE_TTL / 4) {
                if let Err(e) = pg.renew(&token, LEASE_TTL) {
                    // Appends after a takeover fail on the lease's epoch; this only explains why.
                    eprintln!("trail: cannot renew the log's sequencer lease: {e}");
                }
            }
            if let Err(e) = pg.release(&token) {
                eprintln!(
                    "trail: cannot release the log's sequencer lease (it expires by itself): {e}"
                );
            }
        });
        LeaseKeeper { stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// A duration as a person reads it: `850 ms`, `4.2 s`, `3 min 12 s`, `4 h 54 min`, `2 d 3 h`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    let s = d.as_secs();
    match s {
        _ if ms < 1000 => format!("{ms} ms"),
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}
