//! `trail log`: events from standard input or flags into a log, or to the server that holds it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use serde_json::json;
use trail_core::Event;

use super::open_recorder;
use crate::datadir::DataDir;
use crate::writer::{Turn, Writer};
use crate::{DataArg, JsonArg};

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
        match Event::from_value(v).and_then(Event::checked_from_client) {
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
    let store = recorder.store().clone();
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
    // The final checkpoint to the log's witnesses, if it has any (the events are stored and
    // acknowledged already; a witness that fails is named, and the next run or `trail
    // checkpoint` asks again).
    if let Some(w) = trail_server::witnessing::Witnessing::new(
        &dir.config.witnesses,
        dir.config.witness.as_ref(),
    )? {
        for (name, result) in w.cosign_latest(&store).await.map_err(|e| anyhow!(e))? {
            if let Err(why) = result {
                eprintln!(
                    "trail: WARNING: witness {name} did not cosign the final checkpoint: {why}"
                );
            }
        }
    }
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
                        .and_then(Event::checked_from_client)
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
