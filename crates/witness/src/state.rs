//! What a witness has cosigned: for each log, the latest checkpoint it cosigned (the log's
//! signature and the witness's own cosignature with it), in `logs/<sha256(origin) hex>`.
//!
//! A file is replaced, never edited: the new checkpoint goes to a temporary file, which is
//! synced, renamed over the old one, and the directory synced, all before the witness answers.
//! A crash at any step leaves either the old checkpoint or the new one, whole; the answer (the
//! only thing that makes the new one count for a log) leaves after the last sync.
//!
//! For crash tests, `TRAIL_WITNESS_ABORT_AT=<step>` aborts the process at one of [`STEPS`].

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use trail_core::SignedCheckpoint;

/// The steps of saving a checkpoint, in order; `TRAIL_WITNESS_ABORT_AT` names one.
pub const STEPS: [&str; 5] = ["write", "sync", "rename", "sync-dir", "answer"];

/// The checkpoints a witness cosigned, in a directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (and creates) the `logs` directory under `dir`.
    pub fn open(dir: &Path) -> io::Result<StateDir> {
        let dir = dir.join("logs");
        fs::create_dir_all(&dir)?;
        // A save cut short leaves its temporary file: never acknowledged, so it goes.
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                fs::remove_file(&path)?;
            }
        }
        Ok(StateDir { dir })
    }

    /// Keeps a signed checkpoint that contradicts one this witness cosigned (the same size, another
    /// root: proof of a fork) in `evidence/`, once per tree head; where it went, if it could.
    pub fn keep_evidence(&self, cp: &SignedCheckpoint) -> Option<PathBuf> {
        let dir = self.dir.parent()?.join("evidence");
        let name = format!(
            "{}-{}-{}",
            origin_hash(&cp.checkpoint.origin),
            cp.checkpoint.size,
            &cp.checkpoint.root.to_hex()[..16]
        );
        let path = dir.join(name);
        if path.exists() {
            return Some(path);
        }
        fs::create_dir_all(&dir).ok()?;
        fs::write(&path, cp.to_string()).ok()?;
        Some(path)
    }

    /// The file of the log with this origin.
    pub fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(origin_hash(origin))
    }

    /// The latest checkpoint cosigned for `origin`, if any.
    pub fn load(&self, origin: &str) -> io::Result<Option<SignedCheckpoint>> {
        let path = self.path(origin);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let cp = SignedCheckpoint::parse(&text).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
        })?;
        if cp.checkpoint.origin != origin {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} holds a checkpoint of {:?}", path.display(), cp.checkpoint.origin),
            ));
        }
        Ok(Some(cp))
    }

    /// Replaces the checkpoint of its origin, durably (see the module's text).
    pub fn save(&self, cp: &SignedCheckpoint) -> io::Result<()> {
        let path = self.path(&cp.checkpoint.origin);
        let tmp = path.with_extension("tmp");
        let mut f = File::create(&tmp)?;
        abort_at("write");
        f.write_all(cp.to_string().as_bytes())?;
        f.sync_all()?;
        drop(f);
        abort_at("sync");
        fs::rename(&tmp, &path)?;
        abort_at("rename");
        File::open(&self.dir)?.sync_all()?;
        abort_at("sync-dir");
        Ok(())
    }
}

/// `SHA-256(origin)`, lowercase hex: the name the monitoring endpoint uses for a log.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// Aborts the process here when `TRAIL_WITNESS_ABORT_AT` names this step (crash tests).
pub fn abort_at(step: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT.get_or_init(|| std::env::var("TRAIL_WITNESS_ABORT_AT").ok()).as_deref() == Some(step) {
        std::process::abort();
    }
}
