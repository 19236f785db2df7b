//! The cases a new user, a careless script or an attacker met first, each written as they met
//! it: a spreadsheet opening a CSV, a directory holding someone's file, an erasure erased.

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

fn init() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = trail(&["init", "--data", d(&data), "--origin", "trail.test/user"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    (tmp, data)
}

fn d(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every cell of a CSV text (RFC 4180: quoted cells may hold commas, quotes and line breaks).
fn csv_cells(text: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',' | '\n') => cells.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, c) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[test]
fn no_csv_trail_writes_starts_a_cell_with_a_formula() {
    let (tmp, data) = init();
    // Agent-controlled fields, each a formula a spreadsheet would run.
    let hostile = r#"{"id":"=HYPERLINK(\"http://x\")","kind":"tool_call","action":"+cmd|' /C calc'!A0","agent":"-2+3","session":"@SUM(A1)","actor":"=1+1","status":"ok"}"#;
    let r = trail(&["log", "--data", d(&data)], &format!("{hostile}\n"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let query = trail(&["query", "--data", d(&data), "--format", "csv"], "");
    assert_eq!(query.code, 0, "{}", query.stderr);
    let out = tmp.path().join("export.csv");
    let export = trail(&["export", "--data", d(&data), "--format", "csv", "--out", d(&out)], "");
    assert_eq!(export.code, 0, "{}", export.stderr);
    let exported = std::fs::read_to_string(&out).unwrap();
    for (what, text) in [("query", query.stdout.as_str()), ("export", exported.as_str())] {
        let cells = csv_cells(text);
        // The export's last three cells hold the record's exact bytes (JSON, never a formula).
        let dangerous: Vec<&String> =
            cells.iter().filter(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])).collect();
        assert!(dangerous.is_empty(), "{what} CSV starts cells with a formula: {dangerous:?}");
        assert!(text.contains("'=HYPERLINK"), "{what}: the value is kept, defused: {text}");
        assert!(text.contains("'@SUM(A1)"), "{what}: {text}");
    }
}

#[test]
fn demo_never_removes_a_file_it_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory holding someone's file is refused, and the file stays.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    let r = trail(&["demo", "--data", d(&mine)], "");
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("is not an earlier trail demo"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(mine.join("notes.txt")).unwrap(), "mine");
    assert!(!mine.join("trail.toml").exists());

    // A demo run twice replaces its own log...
    let demo = tmp.path().join("demo");
    let first = trail(&["demo", "--data", d(&demo)], "");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let key = std::fs::read_to_string(demo.join("log.vkey")).unwrap();
    let again = trail(&["demo", "--data", d(&demo)], "");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_ne!(std::fs::read_to_string(demo.join("log.vkey")).unwrap(), key, "a new log");
    // ...but once a user put a file beside it, nothing is removed and the log stays.
    let key = std::fs::read_to_string(demo.join("log.vkey")).unwrap();
    std::fs::write(demo.join("report.md"), "my findings").unwrap();
    let third = trail(&["demo", "--data", d(&demo)], "");
    assert_ne!(third.code, 0);
    assert!(third.stderr.contains("report.md"), "names the file: {}", third.stderr);
    assert_eq!(std::fs::read_to_string(demo.join("report.md")).unwrap(), "my findings");
    assert_eq!(std::fs::read_to_string(demo.join("log.vkey")).unwrap(), key, "the log stays");
}

