//! What serving C2SP tiles costs, over a real loopback socket, against a durable SQLite log.
//!
//! `cargo bench -p trail-server --bench tiles`:
//! - `tiles/read`: tile read throughput, four concurrent clients fetching full tiles of a
//!   100,000-record log (`hash_tile` level-0 hash tiles of 8 KiB, `entry_bundle` bundles of 256
//!   records) through `/tlog/tile/...`, in bytes per second;
//! - then fixed runs that measure ingest (4 clients, 100 events per POST) for 4 s with no tile
//!   reader and for 4 s while readers follow the log through `/tlog/`, alternating three times,
//!   and print the median rates and their ratio (the cost of serving tiles to ingest is 1 minus
//!   it). Three loads: four monitors (the checkpoint and the last tile of each level, what a
//!   consistency check reads) polling every second; one mirror (every changed hash tile and
//!   entry bundle: a copy of the log as it is written) polling every second; four mirrors
//!   polling every 250 ms.
//!
//! Client and server share the machine (and its 2 cores), so the readers' own work is counted
//! against ingest too: an upper bound of the cost.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing bench")]
#![allow(clippy::print_stdout, reason = "the bench prints its ratio")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "common/server.rs"]
mod server;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trail_ingest::RecorderConfig;
use trail_merkle::tiles::{Tile, entry_bundles, hash_tiles};

fn batch(r: u64) -> String {
    let evs: Vec<String> = (0..100)
        .map(|i| {
            let n = r * 100 + i;
            format!(
                r#"{{"kind":"tool_call","agent":"bench","session":"s{}","action":"Read","status":"ok","body":{{"path":"/srv/data/file-{n}.txt","note":"a short tool call body"}}}}"#,
                n % 50
            )
        })
        .collect();
    format!("[{}]", evs.join(","))
}

