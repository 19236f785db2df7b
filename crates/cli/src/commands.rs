//! The log's lifecycle: init, log, checkpoint, proof, export, verify, demo, repair, keygen.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use serde_json::json;
use trail_core::export::{self, ExportLine};
use trail_core::receipt::Receipt;
use trail_core::verify::{BodyInput, Location, Report, Verdict, Verifier, VerifyOptions};
use trail_core::{Checkpoint, Event, NoteSigner, NoteVerifier};
use trail_ingest::Recorder;
use trail_store::Store;

use crate::datadir::{DataDir, write_private};
use crate::output::{green, red, yellow};
use crate::writer::{Turn, Writer};
use crate::{DataArg, JsonArg};

/// `trail init`'s settings beyond the log's name and store.
pub struct InitOptions<'a> {
    /// A Harness or denkeeper config whose `[audit]` settings to take.
    pub audit_from: Option<&'a Path>,
    /// `commit` or `checkpoint`.
    pub durability: &'a str,
}

pub fn init(
    path: &Path,
    origin: &str,
    store: &str,
    opts: &InitOptions<'_>,
    json: bool,
) -> Result<ExitCode> {
    let audit = match opts.audit_from {
        Some(file) => crate::datadir::AuditConfig::from_file(file)?,
        None => crate::datadir::AuditConfig::default(),
    };
    let (dir, signer) = DataDir::init(path, origin, store, audit, opts.durability)?;
    let vkey = signer.verifier().to_string();
    if json {
        println!("{}", json!({"data": dir.path, "origin": origin, "store": store, "vkey": vkey}));
    } else {
        println!("created log {origin} in {} ({store} store)", dir.path.display());
        println!(
            "verifier key (give it to auditors; it is also in {}/log.vkey):",
            dir.path.display()
        );
        println!("{vkey}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct LogArgs {
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    json: JsonArg,
    /// Append one event of this kind from flags instead of reading stdin.
    #[arg(long)]
    kind: Option<String>,
    /// The event's action (the tool or operation, e.g. Bash); with --kind.
    #[arg(long, requires = "kind")]
    action: Option<String>,
    /// The event's status (ok, error, denied, ...); with --kind.
    #[arg(long, requires = "kind")]
    status: Option<String>,
    /// The agent that acted; with --kind.
    #[arg(long, requires = "kind")]
    agent: Option<String>,
    /// The session the event belongs to; with --kind.
    #[arg(long, requires = "kind")]
    session: Option<String>,
    /// The person or account the agent acted for; with --kind.
    #[arg(long, requires = "kind")]
    actor: Option<String>,
    /// The event's id (a retry with the same id appends nothing); with --kind.
    #[arg(long, requires = "kind")]
    id: Option<String>,
    /// The event body, as JSON.
    #[arg(long, requires = "kind")]
    body: Option<String>,
}

/// The event `trail log --kind ...` builds from its flags.
fn flag_event(args: &LogArgs, kind: &str) -> Result<serde_json::Value> {
    let mut v = json!({"kind": kind});
    for (k, val) in [
        ("action", &args.action),
        ("status", &args.status),
        ("agent", &args.agent),
        ("session", &args.session),
        ("actor", &args.actor),
        ("id", &args.id),
    ] {
        if let Some(val) = val {
            v[k] = json!(val);
        }
    }
    if let Some(body) = &args.body {
        v["body"] = serde_json::from_str(body).context("--body is not valid JSON")?;
    }
    Ok(v)
}

pub async fn log(args: LogArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let writer = match Writer::take(&dir, true)? {
        Turn::Own(w) => w,
        Turn::Served { node } => {
            let input: Box<dyn std::io::Read + Send> = match &args.kind {
                Some(kind) => {
                    Box::new(std::io::Cursor::new(format!("{}\n", flag_event(&args, kind)?)))
                }
                None => Box::new(std::io::stdin()),
            };
            return forward(&dir, &node, args.json.json, input).await;
        }
    };
    let recorder = open_recorder(&dir, writer.store.clone())?;
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut print = |a: &trail_ingest::Appended| -> Result<()> {
        if args.json.json {
            writeln!(
                out,
                "{}",
                json!({"seq": a.seq, "id": a.id, "hash": a.hash.to_string(), "created": a.created})
            )?;
        }
        Ok(())
    };
    let mut appended = Counts::new(args.json.json || args.kind.is_some());
    let mut failure = None;
    if let Some(kind) = &args.kind {
        let v = flag_event(&args, kind)?;
        match Event::from_value(v).and_then(|e| e.check_client_kind().map(|()| e)) {
            Ok(e) => match recorder.record(e).await {
                Ok(a) => {
                    appended.add(&a);
                    print(&a)?;
                }
                Err(e) => failure = Some(format!("event not appended: {e}")),
            },
            Err(e) => failure = Some(format!("invalid event: {e}")),
        }
    } else {
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            eprintln!(
                "trail log: reading events from the terminal, one JSON object per line; end with \
                 Ctrl-D (or pipe them in: `agent | trail log`, or give one with --kind)"
            );
        }
        // Events are appended in order; the first bad line stops the command and appends
        // nothing of its own, while the lines before it stay appended. A thread reads and
        // parses the lines, so parsing overlaps with scanning here and committing in the
        // recorder (on two cores: 28.5 k -> N k events/s).
        let lines = parse_lines(std::io::stdin());
        let mut pending: Pending = Vec::new();
        'read: loop {
            // When the input pauses (an agent writing an event now and then), what was sent is
            // acknowledged before waiting for more, not when the window fills or input ends.
            let chunk = match lines.recv_timeout(IDLE_INPUT) {
                Ok(chunk) => chunk,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    drain(&mut pending, &mut appended, &mut print, &mut failure).await?;
                    if failure.is_some() {
                        break 'read;
                    }
                    match lines.recv() {
                        Ok(chunk) => chunk,
                        Err(_) => break 'read,
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break 'read,
            };
            for (n, line, parsed) in chunk {
                let event = match parsed {
                    Ok(e) => e,
                    Err(e) => {
                        failure = Some(format!("line {n}: {e}"));
                        break 'read;
                    }
                };
                match recorder.try_record(event) {
                    Ok(fut) => pending.push((n, boxed(fut))),
                    Err(trail_ingest::RecordError::Full { .. }) => {
                        drain(&mut pending, &mut appended, &mut print, &mut failure).await?;
                        if failure.is_some() {
                            break 'read;
                        }
                        let event = Event::from_slice(line.as_bytes())?;
                        pending.push((n, boxed(recorder.record_owned(event))));
                    }
                    Err(e) => {
                        failure = Some(format!("line {n}: {e}"));
                        break 'read;
                    }
                }
                // A sliding window: wait for the oldest acknowledgement only, so parsing and
                // scanning here overlap with the sequencer's commits.
                if pending.len() >= 8192 {
                    let mut oldest: Pending = pending.drain(..1024).collect();
                    drain(&mut oldest, &mut appended, &mut print, &mut failure).await?;
                    if failure.is_some() {
                        break 'read;
                    }
                }
            }
        }
        drain(&mut pending, &mut appended, &mut print, &mut failure).await?;
    }
    let closed = recorder.close().await;
    appended.bar.finish();
    if !args.json.json {
        eprintln!("{}", appended_words(appended.created, appended.existing));
    }
    if let Some(f) = failure {
        eprintln!("trail: {f}");
        return Ok(ExitCode::from(1));
    }
    closed.map_err(|e| anyhow!("final checkpoint: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `trail log` for a log that a `trail serve` node sequences (it holds the PostgreSQL lease):
/// the lines are checked here as `trail log` checks them, then sent to the node's
/// `POST /v1/events` in order, with `TRAIL_API_KEY` as the bearer key when the node asks for one.
/// A bad line stops the command; the lines before it stay appended, as without a server.
async fn forward(
    dir: &DataDir,
    node: &str,
    json_out: bool,
    input: Box<dyn std::io::Read + Send>,
) -> Result<ExitCode> {
    eprintln!("trail: the trail serve node at {node} sequences this log; sending the events to it");
    let client = trail_server::listen::client_builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .context("cannot build the HTTP client")?;
    // The log's name in the query, percent-encoded (an origin holds `/`).
    let log: String = dir
        .origin()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let url = format!("{}/v1/events?log={log}", node.trim_end_matches('/'));
    let key = std::env::var("TRAIL_API_KEY").ok().filter(|k| !k.is_empty());
    let lines = parse_lines(input);
    let mut appended = 0u64;
    let mut existing = 0u64;
    let mut failure = None;
    let out = std::io::stdout();
    'read: while let Ok(chunk) = lines.recv() {
        let mut body = String::new();
        let mut numbers = Vec::new();
        for (n, line, parsed) in chunk {
            if let Err(e) = parsed {
                failure = Some(format!("line {n}: {e}"));
                break;
            }
            body.push_str(&line);
            body.push('\n');
            numbers.push(n);
        }
        if !numbers.is_empty() {
            let mut req =
                client.post(&url).header("content-type", "application/x-ndjson").body(body);
            if let Some(k) = &key {
                req = req.bearer_auth(k);
            }
            let resp = req.send().await.map_err(|e| {
                anyhow!(
                    "cannot send the events to {node}: {}",
                    trail_server::listen::error_chain(&e)
                )
            })?;
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            if !status.is_success() {
                let hint = if status.as_u16() == 401 || status.as_u16() == 403 {
                    " (set TRAIL_API_KEY to a key with the ingest scope for this log)"
                } else {
                    ""
                };
                failure = Some(format!(
                    "lines {} to {} were not appended: {node} answered {status}: {}{hint}",
                    numbers[0],
                    numbers[numbers.len() - 1],
                    text.trim()
                ));
                break 'read;
            }
            let answer: trail_server::api::IngestResponse = serde_json::from_str(&text)
                .with_context(|| {
                    format!("{node} answered something that is not an ingest response")
                })?;
            let mut out = out.lock();
            for a in &answer.events {
                if a.created {
                    appended += 1
                } else {
                    existing += 1
                }
                if json_out {
                    writeln!(
                        out,
                        "{}",
                        json!({"seq": a.seq, "id": a.id, "hash": a.hash, "created": a.created})
                    )?;
                }
            }
        }
        if failure.is_some() {
            break;
        }
    }
    if !json_out {
        eprintln!("{}", appended_words(appended, existing));
    }
    if let Some(f) = failure {
        eprintln!("trail: {f}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Events acknowledged: appended now, or found already in the log under the same id; counted
/// on a progress line while stdin is long.
struct Counts {
    created: u64,
    existing: u64,
    bar: crate::output::Progress,
}

impl Counts {
    fn new(json: bool) -> Counts {
        Counts {
            created: 0,
            existing: 0,
            bar: crate::output::progress(None, "events appended", json),
        }
    }

    fn add(&mut self, a: &trail_ingest::Appended) {
        self.bar.inc(1);
        if a.created {
            self.created += 1;
        } else {
            self.existing += 1;
        }
    }
}

/// `appended 3 events`, or with re-sent ids `appended 1 event; 2 were already in the log`.
fn appended_words(appended: u64, existing: u64) -> String {
    let mut s = format!("appended {}", crate::output::count(appended, "event"));
    if existing > 0 {
        s.push_str(&format!(
            "; {} already in the log (same id), not appended again",
            if existing == 1 { "1 was".to_owned() } else { format!("{existing} were") }
        ));
    }
    s
}

/// A line's number, its text and the event parsed from it.
type Parsed = (usize, String, Result<Event>);

/// How long `trail log` waits for more input before acknowledging what it has sent.
const IDLE_INPUT: std::time::Duration = std::time::Duration::from_millis(5);

/// Lines of stdin parsed into events on a thread of their own, in chunks; blank lines are
/// skipped. A chunk is handed over when it is full or when the input has nothing more buffered,
/// so a line that arrives alone is not held back waiting for others. The thread stops after the
/// first line it cannot read or parse.
fn parse_lines(
    input: impl std::io::Read + Send + 'static,
) -> std::sync::mpsc::Receiver<Vec<Parsed>> {
    use std::io::BufRead;
    const CHUNK: usize = 256;
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    std::thread::spawn(move || {
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut reader = std::io::BufReader::with_capacity(1 << 20, input);
        let mut n = 0;
        loop {
            let mut bytes = Vec::new();
            let read = reader.read_until(b'\n', &mut bytes);
            if matches!(read, Ok(0)) {
                break;
            }
            n += 1;
            let line = read.map_err(|e| anyhow!("cannot read stdin: {e}")).and_then(|_| {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                String::from_utf8(bytes)
                    .map_err(|_| anyhow!("cannot read stdin: the line is not valid UTF-8"))
            });
            let (line, parsed) = match line {
                Ok(l) if l.trim().is_empty() => (l, None),
                Ok(l) => {
                    let parsed = Event::from_slice(l.as_bytes())
                        .and_then(|e| e.check_client_kind().map(|()| e))
                        .map_err(anyhow::Error::from);
                    (l, Some(parsed))
                }
                Err(e) => (String::new(), Some(Err(e))),
            };
            let stop = matches!(parsed, Some(Err(_)));
            if let Some(parsed) = parsed {
                chunk.push((n, line, parsed));
            }
            let idle = reader.buffer().is_empty();
            if !chunk.is_empty()
                && (stop || chunk.len() == CHUNK || idle)
                && tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err()
            {
                return;
            }
            if stop {
                return;
            }
        }
        let _ = tx.send(chunk);
    });
    rx
}

type Ack = std::pin::Pin<
    Box<dyn Future<Output = Result<trail_ingest::Appended, trail_ingest::RecordError>> + Send>,
>;
type Pending = Vec<(usize, Ack)>;

fn boxed(
    f: impl Future<Output = Result<trail_ingest::Appended, trail_ingest::RecordError>> + Send + 'static,
) -> Ack {
    Box::pin(f)
}

async fn drain(
    pending: &mut Pending,
    appended: &mut Counts,
    print: &mut impl FnMut(&trail_ingest::Appended) -> Result<()>,
    failure: &mut Option<String>,
) -> Result<()> {
    for (n, fut) in pending.drain(..) {
        match fut.await {
            Ok(a) => {
                appended.add(&a);
                print(&a)?;
            }
            Err(e) => {
                if failure.is_none() {
                    *failure = Some(format!("line {n}: {e}"));
                }
            }
        }
    }
    Ok(())
}

/// Opens the recorder on a data directory's store (the caller holds it as a [`Writer`]).
pub fn open_recorder(dir: &DataDir, store: Arc<dyn Store>) -> Result<Recorder> {
    if !dir.config.audit.enabled {
        bail!(
            "recording is disabled in {}/trail.toml ([audit] enabled = false); no event was stored",
            dir.path.display()
        );
    }
    let signer = dir.signer()?;
    let (scanner, config) = dir.recorder_config()?;
    Recorder::open(store, signer, scanner, config).map_err(|e| anyhow!("{e}"))
}

pub async fn checkpoint(data: &Path, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let writer = Writer::wait(&dir)?;
    let store = writer.store.clone();
    let signer = dir.signer()?;
    let size = store.state()?.size;
    let latest = store.latest_checkpoint()?;
    let latest_size = latest.as_ref().map(|c| c.checkpoint.size);
    if latest_size.is_none_or(|s| s < size) {
        let cp = Checkpoint { origin: dir.origin().to_owned(), size, root: store.root_at(size)? }
            .sign(&signer);
        store.put_checkpoint(latest_size, &cp)?;
    }
    match store.latest_checkpoint()? {
        Some(cp) if json_out => println!(
            "{}",
            json!({"size": cp.checkpoint.size, "root": cp.checkpoint.root.to_string(), "note": cp.to_string()})
        ),
        Some(cp) => print!("{cp}"),
        None => bail!("the log is empty: there is nothing to checkpoint"),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ProofArgs {
    #[command(flatten)]
    data: DataArg,
    /// Receipt for the event with this id.
    #[arg(long, conflicts_with_all = ["seq", "from"])]
    id: Option<String>,
    /// Receipt for the event at this seq.
    #[arg(long, conflicts_with = "from")]
    seq: Option<u64>,
    /// Consistency proof from this tree size...
    #[arg(long)]
    from: Option<u64>,
    /// ...to this one (default: the latest checkpoint).
    #[arg(long, requires = "from")]
    to: Option<u64>,
    #[command(flatten)]
    json: JsonArg,
}

pub fn proof(args: ProofArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let store = dir.store()?;
    let state = store.state()?;
    if let Some(seq) = args.seq.filter(|s| *s >= state.size) {
        bail!(
            "no event at seq {seq}: the log has {}{}",
            crate::output::count(state.size, "event"),
            if state.size > 0 {
                format!(" (seq {} to {})", store.start()?, state.size - 1)
            } else {
                String::new()
            }
        );
    }
    let latest = store
        .latest_checkpoint()?
        .ok_or_else(|| anyhow!("the log has no signed checkpoint yet; run `trail checkpoint`"))?;
    if let Some(from) = args.from {
        let to = args.to.unwrap_or(latest.checkpoint.size);
        if from == 0 || from > to {
            bail!("--from {from} must be at least 1 and at most --to {to}");
        }
        if to > store.state()?.size {
            bail!("--to {to} is beyond the log size {}", store.state()?.size);
        }
        let proof: Vec<String> =
            store.consistency_proof(from, to)?.iter().map(|h| h.to_base64()).collect();
        if args.json.json {
            println!("{}", json!({"from": from, "to": to, "proof": proof}));
        } else {
            for h in proof {
                println!("{h}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let seq = match (&args.id, args.seq) {
        (Some(id), _) => store.find_id(id)?.ok_or_else(|| anyhow!("no event with id {id:?}"))?.seq,
        (None, Some(seq)) => seq,
        (None, None) => bail!("give --id, --seq, or --from"),
    };
    let r = receipt(&*store, seq, &latest)?;
    if args.json.json {
        println!(
            "{}",
            json!({"seq": seq, "tree_size": r.checkpoint.checkpoint.size, "receipt": r.to_text()})
        );
    } else {
        print!("{}", r.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the receipt of `seq` against `cp`.
pub fn receipt(store: &dyn Store, seq: u64, cp: &trail_core::SignedCheckpoint) -> Result<Receipt> {
    let size = cp.checkpoint.size;
    if seq >= size {
        bail!(
            "event {seq} is not covered by the latest checkpoint (size {size}) yet; run `trail checkpoint`"
        );
    }
    let rec = store
        .get(seq)?
        .ok_or_else(|| anyhow!("no event at seq {seq} (it may have been pruned)"))?;
    Ok(Receipt {
        record: rec.canonical,
        index: seq,
        proof: store.inclusion_proof(seq, size)?,
        checkpoint: cp.clone(),
    })
}

pub fn export(data: &Path, out: Option<&Path>, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let store = dir.store()?;
    let mut w: Box<dyn Write> = match out {
        Some(p) => Box::new(BufWriter::new(crate::output::create_new(p)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    write_export(&*store, &mut w)?;
    w.flush()?;
    if let Some(p) = out {
        let size = store.state()?.size - store.start()?;
        if json_out {
            println!("{}", json!({"format": "jsonl", "out": p, "records": size}));
        } else {
            eprintln!("exported {} to {}", crate::output::count(size, "record"), p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the trail export of `store`.
pub fn write_export(store: &dyn Store, w: &mut dyn Write) -> Result<()> {
    let checkpoints = store.checkpoints()?;
    let mut cps = checkpoints.iter().peekable();
    let anchor = store.anchor()?;
    let start = anchor.as_ref().map_or(0, |a| a.size);
    if let Some(a) = &anchor {
        writeln!(w, "{}", export::anchor_line(a))?;
    }
    while let Some(cp) = cps.next_if(|c| c.checkpoint.size <= start) {
        if cp.checkpoint.size == start && start > 0 {
            writeln!(w, "{}", export::checkpoint_line(&cp.to_string()))?;
        }
    }
    let mut io_err = None;
    store.scan(start, u64::MAX, &mut |r| {
        let mut write = || -> std::io::Result<()> {
            writeln!(w, "{}", export::record_line(&r.canonical, &r.hash, r.body.as_ref()))?;
            while let Some(cp) = cps.next_if(|c| c.checkpoint.size == r.seq + 1) {
                writeln!(w, "{}", export::checkpoint_line(&cp.to_string()))?;
            }
            Ok(())
        };
        match write() {
            Ok(()) => Ok(true),
            Err(e) => {
                io_err = Some(e);
                Ok(false)
            }
        }
    })?;
    if let Some(e) = io_err {
        return Err(e.into());
    }
    // Checkpoints beyond the records (a truncated store) still go out, so verify sees them.
    for cp in cps {
        writeln!(w, "{}", export::checkpoint_line(&cp.to_string()))?;
    }
    Ok(())
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Data directory to verify (the default when no FILE is given).
    #[arg(long, env = "TRAIL_DATA", default_value = "trail-data", value_name = "DIR")]
    data: PathBuf,
    /// An export file to verify instead of a data directory.
    file: Option<PathBuf>,
    /// The log's verifier key, or a file holding it (default: the data directory's log.vkey).
    #[arg(long)]
    key: Vec<String>,
    /// A signed checkpoint an auditor kept earlier (repeatable): the log must reach and match it.
    #[arg(long, value_name = "FILE")]
    checkpoint: Vec<PathBuf>,
    /// Verify one receipt offline instead.
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Verify files of another system as that system defines them.
    #[arg(long, value_parser = ["harness"])]
    format: Option<String>,
    /// More files, for --format harness.
    #[arg(requires = "format")]
    more: Vec<PathBuf>,
    /// Accept records after the last valid signed checkpoint (a live log's newest events are
    /// unsigned until its next checkpoint); they are counted and named, never called signed.
    #[arg(long)]
    allow_unsigned_tail: bool,
    #[command(flatten)]
    json: JsonArg,
}

fn load_keys(keys: &[String]) -> Result<Vec<NoteVerifier>> {
    keys.iter()
        .map(|k| {
            let text = if Path::new(k).exists() {
                fs::read_to_string(k).with_context(|| format!("cannot read key file {k}"))?
            } else {
                k.clone()
            };
            text.trim().parse::<NoteVerifier>().map_err(|e| anyhow!("--key {k}: {e}"))
        })
        .collect()
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    if let Some(format) = &args.format {
        let files: Vec<PathBuf> = args.file.iter().chain(args.more.iter()).cloned().collect();
        return crate::interop::verify_foreign(format, &files, args.json.json);
    }
    let mut keys = load_keys(&args.key)?;
    if let Some(path) = &args.receipt {
        if keys.is_empty() {
            bail!("--receipt needs --key: a receipt is checked against the log's verifier key");
        }
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let result = Receipt::parse(&text).and_then(|r| r.verify(&keys).map(|rec| (r, rec)));
        return Ok(match result {
            Ok((r, rec)) => {
                if args.json.json {
                    println!(
                        "{}",
                        json!({"valid": true, "index": r.index, "tree_size": r.checkpoint.checkpoint.size, "record": rec.to_value()})
                    );
                } else {
                    println!(
                        "{} receipt for event {} ({}, id {}) in {} at tree size {}",
                        green("valid"),
                        rec.seq,
                        rec.fields.kind,
                        rec.id,
                        rec.origin,
                        r.checkpoint.checkpoint.size
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                if args.json.json {
                    println!("{}", json!({"valid": false, "problem": e.to_string()}));
                } else {
                    println!("{} receipt: {e}", red("invalid"));
                }
                ExitCode::from(1)
            }
        });
    }
    let trusted = args
        .checkpoint
        .iter()
        .map(|p| {
            fs::read_to_string(p).with_context(|| format!("cannot read checkpoint {}", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let (what, report) = match &args.file {
        Some(file) => {
            let opts = VerifyOptions { verifiers: keys, origin: None, trusted };
            (file.display().to_string(), verify_export_file(file, opts, args.json.json)?)
        }
        None => {
            let dir = DataDir::open(&args.data)?;
            if keys.is_empty() {
                keys.push(dir.verifier()?);
            }
            let opts =
                VerifyOptions { verifiers: keys, origin: Some(dir.origin().to_owned()), trusted };
            (
                format!("data directory {}", dir.path.display()),
                verify_data_dir(&dir, opts, args.json.json)?,
            )
        }
    };
    let passed = print_report(&what, &report, args.json.json, args.allow_unsigned_tail);
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What kind of file an export is, from its first bytes.
enum ExportKind {
    /// trail's JSON Lines export (or a file log): verified line by line.
    JsonLines,
    /// `trail export --format json`: one document, verified after it is read whole.
    JsonDocument,
    /// An export for reading, which cannot be verified (the format's name, and what to do).
    ForReading(&'static str, &'static str),
}

fn export_kind(path: &Path) -> Result<ExportKind> {
    use std::io::Read;
    let mut head = Vec::new();
    File::open(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .take(4096)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8_lossy(&head);
    let first = text.trim_start();
    let verify_jsonl = "verify trail's own export instead (`trail export --out FILE`, JSON Lines)";
    Ok(if first.starts_with("{\"format\":\"trail.json\"") {
        ExportKind::JsonDocument
    } else if first.starts_with("seq,time,") {
        ExportKind::ForReading(
            "a CSV export (`--format csv` or `trail query --format csv`)",
            verify_jsonl,
        )
    } else if first.starts_with("CEF:") {
        ExportKind::ForReading("an ArcSight CEF export (`--format cef`)", verify_jsonl)
    } else if first.starts_with('{')
        && first.contains("\"class_uid\"")
        && !first.starts_with("{\"record\"")
    {
        ExportKind::ForReading("an OCSF export (`--format ocsf`)", verify_jsonl)
    } else if first.starts_with("{\"event_id\"") && first.contains("\"prev_hash\"") {
        ExportKind::ForReading(
            "a Harness audit file",
            "check it as Harness defines it with `trail verify --format harness FILE`",
        )
    } else {
        ExportKind::JsonLines
    })
}

/// Verifies an export file: trail's JSON Lines line by line, or a JSON document; the formats
/// made for reading are named and refused.
pub fn verify_export_file(path: &Path, opts: VerifyOptions, json_out: bool) -> Result<Report> {
    match export_kind(path)? {
        ExportKind::JsonLines => {}
        ExportKind::JsonDocument => return verify_json_document(path, opts),
        ExportKind::ForReading(what, instead) => bail!(
            "{} is {what}, which cannot be verified: it is made for reading and does not carry \
             everything the proofs need; {instead}",
            path.display()
        ),
    }
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bar =
        crate::output::progress(f.metadata().ok().map(|m| m.len()), "verifying (bytes)", json_out);
    let mut v = Verifier::new(opts);
    let mut reader = BufReader::with_capacity(1 << 20, f);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        let at = Location::line(line_no);
        if buf.last() != Some(&b'\n') {
            v.problem(
                at,
                "torn_line",
                "the last line is incomplete (no newline): the file was cut mid-write",
            );
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            v.problem(at, "bad_line", "line is not UTF-8");
            continue;
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            continue;
        }
        match export::parse_line(text) {
            Ok(ExportLine::Record { canonical, hash, body }) => {
                let body = match &body {
                    Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                    None => BodyInput::Absent,
                };
                v.record(at, &canonical, hash, body);
            }
            Ok(ExportLine::Checkpoint(note)) => v.checkpoint(at, &note),
            Ok(ExportLine::Anchor(a)) => v.anchor(at, &a),
            Err(e) => v.problem(at, "bad_line", e.to_string()),
        }
    }
    Ok(v.finish())
}

/// Verifies `trail export --format json`: each element of `records` is a line of the JSON Lines
/// export; the checkpoints (all at the end of the document) are fed after the record each one
/// ends at, as the JSON Lines export places them.
fn verify_json_document(path: &Path, opts: VerifyOptions) -> Result<Report> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a whole JSON document", path.display()))?;
    let mut v = Verifier::new(opts);
    let mut cps: Vec<String> = doc["checkpoints"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let size_of =
        |note: &str| trail_core::SignedCheckpoint::parse(note).map_or(0, |c| c.checkpoint.size);
    cps.sort_by_key(|c| size_of(c));
    let mut cps = cps.into_iter().peekable();
    if let Some(anchor) = doc.get("anchor").filter(|a| !a.is_null()) {
        match serde_json::from_value::<trail_core::verify::Anchor>(anchor.clone()) {
            Ok(a) => {
                while let Some(cp) = cps.next_if(|c| size_of(c) <= a.size) {
                    v.checkpoint(Location::default(), &cp);
                }
                v.anchor(Location::default(), &a);
            }
            Err(e) => v.problem(Location::default(), "bad_anchor", format!("anchor: {e}")),
        }
    }
    let records = doc["records"].as_array().cloned().unwrap_or_default();
    for (i, item) in records.iter().enumerate() {
        let at = Location { line: None, seq: None };
        match export::parse_line(&item.to_string()) {
            Ok(ExportLine::Record { canonical, hash, body }) => {
                let body = match &body {
                    Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                    None => BodyInput::Absent,
                };
                v.record(at, &canonical, hash, body);
                let size = trail_core::Record::from_canonical(&canonical).map_or(0, |r| r.seq + 1);
                while let Some(cp) = cps.next_if(|c| size_of(c) <= size) {
                    v.checkpoint(at, &cp);
                }
            }
            Ok(_) => v.problem(at, "bad_line", format!("records[{i}] is not a record")),
            Err(e) => v.problem(at, "bad_line", format!("records[{i}]: {e}")),
        }
    }
    for cp in cps {
        v.checkpoint(Location::default(), &cp);
    }
    Ok(v.finish())
}

/// Verifies a data directory through its store (a file log is verified as the file it is).
pub fn verify_data_dir(dir: &DataDir, opts: VerifyOptions, json_out: bool) -> Result<Report> {
    if dir.config.log.store == "files" {
        let mut report =
            verify_export_file(&dir.path.join(trail_store::file::LOG_FILE), opts, json_out)?;
        // The file is the export format itself; the tree nodes proofs use are kept beside it.
        if let Ok(store) = dir.store() {
            store.check_derived(&mut |m| {
                report.problems.push(trail_core::verify::Problem {
                    at: Location { line: None, seq: m.seq },
                    code: "index_mismatch",
                    message: format!("{}: {}", m.table, m.message),
                });
            })?;
        }
        return Ok(report);
    }
    let store = dir.store()?;
    let size = store.state()?.size - store.start()?;
    let bar = crate::output::progress(Some(size), "verifying", json_out);
    Ok(trail_store::verify_store(&*store, opts, &mut |_| bar.inc(1))?)
}

/// Prints a verification report; returns whether the verification passed (exit 0).
///
/// Passing means no problem and every record covered by a checkpoint whose signature was
/// checked. With `allow_unsigned_tail`, records after the last valid checkpoint are accepted (a
/// live log's newest records are unsigned until its next checkpoint), as long as some
/// checkpoint covers the records before them.
fn print_report(what: &str, r: &Report, json: bool, allow_unsigned_tail: bool) -> bool {
    let verdict = r.verdict();
    let tail_accepted = allow_unsigned_tail
        && verdict == Verdict::UnsignedRecords
        && (r.verified_size > r.anchor.unwrap_or(0) || r.anchor.is_some());
    let passed = verdict == Verdict::Intact || tail_accepted;
    if json {
        println!(
            "{}",
            serde_json::to_string(&json!({
                "target": what,
                "verdict": verdict,
                "passed": passed,
                "intact": verdict == Verdict::Intact,
                "signed_records": r.signed_records(),
                "unsigned_records": r.unsigned_tail,
                "report": r
            }))
            .unwrap_or_default()
        );
        return passed;
    }
    println!("Verified {what}");
    if let Some(o) = &r.origin {
        println!("Log: {o}");
    }
    match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => println!("Records at {}:", crate::output::seq_range(a, b)),
        _ => println!("No records found."),
    }
    let bad_records =
        r.problems.iter().filter_map(|p| p.at.seq).collect::<std::collections::BTreeSet<_>>().len()
            as u64;
    println!("  {}/{} records consistent", r.records.saturating_sub(bad_records), r.records);
    println!(
        "  {} covered by a valid signed checkpoint, {} not (verified tree size {})",
        r.signed_records(),
        r.unsigned_tail,
        r.verified_size
    );
    println!(
        "  {} of {} valid",
        crate::output::count(r.checkpoints_valid, "checkpoint"),
        r.checkpoints_checked
    );
    println!(
        "  {} checked, {} erased",
        crate::output::count(r.bodies_checked, "body"),
        r.bodies_erased
    );
    for n in &r.notes {
        println!("{} {n}", yellow("note:"));
    }
    match verdict {
        Verdict::Intact => println!("{}", green("log is intact")),
        Verdict::UnsignedRecords if tail_accepted => println!(
            "{} up to tree size {}; the last {} not yet signed (accepted with \
             --allow-unsigned-tail: a live log's newest events are unsigned until its next \
             checkpoint)",
            green("log is intact"),
            r.verified_size,
            crate::output::count(r.unsigned_tail, "record"),
        ),
        Verdict::UnsignedRecords => {
            let none = r.signed_records() == 0;
            println!(
                "{} {} covered by no valid signed checkpoint{}: anyone who can write the log \
                 could have written or rewritten {}",
                red("NOT VERIFIED:"),
                if none {
                    format!("all {}", crate::output::count(r.unsigned_tail, "record"))
                } else {
                    format!(
                        "the last {} (after tree size {})",
                        crate::output::count(r.unsigned_tail, "record"),
                        r.verified_size
                    )
                },
                if none { " (no valid checkpoint at all)" } else { "" },
                if r.unsigned_tail == 1 { "it" } else { "them" }
            );
            if none {
                println!(
                    "  a log is proven only by its signed checkpoints; this one has none that hold"
                );
            } else {
                println!(
                    "  sign them (`trail checkpoint`, or wait for the next checkpoint) and verify \
                     again, or pass --allow-unsigned-tail to accept a live log's unsigned newest \
                     records"
                );
            }
        }
        Verdict::Empty => {
            println!("{} the log holds no record: there is nothing to verify", red("NOT VERIFIED:"))
        }
        Verdict::NoKey => println!(
            "{} no signature was checked: give the log's verifier key (--key KEY or FILE); \
             without it a rewritten log verifies just as well",
            red("NOT VERIFIED:")
        ),
        Verdict::Problems => print_problems(r),
    }
    passed
}

/// The first divergence in full, then what follows it, one line per kind of problem.
fn print_problems(r: &Report) {
    let total = r.problem_count();
    println!("{}", red(&format!("{} found:", crate::output::count(total, "problem"))));
    let place = |p: &trail_core::verify::Problem| {
        let mut loc = Vec::new();
        if let Some(s) = p.at.seq {
            loc.push(format!("seq {s}"));
        }
        if let Some(l) = p.at.line {
            loc.push(format!("line {l}"));
        }
        if loc.is_empty() { "log".to_owned() } else { loc.join(", ") }
    };
    let mut sorted: Vec<&trail_core::verify::Problem> = r.problems.iter().collect();
    sorted.sort_by_key(|p| (p.at.seq.or(p.at.line).unwrap_or(u64::MAX), p.at.line));
    let Some(first) = sorted.first() else { return };
    println!("  first: {}: {}: {}", place(first), first.code, first.message);
    // The rest grouped by kind, in the order each kind first appears.
    let mut groups: Vec<(&str, Vec<&trail_core::verify::Problem>)> = Vec::new();
    for p in &sorted[1..] {
        match groups.iter_mut().find(|(c, _)| *c == p.code) {
            Some((_, v)) => v.push(p),
            None => groups.push((p.code, vec![p])),
        }
    }
    if groups.is_empty() {
        return;
    }
    println!("  after it:");
    for (code, list) in groups {
        let p = list[0];
        if list.len() == 1 {
            println!("    {}: {code}: {}", place(p), p.message);
        } else {
            let last = list[list.len() - 1];
            println!(
                "    {} {code} ({} to {}), the first: {}",
                list.len(),
                place(p),
                place(last),
                p.message
            );
        }
    }
    if r.problems_not_listed > 0 {
        println!("    ... and {} more not listed", r.problems_not_listed);
    }
    println!("  (--json lists every problem)");
}

/// Events the demo records.
const DEMO_EVENTS: u64 = 6;

/// What the demo writes into its directory, and so all it may remove when run again.
const DEMO_RECEIPT: &str = "receipt-3.tlog-proof";
const DEMO_FILES: [&str; 8] = [
    crate::datadir::CONFIG_FILE,
    crate::datadir::KEY_FILE,
    crate::datadir::VKEY_FILE,
    crate::datadir::SQLITE_FILE,
    "trail.db-wal",
    "trail.db-shm",
    crate::datadir::LOCK_FILE,
    DEMO_RECEIPT,
];

/// Running the demo again replaces its own earlier log, file by file, and nothing else: a
/// directory that holds anything the demo did not write is refused, and is never removed.
fn remove_earlier_demo(path: &Path, origin: &str) -> Result<()> {
    let Ok(entries) = fs::read_dir(path) else {
        return Ok(()); // nothing there yet (or unreadable: init says why)
    };
    let names: Vec<String> = entries
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", path.display()))?;
    if names.is_empty() {
        return Ok(());
    }
    // An earlier demo: the demo's origin, its receipt, and exactly the events it records (a
    // log someone went on writing to, or made with the demo's name, is theirs).
    let is_demo = path.join(crate::datadir::CONFIG_FILE).is_file()
        && path.join(DEMO_RECEIPT).is_file()
        && DataDir::open(path).is_ok_and(|old| {
            old.origin() == origin
                && old.store().and_then(|s| Ok(s.state()?.size)).is_ok_and(|n| n == DEMO_EVENTS)
        });
    if !is_demo {
        bail!(
            "{} exists and is not an earlier trail demo left as the demo wrote it; the demo \
             writes only into a new or empty directory: choose another --data",
            path.display()
        );
    }
    let foreign: Vec<&String> =
        names.iter().filter(|n| !DEMO_FILES.contains(&n.as_str())).collect();
    if let Some(first) = foreign.first() {
        bail!(
            "{} holds an earlier demo and {} the demo did not write ({first}{}); nothing was \
             removed: move {} or choose another --data",
            path.display(),
            crate::output::count(foreign.len() as u64, "file"),
            if foreign.len() > 1 { ", ..." } else { "" },
            if foreign.len() == 1 { "it" } else { "them" }
        );
    }
    for name in &names {
        let p = path.join(name);
        match fs::remove_file(&p) {
            // SQLite removes its write-ahead log when the last connection closes.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other.with_context(|| format!("cannot remove {}", p.display()))?,
        }
    }
    Ok(())
}

pub async fn demo(path: &Path, json_out: bool) -> Result<ExitCode> {
    // With --json only the verification report is printed, as `trail verify --json` prints it.
    macro_rules! say {
        ($($t:tt)*) => { if !json_out { println!($($t)*); } };
    }
    let origin = "trail.demo/agent";
    remove_earlier_demo(path, origin)?;
    let (dir, _) =
        DataDir::init(path, origin, "sqlite", crate::datadir::AuditConfig::default(), "commit")?;
    say!("1. created log {origin} in {}", dir.path.display());
    let recorder = open_recorder(&dir, dir.store()?)?;
    let aws = format!("AKIA{}", "Z7Q3VN4XK2LMB5TP");
    let events = [
        json!({"kind": "session_start", "agent": "support-bot", "session": "demo-1", "actor": "user-42", "status": "ok"}),
        json!({"kind": "llm_call", "agent": "support-bot", "session": "demo-1", "action": "chat", "status": "ok", "duration_ms": 840,
               "usage": {"input_tokens": 1800, "output_tokens": 450, "cost_usd": 0.0125, "model": "gpt-4o"},
               "body": {"prompt": "Customer jane.doe@example.com asks why her order is late"}}),
        json!({"kind": "tool_call", "agent": "support-bot", "session": "demo-1", "action": "Bash", "status": "ok", "duration_ms": 12,
               "body": {"args": {"command": format!("aws s3 ls --access-key {aws}")}}}),
        json!({"kind": "permission_decision", "agent": "support-bot", "session": "demo-1", "action": "Write", "status": "denied",
               "body": {"reason": "writes outside the workspace are not allowed", "path": "/etc/hosts"}}),
        json!({"kind": "tool_result", "agent": "support-bot", "session": "demo-1", "action": "Read", "status": "ok",
               "body": {"result": "order 1182 shipped on Monday"}}),
        json!({"kind": "session_end", "agent": "support-bot", "session": "demo-1", "status": "ok"}),
    ];
    for e in events {
        let a = recorder.record(Event::from_value(e)?).await.map_err(|e| anyhow!("{e}"))?;
        say!("   appended seq {} hash {}", a.seq, a.hash);
    }
    recorder.close().await.map_err(|e| anyhow!("{e}"))?;
    let store = dir.store()?;
    let tool = store.get(2)?.ok_or_else(|| anyhow!("seq 2 missing"))?;
    let body = tool
        .body
        .as_ref()
        .map(|b| String::from_utf8_lossy(&b.canonical).into_owned())
        .unwrap_or_default();
    say!("2. the AWS key in the tool call was redacted before hashing: {body}");
    let llm = store.get(1)?.ok_or_else(|| anyhow!("seq 1 missing"))?;
    say!(
        "   the e-mail address in the prompt was detected: {:?}",
        llm.record.findings.iter().map(|f| format!("{} at {}", f.kind, f.path)).collect::<Vec<_>>()
    );
    let cp = store.latest_checkpoint()?.ok_or_else(|| anyhow!("no checkpoint"))?;
    say!("3. signed checkpoint:\n{cp}");
    let receipt_path = dir.path.join(DEMO_RECEIPT);
    fs::write(&receipt_path, receipt(&*store, 3, &cp)?.to_text())?;
    say!("4. receipt for the denied write saved to {}", receipt_path.display());
    let opts = VerifyOptions {
        verifiers: vec![dir.verifier()?],
        origin: Some(origin.into()),
        trusted: vec![],
    };
    let report = verify_data_dir(&dir, opts, true)?;
    say!("5. trail verify --data {}:", dir.path.display());
    let passed =
        print_report(&format!("data directory {}", dir.path.display()), &report, json_out, false);
    say!(
        "\nNext: trail sessions --data {0}; trail query --data {0} --status denied; trail verify --receipt {1} --key {0}/log.vkey",
        dir.path.display(),
        receipt_path.display()
    );
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn repair(data: &Path, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    if dir.config.log.store != "files" {
        bail!("repair applies to the files store; SQLite recovers torn transactions itself");
    }
    let _lock = dir.lock_writer()?;
    let moved = trail_store::file::FileStore::repair(&dir.path)?;
    if json_out {
        println!("{}", json!({"moved_bytes": moved}));
    } else if moved == 0 {
        println!("nothing to repair: the log ends with a complete line");
    } else {
        println!(
            "moved {moved} bytes of an incomplete last line to {}/log.jsonl.torn (that event was never acknowledged)",
            dir.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn keygen(name: &str, out: &Path, json_out: bool) -> Result<ExitCode> {
    let signer = NoteSigner::from_seed(name, rand::random()).map_err(|e| anyhow!("{e}"))?;
    let vkey_path = PathBuf::from(format!("{}.vkey", out.display()));
    // Both paths checked first, so a refusal leaves no half of a key pair behind.
    for p in [out, vkey_path.as_path()] {
        if p.exists() {
            bail!(
                "{} already exists; refusing to overwrite it (remove it or choose another --out)",
                p.display()
            );
        }
    }
    write_private(out, &(signer.to_private_key_string() + "\n"))?;
    crate::output::create_new(&vkey_path)?
        .write_all((signer.verifier().to_string() + "\n").as_bytes())?;
    if json_out {
        println!(
            "{}",
            json!({"verifier_key": signer.verifier().to_string(), "private_key_file": out, "verifier_key_file": vkey_path})
        );
    } else {
        println!("{}", signer.verifier());
    }
    Ok(ExitCode::SUCCESS)
}
