//! `trail import --from harness --follow DIR`: Harness's audit folder followed as Harness writes
//! it. Every `poll_ms` each `audit-*.jsonl` file is read from where the last poll stopped; each
//! complete new line is checked against the file's chain as Harness defines it (the same check
//! as `trail verify --format harness`), recorded once (its id is Harness's `event_id`, so a line
//! read twice adds nothing), and a problem is reported at once: on stderr, or as a JSON line
//! with `--json`. A cursor per file (`import/harness-follow.json` in the data directory: bytes
//! and lines read, the hash the next line must link to) is saved after the events it covers are
//! stored, so a restart resumes where the last run stopped. A file that shrinks was rewritten:
//! that is reported and the file is no longer followed (what was imported stays as it was); a
//! file replaced by another (a new inode) is reported and read from its start (lines already
//! recorded add nothing). A line that cannot be mapped, an id that already names a different
//! event, a link not checked after an unreadable line: each is reported and following goes on.
//! Only regular files are read (a symlink or a directory named `audit-*.jsonl` is reported once
//! and skipped), and a line may be at most 64 MiB. Editing lines the follower already read is not
//! seen here: what it recorded is signed in trail, and `trail verify --format harness` on the file
//! shows the edit.

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

/// The longest line read: a Harness event is a few KiB; past this the file is abandoned.
const MAX_LINE: u64 = 64 << 20;

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
    /// The file's inode when it was first read: another one means the file was replaced.
    #[serde(default)]
    inode: u64,
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
    // Listening for the signal from the start, so a stop during a long first pass ends cleanly
    // (the events so far stored, a final checkpoint signed) between two lines.
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, mut stop) = tokio::sync::watch::channel(false);
    {
        let stopped = stopped.clone();
        tokio::spawn(async move {
            crate::serve::shutdown_signal().await;
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = tx.send(true);
        });
    }
    let is_stopped = || stopped.load(std::sync::atomic::Ordering::SeqCst);
    let mut problems_seen = 0u64;
    let mut skipped: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    'poll: loop {
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
            let meta = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(_) => continue,
            };
            if !meta.file_type().is_file() {
                if skipped.insert(name.clone()) {
                    report(
                        json_out,
                        &name,
                        0,
                        "not_a_file",
                        &format!(
                            "{name} is not a regular file (a symlink or a directory); not read"
                        ),
                    );
                    problems_seen += 1;
                }
                continue;
            }
            let state = cursors.files.entry(name.clone()).or_default();
            if state.abandoned.is_some() {
                continue;
            }
            let inode = std::os::unix::fs::MetadataExt::ino(&meta);
            if state.inode != 0 && state.inode != inode {
                report(
                    json_out,
                    &name,
                    state.cursor.line,
                    "file_replaced",
                    &format!(
                        "{name} was replaced by another file (Harness only appends); reading the new one from its start"
                    ),
                );
                problems_seen += 1;
                *state = FileState::default();
                changed = true;
            }
            state.inode = inode;
            let len = meta.len();
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
            // At most a line's limit per look.
            f.take((len - state.cursor.offset).min(MAX_LINE))
                .read_to_end(&mut bytes)
                .with_context(|| format!("cannot read {}", path.display()))?;
            // Complete lines only: Harness may be mid-write on the last one.
            let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
                if bytes.len() as u64 >= MAX_LINE {
                    let why = format!(
                        "{name} line {} is over {} MiB without an end: not a Harness event; the file is no longer followed",
                        state.cursor.line + 1,
                        MAX_LINE >> 20
                    );
                    report(json_out, &name, state.cursor.line + 1, "line_too_long", &why);
                    problems_seen += 1;
                    state.abandoned = Some(why);
                    changed = true;
                }
                continue;
            };
            for raw in bytes[..=end].split_inclusive(|&b| b == b'\n') {
                if is_stopped() {
                    save(&cursor_path, &cursors)?;
                    break 'poll;
                }
                let read = follow_line(&path, &mut state.cursor, raw);
                for p in &read.problems {
                    report(json_out, &name, p.line, p.code, &p.message);
                    problems_seen += 1;
                }
                for n in &read.notes {
                    report(json_out, &name, read.line, "link_unchecked", n);
                    problems_seen += 1;
                }
                match read.event {
                    Some(Ok(event)) => {
                        let clash = crate::interop::clashing_ids(
                            recorder.store().as_ref(),
                            std::slice::from_ref(&event),
                        )?;
                        if let Some(id) = clash.first() {
                            report(
                                json_out,
                                &name,
                                read.line,
                                "id_clash",
                                &format!(
                                    "id {id} already names a different event in this log; this line was not recorded"
                                ),
                            );
                            problems_seen += 1;
                        } else {
                            recorder
                                .record_owned(event)
                                .await
                                .map_err(|e| anyhow!("{name} line {}: {e}", read.line))?;
                        }
                    }
                    Some(Err(e)) => {
                        report(
                            json_out,
                            &name,
                            read.line,
                            "unmappable",
                            &format!("{e}; the line was not recorded"),
                        );
                        problems_seen += 1;
                    }
                    None => {}
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
            _ = stop.changed() => break,
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
    crate::output::replace_file(path, &serde_json::to_vec_pretty(cursors)?)
        .with_context(|| format!("cannot save {}", path.display()))
}
