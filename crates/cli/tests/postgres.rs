//! The `trail` binary on a PostgreSQL log: `trail init --store postgres://...`, then the same
//! commands as on the embedded stores. The server is `TRAIL_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test's log lives in a schema of its own that
//! is dropped when the test ends, failed or not. Without a server the tests fail, loudly, unless
//! `TRAIL_SKIP_POSTGRES=1`.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use trail_store::postgres::{PostgresStore, dangerous_drop_schema, schema_for_origin};

#[path = "common/nodes.rs"]
#[allow(dead_code, reason = "shared with the cluster test, which uses all of it")]
mod nodes;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn trail(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(args)
        .env_remove("TRAIL_DATA")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A log origin no other test uses, and a guard that drops its schema.
struct Log {
    url: String,
    origin: String,
}

impl Log {
    /// `None` when the server is down and skipping was asked for.
    fn new(name: &str) -> Option<Log> {
        let url = std::env::var("TRAIL_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let origin = format!("trail.test/cli-pg-{name}-{}-{nanos}", std::process::id());
        let probe = trail_store::postgres::scratch_schema("trail_probe");
        match PostgresStore::create_in(&url, &probe, &origin) {
            Ok(s) => drop(s.dangerous_drop_on_drop()),
            Err(e) if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") => {
                // Straight to stderr: libtest hides what `eprintln!` prints in a passing test.
                let loud = format!(
                    "\n*** SKIPPED: no PostgreSQL at {url} ({e}); TRAIL_SKIP_POSTGRES=1 ***\n"
                );
                let _ = std::io::Write::write_all(&mut std::io::stderr(), loud.as_bytes());
                return None;
            }
            Err(e) => panic!(
                "\n*** no PostgreSQL at {url}: {e}\n*** start it (see .ci/run) or set \
                 TRAIL_SKIP_POSTGRES=1 to skip the PostgreSQL tests ***\n"
            ),
        }
        Some(Log { url, origin })
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if let Err(e) = dangerous_drop_schema(&self.url, &schema_for_origin(&self.origin)) {
            eprintln!("could not drop the schema of {}: {e}", self.origin);
        }
    }
}

fn d(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn events(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"e{i}\",\"kind\":\"tool_call\",\"action\":\"Read\",\"session\":\"s{}\",\"status\":\"{}\",\"body\":{{\"path\":\"/tmp/{i}\",\"note\":\"word{i}\"}}}}\n",
                i % 2,
                if i == 3 { "denied" } else { "ok" }
            )
        })
        .collect()
}

#[test]
fn init_log_verify_and_query_on_postgres() {
    let Some(log) = Log::new("main") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = trail(&["init", "--data", d(&data), "--origin", &log.origin, "--store", &log.url], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let toml = std::fs::read_to_string(data.join("trail.toml")).unwrap();
    assert!(toml.contains("store = \"postgres\""), "{toml}");
    assert!(toml.contains(&format!("url = \"{}\"", log.url)), "{toml}");

    let r = trail(&["log", "--data", d(&data), "--json"], &events(5));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> =
        r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[4]["seq"], 4);

    let v = trail(&["verify", "--data", d(&data)], "");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("5/5 records consistent"), "{}", v.stdout);
    assert!(v.stdout.contains("log is intact"), "{}", v.stdout);

    // Retrying the same events adds nothing.
    let again = trail(&["log", "--data", d(&data), "--json"], &events(5));
    assert_eq!(
        again.stdout,
        r.stdout.replace("\"created\":true", "\"created\":false"),
        "retries must be idempotent"
    );
    let plain = trail(&["log", "--data", d(&data)], &events(5));
    assert!(
        plain.stderr.contains("appended 0 events; 5 were already in the log"),
        "{}",
        plain.stderr
    );

    let q = trail(&["query", "--data", d(&data), "--json"], "");
    assert_eq!(q.code, 0, "{}", q.stderr);
    let q: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
    assert_eq!(q["total"], 5);
    let q = trail(&["query", "--data", d(&data), "--status", "denied", "--json"], "");
    let q: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
    assert_eq!(q["total"], 1);

    // The log is in the database, not in the directory: a second directory on the same origin
    // is refused rather than pointed at the same log by accident.
    let other = tmp.path().join("other");
    let r = trail(&["init", "--data", d(&other), "--origin", &log.origin, "--store", &log.url], "");
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert!(!other.join("trail.toml").exists(), "no half-made data directory is left");
}

#[test]
fn a_bare_postgres_store_asks_for_the_url() {
    let tmp = tempfile::tempdir().unwrap();
    let r = trail(
        &[
            "init",
            "--data",
            d(&tmp.path().join("d")),
            "--origin",
            "trail.test/x",
            "--store",
            "postgres",
        ],
        "",
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("postgres://"), "{}", r.stderr);
}

/// `count` events whose ids start with `tag`, each on its own line.
fn tagged_events(tag: &str, count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"id\":\"{tag}-{i}\",\"kind\":\"tool_call\",\"agent\":\"{tag}\",\"body\":{{\"i\":{i}}}}}\n"
            )
        })
        .collect()
}

/// Runs `trail log --data DIR` with `input` on stdin in the background.
fn spawn_log(data: &Path, input: String) -> std::thread::JoinHandle<Run> {
    let data = data.to_owned();
    std::thread::spawn(move || trail(&["log", "--data", d(&data)], &input))
}

