//! Connections, each owned by its own thread.
//!
//! The `postgres` client is synchronous, but underneath it runs a small tokio runtime per
//! connection and blocks on it; tokio panics when that happens on a thread that is already
//! driving asynchronous tasks, and also when such a client is dropped there. The store must work
//! from any caller (the recorder calls it from `spawn_blocking`, but `Recorder::open` and server
//! code may call it from async code directly), so each connection lives on a thread of its own
//! and callers hand it jobs over a channel and wait for the answer. The hop costs a few
//! microseconds, against tens for a round trip to the server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use ::postgres::{Client, GenericClient, NoTls, Statement};

use super::pg_err;
use crate::{Result, StoreError};

/// Where to connect and which schema the connection works in.
pub(crate) struct Settings {
    pub url: String,
    /// Already checked to be a plain identifier.
    pub schema: String,
}

/// One connection with its prepared statements.
pub(crate) struct Session {
    pub client: Client,
    pub stmts: Stmts,
}

/// Prepared statements of one connection, by SQL text.
#[derive(Default)]
pub(crate) struct Stmts(HashMap<String, Statement>);

/// Statements kept per connection; the fixed statements are far fewer than this.
const MAX_STATEMENTS: usize = 128;

impl Stmts {
    /// The statement for `sql`, prepared once per connection. Only for fixed SQL: queries built
    /// from a caller's filters go through `query_typed`, so they are planned for their own values.
    pub fn get(&mut self, c: &mut impl GenericClient, sql: &str) -> Result<Statement> {
        if let Some(s) = self.0.get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql).map_err(pg_err)?;
        if self.0.len() >= MAX_STATEMENTS {
            self.0.clear();
        }
        self.0.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

/// How long the server lets a session sit idle inside a transaction before ending it.
pub(crate) const IDLE_IN_TRANSACTION: std::time::Duration = std::time::Duration::from_secs(5);

impl Session {
    fn connect(settings: &Settings) -> Result<Session> {
        let mut client = Client::connect(&settings.url, NoTls).map_err(|e| {
            // The client's own message ("error connecting to server") keeps the reason in its
            // source.
            let reason =
                std::error::Error::source(&e).map(|s| format!(": {s}")).unwrap_or_default();
            StoreError::Postgres(format!(
                "cannot connect to {}: {e}{reason}",
                redact(&settings.url)
            ))
        })?;
        // Durability does not depend on the server's default: a commit returns only once it is
        // flushed to the server's disk. The application name carries the schema, so an operator
        // (or a test) can tell which log a backend in `pg_stat_activity` serves.
        //
        // Every transaction here is sent whole by one job, so it is never idle for long. A node
        // frozen inside one (a GC pause, SIGSTOP, a suspended VM) would otherwise keep its row
        // locks on the log's head for as long as it is frozen, and the node that took its lease
        // over could not append; the server ends such a session after `IDLE_IN_TRANSACTION`.
        client
            .batch_execute(&format!(
                "SET search_path TO \"{schema}\"; SET synchronous_commit TO on; \
                 SET application_name TO '{}'; SET idle_in_transaction_session_timeout TO {}",
                application_name(&settings.schema),
                IDLE_IN_TRANSACTION.as_millis(),
                schema = settings.schema,
            ))
            .map_err(pg_err)?;
        Ok(Session { client, stmts: Stmts::default() })
    }
}

type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// A connection on its own thread.
pub(crate) struct Conn {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    broken: Arc<AtomicBool>,
}

impl Conn {
    /// Connects on a new thread.
    pub fn open(settings: &Arc<Settings>) -> Result<Conn> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<()>>(1);
        let broken = Arc::new(AtomicBool::new(false));
        let settings = settings.clone();
        let flag = broken.clone();
        let thread = std::thread::Builder::new()
            .name("trail-postgres".into())
            .spawn(move || {
                let mut session = match Session::connect(&settings) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                while let Ok(job) = rx.recv() {
                    job(&mut session);
                    if session.client.is_closed() {
                        flag.store(true, Ordering::Relaxed);
                    }
                }
            })
            .map_err(|e| StoreError::Postgres(format!("cannot start a connection thread: {e}")))?;
        let conn = Conn { jobs: Some(jobs), thread: Some(thread), broken };
        ready_rx.recv().map_err(|_| stopped())??;
        Ok(conn)
    }

    /// Runs `f` on the connection's thread and waits for its answer.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |s| {
            let _ = tx.send(f(s));
        });
        let sent = self.jobs.as_ref().map(|j| j.send(job));
        if !matches!(sent, Some(Ok(()))) {
            self.broken.store(true, Ordering::Relaxed);
            return Err(stopped());
        }
        rx.recv().map_err(|_| {
            // The job panicked and took the thread with it.
            self.broken.store(true, Ordering::Relaxed);
            stopped()
        })?
    }

    /// True once the connection closed or its thread stopped: the pool then drops it.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; the client is closed and dropped there.
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Postgres("the connection's thread stopped".into())
}

/// The `application_name` of a log's connections: `trail:<schema>`, cut to the 63 bytes
/// PostgreSQL keeps. The schema is a plain identifier, so it needs no quoting.
pub fn application_name(schema: &str) -> String {
    let mut name = format!("trail:{schema}");
    name.truncate(63);
    name
}

/// A few idle connections, opened on demand.
pub(crate) struct Pool {
    pub settings: Arc<Settings>,
    idle: Mutex<Vec<Conn>>,
}

/// Idle connections kept for reuse.
const IDLE: usize = 4;

impl Pool {
    pub fn new(settings: Arc<Settings>) -> Pool {
        Pool { settings, idle: Mutex::new(Vec::new()) }
    }

    /// Runs `f` on an idle connection (or a new one).
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(c) if !c.is_broken() => c,
            _ => Conn::open(&self.settings)?,
        };
        let out = conn.run(f);
        if !conn.is_broken() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < IDLE {
                idle.push(conn);
            }
        }
        out
    }

    /// Closes every idle connection.
    pub fn clear(&self) {
        let conns = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        drop(conns);
    }
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}
