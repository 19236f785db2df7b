//! What the PostgreSQL backend promises beyond the shared suite, against a real server: it
//! resumes after reopening, search means what `query.rs` means, two writers never fork the log,
//! the sequencer lease fences a writer that lost it, and the store works from any thread.
//!
//! The server is `TRAIL_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`). Each test
//! works in a schema of its own and drops it when done, failed or not. Without a server the
//! tests fail, loudly, unless `TRAIL_SKIP_POSTGRES=1`.

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use trail_store::conformance::{ORIGIN, seal};
use trail_store::postgres::{PostgresStore, dangerous_drop_schema, scratch_schema};
use trail_store::query::run_query;
use trail_store::{Query, Store, StoreError, StoredRecord};

/// The server, or `None` when it is down and skipping was asked for.
fn url() -> Option<String> {
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let probe = scratch_schema("trail_probe");
    match PostgresStore::create_in(&url, &probe, ORIGIN) {
        Ok(s) => {
            drop(s.dangerous_drop_on_drop());
            Some(url)
        }
        Err(e) if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") => {
            // Straight to stderr: libtest hides what `eprintln!` prints in a passing test.
            let loud = format!(
                "\n*** SKIPPED: no PostgreSQL at {url} ({e}); TRAIL_SKIP_POSTGRES=1 is set ***\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), loud.as_bytes());
            None
        }
        Err(e) => panic!(
            "\n*** no PostgreSQL at {url}: {e}\n*** start it (see .ci/run) or set \
             TRAIL_SKIP_POSTGRES=1 to skip the PostgreSQL tests ***\n"
        ),
    }
}

/// A new log in a scratch schema, dropped with the store.
fn scratch(url: &str) -> PostgresStore {
    PostgresStore::create_in(url, &scratch_schema("trail_test"), ORIGIN)
        .expect("create a scratch log")
        .dangerous_drop_on_drop()
}

/// Drops a schema when dropped, for tests that open several stores on one log.
struct DropSchema(String, String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        if let Err(e) = dangerous_drop_schema(&self.0, &self.1) {
            eprintln!("could not drop {}: {e}", self.1);
        }
    }
}

fn events(texts: &[&str]) -> Vec<serde_json::Value> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"kind": "message", "session": format!("s{}", i % 2), "body": {"text": t}}))
        .collect()
}

fn all(store: &dyn Store) -> Vec<StoredRecord> {
    let mut out = Vec::new();
    store
        .scan(0, u64::MAX, &mut |r| {
            out.push(r);
            Ok(true)
        })
        .expect("scan");
    out
}

/// Searches the store and the in-memory evaluator for `search` and expects the same seqs.
fn check_search(store: &dyn Store, search: &str) {
    let q = Query { search: Some(search.into()), limit: 1000, ..Query::default() };
    let expected: Vec<u64> =
        run_query(&q, all(store).into_iter()).records.iter().map(|r| r.seq).collect();
    let got = store.query(&q).expect("query");
    assert_eq!(
        got.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        expected,
        "search {search:?}"
    );
    assert_eq!(got.total, expected.len() as u64, "search {search:?}");
}

const TEXTS: &[&str] = &[
    "Hello World",
    "hello, world! HELLO again",
    "Straße und Fluß",
    "ΣΊΣΥΦΟΣ rolls the stone",
    "İstanbul in winter",
    "naïve café",
    "x² and 3rd",
    "line one\nline two",
    "quote \" inside ' and \\ too",
    "東京 タワー",
    "the and a of: stop words are words here",
    "running runs ran",
];

#[test]
fn search_means_what_query_rs_means() {
    let Some(url) = url() else { return };
    let store = scratch(&url);
    store.append(&seal(&store, &events(TEXTS))).expect("append");
    for search in [
        "hello",
        "HELLO world",
        "straße",
        "STRASSE",
        "σίσυφος",
        "ΣΊΣΥΦΟΣ",
        "istanbul",
        "i̇stanbul",
        "café",
        "cafe",
        "x²",
        "x",
        "3rd",
        "line two",
        "quote inside",
        "'",
        "東京",
        "the",
        "a of",
        "run",
        "running",
        "text",
        "nothing-matches-this",
        "hello & world | !x",
        "it's",
    ] {
        check_search(&store, search);
    }
}

