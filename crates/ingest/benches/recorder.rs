//! Durable append throughput through the recorder into SQLite, with ~400-byte bodies.
//!
//! `cargo bench -p trail-ingest --bench recorder`; events per second are criterion's "elem/s".

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use trail_core::{Event, NoteSigner};
use trail_ingest::{Mode, Policy, Recorder, RecorderConfig, Scanner};
use trail_store::Store;
use trail_store::sqlite::SqliteStore;

/// The allocator of the `trail` binary (`trail log`, `trail serve`), which this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ORIGIN: &str = "bench.trail/recorder";
const EVENTS: u64 = 100_000;

fn events(offset: u64, n: u64) -> Vec<Event> {
    (offset..offset + n)
        .map(|i| {
            Event::from_value(json!({
                "id": format!("ev-{i}"), "kind": "tool_result", "action": "Bash", "status": "ok",
                "agent": "bench", "session": format!("s-{}", i / 1000), "duration_ms": 7,
                "body": {"command": "ls -la /srv/app", "output": format!("{} {i}", "total 48 drwxr-xr-x app staff ".repeat(11))}
            }))
            .expect("event")
        })
        .collect()
}

async fn run(policy: Policy, producers: u64) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::create(&dir.path().join("bench.db"), ORIGIN).expect("store"));
    let signer = NoteSigner::from_seed(ORIGIN, [1; 32]).expect("signer");
    let config = RecorderConfig { policy, checkpoint_every: 10_000, ..RecorderConfig::default() };
    let rec =
        Recorder::open(store, signer, Arc::new(Scanner::default()), config).expect("recorder");
    let per = EVENTS / producers;
    let batches: Vec<Vec<Event>> = (0..producers).map(|p| events(p * per, per)).collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for batch in batches {
        let rec = rec.clone();
        tasks.push(tokio::spawn(async move {
            // `try_record` queues at once (a plain `record` future does nothing until polled),
            // so each producer keeps up to 4096 events in flight.
            let mut inflight = Vec::with_capacity(4096);
            for e in batch {
                match rec.try_record(e.clone()) {
                    Ok(f) => inflight.push(f),
                    Err(_) => {
                        for f in inflight.drain(..) {
                            f.await.expect("appended");
                        }
                        rec.record(e).await.expect("appended");
                    }
                }
                if inflight.len() == 4096 {
                    for f in inflight.drain(..) {
                        f.await.expect("appended");
                    }
                }
            }
            for f in inflight {
                f.await.expect("appended");
            }
        }));
    }
    for t in tasks {
        t.await.expect("producer");
    }
    rec.flush().await.expect("flush");
    let took = start.elapsed();
    rec.close().await.expect("close");
    took
}

fn off() -> Policy {
    Policy { default_pii: Mode::Off, default_secret: Mode::Off, ..Policy::default() }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("recorder_sqlite");
    g.throughput(Throughput::Elements(EVENTS));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("durable_append_100k_scan_off", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(run(off(), 4))).sum())
    });
    g.bench_function("durable_append_100k_default_scan", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(run(Policy::default(), 4))).sum())
    });
    g.finish();
}

criterion_group!(recorder, bench);
criterion_main!(recorder);