/// Ten `trail log` processes, each with its own copy of the data directory, started at once on
/// one PostgreSQL log: each waits its turn for the log's sequencer lease, every one succeeds,
/// every event is stored once and the log verifies. (Before the lease, all but one failed with
/// "append out of order".)
#[test]
fn ten_writers_at_once_all_finish_and_the_log_verifies() {
    let Some(log) = Log::new("writers") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dirs = nodes::data_dirs(tmp.path(), &log.origin, &log.url, 10);
    let runs: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(k, dir)| spawn_log(dir, tagged_events(&format!("w{k}"), 300)))
        .collect();
    for (k, run) in runs.into_iter().enumerate() {
        let r = run.join().unwrap();
        assert_eq!(r.code, 0, "writer {k} failed: {}", r.stderr);
        assert!(r.stderr.contains("appended 300 events"), "writer {k}: {}", r.stderr);
    }
    let q = trail(&["stats", "--data", d(&dirs[0]), "--json"], "");
    let stats: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
    assert_eq!(stats["events"], 3000, "{}", q.stdout);
    for k in [0, 9] {
        let q = trail(&["query", "--data", d(&dirs[k]), "--agent", &format!("w{k}"), "--json"], "");
        let q: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
        assert_eq!(q["total"], 300, "writer {k}'s events");
    }
    let v = trail(&["verify", "--data", d(&dirs[3])], "");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("3000/3000 records consistent"), "{}", v.stdout);
}

/// While a `trail serve` node sequences the log and takes ingest over HTTP, `trail log` on
/// another copy of the data directory sends its events to that node instead of waiting for it
/// forever: both streams are stored, once each, and the log verifies.
#[test]
fn a_writer_sends_its_events_to_the_serving_node() {
    let Some(log) = Log::new("served") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dirs = nodes::data_dirs(tmp.path(), &log.origin, &log.url, 2);
    let node = nodes::start(&dirs[0], 2000);
    // Wait until the node holds the lease (it takes it before it prints its address, but a
    // second look costs nothing).
    let lease =
        PostgresStore::open_in(&log.url, &schema_for_origin(&log.origin)).unwrap().lease().unwrap();
    assert_eq!(lease.holder.as_deref(), Some(node.url.as_str()), "{lease:?}");
    // HTTP ingest from another thread while trail log runs.
    let url = node.url.clone();
    let http = std::thread::spawn(move || {
        for i in 0..50 {
            let body = format!("{{\"id\":\"h-{i}\",\"kind\":\"llm_call\",\"agent\":\"http\"}}");
            assert_eq!(post_event(&url, &body), 200, "POST {i}");
        }
    });
    let r = trail(&["log", "--data", d(&dirs[1]), "--json"], &tagged_events("cli", 500));
    http.join().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("the trail serve node at {} sequences this log", node.url)),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout.lines().count(), 500, "one acknowledgement per event");
    drop(node);
    // The node was killed before it signed the last events: signing them waits for its lease
    // to expire, then covers everything.
    let c = trail(&["checkpoint", "--data", d(&dirs[1])], "");
    assert_eq!(c.code, 0, "{}", c.stderr);
    let q = trail(&["stats", "--data", d(&dirs[1]), "--json"], "");
    let stats: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
    assert_eq!(stats["events"], 550, "{}", q.stdout);
    let v = trail(&["verify", "--data", d(&dirs[1])], "");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

/// `POST /v1/events` over a plain socket (HTTP/1.1, one request per connection); the status.
fn post_event(base: &str, body: &str) -> u16 {
    use std::io::Read;
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/events HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// An attacker with write access to the database hides denials from queries by editing the
/// filter column and the session rollup; `trail verify` names both.
#[test]
fn an_edited_filter_column_or_rollup_fails_verify() {
    let Some(log) = Log::new("derived") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = trail(&["init", "--data", d(&data), "--origin", &log.origin, "--store", &log.url], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(trail(&["log", "--data", d(&data)], &events(8)).code, 0);
    assert_eq!(trail(&["verify", "--data", d(&data)], "").code, 0);
    let mut db = postgres::Client::connect(&log.url, postgres::NoTls).unwrap();
    let schema = schema_for_origin(&log.origin);
    db.batch_execute(&format!(
        "UPDATE \"{schema}\".records SET status = 'ok' WHERE status = 'denied'; \
         UPDATE \"{schema}\".session_rollup SET denials = 0"
    ))
    .unwrap();
    let q = trail(&["query", "--data", d(&data), "--status", "denied", "--json"], "");
    let q: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
    assert_eq!(q["total"], 0, "the edit hides the denial from queries");
    let v = trail(&["verify", "--data", d(&data)], "");
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(v.stdout.contains("records.status"), "{}", v.stdout);
    assert!(v.stdout.contains("session_rollup"), "{}", v.stdout);
}

/// The search index of a PostgreSQL log edited behind trail's back: a record's words replaced,
/// and the index cursor moved past the end so that nothing new is indexed. Both fail verify.
#[test]
fn an_edited_search_index_fails_verify() {
    let Some(log) = Log::new("words") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = trail(&["init", "--data", d(&data), "--origin", &log.origin, "--store", &log.url], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(trail(&["log", "--data", d(&data)], &events(4)).code, 0);
    let q = trail(&["query", "--data", d(&data), "--search", "word0", "--json"], "");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&q.stdout).unwrap()["total"], 1);
    assert_eq!(trail(&["verify", "--data", d(&data)], "").code, 0);
    let mut db = postgres::Client::connect(&log.url, postgres::NoTls).unwrap();
    let schema = schema_for_origin(&log.origin);
    db.batch_execute(&format!(
        "UPDATE \"{schema}\".words SET words = 'ls'::tsvector WHERE seq = 0; \
         UPDATE \"{schema}\".search_cursor SET next = 1000000"
    ))
    .unwrap();
    let v = trail(&["verify", "--data", d(&data)], "");
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(v.stdout.contains("words"), "{}", v.stdout);
    assert!(v.stdout.contains("search_cursor"), "{}", v.stdout);
}
