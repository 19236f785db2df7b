//! `trail`: the command line of the trail flight recorder. Glue only: flags, files, output.
#![allow(clippy::print_stdout, reason = "printing is the command line's job")]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod browse;
mod commands;
mod datadir;
mod interop;
mod output;
mod serve;
mod writer;

/// The allocator: see crates/cli/Cargo.toml (glibc malloc dominated a serving node's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// trail: a tamper-evident flight recorder for AI agents.
///
/// Records what agents do in an append-only log with signed checkpoints and Merkle proofs that
/// anyone holding the log's verifier key can check offline. Start with `trail demo`.
#[derive(Parser)]
#[command(name = "trail", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the log lives.
#[derive(Args, Clone)]
pub struct DataArg {
    /// Data directory of the log.
    #[arg(long, env = "TRAIL_DATA", default_value = "trail-data", value_name = "DIR")]
    pub data: PathBuf,
}

/// Machine-readable output.
#[derive(Args, Clone, Copy)]
pub struct JsonArg {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Filters shared by query, tail, sessions and stats.
#[derive(Args, Clone, Default)]
pub struct Filters {
    /// Events at or after this time (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Events before this time (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long)]
    pub category: Option<String>,
    #[arg(long)]
    pub action: Option<String>,
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub agent: Option<String>,
    #[arg(long)]
    pub session: Option<String>,
    #[arg(long)]
    pub conversation: Option<String>,
    #[arg(long)]
    pub actor: Option<String>,
    #[arg(long)]
    pub source: Option<String>,
    #[arg(long)]
    pub trace_id: Option<String>,
    /// Full-text search: every word must appear in the body.
    #[arg(long)]
    pub search: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Create a log: data directory, signing key (log.key, mode 0600), verifier key, config.
    Init {
        #[command(flatten)]
        data: DataArg,
        /// The log's name, e.g. trail.example/prod; also the key name.
        #[arg(long)]
        origin: String,
        /// Storage backend: sqlite, files, or a PostgreSQL URL (postgres://USER@HOST/DB).
        #[arg(long, default_value = "sqlite")]
        store: String,
        /// Take the `[audit]` settings (enabled, scan_pii, retention, log_tool_args, buffer_size,
        /// cleanup_interval) from a Harness or denkeeper config file.
        #[arg(long, value_name = "TOML")]
        audit_from: Option<PathBuf>,
        /// When an append reaches the disk: commit (synced before it is acknowledged) or
        /// checkpoint (synced with the next signed checkpoint, about a second later; a power
        /// failure can lose the events since the last checkpoint, never a signed one).
        #[arg(long, default_value = "commit", value_parser = ["commit", "checkpoint"])]
        durability: String,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Append events: one JSON object per line on stdin, or one event from flags.
    Log(commands::LogArgs),
    /// Sign a checkpoint of the current size if the log grew, and print the latest one.
    Checkpoint {
        #[command(flatten)]
        data: DataArg,
    },
    /// Print a receipt for one event, or a consistency proof between two sizes.
    Proof(commands::ProofArgs),
    /// Write the log out: trail's own JSON Lines (records, bodies, checkpoints) or another format.
    Export {
        #[command(flatten)]
        data: DataArg,
        /// Output file (default: stdout); for `harness`, a directory.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// jsonl (trail's verifiable export), csv, json, harness, ocsf, cef.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
    /// Import audit files of other systems into this log.
    Import(interop::ImportArgs),
    /// Run the HTTP API, OpenTelemetry receiver, live tail and dashboard (HTTPS with --tls-cert).
    Serve(serve::ServeArgs),
    /// Manage API keys for `trail serve`.
    Keys(serve::KeysArgs),
    /// Verify a data directory, an export file, or a receipt. Exit 0 intact, 1 problems, 2 error.
    Verify(commands::VerifyArgs),
    /// Create a log in a new directory, record a sample agent session and verify it.
    Demo {
        /// Where to create the demo log (must not exist).
        #[arg(long, default_value = "trail-demo")]
        data: PathBuf,
    },
    /// Show the latest events; with -f keep printing new ones.
    Tail(browse::TailArgs),
    /// Search events with filters and full-text search.
    Query(browse::QueryArgs),
    /// Show one event with its body, hash and checkpoint coverage.
    Show {
        #[command(flatten)]
        data: DataArg,
        /// Event id (or seq with --seq).
        id: String,
        /// Treat the argument as a seq number.
        #[arg(long)]
        seq: bool,
        #[command(flatten)]
        json: JsonArg,
    },
    /// List sessions with duration, events, errors, denials, tokens and cost.
    Sessions {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        filters: Filters,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Counts by kind, category, status and agent; events, tokens and cost per hour.
    Stats {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Delete the bodies of selected events (records and proofs stay valid); logs the erasure.
    Erase(browse::EraseArgs),
    /// Apply retention: cut the oldest records behind a signed anchor; logs the prune.
    Prune(browse::PruneArgs),
    /// Scan files or stdin for PII and secrets.
    Scan(browse::ScanArgs),
    /// Move an incomplete last line of a file log (left by a crash) to log.jsonl.torn.
    Repair {
        #[command(flatten)]
        data: DataArg,
    },
    /// Generate an Ed25519 signing key in the signed-note format.
    Keygen {
        /// Key name (for a log: its origin).
        #[arg(long)]
        name: String,
        /// Write the private key here (mode 0600) and the verifier key to FILE.vkey.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

fn main() -> ExitCode {
    // `trail query | head` closes stdout early; end quietly as other Unix tools do. (Restoring
    // SIGPIPE's default action needs `unsafe`, which this workspace forbids.)
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.payload().downcast_ref::<String>().map(String::as_str).unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAIL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("trail: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("trail: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init { data, origin, store, audit_from, durability, json } => {
            let opts = commands::InitOptions {
                audit_from: audit_from.as_deref(),
                durability: &durability,
            };
            commands::init(&data.data, &origin, &store, &opts, json.json)
        }
        Command::Log(args) => commands::log(args).await,
        Command::Checkpoint { data } => commands::checkpoint(&data.data).await,
        Command::Proof(args) => commands::proof(args),
        Command::Export { data, out, format } => {
            if format == "jsonl" {
                commands::export(&data.data, out.as_deref())
            } else {
                interop::export(&data.data, &format, out.as_deref())
            }
        }
        Command::Import(args) => interop::import(args).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::Keys(args) => serve::keys(args),
        Command::Verify(args) => commands::verify(args),
        Command::Demo { data } => commands::demo(&data).await,
        Command::Tail(args) => browse::tail(args).await,
        Command::Query(args) => browse::query(args),
        Command::Show { data, id, seq, json } => browse::show(&data.data, &id, seq, json.json),
        Command::Sessions { data, filters, limit, json } => {
            browse::sessions(&data.data, &filters, limit, json.json)
        }
        Command::Stats { data, filters, json } => browse::stats(&data.data, &filters, json.json),
        Command::Erase(args) => browse::erase(args).await,
        Command::Prune(args) => browse::prune(args).await,
        Command::Scan(args) => browse::scan(args),
        Command::Repair { data } => commands::repair(&data.data),
        Command::Keygen { name, out } => commands::keygen(&name, &out),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "trail", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}