#[test]
fn erasure_and_prune_events_cannot_be_erased_and_erasing_nothing_records_nothing() {
    let (_tmp, data) = init();
    let events = r#"{"id":"a","kind":"tool_call","session":"s","actor":"u","body":{"x":1}}
{"id":"b","kind":"tool_call","session":"s","actor":"u","body":{"x":2}}
"#;
    assert_eq!(trail(&["log", "--data", d(&data)], events).code, 0);
    let r = trail(&["erase", "--data", d(&data), "--id", "a", "--reason", "request", "--json"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let seq = serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["event_seq"]
        .as_u64()
        .unwrap();
    // The newest event is now the erasure itself: `query --limit 1` hands its id to a careless
    // script, which then tries to erase it.
    let newest = trail(&["query", "--data", d(&data), "--limit", "1", "--json"], "");
    let newest: serde_json::Value = serde_json::from_str(&newest.stdout).unwrap();
    let id = newest["events"][0]["record"]["id"].as_str().unwrap().to_owned();
    assert_eq!(newest["events"][0]["seq"], seq);
    let refused = trail(&["erase", "--data", d(&data), "--id", &id, "--reason", "oops"], "");
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("cannot be erased"), "{}", refused.stderr);
    // Erasing what is already erased (or matches nothing) records no event.
    let before = trail(&["stats", "--data", d(&data), "--json"], "").stdout;
    let nothing = trail(&["erase", "--data", d(&data), "--id", "a", "--reason", "again"], "");
    assert_eq!(nothing.code, 0, "{}", nothing.stderr);
    assert!(nothing.stdout.contains("nothing to erase"), "{}", nothing.stdout);
    let none = trail(&["erase", "--data", d(&data), "--actor", "nobody", "--reason", "x"], "");
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert_eq!(trail(&["stats", "--data", d(&data), "--json"], "").stdout, before);
    let v = trail(&["verify", "--data", d(&data)], "");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

fn many_events(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"e{i}\",\"kind\":\"tool_call\",\"session\":\"s{}\",\"status\":\"{}\",\"body\":{{\"i\":{i}}}}}\n",
                i % 4,
                if i % 10 == 3 { "denied" } else { "ok" }
            )
        })
        .collect()
}

/// An export whose record 40 was changed, every hash after it recomputed and the checkpoint
/// lines deleted: every record still chains, but no signature covers any of them.
fn forge(export: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<String> = None;
    for line in export.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v.get("checkpoint").is_some() {
            continue; // the forger drops what it cannot re-sign
        }
        let rec = v["record"].as_object_mut().unwrap();
        if rec["seq"] == 40 {
            rec.insert("status".into(), "ok".into());
        }
        if let Some(p) = &prev {
            rec.insert("prev".into(), p.clone().into());
        }
        // serde_json writes object keys sorted and compact: JCS for these values.
        let canonical = serde_json::to_string(&v["record"]).unwrap();
        let hash = trail_merkle::leaf_hash(canonical.as_bytes()).to_string();
        v["hash"] = hash.clone().into();
        prev = Some(hash);
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn a_forged_export_without_its_checkpoints_is_never_called_intact() {
    let (tmp, data) = init();
    assert_eq!(trail(&["log", "--data", d(&data)], &many_events(80)).code, 0);
    let export = trail(&["export", "--data", d(&data)], "");
    assert_eq!(export.code, 0, "{}", export.stderr);
    let key = data.join("log.vkey");
    let genuine = tmp.path().join("genuine.jsonl");
    std::fs::write(&genuine, &export.stdout).unwrap();
    let ok = trail(&["verify", d(&genuine), "--key", d(&key)], "");
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("log is intact"), "{}", ok.stdout);

    let forged = tmp.path().join("forged.jsonl");
    std::fs::write(&forged, forge(&export.stdout)).unwrap();
    let r = trail(&["verify", d(&forged), "--key", d(&key)], "");
    assert_eq!(r.code, 1, "a forged export must fail: {}", r.stdout);
    assert!(!r.stdout.contains("log is intact"), "{}", r.stdout);
    assert!(
        r.stdout.contains("NOT VERIFIED: all 80 records covered by no valid signed checkpoint"),
        "{}",
        r.stdout
    );
    // Asking to accept an unsigned tail does not make a log with no valid checkpoint pass.
    let r = trail(&["verify", d(&forged), "--key", d(&key), "--allow-unsigned-tail"], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    let j = trail(&["verify", d(&forged), "--key", d(&key), "--json"], "");
    let j: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(j["verdict"], "unsigned_records");
    assert_eq!(j["unsigned_records"], 80);
    assert_eq!(j["passed"], false);
    // Without a key nothing is verified either.
    let r = trail(&["verify", d(&genuine)], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("no signature was checked"), "{}", r.stdout);
}

#[test]
fn an_unsigned_tail_is_named_and_accepted_only_when_asked() {
    let (tmp, data) = init();
    assert_eq!(trail(&["log", "--data", d(&data)], &many_events(30)).code, 0);
    let export = trail(&["export", "--data", d(&data)], "").stdout;
    // Records appended after the last checkpoint, as a live log's newest are: cut the export
    // before its final checkpoint and keep the records after an earlier one.
    let mut lines: Vec<&str> = export.lines().collect();
    assert!(lines.last().unwrap().starts_with("{\"checkpoint\""));
    lines.pop();
    let text = format!("{}\n", lines.join("\n"));
    let tail = tmp.path().join("tail.jsonl");
    std::fs::write(&tail, text).unwrap();
    let key = data.join("log.vkey");
    let r = trail(&["verify", d(&tail), "--key", d(&key)], "");
    let signed = lines.iter().filter(|l| l.starts_with("{\"checkpoint\"")).count();
    if signed == 0 {
        return; // the log was checkpointed only at its end: covered by the test above
    }
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("NOT VERIFIED: the last"), "{}", r.stdout);
    let r = trail(&["verify", d(&tail), "--key", d(&key), "--allow-unsigned-tail"], "");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("not yet signed"), "{}", r.stdout);
}

