//! The PostgreSQL backend when its connections are killed: `pg_terminate_backend` on every
//! backend of the log's schema, at random moments while batches are being appended.
//!
//! After each failed append: the error names what happened, the log holds all of the batch or
//! none of it, and the next call reconnects. At the end every acknowledged record is there byte
//! for byte, a reopened store sees the same log, and the log verifies against a checkpoint.
//!
//! The server is `TRAIL_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`), as in
//! `postgres.rs`; `TRAIL_SKIP_POSTGRES=1` skips, loudly, when there is none.

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use trail_core::verify::{BodyInput, Location, Verifier, VerifyOptions};
use trail_core::{Checkpoint, Event, Sealed, Timestamp};
use trail_store::conformance::{ORIGIN, signer};
use trail_store::postgres::{PostgresStore, application_name, scratch_schema};
use trail_store::{Store, StoreError, StoredRecord};

fn url() -> Option<String> {
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(_) => Some(url),
        Err(e) if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") => {
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

/// Terminates every backend serving `schema` (found by its application name); returns how many.
fn kill_backends(admin: &mut postgres::Client, schema: &str) -> usize {
    admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&application_name(schema)],
        )
        .unwrap()
        .len()
}

/// A store error that says the connection went away, as a dropped connection's must.
fn is_connection_loss(e: &StoreError) -> bool {
    let text = e.to_string().to_lowercase();
    ["terminat", "connection", "closed", "thread stopped", "shutdown", "communicating"]
        .iter()
        .any(|w| text.contains(w))
}

/// Retries a read while the killer may have just closed the connection it used.
fn settled<T>(what: &str, f: impl Fn() -> trail_store::Result<T>) -> T {
    let mut last = None;
    for _ in 0..100 {
        match f() {
            Ok(v) => return v,
            Err(e) => {
                assert!(is_connection_loss(&e), "{what}: not a connection loss: {e}");
                last = Some(e);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    panic!("{what} never succeeded: {last:?}");
}

/// Seals `n` events after `size`/`prev`.
fn seal(round: usize, n: usize, size: u64, mut prev: trail_core::Hash) -> Vec<Sealed> {
    (0..n)
        .map(|k| {
            let seq = size + k as u64;
            let event = Event::from_value(json!({
                "kind": "tool_call",
                "id": format!("r{round}-{k}"),
                "session": format!("s{}", round % 3),
                "body": {"text": format!("round {round} event {k} {}", "payload ".repeat(20))}
            }))
            .unwrap();
            let mut salt = [0u8; 32];
            salt[..8].copy_from_slice(&seq.to_be_bytes());
            let time = Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + seq as i64);
            let id = event.id.clone().unwrap();
            let sealed = event.prepare(id, time, vec![], salt).unwrap().seal(ORIGIN, seq, prev);
            prev = sealed.hash;
            sealed
        })
        .collect()
}

fn all(store: &dyn Store) -> Vec<StoredRecord> {
    settled("scan", || {
        let mut out = Vec::new();
        store.scan(0, u64::MAX, &mut |r| {
            out.push(r);
            Ok(true)
        })?;
        Ok(out)
    })
}

#[test]
fn connections_killed_mid_batch_lose_no_acknowledged_record() {
    let Some(url) = url() else { return };
    let schema = scratch_schema("trail_pgkill");
    let store = PostgresStore::create_in(&url, &schema, ORIGIN).unwrap().dangerous_drop_on_drop();

    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicU64::new(0));
    let killer = {
        let (stop, kills, url, schema) = (stop.clone(), kills.clone(), url.clone(), schema.clone());
        std::thread::spawn(move || {
            let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Irregular gaps, so kills land before, during and after commits.
                n += 1;
                std::thread::sleep(Duration::from_millis(3 + (n * 7919) % 37));
                kills.fetch_add(kill_backends(&mut admin, &schema) as u64, Ordering::Relaxed);
            }
        })
    };

    let mut acked: Vec<Sealed> = Vec::new();
    let (mut failed, mut committed_anyway) = (0u32, 0u32);
    let mut errors = Vec::new();
    for round in 0..60 {
        let state = settled("state", || store.state());
        assert_eq!(state.size, acked.len() as u64, "the log holds exactly what was acknowledged");
        let batch = seal(round, 150, state.size, state.last_hash);
        match store.append(&batch) {
            Ok(()) => acked.extend(batch),
            Err(e) => {
                failed += 1;
                assert!(is_connection_loss(&e), "round {round}: unclear error: {e}");
                errors.push(e.to_string());
                // All of the batch or none of it: a commit whose answer was lost is whole.
                let after = settled("state after a failed append", || store.state());
                if after.size == state.size + batch.len() as u64 {
                    committed_anyway += 1;
                    assert_eq!(after.last_hash, batch.last().unwrap().hash);
                    acked.extend(batch);
                } else {
                    assert_eq!(after.size, state.size, "round {round}: half a batch is visible");
                    assert_eq!(after.last_hash, state.last_hash);
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    killer.join().unwrap();
    assert!(kills.load(Ordering::Relaxed) > 0, "no backend was ever killed");
    assert!(failed > 0, "no append was ever interrupted; the test proved nothing");

    // The same store instance recovers: it reconnects and appends.
    let state = settled("state", || store.state());
    let last = seal(1000, 10, state.size, state.last_hash);
    store.append(&last).expect("the store reconnects after the kills");
    acked.extend(last);

    // A reopened store sees exactly the acknowledged records, byte for byte.
    let reopened = PostgresStore::open_in(&url, &schema).unwrap();
    let records = all(&reopened);
    assert_eq!(records.len(), acked.len(), "records beyond or short of the acknowledged ones");
    for (r, s) in records.iter().zip(&acked) {
        assert_eq!(r.seq, s.record.seq);
        assert_eq!(r.canonical, s.canonical, "seq {} differs", r.seq);
    }
    // And it verifies against a checkpoint signed now.
    let state = reopened.state().unwrap();
    let cp =
        Checkpoint { origin: ORIGIN.into(), size: state.size, root: state.root }.sign(&signer());
    reopened.put_checkpoint(None, &cp).unwrap();
    let mut v = Verifier::new(VerifyOptions {
        verifiers: vec![signer().verifier()],
        ..VerifyOptions::default()
    });
    for r in &records {
        let body = match &r.body {
            Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
            None => BodyInput::Absent,
        };
        v.record(Location::seq(r.seq), &r.canonical, None, body);
    }
    v.checkpoint(Location::default(), &cp.to_string());
    let report = v.finish();
    assert!(report.is_intact(), "{:?}", report.problems);
    drop(reopened);
    eprintln!(
        "postgres kills: {} backends terminated; {} of 60 appends failed ({} had committed); \
         {} records acknowledged and verified; errors seen: {:?}",
        kills.load(Ordering::Relaxed),
        failed,
        committed_anyway,
        acked.len(),
        errors.iter().take(3).collect::<Vec<_>>()
    );
}
