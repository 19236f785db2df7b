//! `trail serve` and `trail keys`: glue between data directories and `trail_server`.

use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use trail_ingest::Recorder;
use trail_server::{AppState, KeyFile, KeyRing, Limits, LogHandle, Scope, ServerSection};

use crate::DataArg;
use crate::datadir::DataDir;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Address to listen on [default: `[server] listen` in trail.toml, else 127.0.0.1:7700].
    #[arg(long)]
    pub listen: Option<String>,
    /// Serve a non-loopback address without API keys: anyone who reaches it can read and write.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Serve HTTPS with this PEM certificate chain [default: `[server] tls_cert` in trail.toml].
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert, mode 0600 [default: `[server] tls_key`].
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once; only its SHA-256 is stored (api-keys.json, mode 0600).
    Add {
        #[command(flatten)]
        data: DataArg,
        /// Comma-separated: ingest, read, admin (admin implies both).
        #[arg(long, value_delimiter = ',', required = true)]
        scope: Vec<String>,
        /// A log (origin) the key may touch; repeatable; none means every log served.
        #[arg(long)]
        log: Vec<String>,
        /// A label to recognise the key by.
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id; a running server stops accepting it within a second.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        id: String,
    },
}

pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let dir = DataDir::open(&args.data.data)?;
    let section = dir.config.server.clone().unwrap_or_default();
    let listen = args
        .listen
        .clone()
        .or_else(|| section.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:7700".into());
    let addr: SocketAddr = tokio::net::lookup_host(&listen)
        .await
        .with_context(|| format!("cannot resolve listen address {listen:?}"))?
        .next()
        .ok_or_else(|| anyhow!("listen address {listen:?} resolves to nothing"))?;
    let loopback = trail_server::is_loopback(&addr);
    let keys = KeyRing::from_dir(&dir.path, loopback || args.insecure_no_auth)?;
    if keys.is_empty() && !loopback {
        if !args.insecure_no_auth {
            bail!(
                "refusing to serve {addr} without API keys: anyone who can reach it could read and write the log. \
                 Create a key with `trail keys add --data {} --scope ingest,read`, listen on 127.0.0.1, or pass --insecure-no-auth",
                dir.path.display()
            );
        }
        tracing::error!(%addr, "serving without API keys on a non-loopback address (--insecure-no-auth): anyone who can reach it can read and write the log");
        eprintln!("trail: WARNING: --insecure-no-auth: {addr} accepts every request without a key");
    }

    let (stop_exporters, exporters_stop) = tokio::sync::watch::channel(false);
    let mut locks: Vec<File> = Vec::new();
    let mut logs: Vec<Arc<LogHandle>> = Vec::new();
    let mut tasks = Vec::new();
    let mut dirs = vec![dir.path.clone()];
    dirs.extend(
        section.logs.iter().map(|p| if p.is_absolute() { p.clone() } else { dir.path.join(p) }),
    );
    for path in &dirs {
        let d = DataDir::open(path)?;
        if logs.iter().any(|l| l.name == d.origin()) {
            bail!("two data directories serve the same log {:?} ({})", d.origin(), path.display());
        }
        locks.push(d.lock_writer()?);
        let (handle, mut t) = open_log(&d, exporters_stop.clone())?;
        tasks.append(&mut t);
        logs.push(Arc::new(handle));
    }
    let options = serve_options(&args, &section, &dir.path)?;
    let limits = Limits::from(&section);
    let state = AppState::new(logs.clone(), keys, limits);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let names: Vec<&str> = logs.iter().map(|l| l.name.as_str()).collect();
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    println!("trail: serving {} on {scheme}://{local}", names.join(", "));
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    trail_server::serve_with(listener, state, shutdown_signal(), options)
        .await
        .context("server failed")?;
    let _ = stop_exporters.send(true);
    for t in tasks {
        let _ = t.await;
    }
    for log in logs {
        log.recorder.clone().close().await.map_err(|e| anyhow!("log {}: {e}", log.name))?;
    }
    drop(locks);
    eprintln!("trail: stopped; final checkpoints signed");
    Ok(ExitCode::SUCCESS)
}

/// TLS (flags first, then `[server] tls_cert`/`tls_key`, relative to the data directory) and
/// the header read timeout.
fn serve_options(
    args: &ServeArgs,
    section: &ServerSection,
    dir: &Path,
) -> Result<trail_server::ServeOptions> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => match (&section.tls_cert, &section.tls_key) {
            (Some(c), Some(k)) => Some((dir.join(c), dir.join(k))),
            (None, None) => None,
            _ => bail!("[server] tls_cert and tls_key go together: set both or neither"),
        },
    };
    let tls = match tls {
        Some((cert, key)) => Some(trail_server::tls_config(&cert, &key)?),
        None => None,
    };
    Ok(trail_server::ServeOptions {
        tls,
        header_read_timeout: std::time::Duration::from_millis(
            section.header_read_timeout_ms.max(100),
        ),
    })
}