/// A copy of a SQLite data directory, the database with its write-ahead log.
fn copy_log(from: &Path, to: &Path) {
    for f in ["trail.toml", "log.key", "log.vkey", "trail.db", "trail.db-wal"] {
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

#[test]
fn an_edited_index_column_is_caught_by_verify() {
    let (tmp, data) = init();
    assert_eq!(trail(&["log", "--data", d(&data)], &many_events(40)).code, 0);
    let denied = |dir: &Path| {
        let q = trail(&["query", "--data", d(dir), "--status", "denied", "--json"], "");
        serde_json::from_str::<serde_json::Value>(&q.stdout).unwrap()["total"].as_u64().unwrap()
    };
    assert_eq!(denied(&data), 4);
    // An attacker with the database file hides the denials from queries.
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    copy_log(&data, &copy);
    let db = rusqlite::Connection::open(copy.join("trail.db")).unwrap();
    db.execute("UPDATE records SET status = 'ok' WHERE status = 'denied'", []).unwrap();
    drop(db);
    assert_eq!(denied(&copy), 0, "the edit hides the denials from queries");
    let r = trail(&["verify", "--data", d(&copy)], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("index_mismatch"), "{}", r.stdout);
    assert!(r.stdout.contains("records.status"), "{}", r.stdout);
    assert!(r.stdout.contains("seq 3"), "names the row: {}", r.stdout);
    // A rollup edited alone is caught too.
    let copy2 = tmp.path().join("copy2");
    std::fs::create_dir(&copy2).unwrap();
    copy_log(&data, &copy2);
    let db = rusqlite::Connection::open(copy2.join("trail.db")).unwrap();
    db.execute("UPDATE session_rollup SET denials = 0", []).unwrap();
    drop(db);
    let r = trail(&["verify", "--data", d(&copy2)], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("session_rollup"), "{}", r.stdout);
    // The untouched log verifies.
    assert_eq!(trail(&["verify", "--data", d(&data)], "").code, 0);
}

#[test]
fn exports_for_reading_are_named_and_a_json_document_verifies() {
    let (tmp, data) = init();
    assert_eq!(trail(&["log", "--data", d(&data)], &many_events(12)).code, 0);
    let key = data.join("log.vkey");
    for (format, named) in
        [("csv", "a CSV export"), ("cef", "CEF export"), ("ocsf", "an OCSF export")]
    {
        let out = tmp.path().join(format!("x.{format}"));
        let r = trail(&["export", "--data", d(&data), "--format", format, "--out", d(&out)], "");
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = trail(&["verify", d(&out), "--key", d(&key)], "");
        assert_eq!(v.code, 2, "{format}: {}{}", v.stdout, v.stderr);
        assert!(
            v.stderr.contains(named) && v.stderr.contains("cannot be verified"),
            "{}",
            v.stderr
        );
    }
    let out = tmp.path().join("doc.json");
    let r = trail(&["export", "--data", d(&data), "--format", "json", "--out", d(&out)], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = trail(&["verify", d(&out), "--key", d(&key)], "");
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("log is intact"), "{}", v.stdout);
}

#[test]
fn a_deleted_line_is_one_divergence_not_hundreds() {
    let (tmp, data) = init();
    assert_eq!(trail(&["log", "--data", d(&data)], &many_events(200)).code, 0);
    let r = trail(&["erase", "--data", d(&data), "--session", "s1", "--reason", "request"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let export = trail(&["export", "--data", d(&data)], "").stdout;
    let lines: Vec<&str> = export.lines().filter(|l| !l.contains("\"seq\":50,")).collect();
    let cut = tmp.path().join("cut.jsonl");
    std::fs::write(&cut, format!("{}\n", lines.join("\n"))).unwrap();
    let v = trail(&["verify", d(&cut), "--key", d(&data.join("log.vkey")), "--json"], "");
    assert_eq!(v.code, 1);
    let j: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    let problems = j["report"]["problems"].as_array().unwrap();
    let codes: Vec<&str> = problems.iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "seq_mismatch").count(), 1, "{codes:?}");
    assert!(!codes.contains(&"body_missing"), "erased bodies are not called deleted: {codes:?}");
    assert!(problems.len() < 10, "{} problems: {codes:?}", problems.len());
    let plain = trail(&["verify", d(&cut), "--key", d(&data.join("log.vkey"))], "");
    assert!(plain.stdout.contains("first: seq 50"), "leads with the divergence: {}", plain.stdout);
}

#[test]
fn a_log_stays_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    for store in ["sqlite", "files"] {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let r = trail(
            &["init", "--data", d(&data), "--origin", "trail.test/modes", "--store", store],
            "",
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(trail(&["log", "--data", d(&data)], &many_events(3)).code, 0);
        // An erase rewrites the file log: the new file must be as private as the old.
        let r = trail(&["erase", "--data", d(&data), "--id", "e1", "--reason", "test"], "");
        assert_eq!(r.code, 0, "{}", r.stderr);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700, "{store}: the data directory");
        for entry in std::fs::read_dir(&data).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            if name != "log.vkey" && p.is_file() {
                assert_eq!(
                    mode(&p) & 0o077,
                    0,
                    "{store}: {name} is readable by others: {:o}",
                    mode(&p)
                );
            }
        }
    }
}

