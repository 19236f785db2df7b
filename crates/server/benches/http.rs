//! HTTP ingest throughput and query latency under ingest, over a real loopback socket, against
//! a durable SQLite log (WAL, synchronous=FULL) in a temporary directory.
//!
//! `cargo bench -p trail-server --bench http`. Groups:
//! - `ingest/single_c16`: one event per POST, 16 concurrent clients;
//! - `ingest/batch100_c4`: 100 events per POST, 4 concurrent clients;
//! - then a fixed run that keeps 4 batch writers busy while one reader issues
//!   `GET /v1/events?kind=...&limit=50` and prints the query latency percentiles (p50/p99).
//!
//! Client and server share the machine (and its 2 cores), so these are lower bounds.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing bench")]
#![allow(clippy::print_stdout, reason = "the bench prints its latency table")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "common/server.rs"]
mod server;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trail_ingest::RecorderConfig;

fn event(i: u64) -> String {
    format!(
        r#"{{"kind":"{}","agent":"bench","session":"s{}","action":"Read","status":"ok","usage":{{"input_tokens":120,"output_tokens":40}},"body":{{"path":"/srv/data/file-{i}.txt","args":{{"n":{i},"flag":true}},"note":"a short tool call body of about two hundred bytes in total"}}}}"#,
        if i.is_multiple_of(4) { "llm_call" } else { "tool_call" },
        i % 50
    )
}

/// Sends `total` requests of `per_request` events from `clients` tasks; returns the time taken.
async fn drive(
    base: &str,
    client: &reqwest::Client,
    total: u64,
    per_request: u64,
    clients: u64,
) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let n = total / clients + u64::from(c < total % clients);
        let client = client.clone();
        let url = format!("{base}/v1/events");
        tasks.push(tokio::spawn(async move {
            for r in 0..n {
                let body = if per_request == 1 {
                    event(r)
                } else {
                    let evs: Vec<String> =
                        (0..per_request).map(|i| event(r * per_request + i)).collect();
                    format!("[{}]", evs.join(","))
                };
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                let _ = resp.bytes().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

fn ingest(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = server::start(&rt, "bench/http", RecorderConfig::default());
    let client = trail_server::listen::client_builder().build().unwrap();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(1));
    g.bench_function("single_c16", |b| {
        b.iter_custom(|iters| rt.block_on(drive(&server.base, &client, iters, 1, 16)));
    });
    g.throughput(Throughput::Elements(100));
    g.bench_function("batch100_c4", |b| {
        b.iter_custom(|iters| rt.block_on(drive(&server.base, &client, iters, 100, 4)));
    });
    g.finish();
    query_latency_under_ingest(&rt, &server.base, &client);
}

/// Not a criterion measurement: latency percentiles need every sample.
fn query_latency_under_ingest(rt: &tokio::runtime::Runtime, base: &str, client: &reqwest::Client) {
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for _ in 0..4 {
            let (base, client, stop) = (base.to_owned(), client.clone(), stop.clone());
            writers.push(tokio::spawn(async move {
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    drive(&base, &client, 1, 100, 1).await;
                    sent += 100;
                }
                sent
            }));
        }
        let mut lat = Vec::new();
        let start = Instant::now();
        for i in 0..400u64 {
            let kind = if i % 2 == 0 { "llm_call" } else { "tool_call" };
            let t = Instant::now();
            let resp = client
                .get(format!("{base}/v1/events?kind={kind}&session=s{}&limit=50", i % 50))
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            let _ = resp.bytes().await;
            lat.push(t.elapsed());
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let mut events = 0;
        for w in writers {
            events += w.await.unwrap();
        }
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "query latency under ingest (4 writers x 100-event batches, {:.0} events/s meanwhile): \
             n={} p50={:?} p90={:?} p99={:?} max={:?}",
            events as f64 / elapsed.as_secs_f64(),
            lat.len(),
            pct(0.50),
            pct(0.90),
            pct(0.99),
            lat[lat.len() - 1]
        );
    });
}

criterion_group!(benches, ingest);
criterion_main!(benches);
