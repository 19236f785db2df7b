//! The trail side of `bench/run`: generates the shared events, runs trail's in-process workloads
//! and measures this machine's limits, printing one JSON object per command on stdout.
//!
//! The Python driver (`bench/run.py`) starts one process per workload, so a workload's peak
//! memory is the process's own (`ru_maxrss`), and it runs the peers on the same event file.
//! Inputs are read from the event file as the workload goes, outside the timed calls, so neither
//! the file nor its parsing counts in a workload's time or memory.
//!
//! ```text
//! trail-bench gen --n N [--seed S]                      JSONL events on stdout
//! trail-bench append --events F --n N --dir D [--batch B | --callers C] [--store sqlite|files]
//!                    [--durability commit|checkpoint] [--runtime multi|current]
//! trail-bench query --dir D --reps R [--max-secs S] [--search WORD]
//! trail-bench proof --dir D --reps R
//! trail-bench http --url U --events F --n N --clients C [--batch B]
//! trail-bench limits --dir D [--row-bytes B]
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use trail_core::{Event, NoteSigner};
use trail_ingest::{Recorder, RecorderConfig, Scanner};
use trail_store::Query;
use trail_store::sqlite::SqliteStore;
use trail_store::{Durability, Store};

/// The same allocator as the `trail` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    let opts = Opts::parse(args)?;
    let out = match cmd.as_str() {
        "gen" => return generate(opts.num("n")?, opts.num_or("seed", 1)?),
        "append" => runtime(&opts)?.block_on(append(&opts))?,
        "query" => query(&opts)?,
        "proof" => proof(&opts)?,
        "http" => runtime(&opts)?.block_on(http(&opts))?,
        "limits" => limits(&opts)?,
        other => bail!("unknown command {other:?}: use gen, append, query, proof, http or limits"),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{out}")?;
    Ok(())
}

/// `--key value` pairs.
struct Opts(HashMap<String, String>);

impl Opts {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Opts> {
        let mut map = HashMap::new();
        while let Some(k) = args.next() {
            let Some(key) = k.strip_prefix("--") else { bail!("unexpected argument {k:?}") };
            let v = args.next().with_context(|| format!("--{key} needs a value"))?;
            map.insert(key.to_owned(), v);
        }
        Ok(Opts(map))
    }

    fn str(&self, key: &str) -> Result<&str> {
        self.0.get(key).map(String::as_str).with_context(|| format!("missing --{key}"))
    }

    fn num(&self, key: &str) -> Result<u64> {
        self.str(key)?.parse().with_context(|| format!("--{key} must be a number"))
    }

    fn num_or(&self, key: &str, default: u64) -> Result<u64> {
        if self.0.contains_key(key) { self.num(key) } else { Ok(default) }
    }
}

/// `--runtime multi` (default: tokio's multi-thread scheduler on both cores, what
/// `#[tokio::main]` gives) or `current` (one thread, what a single agent loop needs: no wake-up
/// crosses threads, and with unsynced appends none is needed).
fn runtime(o: &Opts) -> Result<tokio::runtime::Runtime> {
    Ok(match o.0.get("runtime").map_or("multi", String::as_str) {
        "multi" => {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?
        }
        "current" => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        other => bail!("unknown runtime {other:?}: use multi or current"),
    })
}

// ------------------------------------------------------------------------------------------------
// The events

// One line per row of words, not one word per line.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the",
    "request",
    "file",
    "user",
    "error",
    "config",
    "server",
    "handler",
    "module",
    "function",
    "return",
    "value",
    "import",
    "class",
    "test",
    "build",
    "cache",
    "index",
    "query",
    "table",
    "column",
    "result",
    "output",
    "input",
    "token",
    "model",
    "prompt",
    "response",
    "agent",
    "session",
    "tool",
    "call",
    "path",
    "directory",
    "permission",
    "denied",
    "allowed",
    "policy",
    "network",
    "timeout",
    "retry",
    "connection",
    "database",
    "record",
    "schema",
    "migration",
    "deploy",
    "release",
    "branch",
    "commit",
    "merge",
    "review",
    "patch",
    "diff",
    "line",
    "column",
    "warning",
    "info",
    "debug",
    "trace",
    "span",
    "metric",
    "latency",
    "throughput",
    "memory",
    "thread",
    "process",
    "signal",
    "socket",
    "buffer",
    "stream",
    "parser",
    "lexer",
    "compiler",
    "runtime",
    "library",
    "package",
    "version",
    "dependency",
    "feature",
    "option",
    "flag",
    "argument",
    "parameter",
    "variable",
    "constant",
    "struct",
    "enum",
    "trait",
    "impl",
    "async",
    "await",
    "future",
    "task",
    "queue",
    "worker",
    "scheduler",
    "job",
    "batch",
    "commit",
    "kernel",
    "Zürich",
    "café",
    "naïve",
    "résumé",
    "日本語",
    "données",
    "größe",
    "señal",
];
const TOOLS: &[&str] = &["Read", "Bash", "Edit", "Grep", "WebFetch", "Write", "Glob"];
const AGENTS: &[&str] =
    &["planner", "coder", "reviewer", "tester", "researcher", "deployer", "triage", "support"];
