//! Fault injection at the storage layer: a torn write at every byte offset of the last record
//! of a file log, and a torn SQLite write-ahead log. After each, nothing half-written is taken
//! for valid, nothing acknowledged before the torn write is lost, and the log verifies.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::Path;

use trail_core::verify::{BodyInput, Location, Verifier, VerifyOptions};
use trail_store::conformance::{ORIGIN, seal};
use trail_store::file::{FileStore, LOG_FILE};
use trail_store::sqlite::SqliteStore;
use trail_store::{Store, StoreError};

fn events(from: usize, n: usize) -> Vec<serde_json::Value> {
    (from..from + n)
        .map(|i| serde_json::json!({"kind": "tool_call", "id": format!("e{i}"), "body": {"i": i, "text": "some output é"}}))
        .collect()
}

/// Verifies every stored record with the core verifier; returns the number of records.
fn verify_store(store: &dyn Store) -> u64 {
    let mut v =
        Verifier::new(VerifyOptions { origin: Some(ORIGIN.into()), ..VerifyOptions::default() });
    store
        .scan(0, u64::MAX, &mut |r| {
            let body = match &r.body {
                Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                None => BodyInput::Absent,
            };
            v.record(Location::seq(r.seq), &r.canonical, None, body);
            Ok(true)
        })
        .unwrap();
    let report = v.finish();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    report.records
}

#[test]
fn a_torn_last_record_of_a_file_log_is_refused_at_every_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::create(dir.path(), ORIGIN).unwrap();
    store.append(&seal(&store, &events(0, 5))).unwrap();
    let before = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
    store.append(&seal(&store, &events(5, 1))).unwrap();
    drop(store);
    let full = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
    let last_line = &full[before.len()..];
    assert!(last_line.len() > 200);
    for cut in 1..last_line.len() {
        let torn = dir.path().join(format!("torn-{cut}"));
        std::fs::create_dir(&torn).unwrap();
        std::fs::write(torn.join("origin"), ORIGIN).unwrap();
        std::fs::write(torn.join(LOG_FILE), &full[..before.len() + cut]).unwrap();
        match FileStore::open(&torn) {
            Err(StoreError::TornTail { line: 6, bytes, .. }) => assert_eq!(bytes, cut as u64),
            Err(e) => panic!("cut at {cut}: unexpected error {e}"),
            Ok(_) => panic!("cut at {cut}: a half-written record was taken for valid"),
        }
        // Repair moves exactly the torn bytes aside; the five whole records remain and verify.
        assert_eq!(FileStore::repair(&torn).unwrap(), cut as u64);
        let reopened = FileStore::open(&torn).unwrap();
        assert_eq!(reopened.state().unwrap().size, 5);
        assert_eq!(verify_store(&reopened), 5);
        std::fs::remove_dir_all(&torn).unwrap();
    }
}

fn copy_db(from: &Path, to: &Path, wal_len: Option<usize>) {
    std::fs::copy(from, to).unwrap();
    let wal = from.with_extension("db-wal");
    if wal.exists() {
        let mut bytes = std::fs::read(&wal).unwrap();
        if let Some(n) = wal_len {
            bytes.truncate(n);
        }
        std::fs::write(to.with_extension("db-wal"), bytes).unwrap();
    }
}

#[test]
fn a_torn_sqlite_wal_keeps_a_verifiable_prefix_of_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let store = SqliteStore::create(&path, ORIGIN).unwrap();
    let mut batch_ends = vec![0u64];
    for b in 0..6 {
        store.append(&seal(&store, &events(b * 20, 20))).unwrap();
        batch_ends.push(store.state().unwrap().size);
    }
    // Copy the files while the store is open, as a crash would leave them (no checkpoint of
    // the WAL into the database file has happened for these small batches).
    let wal_len =
        std::fs::metadata(path.with_extension("db-wal")).map(|m| m.len() as usize).unwrap_or(0);
    assert!(wal_len > 0, "the test needs a write-ahead log to tear");
    let step = (wal_len / 150).max(1);
    let mut seen_sizes = std::collections::BTreeSet::new();
    for cut in (0..=wal_len).step_by(step) {
        let copy = dir.path().join(format!("copy-{cut}.db"));
        copy_db(&path, &copy, Some(cut));
        let reopened = SqliteStore::open(&copy).unwrap();
        let size = reopened.state().unwrap().size;
        // Only whole transactions survive: the size is one of the batch boundaries.
        assert!(batch_ends.contains(&size), "cut {cut}: size {size} is not a batch boundary");
        assert_eq!(verify_store(&reopened), size);
        seen_sizes.insert(size);
        drop(reopened);
        for ext in ["db", "db-wal", "db-shm"] {
            let _ = std::fs::remove_file(copy.with_extension(ext));
        }
    }
    assert!(seen_sizes.len() > 2, "tearing the WAL should expose several prefixes: {seen_sizes:?}");
}
