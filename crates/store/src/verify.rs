//! Verifying a log through its store: the anchor, then the records in order with every
//! checkpoint placed after the last record it covers, then everything the store derives from
//! the records ([`Store::check_derived`]). The records are read and parsed on one thread and
//! checked on another. The one routine `trail verify --data` and the
//! dashboard's "verify now" both run.

use trail_core::verify::{BodyInput, Location, Report, Verifier, VerifyOptions};

use crate::{Result, Store, StoredRecord};

/// Records handed from the reading thread to the checking one at a time.
const CHUNK: usize = 512;

/// Verifies `store`; `progress` is told each record's seq as it is checked. Checkpoints are read
/// before the size, so every checkpoint read covers only records that will be scanned; records
/// appended meanwhile are not read.
pub fn verify_store(
    store: &dyn Store,
    opts: VerifyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Report> {
    let mut v = Verifier::new(opts);
    let checkpoints = store.checkpoints()?;
    let anchor = store.anchor()?;
    let size = store.state()?.size;
    let start = anchor.as_ref().map_or(0, |a| a.size);
    if let Some(a) = &anchor {
        v.anchor(Location::default(), a);
    }
    let mut cps = checkpoints.iter().filter(|c| c.checkpoint.size > start || start == 0).peekable();
    while let Some(cp) = cps.next_if(|c| c.checkpoint.size <= start) {
        v.checkpoint(Location::default(), &cp.to_string());
    }
    // Two stages, one core each: this thread checks what the other reads and parses. The
    // records go across in chunks, a few chunks ahead at most, so memory stays bounded.
    std::thread::scope(|scope| -> Result<()> {
        let (chunks, arriving) = std::sync::mpsc::sync_channel::<Vec<StoredRecord>>(4);
        let reader = scope.spawn(move || {
            let mut chunk = Vec::with_capacity(CHUNK);
            store.scan(start, size, &mut |r| {
                chunk.push(r);
                if chunk.len() == CHUNK {
                    // The checker stopped (it never does early): stop reading.
                    return Ok(chunks.send(std::mem::take(&mut chunk)).is_ok());
                }
                Ok(true)
            })?;
            if !chunk.is_empty() {
                let _ = chunks.send(chunk);
            }
            Ok(())
        });
        for chunk in arriving {
            for r in chunk {
                let body = match &r.body {
                    Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                    None => BodyInput::Absent,
                };
                progress(r.seq);
                // The store parsed each record as it read it; the verifier reuses that parse.
                v.parsed_record(Location::seq(r.seq), &r.canonical, &r.record, None, body);
                while let Some(cp) = cps.next_if(|c| c.checkpoint.size == r.seq + 1) {
                    v.checkpoint(Location::seq(r.seq), &cp.to_string());
                }
            }
        }
        reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    for cp in cps {
        v.checkpoint(Location::default(), &cp.to_string());
    }
    // What queries, filters and counts read beside the records must say what the records say.
    store.check_derived(&mut |m| {
        v.problem(
            Location { line: None, seq: m.seq },
            "index_mismatch",
            format!("{}: {}", m.table, m.message),
        );
    })?;
    Ok(v.finish())
}
