//! PostgreSQL backend throughput against the local server: durable appends in batches of 1000
//! and 10 000 (about 400-byte bodies), then a filtered page, searches and a proof on a large log;
//! and the store's hand-written binary `COPY` encoder against the `postgres` crate's
//! `BinaryCopyInWriter` on the same 1000 records into the same table (`copy_encoding`).
//!
//! `CARGO_TARGET_DIR=/work/target-pg cargo bench -p trail-store --features postgres --bench postgres -- --warm-up-time 1 --measurement-time 5`
//! The server is `TRAIL_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); every log
//! lives in a scratch schema dropped at the end. Set `TRAIL_BENCH_RECORDS` to change the size of
//! the query log (default 300 000).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use trail_core::{Event, Sealed, Timestamp};
use trail_store::postgres::{PostgresStore, scratch_schema};
use trail_store::{Query, Store};

const ORIGIN: &str = "trail.bench/postgres";

fn url() -> String {
    std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn scratch() -> PostgresStore {
    PostgresStore::create_in(&url(), &scratch_schema("trail_bench"), ORIGIN)
        .expect("create a scratch log (is PostgreSQL up?)")
        .dangerous_drop_on_drop()
}

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
    let store = scratch();
    let vocab = vocabulary();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut g = c.benchmark_group("postgres");
    for n in [1000usize, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("append_batch_{n}_durable"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let batch = batch(&store, n, &mut rng, &vocab);
                    let t = Instant::now();
                    store.append(&batch).expect("append");
                    spent += t.elapsed();
                }
                spent
            });
        });
    }
    // Index what the benchmarks above appended, so the next one measures one batch's worth.
    store.index_all().expect("index");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("append_batch_10000_then_index", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let batch = batch(&store, 10_000, &mut rng, &vocab);
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

fn queries(c: &mut Criterion) {
    let n: u64 =
        std::env::var("TRAIL_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    let store = scratch();
    let vocab = vocabulary();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let t = Instant::now();
    while store.state().expect("state").size < n {
        let b = batch(&store, 10_000, &mut rng, &vocab);
        store.append(&b).expect("append");
    }
    let built = t.elapsed();
    let t = Instant::now();
    store.index_all().expect("index");
    // As autovacuum would by now: queries are planned on real statistics.
    store.vacuum_analyze().expect("analyze");
    eprintln!(
        "built a log of {n} records in {built:.1?}, indexed it for search in {:.1?} ({} MiB in the database)",
        t.elapsed(),
        store.disk_bytes().expect("bytes") >> 20
    );
    let size = store.state().expect("state").size;
    let store: &dyn Store = &store;
    let mut g = c.benchmark_group("postgres_query");
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
    g.bench_function("stats_one_session", |b| {
        b.iter(|| black_box(store.stats(&Query { session: Some("s7".into()), ..Query::default() })))
    });
    g.sample_size(10);
    g.bench_function("stats_all", |b| b.iter(|| black_box(store.stats(&Query::default()))));
    g.bench_function("sessions_all", |b| b.iter(|| black_box(store.sessions(&Query::default()))));
    g.finish();
}

/// The records of one append batch into a table shaped like `records`, by `COPY ... (FORMAT
/// binary)`: once with the bytes the store encodes itself (which also folds the rollups and grows
/// the tree, so it does more than the other side), once through `BinaryCopyInWriter`, which
/// calls `ToSql` for every value. Each iteration empties the table first; the table is
/// unlogged, so the comparison is of encoding and transfer, not of the server's WAL.
fn copy_encoding(c: &mut Criterion) {
    use postgres::binary_copy::BinaryCopyInWriter;
    use postgres::types::{ToSql, Type};
    use postgres::{Client, NoTls};

    const COLUMNS: &str = "seq, id, time, kind, category, action, status, agent, session, \
        conversation, actor, source, trace_id, input_tokens, output_tokens, cost_usd, tree, canonical";
    let store = scratch();
    let vocab = vocabulary();
    let records = batch(&store, 1000, &mut Rng(0x2545_f491_4f6c_dd1d), &vocab);
    // The tree column as the store computes it, for the side that does not compute it.
    let mut range = trail_merkle::CompactRange::new();
    let trees: Vec<Vec<u8>> = records
        .iter()
        .map(|s| range.append(s.hash).iter().flat_map(|(_, _, h)| h.as_bytes().to_vec()).collect())
        .collect();
    let mut client = Client::connect(&url(), NoTls).expect("connect");
    client
        .batch_execute(&format!(
            "SET search_path TO {}; DROP TABLE IF EXISTS copy_bench; \
             CREATE UNLOGGED TABLE copy_bench (LIKE records)",
            store.schema()
        ))
        .expect("table");
    let copy = format!("COPY copy_bench ({COLUMNS}) FROM STDIN (FORMAT binary)");
    let mut g = c.benchmark_group("copy_encoding");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("trail_encoder_1000_records", |b| {
        b.iter(|| {
            client.batch_execute("TRUNCATE copy_bench").expect("truncate");
            let bytes = trail_store::postgres::encode_records_for_bench(&records);
            let mut w = client.copy_in(&copy).expect("copy");
            std::io::Write::write_all(&mut w, &bytes).expect("write");
            w.finish().expect("finish")
        });
    });
    let types = [
        Type::INT8,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::FLOAT8,
        Type::BYTEA,
        Type::BYTEA,
    ];
    g.bench_function("binary_copy_in_writer_1000_records", |b| {
        b.iter(|| {
            client.batch_execute("TRUNCATE copy_bench").expect("truncate");
            let sink = client.copy_in(&copy).expect("copy");
            let mut w = BinaryCopyInWriter::new(sink, &types);
            for (s, tree) in records.iter().zip(&trees) {
                let (r, f) = (&s.record, &s.record.fields);
                let usage = f.usage.as_ref();
                let input = usage.and_then(|u| u.input_tokens).map(|n| n as i64);
                let output = usage.and_then(|u| u.output_tokens).map(|n| n as i64);
                let cost = usage.and_then(|u| u.cost_usd);
                let row: [&(dyn ToSql + Sync); 18] = [
                    &(r.seq as i64),
                    &r.id,
                    &r.time.unix_nanos(),
                    &f.kind,
                    &f.category,
                    &f.action,
                    &f.status,
                    &f.agent,
                    &f.session,
                    &f.conversation,
                    &f.actor,
                    &f.source,
                    &f.trace_id,
                    &input,
                    &output,
                    &cost,
                    tree,
                    &s.canonical,
                ];
                w.write(&row).expect("row");
            }
            w.finish().expect("finish")
        });
    });
    g.finish();
}

criterion_group!(benches, append, queries, copy_encoding);
criterion_main!(benches);
