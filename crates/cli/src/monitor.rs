//! `trail monitor URL --key VKEY`: follows a log's checkpoints from its tiles and proves each
//! one consistent with the last it kept, so a log that forks (shows this monitor one history and
//! someone else another, or rewrites its past) or rolls back is caught.
//!
//! Each round: fetch the checkpoint; check the log's signature (and, with `--witness`, that
//! `--quorum` witnesses cosigned it); against the checkpoint kept in `--state DIR`: a smaller
//! size is a rollback, the same size with another root a fork, a larger size must come with
//! tiles from which a consistency proof from the kept size verifies (the proof is computed from
//! the new tree's tiles and checked against the kept root, so tiles that hide a rewrite fail
//! it). Then the new checkpoint is kept (replaced atomically) and, with `--submit`, passed on to
//! witnesses. A fork or rollback ends the monitor with exit 1 and says so on stderr; network
//! errors are retried.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use serde_json::json;
use trail_core::{NoteVerifier, SignedCheckpoint};
use trail_merkle::tiles::{Tile, TileNodes};
use trail_server::witnessing::{Outcome, submit};

use crate::output::{green, red};
use crate::tiles::TileSource;

#[derive(Args)]
pub struct MonitorArgs {
    /// The log's tiles: a URL prefix (`http://HOST:PORT/tlog` for `trail serve`) or a directory
    /// `trail export --format tiles` wrote.
    url: String,
    /// The log's verifier key, or a file holding it.
    #[arg(long, required = true)]
    key: Vec<String>,
    /// Where the monitor keeps the latest checkpoint it verified, per log (kept across runs).
    #[arg(long, default_value = "trail-monitor", value_name = "DIR")]
    state: PathBuf,
    /// A witness's cosigner key, or a file holding it (repeatable): a checkpoint is taken only
    /// when --quorum of them cosigned it.
    #[arg(long, value_name = "VKEY")]
    witness: Vec<String>,
    /// How many of the --witness keys must have cosigned [default: all of them].
    #[arg(long, requires = "witness", value_name = "K")]
    quorum: Option<usize>,
    /// Check the current checkpoint against the kept one once and exit: 0 consistent and kept,
    /// 1 a fork, a rollback or a bad signature, 3 consistent but not yet cosigned by --quorum.
    #[arg(long)]
    once: bool,
    /// How often to fetch the checkpoint when following.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    interval_ms: u64,
    /// A witness's submission prefix to pass each new checkpoint to (repeatable), with
    /// --submit-vkey naming its key: the monitor then acts as the log's client for it.
    #[arg(long, value_name = "URL", requires = "submit_vkey")]
    submit: Vec<String>,
    /// The cosigner key of each --submit witness, in the same order.
    #[arg(long, value_name = "VKEY")]
    submit_vkey: Vec<String>,
    #[command(flatten)]
    json: crate::JsonArg,
}

/// What the monitor concluded of one checkpoint.
enum Seen {
    /// The first checkpoint this monitor keeps of the log.
    First,
    Same,
    /// Consistent with the kept checkpoint of this size.
    Grew(u64),
    /// Not taken: why (for example, too few cosignatures yet).
    Skipped(String),
}

