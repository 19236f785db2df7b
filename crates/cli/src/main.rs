//! `trail`: the command line of the trail flight recorder. Glue only: flags, files, output.
#![allow(clippy::print_stdout, reason = "printing is the command line's job")]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod browse;
mod commands;
use trail_datadir::{datadir, writer};
mod follow;
mod interop;
mod monitor;
mod output;
mod report;
mod serve;
mod tiles;
mod witness;

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
    /// Events of this kind (tool_call, tool_result, llm_call, permission_decision, ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// Events of this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Events with this action (the tool or operation, e.g. Bash).
    #[arg(long)]
    pub action: Option<String>,
    /// Events with this status (ok, error, denied, ...).
    #[arg(long)]
    pub status: Option<String>,
    /// Events of this agent.
    #[arg(long)]
    pub agent: Option<String>,
    /// Events of this session.
    #[arg(long)]
    pub session: Option<String>,
    /// Events of this conversation.
    #[arg(long)]
    pub conversation: Option<String>,
    /// Events on behalf of this actor (the person or account).
    #[arg(long)]
    pub actor: Option<String>,
    /// Events from this source (the recorder, importer or client that sent them).
    #[arg(long)]
    pub source: Option<String>,
    /// Events of this OpenTelemetry trace (32 hex digits).
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
        #[command(flatten)]
        json: JsonArg,
    },
    /// Print a receipt for one event, or a consistency proof between two sizes.
    Proof(commands::ProofArgs),
    /// Write the log out: trail's own JSON Lines (records, bodies, checkpoints) or another format.
    Export {
        #[command(flatten)]
        data: DataArg,
        /// Output file (default: stdout); for `harness` and `tiles`, a directory.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// jsonl (trail's verifiable export; json is verifiable too), tiles (the tree as C2SP
        /// tlog-tiles static files at the latest checkpoint, records without bodies, verifiable
        /// with `trail verify --tiles`; incremental), or for reading: csv, harness (a directory of
        /// Harness files), ocsf, cef.
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl", "json", "csv", "harness", "ocsf", "cef", "tiles"])]
        format: String,
        /// With --out: a summary as JSON on stdout (the export itself is JSON already).
        #[command(flatten)]
        json: JsonArg,
    },
    /// Import audit files of other systems into this log.
    Import(interop::ImportArgs),
    /// Run the HTTP API, OpenTelemetry receiver, live tail and dashboard (HTTPS with --tls-cert).
    Serve(serve::ServeArgs),
    /// Manage API keys for `trail serve`.
    Keys(serve::KeysArgs),
    /// Verify a data directory, an export file, a receipt, a tiled log (--tiles) or a report
    /// (--report). Exit 0 intact, 1 problems or not verified (records no valid signature
    /// covers), 2 error.
    Verify(commands::VerifyArgs),
    /// The auditor's report: one self-contained HTML file of what agents did over a period
    /// (coverage, risk, retention, tokens and cost) and the proof (the integrity verdict and the
    /// signed checkpoint it rests on); `trail verify --report FILE` checks one.
    Report(report::ReportArgs),
    /// Run a witness (C2SP tlog-witness) that cosigns other logs' checkpoints only when they
    /// extend what it cosigned before: init, add a log, serve.
    Witness(witness::WitnessArgs),
    /// Follow a log's checkpoints from its tiles, prove each consistent with the last one kept,
    /// and exit 1 on a fork or a rollback.
    Monitor(monitor::MonitorArgs),
    /// Create a log in a new directory, record a sample agent session and verify it.
    Demo {
        /// Where to create the demo log: a new or empty directory, or an earlier demo's.
        #[arg(long, default_value = "trail-demo")]
        data: PathBuf,
        /// The verification report as JSON on stdout instead of the walk-through.
        #[command(flatten)]
        json: JsonArg,
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
        /// How many sessions, most recent first (1 to 10000).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        limit: u64,
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
    /// Scan files or stdin for PII and secrets, or the bodies a log already stores (--data).
    Scan(browse::ScanArgs),
    /// Move an incomplete last line of a file log (left by a crash) to log.jsonl.torn.
    Repair {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Generate an Ed25519 signing key in the signed-note format.
    Keygen {
        /// Key name (for a log: its origin).
        #[arg(long)]
        name: String,
        /// Write the private key here (mode 0600) and the verifier key to FILE.vkey.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        json: JsonArg,
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
    // In --json mode every error is a JSON object on stderr, usage errors included.
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            let message = e.render().to_string();
            let first = message.lines().next().unwrap_or("").trim_start_matches("error: ");
            eprintln!(
                "{}",
                serde_json::json!({"error": first, "kind": "usage", "exit": 2, "detail": message.trim_end()})
            );
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            report_error(json, &anyhow::anyhow!("cannot start the runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(json, &e);
            ExitCode::from(2)
        }
    }
}

/// Prints an error as `trail: ...`, or in --json mode as `{"error": ..., "exit": 2}`.
fn report_error(json: bool, e: &anyhow::Error) {
    if json {
        let causes: Vec<String> = e.chain().skip(1).map(ToString::to_string).collect();
        eprintln!(
            "{}",
            serde_json::json!({"error": format!("{e:#}"), "kind": "error", "exit": 2, "causes": causes})
        );
    } else {
        eprintln!("trail: {e:#}");
    }
}

/// Whether the error is the reader of our output going away (`trail export | head -1`): a
/// normal end for a Unix tool, not an error.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
        Command::Checkpoint { data, json } => commands::checkpoint(&data.data, json.json).await,
        Command::Proof(args) => commands::proof(args),
        Command::Export { data, out, format, json } => {
            if format == "jsonl" {
                commands::export(&data.data, out.as_deref(), json.json)
            } else if format == "tiles" {
                let out = out.ok_or_else(|| {
                    anyhow::anyhow!("--format tiles writes a directory: give it with --out DIR")
                })?;
                tiles::export(&data.data, &out, json.json)
            } else {
                interop::export(&data.data, &format, out.as_deref(), json.json)
            }
        }
        Command::Import(args) => interop::import(args).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::Keys(args) => serve::keys(args),
        Command::Verify(args) => commands::verify(args),
        Command::Report(args) => report::report(args),
        Command::Witness(args) => witness::witness(args).await,
        Command::Monitor(args) => monitor::monitor(args).await,
        Command::Demo { data, json } => commands::demo(&data, json.json).await,
        Command::Tail(args) => browse::tail(args).await,
        Command::Query(args) => browse::query(args),
        Command::Show { data, id, seq, json } => browse::show(&data.data, &id, seq, json.json),
        Command::Sessions { data, filters, limit, json } => browse::sessions(
            &data.data,
            &filters,
            usize::try_from(limit).unwrap_or(10_000),
            json.json,
        ),
        Command::Stats { data, filters, json } => browse::stats(&data.data, &filters, json.json),
        Command::Erase(args) => browse::erase(args).await,
        Command::Prune(args) => browse::prune(args).await,
        Command::Scan(args) => browse::scan(args).await,
        Command::Repair { data, json } => commands::repair(&data.data, json.json),
        Command::Keygen { name, out, json } => commands::keygen(&name, &out, json.json),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "trail", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}
