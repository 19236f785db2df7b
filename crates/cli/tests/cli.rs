//! The `trail` binary, run as a user would.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

fn init(store: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = trail(
        &["init", "--data", data.to_str().unwrap(), "--origin", "trail.test/cli", "--store", store],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    (tmp, data)
}

fn d(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn events(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"e{i}\",\"kind\":\"tool_call\",\"action\":\"Read\",\"session\":\"s{}\",\"status\":\"{}\",\"body\":{{\"path\":\"/tmp/{i}\"}}}}\n",
                i % 2,
                if i == 3 { "denied" } else { "ok" }
            )
        })
        .collect()
}

#[test]
fn init_writes_keys_with_safe_permissions_and_refuses_to_overwrite() {
    let (_tmp, data) = init("sqlite");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("log.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let vkey = std::fs::read_to_string(data.join("log.vkey")).unwrap();
    assert!(vkey.starts_with("trail.test/cli+"), "{vkey}");
    let again = trail(&["init", "--data", d(&data), "--origin", "x"], "");
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already holds a trail log"), "{}", again.stderr);
}

#[test]
fn log_prints_seq_id_hash_and_verify_passes_on_both_stores() {
    for store in ["sqlite", "files"] {
        let (_tmp, data) = init(store);
        let r = trail(&["log", "--data", d(&data), "--json"], &events(5));
        assert_eq!(r.code, 0, "{store}: {}", r.stderr);
        let lines: Vec<serde_json::Value> =
            r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[4]["seq"], 4);
        assert_eq!(lines[4]["id"], "e4");
        assert_eq!(lines[4]["hash"].as_str().unwrap().len(), 64);
        let v = trail(&["verify", "--data", d(&data)], "");
        assert_eq!(v.code, 0, "{store}: {}{}", v.stdout, v.stderr);
        assert!(v.stdout.contains("5/5 records consistent"), "{}", v.stdout);
        assert!(v.stdout.contains("log is intact"), "{}", v.stdout);
        // Sending the same events again adds nothing.
        let again = trail(&["log", "--data", d(&data), "--json"], &events(5));
        assert_eq!(
            again.stdout,
            r.stdout.replace("\"created\":true", "\"created\":false"),
            "{store}: retries must be idempotent"
        );
        let plain = trail(&["log", "--data", d(&data)], &events(5));
        assert!(
            plain.stderr.contains("appended 0 events; 5 were already in the log"),
            "{}",
            plain.stderr
        );
        let q = trail(&["query", "--data", d(&data), "--json"], "");
        let q: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
        assert_eq!(q["total"], 5);
    }
}

#[test]
fn a_bad_line_is_named_and_the_lines_before_it_stay() {
    let (_tmp, data) = init("sqlite");
    let input = format!("{}{{\"kind\":\"\"}}\n{}", events(2), "{\"kind\":\"x\"}\n");
    let r = trail(&["log", "--data", d(&data)], &input);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("line 3: field `kind`: must not be empty"), "{}", r.stderr);
    let q = trail(&["query", "--data", d(&data), "--json"], "");
    let q: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
    assert_eq!(q["total"], 2);
    let unknown = trail(&["log", "--data", d(&data)], "{\"kind\":\"x\",\"colour\":1}\n");
    assert!(unknown.stderr.contains("line 1: field `colour`: unknown field"), "{}", unknown.stderr);
}

#[test]
fn checkpoint_durability_is_chosen_at_init_and_a_bad_value_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let args = ["init", "--data", d(&data), "--origin", "trail.test/cli", "--durability"];
    let r = trail(&[&args[..], &["checkpoint"]].concat(), "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let config = std::fs::read_to_string(data.join("trail.toml")).unwrap();
    assert!(config.contains("durability = \"checkpoint\""), "{config}");
    let r = trail(&["log", "--data", d(&data), "--json"], &events(3));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // `trail log` ends with a signed checkpoint, which syncs what it covers.
    let cp = trail(&["checkpoint", "--data", d(&data)], "");
    assert!(cp.stdout.lines().nth(1) == Some("3"), "{}", cp.stdout);
    let v = verify(&data);
    assert!(v.stdout.contains("3/3 records consistent"), "{}", v.stdout);
    // A typo in the config is named with its choices, and nothing is appended.
    std::fs::write(data.join("trail.toml"), config.replace("\"checkpoint\"", "\"sometimes\""))
        .unwrap();
    let bad = trail(&["log", "--data", d(&data)], &events(5));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("[log] unknown durability \"sometimes\": use \"commit\" or \"checkpoint\""),
        "{}",
        bad.stderr
    );
    let other = tmp.path().join("other");
    let r = trail(
        &["init", "--data", d(&other), "--origin", "trail.test/cli", "--durability", "never"],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("'never'"), "{}", r.stderr);
}

