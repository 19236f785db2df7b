//! `trail report` and `trail verify --report`, on a log whose events (and so whose figures) were
//! written down here before the report code ran: the figures are checked against that list and
//! against what `trail query` says of the same log; the report of a tampered log says so in its
//! first line; Chromium renders it without console errors and prints it to PDF, whose text
//! (pdftotext) opens with the verdict; a hand edit, a forged digest and another key are refused.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use sha2::Digest;

#[path = "common/run.rs"]
mod run;
use run::{ok, trail};

#[path = "common/nodes.rs"]
#[allow(dead_code, reason = "this test uses part of the cluster helpers")]
mod nodes;

/// The known log: nine events at fixed times, three agents, three sessions.
fn events() -> String {
    let t = |min: u64| {
        let (d, m) = (2 + min / 1440, min % 1440);
        format!("2026-11-{d:02}T{:02}:{:02}:00Z", 9 + m / 60, m % 60)
    };
    [
        json!({"kind": "session_start", "agent": "planner", "session": "s1", "time": t(0), "body": {"goal": "triage"}}),
        json!({"kind": "tool_call", "agent": "planner", "session": "s1", "status": "ok", "time": t(1), "body": {"q": "open tickets"},
               "usage": {"input_tokens": 100, "output_tokens": 20, "cost_usd": 0.01, "model": "gpt-x"}}),
        json!({"kind": "tool_call", "agent": "planner", "session": "s1", "status": "denied", "action": "Write", "time": t(2), "body": {"path": "/etc/passwd"}}),
        json!({"kind": "llm_call", "agent": "coder", "session": "s2", "status": "ok", "time": t(3), "body": {"prompt": "fix it"},
               "usage": {"input_tokens": 1000, "output_tokens": 200, "cost_usd": 0.5, "model": "claude-y"}}),
        json!({"kind": "tool_result", "agent": "coder", "session": "s2", "status": "error", "time": t(4), "body": {"out": "mail jane.doe@example.com failed"}}),
        json!({"kind": "session_end", "agent": "planner", "session": "s1", "time": t(5), "body": {}}),
        json!({"kind": "session_start", "agent": "reviewer", "session": "s3", "time": t(6), "body": {}}),
        json!({"kind": "tool_call", "agent": "reviewer", "session": "s3", "status": "blocked", "time": t(180), "body": {"cmd": "rm -rf /"}}),
        json!({"kind": "tool_call", "agent": "coder", "session": "s2", "status": "ok", "time": t(1444), "body": {"cmd": "deploy"}}),
    ]
    .iter()
    .map(|e| format!("{e}\n"))
    .collect()
}