// ---- the independent tester's findings, each as it was found -------------------------------

#[test]
fn an_edited_search_index_is_caught_by_verify() {
    let (tmp, data) = init();
    let events = "{\"kind\":\"tool_call\",\"body\":{\"cmd\":\"rm -rf evidence\"}}\n{\"kind\":\"tool_call\",\"body\":{\"cmd\":\"ls\"}}\n";
    assert_eq!(trail(&["log", "--data", d(&data)], events).code, 0);
    // A search builds the index.
    let q = trail(&["query", "--data", d(&data), "--search", "evidence", "--json"], "");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&q.stdout).unwrap()["total"], 1);
    assert_eq!(trail(&["verify", "--data", d(&data)], "").code, 0);
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    copy_log(&data, &copy);
    let db = rusqlite::Connection::open(copy.join("trail.db")).unwrap();
    db.execute("DELETE FROM fts WHERE rowid = 0", []).unwrap();
    db.execute("INSERT INTO fts (rowid, words) VALUES (1, 'evidence')", []).unwrap();
    drop(db);
    let r = trail(&["verify", "--data", d(&copy)], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("fts"), "{}", r.stdout);
}

#[test]
fn a_client_cannot_send_trail_kinds() {
    let (_tmp, data) = init();
    // In any case: `TRAIL.erasure` reads as trail's own to a person (found by an outside tester).
    for kind in ["trail.erasure", "trail.prune", "trail.import", "TRAIL.erasure", "Trail.prune"] {
        let line = format!("{{\"kind\":\"{kind}\",\"body\":{{\"seqs\":[0]}}}}\n");
        let r = trail(&["log", "--data", d(&data)], &line);
        assert_eq!(r.code, 1, "{kind}: {}", r.stderr);
        assert!(r.stderr.contains("field `kind`"), "{}", r.stderr);
        let r = trail(&["log", "--data", d(&data), "--kind", kind], "");
        assert_ne!(r.code, 0, "{kind} from flags");
    }
}

