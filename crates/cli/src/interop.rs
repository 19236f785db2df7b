//! `trail import`, `trail export --format csv|json|harness|ocsf|cef` and `trail verify --format
//! harness`: glue between the command line and `trail-interop`, which holds the formats.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use serde_json::json;
use trail_core::Event;
use trail_ingest::{Appended, RecordError, Recorder};
use trail_interop::export::{self, Format, HarnessWriter, Item, JsonDocument};
use trail_interop::harness::{self, HarnessVerdict};
use trail_interop::{ImportBatch, System};
use trail_store::Store;

use crate::commands::open_recorder;
use crate::datadir::DataDir;
use crate::output::{green, red, yellow};
use crate::{DataArg, JsonArg};

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The system that wrote the files.
    #[arg(long, value_parser = ["harness", "agenticapi", "denkeeper", "ag2"])]
    pub from: String,
    /// Files or databases to import: Harness `audit-<session>.jsonl`, an AgenticAPI or denkeeper
    /// SQLite database, an AG2 `audit.jsonl`. With --follow: Harness's audit directory.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Harness only: follow the audit directory as Harness writes it (until interrupted): each
    /// new line checked against its file's chain, recorded once, a problem reported at once; a
    /// cursor per file in the data directory resumes a restart where the last run stopped. Exit 1
    /// if any problem was reported.
    #[arg(long)]
    pub follow: bool,
    /// How often --follow looks for new lines.
    #[arg(long, default_value_t = 200, value_name = "MS", requires = "follow")]
    pub poll_ms: u64,
    #[command(flatten)]
    pub json: JsonArg,
}

