//! `trail verify`: data directories, exports and receipts checked, and the report printed.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use serde_json::json;
use trail_core::NoteVerifier;
use trail_core::export::{self, ExportLine};
use trail_core::receipt::Receipt;
use trail_core::verify::{BodyInput, Location, Report, Verdict, Verifier, VerifyOptions};

use crate::JsonArg;
use crate::datadir::DataDir;
use crate::output::{green, red, yellow};

#[derive(Args)]
pub struct VerifyArgs {
    /// Data directory to verify (the default when no FILE is given).
    #[arg(long, env = "TRAIL_DATA", default_value = "trail-data", value_name = "DIR")]
    data: PathBuf,
    /// An export file to verify instead of a data directory.
    file: Option<PathBuf>,
    /// The log's verifier key, or a file holding it (default: the data directory's log.vkey).
    #[arg(long)]
    key: Vec<String>,
    /// A witness's cosigner key, or a file holding it (repeatable): under this policy a
    /// checkpoint counts only when --quorum of these witnesses cosigned it (for data directories,
    /// exports, tiles and receipts).
    #[arg(long, value_name = "VKEY")]
    witness: Vec<String>,
    /// How many of the --witness keys must have cosigned a checkpoint [default: all of them].
    #[arg(long, requires = "witness", value_name = "K")]
    quorum: Option<usize>,
    /// A signed checkpoint an auditor kept earlier, a file or an http(s) URL (repeatable): the
    /// log must reach and match it. A witness's latest (`URL/<sha256(origin)>/checkpoint`)
    /// catches a log cut back to an earlier witnessed checkpoint.
    #[arg(long, value_name = "FILE|URL")]
    checkpoint: Vec<String>,
    /// Check a report `trail report` wrote: unaltered (its digest), signed by the log's key (its
    /// checkpoint), and, with --tiles or a --data holding the report's log, its figures folded
    /// again from the log. Needs --key unless --data holds the log.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "receipt", "format"])]
    report: Option<PathBuf>,
    /// Verify one receipt offline instead.
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Audit a log from its C2SP tiles alone: a directory `trail export --format tiles` wrote,
    /// or a URL prefix (`http://HOST:PORT/tlog` for `trail serve`; `TRAIL_API_KEY` is sent as
    /// the bearer key). Needs --key.
    #[arg(long, value_name = "URL|DIR", conflicts_with_all = ["file", "receipt", "format"])]
    tiles: Option<String>,
    /// Verify files of another system as that system defines them.
    #[arg(long, value_parser = ["harness"])]
    format: Option<String>,
    /// More files, for --format harness.
    #[arg(requires = "format")]
    more: Vec<PathBuf>,
    /// Accept records after the last valid signed checkpoint (a live log's newest events are
    /// unsigned until its next checkpoint); they are counted and named, never called signed.
    #[arg(long)]
    allow_unsigned_tail: bool,
    #[command(flatten)]
    json: JsonArg,
}

