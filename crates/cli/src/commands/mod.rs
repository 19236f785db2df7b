//! The log's lifecycle: init, log, checkpoint, proof, export, verify, demo, repair, keygen.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use trail_core::{Checkpoint, NoteSigner};
use trail_ingest::Recorder;
use trail_store::Store;

use crate::datadir::{DataDir, write_private};
use crate::writer::Writer;

mod demo;
mod log;
mod proof;
mod verify;

pub use demo::demo;
pub use log::{LogArgs, log};
pub use proof::{ProofArgs, export, proof};
pub(crate) use verify::load_keys;
pub use verify::{VerifyArgs, verify, verify_data_dir};

/// `trail init`'s settings beyond the log's name and store.
pub struct InitOptions<'a> {
    /// A Harness or denkeeper config whose `[audit]` settings to take.
    pub audit_from: Option<&'a Path>,
    /// `commit` or `checkpoint`.
    pub durability: &'a str,
}

pub fn init(
    path: &Path,
    origin: &str,
    store: &str,
    opts: &InitOptions<'_>,
    json: bool,
) -> Result<ExitCode> {
    let audit = match opts.audit_from {
        Some(file) => crate::datadir::AuditConfig::from_file(file)?,
        None => crate::datadir::AuditConfig::default(),
    };
    let (dir, signer) = DataDir::init(path, origin, store, audit, opts.durability)?;
    let vkey = signer.verifier().to_string();
    if json {
        println!("{}", json!({"data": dir.path, "origin": origin, "store": store, "vkey": vkey}));
    } else {
        println!("created log {origin} in {} ({store} store)", dir.path.display());
        println!(
            "verifier key (give it to auditors; it is also in {}/log.vkey):",
            dir.path.display()
        );
        println!("{vkey}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the recorder on a data directory's store (the caller holds it as a [`Writer`]).
pub fn open_recorder(dir: &DataDir, store: Arc<dyn Store>) -> Result<Recorder> {
    dir.open_recorder(store)
}

pub async fn checkpoint(data: &Path, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let writer = Writer::wait(&dir)?;
    let store = writer.store.clone();
    let signer = dir.signer()?;
    let size = store.state()?.size;
    let latest = store.latest_checkpoint()?;
    let latest_size = latest.as_ref().map(|c| c.checkpoint.size);
    if latest_size.is_none_or(|s| s < size) {
        let cp = Checkpoint { origin: dir.origin().to_owned(), size, root: store.root_at(size)? }
            .sign(&signer);
        store.put_checkpoint(latest_size, &cp)?;
    }
    // With witnesses: ask those that have not cosigned the latest checkpoint, once.
    let mut witnessed = Vec::new();
    let witnessing = trail_server::witnessing::Witnessing::new(
        &dir.config.witnesses,
        dir.config.witness.as_ref(),
    )
    .with_context(|| format!("{}/trail.toml", dir.path.display()))?;
    if let Some(w) = witnessing
        && size > 0
    {
        for (name, result) in w.cosign_latest(&store).await.map_err(|e| anyhow!(e))? {
            match &result {
                Ok(Some(n)) if !json_out => eprintln!("trail: {name} cosigned size {n}"),
                Ok(_) => {}
                Err(why) => eprintln!("trail: WARNING: witness {name} did not cosign: {why}"),
            }
            witnessed.push(json!({"witness": name, "cosigned": result.as_ref().ok().copied().flatten(), "error": result.err()}));
        }
    }
    match store.latest_checkpoint()? {
        Some(cp) if json_out => println!(
            "{}",
            json!({"size": cp.checkpoint.size, "root": cp.checkpoint.root.to_string(), "note": cp.to_string(), "witnesses": witnessed})
        ),
        Some(cp) => print!("{cp}"),
        None => bail!("the log is empty: there is nothing to checkpoint"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn repair(data: &Path, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    if dir.config.log.store != "files" {
        bail!("repair applies to the files store; SQLite recovers torn transactions itself");
    }
    let _lock = dir.lock_writer()?;
    let moved = trail_store::file::FileStore::repair(&dir.path)?;
    if json_out {
        println!("{}", json!({"moved_bytes": moved}));
    } else if moved == 0 {
        println!("nothing to repair: the log ends with a complete line");
    } else {
        println!(
            "moved {moved} bytes of an incomplete last line to {}/log.jsonl.torn (that event was never acknowledged)",
            dir.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn keygen(name: &str, out: &Path, json_out: bool) -> Result<ExitCode> {
    let signer = NoteSigner::from_seed(name, rand::random()).map_err(|e| anyhow!("{e}"))?;
    let vkey_path = PathBuf::from(format!("{}.vkey", out.display()));
    // Both paths checked first, so a refusal leaves no half of a key pair behind.
    for p in [out, vkey_path.as_path()] {
        if p.exists() {
            bail!(
                "{} already exists; refusing to overwrite it (remove it or choose another --out)",
                p.display()
            );
        }
    }
    write_private(out, &(signer.to_private_key_string() + "\n"))?;
    crate::output::create_new(&vkey_path)?
        .write_all((signer.verifier().to_string() + "\n").as_bytes())?;
    if json_out {
        println!(
            "{}",
            json!({"verifier_key": signer.verifier().to_string(), "private_key_file": out, "verifier_key_file": vkey_path})
        );
    } else {
        println!("{}", signer.verifier());
    }
    Ok(ExitCode::SUCCESS)
}