#[test]
fn a_word_too_long_for_a_lexeme_is_still_found() {
    let Some(url) = url() else { return };
    let store = scratch(&url);
    let long = "q".repeat(5000);
    let texts = [format!("before {long} after"), "before after".to_owned()];
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    store.append(&seal(&store, &events(&texts))).expect("append");
    check_search(&store, &long);
    check_search(&store, &format!("{long} AFTER"));
    check_search(&store, &"q".repeat(4999));
}

#[test]
fn a_body_with_more_words_than_a_vector_holds_is_searchable() {
    let Some(url) = url() else { return };
    let store = scratch(&url);
    // 150 000 distinct words of 8 bytes: 1.2 MB of lexemes, over PostgreSQL's 1 MiB per vector.
    let huge: String = (0..150_000).map(|i| format!("w{i:07} ")).collect();
    let texts = ["w0000001 small", huge.as_str(), "w0149999 other"];
    store.append(&seal(&store, &events(&texts))).expect("append");
    for search in ["w0000001", "w0149999", "w0075000 w0000002", "small", "w0075000 small", "w9"] {
        check_search(&store, search);
    }
    // Erasing the body removes its words too.
    assert_eq!(store.erase(&[1]).expect("erase"), 1);
    check_search(&store, "w0075000");
    assert!(
        store
            .query(&Query { search: Some("w0075000".into()), ..Query::default() })
            .expect("query")
            .records
            .is_empty()
    );
}

#[test]
fn reopening_resumes_exactly() {
    let Some(url) = url() else { return };
    let schema = scratch_schema("trail_test");
    let _guard = DropSchema(url.clone(), schema.clone());
    let store = PostgresStore::create_in(&url, &schema, ORIGIN).expect("create");
    store.append(&seal(&store, &events(&["one", "two", "three"]))).expect("append");
    let before = store.state().expect("state");
    drop(store);
    let store = PostgresStore::open(&url, &schema).expect("open by schema");
    assert_eq!(store.state().expect("state"), before);
    store.append(&seal(&store, &events(&["four"]))).expect("append after reopening");
    assert_eq!(store.state().expect("state").size, 4);
    assert_eq!(store.origin(), ORIGIN);
    assert!(store.disk_bytes().expect("bytes") > 0);
    // Opening by an origin that has no log says so.
    let err = PostgresStore::open(&url, "trail.test/no-such-log").expect_err("no log");
    assert!(err.to_string().contains("holds no trail log"), "{err}");
    // Creating over an existing schema is refused.
    let err = PostgresStore::create_in(&url, &schema, ORIGIN).expect_err("exists");
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[test]
fn two_writers_never_fork_the_log() {
    let Some(url) = url() else { return };
    let schema = scratch_schema("trail_test");
    let _guard = DropSchema(url.clone(), schema.clone());
    let a = PostgresStore::create_in(&url, &schema, ORIGIN).expect("create");
    let b = PostgresStore::open(&url, &schema).expect("open a second writer");
    let batch_a = seal(&a, &events(&["from a"]));
    let batch_b = seal(&b, &events(&["from b"]));
    assert_eq!(batch_a[0].record.seq, batch_b[0].record.seq);
    a.append(&batch_a).expect("a appends first");
    // b sealed its batch at the same seq: refused inside its transaction, whatever b cached.
    let err = b.append(&batch_b).expect_err("b's batch would fork the log");
    assert!(matches!(err, StoreError::OutOfOrder { size: 1, seq: 0 }), "{err}");
    // b sees a's record and continues after it.
    assert_eq!(b.state().expect("state"), a.state().expect("state"));
    let next = seal(&b, &events(&["b again"]));
    b.append(&next).expect("b continues the log");
    assert_eq!(a.state().expect("state").size, 2);
    // And a, whose cache is now behind, continues after b.
    a.append(&seal(&a, &events(&["a again"]))).expect("a continues");
    let seqs: Vec<u64> = all(&a).iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert_eq!((&a as &dyn Store).root_at(3).expect("root"), b.state().expect("state").root);
}

#[test]
fn concurrent_writers_serialise_on_the_head() {
    let Some(url) = url() else { return };
    let schema = scratch_schema("trail_test");
    let _guard = DropSchema(url.clone(), schema.clone());
    drop(PostgresStore::create_in(&url, &schema, ORIGIN).expect("create"));
    let stores: Vec<Arc<PostgresStore>> =
        (0..3).map(|_| Arc::new(PostgresStore::open(&url, &schema).expect("open"))).collect();
    let threads: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(w, store)| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut appended = 0;
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                for i in 0..30 {
                    // Seal after the head as this writer sees it; retry when another wins. The
                    // store promises order, not fairness: a writer may lose many races in a row
                    // while the others append back to back, so it backs off a little each time.
                    for attempt in 0u64.. {
                        assert!(std::time::Instant::now() < deadline, "writer {w} starved at {i}");
                        if attempt > 0 {
                            std::thread::sleep(Duration::from_micros(100 * attempt.min(20) * (w as u64 + 1)));
                        }
                        let batch = seal(&*store, &[json!({"kind": "message", "id": format!("w{w}-{i}"), "body": {"n": i}})]);
                        match store.append(&batch) {
                            Ok(()) => {
                                appended += 1;
                                break;
                            }
                            Err(StoreError::OutOfOrder { .. } | StoreError::Fork { .. }) => {}
                            Err(e) => panic!("writer {w}: {e}"),
                        }
                    }
                }
                appended
            })
        })
        .collect();
    let appended: u64 = threads.into_iter().map(|t| t.join().expect("writer")).sum();
    assert_eq!(appended, 90, "every writer got every record in, one after another");
    let records = all(&*stores[0]);
    assert_eq!(records.len(), 90);
    let mut prev = trail_merkle::Hash::ZERO;
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        assert_eq!(r.record.prev, prev, "seq {i} continues the chain");
        prev = r.hash;
    }
}

