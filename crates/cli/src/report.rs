//! `trail report`: the auditor's report of a log (a data directory, SQLite or PostgreSQL, or a
//! tiled log) as one self-contained HTML file; and `trail verify --report`, which tells whether
//! a report is unaltered, signed by the log's key, and (given the log) the log's own figures.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use serde_json::json;
use trail_core::verify::VerifyOptions;
use trail_core::{NoteVerifier, Record, Timestamp};
use trail_report::{Figures, Fold, Meta, Options, Retention, Span};

use crate::JsonArg;
use crate::commands::load_keys;
use crate::datadir::DataDir;
use crate::output::{green, red};
use crate::tiles::TileSource;

#[derive(Args)]
pub struct ReportArgs {
    /// The log's data directory (SQLite, files or PostgreSQL).
    #[arg(long, env = "TRAIL_DATA", default_value = "trail-data", value_name = "DIR")]
    data: PathBuf,
    /// Report on a tiled log instead: a directory `trail export --format tiles` wrote, or a URL
    /// prefix (`http://HOST:PORT/tlog`; `TRAIL_API_KEY` is sent as the bearer key).
    #[arg(long, value_name = "URL|DIR")]
    tiles: Option<String>,
    /// The period's first instant (RFC 3339); the figures cover records from it on.
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// The period's end (RFC 3339, exclusive).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// The log's verifier key, or a file holding it (default: the data directory's log.vkey;
    /// needed with --tiles).
    #[arg(long)]
    key: Vec<String>,
    /// A witness's verifier key, or a file holding it (repeatable): the report states whether
    /// --quorum of them cosigned the checkpoint it rests on.
    #[arg(long, value_name = "VKEY")]
    witness: Vec<String>,
    /// How many of the --witness keys must have cosigned.
    #[arg(long, requires = "witness", value_name = "K")]
    quorum: Option<usize>,
    /// The shortest silence of an active agent listed as a gap, in minutes.
    #[arg(long, default_value_t = 60, value_name = "MINUTES")]
    gap_minutes: u64,
    /// The HTML file to write (must not exist).
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    json: JsonArg,
}

fn time_arg(s: &Option<String>, flag: &str) -> Result<Option<Timestamp>> {
    s.as_deref()
        .map(|t| t.parse::<Timestamp>().map_err(|e| anyhow!("--{flag} {t:?}: {e} (use RFC 3339)")))
        .transpose()
}

fn now() -> Timestamp {
    trail_ingest::now()
}

/// The records of a tiled log folded into a report's figures while the tiles are audited.
fn from_tiles(source: &TileSource, opts: &Options, json_out: bool) -> Result<(Meta, Figures)> {
    let mut fold = Fold::new(opts.from, opts.to, opts.gap_minutes);
    let mut span = Span::default();
    let mut unreadable = 0u64;
    let verify_opts = VerifyOptions { verifiers: opts.keys.clone(), ..VerifyOptions::default() };
    let (cp, report) =
        crate::tiles::audit(
            source,
            verify_opts,
            json_out,
            &mut |entry| match Record::from_canonical(entry) {
                Ok(r) => {
                    span.add(&r);
                    fold.add(&r, None);
                }
                Err(_) => unreadable += 1,
            },
        )?;
    let meta = Meta {
        origin: cp.checkpoint.origin.clone(),
        generated_at: opts.generated_at,
        source: opts.source.clone(),
        recheck: opts.recheck.clone(),
        period_from: opts.from,
        period_to: opts.to,
        integrity: trail_report::integrity(&report, Some(&cp), opts),
        retention: Retention { oldest: span.oldest, newest: span.newest, ..Retention::default() },
    };
    let _ = unreadable; // the verifier reports a record that does not parse, with its seq
    Ok((meta, fold.finish()))
}