/// Edits the `n`th line of a file log.
fn edit_line(data: &Path, n: usize, f: impl Fn(&str) -> String) {
    let path = data.join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[n] = f(&lines[n]);
    std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn verify(data: &Path) -> Run {
    trail(&["verify", "--data", d(data)], "")
}

#[test]
fn tampering_with_a_file_log_is_reported_with_its_seq() {
    let (_tmp, data) = init("files");
    assert_eq!(trail(&["log", "--data", d(&data)], &events(6)).code, 0);
    assert_eq!(verify(&data).code, 0);
    edit_line(&data, 3, |l| l.replace("\"Read\"", "\"Delete\""));
    let r = verify(&data);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("seq 3, line 4: hash_mismatch"), "{}", r.stdout);
    assert!(r.stdout.contains("root_mismatch"), "{}", r.stdout);
}

#[test]
fn a_body_edit_and_a_body_deleted_outside_trail_are_told_apart_from_erasure() {
    let (_tmp, data) = init("files");
    assert_eq!(trail(&["log", "--data", d(&data)], &events(4)).code, 0);
    edit_line(&data, 1, |l| l.replace("/tmp/1", "/tmp/X"));
    let r = verify(&data);
    assert!(r.stdout.contains("seq 1, line 2: body_mismatch"), "{}", r.stdout);
    edit_line(&data, 1, |l| l.replace("/tmp/X", "/tmp/1"));
    edit_line(&data, 2, |l| {
        let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
        v.as_object_mut().unwrap().remove("body");
        v.as_object_mut().unwrap().remove("salt");
        v.to_string()
    });
    let r = verify(&data);
    assert!(r.stdout.contains("seq 2: body_missing"), "{}", r.stdout);
}

#[test]
fn erase_keeps_the_log_verifiable_and_logs_the_erasure() {
    for store in ["sqlite", "files"] {
        let (_tmp, data) = init(store);
        assert_eq!(trail(&["log", "--data", d(&data)], &events(6)).code, 0);
        let r = trail(
            &["erase", "--data", d(&data), "--session", "s1", "--reason", "GDPR request 17"],
            "",
        );
        assert_eq!(r.code, 0, "{store}: {}", r.stderr);
        assert!(r.stdout.contains("erased 3 bodies"), "{}", r.stdout);
        let v = verify(&data);
        assert_eq!(v.code, 0, "{store}: {}", v.stdout);
        assert!(v.stdout.contains("3 erased"), "{}", v.stdout);
        let show = trail(&["show", "--data", d(&data), "e1"], "");
        assert!(show.stdout.contains("body: [erased]"), "{}", show.stdout);
        let q = trail(&["query", "--data", d(&data), "--kind", "trail.erasure", "--json"], "");
        assert!(q.stdout.contains("GDPR request 17"), "{}", q.stdout);
    }
}

#[test]
fn a_torn_last_line_is_reported_and_repaired_never_silently_dropped() {
    let (_tmp, data) = init("files");
    assert_eq!(trail(&["log", "--data", d(&data)], &events(3)).code, 0);
    let path = data.join("log.jsonl");
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{\"record\":{\"action\":\"Re").unwrap();
    drop(f);
    let r = trail(&["log", "--data", d(&data)], &events(1));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is incomplete") && r.stderr.contains("trail repair"),
        "{}",
        r.stderr
    );
    let v = verify(&data);
    assert_eq!(v.code, 1);
    assert!(v.stdout.contains("torn_line"), "{}", v.stdout);
    let fix = trail(&["repair", "--data", d(&data)], "");
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    assert!(std::fs::read_to_string(data.join("log.jsonl.torn")).unwrap().contains("\"Re"));
    assert_eq!(verify(&data).code, 0);
    assert_eq!(trail(&["log", "--data", d(&data)], &events(5)).code, 0);
}

