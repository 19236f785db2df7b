//! Ingest into a PostgreSQL log through one `trail serve` node and through three, and how long
//! a takeover takes when the leader is killed. Not criterion: each figure is one timed run of
//! real processes. `cargo bench -p trail --bench cluster` (needs PostgreSQL at `TRAIL_PG_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`). `TRAIL_BENCH_SECS` sets the run length.

#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a benchmark's report")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use trail_store::postgres::{dangerous_drop_schema, schema_for_origin};

#[path = "../tests/common/nodes.rs"]
mod nodes;

const CLIENTS: usize = 12;
const BATCH: usize = 1000;

fn batch(client: usize, n: u64) -> String {
    let events: Vec<String> = (0..BATCH)
        .map(|i| {
            format!(
                r#"{{"id":"c{client}-{n}-{i}","kind":"{}","agent":"bench","session":"s{client}","action":"Read","status":"ok","usage":{{"input_tokens":120,"output_tokens":40}},"body":{{"path":"/srv/data/file-{i}.txt","args":{{"n":{i},"flag":true}},"note":"a short tool call body of about two hundred bytes in total"}}}}"#,
                if i % 4 == 0 { "llm_call" } else { "tool_call" },
            )
        })
        .collect();
    format!("[{}]", events.join(","))
}

struct Run {
    events: u64,
    secs: f64,
    latencies_ms: Vec<f64>,
    /// From the kill to the first batch acknowledged after it, when a leader was killed.
    takeover: Option<Duration>,
}

/// Clients send batches round-robin to `urls` for `secs`; with `kill`, the leader (found in
/// `/metrics`) is killed with SIGKILL half-way.
async fn run(nodes: &mut [Option<nodes::Node>], secs: u64, kill: bool) -> Run {
    let urls: Vec<String> = nodes.iter().flatten().map(|n| n.url.clone()).collect();
    let client = trail_server::listen::client_builder().build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let killed_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let first_after: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, urls, stop, events) =
            (client.clone(), urls.clone(), stop.clone(), events.clone());
        let (killed_at, first_after) = (killed_at.clone(), first_after.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0u64;
            let mut at = c;
            while !stop.load(Ordering::Relaxed) {
                let body = batch(c, n);
                loop {
                    let t = Instant::now();
                    let r = client
                        .post(format!("{}/v1/events", urls[at % urls.len()]))
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    let ok = match r {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    at += 1;
                    if ok {
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        events.fetch_add(BATCH as u64, Ordering::Relaxed);
                        let k = *killed_at.lock().unwrap();
                        if let Some(k) = k {
                            let mut f = first_after.lock().unwrap();
                            if f.is_none() && t > k {
                                *f = Some(Instant::now());
                            }
                        }
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                n += 1;
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs / 2)).await;
    if kill {
        let leader = nodes::leader(&client, nodes).await.unwrap();
        let mut node = nodes[leader].take().unwrap();
        node.child.kill().unwrap();
        *killed_at.lock().unwrap() = Some(Instant::now());
        node.child.wait().unwrap();
    }
    tokio::time::sleep(Duration::from_secs(secs - secs / 2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_ms = Vec::new();
    for t in tasks {
        latencies_ms.extend(t.await.unwrap());
    }
    let takeover = match (*killed_at.lock().unwrap(), *first_after.lock().unwrap()) {
        (Some(k), Some(f)) => Some(f - k),
        _ => None,
    };
    latencies_ms.sort_by(f64::total_cmp);
    Run {
        events: events.load(Ordering::Relaxed),
        secs: started.elapsed().as_secs_f64(),
        latencies_ms,
        takeover,
    }
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benchmarks
    }
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let secs: u64 =
        std::env::var("TRAIL_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    for (n_nodes, kill) in [(1, false), (3, false), (3, true)] {
        let origin = format!("trail.bench/cluster-{}-{n_nodes}-{kill}", std::process::id());
        let tmp = tempfile::tempdir().unwrap();
        let dirs = nodes::data_dirs(tmp.path(), &origin, &url, n_nodes);
        let mut nodes: Vec<Option<nodes::Node>> =
            dirs.iter().map(|d| Some(nodes::start(d, 2000))).collect();
        let r = rt.block_on(async {
            let client = trail_server::listen::client_builder().build().unwrap();
            nodes::wait_for_leader(&client, &nodes).await;
            run(&mut nodes, secs, kill).await
        });
        println!(
            "{n_nodes} node(s){}: {:>8.0} events/s ({} events in {:.1} s, {CLIENTS} clients, batches of {BATCH}); batch latency p50 {:.0} ms, p99 {:.0} ms{}",
            if kill { ", leader killed mid-run" } else { "" },
            r.events as f64 / r.secs,
            r.events,
            r.secs,
            pct(&r.latencies_ms, 0.5),
            pct(&r.latencies_ms, 0.99),
            r.takeover.map_or(String::new(), |t| format!(
                "; takeover (kill to next ack) {:.2} s",
                t.as_secs_f64()
            )),
        );
        for n in nodes.iter_mut().flatten() {
            let _ = n.child.kill();
            let _ = n.child.wait();
        }
        let _ = dangerous_drop_schema(&url, &schema_for_origin(&origin));
    }
}
