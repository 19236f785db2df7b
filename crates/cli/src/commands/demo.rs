//! `trail demo`: a sample log made, recorded, proved and verified in one run.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use trail_core::Event;
use trail_core::verify::VerifyOptions;

use super::open_recorder;
use super::proof::receipt;
use super::verify::{print_report, verify_data_dir};
use crate::datadir::DataDir;

/// Events the demo records.
const DEMO_EVENTS: u64 = 6;

/// What the demo writes into its directory, and so all it may remove when run again.
const DEMO_RECEIPT: &str = "receipt-3.tlog-proof";
const DEMO_FILES: [&str; 9] = [
    crate::datadir::CONFIG_FILE,
    crate::datadir::KEY_FILE,
    crate::datadir::VKEY_FILE,
    crate::datadir::SQLITE_FILE,
    "trail.db-wal",
    "trail.db-shm",
    "trail.db-appends",
    crate::datadir::LOCK_FILE,
    DEMO_RECEIPT,
];

/// Running the demo again replaces its own earlier log, file by file, and nothing else: a
/// directory that holds anything the demo did not write is refused, and is never removed.
fn remove_earlier_demo(path: &Path, origin: &str) -> Result<()> {
    let Ok(entries) = fs::read_dir(path) else {
        return Ok(()); // nothing there yet (or unreadable: init says why)
    };
    let names: Vec<String> = entries
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", path.display()))?;
    if names.is_empty() {
        return Ok(());
    }
    // An earlier demo: the demo's origin, its receipt, and exactly the events it records (a
    // log someone went on writing to, or made with the demo's name, is theirs).
    let is_demo = path.join(crate::datadir::CONFIG_FILE).is_file()
        && path.join(DEMO_RECEIPT).is_file()
        && DataDir::open(path).is_ok_and(|old| {
            old.origin() == origin
                && old.store().and_then(|s| Ok(s.state()?.size)).is_ok_and(|n| n == DEMO_EVENTS)
        });
    if !is_demo {
        bail!(
            "{} exists and is not an earlier trail demo left as the demo wrote it; the demo \
             writes only into a new or empty directory: choose another --data",
            path.display()
        );
    }
    let foreign: Vec<&String> =
        names.iter().filter(|n| !DEMO_FILES.contains(&n.as_str())).collect();
    if let Some(first) = foreign.first() {
        bail!(
            "{} holds an earlier demo and {} the demo did not write ({first}{}); nothing was \
             removed: move {} or choose another --data",
            path.display(),
            crate::output::count(foreign.len() as u64, "file"),
            if foreign.len() > 1 { ", ..." } else { "" },
            if foreign.len() == 1 { "it" } else { "them" }
        );
    }
    for name in &names {
        let p = path.join(name);
        match fs::remove_file(&p) {
            // SQLite removes its write-ahead log when the last connection closes.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other.with_context(|| format!("cannot remove {}", p.display()))?,
        }
    }
    Ok(())
}

pub async fn demo(path: &Path, json_out: bool) -> Result<ExitCode> {
    // With --json only the verification report is printed, as `trail verify --json` prints it.
    macro_rules! say {
        ($($t:tt)*) => { if !json_out { println!($($t)*); } };
    }
    let origin = "trail.demo/agent";
    remove_earlier_demo(path, origin)?;
    let (dir, _) =
        DataDir::init(path, origin, "sqlite", crate::datadir::AuditConfig::default(), "commit")?;
    say!("1. created log {origin} in {}", dir.path.display());
    let recorder = open_recorder(&dir, dir.store()?)?;
    let aws = format!("AKIA{}", "Z7Q3VN4XK2LMB5TP");
    let events = [
        json!({"kind": "session_start", "agent": "support-bot", "session": "demo-1", "actor": "user-42", "status": "ok"}),
        json!({"kind": "llm_call", "agent": "support-bot", "session": "demo-1", "action": "chat", "status": "ok", "duration_ms": 840,
               "usage": {"input_tokens": 1800, "output_tokens": 450, "cost_usd": 0.0125, "model": "gpt-4o"},
               "body": {"prompt": "Customer jane.doe@example.com asks why her order is late"}}),
        json!({"kind": "tool_call", "agent": "support-bot", "session": "demo-1", "action": "Bash", "status": "ok", "duration_ms": 12,
               "body": {"args": {"command": format!("aws s3 ls --access-key {aws}")}}}),
        json!({"kind": "permission_decision", "agent": "support-bot", "session": "demo-1", "action": "Write", "status": "denied",
               "body": {"reason": "writes outside the workspace are not allowed", "path": "/etc/hosts"}}),
        json!({"kind": "tool_result", "agent": "support-bot", "session": "demo-1", "action": "Read", "status": "ok",
               "body": {"result": "order 1182 shipped on Monday"}}),
        json!({"kind": "session_end", "agent": "support-bot", "session": "demo-1", "status": "ok"}),
    ];
    for e in events {
        let a = recorder.record(Event::from_value(e)?).await.map_err(|e| anyhow!("{e}"))?;
        say!("   appended seq {} hash {}", a.seq, a.hash);
    }
    recorder.close().await.map_err(|e| anyhow!("{e}"))?;
    let store = dir.store()?;
    let tool = store.get(2)?.ok_or_else(|| anyhow!("seq 2 missing"))?;
    let body = tool
        .body
        .as_ref()
        .map(|b| String::from_utf8_lossy(&b.canonical).into_owned())
        .unwrap_or_default();
    say!("2. the AWS key in the tool call was redacted before hashing: {body}");
    let llm = store.get(1)?.ok_or_else(|| anyhow!("seq 1 missing"))?;
    say!(
        "   the e-mail address in the prompt was detected: {:?}",
        llm.record.findings.iter().map(|f| format!("{} at {}", f.kind, f.path)).collect::<Vec<_>>()
    );
    let cp = store.latest_checkpoint()?.ok_or_else(|| anyhow!("no checkpoint"))?;
    say!("3. signed checkpoint:\n{cp}");
    let receipt_path = dir.path.join(DEMO_RECEIPT);
    fs::write(&receipt_path, receipt(&*store, 3, &cp)?.to_text())?;
    say!("4. receipt for the denied write saved to {}", receipt_path.display());
    let opts = VerifyOptions {
        verifiers: vec![dir.verifier()?],
        origin: Some(origin.into()),
        ..VerifyOptions::default()
    };
    let report = verify_data_dir(&dir, opts, true)?;
    say!("5. trail verify --data {}:", dir.path.display());
    let passed =
        print_report(&format!("data directory {}", dir.path.display()), &report, json_out, false);
    say!(
        "\nNext: trail sessions --data {0}; trail query --data {0} --status denied; trail verify --receipt {1} --key {0}/log.vkey",
        dir.path.display(),
        receipt_path.display()
    );
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
