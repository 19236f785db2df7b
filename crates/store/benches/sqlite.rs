//! SQLite backend throughput: durable appends, a filtered page, a search and a proof on a large
//! log.
//!
//! `CARGO_TARGET_DIR=/work/target-sqlite cargo bench -p trail-store --bench sqlite -- --warm-up-time 1 --measurement-time 3`
//! Set `TRAIL_BENCH_RECORDS` to change the size of the query log (default 1 000 000; building it
//! takes a while and lives in a temporary directory).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use trail_core::{Event, Sealed, Timestamp};
use trail_store::sqlite::SqliteStore;
use trail_store::{Query, Store};

const ORIGIN: &str = "trail.bench/sqlite";
const BATCH: usize = 1000;

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A vocabulary of 2000 made-up words.
fn vocabulary() -> Vec<String> {
    let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "xe"];
    (0..2000)
        .map(|i| {
            let mut w = String::new();
            let mut n = i + 12;
            while n > 0 {
                w.push_str(syllables[n % syllables.len()]);
                n /= syllables.len();
            }
            w
        })
        .collect()
}

/// Seals `n` events of about 400 body bytes after the store's state.
fn batch(store: &dyn Store, n: usize, rng: &mut Rng, vocab: &[String]) -> Vec<Sealed> {
    let state = store.state().expect("state");
    let mut prev = state.last_hash;
    let mut out = Vec::with_capacity(n);
    for k in 0..n as u64 {
        let seq = state.size + k;
        let mut text = String::with_capacity(400);
        while text.len() < 370 {
            text.push_str(&vocab[rng.below(vocab.len() as u64) as usize]);
            text.push(' ');
        }
        if seq % 10_000 == 7 {
            text.push_str("needle ");
        }
        let kind = ["tool_call", "llm_call", "message", "decision"][rng.below(4) as usize];
        let status = ["ok", "ok", "ok", "ok", "ok", "ok", "error", "denied"][rng.below(8) as usize];
        let event = Event::from_value(json!({
            "kind": kind,
            "status": status,
            "agent": format!("agent-{}", rng.below(10)),
            "session": format!("s{}", seq / 200),
            "action": "Read",
            "usage": {"input_tokens": rng.below(1000), "output_tokens": rng.below(500), "cost_usd": 0.001},
            "body": {"text": text},
        }))
        .expect("event");
        let time = Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + seq as i64 * 1_000_000);
        let mut salt = [0u8; 32];
        salt[..8].copy_from_slice(&seq.to_be_bytes());
        let sealed = event
            .prepare(format!("{seq:020}"), time, vec![], salt)
            .expect("prepare")
            .seal(ORIGIN, seq, prev);
        prev = sealed.hash;
        out.push(sealed);
    }
    out
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::create(&dir.path().join("append.db"), ORIGIN).expect("create");
    let vocab = vocabulary();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut g = c.benchmark_group("sqlite");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("append_batch_1000_durable", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let batch = batch(&store, BATCH, &mut rng, &vocab);
                let t = Instant::now();
                store.append(&batch).expect("append");
                spent += t.elapsed();
            }
            spent
        });
    });
    // Index what the first benchmark appended, so the next one measures one batch's worth.
    store.index_all().expect("index");
    g.bench_function("append_batch_1000_then_index", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let batch = batch(&store, BATCH, &mut rng, &vocab);
                let t = Instant::now();
                store.append(&batch).expect("append");
                store.index_all().expect("index");
                spent += t.elapsed();
            }
            spent
        });
    });
    g.finish();
}

/// One event per append, durable (through the append journal), beside the machine's limit for
/// it measured in the same run: a 4 KiB write overwriting a file in place, then `fdatasync`.
/// The ratio of the two `thrpt` figures is the store's share of the limit.
fn append_one(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::create(&dir.path().join("one.db"), ORIGIN).expect("create");
    let vocab = vocabulary();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut g = c.benchmark_group("sqlite_one");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append_1_durable", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let one = batch(&store, 1, &mut rng, &vocab);
                let t = Instant::now();
                store.append(&one).expect("append");
                spent += t.elapsed();
            }
            spent
        });
    });
    let path = dir.path().join("limit");
    let mut f = std::fs::File::create(&path).expect("limit file");
    std::io::Write::write_all(&mut f, &vec![0u8; 8 << 20]).expect("fill");
    f.sync_all().expect("sync");
    let block = vec![7u8; 4096];
    let mut at = 0u64;
    g.bench_function("limit_fdatasync_4k_overwrite", |b| {
        b.iter(|| {
            std::os::unix::fs::FileExt::write_all_at(&f, &block, at % (8 << 20)).expect("write");
            f.sync_data().expect("sync");
            at += 4096;
        });
    });
    g.finish();
}

fn queries(c: &mut Criterion) {
    let n: u64 =
        std::env::var("TRAIL_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::create(&dir.path().join("query.db"), ORIGIN).expect("create");
    let vocab = vocabulary();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let t = Instant::now();
    while store.state().expect("state").size < n {
        let b = batch(&store, 10_000, &mut rng, &vocab);
        store.append(&b).expect("append");
    }
    store.index_all().expect("index");
    eprintln!(
        "built a log of {n} records in {:.1?} ({} MiB on disk)",
        t.elapsed(),
        store.disk_bytes().expect("bytes") >> 20
    );
    let size = store.state().expect("state").size;
    let store: &dyn Store = &store;
    let mut g = c.benchmark_group("sqlite_query");
    g.sample_size(20);
    let page = |q: Query| move || black_box(store.query(&q).expect("query"));
    g.bench_function("page_session", |b| {
        b.iter(page(Query { session: Some(format!("s{}", n / 400)), ..Query::default() }));
    });
    g.bench_function("page_kind_status", |b| {
        b.iter(page(Query {
            kind: Some("tool_call".into()),
            status: Some("error".into()),
            ..Query::default()
        }));
    });
    g.bench_function("page_agent", |b| {
        b.iter(page(Query { agent: Some("agent-3".into()), ..Query::default() }));
    });
    g.bench_function("page_unfiltered", |b| b.iter(page(Query::default())));
    g.bench_function("search_rare_word", |b| {
        b.iter(page(Query { search: Some("needle".into()), ..Query::default() }));
    });
    g.bench_function("search_two_common_words", |b| {
        b.iter(page(Query {
            search: Some(format!("{} {}", vocab[10], vocab[20])),
            ..Query::default()
        }));
    });
    g.bench_function("inclusion_proof", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % size;
            black_box(store.inclusion_proof(i, size).expect("proof"))
        });
    });
    g.bench_function("get", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % size;
            black_box(store.get(i).expect("get"))
        });
    });
    g.bench_function("sessions_one_agent", |b| {
        b.iter(|| {
            black_box(store.sessions(&Query { agent: Some("agent-3".into()), ..Query::default() }))
        })
    });
    g.bench_function("stats_one_session", |b| {
        b.iter(|| black_box(store.stats(&Query { session: Some("s7".into()), ..Query::default() })))
    });
    g.sample_size(10);
    g.bench_function("stats_all", |b| b.iter(|| black_box(store.stats(&Query::default()))));
    g.bench_function("sessions_all", |b| b.iter(|| black_box(store.sessions(&Query::default()))));
    g.finish();
}

criterion_group!(benches, append, append_one, queries);
criterion_main!(benches);
