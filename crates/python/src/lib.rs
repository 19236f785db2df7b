//! `trail._native`: the in-process recorder behind the `trail` Python package.
//!
//! One `NativeLog` is one data directory opened for writing, exactly as the `trail` command
//! opens it (through `trail-datadir`: the same `trail.toml`, keys, store, scan policy, and the
//! same writer lock, so a Python process and `trail log` take turns on one log). One event's
//! fields cross as Python values read straight into JSON values (`values.rs`), its
//! acknowledgement as a dict; values of other types, batches, queries and reports cross as JSON
//! text (`json.dumps` on the Python side). Every call that waits (an append until it
//! is stored, a flush, a query, a verification) releases the GIL, so one `Log` serves many
//! threads and an asyncio loop can run it on a worker thread.

#![allow(
    unsafe_code,
    reason = "PyO3's macros expand to the FFI glue of a CPython extension; values.rs reads a str's UTF-8 through one C API call"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::PyException;
use pyo3::exceptions::{PyInterruptedError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::{create_exception, intern};
use serde_json::{Value, json};
use trail_core::Event;
use trail_core::verify::VerifyOptions;
use trail_datadir::DataDir;
use trail_datadir::writer::{Turn, Writer};
use trail_ingest::{RecordError, RecordedNow, Recorder};
use trail_store::Query;

mod values;

/// Rust's allocations in this module, not the interpreter's (see `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Named in the `trail` package, where they are imported: they pickle (for process pools) and
// print as `trail.TrailError`.
create_exception!(trail, TrailError, PyException, "An error from trail, in its own words.");
create_exception!(
    trail,
    EventError,
    TrailError,
    "An event trail refuses: the message names the field and what is wrong with it."
);

/// What an open log holds while it is open.
struct Open {
    /// Shared with each call (one reference count, where a `Recorder` clone takes a dozen).
    recorder: Arc<Recorder>,
    /// The writer lock (and, on PostgreSQL, the lease), released when the log closes.
    _writer: Writer,
}

/// A data directory opened for writing.
#[pyclass(module = "trail._native")]
struct NativeLog {
    path: PathBuf,
    dir: DataDir,
    runtime: Arc<tokio::runtime::Runtime>,
    open: Mutex<Option<Open>>,
    /// AG2 records seen, by line digest: a repeated line gets the importer's `:2`, `:3` ids.
    ag2_seen: Mutex<std::collections::HashMap<String, u32>>,
    /// Set in a child process after `os.fork()` (the package registers the hook): the child has
    /// a copy of the parent's recorder without its threads and shares its writer lock, so every
    /// call is refused and nothing is closed or released from the child.
    forked: AtomicBool,
}

fn err(e: impl std::fmt::Display) -> PyErr {
    TrailError::new_err(format!("{e:#}"))
}

fn anyhow_err(e: &anyhow::Error) -> PyErr {
    TrailError::new_err(format!("{e:#}"))
}

/// An acknowledgement as the Python side reads it: `{seq, id, hash, created}`.
fn ack_json(a: trail_ingest::Appended) -> Value {
    json!({"seq": a.seq, "id": a.id, "hash": a.hash.to_string(), "created": a.created})
}

/// Batches at least this long are prepared on two threads (a thread costs tens of
/// microseconds; an event's preparation about ten).
const PREPARE_IN_TWO_FROM: usize = 64;

/// Awaits queued events' acknowledgements, in order; then the error of the event that was
/// `refused` after them (its index in the batch), if one was: the events before it are stored
/// when it is reported, and the message says so, so a caller retries from that event on.
async fn acknowledgements(
    pending: Vec<impl Future<Output = Result<trail_ingest::Appended, RecordError>>>,
    refused: Option<(usize, RecordError)>,
) -> PyResult<Vec<trail_ingest::Appended>> {
    let mut acks = Vec::with_capacity(pending.len());
    for p in pending {
        acks.push(p.await.map_err(record_err)?);
    }
    match refused {
        Some((i, e)) => {
            let before = match i {
                0 => "none of the batch is stored".to_owned(),
                1 => "event 0 before it is stored".to_owned(),
                n => format!("events 0 to {} before it are stored", n - 1),
            };
            let text = format!("event {i}: {e} ({before})");
            Err(match e {
                RecordError::Invalid(_) | RecordError::Blocked(_) => EventError::new_err(text),
                _ => TrailError::new_err(text),
            })
        }
        None => Ok(acks),
    }
}

/// Event `i` of a batch, parsed, as a client may send it; a refusal names its place.
fn batch_event(i: usize, parsed: Result<Event, trail_core::EventError>) -> PyResult<Event> {
    parsed
        .and_then(Event::checked_from_client)
        .map_err(|e| EventError::new_err(format!("event {i}: {e}")))
}

/// A serde_json message without its " at line L column C" (a place in text the package made).
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

/// An acknowledgement as a dict: `{seq, id, hash, created}`.
fn ack_dict(py: Python<'_>, a: trail_ingest::Appended) -> PyResult<Bound<'_, PyDict>> {
    // Interned keys: made once, not four new strings per event.
    let out = PyDict::new(py);
    out.set_item(intern!(py, "seq"), a.seq)?;
    out.set_item(intern!(py, "id"), a.id)?;
    out.set_item(intern!(py, "hash"), a.hash.to_string())?;
    out.set_item(intern!(py, "created"), a.created)?;
    Ok(out)
}

/// Taking the writer lock failed: `InterruptedError` when a signal interrupted the wait (the
/// caller runs Python's handlers and waits again), else as any other error.
fn lock_err(e: &anyhow::Error) -> PyErr {
    let interrupted = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::Interrupted)
    });
    if interrupted { PyInterruptedError::new_err(e.to_string()) } else { anyhow_err(e) }
}