#[test]
fn truncation_is_caught_by_an_auditors_checkpoint() {
    let (tmp, data) = init("files");
    assert_eq!(trail(&["log", "--data", d(&data)], &events(4)).code, 0);
    let cp = trail(&["checkpoint", "--data", d(&data)], "");
    let kept = tmp.path().join("kept.checkpoint");
    std::fs::write(&kept, &cp.stdout).unwrap();
    assert!(cp.stdout.starts_with("trail.test/cli\n4\n"), "{}", cp.stdout);
    // Cut the last record and its checkpoint.
    let path = data.join("log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, lines[..3].iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let r = trail(&["verify", "--data", d(&data), "--checkpoint", d(&kept)], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("truncated"), "{}", r.stdout);
}

#[test]
fn receipts_and_consistency_proofs_verify_offline() {
    let (tmp, data) = init("sqlite");
    assert_eq!(trail(&["log", "--data", d(&data)], &events(7)).code, 0);
    let receipt = trail(&["proof", "--data", d(&data), "--id", "e3"], "");
    assert_eq!(receipt.code, 0, "{}", receipt.stderr);
    assert!(receipt.stdout.starts_with("c2sp.org/tlog-proof@v1\nextra "), "{}", receipt.stdout);
    let path = tmp.path().join("r.tlog-proof");
    std::fs::write(&path, &receipt.stdout).unwrap();
    let vkey = data.join("log.vkey");
    let ok = trail(&["verify", "--receipt", d(&path), "--key", d(&vkey)], "");
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("valid receipt for event 3"), "{}", ok.stdout);
    // Another index with the same proof fails.
    std::fs::write(&path, receipt.stdout.replace("index 3", "index 4")).unwrap();
    let bad = trail(&["verify", "--receipt", d(&path), "--key", d(&vkey)], "");
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    // A consistency proof from 3 to 7 checks against the two roots.
    let cp7 = trail(&["checkpoint", "--data", d(&data)], "").stdout;
    let proof = trail(&["proof", "--data", d(&data), "--from", "3"], "");
    assert_eq!(proof.code, 0, "{}", proof.stderr);
    let hashes: Vec<trail_merkle::Hash> =
        proof.stdout.lines().map(|l| trail_merkle::Hash::from_base64(l).unwrap()).collect();
    let root7 = trail_merkle::Hash::from_base64(cp7.lines().nth(2).unwrap()).unwrap();
    let export = trail(&["export", "--data", d(&data)], "").stdout;
    let leaves: Vec<trail_merkle::Hash> = export
        .lines()
        .filter(|l| l.starts_with("{\"record\""))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["hash"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let root3 = trail_merkle::root_of_leaves(&leaves[..3]);
    trail_merkle::verify_consistency(3, 7, &hashes, &root3, &root7).unwrap();
}

#[test]
fn export_of_sqlite_verifies_and_an_edit_is_caught() {
    let (tmp, data) = init("sqlite");
    assert_eq!(trail(&["log", "--data", d(&data)], &events(5)).code, 0);
    let out = tmp.path().join("export.jsonl");
    assert_eq!(trail(&["export", "--data", d(&data), "--out", d(&out)], "").code, 0);
    let vkey = data.join("log.vkey");
    let ok = trail(&["verify", d(&out), "--key", d(&vkey)], "");
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    let text = std::fs::read_to_string(&out).unwrap().replacen("\"s1\"", "\"s9\"", 1);
    std::fs::write(&out, text).unwrap();
    let bad = trail(&["verify", d(&out), "--key", d(&vkey), "--json"], "");
    assert_eq!(bad.code, 1);
    let report: serde_json::Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["report"]["problems"][0]["code"], "hash_mismatch");
    assert_eq!(report["report"]["problems"][0]["seq"], 1);
    // Without the right key nothing is accepted as signed.
    let other = tmp.path().join("other");
    let k = trail(&["keygen", "--name", "trail.test/cli", "--out", d(&other)], "");
    assert_eq!(k.code, 0, "{}", k.stderr);
    let wrong = trail(&["verify", "--data", d(&data), "--key", &format!("{}.vkey", d(&other))], "");
    assert_eq!(wrong.code, 1, "{}", wrong.stdout);
}