/// A files log that no longer opens as a store: verified as an export (every problem named),
/// and its readable record lines folded up to the last checkpoint line.
fn from_log_file(dir: &DataDir, opts: &Options, json_out: bool) -> Result<(Meta, Figures)> {
    let verify_opts = VerifyOptions {
        verifiers: opts.keys.clone(),
        origin: Some(dir.origin().to_owned()),
        ..VerifyOptions::default()
    };
    let report = crate::commands::verify_data_dir(dir, verify_opts, json_out)?;
    let path = dir.path.join(trail_store::file::LOG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut records = Vec::new();
    let mut cp = None;
    let mut first_seq = 0;
    for line in text.lines() {
        match trail_core::export::parse_line(line) {
            Ok(trail_core::export::ExportLine::Record { canonical, body, .. }) => {
                if let Ok(r) = Record::from_canonical(&canonical) {
                    records.push((r, body));
                }
            }
            Ok(trail_core::export::ExportLine::Checkpoint(t)) => {
                cp = trail_core::SignedCheckpoint::parse(&t).ok().or(cp);
            }
            Ok(trail_core::export::ExportLine::Anchor(a)) => first_seq = a.size,
            Err(_) => {}
        }
    }
    let end = cp.as_ref().map_or(u64::MAX, |c: &trail_core::SignedCheckpoint| c.checkpoint.size);
    let mut fold = Fold::new(opts.from, opts.to, opts.gap_minutes);
    let mut span = Span::default();
    for (r, body) in records.iter().filter(|(r, _)| r.seq < end) {
        span.add(r);
        fold.add(r, body.as_ref());
    }
    let meta = Meta {
        origin: dir.origin().to_owned(),
        generated_at: opts.generated_at,
        source: opts.source.clone(),
        recheck: opts.recheck.clone(),
        period_from: opts.from,
        period_to: opts.to,
        integrity: trail_report::integrity(&report, cp.as_ref(), opts),
        retention: Retention {
            policy: opts.policy.clone().unwrap_or_default(),
            policy_known: opts.policy.is_some(),
            oldest: span.oldest,
            newest: span.newest,
            first_seq,
            ..Retention::default()
        },
    };
    Ok((meta, fold.finish()))
}

fn key_text(keys: &[NoteVerifier]) -> String {
    keys.first().map_or_else(|| "LOG_KEY".to_owned(), ToString::to_string)
}

/// `trail report`.
pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let from = time_arg(&args.from, "from")?;
    let to = time_arg(&args.to, "to")?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        bail!("--from {f} is not before --to {t}: the period is empty");
    }
    let mut keys = load_keys(&args.key, "--key")?;
    let witnesses = load_keys(&args.witness, "--witness")?;
    if let Some(k) = args.quorum
        && (k == 0 || k > witnesses.len())
    {
        bail!("--quorum {k}: give a number from 1 to the {} --witness keys", witnesses.len());
    }
    if args.out.exists() {
        bail!("{} already exists; the report never overwrites a file", args.out.display());
    }
    if args.gap_minutes == 0 || args.gap_minutes > 5_256_000 {
        bail!("--gap-minutes {}: give 1 to 5256000 (ten years)", args.gap_minutes);
    }
    let mut opts = Options {
        witnesses,
        quorum: args.quorum,
        from,
        to,
        gap_minutes: args.gap_minutes,
        generated_at: now(),
        ..Options::default()
    };
    let (meta, figures) = match &args.tiles {
        Some(tiles) => {
            if keys.is_empty() {
                bail!("--tiles needs --key: a tiled log is checked against the log's verifier key");
            }
            let source = TileSource::new(tiles)?;
            opts.source = source.describe();
            opts.recheck = format!(
                "trail verify --tiles {} --key {}",
                crate::tiles::without_userinfo(tiles),
                key_text(&keys)
            );
            opts.keys = keys;
            from_tiles(&source, &opts, args.json.json)?
        }
        None => {
            let dir = DataDir::open(&args.data)?;
            if keys.is_empty() {
                keys.push(dir.verifier()?);
            }
            // A files log whose file no longer reads as a log (edited by hand, torn) is still
            // reported: verified line by line as an export, its readable lines folded.
            let store = match dir.store() {
                Ok(store) => Some(store),
                Err(_) if dir.config.log.store == "files" => None,
                Err(e) => return Err(e),
            };
            let path = std::fs::canonicalize(&dir.path).unwrap_or_else(|_| dir.path.clone());
            let backend = store.as_ref().map_or("files", |s| s.backend());
            opts.source = format!("data directory {} ({backend} store)", path.display());
            opts.recheck =
                format!("trail verify --data {} --key {}", path.display(), key_text(&keys));
            opts.keys = keys;
            let rules = crate::browse::Retention::from_config(&dir);
            let mut policy = Vec::new();
            if let Some(d) = rules.days {
                let short = if d < 183 {
                    ": shorter than the six months EU AI Act Art. 19 asks"
                } else {
                    ""
                };
                policy.push(format!(
                    "retention_days = {d}: records older than {d} days are pruned{short}"
                ));
            }
            if let Some(m) = rules.max_size_mb {
                policy.push(format!(
                    "retention_max_size_mb = {m}: the oldest records are pruned above {m} MB"
                ));
            }
            opts.policy = Some(policy);
            match store {
                Some(store) => {
                    let size = store.state()?.size;
                    let bar = crate::output::progress(Some(size), "report", args.json.json);
                    trail_report::from_store(&*store, &opts, &mut |n| bar.inc(n))?
                }
                None => from_log_file(&dir, &opts, args.json.json)?,
            }
        }
    };
    let html = trail_report::render(&meta, &figures);
    let mut file = crate::output::create_new(&args.out)?;
    file.write_all(html.as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let headline = trail_report::headline(&meta);
    if args.json.json {
        println!(
            "{}",
            json!({"out": args.out.display().to_string(), "verdict": meta.integrity.verdict,
                   "headline": headline, "events": figures.events, "bytes": html.len()})
        );
    } else {
        let paint = if meta.integrity.verdict == "intact" { green } else { red };
        println!("{}", paint(&headline));
        println!("report of {} events written to {}", figures.events, args.out.display());
    }
    // Written either way; the exit code says whether the log it describes is intact, as
    // `trail verify` does.
    Ok(if meta.integrity.verdict == "problems" { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The log a report is checked against, as it is now: its verification, and its records up to
/// the report's checkpoint folded again.
struct Refolded {
    source: String,
    /// The log's verification now.
    report: trail_core::verify::Report,
    root_at_checkpoint: Option<trail_core::Hash>,
    figures: Figures,
    span: Span,
    first_seq: u64,
    has_bodies: bool,
}

/// Folds `source`'s records up to `size` with the report's period.
fn refold_tiles(
    t: &str,
    keys: &[NoteVerifier],
    embedded: &trail_report::Embedded,
    size: u64,
) -> Result<Refolded> {
    let source = TileSource::new(t)?;
    let meta = &embedded.meta;
    let mut fold = Fold::new(meta.period_from, meta.period_to, embedded.figures.gap_minutes);
    let mut span = Span::default();
    let mut leaves = Vec::new();
    let (_, report) = crate::tiles::audit(
        &source,
        VerifyOptions { verifiers: keys.to_vec(), ..VerifyOptions::default() },
        true,
        &mut |entry| {
            if let Ok(r) = Record::from_canonical(entry)
                && r.seq < size
            {
                span.add(&r);
                fold.add(&r, None);
            }
            if (leaves.len() as u64) < size {
                leaves.push(trail_merkle::leaf_hash(entry));
            }
        },
    )?;
    let root = (leaves.len() as u64 == size).then(|| trail_merkle::root_of_leaves(&leaves));
    Ok(Refolded {
        source: source.describe(),
        report,
        root_at_checkpoint: root,
        figures: fold.finish(),
        span,
        first_seq: 0,
        has_bodies: false,
    })
}

fn refold_data(
    dir: &DataDir,
    keys: &[NoteVerifier],
    embedded: &trail_report::Embedded,
    size: u64,
) -> Result<Refolded> {
    let store = dir.store()?;
    let meta = &embedded.meta;
    let opts = VerifyOptions {
        verifiers: keys.to_vec(),
        origin: Some(dir.origin().to_owned()),
        ..VerifyOptions::default()
    };
    let report = trail_store::verify_store(&*store, opts, &mut |_| {})?;
    let first_seq = store.anchor()?.map_or(0, |a| a.size);
    let root = store.root_at(size).ok();
    let (figures, span) = if size <= store.state()?.size {
        let gap = embedded.figures.gap_minutes;
        trail_report::fold_store(&*store, first_seq, size, meta.period_from, meta.period_to, gap)?
    } else {
        (Figures::default(), Span::default())
    };
    let path = std::fs::canonicalize(&dir.path).unwrap_or_else(|_| dir.path.clone());
    Ok(Refolded {
        source: format!("data directory {}", path.display()),
        report,
        root_at_checkpoint: root,
        figures,
        span,
        first_seq,
        has_bodies: true,
    })
}

/// The figures as compared: what a source without bodies (tiles) cannot know is left out when
/// either side lacks it.
fn comparable(f: &Figures, keep_bodies: bool) -> serde_json::Value {
    let mut f = f.clone();
    if !keep_bodies {
        for m in f.erasures.iter_mut().chain(f.prunes.iter_mut()) {
            m.reason = None;
            m.count = None;
            m.anchor_size = None;
        }
    }
    serde_json::to_value(f).unwrap_or_default()
}

/// `trail verify --report FILE`: the page must be exactly what its embedded data renders to
/// (so nothing visible differs from what is checked), its digest must hold, its checkpoint must
/// be signed by the log's key; and, against the log itself (`--tiles`, or `--data` holding the
/// report's log), the log must verify now, have the checkpoint's tree, and give the same
/// verdict, records span and figures when folded again. Without the log nothing the report
/// claims can be confirmed, and it is not called verified.
pub fn verify_report(
    path: &Path,
    keys: &[NoteVerifier],
    data: &Path,
    tiles: Option<&str>,
    json_out: bool,
) -> Result<ExitCode> {
    let doc =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let fail = |why: String| -> Result<ExitCode> {
        if json_out {
            println!("{}", json!({"valid": false, "problem": why}));
        } else {
            println!("{} report {}: {why}", red("NOT VERIFIED"), path.display());
        }
        Ok(ExitCode::from(1))
    };
    let embedded = match trail_report::read(&doc) {
        Ok(e) => e,
        Err(e) => return fail(e.to_string()),
    };
    if trail_report::render(&embedded.meta, &embedded.figures) != doc {
        return fail(
            "the page is not what its embedded data renders to: it was edited after it was written"
                .into(),
        );
    }
    let meta = &embedded.meta;
    if !meta.recheck.starts_with("trail verify ")
        || meta.recheck.contains(|c: char| ";|&$`<>(){}\\\n\"'".contains(c))
    {
        return fail(format!(
            "its re-check command is not a trail verify command: {:?}",
            meta.recheck
        ));
    }
    let Some(cp_text) = &meta.integrity.checkpoint else {
        return fail("the report rests on no signed checkpoint".into());
    };
    let cp = match trail_core::SignedCheckpoint::parse(cp_text) {
        Ok(cp) => cp,
        Err(e) => return fail(format!("its checkpoint: {e}")),
    };
    if let Err(e) = cp.verify(keys) {
        return fail(format!("its checkpoint is not signed by the given key: {e}"));
    }
    if cp.checkpoint.origin != meta.origin {
        return fail(format!(
            "its checkpoint is of {}, the report says {}",
            cp.checkpoint.origin, meta.origin
        ));
    }
    let size = cp.checkpoint.size;
    let log = match tiles {
        Some(t) => refold_tiles(t, keys, &embedded, size)?,
        None => match DataDir::open(data) {
            Ok(dir) if dir.origin() == meta.origin => refold_data(&dir, keys, &embedded, size)?,
            _ => {
                return fail(format!(
                    "its checkpoint is signed by the log's key, but without the log nothing it says can be confirmed: \
                     give --tiles URL|DIR or --data DIR of {}",
                    meta.origin
                ));
            }
        },
    };
    let now = &log.report;
    if now.problem_count() > 0 {
        let first = now
            .problems
            .first()
            .map(|p| format!(" (first: {}: {})", p.code, p.message))
            .unwrap_or_default();
        return fail(format!(
            "the log in {} does not verify now: {} problems{first}",
            log.source,
            now.problem_count()
        ));
    }
    if log.root_at_checkpoint != Some(cp.checkpoint.root) {
        return fail(format!(
            "the log in {} does not have the tree the report's checkpoint signs (size {size})",
            log.source
        ));
    }
    if log.first_seq != meta.retention.first_seq && log.has_bodies {
        return fail(format!(
            "the log in {} now starts at seq {} (the report's at {}): it was pruned since, and the report cannot be checked against it",
            log.source, log.first_seq, meta.retention.first_seq
        ));
    }
    let i = &meta.integrity;
    if !matches!(i.verdict.as_str(), "intact" | "unsigned_records") || i.verified_size != size {
        return fail(format!(
            "the report says {} ({} records signed) but the log in {} verifies, with {size} signed at its checkpoint",
            i.verdict, i.verified_size, log.source
        ));
    }
    if (log.span.oldest, log.span.newest) != (meta.retention.oldest, meta.retention.newest) {
        return fail(format!(
            "its oldest and newest records are not those of the log in {}",
            log.source
        ));
    }
    let same_bodies = log.has_bodies && !meta.source.starts_with("tiles");
    if comparable(&embedded.figures, same_bodies) != comparable(&log.figures, same_bodies) {
        return fail(format!("its figures are not those of the log in {}", log.source));
    }
    if json_out {
        println!(
            "{}",
            json!({"valid": true, "origin": meta.origin, "checkpoint_size": size,
                   "verdict": i.verdict, "checked_against": log.source})
        );
    } else {
        println!(
            "{} report of {} at checkpoint size {size}: the page is its data, signed by the log's key, and its verdict, records and figures are those of the log in {}",
            green("valid"),
            meta.origin,
            log.source
        );
    }
    Ok(ExitCode::SUCCESS)
}