/// The OTLP receiver's ids are refused from `trail log` as from `POST /v1/events` (found by an
/// outside tester: a span arriving later would have been taken for a retry and dropped).
#[test]
fn a_client_cannot_send_the_otlp_receivers_ids() {
    let (_tmp, data) = init();
    for id in ["otel:5b8e:eee1", "otel-log:5ab251ab", "OTEL:x", " otel:x"] {
        let line = format!("{{\"kind\":\"tool_call\",\"id\":\"{id}\"}}\n");
        let r = trail(&["log", "--data", d(&data)], &line);
        assert_eq!(r.code, 1, "{id}: {}", r.stderr);
        assert!(r.stderr.contains("field `id`"), "{}", r.stderr);
        let r = trail(&["log", "--data", d(&data), "--kind", "tool_call", "--id", id], "");
        assert_ne!(r.code, 0, "{id} from flags");
    }
    let q = trail(&["query", "--data", d(&data), "--json"], "");
    assert!(!q.stdout.contains("otel"), "{}", q.stdout);
}

#[test]
fn a_corrupted_tree_stops_the_writer_and_fails_verify() {
    let (tmp, data) = init();
    assert_eq!(trail(&["log", "--data", d(&data)], &many_events(4)).code, 0);
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    copy_log(&data, &copy);
    let db = rusqlite::Connection::open(copy.join("trail.db")).unwrap();
    // Record 3 completes the tree of size 4: its stored nodes are what the checkpoint signs.
    db.execute("UPDATE records SET tree = zeroblob(length(tree)) WHERE seq = 3", []).unwrap();
    drop(db);
    let v = trail(&["verify", "--data", d(&copy)], "");
    assert_eq!(v.code, 1, "{}", v.stdout);
    assert!(v.stdout.contains("records.tree"), "{}", v.stdout);
    // The writer will not append to, nor sign over, a tree that lost what it signed.
    let r = trail(&["log", "--data", d(&copy), "--kind", "next"], "");
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("changed outside trail"), "{}", r.stderr);
}

#[test]
fn an_export_with_nothing_in_it_is_not_verified() {
    let (tmp, data) = init();
    let empty = tmp.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let r = trail(&["verify", d(&empty), "--key", d(&data.join("log.vkey"))], "");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("nothing to verify"), "{}", r.stdout);
}

#[test]
fn integers_no_double_holds_are_refused_not_rounded() {
    let (_tmp, data) = init();
    let r = trail(
        &["log", "--data", d(&data)],
        "{\"kind\":\"t\",\"body\":{\"n\":12345678901234567890123}}\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be stored exactly"), "{}", r.stderr);
}