#[test]
fn prune_cuts_behind_a_signed_anchor_and_the_rest_verifies() {
    for store in ["sqlite", "files"] {
        let (_tmp, data) = init(store);
        assert_eq!(trail(&["log", "--data", d(&data)], &events(10)).code, 0);
        let r = trail(&["prune", "--data", d(&data), "--keep", "4"], "");
        assert_eq!(r.code, 0, "{store}: {}", r.stderr);
        assert!(r.stdout.contains("pruned 6 records"), "{}", r.stdout);
        let v = verify(&data);
        assert_eq!(v.code, 0, "{store}: {}", v.stdout);
        assert!(v.stdout.contains("were pruned"), "{}", v.stdout);
        let q = trail(&["query", "--data", d(&data), "--json"], "");
        let q: serde_json::Value = serde_json::from_str(&q.stdout).unwrap();
        assert_eq!(q["total"], 5, "4 kept plus the prune event");
        let receipt = trail(&["proof", "--data", d(&data), "--seq", "8"], "");
        assert_eq!(receipt.code, 0, "{}", receipt.stderr);
    }
}

#[test]
fn sessions_stats_and_query_filters() {
    let (_tmp, data) = init("sqlite");
    assert_eq!(trail(&["log", "--data", d(&data)], &events(6)).code, 0);
    let s = trail(&["sessions", "--data", d(&data), "--json"], "");
    let s: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(s.as_array().unwrap().len(), 2);
    let q = trail(&["query", "--data", d(&data), "--status", "denied", "--format", "csv"], "");
    let rows: Vec<&str> = q.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", q.stdout);
    assert!(rows[1].starts_with("3,"), "{}", q.stdout);
    let st = trail(&["stats", "--data", d(&data), "--json"], "");
    let st: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert_eq!(st["events"], 6);
    assert_eq!(st["by_status"]["denied"], 1);
    let search = trail(&["query", "--data", d(&data), "--search", "tmp 4", "--json"], "");
    let search: serde_json::Value = serde_json::from_str(&search.stdout).unwrap();
    assert_eq!(search["total"], 1);
}

#[test]
fn scan_jsonl_gives_byte_offsets_and_types() {
    let input = "{\"id\":\"a\",\"text\":\"mail jane.doe@example.com now\"}\n";
    let r = trail(&["scan", "--jsonl"], input);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["id"], "a");
    assert_eq!(v["findings"][0]["type"], "EMAIL");
    assert_eq!(v["findings"][0]["start"], 5);
    assert_eq!(v["findings"][0]["end"], 25);
    let text = trail(&["scan"], "line one\nkey AKIAZ7Q3VN4XK2LMB5TP here\n");
    assert_eq!(text.code, 1);
    assert!(text.stdout.starts_with("-:2:5: AWS_ACCESS_KEY_ID"), "{}", text.stdout);
    assert!(!text.stdout.contains("AKIAZ7Q3VN4XK2LMB5TP"), "the scanner must not print the value");
}

/// A UTF-16 file (PowerShell's `>` writes one) gave no findings and exit 0, "clean"
/// (found by an outside tester).
#[test]
fn scan_reads_utf16_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("out.txt");
    let text = "password=Utf16!Pw2024 email alice.walker@example.org\n";
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&path, bytes).unwrap();
    let r = trail(&["scan", d(&path)], "");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(":1:10: PASSWORD"), "{}", r.stdout);
    assert!(r.stdout.contains("EMAIL"), "{}", r.stdout);
}

#[test]
fn demo_runs_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let r = trail(&["demo", "--data", d(&data)], "");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("log is intact"), "{}", r.stdout);
    assert!(r.stdout.contains("[REDACTED:aws_access_key_id]"), "{}", r.stdout);
}
