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
    assert!(v.stdout.contains("5/5 records valid"), "{}", v.stdout);
    assert!(v.stdout.contains("log is intact"), "{}", v.stdout);

    // Retrying the same events adds nothing.
    let again = trail(&["log", "--data", d(&data), "--json"], &events(5));
    assert_eq!(again.stdout, r.stdout, "retries must be idempotent");

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
