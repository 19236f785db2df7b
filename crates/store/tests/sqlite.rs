//! What the SQLite backend promises beyond the shared suite: it resumes exactly after reopening,
//! and its full-text search means what the in-memory evaluator means.

use serde_json::json;
use trail_store::conformance::{ORIGIN, seal, signer};
use trail_store::query::run_query;
use trail_store::sqlite::SqliteStore;
use trail_store::{Query, Store, StoredRecord};

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
    "quote \" inside",
    "東京 タワー",
];

#[test]
fn search_means_what_query_rs_means() {
    let store = SqliteStore::open_in_memory(ORIGIN).expect("store");
    store.append(&seal(&store, &events(TEXTS))).expect("append");
    for search in [
        "hello",
        "HELLO world",
        "world again",
        "straße",
        "STRASSE",
        "σίσυφος",
        "ΣΊΣΥΦΟΣ",
        "istanbul",
        "i̇stanbul",
        "naïve",
        "naive",
        "x²",
        "x",
        "3rd",
        "ntwo",
        "line two",
        "text",
        "東京",
        "タワー",
        "nothing here",
        "\"hello\" OR world",
        "hel*",
        "NEAR(hello world)",
        "\"",
        "!!!",
    ] {
        check_search(&store, search);
    }
}

#[test]
fn erased_before_indexing_is_never_found() {
    let store = SqliteStore::open_in_memory(ORIGIN).expect("store");
    store.append(&seal(&store, &events(TEXTS))).expect("append");
    assert_eq!(store.erase(&[0, 1]).expect("erase"), 2);
    check_search(&store, "hello");
    assert!(
        store
            .query(&Query { search: Some("hello".into()), ..Query::default() })
            .expect("q")
            .records
            .is_empty()
    );
    // And once indexed, erasing removes the entry.
    check_search(&store, "stone");
    assert_eq!(store.erase(&[3]).expect("erase"), 1);
    check_search(&store, "stone");
    assert_eq!(store.index_pending(100).expect("index"), 0);
}

#[test]
fn reopen_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trail.db");
    let (state, records, cps) = {
        let store = SqliteStore::create(&path, ORIGIN).expect("create");
        let batch = seal(&store, &events(&TEXTS[..7]));
        store.append(&batch[..3]).expect("append");
        store.append(&batch[3..]).expect("append");
        let root = store.state().expect("state").root;
        let cp = trail_core::Checkpoint { origin: ORIGIN.into(), size: 7, root }.sign(&signer());
        store.put_checkpoint(None, &cp).expect("checkpoint");
        store.erase(&[2]).expect("erase");
        // Half the bodies indexed, the rest left to catch up after reopening.
        store.index_pending(4).expect("index");
        (store.state().expect("state"), all(&store), store.checkpoints().expect("cps"))
    };
    assert!(SqliteStore::create(&path, ORIGIN).is_err(), "create refuses an existing log");
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(store.origin(), ORIGIN);
    assert_eq!(store.state().expect("state"), state);
    assert_eq!(all(&store), records);
    assert_eq!(store.checkpoints().expect("cps"), cps);
    check_search(&store, "hello");
    check_search(&store, "two");
    store.append(&seal(&store, &events(&TEXTS[7..]))).expect("append after reopen");
    assert_eq!(store.state().expect("state").size, 10);
    let mut range = trail_merkle::CompactRange::new();
    for r in all(&store) {
        range.append(r.hash);
    }
    assert_eq!(store.state().expect("state").root, range.root());
    assert!(store.disk_bytes().expect("bytes") > 0);
}

#[test]
fn reopen_after_prune_keeps_the_anchor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trail.db");
    let store = SqliteStore::create(&path, ORIGIN).expect("create");
    let batch = seal(&store, &events(TEXTS));
    store.append(&batch).expect("append");
    let mut range = trail_merkle::CompactRange::new();
    for s in &batch[..5] {
        range.append(s.hash);
    }
    let cp = trail_core::Checkpoint { origin: ORIGIN.into(), size: 5, root: range.root() }
        .sign(&signer());
    let dyn_store: &dyn Store = &store;
    let anchor = trail_core::Anchor {
        size: 5,
        peaks: range.peaks().to_vec(),
        last_hash: batch[4].hash,
        last_proof: dyn_store.inclusion_proof(4, 5).expect("proof"),
        checkpoint: cp.to_string(),
    };
    let mut forged = anchor.clone();
    forged.last_hash = batch[3].hash;
    assert!(store.prune(&forged).is_err(), "an anchor that is not the tree's is refused");
    assert_eq!(store.prune(&anchor).expect("prune"), 5);
    let state = store.state().expect("state");
    drop(store);
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(store.state().expect("state"), state);
    assert_eq!(store.anchor().expect("anchor"), Some(anchor));
    let dyn_store: &dyn Store = &store;
    for index in 5..10 {
        let proof = dyn_store.inclusion_proof(index, 10).expect("proof");
        trail_merkle::verify_inclusion(&batch[index as usize].hash, index, 10, &proof, &state.root)
            .expect("verifies");
    }
    check_search(&store, "hello");
    store.append(&seal(&store, &events(&TEXTS[..1]))).expect("append after prune and reopen");
}