#[test]
fn the_lease_fences_a_writer_that_lost_it() {
    let Some(url) = url() else { return };
    let schema = scratch_schema("trail_test");
    let _guard = DropSchema(url.clone(), schema.clone());
    let a = PostgresStore::create_in(&url, &schema, ORIGIN).expect("create");
    let b = PostgresStore::open(&url, &schema).expect("open");
    let ttl = Duration::from_millis(400);

    // Two nodes contend: one wins.
    let ta = a.try_acquire("node-a", ttl).expect("acquire").expect("a wins");
    assert_eq!(b.try_acquire("node-b", ttl).expect("acquire"), None, "b loses while a's is live");
    let info = b.lease().expect("lease");
    assert_eq!((info.holder.as_deref(), info.epoch), (Some("node-a"), ta.epoch));
    assert!(info.is_live());

    // The leader appends; the other may not append around it.
    a.append(&seal(&a, &events(&["under a's lease"]))).expect("leader appends");
    let err = b.append(&seal(&b, &events(&["no lease"]))).expect_err("b holds no lease");
    assert!(matches!(&err, StoreError::LeaseHeld { holder, .. } if holder == "node-a"), "{err}");
    assert!(err.to_string().contains("node-a"), "{err}");
    a.renew(&ta, ttl).expect("the holder renews");

    // a stops renewing (a paused process); its lease expires and b takes over.
    std::thread::sleep(ttl + Duration::from_millis(200));
    let tb = b.try_acquire("node-b", ttl).expect("acquire").expect("b takes over");
    assert!(tb.epoch > ta.epoch, "a takeover bumps the epoch");
    b.append(&seal(&b, &events(&["under b's lease"]))).expect("new leader appends");

    // a wakes up: its append with the stale epoch is refused, and so is its renewal.
    let err = a.append(&seal(&a, &events(&["stale leader"]))).expect_err("fenced");
    assert!(
        matches!(err, StoreError::LeaseLost { epoch, current } if epoch == ta.epoch && current == tb.epoch),
        "{err}"
    );
    assert!(err.to_string().contains(&format!("epoch {}", ta.epoch)), "{err}");
    assert!(matches!(a.renew(&ta, ttl), Err(StoreError::LeaseLost { .. })));
    assert_eq!(a.state().expect("state").size, 2, "nothing of the stale leader's got in");

    // b hands over; a takes the lease again and continues the log.
    b.release(&tb).expect("release");
    assert!(!a.lease().expect("lease").is_live());
    let ta2 = a.try_acquire("node-a", ttl).expect("acquire").expect("free again");
    assert!(ta2.epoch > tb.epoch);
    a.append(&seal(&a, &events(&["a again"]))).expect("a appends under its new lease");
    // b, released, is no longer fenced but a's lease is live.
    assert!(matches!(b.append(&seal(&b, &events(&["b"]))), Err(StoreError::LeaseHeld { .. })));
    a.release(&ta2).expect("release");
    b.append(&seal(&b, &events(&["nobody holds it"]))).expect("unfenced append without a lease");
    let seqs: Vec<u64> = all(&a).iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
}

