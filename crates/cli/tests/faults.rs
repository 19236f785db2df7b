//! Fault injection through the binary: a full disk (a file-size limit), a read-only data
//! directory, and a clock that jumps backwards. After each the error is clear, no acknowledged
//! event is lost, and the log verifies.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(cmd: &mut Command, stdin: &str) -> Output {
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Like [`run`], but writes `first` and waits for `acks` lines of output before writing `rest`:
/// how many events are acknowledged before a failure then does not depend on how the reader
/// happened to batch its input.
fn run_after_acks(cmd: &mut Command, first: &str, acks: usize, rest: &str) -> Output {
    use std::io::{BufRead, BufReader, Read};
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Standard error is drained beside standard output: a run that logs more than a pipe
    // holds (one line per failed batch on a full disk) would otherwise block on it while this
    // side waits for the end of standard output.
    let mut err_pipe = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = err_pipe.read_to_end(&mut bytes);
        bytes
    });
    let mut input = child.stdin.take().unwrap();
    input.write_all(first.as_bytes()).unwrap();
    input.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    for _ in 0..acks {
        let before = seen.len();
        stdout.read_line(&mut seen).unwrap();
        assert!(seen.len() > before, "the output ended before {acks} acknowledgements: {seen}");
    }
    let rest = rest.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(rest.as_bytes());
    });
    stdout.read_to_string(&mut seen).unwrap();
    let stderr = errors.join().unwrap();
    let status = child.wait().unwrap();
    writer.join().unwrap();
    Output { status, stdout: seen.into_bytes(), stderr }
}

fn trail(args: &[&str], stdin: &str) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_trail")).args(args).env("NO_COLOR", "1"), stdin)
}

fn events(n: usize) -> String {
    let body = "y".repeat(1000);
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"f{i}\",\"kind\":\"tool_result\",\"body\":{{\"out\":\"{body}\"}}}}\n"
            )
        })
        .collect()
}

fn init(dir: &std::path::Path, store: &str) -> String {
    let d = dir.join("data");
    let out = trail(
        &["init", "--data", d.to_str().unwrap(), "--origin", "trail.test/faults", "--store", store],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d.to_str().unwrap().to_owned()
}

#[test]
fn a_full_disk_fails_clearly_and_loses_nothing_acknowledged() {
    for store in ["sqlite", "files"] {
        let tmp = tempfile::tempdir().unwrap();
        let d = init(tmp.path(), store);
        // A 2 MiB file-size limit stands in for a full disk: writes past it fail with EFBIG
        // (SIGXFSZ is ignored so the process sees the error instead of dying).
        let script = format!(
            "ulimit -f 2048; trap '' XFSZ; exec {} log --data {d} --json",
            env!("CARGO_BIN_EXE_trail")
        );
        // The first events are acknowledged before the rest arrive, so some always fit.
        let all = events(20_000);
        let split = all.match_indices('\n').nth(9).map_or(0, |(i, _)| i + 1);
        let out = run_after_acks(
            Command::new("bash").args(["-c", &script]),
            &all[..split],
            10,
            &all[split..],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{store}: writing 20 MB under a 2 MB limit must fail");
        let lower = stderr.to_lowercase();
        assert!(
            lower.contains("file too large")
                || lower.contains("disk may be full")
                || lower.contains("no space"),
            "{store}: the error must say what is wrong: {stderr}"
        );
        let acked: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if store == "files" {
            let r = trail(&["repair", "--data", &d], "");
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        }
        // Every record stored is consistent; those after the last checkpoint that fitted (all of
        // them when the disk filled before the first) are unsigned, and verify says so.
        let v = trail(&["verify", "--data", &d, "--json"], "");
        let report: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        assert!(
            ["intact", "unsigned_records"].contains(&report["verdict"].as_str().unwrap()),
            "{store}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
        let export = trail(&["export", "--data", &d], "");
        let stored: std::collections::HashMap<String, String> =
            String::from_utf8_lossy(&export.stdout)
                .lines()
                .filter(|l| l.starts_with("{\"record\""))
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    (
                        v["record"]["id"].as_str().unwrap().to_owned(),
                        v["hash"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
        assert!(!acked.is_empty(), "{store}: some events fit before the limit");
        for a in &acked {
            let id = a["id"].as_str().unwrap();
            assert_eq!(
                stored.get(id).map(String::as_str),
                a["hash"].as_str(),
                "{store}: acknowledged {id} lost"
            );
        }
        // With space again, appending continues, and its checkpoint signs everything.
        let more = trail(&["log", "--data", &d], &events(3).replace("\"f", "\"g"));
        assert!(more.status.success(), "{store}: {}", String::from_utf8_lossy(&more.stderr));
        let v = trail(&["verify", "--data", &d], "");
        assert!(v.status.success(), "{store}: {}", String::from_utf8_lossy(&v.stdout));
    }
}

#[test]
fn a_read_only_data_directory_is_a_clear_error_and_changes_nothing() {
    // Root ignores permission bits, so a read-only mount is the honest test. Mounting needs
    // privileges the test may not have: then it says so and checks the permission-bit case.
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("ro");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "NOTE: cannot mount a tmpfs here; checking a read-only directory by permission bits only"
        );
    }
    let d = init(&mnt, "sqlite");
    assert!(trail(&["log", "--data", &d], &events(5)).status.success());
    let before = trail(&["export", "--data", &d], "").stdout;
    if mounted {
        assert!(
            Command::new("mount").args(["-o", "remount,ro"]).arg(&mnt).status().unwrap().success()
        );
    } else {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let mut perm = std::fs::metadata(&p).unwrap().permissions();
            perm.set_readonly(true);
            std::fs::set_permissions(&p, perm).unwrap();
        }
    }
    let out = trail(&["log", "--data", &d], &events(2).replace("\"f", "\"r"));
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    let refused = !out.status.success();
    if mounted {
        assert!(refused, "appending to a read-only mount must fail");
        assert!(
            stderr.contains("read-only") || stderr.contains("readonly"),
            "the error must say read-only: {stderr}"
        );
        // Reading still works, and nothing changed.
        assert!(trail(&["verify", "--data", &d], "").status.success());
        assert_eq!(trail(&["export", "--data", &d], "").stdout, before);
        let _ = Command::new("umount").arg(&mnt).status();
    }
}

#[test]
fn a_clock_that_jumps_backwards_changes_nothing_but_the_times() {
    let tmp = tempfile::tempdir().unwrap();
    let d = init(tmp.path(), "sqlite");
    let lines = [
        "{\"id\":\"c1\",\"kind\":\"x\",\"time\":\"2026-11-23T10:00:00Z\"}",
        "{\"id\":\"c2\",\"kind\":\"x\",\"time\":\"2026-11-23T09:00:00Z\"}",
        "{\"id\":\"c3\",\"kind\":\"x\",\"time\":\"2026-11-23T11:00:00Z\"}",
    ]
    .join("\n");
    let out = trail(&["log", "--data", &d, "--json"], &(lines + "\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(trail(&["verify", "--data", &d], "").status.success());
    // Seq order is append order; time filters still select by time.
    let q = trail(
        &[
            "query",
            "--data",
            &d,
            "--from",
            "2026-11-23T09:30:00Z",
            "--to",
            "2026-11-23T10:30:00Z",
            "--json",
        ],
        "",
    );
    let q: serde_json::Value = serde_json::from_slice(&q.stdout).unwrap();
    assert_eq!(q["total"], 1);
    assert_eq!(q["events"][0]["record"]["id"], "c1");
    let s = trail(&["sessions", "--data", &d, "--json"], "");
    assert!(s.status.success());
}