/// Events over a few sessions, agents, kinds, statuses and hours, with costs exact in binary.
fn varied(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let kind = ["tool_call", "llm_call", "message"][i % 3];
            let mut e = json!({
                "kind": kind,
                "time": trail_core::Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + i as i64 * 600_000_000_000),
                "usage": {"input_tokens": i, "output_tokens": 2 * i, "cost_usd": 0.25 * (i % 4) as f64},
            });
            if i % 7 != 0 {
                e["session"] = json!(format!("s{}", i % 4));
            }
            if i % 5 != 1 {
                e["agent"] = json!(format!("agent-{}", i % 3));
            }
            if i % 2 == 0 {
                let status = ["ok", "error", "denied", "failed", "blocked"][i % 5];
                e["status"] = json!(status);
            }
            if i % 3 == 0 {
                e["category"] = json!("io");
            }
            e
        })
        .collect()
}

/// Expects the SQLite store (rollups or SQL) and the memory store (the reference evaluator) to
/// agree on sessions and stats for each query.
fn check_aggregates(sqlite: &dyn Store, memory: &dyn Store) {
    let queries = [
        Query::default(),
        Query { kind: Some("tool_call".into()), ..Query::default() },
        Query { status: Some("error".into()), agent: Some("agent-1".into()), ..Query::default() },
        Query { session: Some("s2".into()), ..Query::default() },
        Query { agent: Some("agent-0".into()), ..Query::default() },
        Query { action: Some("none".into()), ..Query::default() },
        Query { limit: 2, ..Query::default() },
    ];
    for q in &queries {
        assert_eq!(sqlite.stats(q).expect("stats"), memory.stats(q).expect("stats"), "stats {q:?}");
        assert_eq!(
            sqlite.sessions(q).expect("s"),
            memory.sessions(q).expect("s"),
            "sessions {q:?}"
        );
    }
}

#[test]
fn rollups_agree_with_the_reference_evaluator() {
    let sqlite = SqliteStore::open_in_memory(ORIGIN).expect("store");
    let memory = trail_store::memory::MemoryStore::new(ORIGIN, 1000);
    let batch = seal(&sqlite, &varied(60));
    for chunk in batch.chunks(13) {
        sqlite.append(chunk).expect("append");
        memory.append(chunk).expect("append");
    }
    check_aggregates(&sqlite, &memory);
    let mut range = trail_merkle::CompactRange::new();
    for s in &batch[..20] {
        range.append(s.hash);
    }
    let cp = trail_core::Checkpoint { origin: ORIGIN.into(), size: 20, root: range.root() }
        .sign(&signer());
    let anchor = trail_core::Anchor {
        size: 20,
        peaks: range.peaks().to_vec(),
        last_hash: batch[19].hash,
        last_proof: vec![],
        checkpoint: cp.to_string(),
    };
    sqlite.prune(&anchor).expect("prune");
    memory.prune(&anchor).expect("prune");
    check_aggregates(&sqlite, &memory);
}

/// A word longer than the search index keeps (FTS5 mangles tokens over 32 KiB) is left out of
/// the index and out of its check alike: a search, which brings the index up to date, must not
/// make an honest log fail verification (found by an outside tester).
#[test]
fn a_huge_word_does_not_break_the_index_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::create(&dir.path().join("t.db"), ORIGIN).expect("create");
    let long = format!("{} hello", "z".repeat(50_000));
    store.append(&seal(&store, &events(&[&long, "hello there"]))).expect("append");
    check_search(&store, "hello");
    let mut mismatches = Vec::new();
    store.check_derived(&mut |m| mismatches.push(m.message)).expect("check");
    assert!(mismatches.is_empty(), "{mismatches:?}");
}
