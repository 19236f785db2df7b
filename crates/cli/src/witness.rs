//! `trail witness`: run a C2SP `tlog-witness` for other logs (trail's or any that speak the
//! protocol). The witness lives in its own directory: `witness.key` (mode 0600),
//! `witness.vkey`, `witness.toml` (its name and the logs it witnesses) and `logs/` (the
//! latest checkpoint it cosigned of each, see `trail_witness::state`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use trail_core::{NoteSigner, NoteVerifier};
use trail_witness::config::{CONFIG_FILE, LogEntry, WitnessConfig, WitnessSection};
use trail_witness::{Witness, state};

use crate::datadir::write_private;

const KEY_FILE: &str = "witness.key";
const VKEY_FILE: &str = "witness.vkey";
const LOCK_FILE: &str = "witness.lock";

#[derive(Args)]
pub struct WitnessArgs {
    #[command(subcommand)]
    pub command: WitnessCommand,
}

/// The witness's directory.
#[derive(Args, Clone)]
pub struct WitnessDir {
    /// The witness's directory (its key, witness.toml and state).
    #[arg(long, env = "TRAIL_WITNESS_DATA", default_value = "trail-witness", value_name = "DIR")]
    pub data: PathBuf,
}

#[derive(Subcommand)]
pub enum WitnessCommand {
    /// Create a witness: its Ed25519 cosigner key (witness.key, mode 0600; witness.vkey, type
    /// 0x04 cosignature/v1) and a witness.toml that lists no log yet.
    Init {
        #[command(flatten)]
        data: WitnessDir,
        /// The witness's name, a schema-less URL such as witness.example/w1; also its key's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        json: crate::JsonArg,
    },
    /// Witness one more log: append a `[[logs]]` table for its verifier key (the key's name is the
    /// log's origin). A running witness picks it up when restarted.
    Add {
        #[command(flatten)]
        data: WitnessDir,
        /// The log's verifier key, or a file holding it.
        #[arg(long, value_name = "VKEY")]
        vkey: String,
        #[command(flatten)]
        json: crate::JsonArg,
    },
    /// Answer POST /add-checkpoint for the logs in witness.toml, and GET /<sha256(origin)>/checkpoint.
    Serve {
        #[command(flatten)]
        data: WitnessDir,
        /// Address to listen on [default: `[witness] listen` in witness.toml, else 127.0.0.1:7380].
        #[arg(long)]
        listen: Option<String>,
        /// Say where it serves as one JSON line (`{"url", "name", "vkey", "logs"}`).
        #[command(flatten)]
        json: crate::JsonArg,
    },
}

pub async fn witness(args: WitnessArgs) -> Result<ExitCode> {
    match args.command {
        WitnessCommand::Init { data, name, json } => init(&data.data, &name, json.json),
        WitnessCommand::Add { data, vkey, json } => add(&data.data, &vkey, json.json),
        WitnessCommand::Serve { data, listen, json } => serve(&data.data, listen, json.json).await,
    }
}