/// Reads every file completely first (a bad line or row stops the command before anything is
/// recorded), then records the events through the recorder, so scanning and redaction apply.
/// Ids come from the sources, so importing the same file again adds nothing.
pub async fn import(args: ImportArgs) -> Result<ExitCode> {
    let system: System = args.from.parse().map_err(|e| anyhow!("--from: {e}"))?;
    if args.follow {
        if system != System::Harness {
            bail!(
                "--follow reads Harness's audit directory as it is written: use it with --from harness"
            );
        }
        let [dir] = args.paths.as_slice() else {
            bail!("--follow takes one directory (Harness's audit folder)");
        };
        return crate::follow::follow_harness(&args.data.data, dir, args.poll_ms, args.json.json)
            .await;
    }
    let dir = DataDir::open(&args.data.data)?;
    let batches = args
        .paths
        .iter()
        .map(|p| trail_interop::read(system, p))
        .collect::<Result<Vec<ImportBatch>, _>>()?;
    let writer = crate::writer::Writer::wait(&dir)?;
    let recorder = open_recorder(&dir, writer.store.clone())?;
    let mut reports = Vec::new();
    let mut failure = None;
    for batch in &batches {
        // Before anything of this file is recorded: ids that already name a different event.
        let clashes = clashing_ids(recorder.store().as_ref(), &batch.events)?;
        if let Some(first) = clashes.first() {
            failure = Some(format!(
                "{}: nothing imported: {} id{} already name{} a different event in this log, e.g. {first} \
                 (another {} source with the same ids? import it into a log of its own)",
                batch.path.display(),
                clashes.len(),
                if clashes.len() == 1 { "" } else { "s" },
                if clashes.len() == 1 { "s" } else { "" },
                batch.system,
            ));
            break;
        }
        let (added, existing, error) = record_all(&recorder, batch.events.clone()).await;
        reports.push((batch, added, existing));
        if let Some(e) = error {
            failure = Some(format!("{}: {e}", batch.path.display()));
            break;
        }
    }
    let closed = recorder.close().await;
    for (batch, added, existing) in &reports {
        if args.json.json {
            println!(
                "{}",
                json!({
                    "file": batch.path, "from": batch.system, "items": batch.items,
                    "events": batch.events.len(), "added": added, "already_present": existing,
                    "chain_valid": batch.chain_valid, "problems": batch.problems, "notes": batch.notes,
                })
            );
            continue;
        }
        let chain = match batch.chain_valid {
            Some(true) => green("chain valid (checked as Harness defines it)"),
            Some(false) => red(&format!(
                "chain INVALID: {} problem{} (recorded in the import event; see `trail verify --format harness`)",
                batch.problems.len(),
                if batch.problems.len() == 1 { "" } else { "s" }
            )),
            None => format!("no integrity data in {} to check", batch.system),
        };
        println!(
            "imported {} ({}): {} item{}, {} event{} added, {} already in the log; {chain}",
            batch.path.display(),
            batch.system,
            batch.items,
            if batch.items == 1 { "" } else { "s" },
            added,
            if *added == 1 { "" } else { "s" },
            existing,
        );
        for n in &batch.notes {
            println!("  {} {n}", yellow("note:"));
        }
    }
    if let Some(f) = failure {
        eprintln!("trail: {f}");
        return Ok(ExitCode::from(1));
    }
    closed.map_err(|e| anyhow!("final checkpoint: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Ids of `events` that the log already holds for a different event (other time or record
/// fields; bodies are not compared, as stored ones may be redacted): re-importing the same source matches exactly, a different source with the same ids
/// (two denkeeper databases both start at id 1) does not, and must not pass silently.
pub(crate) fn clashing_ids(store: &dyn Store, events: &[Event]) -> Result<Vec<String>> {
    let mut clashes = Vec::new();
    for chunk in events.chunks(500) {
        let ids: Vec<&str> = chunk.iter().filter_map(|e| e.id.as_deref()).collect();
        let found = store.find_ids(&ids)?;
        for e in chunk {
            let Some(r) = found.iter().find(|r| Some(r.record.id.as_str()) == e.id.as_deref())
            else {
                continue;
            };
            // The import event is dated when it was first recorded and its counts may differ.
            let same_time = e.time.is_none_or(|t| t == r.record.time);
            let same_fields = if e.fields.kind == "trail.import" {
                r.record.fields.kind == e.fields.kind
            } else {
                r.record.fields == e.fields
            };
            if !same_time || !same_fields {
                clashes.push(r.record.id.clone());
            }
        }
    }
    Ok(clashes)
}

type Ack = std::pin::Pin<Box<dyn Future<Output = Result<Appended, RecordError>> + Send>>;

/// Records events in order, keeping the queue full; returns (added, already present, error).
async fn record_all(recorder: &Recorder, events: Vec<Event>) -> (u64, u64, Option<String>) {
    let (mut added, mut existing) = (0u64, 0u64);
    let mut pending: Vec<Ack> = Vec::new();
    let mut error = None;
    async fn drain(
        pending: &mut Vec<Ack>,
        added: &mut u64,
        existing: &mut u64,
        error: &mut Option<String>,
    ) {
        for fut in pending.drain(..) {
            match fut.await {
                Ok(a) if a.created => *added += 1,
                Ok(_) => *existing += 1,
                Err(e) => {
                    if error.is_none() {
                        *error = Some(e.to_string());
                    }
                }
            }
        }
    }
    for event in events {
        let id = event.id.clone().unwrap_or_default();
        match recorder.enqueue(event).await {
            Ok(fut) => pending.push(Box::pin(fut)),
            Err(e) => {
                error = Some(format!("event {id}: {e}"));
                break;
            }
        }
        if pending.len() >= 4096 {
            drain(&mut pending, &mut added, &mut existing, &mut error).await;
        }
        if error.is_some() {
            break;
        }
    }
    drain(&mut pending, &mut added, &mut existing, &mut error).await;
    (added, existing, error)
}

/// `trail export --format csv|json|harness|ocsf|cef`. A reader that stops early (`| head`)
/// ends the export quietly, as other Unix tools do.
pub fn export(data: &Path, format: &str, out: Option<&Path>, json_out: bool) -> Result<ExitCode> {
    match export_to(data, format, out, json_out) {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

fn export_to(data: &Path, format: &str, out: Option<&Path>, json_out: bool) -> Result<ExitCode> {
    let format: Format = format.parse().map_err(|e: String| anyhow!(e))?;
    let dir = DataDir::open(data)?;
    let store = dir.store()?;
    let origin = dir.origin().to_owned();
    if format == Format::Harness {
        let Some(out) = out else {
            bail!("--format harness writes one audit-<session>.jsonl per session: give --out DIR");
        };
        let mut writer = HarnessWriter::new(out)?;
        let n = scan(&*store, |item| writer.write(item).map_err(|e| anyhow!(e)))?;
        let files = writer.finish()?;
        eprintln!(
            "exported {} as {} Harness file{} into {}",
            crate::output::count(n, "record"),
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            out.display()
        );
        for f in &files {
            eprintln!(
                "  {}: {}, last hash {}",
                f.path.display(),
                crate::output::count(f.events, "event"),
                f.last_hash
            );
        }
        eprintln!(
            "note: Harness files carry no key; keep the last hashes above (or a trail checkpoint) to detect a later truncation"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut w: Box<dyn Write> = match out {
        Some(p) => Box::new(BufWriter::new(crate::output::create_new(p)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let n = match format {
        Format::Csv => {
            w.write_all(export::csv_header().as_bytes())?;
            scan(&*store, |item| Ok(w.write_all(export::csv_row(item).as_bytes())?))?
        }
        Format::Ocsf => scan(&*store, |item| Ok(writeln!(w, "{}", export::ocsf(item, &origin))?))?,
        Format::Cef => scan(&*store, |item| Ok(writeln!(w, "{}", export::cef(item, &origin))?))?,
        Format::Json => {
            let anchor = store.anchor()?.map(serde_json::to_value).transpose()?;
            let mut doc = JsonDocument::start(&mut w, &origin, anchor)?;
            let n = scan(&*store, |item| Ok(doc.record(item)?))?;
            let cps: Vec<String> = store.checkpoints()?.iter().map(ToString::to_string).collect();
            doc.finish(&cps)?;
            n
        }
        Format::Harness => 0,
    };
    w.flush()?;
    if let Some(p) = out {
        if json_out {
            println!(
                "{}",
                serde_json::json!({"format": format!("{format:?}").to_lowercase(), "out": p, "records": n})
            );
        } else {
            eprintln!("exported {} to {}", crate::output::count(n, "record"), p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Visits every stored record in seq order; returns how many.
fn scan(store: &dyn Store, mut visit: impl FnMut(&Item<'_>) -> Result<()>) -> Result<u64> {
    let start = store.start()?;
    let mut n = 0u64;
    let mut failed = None;
    store.scan(start, u64::MAX, &mut |r| {
        let item = Item {
            record: &r.record,
            canonical: &r.canonical,
            hash: &r.hash,
            body: r.body.as_ref(),
        };
        match visit(&item) {
            Ok(()) => {
                n += 1;
                Ok(true)
            }
            Err(e) => {
                failed = Some(e);
                Ok(false)
            }
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

/// `trail verify --format harness FILE...`: exit 0 all intact, 1 problems, 2 a file unreadable.
pub fn verify_foreign(format: &str, files: &[PathBuf], json_out: bool) -> Result<ExitCode> {
    if format != "harness" {
        bail!(
            "verify --format {format:?} is not supported: use harness (or no --format for trail logs)"
        );
    }
    if files.is_empty() {
        bail!(
            "give the Harness files to check: trail verify --format harness audit-<session>.jsonl..."
        );
    }
    let mut unreadable = false;
    let mut intact = true;
    let mut reports = Vec::new();
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                unreadable = true;
                if json_out {
                    reports.push(json!({"file": path, "error": format!("cannot read: {e}")}));
                } else {
                    println!("{} {}: cannot read: {e}", red("error"), path.display());
                }
                continue;
            }
        };
        let name = path.file_name().and_then(|n| n.to_str());
        let v = harness::verify(&bytes, name);
        intact &= v.is_valid();
        if json_out {
            reports.push(json!({
                "file": path, "intact": v.is_valid(), "lines": v.lines, "events": v.events,
                "sessions": v.sessions, "problems": v.problems, "notes": v.notes,
                "harness_verdict": v.harness,
            }));
            continue;
        }
        println!(
            "Verified Harness log {} (SHA-256 chain as Harness's AuditLogger.verify_chain defines it)",
            path.display()
        );
        println!(
            "{} line{}, {} event{}, session{}: {}",
            v.lines,
            if v.lines == 1 { "" } else { "s" },
            v.events,
            if v.events == 1 { "" } else { "s" },
            if v.sessions.len() == 1 { "" } else { "s" },
            if v.sessions.is_empty() { "none".to_owned() } else { v.sessions.join(", ") }
        );
        let bad: BTreeSet<u64> = v.problems.iter().map(|p| p.line).collect();
        println!("{}/{} events valid", v.events.saturating_sub(bad.len() as u64), v.events);
        for n in &v.notes {
            println!("{} {n}", yellow("note:"));
        }
        if v.is_valid() {
            println!("{}", green("chain intact"));
        } else {
            let k = v.problems.len();
            println!("{}", red(&format!("{k} problem{} found:", if k == 1 { "" } else { "s" })));
            for p in &v.problems {
                println!("  line {}: {}: {}", p.line, p.code, p.message);
            }
        }
        println!("Harness's own verify_chain {}", describe(&v.harness));
        println!();
    }
    if json_out {
        println!(
            "{}",
            json!({"format": "harness", "intact": intact && !unreadable, "files": reports, "cannot_prove": harness::LIMITS})
        );
    } else {
        println!("{} {}", yellow("what this cannot prove:"), harness::LIMITS);
    }
    Ok(if unreadable {
        ExitCode::from(2)
    } else if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe(v: &HarnessVerdict) -> String {
    match v {
        HarnessVerdict::Answer { valid: true, .. } => "would return valid=True".to_owned(),
        HarnessVerdict::Answer { valid: false, errors } => format!(
            "would return valid=False with {} error{} (it stops at the first line that is not JSON)",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ),
        HarnessVerdict::Crash { line, exception } => {
            format!("would raise {exception} at line {line} instead of answering")
        }
        HarnessVerdict::Unknown { line, reason } => {
            format!("gives an answer this check does not reproduce ({reason} at line {line})")
        }
    }
}
