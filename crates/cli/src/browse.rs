//! Reading and curating a log: tail, query, show, sessions, stats, erase, prune, scan.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use serde_json::json;
use trail_core::verify::{Anchor, ERASURE_KIND, PRUNE_KIND};
use trail_core::{Checkpoint, Event, Timestamp};
use trail_merkle::CompactRange;
use trail_store::{Query, StoredRecord};

use crate::commands::open_recorder;
use crate::datadir::DataDir;
use crate::output::{red, table, yellow};
use crate::{DataArg, Filters, JsonArg};

fn parse_time(s: &Option<String>, flag: &str) -> Result<Option<Timestamp>> {
    s.as_deref().map(|t| t.parse::<Timestamp>().map_err(|e| anyhow!("--{flag}: {e}"))).transpose()
}

impl Filters {
    pub fn query(&self) -> Result<Query> {
        Ok(Query {
            from: parse_time(&self.from, "from")?,
            to: parse_time(&self.to, "to")?,
            kind: self.kind.clone(),
            category: self.category.clone(),
            action: self.action.clone(),
            status: self.status.clone(),
            agent: self.agent.clone(),
            session: self.session.clone(),
            conversation: self.conversation.clone(),
            actor: self.actor.clone(),
            source: self.source.clone(),
            trace_id: self.trace_id.clone(),
            search: self.search.clone(),
            ..Query::default()
        })
    }
}

/// One record as a JSON object for output.
pub fn record_json(r: &StoredRecord) -> serde_json::Value {
    let body = match &r.body {
        Some(b) => b.value().unwrap_or(serde_json::Value::Null),
        None if r.record.body_digest.is_some() => json!("[erased]"),
        None => serde_json::Value::Null,
    };
    json!({"seq": r.seq, "hash": r.hash.to_string(), "record": r.record.to_value(), "body": body})
}

fn row(r: &StoredRecord) -> Vec<String> {
    let f = &r.record.fields;
    let status = f.status.clone().unwrap_or_default();
    let status = match status.as_str() {
        "error" | "failed" => red(&status),
        "denied" | "blocked" | "rejected" => yellow(&status),
        _ => status,
    };
    let body = match &r.body {
        Some(b) => String::from_utf8_lossy(&b.canonical).into_owned(),
        None if r.record.body_digest.is_some() => "[erased]".into(),
        None => String::new(),
    };
    let findings = if r.record.findings.is_empty() {
        String::new()
    } else {
        let mut k: Vec<&str> = r.record.findings.iter().map(|f| f.kind.as_str()).collect();
        k.dedup();
        format!("⚠{}", k.join(","))
    };
    vec![
        r.seq.to_string(),
        r.record.time.to_string()[..23].to_owned() + "Z",
        f.kind.clone(),
        f.action.clone().unwrap_or_default(),
        status,
        f.agent.clone().unwrap_or_default(),
        f.session.clone().unwrap_or_default(),
        findings,
        body,
    ]
}

const HEADERS: [&str; 9] =
    ["SEQ", "TIME", "KIND", "ACTION", "STATUS", "AGENT", "SESSION", "PII", "BODY"];

#[derive(Args)]
pub struct TailArgs {
    #[command(flatten)]
    data: DataArg,
    /// Keep printing new events as they are appended.
    #[arg(short, long)]
    follow: bool,
    /// How many of the latest events to show first.
    #[arg(short = 'n', long, default_value_t = 10)]
    lines: u64,
    #[command(flatten)]
    json: JsonArg,
}

pub async fn tail(args: TailArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let mut store = dir.store()?;
    let size = store.state()?.size;
    let mut next = size.saturating_sub(args.lines);
    let mut out = std::io::stdout();
    let mut first = true;
    loop {
        let mut rows = Vec::new();
        store.scan(next, u64::MAX, &mut |r| {
            next = r.seq + 1;
            rows.push(r);
            Ok(true)
        })?;
        if args.json.json {
            for r in &rows {
                writeln!(out, "{}", record_json(r))?;
            }
        } else if !rows.is_empty() || first {
            let t = table(&HEADERS, &rows.iter().map(row).collect::<Vec<_>>());
            let t = if first { t } else { t.lines().skip(1).map(|l| format!("{l}\n")).collect() };
            write!(out, "{t}")?;
        }
        out.flush()?;
        first = false;
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Another process appends: reopen so the file store sees its new lines.
        if dir.config.log.store == "files" {
            store = dir.store()?;
        }
    }
}