fn init(dir: &Path, name: &str, json_out: bool) -> Result<ExitCode> {
    let signer =
        NoteSigner::cosigner_from_seed(name, rand::random()).map_err(|e| anyhow!("--name: {e}"))?;
    for f in [KEY_FILE, VKEY_FILE, CONFIG_FILE] {
        if dir.join(f).exists() {
            bail!(
                "{} already exists: {} is a witness already (its key is never overwritten)",
                dir.join(f).display(),
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_private(&dir.join(KEY_FILE), &(signer.to_private_key_string() + "\n"))?;
    let vkey = signer.verifier().to_string();
    // The vkey and the configuration are public: readable by all, unlike the key.
    let public = |name: &str| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(name))
            .with_context(|| format!("cannot create {}", dir.join(name).display()))
    };
    public(VKEY_FILE)?.write_all(format!("{vkey}\n").as_bytes())?;
    let config = WitnessConfig {
        witness: WitnessSection { name: name.to_owned(), listen: None, max_per_second: 5 },
        logs: Vec::new(),
    };
    let text = format!(
        "{}\n# Logs this witness cosigns: `trail witness add --vkey VKEY`, or a table per log key:\n\
         # [[logs]]\n# origin = \"trail.example/log\"\n# vkey = \"trail.example/log+0a1b2c3d+AQ...\"\n",
        toml::to_string(&config)?
    );
    public(CONFIG_FILE)?.write_all(text.as_bytes())?;
    if json_out {
        println!("{}", json!({"name": name, "vkey": vkey, "dir": dir}));
    } else {
        println!("{vkey}");
        eprintln!(
            "trail: witness {name} created in {}; give its vkey (above, and in {VKEY_FILE}) to the logs it witnesses, \
             and add each log with `trail witness add --data {} --vkey LOG-VKEY`",
            dir.display(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn add(dir: &Path, vkey: &str, json_out: bool) -> Result<ExitCode> {
    let mut config = WitnessConfig::load(dir).map_err(|e| anyhow!(e))?;
    let key = crate::commands::load_keys(&[vkey.to_owned()], "--vkey")?.remove(0);
    if key.is_cosigner() {
        bail!("--vkey is a witness's cosigner key; give the log's verifier key (type 0x01)");
    }
    let text = key.to_string();
    if config.logs.iter().any(|l| l.vkey.trim() == text) {
        bail!("{} already witnesses {} with this key", dir.display(), key.name());
    }
    let rotation = config.logs.iter().any(|l| l.origin == key.name());
    config.logs.push(LogEntry { origin: key.name().to_owned(), vkey: text.clone() });
    config.log_keys().map_err(|e| anyhow!(e))?;
    // Appended as a table, so the file's comments and layout stay as the operator left them.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(CONFIG_FILE))
        .with_context(|| format!("cannot open {}", dir.join(CONFIG_FILE).display()))?;
    writeln!(f, "\n[[logs]]\norigin = {:?}\nvkey = {:?}", key.name(), text)?;
    f.sync_all()?;
    if json_out {
        println!("{}", json!({"origin": key.name(), "vkey": text}));
    } else if rotation {
        eprintln!(
            "trail: {} now also trusts this key for {} (it already witnessed that log with another); restart `trail witness serve` to take it up",
            dir.display(),
            key.name()
        );
    } else {
        eprintln!(
            "trail: {} now witnesses {}; restart `trail witness serve` to take it up",
            dir.display(),
            key.name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The witness's key and configuration, checked.
fn open(dir: &Path) -> Result<(NoteSigner, WitnessConfig)> {
    let config = WitnessConfig::load(dir).map_err(|e| {
        anyhow!(
            "{e}\n(create a witness with `trail witness init --data {} --name NAME`)",
            dir.display()
        )
    })?;
    let key_path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&key_path)
        .with_context(|| format!("cannot read {}", key_path.display()))?;
    let signer: NoteSigner = text.parse().map_err(|e| anyhow!("{}: {e}", key_path.display()))?;
    if !signer.is_cosigner() {
        bail!("{} is a log's key, not a witness's (type 0x04)", key_path.display());
    }
    if signer.name() != config.witness.name {
        bail!(
            "{} names the witness {:?} but its key is {:?}",
            dir.join(CONFIG_FILE).display(),
            config.witness.name,
            signer.name()
        );
    }
    Ok((signer, config))
}

async fn serve(dir: &Path, listen: Option<String>, json_out: bool) -> Result<ExitCode> {
    let (signer, config) = open(dir)?;
    let logs = config.log_keys().map_err(|e| anyhow!(e))?;
    if logs.is_empty() {
        eprintln!(
            "trail: WARNING: {} lists no log: every checkpoint will be answered 404 (add one with `trail witness add`)",
            dir.join(CONFIG_FILE).display()
        );
    }
    // One process per witness directory: two would each hold the lock that keeps a log's
    // state from moving back, and nothing would stop them interleaving.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .with_context(|| format!("cannot open {}", dir.join(LOCK_FILE).display()))?;
    if lock.try_lock().is_err() {
        bail!("another `trail witness serve` is running on {}", dir.display());
    }
    let vkey = signer.verifier();
    let origins: Vec<String> = logs.keys().cloned().collect();
    let witness = Witness::new(signer, logs, dir)
        .map_err(|e| anyhow!(e))?
        .with_rate_limit(config.witness.max_per_second);
    for origin in &origins {
        // A state file that cannot be read would refuse that log's every checkpoint: say so now.
        witness
            .latest(&state::origin_hash(origin))
            .map_err(|e| anyhow!("the state of log {origin:?}: {e}"))?;
    }
    let listen =
        listen.or_else(|| config.witness.listen.clone()).unwrap_or_else(|| "127.0.0.1:7380".into());
    let addr: SocketAddr = tokio::net::lookup_host(&listen)
        .await
        .with_context(|| format!("cannot resolve listen address {listen:?}"))?
        .next()
        .ok_or_else(|| anyhow!("listen address {listen:?} resolves to nothing"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let router = trail_server::witness::router(Arc::new(witness));
    if json_out {
        println!(
            "{}",
            json!({"url": format!("http://{local}"), "name": vkey.name(), "vkey": vkey.to_string(), "logs": origins})
        );
    } else {
        println!(
            "trail: witness {} serving {} log(s) on http://{local}",
            vkey.name(),
            origins.len()
        );
    }
    let _ = std::io::stdout().flush();
    trail_server::serve_router(
        listener,
        router,
        crate::serve::shutdown_signal(),
        trail_server::ServeOptions::default(),
    )
    .await
    .context("witness server failed")?;
    drop(lock);
    Ok(ExitCode::SUCCESS)
}

/// A witness policy from `--witness` and `--quorum`: the witnesses' keys, and how many of them
/// must have cosigned a checkpoint (default: all of them).
pub fn policy(witness: &[String], quorum: Option<usize>) -> Result<(Vec<NoteVerifier>, usize)> {
    let keys = cosigner_keys(witness, "--witness")?;
    let k = match quorum {
        Some(k) if k == 0 || k > keys.len() => {
            bail!("--quorum {k}: give a number from 1 to the {} --witness keys", keys.len())
        }
        Some(k) => k,
        None => keys.len(),
    };
    Ok((keys, k))
}

/// Witnesses' keys from flags: each the key itself or a file holding it; each once.
pub fn cosigner_keys(args: &[String], flag: &str) -> Result<Vec<NoteVerifier>> {
    let keys = crate::commands::load_keys(args, flag)?;
    for (i, k) in keys.iter().enumerate() {
        if !k.is_cosigner() {
            bail!("{flag} {}: a log's key (type 0x01), not a witness's cosigner key", k.name());
        }
        if keys[..i].contains(k) {
            bail!("{flag} {}: the same witness key is given twice", k.name());
        }
    }
    Ok(keys)
}