/// The word the full-text search looks for; about one tool result in a hundred has it.
pub const RARE_WORD: &str = "deadlock";

fn text_in(rng: &mut StdRng, lo: usize, hi: usize) -> String {
    let len = rng.gen_range(lo..hi);
    text(rng, len)
}

fn text(rng: &mut StdRng, len: usize) -> String {
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        if !s.is_empty() {
            s.push(if rng.gen_ratio(1, 12) { '\n' } else { ' ' });
        }
        s.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
    }
    s
}

/// One event of the mix: 35 % tool calls, 35 % tool results (bodies of 200 B to 8 KiB,
/// log-uniform), 20 % LLM calls with usage, 10 % permission decisions. Sessions of 200 events.
fn event(rng: &mut StdRng, i: u64) -> Value {
    let session = format!("sess-{:06}", i / 200);
    let agent = AGENTS[usize::try_from(i / 200).unwrap_or(0) % AGENTS.len()];
    let tool = TOOLS[rng.gen_range(0..TOOLS.len())];
    let r = rng.gen_range(0..100);
    if r < 35 {
        let args = match tool {
            "Bash" => {
                let mut cmd = format!("cd /srv/app && {}", text_in(rng, 40, 200));
                if rng.gen_ratio(1, 500) {
                    cmd.push_str(" AWS_ACCESS_KEY_ID=AKIAZ7Q3VN4XK2LMB5TP");
                }
                json!({"command": cmd, "timeout": 120_000})
            }
            "Edit" | "Write" => json!({
                "file_path": format!("/srv/app/src/{}/{}.py", text(rng, 4), text(rng, 6)),
                "old_string": text_in(rng, 40, 300),
                "new_string": text_in(rng, 40, 300),
            }),
            "WebFetch" => json!({
                "url": format!("https://docs.example.com/{}/{}", text(rng, 5), text(rng, 8)),
                "prompt": text_in(rng, 50, 200),
            }),
            _ => json!({"file_path": format!("/srv/app/src/{}.py", text(rng, 8)),
                        "offset": 0, "limit": 2000}),
        };
        json!({"kind": "tool_call", "agent": agent, "session": session, "action": tool,
               "status": "ok", "body": {"tool": tool, "args": args}})
    } else if r < 70 {
        let len = (200.0 * (8192.0f64 / 200.0).powf(rng.gen_range(0.0..1.0))) as usize;
        let mut output = text(rng, len);
        if rng.gen_ratio(1, 100) {
            output.push_str(" deadlock detected");
        }
        if rng.gen_ratio(1, 50) {
            output.push_str(&format!(" contact ops-{}@example.com", rng.gen_range(0..1000)));
        }
        let error = rng.gen_ratio(1, 10);
        json!({"kind": "tool_result", "agent": agent, "session": session, "action": tool,
               "status": if error { "error" } else { "ok" },
               "duration_ms": rng.gen_range(1..5000),
               "body": {"tool": tool, "is_error": error, "output": output}})
    } else if r < 90 {
        let (provider, model) = if rng.gen_ratio(2, 3) {
            ("anthropic", "claude-sonnet-4-20250514")
        } else {
            ("openai", "gpt-4o")
        };
        let input: u64 = rng.gen_range(200..20_000);
        let output: u64 = rng.gen_range(50..4_000);
        let cost = ((input as f64) * 3e-6 + (output as f64) * 15e-6) * 1e6;
        json!({"kind": "llm_call", "agent": agent, "session": session, "action": "chat",
               "status": "ok", "duration_ms": rng.gen_range(300..30_000),
               "usage": {"input_tokens": input, "output_tokens": output,
                         "cost_usd": cost.round() / 1e6, "model": model},
               "body": {"provider": provider, "model": model,
                        "stop_reason": if rng.gen_ratio(1, 2) { "tool_use" } else { "end_turn" },
                        "messages": rng.gen_range(1..60),
                        "preview": text_in(rng, 100, 400)}})
    } else {
        let decision = ["allow", "allow", "allow", "deny", "ask"][rng.gen_range(0..5)];
        let mode = ["default", "accept_edits", "plan"][rng.gen_range(0..3)];
        json!({"kind": "permission_decision", "agent": agent, "session": session, "action": tool,
               "status": if decision == "deny" { "denied" } else { "ok" },
               "body": {"tool": tool, "decision": decision, "mode": mode,
                        "reason": text_in(rng, 30, 120)}})
    }
}