#[test]
fn works_from_async_code_and_blocking_tasks() {
    let Some(url) = url() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("rt");
    rt.block_on(async move {
        // Opening, appending and dropping on a thread that drives async tasks would panic with
        // a client that blocks on its own runtime; each connection has its own thread instead.
        let store: Arc<dyn Store> = Arc::new(scratch(&url));
        store.append(&seal(&*store, &events(&["on a runtime thread"]))).expect("append");
        let s = store.clone();
        tokio::task::spawn_blocking(move || {
            s.append(&seal(&*s, &events(&["from spawn_blocking"]))).expect("append");
        })
        .await
        .expect("blocking task");
        assert_eq!(store.state().expect("state").size, 2);
        drop(store);
    });
}

#[test]
fn search_with_filters_cursors_and_aggregates_matches_the_evaluator() {
    let Some(url) = url() else { return };
    let store = scratch(&url);
    let evs: Vec<serde_json::Value> = (0..60)
        .map(|i| {
            json!({
                "kind": if i % 3 == 0 { "tool_call" } else { "message" },
                "session": format!("s{}", i % 4),
                "status": if i % 5 == 0 { "error" } else { "ok" },
                "body": {"text": format!("alpha {} gamma{}", if i % 2 == 0 { "beta" } else { "delta" }, i % 7)}
            })
        })
        .collect();
    store.append(&seal(&store, &evs)).expect("append");
    let records = all(&store);
    for ascending in [false, true] {
        for (search, kind) in
            [("alpha beta", None), ("gamma3", Some("tool_call")), ("delta", Some("message"))]
        {
            let base = Query {
                search: Some(search.into()),
                kind: kind.map(str::to_owned),
                ascending,
                limit: 4,
                ..Query::default()
            };
            let mut cursor = None;
            let mut got = Vec::new();
            loop {
                let q = Query { cursor, ..base.clone() };
                let page = store.query(&q).expect("query");
                let expected = run_query(&q, records.clone().into_iter());
                assert_eq!(page.total, expected.total, "{q:?}");
                assert_eq!(page.next_cursor, expected.next_cursor, "{q:?}");
                got.extend(page.records.iter().map(|r| r.seq));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let all_q = Query { limit: 1000, ..base.clone() };
            let expected: Vec<u64> = run_query(&all_q, records.clone().into_iter())
                .records
                .iter()
                .map(|r| r.seq)
                .collect();
            assert_eq!(got, expected, "{base:?}");
        }
    }
    // Sessions and stats of a search agree with the evaluator's fold of the same records.
    let q = Query { search: Some("beta".into()), ..Query::default() };
    let words = q.search_words();
    let mut agg = trail_store::query::Aggregate::default();
    for r in records.iter().filter(|r| q.matches(r, &words)) {
        agg.add(r);
    }
    assert_eq!(store.stats(&q).expect("stats"), agg.stats);
    assert_eq!(store.sessions(&q).expect("sessions"), agg.into_sessions(q.page_size()));
}
