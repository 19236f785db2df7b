//! One event at a time into a new log, as the Python package records them: `Recorder::record`
//! through `block_on` from a thread outside the runtime, unsynced (durability `checkpoint`).
//! A profiling target (`perf record target/release/examples/recordcall sqlite 100000`), not a
//! benchmark: `bench/python.py` measures the package itself against Harness.
//!
//! `recordcall [sqlite|files] [events]`

use std::time::Instant;

use anyhow::{Context, bail};
use trail_datadir::DataDir;
use trail_datadir::writer::{Turn, Writer};

fn main() -> anyhow::Result<()> {
    let store = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let n: usize = std::env::args().nth(2).map_or(Ok(20_000), |s| s.parse())?;
    let path = std::env::temp_dir().join(format!("recordcall-{}", std::process::id()));
    let (dir, _) =
        DataDir::init(&path, "bench.example/rs", &store, Default::default(), "checkpoint")?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let Turn::Own(writer) = Writer::take(&dir, true)? else { bail!("a server holds the log") };
    let recorder = {
        let _guard = runtime.enter();
        dir.open_recorder(writer.store.clone())?
    };
    let events = (0..n)
        .map(|i| {
            let command = format!("grep -rn 'TODO' src/module_{}.py", i % 97);
            trail_core::Event::from_value(serde_json::json!({
                "kind": "tool_call", "action": "Bash", "session": "bench",
                "body": {"tool": "Bash", "args": {"command": command, "timeout": 30,
                         "cwd": "/srv/app", "env": {"LANG": "C.UTF-8"}, "n": i}}
            }))
            .context("event")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();
    for e in events {
        runtime.block_on(recorder.record(e))?;
    }
    let took = start.elapsed();
    eprintln!("{store}: {:.1} us/event", took.as_secs_f64() * 1e6 / n as f64);
    runtime.block_on(recorder.close())?;
    std::fs::remove_dir_all(&path)?;
    Ok(())
}
