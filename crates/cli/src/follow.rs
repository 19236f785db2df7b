//! `trail import --from harness --follow DIR`: Harness's audit folder followed as Harness writes
//! it. Every `poll_ms` each `audit-*.jsonl` file is read from where the last poll stopped; each
//! complete new line is checked against the file's chain as Harness defines it (the same check
//! as `trail verify --format harness`), recorded once (its id is Harness's `event_id`, so a line
//! read twice adds nothing), and a problem is reported at once: on stderr, or as a JSON line
//! with `--json`. A cursor per file (`import/harness-follow.json` in the data directory: bytes
//! and lines read, the hash the next line must link to) is saved after the events it covers are
//! stored, so a restart resumes where the last run stopped. A file that shrinks was rewritten:
//! that is reported and the file is no longer followed (what was imported stays as it was).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;
use trail_interop::harness::{FollowCursor, follow_line};

use crate::commands::open_recorder;
use crate::datadir::DataDir;
use crate::output::red;

/// The cursors, by file name.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursors {
    /// The folder followed: a cursor file belongs to one.
    dir: PathBuf,
    files: BTreeMap<String, FileState>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileState {
    cursor: FollowCursor,
    /// Set when the file shrank: it is not followed any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    abandoned: Option<String>,
}

pub async fn follow_harness(
    data: &Path,
    dir: &Path,
    poll_ms: u64,
    json_out: bool,
) -> Result<ExitCode> {
    let folder = dir
        .canonicalize()
        .with_context(|| format!("--follow {}: no such directory", dir.display()))?;
    if !folder.is_dir() {
        bail!(
            "--follow takes Harness's audit directory (e.g. ~/.harness/audit), not a file: {}",
            dir.display()
        );
    }
    let data = DataDir::open(data)?;
    let cursor_path = data.path.join("import").join("harness-follow.json");
    let mut cursors = match std::fs::read_to_string(&cursor_path) {
        Ok(text) => serde_json::from_str::<Cursors>(&text)
            .with_context(|| format!("{} is not a follow cursor file", cursor_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Cursors { dir: folder.clone(), ..Cursors::default() }
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", cursor_path.display())),
    };
    if cursors.dir != folder {
        bail!(
            "{} follows {}, not {}: one data directory follows one Harness folder (move the file away to start over)",
            cursor_path.display(),
            cursors.dir.display(),
            folder.display()
        );
    }
    let writer = crate::writer::Writer::wait(&data)?;
    let recorder = open_recorder(&data, writer.store.clone())?;
    eprintln!(
        "trail: following Harness audit files in {} (every {poll_ms} ms; cursors in {})",
        folder.display(),
        cursor_path.display()
    );
    let stop = crate::serve::shutdown_signal();
    tokio::pin!(stop);
    let mut problems_seen = 0u64;
    loop {
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .with_context(|| format!("cannot list {}", folder.display()))?
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
            .collect();
        names.sort();
        let mut changed = false;
        for name in names {
            let path = folder.join(&name);
            let state = cursors.files.entry(name.clone()).or_default();
            if state.abandoned.is_some() {
                continue;
            }
            let len = match std::fs::metadata(&path) {
                Ok(m) => m.len(),
                Err(_) => continue,
            };
            if len < state.cursor.offset {
                let why = format!(
                    "{name} shrank from {} to {len} bytes: Harness only appends, so it was rewritten or cut; \
                     what was imported stays as it was, and the file is no longer followed",
                    state.cursor.offset
                );
                report(json_out, &name, state.cursor.line, "file_shrank", &why);
                problems_seen += 1;
                state.abandoned = Some(why);
                changed = true;
                continue;
            }
            if len == state.cursor.offset {
                continue;
            }
            let mut f = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            f.seek(SeekFrom::Start(state.cursor.offset))?;
            let mut bytes = Vec::new();
            f.take(len - state.cursor.offset).read_to_end(&mut bytes)?;
            // Complete lines only: Harness may be mid-write on the last one.
            let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else { continue };
            for raw in bytes[..=end].split_inclusive(|&b| b == b'\n') {
                let read = follow_line(&path, &mut state.cursor, raw);
                for p in &read.problems {
                    report(json_out, &name, p.line, p.code, &p.message);
                    problems_seen += 1;
                }
                if let Some(event) = read.event {
                    let event = event.map_err(|e| anyhow!("{e}"))?;
                    recorder
                        .record_owned(event)
                        .await
                        .map_err(|e| anyhow!("{name} line {}: {e}", read.line))?;
                }
                changed = true;
            }
        }
        if changed {
            // After the events it covers are stored: a crash before this re-reads lines that the
            // log already holds, which adds nothing.
            save(&cursor_path, &cursors)?;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(poll_ms.max(10))) => {}
            _ = &mut stop => break,
        }
    }
    recorder.close().await.map_err(|e| anyhow!("final checkpoint: {e}"))?;
    eprintln!("trail: stopped following; {problems_seen} problem(s) reported");
    Ok(if problems_seen > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn report(json_out: bool, file: &str, line: u64, code: &str, message: &str) {
    if json_out {
        println!("{}", json!({"file": file, "line": line, "problem": code, "message": message}));
    } else {
        eprintln!("{} {file} line {line}: {message}", red("PROBLEM:"));
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}

fn save(path: &Path, cursors: &Cursors) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(cursors)?)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot save {}", path.display()))
}