#[derive(Args)]
pub struct QueryArgs {
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    filters: Filters,
    /// Events per page (1 to 10000; the next page's cursor is printed with each page).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    limit: u64,
    /// Continue after this cursor (printed with the previous page).
    #[arg(long)]
    cursor: Option<u64>,
    /// Oldest first.
    #[arg(long)]
    asc: bool,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
    format: String,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
}

pub fn query(args: QueryArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let store = dir.store()?;
    let mut q = args.filters.query()?;
    q.limit = usize::try_from(args.limit).unwrap_or(10_000);
    q.cursor = args.cursor;
    q.ascending = args.asc;
    let page = store.query(&q)?;
    let format = if args.json { "json" } else { args.format.as_str() };
    let mut out = std::io::stdout().lock();
    match format {
        "json" => {
            let records: Vec<_> = page.records.iter().map(record_json).collect();
            writeln!(
                out,
                "{}",
                json!({"total": page.total, "next_cursor": page.next_cursor, "events": records})
            )?;
        }
        "csv" => {
            write!(
                out,
                "seq,time,kind,category,action,status,agent,session,conversation,actor,source,trace_id,span_id,duration_ms,input_tokens,output_tokens,cost_usd,findings,hash,prev,id\r\n"
            )?;
            for r in &page.records {
                let rec = &r.record;
                let f = &rec.fields;
                let u = f.usage.clone().unwrap_or_default();
                let o = |v: &Option<String>| v.clone().unwrap_or_default();
                let n = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
                let findings: Vec<String> =
                    rec.findings.iter().map(|f| format!("{}@{}", f.kind, f.path)).collect();
                let cells = [
                    r.seq.to_string(),
                    rec.time.to_string(),
                    f.kind.clone(),
                    o(&f.category),
                    o(&f.action),
                    o(&f.status),
                    o(&f.agent),
                    o(&f.session),
                    o(&f.conversation),
                    o(&f.actor),
                    o(&f.source),
                    o(&f.trace_id),
                    o(&f.span_id),
                    n(f.duration_ms),
                    n(u.input_tokens),
                    n(u.output_tokens),
                    u.cost_usd.map(trail_core::jcs::format_f64).unwrap_or_default(),
                    findings.join(" "),
                    r.hash.to_string(),
                    rec.prev.to_string(),
                    rec.id.clone(),
                ];
                write!(out, "{}", trail_interop::export::csv_line(&cells, &[]))?;
            }
        }
        _ => {
            write!(out, "{}", table(&HEADERS, &page.records.iter().map(row).collect::<Vec<_>>()))?;
            let more = match page.next_cursor {
                Some(c) => format!("; next page: --cursor {c}"),
                None => String::new(),
            };
            eprintln!("{} of {} matching events{more}", page.records.len(), page.total);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(data: &Path, id: &str, by_seq: bool, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let store = dir.store()?;
    let r = if by_seq {
        let seq: u64 = id.parse().map_err(|_| anyhow!("{id:?} is not a seq number"))?;
        store.get(seq)?
    } else {
        store.find_id(id)?
    };
    let r = r.ok_or_else(|| anyhow!("no event {id:?} in this log"))?;
    let covered = store.latest_checkpoint()?.is_some_and(|c| c.checkpoint.size > r.seq);
    if json_out {
        let mut v = record_json(&r);
        v["covered_by_checkpoint"] = json!(covered);
        println!("{v}");
    } else {
        println!("seq {}  hash {}", r.seq, r.hash);
        println!("{}", serde_json::to_string_pretty(&r.record.to_value())?);
        match &r.body {
            Some(b) => println!("body:\n{}", serde_json::to_string_pretty(&b.value()?)?),
            None if r.record.body_digest.is_some() => println!("body: [erased]"),
            None => println!("body: none"),
        }
        println!(
            "{}",
            if covered {
                "covered by the latest signed checkpoint: `trail proof --seq N` prints its receipt"
                    .to_owned()
            } else {
                yellow("not yet covered by a signed checkpoint")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn sessions(data: &Path, filters: &Filters, limit: usize, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let store = dir.store()?;
    let mut q = filters.query()?;
    q.limit = limit;
    let sessions = store.sessions(&q)?;
    if json_out {
        println!("{}", serde_json::to_string(&sessions)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.session.clone(),
                s.agent.clone().unwrap_or_default(),
                s.start.to_string()[..19].to_owned() + "Z",
                crate::output::duration(std::time::Duration::from_millis(s.duration_ms)),
                s.events.to_string(),
                if s.errors > 0 { red(&s.errors.to_string()) } else { "0".into() },
                if s.denials > 0 { yellow(&s.denials.to_string()) } else { "0".into() },
                format!("{}/{}", s.input_tokens, s.output_tokens),
                format!("${:.4}", s.cost_usd),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "SESSION",
                "AGENT",
                "START",
                "DURATION",
                "EVENTS",
                "ERRORS",
                "DENIED",
                "TOKENS IN/OUT",
                "COST"
            ],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

pub fn stats(data: &Path, filters: &Filters, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let store = dir.store()?;
    let s = store.stats(&filters.query()?)?;
    if json_out {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} events, {} input tokens, {} output tokens, ${:.4}",
        s.events, s.input_tokens, s.output_tokens, s.cost_usd
    );
    for (title, map) in [
        ("kind", &s.by_kind),
        ("category", &s.by_category),
        ("status", &s.by_status),
        ("agent", &s.by_agent),
    ] {
        if map.is_empty() {
            continue;
        }
        println!("\nby {title}:");
        let rows: Vec<Vec<String>> =
            map.iter().map(|(k, v)| vec![k.clone(), v.to_string()]).collect();
        print!("{}", table(&[&title.to_uppercase(), "EVENTS"], &rows));
    }
    if !s.per_hour.is_empty() {
        println!("\nper hour:");
        let rows: Vec<Vec<String>> = s
            .per_hour
            .iter()
            .map(|(h, b)| {
                vec![
                    h[..13].to_owned() + ":00Z",
                    b.events.to_string(),
                    format!("{}/{}", b.input_tokens, b.output_tokens),
                    format!("${:.4}", b.cost_usd),
                ]
            })
            .collect();
        print!("{}", table(&["HOUR", "EVENTS", "TOKENS IN/OUT", "COST"], &rows));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct EraseArgs {
    #[command(flatten)]
    data: DataArg,
    /// Erase the body of the event with this id.
    #[arg(long, required_unless_present_any = ["session", "actor"], conflicts_with_all = ["session", "actor"])]
    id: Option<String>,
    /// Erase the bodies of every event of this session.
    #[arg(long, conflicts_with = "actor")]
    session: Option<String>,
    /// Erase the bodies of every event by this actor (a person's data).
    #[arg(long)]
    actor: Option<String>,
    /// Why (recorded in the erasure event).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    json: JsonArg,
}

pub async fn erase(args: EraseArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let writer = crate::writer::Writer::wait(&dir)?;
    let store = writer.store.clone();
    let (selector, seqs) = if let Some(id) = &args.id {
        let r = store.find_id(id)?.ok_or_else(|| anyhow!("no event with id {id:?}"))?;
        let kind = &r.record.fields.kind;
        if kind == ERASURE_KIND || kind == PRUNE_KIND {
            bail!(
                "event {id:?} (seq {}) is a {kind} event: erasure and prune events cannot be \
                 erased, they are the log's account of what was removed and why",
                r.seq
            );
        }
        (json!({"id": id}), vec![r.seq])
    } else {
        let mut q = Query {
            session: args.session.clone(),
            actor: args.actor.clone(),
            ascending: true,
            limit: 10_000,
            ..Query::default()
        };
        let mut seqs = Vec::new();
        loop {
            let page = store.query(&q)?;
            // Erasure and prune events are never erased (a selector can match them: they
            // carry no session or actor of their own, but an import or a client may set one).
            seqs.extend(
                page.records
                    .iter()
                    .filter(|r| r.body.is_some())
                    .filter(|r| {
                        ![ERASURE_KIND, PRUNE_KIND].contains(&r.record.fields.kind.as_str())
                    })
                    .map(|r| r.seq),
            );
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        let sel = match (&args.session, &args.actor) {
            (Some(s), _) => json!({"session": s}),
            (_, Some(a)) => json!({"actor": a}),
            _ => bail!("give --id, --session or --actor"),
        };
        (sel, seqs)
    };
    drop(store);
    let recorder = open_recorder(&dir, writer.store.clone())?;
    let erased = if seqs.is_empty() { 0 } else { recorder.store().erase(&seqs)? };
    if erased == 0 {
        // Erasing nothing records nothing: no erasure event when no body was deleted.
        recorder.close().await.map_err(|e| anyhow!("{e}"))?;
        if args.json.json {
            println!("{}", json!({"erased": 0, "seqs": [], "event_seq": null}));
        } else {
            println!("nothing to erase: no stored body matches {selector}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let a = record_erasure(recorder, &seqs, selector, Some(&args.reason), erased).await?;
    if args.json.json {
        println!("{}", json!({"erased": erased, "seqs": seqs, "event_seq": a.seq}));
    } else {
        println!(
            "erased {erased} bod{} ({} event{} selected); recorded as event {}",
            if erased == 1 { "y" } else { "ies" },
            seqs.len(),
            if seqs.len() == 1 { "" } else { "s" },
            a.seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Records the `trail.erasure` event of bodies just erased (its body names the seqs, which is
/// how verify tells an erasure from a body deleted outside trail), then closes the recorder.
async fn record_erasure(
    recorder: trail_ingest::Recorder,
    seqs: &[u64],
    selector: serde_json::Value,
    reason: Option<&str>,
    erased: u64,
) -> Result<trail_ingest::Appended> {
    let event = Event::from_value(json!({
        "kind": ERASURE_KIND, "status": "ok", "source": "trail-cli",
        "body": {"seqs": seqs, "selector": selector, "reason": reason, "erased": erased}
    }))?;
    let a = recorder
        .record(event)
        .await
        .map_err(|e| anyhow!("bodies erased but the erasure event failed: {e}"))?;
    recorder.close().await.map_err(|e| anyhow!("{e}"))?;
    Ok(a)
}

#[derive(Args)]
pub struct PruneArgs {
    #[command(flatten)]
    data: DataArg,
    /// Remove records older than this many days, at least 1 (default: `[audit] retention_days`;
    /// there 0 means keep forever).
    #[arg(long, value_parser = at_least_one_day)]
    days: Option<u64>,
    /// Keep at most this many records, at least 1.
    #[arg(long, value_parser = at_least_one("--keep 0 would prune every record"))]
    keep: Option<u64>,
    /// Remove the oldest records while the log is larger than this many MiB, at least 1 (default:
    /// `[audit] retention_max_size_mb`; there 0 means no limit).
    #[arg(long, value_parser = at_least_one("--max-size-mb 0 would prune every record (and `retention_max_size_mb = 0` in trail.toml means no limit)"))]
    max_size_mb: Option<u64>,
    /// Show what would be removed without removing it.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    json: JsonArg,
}

/// A count flag of `prune` that 0 would turn into "remove everything": refused with `why`.
fn at_least_one(why: &'static str) -> impl Fn(&str) -> std::result::Result<u64, String> + Clone {
    move |text: &str| match text.parse::<u64>() {
        Ok(0) => Err(format!("must be at least 1: {why}")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{text:?} is not a number: {e}")),
    }
}

/// `--days`: 0 is refused, since it would remove every record while `retention_days = 0` in
/// the config means keep forever.
fn at_least_one_day(text: &str) -> std::result::Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("must be at least 1: --days 0 would prune every record (and `retention_days = 0` in trail.toml means keep forever); use --keep N to keep only the newest N".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{text:?} is not a number of days: {e}")),
    }
}

pub async fn prune(args: PruneArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let writer = crate::writer::Writer::wait(&dir)?;
    let rules = Retention {
        days: args.days.or(Some(dir.config.audit.retention_days).filter(|d| *d > 0)),
        keep: args.keep,
        max_size_mb: args
            .max_size_mb
            .or(Some(dir.config.audit.retention_max_size_mb).filter(|d| *d > 0)),
    };
    if rules.is_empty() {
        bail!(
            "no retention rule: give --days, --keep or --max-size-mb, or set [audit] retention_days / retention_max_size_mb"
        );
    }
    if args.dry_run {
        let store = writer.store.clone();
        match plan_cut(&*store, &rules)? {
            Some((start, cut, reasons)) => {
                println!(
                    "would prune {} ({}) ({})",
                    crate::output::count(cut - start, "record"),
                    crate::output::seq_range(start, cut - 1),
                    reasons.join(", ")
                )
            }
            None => println!("nothing to prune"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let recorder = open_recorder(&dir, writer.store.clone())?;
    let outcome = apply_retention(&dir, &recorder, &rules, "trail-cli").await;
    let closed = recorder.close().await.map_err(|e| anyhow!("{e}"));
    match outcome? {
        None => println!("nothing to prune"),
        Some(p) if args.json.json => {
            println!(
                "{}",
                json!({"removed": p.removed, "anchor_size": p.cut, "event_seq": p.event_seq})
            )
        }
        Some(p) => println!(
            "pruned {} ({}); the log now starts at the signed anchor of size {}; recorded as event {}",
            crate::output::count(p.removed, "record"),
            p.reasons,
            p.cut,
            p.event_seq
        ),
    }
    closed?;
    Ok(ExitCode::SUCCESS)
}

/// Retention rules: by age, by count, by size.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    pub days: Option<u64>,
    pub keep: Option<u64>,
    pub max_size_mb: Option<u64>,
}

impl Retention {
    /// The `[audit]` rules of a data directory.
    pub fn from_config(dir: &DataDir) -> Retention {
        Retention {
            days: Some(dir.config.audit.retention_days).filter(|d| *d > 0),
            keep: None,
            max_size_mb: Some(dir.config.audit.retention_max_size_mb).filter(|d| *d > 0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_none() && self.keep.is_none() && self.max_size_mb.is_none()
    }
}

/// What a prune did.
pub struct Pruned {
    pub removed: u64,
    pub cut: u64,
    pub reasons: String,
    pub event_seq: u64,
}

/// Where the rules cut the log: (first kept now, new first kept, reasons), or None.
fn plan_cut(
    store: &dyn trail_store::Store,
    rules: &Retention,
) -> Result<Option<(u64, u64, Vec<String>)>> {
    let state = store.state()?;
    let start = store.start()?;
    let mut cut = start;
    let mut reasons = Vec::new();
    if let Some(d) = rules.days {
        let limit = Timestamp::from_unix_nanos(
            trail_ingest::now().unix_nanos() - i64::try_from(d)?.saturating_mul(86_400_000_000_000),
        );
        let mut c = start;
        store.scan(start, state.size, &mut |r| {
            if r.record.time < limit {
                c = r.seq + 1;
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        if c > cut {
            reasons.push(format!("older than {}", crate::output::count(d, "day")));
            cut = c;
        }
    }
    if let Some(k) = rules.keep {
        let c = state.size.saturating_sub(k);
        if c > cut {
            reasons.push(format!("beyond the newest {k}"));
            cut = c;
        }
    }
    if let Some(mb) = rules.max_size_mb {
        let bytes = store.disk_bytes()?;
        let limit = mb * 1024 * 1024;
        let live = state.size - start;
        if bytes > limit && live > 0 {
            let per = bytes / live;
            let c = start + (bytes - limit).div_ceil(per.max(1));
            if c > cut {
                reasons.push(format!("log of {} MiB above {mb} MiB", bytes / (1024 * 1024)));
                cut = c.min(state.size);
            }
        }
    }
    // Only records covered by a signed checkpoint may go: the anchor must be provable.
    let latest = store.checkpoints()?.last().map_or(0, |c| c.checkpoint.size);
    if cut > latest {
        reasons.push(format!("limited to the latest checkpoint at {latest}"));
        cut = latest;
    }
    Ok((cut > start).then_some((start, cut, reasons)))
}

/// Applies retention through a running recorder (whose owner holds the writer lock): cuts the
/// oldest records behind a signed anchor and records a `trail.prune` event.
pub async fn apply_retention(
    dir: &DataDir,
    recorder: &trail_ingest::Recorder,
    rules: &Retention,
    source: &str,
) -> Result<Option<Pruned>> {
    // Commit and checkpoint what is queued, so the cut can reach the newest old records.
    recorder.flush().await.map_err(|e| anyhow!("{e}"))?;
    let store = recorder.store().clone();
    let Some((_, cut, reasons)) = plan_cut(&*store, rules)? else { return Ok(None) };
    let signer = dir.signer()?;
    let root = store.root_at(cut)?;
    let peaks = CompactRange::from_reader(&trail_store::Nodes(&*store), cut)
        .map_err(|e| anyhow!("{e}"))?
        .peaks()
        .to_vec();
    let last = store.get(cut - 1)?.ok_or_else(|| anyhow!("record {} missing", cut - 1))?;
    let anchor = Anchor {
        size: cut,
        peaks,
        last_hash: last.hash,
        last_proof: store.inclusion_proof(cut - 1, cut)?,
        checkpoint: Checkpoint { origin: dir.origin().to_owned(), size: cut, root }
            .sign(&signer)
            .to_string(),
    };
    let removed = store.prune(&anchor)?;
    let reasons = reasons.join(", ");
    let event = Event::from_value(json!({
        "kind": PRUNE_KIND, "status": "ok", "source": source,
        "body": {"size": cut, "root": root.to_string(), "removed": removed, "reason": reasons}
    }))?;
    let a = recorder
        .record(event)
        .await
        .map_err(|e| anyhow!("records pruned but the prune event failed: {e}"))?;
    Ok(Some(Pruned { removed, cut, reasons, event_seq: a.seq }))
}

#[derive(Args)]
pub struct ScanArgs {
    /// Files to scan (default: stdin); UTF-8, or UTF-16 with a byte-order mark.
    #[arg(conflicts_with = "data")]
    files: Vec<PathBuf>,
    /// Scan the bodies already stored in this log with the current scanner and the log's
    /// policy (a scanner that improves protects old logs too); prints type, seq and path, never
    /// the value.
    #[arg(long, value_name = "DIR", conflicts_with = "jsonl")]
    data: Option<PathBuf>,
    /// With --data: erase every stored body that holds a secret, recorded as one erasure event.
    #[arg(long, requires_all = ["data", "reason"])]
    erase: bool,
    /// With --erase: why (recorded in the erasure event).
    #[arg(long, requires = "erase")]
    reason: Option<String>,
    /// Read `{"id": ..., "text": ...}` lines and write `{"id": ..., "findings": [...]}` lines.
    #[arg(long)]
    jsonl: bool,
    #[command(flatten)]
    json: JsonArg,
}

/// `trail scan --data DIR [--erase --reason TEXT]`: the stored bodies under today's scanner.
async fn scan_stored(args: &ScanArgs, path: &Path) -> Result<ExitCode> {
    let dir = DataDir::open(path)?;
    let (scanner, config) = dir.recorder_config()?;
    let store = dir.store()?;
    let size = store.state()?.size - store.start()?;
    let bar = crate::output::progress(Some(size), "scanning stored bodies", args.json.json);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut findings, mut with_secret) = (0u64, Vec::new());
    let mut failed = None;
    store.scan(store.start()?, u64::MAX, &mut |r| {
        bar.inc(1);
        let Some(body) = &r.body else { return Ok(true) };
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body.canonical) else {
            return Ok(true);
        };
        // Every type the scanner knows is reported, whatever the log's policy does with it.
        let mut policy = config.policy.clone();
        for m in [&mut policy.default_pii, &mut policy.default_secret] {
            if *m == trail_ingest::Mode::Off || *m == trail_ingest::Mode::Block {
                *m = trail_ingest::Mode::Detect;
            }
        }
        policy.per_type.values_mut().for_each(|m| *m = trail_ingest::Mode::Detect);
        let Ok(found) = trail_scan::json::scan_value(&scanner, &policy, &mut value, None) else {
            return Ok(true);
        };
        let mut secret = false;
        for f in found {
            findings += 1;
            secret |= f.kind.is_secret();
            let line = if args.json.json {
                json!({"seq": r.seq, "id": r.record.id, "path": f.path, "type": f.kind.as_str().to_ascii_lowercase(), "secret": f.kind.is_secret(), "count": f.count}).to_string()
            } else {
                format!("seq {} ({}): {} at {} ({}x)", r.seq, r.record.id, f.kind.as_str().to_ascii_lowercase(), f.path, f.count)
            };
            if let Err(e) = writeln!(out, "{line}") {
                failed = Some(e);
                return Ok(false);
            }
        }
        if secret {
            with_secret.push(r.seq);
        }
        Ok(true)
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.flush()?;
    bar.finish();
    drop(store);
    let secrets = with_secret.len() as u64;
    if !args.json.json {
        eprintln!(
            "{} in stored bodies; {} holding a secret",
            crate::output::count(findings, "finding"),
            crate::output::count(secrets, "body")
        );
    }
    if !args.erase || with_secret.is_empty() {
        return Ok(if findings > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    let writer = crate::writer::Writer::wait(&dir)?;
    let recorder = open_recorder(&dir, writer.store.clone())?;
    let erased = recorder.store().erase(&with_secret)?;
    let selector = json!({"scan": "secrets"});
    let a =
        record_erasure(recorder, &with_secret, selector, args.reason.as_deref(), erased).await?;
    if args.json.json {
        println!("{}", json!({"erased": erased, "seqs": with_secret, "event_seq": a.seq}));
    } else {
        println!(
            "erased {} holding a secret; recorded as event {}",
            crate::output::count(erased, "body"),
            a.seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A file's text: UTF-16 with a byte-order mark (what PowerShell's `>` writes) decoded, a
/// UTF-8 byte-order mark dropped, anything else read as UTF-8 (invalid bytes replaced). Line
/// and column refer to this text, `--json` offsets to its UTF-8 bytes.
fn text_of(bytes: &[u8]) -> String {
    let utf16 = |le: bool| {
        let units = bytes[2..].chunks_exact(2).map(|c| {
            if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) }
        });
        char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
    };
    match bytes {
        [0xff, 0xfe, ..] => utf16(true),
        [0xfe, 0xff, ..] => utf16(false),
        [0xef, 0xbb, 0xbf, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

pub async fn scan(args: ScanArgs) -> Result<ExitCode> {
    if let Some(path) = &args.data {
        return scan_stored(&args, path).await;
    }
    let scanner = trail_scan::Scanner::default();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.jsonl {
        let input: Box<dyn BufRead> = match args.files.first() {
            Some(p) => Box::new(std::io::BufReader::new(
                std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
            )),
            None => Box::new(std::io::BufReader::new(std::io::stdin().lock())),
        };
        for (i, line) in input.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| anyhow!("line {}: {e}", i + 1))?;
            let text =
                v["text"].as_str().ok_or_else(|| anyhow!("line {}: no \"text\" string", i + 1))?;
            let findings: Vec<_> = scanner
                .scan(text)
                .iter()
                .map(|f| json!({"start": f.start, "end": f.end, "type": f.kind.as_str(), "confidence": f.confidence}))
                .collect();
            writeln!(out, "{}", json!({"id": v["id"], "findings": findings}))?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut inputs: Vec<(String, String)> = Vec::new();
    if args.files.is_empty() {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("reading standard input")?;
        inputs.push(("-".into(), text_of(&bytes)));
    }
    for p in &args.files {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        inputs.push((p.display().to_string(), text_of(&bytes)));
    }
    let mut total = 0;
    for (name, text) in &inputs {
        let line_starts: Vec<usize> =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        for f in scanner.scan(text) {
            total += 1;
            let line = line_starts.partition_point(|&s| s <= f.start);
            let col = text[line_starts[line - 1]..f.start].chars().count() + 1;
            let preview = trail_scan::mask(text, &f);
            if args.json.json {
                writeln!(
                    out,
                    "{}",
                    json!({"file": name, "line": line, "column": col, "start": f.start, "end": f.end, "type": f.kind.as_str(), "secret": f.kind.is_secret(), "confidence": f.confidence, "preview": preview})
                )?;
            } else {
                writeln!(
                    out,
                    "{name}:{line}:{col}: {} {preview} (confidence {:.2})",
                    f.kind.as_str(),
                    f.confidence
                )?;
            }
        }
    }
    out.flush()?;
    if !args.json.json {
        eprintln!("{total} finding{}", if total == 1 { "" } else { "s" });
    }
    Ok(if total > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
