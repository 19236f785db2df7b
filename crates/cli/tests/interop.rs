//! `trail import`, `trail export --format ...` and `trail verify --format harness`, run as a
//! user would, on the fixtures made with the seeds' own packages (crates/interop/testdata).

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn trail(args: &[&str]) -> Run {
    let Output { status, stdout, stderr } = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(args)
        .env_remove("TRAIL_DATA")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../interop/testdata")
        .join(rel)
        .to_str()
        .unwrap()
        .to_owned()
}

const HARNESS: &str = "harness/audit-fixture-session.jsonl";

fn init() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data").to_str().unwrap().to_owned();
    let r = trail(&["init", "--data", &data, "--origin", "trail.test/interop"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (tmp, data)
}

fn size(data: &str) -> u64 {
    let r = trail(&["stats", "--data", data, "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["events"].as_u64().unwrap_or_else(|| panic!("{}", r.stdout))
}

fn import_json(data: &str, from: &str, rel: &str) -> Value {
    let r = trail(&["import", "--data", data, "--from", from, &fixture(rel), "--json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    serde_json::from_str(r.stdout.lines().next().unwrap()).unwrap()
}

/// Imports a fixture twice: the first import adds `events`, the second adds nothing, and the log
/// still verifies.
fn check_import(from: &str, rel: &str, events: u64) {
    let (_tmp, data) = init();
    let first = import_json(&data, from, rel);
    assert_eq!(
        (first["added"].as_u64(), first["already_present"].as_u64()),
        (Some(events), Some(0)),
        "{first}"
    );
    let second = import_json(&data, from, rel);
    assert_eq!(
        (second["added"].as_u64(), second["already_present"].as_u64()),
        (Some(0), Some(events)),
        "{second}"
    );
    assert_eq!(size(&data), events);
    let v = trail(&["verify", "--data", &data]);
    assert_eq!(v.code, 0, "{}", v.stdout);
}

#[test]
fn import_harness_twice_adds_nothing_the_second_time() {
    check_import("harness", HARNESS, 24);
}

#[test]
fn import_agenticapi_twice_adds_nothing_the_second_time() {
    check_import("agenticapi", "agenticapi/audit.sqlite", 94);
}

#[test]
fn import_denkeeper_twice_adds_nothing_the_second_time() {
    check_import("denkeeper", "denkeeper/audit.db", 13);
}

#[test]
fn import_ag2_twice_adds_nothing_the_second_time() {
    check_import("ag2", "ag2/audit.jsonl", 16);
}

#[test]
fn import_of_a_bad_file_names_file_and_line_and_changes_nothing() {
    let (_tmp, data) = init();
    import_json(&data, "ag2", "ag2/audit.jsonl");
    let before = size(&data);
    // Two files: the good first one is not imported either, because the second is read first.
    let r = trail(&[
        "import",
        "--data",
        &data,
        "--from",
        "harness",
        &fixture(HARNESS),
        &fixture("harness/tamper/invalid_json.jsonl"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains(
            "invalid_json.jsonl: line 6: invalid JSON — Expecting value: line 1 column 14 (char 13)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(size(&data), before);
    let r = trail(&[
        "import",
        "--data",
        &data,
        "--from",
        "denkeeper",
        &fixture("agenticapi/audit.sqlite"),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not denkeeper audit data: the database has no table audit_events"),
        "{}",
        r.stderr
    );
    let r = trail(&["import", "--data", &data, "--from", "splunk", &fixture(HARNESS)]);
    assert!(r.stderr.contains("invalid value 'splunk' for '--from"), "{}", r.stderr);
    assert!(r.stderr.contains("harness, agenticapi, denkeeper, ag2"), "{}", r.stderr);
    assert_eq!(size(&data), before);
}

#[test]
fn import_refuses_ids_that_name_different_events() {
    let (_tmp, data) = init();
    import_json(&data, "harness", HARNESS);
    let before = size(&data);
    // Same event ids, one event changed (a permission allowed became denied).
    let r = trail(&[
        "import",
        "--data",
        &data,
        "--from",
        "harness",
        &fixture("harness/tamper/modify_keep_hash.jsonl"),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("nothing imported: 1 id already names a different event in this log"),
        "{}",
        r.stderr
    );
    assert_eq!(size(&data), before);
}

#[test]
fn import_of_a_tampered_harness_file_records_the_verdict() {
    let (_tmp, data) = init();
    let r = trail(&[
        "import",
        "--data",
        &data,
        "--from",
        "harness",
        &fixture("harness/tamper/modify_keep_hash.jsonl"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("chain INVALID: 1 problem"), "{}", r.stdout);
    let q = trail(&["query", "--data", &data, "--kind", "trail.import", "--format", "json"]);
    assert!(q.stdout.contains("\"verdict\":\"invalid\""), "{}", q.stdout);
    assert!(q.stdout.contains("\"code\":\"hash_mismatch\""), "{}", q.stdout);
}

// ---------------------------------------------------------------------------------------------
// trail verify --format harness

#[test]
fn verify_harness_good_file_exits_0_and_says_what_it_cannot_prove() {
    let r = trail(&["verify", "--format", "harness", &fixture(HARNESS)]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("23/23 events valid"), "{}", r.stdout);
    assert!(r.stdout.contains("chain intact"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Harness's own verify_chain would return valid=True"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("what this cannot prove: a Harness log has no key"), "{}", r.stdout);
}

#[test]
fn verify_harness_reports_every_problem_with_its_line() {
    let r = trail(&["verify", "--format", "harness", &fixture("harness/tamper/swap_lines.jsonl")]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    for line in [7, 8, 9] {
        assert!(r.stdout.contains(&format!("  line {line}: prev_hash_mismatch: ")), "{}", r.stdout);
    }
    let r = trail(&[
        "verify",
        "--format",
        "harness",
        "--json",
        &fixture("harness/tamper/not_an_object.jsonl"),
    ]);
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["files"][0]["problems"][0]["line"], 3);
    assert_eq!(v["files"][0]["harness_verdict"]["outcome"], "crash");
}

#[test]
fn verify_harness_passes_what_harness_cannot_catch_and_says_so() {
    let r = trail(&[
        "verify",
        "--format",
        "harness",
        &fixture("harness/tamper/modify_rehash_all.jsonl"),
    ]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("recompute every hash after it, cut events off the end"),
        "{}",
        r.stdout
    );
}

#[test]
fn verify_harness_unreadable_file_exits_2() {
    let r =
        trail(&["verify", "--format", "harness", &fixture(HARNESS), "/nonexistent/audit-x.jsonl"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("/nonexistent/audit-x.jsonl: cannot read"), "{}", r.stdout);
    let r = trail(&["verify", "--format", "splunk", &fixture(HARNESS)]);
    assert_eq!(r.code, 2);
}

// ---------------------------------------------------------------------------------------------
// trail export --format ...

/// A log with every fixture imported, plus an event whose fields need escaping.
fn full_log() -> (tempfile::TempDir, String) {
    let (tmp, data) = init();
    for (from, rel) in [
        ("harness", HARNESS),
        ("agenticapi", "agenticapi/audit.sqlite"),
        ("denkeeper", "denkeeper/audit.db"),
        ("ag2", "ag2/audit.jsonl"),
    ] {
        import_json(&data, from, rel);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["log", "--data", &data])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"id":"odd","kind":"tool_call","action":"a=b|c\\d","status":"error","session":"s 1/x","body":{"note":"line1\nline2"}}
"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    (tmp, data)
}

fn export(data: &str, format: &str) -> String {
    let r = trail(&["export", "--data", data, "--format", format]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

/// Splits RFC 4180 CSV text into rows of cells.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[test]
fn export_csv_rows_can_be_rechecked_from_the_spreadsheet() {
    let (_tmp, data) = full_log();
    let rows = parse_csv(&export(&data, "csv"));
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len() as u64 - 1, size(&data));
    let mut prev = "0".repeat(64);
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(row.len(), header.len(), "row {i}");
        assert_eq!(row[col("seq")], i.to_string());
        // The leaf hash is SHA-256(0x00 || record) and each prev is the hash before it.
        let leaf = trail_merkle::leaf_hash(row[col("record")].as_bytes()).to_string();
        assert_eq!(leaf, row[col("hash")], "row {i}");
        assert_eq!(row[col("prev")], prev, "row {i}");
        prev = row[col("hash")].clone();
        if !row[col("body")].is_empty() {
            let salt: [u8; 32] = hex::decode(&row[col("salt")]).unwrap().try_into().unwrap();
            let digest = trail_core::model::body_digest(&salt, row[col("body")].as_bytes());
            assert_eq!(digest.to_string(), row[col("body_digest")], "row {i}");
        }
    }
    let odd = rows.iter().find(|r| r[col("id")] == "odd").unwrap();
    assert_eq!(odd[col("action")], "a=b|c\\d");
    assert!(odd[col("body")].contains("line1\\nline2"));
}

#[test]
fn export_json_is_one_document_with_every_record_and_checkpoint() {
    let (_tmp, data) = full_log();
    let doc: Value = serde_json::from_str(&export(&data, "json")).unwrap();
    assert_eq!(doc["format"], "trail.json");
    assert_eq!(doc["origin"], "trail.test/interop");
    let records = doc["records"].as_array().unwrap();
    assert_eq!(records.len() as u64, size(&data));
    assert!(!doc["checkpoints"].as_array().unwrap().is_empty());
    // Each element is exactly a record line of the trail export.
    let jsonl = export(&data, "jsonl");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l.get("record").is_some())
        .collect();
    assert_eq!(records, &lines);
}

#[test]
fn export_ocsf_events_have_the_required_fields() {
    let (_tmp, data) = full_log();
    let text = export(&data, "ocsf");
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len() as u64, size(&data));
    for (seq, e) in events.iter().enumerate() {
        let class = e["class_uid"].as_u64().unwrap();
        assert!(class == 6002 || class == 6003, "{e}");
        assert_eq!(e["category_uid"], 6);
        assert_eq!(
            e["type_uid"].as_u64().unwrap(),
            class * 100 + e["activity_id"].as_u64().unwrap()
        );
        assert_eq!(e["metadata"]["sequence"], seq as u64);
        assert_eq!(e["metadata"]["product"]["name"], "trail");
        assert!(e["time"].as_i64().is_some() && e["severity_id"].as_u64().is_some(), "{e}");
        if class == 6003 {
            assert!(e["api"]["operation"].is_string() && e["src_endpoint"].is_object(), "{e}");
        }
        assert_eq!(e["unmapped"]["trail"]["hash"].as_str().unwrap().len(), 64);
    }
    let start = events.iter().find(|e| e["activity_name"] == "Start").unwrap();
    assert_eq!(start["class_uid"], 6002);
    let llm = events.iter().find(|e| e["message_context"]["prompt_tokens"] == 2500).unwrap();
    assert_eq!(
        llm["ai_model"],
        serde_json::json!({"name": "claude-sonnet-4-20250514", "ai_provider": "anthropic"})
    );
    let odd = events.iter().find(|e| e["metadata"]["uid"] == "odd").unwrap();
    assert_eq!((odd["status_id"].as_u64(), odd["severity_id"].as_u64()), (Some(2), Some(3)));
}

#[test]
fn export_cef_escapes_header_and_extension() {
    let (_tmp, data) = full_log();
    let text = export(&data, "cef");
    assert_eq!(text.lines().count() as u64, size(&data));
    assert!(text.lines().all(|l| l.starts_with("CEF:0|trail|trail|")));
    let odd = text.lines().find(|l| l.contains("externalId=odd")).unwrap();
    // Header: `|` and `\` escaped; extension: `=` and `\` escaped, `|` left as is.
    assert!(odd.contains("|tool_call|tool_call a=b\\|c\\\\d|7|"), "{odd}");
    assert!(odd.contains(" act=a\\=b|c\\\\d "), "{odd}");
    assert!(odd.contains(" cs1=s 1/x "), "{odd}");
    assert!(odd.contains(" outcome=error "), "{odd}");
}

/// Finds Python 3.12 (pyenv's or on PATH) and makes a venv with `harness-agent==0.6.0` under the
/// target directory, once. `None`, with the reason, when that is not possible here.
fn harness_python() -> Result<PathBuf, String> {
    // Tests run on threads: the venv is made once, by whichever asks first.
    static VENV: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    VENV.get_or_init(make_harness_venv).clone()
}

fn make_harness_venv() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("py-harness");
    let python = venv.join("bin/python");
    let ready = venv.join("ready");
    if ready.exists() {
        return Ok(python);
    }
    let mut candidates = vec![PathBuf::from("python3.12")];
    if let Some(home) = std::env::var_os("HOME")
        && let Ok(dirs) = std::fs::read_dir(Path::new(&home).join(".pyenv/versions"))
    {
        candidates.extend(dirs.flatten().map(|d| d.path().join("bin/python3.12")));
    }
    let base = candidates
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .ok_or("no python3.12 on PATH or under ~/.pyenv/versions")?;
    let run = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr)))
        }
    };
    run(Command::new(&base).args(["-m", "venv"]).arg(&venv), "python3.12 -m venv")?;
    run(
        Command::new(&python).args(["-m", "pip", "install", "--quiet", "harness-agent==0.6.0"]),
        "pip install harness-agent==0.6.0",
    )?;
    std::fs::write(&ready, "").map_err(|e| e.to_string())?;
    Ok(python)
}

/// Without Python 3.12 and PyPI, a test that needs Harness's own package says so loudly, and
/// fails under CI, where it must run.
fn skip_without_harness(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "Harness's own package is needed in CI: {why}");
    eprintln!(
        "\n*** SKIPPED: Harness's own package was NOT run ({why}); install Python 3.12 with \
         PyPI access to run it ***\n"
    );
}

#[test]
fn a_log_harness_wrote_with_every_awkward_character_verifies_and_imports() {
    let python = match harness_python() {
        Ok(p) => p,
        Err(why) => return skip_without_harness(&why),
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(&python)
        .arg(fixture("gen/write_awkward_harness_log.py"))
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // Harness's own verifier accepts what its own logger wrote...
    let h = Command::new(&python)
        .arg(fixture("gen/verify_harness_log.py"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(h.status.success(), "{}", String::from_utf8_lossy(&h.stdout));
    // ...and so must trail, line for line, then import it and verify the result.
    let v = trail(&["verify", "--format", "harness", &file]);
    assert_eq!(v.code, 0, "trail rejected a log Harness accepts:\n{}{}", v.stdout, v.stderr);
    let (_tmp, data) = init();
    let r = trail(&["import", "--data", &data, "--from", "harness", &file]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines = std::fs::read_to_string(&file).unwrap().lines().count() as u64;
    assert_eq!(size(&data), lines + 1, "every line and the import event");
    let v = trail(&["verify", "--data", &data]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

#[test]
fn export_harness_is_accepted_by_harness_itself() {
    let (tmp, data) = full_log();
    let out = tmp.path().join("harness-out");
    let r =
        trail(&["export", "--data", &data, "--format", "harness", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("/audit-fixture-session.jsonl")));
    // Our own Harness check agrees...
    let mut args = vec!["verify", "--format", "harness"];
    args.extend(files.iter().map(String::as_str));
    let v = trail(&args);
    assert_eq!(v.code, 0, "{}", v.stdout);
    // ...and so does Harness's own verifier, where Python 3.12 and the package are available.
    match harness_python() {
        Ok(python) => {
            let script = fixture("gen/verify_harness_log.py");
            let out = Command::new(python).arg(script).args(&files).output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "Harness rejected the export:\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(stdout.matches("valid=True errors=0").count(), files.len(), "{stdout}");
        }
        Err(why) => skip_without_harness(&why),
    }
    // A second export into the same directory refuses to overwrite Harness files.
    let again =
        trail(&["export", "--data", &data, "--format", "harness", "--out", out.to_str().unwrap()]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists; refusing to overwrite it"), "{}", again.stderr);
}

#[test]
fn export_harness_round_trip_keeps_the_original_hashes() {
    let (tmp, data) = init();
    // With scanning off nothing is redacted, so every event goes out exactly as it came in.
    let cfg = Path::new(&data).join("trail.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replacen("[scan]\n", "[scan]\npii = \"off\"\nsecrets = \"off\"\n", 1),
    )
    .unwrap();
    import_json(&data, "harness", HARNESS);
    let out = tmp.path().join("rt");
    let r =
        trail(&["export", "--data", &data, "--format", "harness", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let hashes = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["hash"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        hashes(&out.join("audit-fixture-session.jsonl")),
        hashes(Path::new(&fixture(HARNESS)))
    );
}

#[test]
fn export_unknown_format_is_an_error() {
    let (_tmp, data) = init();
    let r = trail(&["export", "--data", &data, "--format", "xml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("invalid value 'xml' for '--format"), "{}", r.stderr);
    assert!(
        r.stderr.contains("possible values: jsonl, json, csv, harness, ocsf, cef"),
        "{}",
        r.stderr
    );
    let r = trail(&["export", "--data", &data, "--format", "harness"]);
    assert!(r.stderr.contains("give --out DIR"), "{}", r.stderr);
}

/// Replaces the `[audit]` table of the data directory's trail.toml with `section`.
fn append_config(data: &str, section: &str) {
    let path = Path::new(data).join("trail.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut kept = String::new();
    let mut in_audit = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_audit = line.trim() == "[audit]";
        }
        if !in_audit {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept.push_str(section);
    std::fs::write(&path, kept).unwrap();
}

fn log_line(data: &str, line: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["log", "--data", data, "--json"])
        .env_remove("TRAIL_DATA")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[test]
fn a_harness_audit_section_is_honoured_and_unknown_keys_are_named() {
    let (_tmp, data) = init();
    // Harness's [audit] table as its users have it, plus denkeeper's keys and one neither knows.
    append_config(
        &data,
        "\n[audit]\nenabled = true\nscan_pii = true\nretention_days = 90\n\
         retention_max_size_mb = 0\nlog_tool_args = false\nbuffer_size = 500\n\
         cleanup_interval = \"30m\"\naudit_dir = \"/var/log/harness\"\n",
    );
    let r = log_line(
        &data,
        r#"{"id":"e1","kind":"tool_call","agent":"bot","session":"s1","action":"Bash","body":{"tool":"Bash","args":{"command":"cat ~/.ssh/id_rsa"}}}"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("ignoring [audit] key audit_dir"), "{}", r.stderr);
    let shown = trail(&["show", "--data", &data, "e1", "--json"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let v: Value = serde_json::from_str(&shown.stdout).unwrap();
    let body = v.get("body").unwrap_or_else(|| panic!("no body in {v}"));
    assert_eq!(body["tool"], "Bash", "{v}");
    assert!(body.get("args").is_none(), "log_tool_args = false must drop args: {v}");
    assert_eq!(trail(&["verify", "--data", &data]).code, 0);
}

#[test]
fn an_audit_section_that_disables_recording_refuses_events_loudly() {
    let (_tmp, data) = init();
    append_config(&data, "\n[audit]\nenabled = false\n");
    let r = log_line(&data, r#"{"kind":"tool_call","agent":"bot","session":"s1"}"#);
    assert_ne!(r.code, 0, "a disabled log must not take events silently");
    assert!(r.stderr.contains("enabled = false"), "{}", r.stderr);
    assert_eq!(size(&data), 0);
}

#[test]
fn a_bad_cleanup_interval_is_named() {
    let (_tmp, data) = init();
    append_config(&data, "\n[audit]\ncleanup_interval = \"soon\"\n");
    let r = trail(&["stats", "--data", &data]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("cleanup_interval \"soon\""), "{}", r.stderr);
}

#[test]
fn init_takes_the_audit_settings_of_a_harness_config() {
    let tmp = tempfile::tempdir().unwrap();
    let harness = tmp.path().join("config.toml");
    std::fs::write(
        &harness,
        "[agent]\nmodel = \"x\"\n[audit]\nenabled = true\nretention_days = 30\n\
         log_tool_args = false\naudit_dir = \"/var/log/h\"\n",
    )
    .unwrap();
    let data = tmp.path().join("data").to_str().unwrap().to_owned();
    let r = trail(&[
        "init",
        "--data",
        &data,
        "--origin",
        "trail.test/migrated",
        "--audit-from",
        harness.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("audit_dir"), "the unused key must be named: {}", r.stderr);
    let config = std::fs::read_to_string(Path::new(&data).join("trail.toml")).unwrap();
    assert!(config.contains("retention_days = 30"), "{config}");
    assert!(config.contains("log_tool_args = false"), "{config}");
    // Starting the log again does not warn: the unused key was not carried over.
    let again =
        log_line(&data, r#"{"kind":"tool_call","agent":"a","session":"s","body":{"args":[1]}}"#);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stderr.contains("audit_dir"), "{}", again.stderr);

    let none = tmp.path().join("none.toml");
    std::fs::write(&none, "[agent]\nmodel = \"x\"\n").unwrap();
    let other = tmp.path().join("other").to_str().unwrap().to_owned();
    let r =
        trail(&["init", "--data", &other, "--origin", "o", "--audit-from", none.to_str().unwrap()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("has no [audit] table"), "{}", r.stderr);
    assert!(!Path::new(&other).exists(), "a refused init leaves nothing behind");
}

/// Harness running unchanged (its own `AuditLogger`, from its own package) is followed as it
/// writes: every line lands once, a tampered line is reported as soon as it is appended, and a
/// restart resumes from the cursors without adding anything twice.
#[test]
fn a_harness_folder_is_followed_as_harness_writes_it() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let python = match harness_python() {
        Ok(p) => p,
        Err(why) => return skip_without_harness(&why),
    };
    let (tmp, data) = init();
    let audit = tmp.path().join("audit");
    std::fs::create_dir(&audit).unwrap();
    let follow = || {
        Command::new(env!("CARGO_BIN_EXE_trail"))
            .args(["import", "--data", &data, "--from", "harness", "--follow"])
            .arg(&audit)
            .args(["--json", "--poll-ms", "100"])
            .env_remove("TRAIL_DATA")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = follow();
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, String)>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    let write = |session: &str, n: &str| {
        let out = Command::new(&python)
            .arg(fixture("gen/harness_writes_slowly.py"))
            .arg(&audit)
            .args([session, n])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    write("s1", "30");
    write("s2", "10");
    let wait_for = |n: u64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while size(&data) < n {
            assert!(Instant::now() < deadline, "the follower stored {} of {n} events", size(&data));
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(40);
    assert!(rx.try_recv().is_err(), "a problem was reported on a good log");
    // A line appended by someone else: the last event again with a changed field, its hash kept.
    let file = audit.join("audit-s1.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let last = text.lines().last().unwrap().replacen("\"turns\":30", "\"turns\":31", 1);
    assert!(!text.ends_with(&format!("{last}\n")), "the edit changed nothing");
    let appended = Instant::now();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .and_then(|mut f| {
            use std::io::Write;
            writeln!(f, "{last}")
        })
        .unwrap();
    let (at, line) =
        rx.recv_timeout(Duration::from_secs(10)).expect("the tampered line was not reported");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["file"], "audit-s1.jsonl");
    assert_eq!(v["line"], 31);
    assert!(
        matches!(v["problem"].as_str(), Some("hash_mismatch" | "prev_hash_mismatch")),
        "{line}"
    );
    eprintln!("tampered line reported {:?} after it was appended", at - appended);
    // A line that cannot be an event, and a symlink posing as an audit file: each reported, and
    // the follower goes on (found by an outside tester: it used to stop for good).
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .and_then(|mut f| {
            use std::io::Write;
            writeln!(f, "{{}}")
        })
        .unwrap();
    std::os::unix::fs::symlink("/etc/hostname", audit.join("audit-link.jsonl")).unwrap();
    let mut codes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(codes.iter().any(|c| c == "unmappable") && codes.iter().any(|c| c == "not_a_file")) {
        let left = deadline.saturating_duration_since(Instant::now());
        let (_, line) =
            rx.recv_timeout(left).expect("the bad line and the symlink were not both reported");
        let v: Value = serde_json::from_str(&line).unwrap();
        codes.push(v["problem"].as_str().unwrap_or_default().to_owned());
    }
    assert!(child.try_wait().unwrap().is_none(), "the follower stopped");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert_eq!(child.wait().unwrap().code(), Some(1), "a reported problem exits 1");
    // A restart resumes from the cursors: a new session's lines land, nothing twice.
    let before = size(&data);
    let mut child = follow();
    write("s3", "6");
    wait_for(before + 6);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(size(&data), before + 6);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().unwrap();
    let v = trail(&["verify", "--data", &data]);
    assert_eq!(v.code, 0, "{}", v.stdout);
}
