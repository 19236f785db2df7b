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
use crate::output::{green, red, yellow};
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
            opts.recheck = format!("trail verify --tiles {tiles} --key {}", key_text(&keys));
            opts.keys = keys;
            from_tiles(&source, &opts, args.json.json)?
        }
        None => {
            let dir = DataDir::open(&args.data)?;
            if keys.is_empty() {
                keys.push(dir.verifier()?);
            }
            let store = dir.store()?;
            let path = std::fs::canonicalize(&dir.path).unwrap_or_else(|_| dir.path.clone());
            opts.source = format!("data directory {} ({} store)", path.display(), store.backend());
            opts.recheck =
                format!("trail verify --data {} --key {}", path.display(), key_text(&keys));
            opts.keys = keys;
            let rules = crate::browse::Retention::from_config(&dir);
            let mut policy = Vec::new();
            if let Some(d) = rules.days {
                policy
                    .push(format!("retention_days = {d}: records older than {d} days are pruned"));
            }
            if let Some(m) = rules.max_size_mb {
                policy.push(format!(
                    "retention_max_size_mb = {m}: the oldest records are pruned above {m} MB"
                ));
            }
            opts.policy = Some(policy);
            let bar = crate::output::progress(Some(store.state()?.size), "report", args.json.json);
            trail_report::from_store(&*store, &opts, &mut |n| bar.inc(n))?
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
    Ok(ExitCode::SUCCESS)
}

/// `trail verify --report FILE`: the digest, the checkpoint's signature, and with a log at hand
/// (`--tiles`, or the data directory when it holds the report's log) the figures folded again.
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
            println!("{} report {}: {why}", red("invalid"), path.display());
        }
        Ok(ExitCode::from(1))
    };
    let embedded = match trail_report::read(&doc) {
        Ok(e) => e,
        Err(e) => return fail(e.to_string()),
    };
    let meta = &embedded.meta;
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
    // The log itself, when at hand: the figures folded again up to the report's checkpoint.
    let refolded = match tiles {
        Some(t) => {
            let source = TileSource::new(t)?;
            let mut fold =
                Fold::new(meta.period_from, meta.period_to, embedded.figures.gap_minutes);
            let size = cp.checkpoint.size;
            let (now_cp, _) = crate::tiles::audit(
                &source,
                VerifyOptions { verifiers: keys.to_vec(), ..VerifyOptions::default() },
                true,
                &mut |entry| {
                    if let Ok(r) = Record::from_canonical(entry)
                        && r.seq < size
                    {
                        fold.add(&r, None);
                    }
                },
            )?;
            if now_cp.checkpoint.size < size {
                return fail(format!(
                    "the tiles hold {} records, fewer than the report's checkpoint ({size})",
                    now_cp.checkpoint.size
                ));
            }
            Some((source.describe(), fold.finish()))
        }
        None => match DataDir::open(data) {
            Ok(dir) if dir.origin() == meta.origin => {
                let store = dir.store()?;
                let root = store.root_at(cp.checkpoint.size).map_err(|e| {
                    anyhow!("cannot read the log's tree at size {}: {e}", cp.checkpoint.size)
                })?;
                if root != cp.checkpoint.root {
                    return fail(format!(
                        "the log in {} no longer has the tree the report's checkpoint signs (size {})",
                        dir.path.display(),
                        cp.checkpoint.size
                    ));
                }
                let mut fold =
                    Fold::new(meta.period_from, meta.period_to, embedded.figures.gap_minutes);
                let start = store.anchor()?.map_or(0, |a| a.size);
                store.scan(start, cp.checkpoint.size, &mut |r| {
                    fold.add(&r.record, r.body.as_ref());
                    Ok(true)
                })?;
                Some((format!("data directory {}", dir.path.display()), fold.finish()))
            }
            _ => None,
        },
    };
    let checked = match &refolded {
        Some((source, figures)) => {
            let ours = serde_json::to_value(&embedded.figures)?;
            let theirs = serde_json::to_value(figures)?;
            if ours != theirs {
                return fail(format!("its figures are not those of the log in {source}"));
            }
            format!("its figures match the log in {source}")
        }
        None => "no log at hand to compare its figures with (give --tiles, or --data with the report's log)".to_owned(),
    };
    if json_out {
        println!(
            "{}",
            json!({"valid": true, "origin": meta.origin, "checkpoint_size": cp.checkpoint.size,
                   "verdict": meta.integrity.verdict, "figures_checked": refolded.is_some(), "detail": checked})
        );
    } else {
        println!(
            "{} report of {} at checkpoint size {}: unaltered, signed by the log's key",
            green("valid"),
            meta.origin,
            cp.checkpoint.size
        );
        if refolded.is_some() {
            println!("{}", green(&checked));
        } else {
            println!("{} {checked}", yellow("note:"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