async fn post(client: &reqwest::Client, base: &str, body: String) {
    let resp = client
        .post(format!("{base}/v1/events"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let _ = resp.bytes().await;
}

async fn get(client: &reqwest::Client, url: &str) -> usize {
    let resp = client.get(url).send().await.unwrap();
    assert!(resp.status().is_success(), "{url}: {}", resp.status());
    resp.bytes().await.unwrap().len()
}

async fn checkpoint_size(client: &reqwest::Client, base: &str) -> u64 {
    let text =
        client.get(format!("{base}/tlog/checkpoint")).send().await.unwrap().text().await.unwrap();
    text.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(0)
}

/// Fills the log to `n` records and waits for a checkpoint covering them.
async fn fill(client: &reqwest::Client, base: &str, n: u64) {
    let mut tasks = Vec::new();
    for c in 0..4 {
        let (client, base) = (client.clone(), base.to_owned());
        tasks.push(tokio::spawn(async move {
            for r in (c..n / 100).step_by(4) {
                post(&client, &base, batch(r)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    while checkpoint_size(client, base).await < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = server::start(
        &rt,
        "bench/tiles",
        RecorderConfig {
            checkpoint_interval: Duration::from_millis(200),
            ..RecorderConfig::default()
        },
    );
    let client = trail_server::listen::client_builder().build().unwrap();
    let size = 100_000;
    rt.block_on(fill(&client, &server.base, size));
    let full = |tiles: Vec<Tile>| -> Vec<String> {
        tiles
            .into_iter()
            .filter(Tile::is_full)
            .map(|t| format!("{}/tlog/{}", server.base, t.path()))
            .collect()
    };
    let hash: Vec<String> = full(hash_tiles(size).filter(|t| t.level == Some(0)).collect());
    let bundles: Vec<String> = full(entry_bundles(size).collect());
    let mut g = c.benchmark_group("tiles/read");
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    for (name, urls) in [("hash_tile", hash), ("entry_bundle", bundles)] {
        let bytes = rt.block_on(get(&client, &urls[0])) as u64;
        g.throughput(Throughput::Bytes(bytes));
        let urls = Arc::new(urls);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    let mut tasks = Vec::new();
                    for k in 0..4 {
                        let (client, urls) = (client.clone(), urls.clone());
                        tasks.push(tokio::spawn(async move {
                            for i in (k..iters).step_by(4) {
                                get(&client, &urls[i as usize % urls.len()]).await;
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                    start.elapsed()
                })
            });
        });
    }
    g.finish();
    ingest_with_mirrors(&rt, &server.base, &client);
}

/// Who reads the tiles while ingest runs.
#[derive(Clone, Copy)]
struct Readers {
    /// Follow the whole log: every changed hash tile and entry bundle.
    mirrors: usize,
    /// Follow the tree: the right edge's hash tiles, no entries (a monitor or witness feeder).
    monitors: usize,
    poll: Duration,
}

/// Ingest rate (events/s) over `secs` with `readers` following the tiles meanwhile; and the
/// tile bytes they fetched.
async fn ingest_rate(
    base: &str,
    client: &reqwest::Client,
    secs: u64,
    readers: Readers,
) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let fetched = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for k in 0..readers.mirrors + readers.monitors {
        let entries = k < readers.mirrors;
        let (client, base, stop, fetched) =
            (client.clone(), base.to_owned(), stop.clone(), fetched.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = checkpoint_size(&client, &base).await;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(readers.poll).await;
                let size = checkpoint_size(&client, &base).await;
                let tiles: Vec<Tile> = if entries {
                    hash_tiles(size).chain(entry_bundles(size)).collect()
                } else {
                    // A monitor reads the right edge of the tree: the last tile of each level.
                    let all: Vec<Tile> = hash_tiles(size).collect();
                    all.iter()
                        .filter(|t| !all.iter().any(|u| u.level == t.level && u.index > t.index))
                        .copied()
                        .collect()
                };
                for t in tiles {
                    // Tiles over records at or after `seen` changed (or are new).
                    let scale = 8 * t.level.unwrap_or(0);
                    let first = (t.index * 256) << scale;
                    if first + (t.width << scale) > seen {
                        let n = get(&client, &format!("{base}/tlog/{}", t.path())).await;
                        fetched.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
                seen = size;
            }
        }));
    }
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let (client, base, done) = (client.clone(), base.to_owned(), done.clone());
        writers.push(tokio::spawn(async move {
            let mut r = 1_000_000 * (w + 1) + done.load(Ordering::Relaxed);
            while start.elapsed() < Duration::from_secs(secs) {
                post(&client, &base, batch(r)).await;
                done.fetch_add(100, Ordering::Relaxed);
                r += 4;
            }
        }));
    }
    for t in writers {
        t.await.unwrap();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    (rate, fetched.load(Ordering::Relaxed))
}

/// Not a criterion measurement: the rates must come from the same run, alternated.
fn ingest_with_mirrors(rt: &tokio::runtime::Runtime, base: &str, client: &reqwest::Client) {
    let none = Readers { mirrors: 0, monitors: 0, poll: Duration::from_secs(1) };
    let loads = [
        (
            "4 monitors polling every 1 s",
            Readers { mirrors: 0, monitors: 4, poll: Duration::from_secs(1) },
        ),
        (
            "1 mirror polling every 1 s",
            Readers { mirrors: 1, monitors: 0, poll: Duration::from_secs(1) },
        ),
        (
            "4 mirrors polling every 250 ms",
            Readers { mirrors: 4, monitors: 0, poll: Duration::from_millis(250) },
        ),
    ];
    for (what, load) in loads {
        let (mut alone, mut read, mut bytes) = (Vec::new(), Vec::new(), 0);
        for _ in 0..3 {
            alone.push(rt.block_on(ingest_rate(base, client, 4, none)).0);
            let (rate, fetched) = rt.block_on(ingest_rate(base, client, 4, load));
            read.push(rate);
            bytes += fetched;
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (a, m) = (median(&mut alone), median(&mut read));
        println!(
            "ingest with {what} ({:.1} MB of tiles served): {m:.0} events/s; without readers: \
             {a:.0} events/s; ratio {:.3} (serving tiles costs ingest {:.1}%)",
            bytes as f64 / 1e6,
            m / a,
            (1.0 - m / a) * 100.0
        );
    }
}

criterion_group!(benches, read);
criterion_main!(benches);