/// Verifier keys from `flag`'s values: each a key, or a file holding one.
pub(crate) fn load_keys(keys: &[String], flag: &str) -> Result<Vec<NoteVerifier>> {
    keys.iter()
        .map(|k| {
            let text = if Path::new(k).exists() {
                fs::read_to_string(k).with_context(|| format!("cannot read key file {k}"))?
            } else {
                k.clone()
            };
            text.trim().parse::<NoteVerifier>().map_err(|e| anyhow!("{flag} {k}: {e}"))
        })
        .collect()
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    if let Some(format) = &args.format {
        let files: Vec<PathBuf> = args.file.iter().chain(args.more.iter()).cloned().collect();
        return crate::interop::verify_foreign(format, &files, args.json.json);
    }
    let mut keys = load_keys(&args.key, "--key")?;
    if let Some(k) = keys.iter().find(|k| k.is_cosigner()) {
        bail!(
            "--key {}: a witness's cosigner key; give the log's verifier key, and witnesses with --witness",
            k.name()
        );
    }
    let (witnesses, quorum) = crate::witness::policy(&args.witness, args.quorum)?;
    let policy =
        |opts: VerifyOptions| VerifyOptions { witnesses: witnesses.clone(), quorum, ..opts };
    if let Some(path) = &args.receipt {
        if keys.is_empty() {
            bail!("--receipt needs --key: a receipt is checked against the log's verifier key");
        }
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut all = keys.clone();
        all.extend(witnesses.iter().cloned());
        let result = Receipt::parse(&text)
            .and_then(|r| r.verify(&all).map(|rec| (r, rec)))
            .map_err(|e| e.to_string())
            .and_then(|(r, rec)| {
                let cosigned = r.checkpoint.note.cosigned_by(&witnesses).len();
                if cosigned < quorum {
                    return Err(format!(
                        "its checkpoint (tree size {}) carries the cosignatures of {cosigned} of the \
                         named witnesses; the policy asks for {quorum}",
                        r.checkpoint.checkpoint.size
                    ));
                }
                Ok((r, rec, cosigned))
            });
        return Ok(match result {
            Ok((r, rec, cosigned)) => {
                if args.json.json {
                    println!(
                        "{}",
                        json!({"valid": true, "index": r.index, "tree_size": r.checkpoint.checkpoint.size, "witnesses_cosigned": cosigned, "record": rec.to_value()})
                    );
                } else {
                    println!(
                        "{} receipt for event {} ({}, id {}) in {} at tree size {}{}",
                        green("valid"),
                        rec.seq,
                        rec.fields.kind,
                        rec.id,
                        rec.origin,
                        r.checkpoint.checkpoint.size,
                        if witnesses.is_empty() {
                            String::new()
                        } else {
                            format!(
                                ", cosigned by {cosigned} of {} named witnesses",
                                witnesses.len()
                            )
                        }
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                if args.json.json {
                    println!("{}", json!({"valid": false, "problem": e.to_string()}));
                } else {
                    println!("{} receipt: {e}", red("invalid"));
                }
                ExitCode::from(1)
            }
        });
    }
    if let Some(path) = &args.report {
        if keys.is_empty() {
            match DataDir::open(&args.data) {
                Ok(dir) => keys.push(dir.verifier()?),
                Err(_) => bail!(
                    "--report needs --key: a report is checked against the log's verifier key"
                ),
            }
        }
        return crate::report::verify_report(
            path,
            &keys,
            &args.data,
            args.tiles.as_deref(),
            args.json.json,
        );
    }
    if let Some(tiles) = &args.tiles {
        if keys.is_empty() {
            bail!("--tiles needs --key: a tiled log is checked against the log's verifier key");
        }
        let trusted = read_trusted(&args.checkpoint)?;
        let source = crate::tiles::TileSource::new(tiles)?;
        let opts = policy(VerifyOptions { verifiers: keys, trusted, ..VerifyOptions::default() });
        let (_, report) = crate::tiles::audit(&source, opts, args.json.json, &mut |_| {})?;
        let passed =
            print_report(&source.describe(), &report, args.json.json, args.allow_unsigned_tail);
        return Ok(if passed { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let trusted = read_trusted(&args.checkpoint)?;
    let (what, report) = match &args.file {
        Some(file) => {
            let opts = policy(VerifyOptions {
                verifiers: keys,
                origin: None,
                trusted,
                ..VerifyOptions::default()
            });
            (file.display().to_string(), verify_export_file(file, opts, args.json.json)?)
        }
        None => {
            let dir = DataDir::open(&args.data)?;
            if keys.is_empty() {
                keys.push(dir.verifier()?);
            }
            let opts = policy(VerifyOptions {
                verifiers: keys,
                origin: Some(dir.origin().to_owned()),
                trusted,
                ..VerifyOptions::default()
            });
            (
                format!("data directory {}", dir.path.display()),
                verify_data_dir(&dir, opts, args.json.json)?,
            )
        }
    };
    let passed = print_report(&what, &report, args.json.json, args.allow_unsigned_tail);
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The checkpoints an auditor kept, from `--checkpoint FILE|URL`.
fn read_trusted(args: &[String]) -> Result<Vec<String>> {
    args.iter()
        .map(|a| {
            if a.starts_with("http://") || a.starts_with("https://") {
                fetch_checkpoint(a)
            } else {
                fs::read_to_string(a).with_context(|| format!("cannot read checkpoint {a}"))
            }
        })
        .collect()
}

/// A checkpoint from a URL (a witness's `/<sha256(origin)>/checkpoint`, a log's
/// `/tlog/checkpoint`), at most 64 KiB of it.
fn fetch_checkpoint(url: &str) -> Result<String> {
    let client = trail_server::listen::client_builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let fetch = async move {
        let mut resp =
            client.get(url).send().await.with_context(|| format!("cannot fetch {url}"))?;
        if !resp.status().is_success() {
            bail!("{url}: {}", resp.status());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.with_context(|| format!("cannot read {url}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > 64 << 10 {
                bail!("{url}: more than 64 KiB, not a checkpoint");
            }
        }
        String::from_utf8(body).map_err(|_| anyhow!("{url}: not UTF-8"))
    };
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fetch))
}

/// What kind of file an export is, from its first bytes.
enum ExportKind {
    /// trail's JSON Lines export (or a file log): verified line by line.
    JsonLines,
    /// `trail export --format json`: one document, verified after it is read whole.
    JsonDocument,
    /// An export for reading, which cannot be verified (the format's name, and what to do).
    ForReading(&'static str, &'static str),
}

fn export_kind(path: &Path) -> Result<ExportKind> {
    use std::io::Read;
    let mut head = Vec::new();
    File::open(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .take(4096)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8_lossy(&head);
    let first = text.trim_start();
    let verify_jsonl = "verify trail's own export instead (`trail export --out FILE`, JSON Lines)";
    Ok(if first.starts_with("{\"format\":\"trail.json\"") {
        ExportKind::JsonDocument
    } else if first.starts_with("seq,time,") {
        ExportKind::ForReading(
            "a CSV export (`--format csv` or `trail query --format csv`)",
            verify_jsonl,
        )
    } else if first.starts_with("CEF:") {
        ExportKind::ForReading("an ArcSight CEF export (`--format cef`)", verify_jsonl)
    } else if first.starts_with('{')
        && first.contains("\"class_uid\"")
        && !first.starts_with("{\"record\"")
    {
        ExportKind::ForReading("an OCSF export (`--format ocsf`)", verify_jsonl)
    } else if first.starts_with("{\"event_id\"") && first.contains("\"prev_hash\"") {
        ExportKind::ForReading(
            "a Harness audit file",
            "check it as Harness defines it with `trail verify --format harness FILE`",
        )
    } else {
        ExportKind::JsonLines
    })
}

/// Verifies an export file: trail's JSON Lines line by line, or a JSON document; the formats
/// made for reading are named and refused.
pub fn verify_export_file(path: &Path, opts: VerifyOptions, json_out: bool) -> Result<Report> {
    match export_kind(path)? {
        ExportKind::JsonLines => {}
        ExportKind::JsonDocument => return verify_json_document(path, opts),
        ExportKind::ForReading(what, instead) => bail!(
            "{} is {what}, which cannot be verified: it is made for reading and does not carry \
             everything the proofs need; {instead}",
            path.display()
        ),
    }
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bar =
        crate::output::progress(f.metadata().ok().map(|m| m.len()), "verifying (bytes)", json_out);
    let mut v = Verifier::new(opts);
    let mut reader = BufReader::with_capacity(1 << 20, f);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        let at = Location::line(line_no);
        if buf.last() != Some(&b'\n') {
            v.problem(
                at,
                "torn_line",
                "the last line is incomplete (no newline): the file was cut mid-write",
            );
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            v.problem(at, "bad_line", "line is not UTF-8");
            continue;
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            continue;
        }
        match export::parse_line(text) {
            Ok(ExportLine::Record { canonical, hash, body }) => {
                let body = match &body {
                    Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                    None => BodyInput::Absent,
                };
                v.record(at, &canonical, hash, body);
            }
            Ok(ExportLine::Checkpoint(note)) => v.checkpoint(at, &note),
            Ok(ExportLine::Anchor(a)) => v.anchor(at, &a),
            Err(e) => v.problem(at, "bad_line", e.to_string()),
        }
    }
    Ok(v.finish())
}

/// Verifies `trail export --format json`: each element of `records` is a line of the JSON Lines
/// export; the checkpoints (all at the end of the document) are fed after the record each one
/// ends at, as the JSON Lines export places them.
fn verify_json_document(path: &Path, opts: VerifyOptions) -> Result<Report> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a whole JSON document", path.display()))?;
    let mut v = Verifier::new(opts);
    let mut cps: Vec<String> = doc["checkpoints"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let size_of =
        |note: &str| trail_core::SignedCheckpoint::parse(note).map_or(0, |c| c.checkpoint.size);
    cps.sort_by_key(|c| size_of(c));
    let mut cps = cps.into_iter().peekable();
    if let Some(anchor) = doc.get("anchor").filter(|a| !a.is_null()) {
        match serde_json::from_value::<trail_core::verify::Anchor>(anchor.clone()) {
            Ok(a) => {
                while let Some(cp) = cps.next_if(|c| size_of(c) <= a.size) {
                    v.checkpoint(Location::default(), &cp);
                }
                v.anchor(Location::default(), &a);
            }
            Err(e) => v.problem(Location::default(), "bad_anchor", format!("anchor: {e}")),
        }
    }
    let records = doc["records"].as_array().cloned().unwrap_or_default();
    for (i, item) in records.iter().enumerate() {
        let at = Location { line: None, seq: None };
        match export::parse_line(&item.to_string()) {
            Ok(ExportLine::Record { canonical, hash, body }) => {
                let body = match &body {
                    Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                    None => BodyInput::Absent,
                };
                v.record(at, &canonical, hash, body);
                let size = trail_core::Record::from_canonical(&canonical).map_or(0, |r| r.seq + 1);
                while let Some(cp) = cps.next_if(|c| size_of(c) <= size) {
                    v.checkpoint(at, &cp);
                }
            }
            Ok(_) => v.problem(at, "bad_line", format!("records[{i}] is not a record")),
            Err(e) => v.problem(at, "bad_line", format!("records[{i}]: {e}")),
        }
    }
    for cp in cps {
        v.checkpoint(Location::default(), &cp);
    }
    Ok(v.finish())
}

/// Verifies a data directory through its store (a file log is verified as the file it is).
pub fn verify_data_dir(dir: &DataDir, opts: VerifyOptions, json_out: bool) -> Result<Report> {
    if dir.config.log.store == "files" {
        let mut report =
            verify_export_file(&dir.path.join(trail_store::file::LOG_FILE), opts, json_out)?;
        // The file is the export format itself; the tree nodes proofs use are kept beside it.
        if let Ok(store) = dir.store() {
            store.check_derived(&mut |m| {
                report.problems.push(trail_core::verify::Problem {
                    at: Location { line: None, seq: m.seq },
                    code: "index_mismatch",
                    message: format!("{}: {}", m.table, m.message),
                });
            })?;
        }
        return Ok(report);
    }
    let store = dir.store()?;
    let size = store.state()?.size - store.start()?;
    let bar = crate::output::progress(Some(size), "verifying", json_out);
    Ok(trail_store::verify_store(&*store, opts, &mut |_| bar.inc(1))?)
}

/// Prints a verification report; returns whether the verification passed (exit 0).
///
/// Passing means no problem and every record covered by a checkpoint whose signature was
/// checked. With `allow_unsigned_tail`, records after the last valid checkpoint are accepted (a
/// live log's newest records are unsigned until its next checkpoint), as long as some
/// checkpoint covers the records before them.
pub(super) fn print_report(what: &str, r: &Report, json: bool, allow_unsigned_tail: bool) -> bool {
    let verdict = r.verdict();
    let tail_accepted = allow_unsigned_tail
        && verdict == Verdict::UnsignedRecords
        && (r.verified_size > r.anchor.unwrap_or(0) || r.anchor.is_some());
    let passed = verdict == Verdict::Intact || tail_accepted;
    if json {
        println!(
            "{}",
            serde_json::to_string(&json!({
                "target": what,
                "verdict": verdict,
                "passed": passed,
                "intact": verdict == Verdict::Intact,
                "signed_records": r.signed_records(),
                "unsigned_records": r.unsigned_tail,
                "report": r
            }))
            .unwrap_or_default()
        );
        return passed;
    }
    println!("Verified {what}");
    if let Some(o) = &r.origin {
        println!("Log: {o}");
    }
    match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => println!("Records at {}:", crate::output::seq_range(a, b)),
        _ => println!("No records found."),
    }
    let bad_records =
        r.problems.iter().filter_map(|p| p.at.seq).collect::<std::collections::BTreeSet<_>>().len()
            as u64;
    println!("  {}/{} records consistent", r.records.saturating_sub(bad_records), r.records);
    println!(
        "  {} covered by a valid signed checkpoint, {} not (verified tree size {})",
        r.signed_records(),
        r.unsigned_tail,
        r.verified_size
    );
    println!(
        "  {} of {} valid",
        crate::output::count(r.checkpoints_valid, "checkpoint"),
        r.checkpoints_checked
    );
    if let Some(p) = r.witness_policy {
        println!(
            "  witness policy: {} of {} named witnesses; {} met it, {} did not",
            p.quorum,
            p.witnesses,
            crate::output::count(r.checkpoints_valid - r.checkpoints_unwitnessed, "checkpoint"),
            r.checkpoints_unwitnessed
        );
    }
    if r.bodies_withheld > 0 {
        println!(
            "  {} not in the input (tiles carry records, never bodies)",
            crate::output::count(r.bodies_withheld, "body")
        );
    } else {
        println!(
            "  {} checked, {} erased",
            crate::output::count(r.bodies_checked, "body"),
            r.bodies_erased
        );
    }
    for n in &r.notes {
        println!("{} {n}", yellow("note:"));
    }
    match verdict {
        Verdict::Intact => println!("{}", green("log is intact")),
        Verdict::UnsignedRecords if tail_accepted => println!(
            "{} up to tree size {}; the last {} not yet signed (accepted with \
             --allow-unsigned-tail: a live log's newest events are unsigned until its next \
             checkpoint)",
            green("log is intact"),
            r.verified_size,
            crate::output::count(r.unsigned_tail, "record"),
        ),
        Verdict::UnsignedRecords => {
            let none = r.signed_records() == 0;
            println!(
                "{} {} covered by no valid signed checkpoint{}{}: anyone who can write the log \
                 could have written or rewritten {}",
                red("NOT VERIFIED:"),
                if none {
                    format!("all {}", crate::output::count(r.unsigned_tail, "record"))
                } else {
                    format!(
                        "the last {} (after tree size {})",
                        crate::output::count(r.unsigned_tail, "record"),
                        r.verified_size
                    )
                },
                match r.witness_policy {
                    Some(p) =>
                        format!(" cosigned by {} of the {} named witnesses", p.quorum, p.witnesses),
                    None => String::new(),
                },
                match (none, r.witness_policy) {
                    (true, Some(_)) => " (no checkpoint met the witness policy)",
                    (true, None) => " (no valid checkpoint at all)",
                    (false, _) => "",
                },
                if r.unsigned_tail == 1 { "it" } else { "them" }
            );
            if none {
                println!(
                    "  a log is proven only by its signed checkpoints; this one has none that hold"
                );
            } else {
                println!(
                    "  sign them (`trail checkpoint`, or wait for the next checkpoint) and verify \
                     again, or pass --allow-unsigned-tail to accept a live log's unsigned newest \
                     records"
                );
            }
        }
        Verdict::Empty => {
            println!("{} the log holds no record: there is nothing to verify", red("NOT VERIFIED:"))
        }
        Verdict::NoKey => println!(
            "{} no signature was checked: give the log's verifier key (--key KEY or FILE); \
             without it a rewritten log verifies just as well",
            red("NOT VERIFIED:")
        ),
        Verdict::Problems => print_problems(r),
    }
    passed
}

/// The first divergence in full, then what follows it, one line per kind of problem.
fn print_problems(r: &Report) {
    let total = r.problem_count();
    println!("{}", red(&format!("{} found:", crate::output::count(total, "problem"))));
    let place = |p: &trail_core::verify::Problem| {
        let mut loc = Vec::new();
        if let Some(s) = p.at.seq {
            loc.push(format!("seq {s}"));
        }
        if let Some(l) = p.at.line {
            loc.push(format!("line {l}"));
        }
        if loc.is_empty() { "log".to_owned() } else { loc.join(", ") }
    };
    let mut sorted: Vec<&trail_core::verify::Problem> = r.problems.iter().collect();
    sorted.sort_by_key(|p| (p.at.seq.or(p.at.line).unwrap_or(u64::MAX), p.at.line));
    let Some(first) = sorted.first() else { return };
    println!("  first: {}: {}: {}", place(first), first.code, first.message);
    // The rest grouped by kind, in the order each kind first appears.
    let mut groups: Vec<(&str, Vec<&trail_core::verify::Problem>)> = Vec::new();
    for p in &sorted[1..] {
        match groups.iter_mut().find(|(c, _)| *c == p.code) {
            Some((_, v)) => v.push(p),
            None => groups.push((p.code, vec![p])),
        }
    }
    if groups.is_empty() {
        return;
    }
    println!("  after it:");
    for (code, list) in groups {
        let p = list[0];
        if list.len() == 1 {
            println!("    {}: {code}: {}", place(p), p.message);
        } else {
            let last = list[list.len() - 1];
            println!(
                "    {} {code} ({} to {}), the first: {}",
                list.len(),
                place(p),
                place(last),
                p.message
            );
        }
    }
    if r.problems_not_listed > 0 {
        println!("    ... and {} more not listed", r.problems_not_listed);
    }
    println!("  (--json lists every problem)");
}