/// The data embedded in a report.
fn embedded(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"trail-report\">";
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn report(args: &[&str], out: &Path) -> (String, Value) {
    let mut all = vec!["report", "--out", out.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    ok(&trail(&all, ""));
    let html = std::fs::read_to_string(out).unwrap();
    let data = embedded(&html);
    (html, data)
}

fn known_log(dir: &Path) -> String {
    let d = dir.to_str().unwrap().to_owned();
    ok(&trail(&["init", "--data", &d, "--origin", "report.test/log"], ""));
    ok(&trail(&["log", "--data", &d], &events()));
    d
}

#[test]
fn the_report_of_a_known_log_holds_its_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let d = known_log(&tmp.path().join("data"));
    ok(&trail(&["erase", "--data", &d, "--session", "s2", "--reason", "GDPR request 9"], ""));
    ok(&trail(&["checkpoint", "--data", &d], ""));
    let (html, data) = report(&["--data", &d], &tmp.path().join("r.html"));
    let f = &data["figures"];
    assert_eq!(data["meta"]["integrity"]["verdict"], "intact");
    assert_eq!(f["events"], 10, "nine events and the erasure");
    let agent = |a: &str, k: &str| f["agents"][a][k].as_u64().unwrap();
    assert_eq!(
        (agent("planner", "events"), agent("coder", "events"), agent("reviewer", "events")),
        (4, 3, 2)
    );
    assert_eq!(
        (agent("planner", "denials"), agent("reviewer", "denials"), agent("coder", "errors")),
        (1, 1, 1)
    );
    assert_eq!(
        (f["denials"].as_u64(), f["errors"].as_u64(), f["sessions"].as_u64()),
        (Some(2), Some(1), Some(3))
    );
    assert_eq!(f["open_sessions_total"], 1);
    assert_eq!(f["open_sessions"][0]["session"], "s3");
    assert_eq!(f["gaps_total"], 2, "the reviewer's three hours and the coder's day: {}", f["gaps"]);
    assert_eq!(f["gaps"][0]["agent"], "coder");
    assert_eq!(f["gaps"][0]["minutes"], 1440);
    assert_eq!(f["days"]["2026-11-02"], 8);
    assert_eq!(f["days"]["2026-11-03"], 1);
    let usage: Vec<(String, String, u64, u64, f64)> = f["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["agent"].as_str().unwrap().into(),
                u["model"].as_str().unwrap().into(),
                u["input_tokens"].as_u64().unwrap(),
                u["output_tokens"].as_u64().unwrap(),
                u["cost_usd"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        usage,
        vec![
            ("coder".into(), "claude-y".into(), 1000, 200, 0.5),
            ("planner".into(), "gpt-x".into(), 100, 20, 0.01)
        ]
    );
    let erasure = &f["erasures"][0];
    assert_eq!(
        (erasure["reason"].as_str(), erasure["count"].as_u64(), erasure["by"].as_str()),
        (Some("GDPR request 9"), Some(3), Some("trail-cli"))
    );
    // Findings by type: what the log's own query says, summed.
    let q: Value =
        serde_json::from_str(&ok(&trail(&["query", "--data", &d, "--json", "--limit", "100"], "")))
            .unwrap();
    let mut by_type = std::collections::BTreeMap::<String, u64>::new();
    for e in q["events"].as_array().unwrap() {
        for finding in e["record"]["findings"].as_array().unwrap_or(&Vec::new()) {
            *by_type.entry(finding["type"].as_str().unwrap().into()).or_default() +=
                finding["count"].as_u64().unwrap();
        }
    }
    assert!(by_type.contains_key("email"), "{by_type:?}");
    assert_eq!(serde_json::to_value(&by_type).unwrap(), f["findings"]);
    // The values themselves never reach the report.
    assert!(!html.contains("jane.doe"), "a PII value in the report");
    // Readable: the verdict opens the document, the sections follow.
    assert!(html.contains(
        "<p class=\"verdict ok\" id=\"verdict\">INTACT: all 10 records of report.test/log"
    ));
    for section in [
        "1. Integrity",
        "2. Coverage",
        "3. Risk",
        "4. Retention",
        "5. Tokens and cost",
        "6. Which item serves which duty",
        "HIPAA 164.312(c)(2)",
        "<svg",
    ] {
        assert!(html.contains(section), "{section} missing");
    }

    // A period: only the second day's event (and the erasure, recorded today).
    let (_, data) =
        report(&["--data", &d, "--from", "2026-11-03T00:00:00Z"], &tmp.path().join("p.html"));
    assert_eq!(data["figures"]["events"], 2);
    assert_eq!(data["figures"]["outside_period"], 8);
    let bad = trail(
        &[
            "report",
            "--data",
            &d,
            "--from",
            "2026-11-03",
            "--out",
            tmp.path().join("x.html").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--from"), "names the flag");
    // Never overwrites.
    let again =
        trail(&["report", "--data", &d, "--out", tmp.path().join("r.html").to_str().unwrap()], "");
    assert_eq!(again.status.code(), Some(2));
}

fn copy_dir(from: &Path, to: &Path) {
    assert!(
        Command::new("cp")
            .args(["-r", from.to_str().unwrap(), to.to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn a_tampered_log_says_so_first_and_reports_check_against_their_log() {
    let tmp = tempfile::tempdir().unwrap();
    let d = known_log(&tmp.path().join("data"));
    ok(&trail(&["checkpoint", "--data", &d], ""));
    let fresh = tmp.path().join("fresh.html");
    let (html, _) = report(&["--data", &d], &fresh);

    // verify --report: the fresh report against its log, and alone with the key.
    let v = trail(&["verify", "--report", fresh.to_str().unwrap(), "--data", &d], "");
    assert!(
        ok(&v).contains("figures are those of the log"),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    let key = format!("{d}/log.vkey");
    // With the key alone nothing the report says can be confirmed: not verified.
    let alone = trail(
        &["verify", "--report", fresh.to_str().unwrap(), "--key", &key, "--data", "/nonexistent"],
        "",
    );
    assert_eq!(alone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&alone.stdout).contains("without the log"));

    // Edited by hand: the digest no longer matches.
    let edited = tmp.path().join("edited.html");
    std::fs::write(&edited, html.replacen("9 events in the period", "8 events in the period", 1))
        .unwrap();
    let v = trail(&["verify", "--report", edited.to_str().unwrap(), "--data", &d], "");
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains("changed after it was written"));

    // Edited with care (figures and a fresh digest): the log itself refutes it.
    let mut data = embedded(&html);
    data["figures"]["denials"] = json!(0);
    let json_text = serde_json::to_string(&data).unwrap().replace('<', "\\u003c");
    let open = "<script type=\"application/json\" id=\"trail-report\">";
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let zeros = "0".repeat(64);
    let forged = format!("{}{}{}", &html[..start], json_text, &html[end..]);
    let digest_at = forged.find("\"digest\":\"sha256:").unwrap() + 17;
    let zeroed = format!("{}{zeros}{}", &forged[..digest_at], &forged[digest_at + 64..]);
    let digest = hex::encode(sha2::Sha256::digest(zeroed.as_bytes()));
    let forged = format!("{}{digest}{}", &forged[..digest_at], &forged[digest_at + 64..]);
    let forged_path = tmp.path().join("forged.html");
    std::fs::write(&forged_path, forged).unwrap();
    let v = trail(&["verify", "--report", forged_path.to_str().unwrap(), "--data", &d], "");
    assert_eq!(v.status.code(), Some(1), "{}", String::from_utf8_lossy(&v.stdout));
    assert!(String::from_utf8_lossy(&v.stdout).contains("edited after it was written"));
    // The page rendered again from the forged data (trail's own renderer) and digested: the
    // page is consistent, the log refutes it.
    let forged: trail_report::Embedded = serde_json::from_value(data).unwrap();
    std::fs::write(&forged_path, trail_report::render(&forged.meta, &forged.figures)).unwrap();
    let v = trail(&["verify", "--report", forged_path.to_str().unwrap(), "--data", &d], "");
    assert_eq!(v.status.code(), Some(1), "{}", String::from_utf8_lossy(&v.stdout));
    assert!(String::from_utf8_lossy(&v.stdout).contains("not those of the log"));
    // A script added to the page and the digest computed again: not what the data renders.
    let scripted = redigest(&html.replacen(
        "<h2 id=\"integrity\">",
        "<script>document.body.innerHTML='All good'</script><h2 id=\"integrity\">",
        1,
    ));
    std::fs::write(&forged_path, scripted).unwrap();
    let v = trail(&["verify", "--report", forged_path.to_str().unwrap(), "--data", &d], "");
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains("edited after it was written"));

    // Another log's key: refused.
    let other = tmp.path().join("other");
    ok(&trail(&["init", "--data", other.to_str().unwrap(), "--origin", "report.test/log"], ""));
    let v = trail(
        &[
            "verify",
            "--report",
            fresh.to_str().unwrap(),
            "--key",
            &format!("{}/log.vkey", other.display()),
        ],
        "",
    );
    assert_eq!(v.status.code(), Some(1));

    // The log rewritten in its database: the report of it opens with the verdict.
    let tampered = tmp.path().join("tampered");
    copy_dir(Path::new(&d), &tampered);
    let db = rusqlite::Connection::open(tampered.join("trail.db")).unwrap();
    db.execute("UPDATE records SET canonical = CAST(replace(CAST(canonical AS TEXT), '\"planner\"', '\"plannex\"') AS BLOB) WHERE seq = 2", []).unwrap();
    drop(db);
    let bad = tmp.path().join("bad.html");
    let out = trail(
        &["report", "--data", tampered.to_str().unwrap(), "--out", bad.to_str().unwrap(), "--json"],
        "",
    );
    assert_eq!(out.status.code(), Some(1), "written, and the exit says the log is not intact");
    let html = std::fs::read_to_string(&bad).unwrap();
    let data = embedded(&html);
    assert_eq!(data["meta"]["integrity"]["verdict"], "problems");
    assert!(html.contains("<title>NOT INTACT"), "the title says it");
    assert!(
        html.contains("<p class=\"verdict bad\" id=\"verdict\">NOT INTACT"),
        "the first line says it"
    );
    // The old report no longer matches the rewritten log.
    let v = trail(
        &["verify", "--report", fresh.to_str().unwrap(), "--data", tampered.to_str().unwrap()],
        "",
    );
    assert_eq!(v.status.code(), Some(1), "{}", String::from_utf8_lossy(&v.stdout));
    assert!(String::from_utf8_lossy(&v.stdout).contains("does not verify now"));
    // Nor does a report of the tampered log, dressed up as intact with trail's own renderer.
    let mut dressed: trail_report::Embedded = serde_json::from_value(data.clone()).unwrap();
    dressed.meta.integrity.verdict = "intact".into();
    dressed.meta.integrity.problem_count = 0;
    dressed.meta.integrity.problems.clear();
    let dressed_path = tmp.path().join("dressed.html");
    std::fs::write(&dressed_path, trail_report::render(&dressed.meta, &dressed.figures)).unwrap();
    for log in [tampered.to_str().unwrap(), &d] {
        let v = trail(&["verify", "--report", dressed_path.to_str().unwrap(), "--data", log], "");
        assert_eq!(v.status.code(), Some(1), "{log}: {}", String::from_utf8_lossy(&v.stdout));
    }

    // Chromium renders both without a console error and prints them; the PDF's text opens with
    // the verdict.
    if let Some(first) = pdf_first_line(&fresh, tmp.path()) {
        assert!(first.starts_with("INTACT: all 9 records of report.test/log"), "{first}");
        let bad_first = pdf_first_line(&bad, tmp.path()).unwrap();
        assert!(bad_first.starts_with("NOT INTACT"), "{bad_first}");
    }
}

/// `html` with its digest computed again over its content, as anyone can.
fn redigest(html: &str) -> String {
    let at = html.find("\"digest\":\"sha256:").unwrap() + 17;
    let zeroed = format!("{}{}{}", &html[..at], "0".repeat(64), &html[at + 64..]);
    let digest = hex::encode(sha2::Sha256::digest(zeroed.as_bytes()));
    format!("{}{digest}{}", &html[..at], &html[at + 64..])
}

/// Prints `html` to PDF with headless Chromium and returns the first line of its text
/// (pdftotext); `None` (a loud skip) only when they are missing and `TRAIL_SKIP_BROWSER=1`.
fn pdf_first_line(html: &Path, tmp: &Path) -> Option<String> {
    let (chromium, pdftotext) = (Path::new("/usr/bin/chromium"), Path::new("/usr/bin/pdftotext"));
    if !chromium.exists() || !pdftotext.exists() {
        assert!(
            std::env::var("TRAIL_SKIP_BROWSER").is_ok_and(|v| v == "1")
                && std::env::var("CI").is_err(),
            "no /usr/bin/chromium or /usr/bin/pdftotext (apt-get install chromium poppler-utils; .ci/test does)"
        );
        eprintln!("\n*** SKIPPED: the report printed to PDF (no chromium or pdftotext) ***\n");
        return None;
    }
    let pdf = tmp.join(format!("{}.pdf", html.file_stem().unwrap().to_str().unwrap()));
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", tmp.join("chromium-profile").display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.lines().any(|l| l.contains(":CONSOLE(") || l.contains("Uncaught")),
        "console messages while rendering the report:\n{log}"
    );
    assert!(pdf.is_file(), "no PDF written:\n{log}");
    let text = Command::new(pdftotext).args([pdf.to_str().unwrap(), "-"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    Some(text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_owned())
}

#[test]
fn reports_of_tiles_and_of_postgresql_logs_hold_the_same_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let d = known_log(&tmp.path().join("data"));
    ok(&trail(&["checkpoint", "--data", &d], ""));
    let key = format!("{d}/log.vkey");
    let (_, from_data) = report(&["--data", &d], &tmp.path().join("data.html"));
    let tiles = tmp.path().join("tiles");
    ok(&trail(
        &["export", "--data", &d, "--format", "tiles", "--out", tiles.to_str().unwrap()],
        "",
    ));
    let (_, from_tiles) = report(
        &["--tiles", tiles.to_str().unwrap(), "--key", &key],
        &tmp.path().join("tiles.html"),
    );
    assert_eq!(from_tiles["meta"]["integrity"]["verdict"], "intact");
    assert_eq!(
        from_tiles["figures"], from_data["figures"],
        "tiles carry every figure of these events"
    );
    // A tile-served log, from `trail serve`'s /tlog.
    let node = nodes::start(Path::new(&d), 2000);
    let prefix = format!("{}/tlog", node.url);
    let served = tmp.path().join("served.html");
    let (_, from_served) = report(&["--tiles", &prefix, "--key", &key], &served);
    assert_eq!(from_served["figures"], from_data["figures"]);
    let v = trail(
        &["verify", "--report", served.to_str().unwrap(), "--tiles", &prefix, "--key", &key],
        "",
    );
    assert!(ok(&v).contains("figures are those of the log in tiles at"));
    drop(node);

    // The same events in PostgreSQL.
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pg = tmp.path().join("pg");
    let origin = format!("report.test/pg{}", std::process::id());
    let init =
        trail(&["init", "--data", pg.to_str().unwrap(), "--origin", &origin, "--store", &url], "");
    if !init.status.success() && std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("\n*** SKIPPED: the PostgreSQL report (no PostgreSQL at {url}) ***\n");
        return;
    }
    ok(&init);
    let p = pg.to_str().unwrap();
    ok(&trail(&["log", "--data", p], &events()));
    ok(&trail(&["checkpoint", "--data", p], ""));
    let (_, from_pg) = report(&["--data", p], &tmp.path().join("pg.html"));
    assert_eq!(from_pg["meta"]["integrity"]["verdict"], "intact");
    assert_eq!(from_pg["figures"], from_data["figures"]);
    assert!(from_pg["meta"]["source"].as_str().unwrap().contains("postgres store"));
    let schema = trail_store::postgres::schema_for_origin(&origin);
    trail_store::postgres::dangerous_drop_schema(&url, &schema).unwrap();
}

/// What a client may send must never crash a report, a verification or a summary: times
/// centuries apart, token counts and costs at the limits (beyond them the event is refused,
/// naming the field), and names that would read backwards.
#[test]
fn extreme_values_from_clients_are_reported_or_refused_never_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let d = d.to_str().unwrap();
    ok(&trail(&["init", "--data", d, "--origin", "report.test/extreme"], ""));
    let events = [
        json!({"kind": "a", "session": "s", "agent": "x\u{202e}live\u{202c}", "time": "1700-01-01T00:00:00Z"}),
        json!({"kind": "a", "session": "s", "time": "2260-01-01T00:00:00Z",
               "usage": {"input_tokens": 4_294_967_295u64, "output_tokens": 4_294_967_295u64, "cost_usd": 1e9}}),
        json!({"kind": "a", "time": "2260-01-02T00:00:00Z", "usage": {"input_tokens": 4_294_967_295u64}}),
    ];
    let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
    ok(&trail(&["log", "--data", d], &lines));
    for too_much in [
        json!({"kind": "a", "usage": {"input_tokens": 4_294_967_296u64}}),
        json!({"kind": "a", "usage": {"cost_usd": 1.7e308}}),
    ] {
        let out = trail(&["log", "--data", d], &format!("{too_much}\n"));
        assert_eq!(out.status.code(), Some(1), "{too_much}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage."), "names the field");
    }
    ok(&trail(&["checkpoint", "--data", d], ""));
    ok(&trail(&["verify", "--data", d], ""));
    ok(&trail(&["sessions", "--data", d, "--json"], ""));
    ok(&trail(&["stats", "--data", d, "--json"], ""));
    let out = tmp.path().join("r.html");
    let (html, _) = report(&["--data", d], &out);
    assert!(!html.contains('\u{202e}'), "a bidirectional override reaches the page");
    ok(&trail(&["verify", "--report", out.to_str().unwrap(), "--data", d], ""));
    let g = tmp.path().join("g.html");
    let bad = trail(
        &[
            "report",
            "--data",
            d,
            "--gap-minutes",
            "99999999999999999",
            "--out",
            g.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(bad.status.code(), Some(2));
}

/// A report made from the data directory checks against the log's tiles, and the other way
/// round, even when the log has an erasure (whose reason tiles do not carry).
#[test]
fn a_report_checks_against_either_form_of_its_log() {
    let tmp = tempfile::tempdir().unwrap();
    let d = known_log(&tmp.path().join("data"));
    ok(&trail(&["erase", "--data", &d, "--session", "s2", "--reason", "GDPR request 9"], ""));
    ok(&trail(&["checkpoint", "--data", &d], ""));
    let key = format!("{d}/log.vkey");
    let tiles = tmp.path().join("tiles");
    let t = tiles.to_str().unwrap();
    ok(&trail(&["export", "--data", &d, "--format", "tiles", "--out", t], ""));
    let from_data = tmp.path().join("data.html");
    report(&["--data", &d], &from_data);
    let from_tiles = tmp.path().join("tiles.html");
    report(&["--tiles", t, "--key", &key], &from_tiles);
    ok(&trail(
        &["verify", "--report", from_data.to_str().unwrap(), "--tiles", t, "--key", &key],
        "",
    ));
    ok(&trail(&["verify", "--report", from_tiles.to_str().unwrap(), "--data", &d], ""));
}

/// A files log edited by hand (a status changed, a line deleted) no longer opens as a store; its
/// report is still written, and says so first.
#[test]
fn a_files_log_edited_by_hand_is_reported_not_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let d = d.to_str().unwrap();
    ok(&trail(&["init", "--data", d, "--origin", "report.test/files", "--store", "files"], ""));
    ok(&trail(&["log", "--data", d], &events()));
    ok(&trail(&["checkpoint", "--data", d], ""));
    let fresh = tmp.path().join("fresh.html");
    let (_, data) = report(&["--data", d], &fresh);
    assert_eq!(data["meta"]["integrity"]["verdict"], "intact");
    assert_eq!(data["figures"]["events"], 9);
    let log = Path::new(d).join("log.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    for (name, edited) in [
        ("status", text.replacen("\"status\":\"denied\"", "\"status\":\"ok\"", 1)),
        (
            "deleted",
            text.lines()
                .enumerate()
                .filter(|(i, _)| *i != 3)
                .map(|(_, l)| format!("{l}\n"))
                .collect(),
        ),
    ] {
        assert_ne!(edited, text, "{name}: the edit changes the file");
        std::fs::write(&log, &edited).unwrap();
        let out = tmp.path().join(format!("{name}.html"));
        let r = trail(&["report", "--data", d, "--out", out.to_str().unwrap(), "--json"], "");
        assert_eq!(r.status.code(), Some(1), "{name}: {}", String::from_utf8_lossy(&r.stderr));
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(html.contains("<p class=\"verdict bad\" id=\"verdict\">NOT INTACT"), "{name}");
        std::fs::write(&log, &text).unwrap();
    }
}

/// In detect mode the log keeps a field as sent even when the scanner finds PII in it; the
/// report shows such a field as withheld, naming the type, never the value.
#[test]
fn pii_in_fields_is_withheld_from_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let d = d.to_str().unwrap();
    ok(&trail(&["init", "--data", d, "--origin", "report.test/pii"], ""));
    let e = json!({"kind": "tool_call", "agent": "alice.smith@example.com", "session": "s",
                   "status": "denied", "action": "mail bob.jones@example.org",
                   "usage": {"input_tokens": 1, "model": "carol.white@example.net"}});
    ok(&trail(&["log", "--data", d], &format!("{e}\n")));
    ok(&trail(&["checkpoint", "--data", d], ""));
    let (html, data) = report(&["--data", d], &tmp.path().join("r.html"));
    for value in ["alice.smith", "bob.jones", "carol.white"] {
        assert!(!html.contains(value), "{value} in the report");
    }
    assert!(html.contains("[email withheld]"), "the field is named as withheld");
    assert_eq!(data["figures"]["denials"], 1);
}