fn record_err(e: RecordError) -> PyErr {
    match e {
        RecordError::Invalid(_) | RecordError::Blocked(_) => EventError::new_err(e.to_string()),
        other => TrailError::new_err(other.to_string()),
    }
}

impl NativeLog {
    fn start(path: PathBuf, dir: DataDir) -> PyResult<NativeLog> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("trail")
            .enable_all()
            .build()
            .map_err(err)?;
        let writer = match Writer::take(&dir, true).map_err(|e| lock_err(&e))? {
            Turn::Own(w) => w,
            Turn::Served { node } => {
                return Err(TrailError::new_err(format!(
                    "the trail serve node at {node} sequences the log in {}: record through \
                     trail.Client({node:?}) instead",
                    path.display()
                )));
            }
        };
        // The recorder's tasks live on this log's runtime.
        let recorder = {
            let _guard = runtime.enter();
            dir.open_recorder(writer.store.clone()).map_err(|e| anyhow_err(&e))?
        };
        Ok(NativeLog {
            path,
            dir,
            runtime: Arc::new(runtime),
            open: Mutex::new(Some(Open { recorder: Arc::new(recorder), _writer: writer })),
            ag2_seen: Mutex::new(std::collections::HashMap::new()),
            forked: AtomicBool::new(false),
        })
    }

    /// Records one event, the GIL released until it is stored; its acknowledgement as JSON text.
    fn record_event(&self, py: Python<'_>, event: Event) -> PyResult<String> {
        Ok(ack_json(self.append(py, event)?).to_string())
    }

    /// Records events in order, queued together so they share commits, the GIL released
    /// until every one is stored. Every event is checked before any is queued.
    fn append_all(
        &self,
        py: Python<'_>,
        values: Vec<Value>,
    ) -> PyResult<Vec<trail_ingest::Appended>> {
        let events = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| batch_event(i, Event::from_value(v)))
            .collect::<PyResult<Vec<Event>>>()?;
        self.append_events(py, events)
    }

    /// Records checked events in order, queued together so they share commits, the GIL released
    /// until every one is stored (or one is refused: then once the ones before it are).
    fn append_events(
        &self,
        py: Python<'_>,
        events: Vec<Event>,
    ) -> PyResult<Vec<trail_ingest::Appended>> {
        let recorder = self.recorder()?;
        let runtime = self.runtime.clone();
        py.detach(move || {
            // Preparing (the scan above all) is most of a batch's work and independent per
            // event: in a long batch a second thread prepares every other event while this one
            // prepares the rest and queues them all in order, as the sequencer commits what is
            // queued.
            let n = events.len();
            let two = n >= PREPARE_IN_TWO_FROM;
            let theirs = |i: usize| two && i % 2 == 1;
            let (mine, others): (Vec<_>, Vec<_>) =
                events.into_iter().enumerate().partition(|(i, _)| !theirs(*i));
            std::thread::scope(|s| {
                let (tx, rx) = std::sync::mpsc::sync_channel(256);
                if two {
                    let helper = recorder.clone();
                    s.spawn(move || {
                        for (_, event) in others {
                            let prepared = helper.prepare_event(event);
                            let failed = prepared.is_err();
                            // The receiver is gone once this batch stopped at a refusal.
                            if tx.send(prepared).is_err() || failed {
                                break;
                            }
                        }
                    });
                }
                runtime.block_on(async {
                    let mut mine = mine.into_iter();
                    let mut pending = Vec::with_capacity(n);
                    let mut refused = None;
                    for i in 0..n {
                        let prepared = if theirs(i) {
                            rx.recv().unwrap_or(Err(RecordError::Closed))
                        } else {
                            match mine.next() {
                                Some((_, event)) => recorder.prepare_event(event),
                                None => Err(RecordError::Closed),
                            }
                        };
                        let queued = match prepared {
                            Ok(prepared) => recorder.enqueue_prepared(prepared).await,
                            Err(e) => Err(e),
                        };
                        match queued {
                            Ok(ack) => pending.push(ack),
                            Err(e) => {
                                refused = Some((i, e));
                                break;
                            }
                        }
                    }
                    acknowledgements(pending, refused).await
                })
            })
        })
    }

    /// Records one event, the GIL released until it is stored: at once when the recorder can
    /// (an unsynced store with nothing queued), else through the log's runtime.
    fn append(&self, py: Python<'_>, event: Event) -> PyResult<trail_ingest::Appended> {
        let recorder = self.recorder()?;
        let runtime = &self.runtime;
        py.detach(move || match recorder.record_now(event) {
            Ok(RecordedNow::Done(ack)) => Ok(ack),
            Ok(RecordedNow::Later(prepared)) => {
                runtime.block_on(recorder.record_prepared(*prepared)).map_err(record_err)
            }
            Err(e) => Err(record_err(e)),
        })
    }

    /// The store reads go to: the recorder's while the log is open (a second store on the
    /// same database would not see what the recorder's holds in its append journal yet), a
    /// new one once it is closed.
    fn store(&self) -> PyResult<std::sync::Arc<dyn trail_store::Store>> {
        self.not_forked()?;
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        match open.as_ref() {
            Some(o) => Ok(o.recorder.store().clone()),
            None => self.dir.store().map_err(|e| anyhow_err(&e)),
        }
    }

    /// Refuses a call in a process forked from the one that opened the log.
    fn not_forked(&self) -> PyResult<()> {
        if self.forked.load(Ordering::Acquire) {
            return Err(TrailError::new_err(format!(
                "this Log of {} was opened before os.fork(): the writer is the parent process; \
                 a forked process opens the log itself (trail.Log.open) once the parent has \
                 closed it, or records through trail.Client",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn recorder(&self) -> PyResult<Arc<Recorder>> {
        self.not_forked()?;
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        match open.as_ref() {
            Some(o) => Ok(o.recorder.clone()),
            None => {
                Err(TrailError::new_err(format!("the log in {} is closed", self.path.display())))
            }
        }
    }
}

#[pymethods]
impl NativeLog {
    /// Creates a log in a new data directory (as `trail init` does) and opens it.
    #[staticmethod]
    #[pyo3(signature = (path, origin, store = "sqlite", durability = "commit"))]
    fn init(
        py: Python<'_>,
        path: PathBuf,
        origin: &str,
        store: &str,
        durability: &str,
    ) -> PyResult<NativeLog> {
        py.detach(|| {
            let (dir, _) = DataDir::init(&path, origin, store, Default::default(), durability)
                .map_err(|e| anyhow_err(&e))?;
            NativeLog::start(path, dir)
        })
    }

    /// Opens the log in an existing data directory, taking its writer lock (waiting for another
    /// writer to finish; a log a `trail serve` node holds is refused, naming the node).
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<NativeLog> {
        loop {
            let opened = py.detach(|| {
                let dir = DataDir::open(&path).map_err(|e| anyhow_err(&e))?;
                NativeLog::start(path.clone(), dir)
            });
            match opened {
                // A signal ended the wait for the writer lock: Python runs its handler (Ctrl-C
                // raises KeyboardInterrupt here), and the wait goes on if it returns.
                Err(e) if e.is_instance_of::<PyInterruptedError>(py) => py.check_signals()?,
                other => return other,
            }
        }
    }

    /// Marks this log as inherited by a forked child (called by the package's
    /// `os.register_at_fork` hook in the child): every later call is refused.
    fn _forked(&self) {
        self.forked.store(true, Ordering::Release);
    }

    /// The log's origin.
    #[getter]
    fn origin(&self) -> String {
        self.dir.origin().to_owned()
    }

    /// The data directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Records one event given as its kind and its other fields (`record(kind, **fields)`, the
    /// package's `Log.record` itself); its acknowledgement (`{seq, id, hash, created}`) once it
    /// is stored as the log's durability says. Values read as JSON values without JSON text in
    /// between (see `values.rs`); when one is not, the event goes through the package's
    /// `_event` (`json.dumps`) and the strict parse, which accept or refuse it.
    #[pyo3(signature = (*args, **fields))]
    fn record<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        fields: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let fields = match fields {
            Some(f) => f.clone(),
            None => PyDict::new(py),
        };
        // `record("tool_call", ...)` or `record(kind="tool_call", ...)`, as the signature reads.
        let kind = match args.len() {
            0 => None,
            1 => Some(args.get_item(0)?),
            n => {
                return Err(PyTypeError::new_err(format!(
                    "record() takes the kind as its only positional argument ({n} were given); \
                     give the other fields by name"
                )));
            }
        };
        if kind.is_some() && fields.contains("kind")? {
            return Err(EventError::new_err("kind: give the kind once, as the first argument"));
        }
        let plain = values::plain_event(kind.as_ref(), &fields);
        let direct = || {
            values::object_of(&fields, 0).and_then(|mut event| match &kind {
                Some(kind) => values::json_of(kind, 1).map(|kind| {
                    event.insert("kind".to_owned(), kind);
                    event
                }),
                None => Some(event),
            })
        };
        let event = match plain {
            // Validated as `from_value` validates what it reads.
            Some(event) => event.validate().map(|()| event),
            None => match direct() {
                Some(event) => Event::from_value(Value::Object(event)),
                None => {
                    let trail = py.import("trail")?;
                    let text = match &kind {
                        Some(kind) => trail.getattr("_event")?.call1((kind, &fields))?,
                        None => trail.getattr("_json")?.call1((&fields, "the event"))?,
                    };
                    Event::from_slice(text.extract::<String>()?.as_bytes())
                }
            },
        };
        let event = event
            .and_then(Event::checked_from_client)
            .map_err(|e| EventError::new_err(e.to_string()))?;
        ack_dict(py, self.append(py, event)?)
    }

    /// Records one event (JSON text of an object); returns its acknowledgement as JSON text once
    /// it is stored as the log's durability says.
    fn record_json(&self, py: Python<'_>, event: &str) -> PyResult<String> {
        let event = Event::from_slice(event.as_bytes())
            .and_then(Event::checked_from_client)
            .map_err(|e| EventError::new_err(e.to_string()))?;
        self.record_event(py, event)
    }

    /// Records events (a list of dicts, each with a `kind`) in order, queued together so they
    /// share commits; their acknowledgements as dicts. `None`, recording nothing, when a value
    /// is not one read as a JSON value directly (see `values.rs`): the caller then records
    /// through `record_many_json`. Every event's fields are checked before any is queued (a bad
    /// one records none); one that the scan policy blocks stops the batch there, the ones
    /// before it recorded.
    fn record_many<'py>(
        &self,
        py: Python<'py>,
        events: &Bound<'py, PyList>,
    ) -> PyResult<Option<Bound<'py, PyList>>> {
        let mut values = Vec::with_capacity(events.len());
        for event in events.iter() {
            let Some(map) = event.cast_exact::<PyDict>().ok().and_then(|d| values::object_of(d, 0))
            else {
                return Ok(None);
            };
            values.push(Value::Object(map));
        }
        let acks = self.append_all(py, values)?;
        let out = PyList::empty(py);
        for ack in acks {
            out.append(ack_dict(py, ack)?)?;
        }
        Ok(Some(out))
    }

    /// Records events, each given as the JSON text of an object (parsed as `record_json` parses
    /// one, so the same values are refused with the same words, naming the event), in order,
    /// queued together so they share commits; their acknowledgements as JSON text. Every event
    /// is checked before any is queued (a bad one records none); one that the scan policy
    /// blocks stops the batch there, raised once the ones before it are stored.
    fn record_many_json(&self, py: Python<'_>, events: Vec<String>) -> PyResult<String> {
        let events = events
            .iter()
            .enumerate()
            .map(|(i, text)| batch_event(i, Event::from_slice(text.as_bytes())))
            .collect::<PyResult<Vec<Event>>>()?;
        let acks = self.append_events(py, events)?;
        Ok(Value::Array(acks.into_iter().map(ack_json).collect()).to_string())
    }

    /// Records one event Harness's `AuditLogger` made (the JSON text of its line), mapped as
    /// `trail import --from harness` maps it (id `harness:<event_id>`, kind, session, usage, the
    /// whole event under `body.harness`); its acknowledgement as JSON text.
    fn record_harness_json(&self, py: Python<'_>, line: &str, source: &str) -> PyResult<String> {
        let event = trail_interop::harness::event_from_line(line, source)
            .map_err(|e| EventError::new_err(e.to_string()))?;
        self.record_event(py, event)
    }

    /// Records one line AG2's hub `AuditLog` appended, mapped as `trail import --from ag2` maps
    /// it (`n` is its line number in the audit log, for the event's provenance).
    fn record_ag2_json(
        &self,
        py: Python<'_>,
        line: &str,
        source: &str,
        n: u64,
    ) -> PyResult<String> {
        let event = {
            let mut seen = self.ag2_seen.lock().unwrap_or_else(PoisonError::into_inner);
            trail_interop::ag2::event_from_line(line, source, n, &mut seen)
                .map_err(|e| EventError::new_err(e.to_string()))?
        };
        self.record_event(py, event)
    }

    /// Records one AgenticAPI trace given as the row its `SqliteAuditRecorder` writes (JSON text
    /// of `{"columns": [...], "row": [...]}`), as the events `trail import --from agenticapi` makes
    /// of a stored row (intent, code, policy, execution, ...); their acknowledgements as JSON text.
    fn record_agenticapi_json(
        &self,
        py: Python<'_>,
        row: &str,
        source: &str,
        n: i64,
    ) -> PyResult<String> {
        let v: Value = serde_json::from_str(row).map_err(|e| EventError::new_err(e.to_string()))?;
        let columns: Vec<String> = serde_json::from_value(v["columns"].clone())
            .map_err(|e| EventError::new_err(format!("columns: {e}")))?;
        let cells = v["row"].as_array().cloned().unwrap_or_default();
        let events = trail_interop::agenticapi::events_from_row(&columns, &cells, source, n)
            .map_err(|e| EventError::new_err(e.to_string()))?;
        let texts = events
            .iter()
            .map(|e| serde_json::to_string(e).map_err(|e| TrailError::new_err(e.to_string())))
            .collect::<PyResult<Vec<String>>>()?;
        self.record_many_json(py, texts)
    }

    /// Waits until everything recorded so far is stored and covered by a signed checkpoint;
    /// returns that checkpoint (signed note text).
    fn flush(&self, py: Python<'_>) -> PyResult<String> {
        let recorder = self.recorder()?;
        let runtime = self.runtime.clone();
        py.detach(move || {
            runtime.block_on(recorder.flush()).map_err(err)?;
            let cp = recorder.store().latest_checkpoint().map_err(err)?;
            Ok(cp.map(|c| c.to_string()).unwrap_or_default())
        })
    }

    /// Signs a final checkpoint and releases the log (its writer lock). Closing twice is fine.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.not_forked()?;
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(open) = open else { return Ok(()) };
        let runtime = self.runtime.clone();
        py.detach(move || {
            runtime.block_on(Arc::unwrap_or_clone(open.recorder).close()).map_err(err)
        })
    }

    /// Records matching the filters (JSON text of `trail_store::Query`: kind, agent, session,
    /// status, from, to, search, limit, cursor, ascending, ...), as JSON text:
    /// `{"records": [{seq, hash, record, body}], "next_cursor"}`.
    fn query_json(&self, py: Python<'_>, filters: &str) -> PyResult<String> {
        // The filter that is wrong is named (`query(limit="10")`: `query: limit: invalid type:
        // string "10", expected u32`), not a place in JSON text the caller never wrote.
        let q: Query =
            serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(filters))
                .map_err(|e| {
                    let path = e.path().to_string();
                    let inner = e.into_inner().to_string();
                    let reason = strip_position(&inner);
                    match path.as_str() {
                        "." => EventError::new_err(format!("query: {reason}")),
                        _ => EventError::new_err(format!("query: {path}: {reason}")),
                    }
                })?;
        let store = self.store()?;
        py.detach(move || {
            let page = store.query(&q).map_err(err)?;
            let records: Vec<Value> = page
                .records
                .iter()
                .map(|r| {
                    let body = r.body.as_ref().and_then(|b| serde_json::from_slice::<Value>(&b.canonical).ok());
                    json!({"seq": r.seq, "hash": r.hash.to_string(), "record": r.record.to_value(), "body": body})
                })
                .collect();
            Ok(json!({"records": records, "next_cursor": page.next_cursor}).to_string())
        })
    }

    /// Verifies the log as `trail verify --data` does, against its own verifier key; the report
    /// as JSON text (`verdict`, `intact`, counts, problems).
    fn verify_json(&self, py: Python<'_>) -> PyResult<String> {
        let store = self.store()?;
        let key = self.dir.verifier().map_err(|e| anyhow_err(&e))?;
        let origin = self.dir.origin().to_owned();
        py.detach(move || {
            let opts = VerifyOptions {
                verifiers: vec![key],
                origin: Some(origin),
                ..VerifyOptions::default()
            };
            let report = trail_store::verify_store(&*store, opts, &mut |_| {}).map_err(err)?;
            let verdict = report.verdict();
            Ok(json!({"verdict": verdict, "intact": report.is_intact(), "report": report})
                .to_string())
        })
    }
}

impl Drop for NativeLog {
    fn drop(&mut self) {
        if self.forked.load(Ordering::Acquire) {
            // The runtime's threads and the writer lock are the parent's: dropping them here
            // would wait for threads that do not exist in this process, or release the lock
            // the parent holds (a `flock` is shared across fork).
            std::mem::forget(self.runtime.clone());
            let open = self.open.get_mut().unwrap_or_else(PoisonError::into_inner).take();
            std::mem::forget(open);
            return;
        }
        // A log dropped without close() still signs its final checkpoint.
        if let Some(open) = self.open.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = self.runtime.block_on(Arc::unwrap_or_clone(open.recorder).close());
        }
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeLog>()?;
    m.add("TrailError", m.py().get_type::<TrailError>())?;
    m.add("EventError", m.py().get_type::<EventError>())?;
    Ok(())
}