fn generate(n: u64, seed: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for i in 0..n {
        serde_json::to_writer(&mut out, &event(&mut rng, i))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Reads events lazily: the next `n` lines of the file.
struct Lines(std::io::Lines<BufReader<File>>);

impl Lines {
    fn open(path: &str) -> Result<Lines> {
        let f = File::open(path).with_context(|| format!("open {path}"))?;
        Ok(Lines(BufReader::with_capacity(1 << 20, f).lines()))
    }

    fn next_line(&mut self) -> Result<String> {
        self.0.next().context("the event file has fewer events than asked for")?.map_err(Into::into)
    }

    fn next_event(&mut self) -> Result<Event> {
        let line = self.next_line()?;
        Ok(Event::from_value(serde_json::from_str(&line)?)?)
    }
}

// ------------------------------------------------------------------------------------------------
// Workloads

/// Durable appends through the recorder with its default configuration (the CLI's): one event
/// at a time (`--batch 1`, each awaited before the next) or `--batch B` events queued together
/// and all awaited. Latency is per call: one event, or one batch.
async fn append(o: &Opts) -> Result<Value> {
    let n = o.num("n")?;
    let batch = o.num_or("batch", 1)?.max(1);
    let dir = PathBuf::from(o.str("dir")?);
    let kind = o.0.get("store").map_or("sqlite", String::as_str);
    std::fs::create_dir_all(&dir)?;
    let origin = "bench.trail/append";
    let store: Arc<dyn Store> = match kind {
        "sqlite" => Arc::new(SqliteStore::create(&dir.join("trail.db"), origin)?),
        "files" => Arc::new(trail_store::file::FileStore::create(&dir, origin)?),
        other => bail!("unknown store {other:?}"),
    };
    let durability: Durability =
        o.0.get("durability")
            .map_or("commit", String::as_str)
            .parse()
            .map_err(|e: String| anyhow::anyhow!(e))?;
    store.set_durability(durability)?;
    let signer = NoteSigner::from_seed(origin, [7; 32])?;
    let rec =
        Recorder::open(store, signer, Arc::new(Scanner::default()), RecorderConfig::default())?;
    let mut lines = Lines::open(o.str("events")?)?;
    let callers = o.num_or("callers", 1)?.max(1);
    let mut lat = Vec::with_capacity(usize::try_from(n / batch + 1)?);
    let mut busy = Duration::ZERO;
    let mut done = 0;
    if callers > 1 {
        // Several agents, each appending one event at a time and waiting for it: the events
        // are loaded first, and the rate is over the wall time of all callers together.
        let mut shares: Vec<Vec<Event>> = (0..callers).map(|_| Vec::new()).collect();
        for i in 0..n {
            shares[usize::try_from(i % callers)?].push(lines.next_event()?);
        }
        let start = Instant::now();
        let tasks: Vec<_> = shares
            .into_iter()
            .map(|share| {
                let rec = rec.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(share.len());
                    for e in share {
                        let t = Instant::now();
                        rec.record(e).await?;
                        lat.push(t.elapsed());
                    }
                    anyhow::Ok(lat)
                })
            })
            .collect();
        for t in tasks {
            lat.extend(t.await??);
        }
        busy = start.elapsed();
        done = n;
    }
    let wall = Instant::now();
    while done < n {
        let k = batch.min(n - done);
        let mut evs = Vec::with_capacity(usize::try_from(k)?);
        for _ in 0..k {
            evs.push(lines.next_event()?);
        }
        let t = Instant::now();
        if k == 1 {
            let e = evs.pop().context("one event")?;
            rec.record(e).await?;
        } else {
            // `try_record` queues at once (the queue holds 65,536), so the whole batch is in
            // the sequencer's hands before the first acknowledgement is awaited.
            let acks = evs.into_iter().map(|e| rec.try_record(e)).collect::<Result<Vec<_>, _>>()?;
            for ack in acks {
                ack.await?;
            }
        }
        let took = t.elapsed();
        busy += took;
        lat.push(took);
        done += k;
    }
    let wall = wall.elapsed();
    rec.close().await?;
    if kind == "sqlite" {
        // The write-ahead log is transient (SQLite folds it into the database and empties it);
        // count the log's settled size, as after a restart.
        let conn = rusqlite::Connection::open(dir.join("trail.db"))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    let disk = dir_bytes(&dir)?;
    Ok(json!({
        "events": n, "batch": batch, "callers": callers, "store": kind,
        "durability": format!("{durability:?}").to_lowercase(),
        "runtime": o.0.get("runtime").map_or("multi", String::as_str), "secs": busy.as_secs_f64(),
        "wall_secs": wall.as_secs_f64(),
        "events_per_s": n as f64 / busy.as_secs_f64(),
        "p50_us": pct(&mut lat, 50.0), "p99_us": pct(&mut lat, 99.0),
        "disk_bytes": disk, "bytes_per_event": disk as f64 / n as f64,
    }))
}

/// A filtered query (newest 50 events of one agent) or a full-text search, repeated.
fn query(o: &Opts) -> Result<Value> {
    let store = SqliteStore::open(&Path::new(o.str("dir")?).join("trail.db"))?;
    let reps = o.num("reps")?;
    let search = o.0.get("search").cloned();
    // The recorder indexes bodies for search when idle, and a search catches up first; time the
    // catch-up apart so the search figures are those of a caught-up index.
    let t = Instant::now();
    store.index_all()?;
    let catch_up = t.elapsed().as_secs_f64();
    let store: &dyn Store = &store;
    let mut rng = StdRng::seed_from_u64(3);
    let budget = Duration::from_secs(o.num_or("max-secs", 20)?);
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut hits = 0;
    // At most `reps` queries, and no more once the time budget is spent (at least five).
    for _ in 0..reps {
        if lat.len() >= 5 && started.elapsed() > budget {
            break;
        }
        let q = Query {
            agent: search.is_none().then(|| AGENTS[rng.gen_range(0..AGENTS.len())].to_owned()),
            search: search.clone(),
            limit: 50,
            ..Query::default()
        };
        let t = Instant::now();
        let page = store.query(&q)?;
        lat.push(t.elapsed());
        hits += page.records.len();
    }
    let total: Duration = lat.iter().sum();
    let reps = lat.len() as u64;
    Ok(json!({
        "reps": reps, "rows_returned": hits, "index_catch_up_secs": catch_up,
        "ops_per_s": reps as f64 / total.as_secs_f64(),
        "p50_us": pct(&mut lat, 50.0), "p99_us": pct(&mut lat, 99.0),
        "size": store.state()?.size,
    }))
}

/// Inclusion proofs of random leaves in the whole tree, each checked against the root.
fn proof(o: &Opts) -> Result<Value> {
    let store = SqliteStore::open(&Path::new(o.str("dir")?).join("trail.db"))?;
    let store: &dyn Store = &store;
    let reps = o.num("reps")?;
    let size = store.state()?.size;
    let root = store.root_at(size)?;
    let mut rng = StdRng::seed_from_u64(5);
    let mut lat = Vec::new();
    for _ in 0..reps {
        let index = rng.gen_range(0..size);
        let t = Instant::now();
        let proof = store.inclusion_proof(index, size)?;
        let leaf = store.get(index)?.context("leaf")?;
        let ok = trail_merkle::verify_inclusion(&leaf.hash, index, size, &proof, &root).is_ok();
        lat.push(t.elapsed());
        if !ok {
            bail!("inclusion proof of {index} in {size} does not verify");
        }
    }
    let total: Duration = lat.iter().sum();
    Ok(json!({
        "reps": reps, "size": size, "ops_per_s": reps as f64 / total.as_secs_f64(),
        "p50_us": pct(&mut lat, 50.0), "p99_us": pct(&mut lat, 99.0),
    }))
}

/// `POST /v1/events` from `--clients` concurrent clients, `--batch` events per request.
async fn http(o: &Opts) -> Result<Value> {
    let n = o.num("n")?;
    let clients = o.num("clients")?.max(1);
    let batch = o.num_or("batch", 1)?.max(1);
    let url = format!("{}/v1/events", o.str("url")?.trim_end_matches('/'));
    let mut lines = Lines::open(o.str("events")?)?;
    // Request bodies are built before the clock starts; each client gets its own share.
    let mut shares: Vec<Vec<String>> = vec![Vec::new(); usize::try_from(clients)?];
    let mut made = 0;
    let mut r = 0usize;
    while made < n {
        let k = batch.min(n - made);
        let mut evs = Vec::new();
        for _ in 0..k {
            evs.push(lines.next_line()?);
        }
        let body = if batch == 1 { evs.concat() } else { format!("[{}]", evs.join(",")) };
        let nshares = shares.len();
        shares[r % nshares].push(body);
        r += 1;
        made += k;
    }
    let client = trail_server::listen::client_builder().build()?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for share in shares {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(share.len());
            for body in share {
                let t = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                let status = resp.status();
                let text = resp.bytes().await?;
                if !status.is_success() {
                    bail!("{status}: {}", String::from_utf8_lossy(&text));
                }
                lat.push(t.elapsed());
            }
            Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let took = start.elapsed().as_secs_f64();
    Ok(json!({
        "events": n, "clients": clients, "batch": batch, "secs": took,
        "events_per_s": n as f64 / took,
        "p50_us": pct(&mut lat, 50.0), "p99_us": pct(&mut lat, 99.0),
    }))
}

// ------------------------------------------------------------------------------------------------
// Limits

/// This machine's ceilings: SHA-256 of 300-byte messages on one core, SQLite batched inserts
/// (WAL, synchronous=FULL, 1000 rows a transaction, no index beyond the rowid, no FTS),
/// fdatasync after a 4 KiB write (appending, and overwriting in place; the faster is the
/// limit), and sequential write.
fn limits(o: &Opts) -> Result<Value> {
    let dir = PathBuf::from(o.str("dir")?);
    std::fs::create_dir_all(&dir)?;
    let row_bytes = usize::try_from(o.num_or("row-bytes", 300)?)?;

    let msg = [0x5au8; 300];
    let mut acc = [0u8; 32];
    let mut count = 0u64;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        for _ in 0..10_000 {
            let mut h = Sha256::new();
            h.update(acc);
            h.update(&msg[32..]);
            acc = h.finalize().into();
        }
        count += 10_000;
    }
    let sha = count as f64 / t.elapsed().as_secs_f64();

    let db = dir.join("limit.db");
    let _ = std::fs::remove_file(&db);
    let conn = rusqlite::Connection::open(&db)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE t (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);",
    )?;
    let row = vec![0x61u8; row_bytes];
    let mut seq = 0i64;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(3) {
        let tx = conn.unchecked_transaction()?;
        {
            let mut st = tx.prepare_cached("INSERT INTO t (seq, data) VALUES (?1, ?2)")?;
            for _ in 0..1000 {
                st.execute(rusqlite::params![seq, row])?;
                seq += 1;
            }
        }
        tx.commit()?;
    }
    let sqlite = seq as f64 / t.elapsed().as_secs_f64();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }

    let path = dir.join("limit.fsync");
    let mut f = File::create(&path)?;
    let block = [0u8; 4096];
    let mut syncs = 0u64;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        f.write_all(&block)?;
        f.sync_data()?;
        syncs += 1;
    }
    let fsync_append = syncs as f64 / t.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;

    // A write-ahead log is reused in place, so its commits overwrite blocks of a file that
    // does not grow: no file-size update rides on each fdatasync.
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    f.write_all(&vec![0u8; 8 << 20])?;
    f.sync_all()?;
    let mut syncs = 0u64;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(2) {
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start((syncs % 2048) * 4096))?;
        f.write_all(&block)?;
        f.sync_data()?;
        syncs += 1;
    }
    let fsync_overwrite = syncs as f64 / t.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;

    let path = dir.join("limit.seq");
    let mut f = File::create(&path)?;
    let chunk = vec![0x33u8; 1 << 20];
    let mib = 512u32;
    let t = Instant::now();
    for _ in 0..mib {
        f.write_all(&chunk)?;
    }
    f.sync_data()?;
    let seq_write = f64::from(mib) * 1_048_576.0 / t.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;

    Ok(json!({
        "sha256_300b_per_s": sha, "sqlite_rows_per_s": sqlite, "sqlite_row_bytes": row_bytes,
        "fdatasync_per_s": fsync_append.max(fsync_overwrite),
        "fdatasync_append_per_s": fsync_append, "fdatasync_overwrite_per_s": fsync_overwrite,
        "seq_write_bytes_per_s": seq_write,
    }))
}

// ------------------------------------------------------------------------------------------------
// Helpers

/// The `p`th percentile in microseconds.
fn pct(lat: &mut [Duration], p: f64) -> f64 {
    if lat.is_empty() {
        return 0.0;
    }
    lat.sort_unstable();
    let i = ((p / 100.0) * (lat.len() - 1) as f64).round() as usize;
    lat[i.min(lat.len() - 1)].as_secs_f64() * 1e6
}

fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let m = e.metadata()?;
        total += if m.is_dir() { dir_bytes(&e.path())? } else { m.len() };
    }
    Ok(total)
}