pub async fn monitor(args: MonitorArgs) -> Result<ExitCode> {
    let keys = crate::commands::load_keys(&args.key, "--key")?;
    if keys.iter().any(NoteVerifier::is_cosigner) {
        bail!("--key takes the log's verifier key; a witness's key goes to --witness");
    }
    let (witnesses, quorum) = crate::witness::policy(&args.witness, args.quorum)?;
    let submit_keys = crate::witness::cosigner_keys(&args.submit_vkey, "--submit-vkey")?;
    if submit_keys.len() != args.submit.len() {
        bail!("give one --submit-vkey for each --submit URL, in the same order");
    }
    std::fs::create_dir_all(&args.state)
        .with_context(|| format!("cannot create {}", args.state.display()))?;
    let source = TileSource::new(&args.url)?;
    let client = trail_server::listen::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let mut submitted: Vec<u64> = vec![0; args.submit.len()];
    let m =
        Monitor { source: &source, keys: &keys, witnesses: &witnesses, quorum, state: &args.state };
    loop {
        match m.round() {
            Ok((cp, seen)) => {
                report(&cp, &seen, args.json.json);
                if matches!(seen, Seen::First | Seen::Grew(_)) {
                    for (i, url) in args.submit.iter().enumerate() {
                        submitted[i] =
                            pass_on(&client, &m, url, &submit_keys[i], &cp, submitted[i]).await;
                    }
                }
                if args.once {
                    // 3: consistent, but not yet cosigned by the quorum (not an alarm).
                    return Ok(if matches!(seen, Seen::Skipped(_)) {
                        ExitCode::from(3)
                    } else {
                        ExitCode::SUCCESS
                    });
                }
            }
            Err(Alarm::Misbehaviour(why)) => {
                if args.json.json {
                    println!("{}", json!({"alarm": why, "log": args.url}));
                } else {
                    println!("{} {why}", red("ALARM:"));
                }
                eprintln!("trail: monitor: {why}");
                return Ok(ExitCode::from(1));
            }
            Err(Alarm::Error(e)) if args.once => return Err(e),
            Err(Alarm::Error(e)) => eprintln!("trail: monitor: {e:#}; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(args.interval_ms.max(100))) => {}
            _ = crate::serve::shutdown_signal() => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// What stops a round: the log misbehaved, or the monitor could not look.
enum Alarm {
    Misbehaviour(String),
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Alarm {
    fn from(e: anyhow::Error) -> Alarm {
        Alarm::Error(e)
    }
}

struct Monitor<'a> {
    source: &'a TileSource,
    keys: &'a [NoteVerifier],
    witnesses: &'a [NoteVerifier],
    quorum: usize,
    state: &'a Path,
}

impl Monitor<'_> {
    fn nodes(&self, size: u64) -> TileNodes<impl Fn(&Tile) -> Result<Vec<u8>> + '_> {
        TileNodes { size, read: move |t: &Tile| self.source.fetch(&t.path()) }
    }

    fn round(&self) -> Result<(SignedCheckpoint, Seen), Alarm> {
        let text = String::from_utf8(self.source.fetch("checkpoint")?)
            .map_err(|_| anyhow!("{}: the checkpoint is not UTF-8", self.source.describe()))?;
        let mut all = self.keys.to_vec();
        all.extend(self.witnesses.iter().cloned());
        let cp = SignedCheckpoint::open(&text, &all).map_err(|e| {
            Alarm::Misbehaviour(format!(
                "{}: the checkpoint does not verify under the log's key: {e}",
                self.source.describe()
            ))
        })?;
        let path = self.state.join(trail_witness::state::origin_hash(&cp.checkpoint.origin));
        let kept = match std::fs::read_to_string(&path) {
            Ok(t) => Some(SignedCheckpoint::parse(&t).map_err(|e| {
                anyhow!(
                    "{}: the kept checkpoint is unreadable ({e}); remove it to start over",
                    path.display()
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(anyhow!("cannot read {}: {e}", path.display()).into()),
        };
        let (new, size) = (&cp.checkpoint, cp.checkpoint.size);
        // The tiles must make the signed root (checked for the first checkpoint too).
        let nodes = self.nodes(size);
        if size > 0 {
            let root = trail_merkle::root(&nodes, size)
                .map_err(|e| anyhow!("reading the tree of size {size} from tiles: {e}"))?;
            if root != new.root {
                return Err(Alarm::Misbehaviour(format!(
                    "{}: the tiles make root {}, but checkpoint {size} signs {}",
                    new.origin,
                    root.to_base64(),
                    new.root.to_base64()
                )));
            }
        }
        // A signed checkpoint inconsistent with the kept one is an alarm whether or not
        // witnesses cosigned it: the log's own signature is the evidence.
        let seen = match &kept {
            None => Seen::First,
            Some(k) if k.checkpoint.size > size => {
                return Err(Alarm::Misbehaviour(format!(
                    "ROLLBACK of {}: the log now shows size {size}, but this monitor verified size {} before",
                    new.origin, k.checkpoint.size
                )));
            }
            Some(k) if k.checkpoint.size == size => {
                if k.checkpoint.root != new.root {
                    return Err(Alarm::Misbehaviour(format!(
                        "FORK of {}: size {size} is signed with root {} now and root {} before",
                        new.origin,
                        new.root.to_base64(),
                        k.checkpoint.root.to_base64()
                    )));
                }
                Seen::Same
            }
            Some(k) => {
                let old = k.checkpoint.size;
                if old > 0 {
                    let proof =
                        trail_merkle::consistency_proof(&nodes, old, size).map_err(|e| {
                            anyhow!("consistency proof {old} to {size} from tiles: {e}")
                        })?;
                    if let Err(e) = trail_merkle::verify_consistency(
                        old,
                        size,
                        &proof,
                        &k.checkpoint.root,
                        &new.root,
                    ) {
                        return Err(Alarm::Misbehaviour(format!(
                            "FORK of {}: checkpoint {size} is not consistent with checkpoint {old} verified before ({e}): \
                             the log rewrote its history or shows different histories to different readers",
                            new.origin
                        )));
                    }
                }
                Seen::Grew(old)
            }
        };
        let cosigned = cp.note.cosigned_by(self.witnesses).len();
        if cosigned < self.quorum {
            let why = format!(
                "checkpoint {size} is consistent, but carries {cosigned} of the {} cosignatures asked for; not kept yet",
                self.quorum
            );
            return Ok((cp, Seen::Skipped(why)));
        }
        if !matches!(seen, Seen::Same) {
            crate::output::replace_file(&path, cp.to_string().as_bytes())
                .with_context(|| format!("cannot keep the checkpoint in {}", path.display()))?;
        }
        Ok((cp, seen))
    }
}

fn report(cp: &SignedCheckpoint, seen: &Seen, json_out: bool) {
    let (size, root) = (cp.checkpoint.size, cp.checkpoint.root.to_base64());
    if json_out {
        let (status, detail) = match seen {
            Seen::First => ("first", json!(null)),
            Seen::Same => ("same", json!(null)),
            Seen::Grew(old) => ("consistent", json!(old)),
            Seen::Skipped(why) => ("skipped", json!(why)),
        };
        println!(
            "{}",
            json!({"origin": cp.checkpoint.origin, "size": size, "root": root, "status": status, "detail": detail})
        );
        return;
    }
    match seen {
        Seen::First => println!(
            "{} {} size {size} root {root} (first checkpoint kept)",
            green("ok"),
            cp.checkpoint.origin
        ),
        Seen::Same => println!("{} {} size {size} unchanged", green("ok"), cp.checkpoint.origin),
        Seen::Grew(old) => println!(
            "{} {} size {size} root {root}: consistent with size {old}",
            green("ok"),
            cp.checkpoint.origin
        ),
        Seen::Skipped(why) => println!("{} {why}", crate::output::yellow("wait:")),
    }
}

/// Passes `cp` to a witness with a proof from the size it last cosigned (from tiles); returns
/// the witness's size afterwards.
async fn pass_on(
    client: &reqwest::Client,
    m: &Monitor<'_>,
    url: &str,
    key: &NoteVerifier,
    cp: &SignedCheckpoint,
    mut old: u64,
) -> u64 {
    let size = cp.checkpoint.size;
    let mut bare = cp.clone();
    bare.note
        .signatures
        .retain(|s| m.keys.iter().any(|k| k.name() == s.name && k.key_id() == s.key_id));
    for _ in 0..2 {
        let proof = if old == 0 || old >= size {
            Vec::new()
        } else {
            match trail_merkle::consistency_proof(&m.nodes(size), old, size) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("trail: monitor: proof for {url}: {e}");
                    return old;
                }
            }
        };
        match submit(client, url, &bare, old, proof, key).await {
            Outcome::Cosigned(_) => {
                eprintln!("trail: monitor: {} cosigned size {size}", key.name());
                return size;
            }
            Outcome::Conflict(theirs) if theirs <= size && theirs != old => old = theirs,
            Outcome::Conflict(theirs) => {
                eprintln!(
                    "trail: monitor: {} has cosigned size {theirs}; cannot pass size {size} on",
                    key.name()
                );
                return theirs;
            }
            Outcome::Refused(why) => {
                eprintln!(
                    "trail: monitor: WARNING: {} refuses checkpoint {size} as inconsistent with what it cosigned: {why}",
                    key.name()
                );
                return old;
            }
            Outcome::Failed(why) => {
                eprintln!("trail: monitor: {}: {why}", key.name());
                return old;
            }
        }
    }
    old
}
