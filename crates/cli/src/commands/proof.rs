//! `trail proof` and `trail export`: receipts and the export of a whole log.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use serde_json::json;
use trail_core::export;
use trail_core::receipt::Receipt;
use trail_store::Store;

use crate::datadir::DataDir;
use crate::{DataArg, JsonArg};

#[derive(Args)]
pub struct ProofArgs {
    #[command(flatten)]
    data: DataArg,
    /// Receipt for the event with this id.
    #[arg(long, conflicts_with_all = ["seq", "from"])]
    id: Option<String>,
    /// Receipt for the event at this seq.
    #[arg(long, conflicts_with = "from")]
    seq: Option<u64>,
    /// Consistency proof from this tree size...
    #[arg(long)]
    from: Option<u64>,
    /// ...to this one (default: the latest checkpoint).
    #[arg(long, requires = "from")]
    to: Option<u64>,
    #[command(flatten)]
    json: JsonArg,
}

pub fn proof(args: ProofArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let store = dir.store()?;
    let state = store.state()?;
    if let Some(seq) = args.seq.filter(|s| *s >= state.size) {
        bail!(
            "no event at seq {seq}: the log has {}{}",
            crate::output::count(state.size, "event"),
            if state.size > 0 {
                format!(" (seq {} to {})", store.start()?, state.size - 1)
            } else {
                String::new()
            }
        );
    }
    let latest = store
        .latest_checkpoint()?
        .ok_or_else(|| anyhow!("the log has no signed checkpoint yet; run `trail checkpoint`"))?;
    if let Some(from) = args.from {
        let to = args.to.unwrap_or(latest.checkpoint.size);
        if from == 0 || from > to {
            bail!("--from {from} must be at least 1 and at most --to {to}");
        }
        if to > store.state()?.size {
            bail!("--to {to} is beyond the log size {}", store.state()?.size);
        }
        let proof: Vec<String> =
            store.consistency_proof(from, to)?.iter().map(|h| h.to_base64()).collect();
        if args.json.json {
            println!("{}", json!({"from": from, "to": to, "proof": proof}));
        } else {
            for h in proof {
                println!("{h}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let seq = match (&args.id, args.seq) {
        (Some(id), _) => store.find_id(id)?.ok_or_else(|| anyhow!("no event with id {id:?}"))?.seq,
        (None, Some(seq)) => seq,
        (None, None) => bail!("give --id, --seq, or --from"),
    };
    let r = receipt(&*store, seq, &latest)?;
    if args.json.json {
        println!(
            "{}",
            json!({"seq": seq, "tree_size": r.checkpoint.checkpoint.size, "receipt": r.to_text()})
        );
    } else {
        print!("{}", r.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the receipt of `seq` against `cp`.
pub fn receipt(store: &dyn Store, seq: u64, cp: &trail_core::SignedCheckpoint) -> Result<Receipt> {
    let size = cp.checkpoint.size;
    if seq >= size {
        bail!(
            "event {seq} is not covered by the latest checkpoint (size {size}) yet; run `trail checkpoint`"
        );
    }
    let rec = store
        .get(seq)?
        .ok_or_else(|| anyhow!("no event at seq {seq} (it may have been pruned)"))?;
    Ok(Receipt {
        record: rec.canonical,
        index: seq,
        proof: store.inclusion_proof(seq, size)?,
        checkpoint: cp.clone(),
    })
}

pub fn export(data: &Path, out: Option<&Path>, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let store = dir.store()?;
    let mut w: Box<dyn Write> = match out {
        Some(p) => Box::new(BufWriter::new(crate::output::create_new(p)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    write_export(&*store, &mut w)?;
    w.flush()?;
    if let Some(p) = out {
        let size = store.state()?.size - store.start()?;
        if json_out {
            println!("{}", json!({"format": "jsonl", "out": p, "records": size}));
        } else {
            eprintln!("exported {} to {}", crate::output::count(size, "record"), p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the trail export of `store`.
pub fn write_export(store: &dyn Store, w: &mut dyn Write) -> Result<()> {
    let checkpoints = store.checkpoints()?;
    let mut cps = checkpoints.iter().peekable();
    let anchor = store.anchor()?;
    let start = anchor.as_ref().map_or(0, |a| a.size);
    if let Some(a) = &anchor {
        writeln!(w, "{}", export::anchor_line(a))?;
    }
    while let Some(cp) = cps.next_if(|c| c.checkpoint.size <= start) {
        if cp.checkpoint.size == start && start > 0 {
            writeln!(w, "{}", export::checkpoint_line(&cp.to_string()))?;
        }
    }
    let mut io_err = None;
    store.scan(start, u64::MAX, &mut |r| {
        let mut write = || -> std::io::Result<()> {
            writeln!(w, "{}", export::record_line(&r.canonical, &r.hash, r.body.as_ref()))?;
            while let Some(cp) = cps.next_if(|c| c.checkpoint.size == r.seq + 1) {
                writeln!(w, "{}", export::checkpoint_line(&cp.to_string()))?;
            }
            Ok(())
        };
        match write() {
            Ok(()) => Ok(true),
            Err(e) => {
                io_err = Some(e);
                Ok(false)
            }
        }
    })?;
    if let Some(e) = io_err {
        return Err(e.into());
    }
    // Checkpoints beyond the records (a truncated store) still go out, so verify sees them.
    for cp in cps {
        writeln!(w, "{}", export::checkpoint_line(&cp.to_string()))?;
    }
    Ok(())
}
