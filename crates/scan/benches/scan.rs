//! Throughput of `Scanner::scan` on the labelled corpus (PII-dense) and on clean tool
//! output (JSON and log lines with ids, hashes and timestamps but no PII).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use trail_scan::Scanner;

fn corpus_texts() -> Vec<String> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pii/dev.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else { return Vec::new() };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

/// Deterministic clean tool output: JSON events and log lines, ~64 KiB each text.
fn clean_texts() -> Vec<String> {
    let mut out = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..16 {
        let mut s = String::new();
        while s.len() < 64 * 1024 {
            let (a, b) = (next(), next());
            s.push_str(&format!(
                "{{\"tool\": \"read_file\", \"path\": \"src/module_{}.rs\", \"lines\": {}, \"sha\": \"{:016x}{:016x}\", \"status\": \"ok\", \"elapsed_ms\": {}}}\n",
                a % 97, b % 4000, a, b, a % 900
            ));
            s.push_str(&format!(
                "2025-03-12T21:31:{:02}.230Z INFO [worker] compiled crate step {} of {} in {} ms, cache hit ratio 0.{}\n",
                a % 60, b % 50, 50, a % 1000, b % 100
            ));
        }
        out.push(s);
    }
    out
}

fn bench(c: &mut Criterion) {
    let scanner = Scanner::default();
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(3));
    let corpus = corpus_texts();
    if !corpus.is_empty() {
        g.throughput(Throughput::Bytes(corpus.iter().map(|t| t.len() as u64).sum()));
        g.bench_function("dev_corpus", |b| {
            b.iter(|| corpus.iter().map(|t| scanner.scan(black_box(t)).len()).sum::<usize>())
        });
    }
    let clean = clean_texts();
    g.throughput(Throughput::Bytes(clean.iter().map(|t| t.len() as u64).sum()));
    g.bench_function("clean_tool_output", |b| {
        b.iter(|| clean.iter().map(|t| scanner.scan(black_box(t)).len()).sum::<usize>())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
