//! Crash safety: SIGKILL `trail log` during heavy ingest, reopen, and check that every event it
//! acknowledged is in the log exactly once and that the log verifies.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn trail(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trail")).args(args).env("NO_COLOR", "1").output().unwrap()
}

fn crash_once(store: &str, durability: &str, kill_after_acks: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let init = trail(&[
        "init",
        "--data",
        d,
        "--origin",
        "trail.test/crash",
        "--store",
        store,
        "--durability",
        durability,
    ]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["log", "--data", d, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    // Feed events from a thread as fast as the process takes them, until it dies.
    let writer = std::thread::spawn(move || {
        let body = "x".repeat(400);
        for i in 0..1_000_000u64 {
            let line = format!(
                "{{\"id\":\"ev-{i}\",\"kind\":\"tool_call\",\"session\":\"s{}\",\"body\":{{\"out\":\"{body}\"}}}}\n",
                i % 7
            );
            if stdin.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut acked: Vec<serde_json::Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < kill_after_acks && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            acked.push(serde_json::from_str(&line).unwrap());
        }
    }
    assert!(acked.len() >= kill_after_acks, "only {} acks before the deadline", acked.len());
    // SIGKILL mid-stream.
    child.kill().unwrap();
    child.wait().unwrap();
    // Acks already written to the pipe before the kill count as acknowledged too.
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        acked.push(serde_json::from_str(&line).unwrap());
    }
    let _ = writer.join();

    if store == "files" {
        // A batch cut mid-write leaves a torn line that was never acknowledged; it is moved
        // aside explicitly, never silently.
        let repair = trail(&["repair", "--data", d]);
        assert!(repair.status.success(), "{}", String::from_utf8_lossy(&repair.stderr));
    }
    let export = tmp.path().join("export.jsonl");
    let ex = trail(&["export", "--data", d, "--out", export.to_str().unwrap()]);
    assert!(ex.status.success(), "{}", String::from_utf8_lossy(&ex.stderr));
    check_acked_present(&export, &acked);
    // Every record is consistent; those acknowledged after the last checkpoint before the kill
    // are not signed yet, and verify says so (the log's next writer signs them).
    let v = trail(&["verify", "--data", d, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert!(
        ["intact", "unsigned_records"].contains(&report["verdict"].as_str().unwrap_or("")),
        "{store}: verify after SIGKILL:\n{}",
        String::from_utf8_lossy(&v.stdout)
    );
    // And the log takes new events after the crash.
    let mut more = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["log", "--data", d])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    more.stdin.take().unwrap().write_all(b"{\"kind\":\"after_crash\"}\n").unwrap();
    let out = more.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(trail(&["verify", "--data", d]).status.success());
}

fn check_acked_present(export: &Path, acked: &[serde_json::Value]) {
    let text = std::fs::read_to_string(export).unwrap();
    let mut ids = HashSet::new();
    let mut by_seq = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("{\"record\"")) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["record"]["id"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "id {id} stored twice");
        by_seq.push((
            v["record"]["seq"].as_u64().unwrap(),
            id,
            v["hash"].as_str().unwrap().to_owned(),
        ));
    }
    for a in acked {
        let seq = a["seq"].as_u64().unwrap() as usize;
        let (s, id, hash) = &by_seq[seq];
        assert_eq!(*s as usize, seq);
        assert_eq!(
            id,
            a["id"].as_str().unwrap(),
            "acknowledged event at seq {seq} is missing or different"
        );
        assert_eq!(hash, a["hash"].as_str().unwrap());
    }
}

#[test]
fn sigkill_during_ingest_loses_nothing_acknowledged_sqlite() {
    for kill_after in [1_000, 20_000] {
        crash_once("sqlite", "commit", kill_after);
    }
}

/// With durability `checkpoint` appends are not synced before they are acknowledged, but they are
/// written: a crash of trail itself (not of the machine) still loses none of them.
#[test]
fn sigkill_with_checkpoint_durability_loses_nothing_acknowledged() {
    for store in ["sqlite", "files"] {
        crash_once(store, "checkpoint", 5_000);
    }
}

#[test]
fn sigkill_during_ingest_loses_nothing_acknowledged_files() {
    for kill_after in [1_000, 20_000] {
        crash_once("files", "commit", kill_after);
    }
}
