//! Record hashing, sealing and verifying, next to the machine's SHA-256 rate.
//!
//! `cargo bench -p trail-core` (events per second are criterion's "elem/s").

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use sha2::{Digest, Sha256};
use trail_core::export;
use trail_core::verify::{BodyInput, Location, Verifier, VerifyOptions};
use trail_core::{Checkpoint, Event, Hash, NoteSigner, Sealed, Timestamp};
use trail_merkle::CompactRange;

const ORIGIN: &str = "bench.trail/log";

fn event_json(i: usize) -> String {
    json!({
        "kind": "tool_call", "action": "Read", "status": "ok", "agent": "bench-agent",
        "session": format!("session-{}", i / 100), "duration_ms": 12,
        "body": {"args": {"path": format!("/srv/data/file-{i}.txt"), "mode": "r"},
                 "result": "x".repeat(300)}
    })
    .to_string()
}

fn sealed_log(n: usize) -> (Vec<Sealed>, String) {
    let mut prev = Hash::ZERO;
    let mut range = CompactRange::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let e = Event::from_slice(event_json(i).as_bytes()).expect("event");
        let s = e
            .prepare(format!("id-{i}"), Timestamp::from_unix_nanos(i as i64), vec![], [1; 32])
            .expect("prepare")
            .seal(ORIGIN, i as u64, prev);
        prev = s.hash;
        range.append(s.hash);
        out.push(s);
    }
    let signer = NoteSigner::from_seed(ORIGIN, [5; 32]).expect("signer");
    let cp = Checkpoint { origin: ORIGIN.into(), size: n as u64, root: range.root() }.sign(&signer);
    (out, cp.to_string())
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("ceiling");
    g.throughput(Throughput::Elements(1));
    let msg = [7u8; 300];
    g.bench_function("sha256_300B", |b| b.iter(|| Sha256::digest(std::hint::black_box(msg))));
    g.finish();

    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(1));
    let text = event_json(1);
    g.bench_function("parse_and_prepare", |b| {
        b.iter(|| {
            Event::from_slice(text.as_bytes())
                .expect("event")
                .prepare("id".into(), Timestamp::EPOCH, vec![], [1; 32])
                .expect("prepare")
        })
    });
    let prepared = Event::from_slice(text.as_bytes())
        .expect("event")
        .prepare("id".into(), Timestamp::EPOCH, vec![], [1; 32])
        .expect("prepare");
    g.bench_function("seal_and_hash", |b| {
        b.iter_batched(
            || prepared.clone(),
            |p| p.seal(ORIGIN, 41, Hash::ZERO),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let n = 20_000;
    let (log, cp) = sealed_log(n);
    let key = NoteSigner::from_seed(ORIGIN, [5; 32]).expect("signer").verifier();
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function("stream_20k_records", |b| {
        b.iter(|| {
            let mut v = Verifier::new(VerifyOptions {
                verifiers: vec![key.clone()],
                ..VerifyOptions::default()
            });
            for s in &log {
                let body = s.body.as_ref().map_or(BodyInput::Absent, |b| BodyInput::Present {
                    salt: &b.salt,
                    canonical: &b.canonical,
                });
                v.record(Location::default(), &s.canonical, Some(s.hash), body);
            }
            v.checkpoint(Location::default(), &cp);
            assert!(v.finish().is_intact());
        })
    });
    let lines: Vec<String> =
        log.iter().map(|s| export::record_line(&s.canonical, &s.hash, s.body.as_ref())).collect();
    g.bench_function("export_lines_20k", |b| {
        b.iter(|| {
            let mut v = Verifier::new(VerifyOptions {
                verifiers: vec![key.clone()],
                ..VerifyOptions::default()
            });
            for l in &lines {
                if let Ok(export::ExportLine::Record { canonical, hash, body }) =
                    export::parse_line(l)
                {
                    let b = body.as_ref().map_or(BodyInput::Absent, |b| BodyInput::Present {
                        salt: &b.salt,
                        canonical: &b.canonical,
                    });
                    v.record(Location::default(), &canonical, hash, b);
                }
            }
            v.checkpoint(Location::default(), &cp);
            assert!(v.finish().is_intact());
        })
    });
    g.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
