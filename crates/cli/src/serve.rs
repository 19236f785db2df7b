//! `trail serve` and `trail keys`: glue between data directories and `trail_server`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use std::time::Duration;

use trail_ingest::Recorder;
use trail_server::leadership::{Duties, Leadership, Tasks};
use trail_server::state::Role;
use trail_server::witnessing::Witnessing;
use trail_server::{AppState, KeyFile, KeyRing, Limits, LogHandle, Scope, ServerSection};
use trail_store::Store;

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
    /// The URL other nodes reach this one at, for a PostgreSQL log several nodes serve
    /// [default: http://LISTEN-ADDRESS]. Nodes that do not sequence the log forward ingest there.
    #[arg(long, value_name = "URL")]
    pub advertise: Option<String>,
    /// For a PostgreSQL log: how long the sequencer lease lasts unless renewed (renewed every
    /// quarter of it); a dead leader is replaced after about this long.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub lease_ttl_ms: u64,
    /// Serve HTTPS with this PEM certificate chain [default: `[server] tls_cert` in trail.toml].
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert, mode 0600 [default: `[server] tls_key`].
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Say where it serves as one JSON line (`{"url", "logs", "node"}`) instead of text.
    #[command(flatten)]
    pub json: crate::JsonArg,
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
        /// Print the key and its entry as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        data: DataArg,
        /// Print the keys as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id; a running server stops accepting it within a second.
    Revoke {
        #[command(flatten)]
        data: DataArg,
        /// The key's id, as `trail keys list` shows it.
        id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
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

    let advertise = match &args.advertise {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None if addr.ip().is_unspecified() => bail!(
            "listening on {addr}: pass --advertise URL, the address other trail nodes reach this one at"
        ),
        None => String::new(), // filled in from the bound address below
    };
    if args.lease_ttl_ms < 200 {
        bail!("--lease-ttl-ms {} is too short: at least 200", args.lease_ttl_ms);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let options = serve_options(&args, &section, &dir.path)?;
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    let node = if advertise.is_empty() { format!("{scheme}://{local}") } else { advertise };

    let (stop_tasks, tasks_stop) = tokio::sync::watch::channel(false);
    let mut locks: Vec<trail_datadir::datadir::WriterLock> = Vec::new();
    let mut logs: Vec<Arc<LogHandle>> = Vec::new();
    let mut tasks = Vec::new();
    let mut dirs = vec![dir.path.clone()];
    dirs.extend(
        section.logs.iter().map(|p| if p.is_absolute() { p.clone() } else { dir.path.join(p) }),
    );
    let lease = Lease { node: node.clone(), ttl: Duration::from_millis(args.lease_ttl_ms) };
    for path in &dirs {
        let d = DataDir::open(path)?;
        if logs.iter().any(|l| l.name == d.origin()) {
            bail!("two data directories serve the same log {:?} ({})", d.origin(), path.display());
        }
        // The node's URL in the lock file: `trail log` on this directory sends events to it.
        locks.push(d.lock_writer_as(&node)?);
        let (handle, mut t) = open_log(d, &lease, tasks_stop.clone()).await?;
        tasks.append(&mut t);
        logs.push(handle);
    }
    let limits = Limits::from(&section);
    let state = AppState::for_node(logs.clone(), keys, limits, node.clone());
    let names: Vec<&str> = logs.iter().map(|l| l.name.as_str()).collect();
    if args.json.json {
        println!(
            "{}",
            serde_json::json!({"url": format!("{scheme}://{local}"), "logs": names, "node": node})
        );
    } else {
        println!("trail: serving {} on {scheme}://{local}", names.join(", "));
    }
    if logs.iter().any(|l| matches!(l.role(), Role::Follower { .. })) || args.advertise.is_some() {
        eprintln!(
            "trail: node {node}; logs in PostgreSQL are sequenced by the holder of their lease"
        );
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    trail_server::serve_with(listener, state, shutdown_signal(), options)
        .await
        .context("server failed")?;
    // Exporters, retention and leadership end first (a leader closes its recorder and gives its
    // lease up), then what this node still sequences is closed with a final checkpoint.
    let _ = stop_tasks.send(true);
    for t in tasks {
        let _ = t.await;
    }
    for log in logs {
        if let Role::Leader(r) = log.set_role(Role::Follower { leader: None }) {
            r.close().await.map_err(|e| anyhow!("log {}: {e}", log.name))?;
        }
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
        max_connections: section.max_connections.max(1),
        max_connections_per_address: section.max_connections_per_address.max(1),
    })
}

/// This node's part in the sequencer leases of PostgreSQL logs.
struct Lease {
    node: String,
    ttl: Duration,
}

/// Opens one log. A file or SQLite log is sequenced here, by a recorder opened now. A PostgreSQL
/// log is sequenced by whichever node serving it holds its lease: a task takes the lease when it
/// is free, renews it, and switches the handle between leader and follower.
async fn open_log(
    d: DataDir,
    lease: &Lease,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(Arc<LogHandle>, Tasks)> {
    if !d.config.audit.enabled {
        anyhow::bail!(
            "recording is disabled in {}/trail.toml ([audit] enabled = false); not serving it",
            d.path.display()
        );
    }
    let (scanner, config) = d.recorder_config()?;
    let verifier_key = d.verifier().ok().map(|v| v.to_string());
    let witnessing = Witnessing::new(&d.config.witnesses, d.config.witness.as_ref())
        .with_context(|| format!("{}/trail.toml", d.path.display()))?;
    if witnessing.is_some() && d.config.log.store == "files" {
        bail!(
            "{}/trail.toml lists [[witnesses]], but the files store keeps no cosignatures: use the sqlite or postgres store",
            d.path.display()
        );
    }
    if let Some(pg) = d.postgres_store()? {
        let store: Arc<dyn Store> = pg.clone();
        let mut handle = LogHandle::follower(store, scanner.clone(), &config);
        handle.verifier_key = verifier_key;
        handle.witnessing = witnessing.clone();
        let handle = Arc::new(handle);
        let duties_dir = DataDir::open(&d.path)?;
        let duties: Duties = Box::new(move |recorder, stop| {
            start_duties(&duties_dir, recorder, witnessing.as_ref(), stop)
                .map(|(_, t)| t)
                .map_err(|e| e.to_string())
        });
        let leader = Leadership::new(
            pg,
            handle.clone(),
            lease.node.clone(),
            lease.ttl,
            d.signer()?,
            scanner,
            config,
        )
        .with_duties(duties);
        let task = leader.spawn(stop).await;
        return Ok((handle, vec![task]));
    }
    let store = d.store()?;
    let signer = d.signer()?;
    let recorder =
        Recorder::open(store, signer, scanner, config.clone()).map_err(|e| anyhow!("{e}"))?;
    let mut handle = LogHandle::new(recorder.clone(), &config);
    handle.verifier_key = verifier_key;
    handle.witnessing = witnessing.clone();
    let (metrics, tasks) = start_duties(&d, &recorder, witnessing.as_ref(), stop)?;
    handle.exporters = metrics;
    Ok((Arc::new(handle), tasks))
}

/// What the sequencing node does besides appending: exporters, witnessing and retention.
fn start_duties(
    d: &DataDir,
    recorder: &Recorder,
    witnessing: Option<&Arc<Witnessing>>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(Vec<Arc<trail_server::exporter::ExporterMetrics>>, Tasks)> {
    let mut metrics = Vec::new();
    let mut tasks = Vec::new();
    if let Some(w) = witnessing {
        tasks.extend(w.spawn(recorder, stop.clone()).map_err(|e| anyhow!(e))?);
    }
    for e in &d.config.exporters {
        let (m, task) =
            trail_server::exporter::spawn(e.clone(), recorder.clone(), &d.path, stop.clone())?;
        metrics.push(m);
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
    Ok((metrics, tasks))
}

pub(crate) async fn shutdown_signal() {
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
        KeysCommand::Revoke { id, json, .. } => {
            file.revoke(&id, now())?;
            file.save(&dir.path)?;
            if json {
                println!("{}", serde_json::json!({"revoked": id}));
            } else {
                eprintln!("trail: key {id} revoked");
            }
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