#[test]
fn prune_refuses_counts_that_would_remove_everything() {
    let (_tmp, data) = init();
    assert_eq!(trail(&["log", "--data", d(&data)], &many_events(3)).code, 0);
    for flag in ["--keep", "--max-size-mb", "--days"] {
        let r = trail(&["prune", "--data", d(&data), flag, "0"], "");
        assert_eq!(r.code, 2, "{flag}: {}", r.stderr);
        assert!(r.stderr.contains("at least 1"), "{flag}: {}", r.stderr);
    }
    let r = trail(&["stats", "--data", d(&data), "--json"], "");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["events"], 3);
}

#[test]
fn keygen_refused_leaves_no_half_key_pair() {
    let tmp = tempfile::tempdir().unwrap();
    let k = tmp.path().join("k");
    std::fs::write(tmp.path().join("k.vkey"), "mine").unwrap();
    let r = trail(&["keygen", "--name", "x.example/y", "--out", d(&k)], "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!k.exists(), "no private key left behind");
    assert_eq!(std::fs::read_to_string(tmp.path().join("k.vkey")).unwrap(), "mine");
}

#[test]
fn the_demo_keeps_a_demo_log_someone_went_on_writing_to() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    assert_eq!(trail(&["demo", "--data", d(&demo)], "").code, 0);
    assert_eq!(
        trail(&["log", "--data", d(&demo), "--kind", "mine", "--session", "mine"], "").code,
        0
    );
    let r = trail(&["demo", "--data", d(&demo)], "");
    assert_ne!(r.code, 0, "{}", r.stdout);
    let q = trail(&["query", "--data", d(&demo), "--session", "mine", "--json"], "");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&q.stdout).unwrap()["total"], 1);
}

#[test]
fn trail_log_with_flags_sends_to_the_serving_node() {
    let (_tmp, data) = init();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["serve", "--data", d(&data), "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serve.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let r = trail(&["log", "--data", d(&data), "--kind", "b", "--json"], "");
    let e = trail(&["erase", "--data", d(&data), "--id", "x", "--reason", "r"], "");
    let _ = Command::new("kill").args(["-TERM", &serve.id().to_string()]).status();
    let _ = serve.wait();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("sending the events to it"), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert_eq!(e.code, 2, "{}", e.stderr);
    assert!(e.stderr.contains("holds this log"), "a writer names the node: {}", e.stderr);
}

#[test]
fn scan_data_finds_and_erases_secrets_an_older_scanner_stored() {
    let (_tmp, data) = init();
    // A log whose scanner let secrets through (as an older scanner would have).
    let cfg = data.join("trail.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replacen("[scan]\n", "[scan]\nsecrets = \"off\"\n", 1)).unwrap();
    let secret = "AKIAZ7Q3VN4XK2LMB5TP";
    let events = format!(
        "{{\"kind\":\"tool_call\",\"id\":\"leak\",\"body\":{{\"env\":\"AWS_ACCESS_KEY_ID={secret}\"}}}}\n{{\"kind\":\"tool_call\",\"id\":\"clean\",\"body\":{{\"cmd\":\"ls\"}}}}\n"
    );
    assert_eq!(trail(&["log", "--data", d(&data)], &events).code, 0);
    assert!(trail(&["export", "--data", d(&data)], "").stdout.contains(secret));
    let r = trail(&["scan", "--data", d(&data), "--json"], "");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stdout.contains(secret), "never the value: {}", r.stdout);
    let found: Vec<serde_json::Value> =
        r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        found
            .iter()
            .any(|f| f["seq"] == 0 && f["type"] == "aws_access_key_id" && f["path"] == "/env"),
        "{found:?}"
    );
    assert!(found.iter().all(|f| f["seq"] == 0), "{found:?}");
    let r = trail(&["scan", "--data", d(&data), "--erase", "--reason", "rescan"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("erased 1 body"), "{}", r.stdout);
    assert!(!trail(&["export", "--data", d(&data)], "").stdout.contains(secret));
    assert_eq!(trail(&["verify", "--data", d(&data)], "").code, 0);
    assert_eq!(trail(&["scan", "--data", d(&data)], "").code, 0, "nothing left to find");
}