/// Opens one log's recorder and starts its exporters.
fn open_log(
    d: &DataDir,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(LogHandle, Vec<tokio::task::JoinHandle<()>>)> {
    if !d.config.audit.enabled {
        anyhow::bail!(
            "recording is disabled in {}/trail.toml ([audit] enabled = false); not serving it",
            d.path.display()
        );
    }
    let store = d.store()?;
    let signer = d.signer()?;
    let (scanner, config) = d.recorder_config()?;
    let recorder =
        Recorder::open(store, signer, scanner, config.clone()).map_err(|e| anyhow!("{e}"))?;
    let mut handle = LogHandle::new(recorder.clone(), &config);
    handle.verifier_key = d.verifier().ok().map(|v| v.to_string());
    let mut tasks = Vec::new();
    for e in &d.config.exporters {
        let (metrics, task) =
            trail_server::exporter::spawn(e.clone(), recorder.clone(), &d.path, stop.clone())?;
        handle.exporters.push(metrics);
        tasks.push(task);
    }
    let rules = crate::browse::Retention::from_config(d);
    if !rules.is_empty() {
        // denkeeper's cleanup worker, done right: every cleanup_interval the [audit] retention
        // rules cut the log behind a signed anchor, and the prune is itself an event.
        let every = d.config.audit.cleanup_every()?;
        let dir = DataDir::open(&d.path)?;
        let recorder = recorder.clone();
        let mut stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
                match crate::browse::apply_retention(&dir, &recorder, &rules, "trail-serve").await {
                    Ok(Some(p)) => tracing::info!(
                        removed = p.removed,
                        anchor = p.cut,
                        "retention pruned the log"
                    ),
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "retention failed; the log is unchanged"),
                }
            }
        }));
    }
    Ok((handle, tasks))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub fn keys(args: KeysArgs) -> Result<ExitCode> {
    let data = match &args.command {
        KeysCommand::Add { data, .. }
        | KeysCommand::List { data, .. }
        | KeysCommand::Revoke { data, .. } => data,
    };
    let dir = DataDir::open(&data.data)?;
    let mut file = KeyFile::load(&dir.path)?;
    match args.command {
        KeysCommand::Add { scope, log, name, json, .. } => {
            let scopes = scope.iter().map(|s| s.parse::<Scope>()).collect::<Result<Vec<_>, _>>()?;
            let known = served_logs(&dir)?;
            for l in &log {
                if !known.contains(l) {
                    bail!(
                        "--log {l:?}: this server serves no such log (it serves {})",
                        known.join(", ")
                    );
                }
            }
            let (key, entry) = file.add(&name, scopes, log, now())?;
            file.save(&dir.path)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": entry.id, "key": key, "view": entry.view()})
                );
            } else {
                println!("{key}");
                eprintln!(
                    "trail: key {} ({}) created; it is shown only now, store it safely",
                    entry.id,
                    entry.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
                );
            }
        }
        KeysCommand::List { json, .. } => {
            if json {
                let v: Vec<_> = file.keys.iter().map(|k| k.view()).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if file.keys.is_empty() {
                println!("no API keys (trail serve allows loopback clients without one)");
            } else {
                let rows: Vec<Vec<String>> = file
                    .keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.id.clone(),
                            k.name.clone(),
                            k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
                            if k.logs.is_empty() { "*".into() } else { k.logs.join(",") },
                            k.created.clone(),
                            k.revoked.clone().map_or_else(String::new, |r| format!("revoked {r}")),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    crate::output::table(
                        &["ID", "NAME", "SCOPES", "LOGS", "CREATED", "STATUS"],
                        &rows
                    )
                );
            }
        }
        KeysCommand::Revoke { id, .. } => {
            file.revoke(&id, now())?;
            file.save(&dir.path)?;
            eprintln!("trail: key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The origins `trail serve` would serve from this data directory.
fn served_logs(dir: &DataDir) -> Result<Vec<String>> {
    let mut out = vec![dir.origin().to_owned()];
    let section: ServerSection = dir.config.server.clone().unwrap_or_default();
    for p in &section.logs {
        let path = if p.is_absolute() { p.clone() } else { dir.path.join(p) };
        if let Ok(d) = DataDir::open(Path::new(&path)) {
            out.push(d.origin().to_owned());
        }
    }
    Ok(out)
}

fn now() -> String {
    trail_ingest::now().to_string()
}
