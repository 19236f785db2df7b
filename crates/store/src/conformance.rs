//! The conformance suite every backend passes. A backend's tests call
//! `trail_store::conformance!(name, || -> Box<dyn Store> { ... })`, which expands to one `#[test]`
//! per behaviour below, each on a fresh empty store for origin [`ORIGIN`].

use serde_json::json;
use trail_core::note::NoteSigner;
use trail_core::verify::Anchor;
use trail_core::{Event, Sealed, Timestamp};
use trail_merkle::{CompactRange, verify_consistency, verify_inclusion};

use crate::{Durability, Query, Store, StoreError};

/// The origin every conformance store is created with.
pub const ORIGIN: &str = "trail.test/conformance";

/// Expands to the whole suite for one backend.
#[macro_export]
macro_rules! conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            fn make() -> Box<dyn $crate::Store> {
                ($make)()
            }
            #[test]
            fn empty() {
                $crate::conformance::empty(&*make());
            }
            #[test]
            fn append_read_back_exact_bytes() {
                $crate::conformance::append_read_back_exact_bytes(&*make());
            }
            #[test]
            fn rejects_what_would_fork_or_overwrite() {
                $crate::conformance::rejects_what_would_fork_or_overwrite(&*make());
            }
            #[test]
            fn proofs_from_stored_nodes() {
                $crate::conformance::proofs_from_stored_nodes(&*make());
            }
            #[test]
            fn checkpoints_compare_and_swap() {
                $crate::conformance::checkpoints_compare_and_swap(&*make());
            }
            #[test]
            fn cosignatures_join_their_checkpoint() {
                $crate::conformance::cosignatures_join_their_checkpoint(&*make());
            }
            #[test]
            fn query_filters_and_pages() {
                $crate::conformance::query_filters_and_pages(&*make());
            }
            #[test]
            fn sessions_and_stats() {
                $crate::conformance::sessions_and_stats(&*make());
            }
            #[test]
            fn erase_keeps_the_tree() {
                $crate::conformance::erase_keeps_the_tree(&*make());
            }
            #[test]
            fn prune_keeps_proofs_for_the_rest() {
                $crate::conformance::prune_keeps_proofs_for_the_rest(&*make());
            }
            #[test]
            fn exporter_cursors_only_move_forward() {
                $crate::conformance::exporter_cursors_only_move_forward(&*make());
            }
            #[test]
            fn checkpoint_durability_changes_no_result() {
                $crate::conformance::checkpoint_durability_changes_no_result(&*make());
            }
        }
    };
}

/// A test signer for [`ORIGIN`].
pub fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [7; 32]).expect("valid name")
}

/// Seals `events` after the store's current state.
pub fn seal(store: &dyn Store, events: &[serde_json::Value]) -> Vec<Sealed> {
    let state = store.state().expect("state");
    let mut prev = state.last_hash;
    let mut out = Vec::new();
    for (k, e) in events.iter().enumerate() {
        let seq = state.size + k as u64;
        let event = Event::from_value(e.clone()).expect("valid event");
        let id = event.id.clone().unwrap_or_else(|| format!("ev-{seq}"));
        let time = event.time.unwrap_or(Timestamp::from_unix_nanos(
            1_700_000_000_000_000_000 + seq as i64 * 1_000_000_000,
        ));
        let mut salt = [0u8; 32];
        salt[..8].copy_from_slice(&seq.to_be_bytes());
        let sealed =
            event.prepare(id, time, vec![], salt).expect("prepare").seal(ORIGIN, seq, prev);
        prev = sealed.hash;
        out.push(sealed);
    }
    out
}

fn sample(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let session = format!("s{}", i % 3);
            let status = match i % 5 {
                0 => "error",
                1 => "denied",
                _ => "ok",
            };
            json!({
                "kind": if i % 2 == 0 { "tool_call" } else { "llm_call" },
                "agent": format!("agent-{}", i % 2),
                "session": session,
                "status": status,
                "action": "Read",
                "usage": {"input_tokens": 10, "output_tokens": 5, "cost_usd": 0.5},
                "body": {"text": format!("event number {i} says hello{}", if i == 7 { " needle" } else { "" })}
            })
        })
        .collect()
}

pub fn empty(store: &dyn Store) {
    let s = store.state().expect("state");
    assert_eq!(s.size, 0);
    assert_eq!(s.root, trail_merkle::empty_root());
    assert_eq!(store.get(0).expect("get"), None);
    assert!(store.checkpoints().expect("checkpoints").is_empty());
    assert_eq!(store.origin(), ORIGIN);
}

pub fn append_read_back_exact_bytes(store: &dyn Store) {
    let batch = seal(store, &sample(10));
    store.append(&batch[..4]).expect("append");
    store.append(&batch[4..]).expect("append");
    let state = store.state().expect("state");
    assert_eq!(state.size, 10);
    assert_eq!(state.last_hash, batch[9].hash);
    for s in &batch {
        let got = store.get(s.record.seq).expect("get").expect("present");
        assert_eq!(got.canonical, s.canonical, "seq {} bytes differ", s.record.seq);
        assert_eq!(got.hash, s.hash);
        assert_eq!(got.body, s.body);
    }
    let mut seen = Vec::new();
    store
        .scan(2, 6, &mut |r| {
            seen.push(r.seq);
            Ok(true)
        })
        .expect("scan");
    assert_eq!(seen, [2, 3, 4, 5]);
    let found = store.find_ids(&["ev-3", "nope", "ev-8"]).expect("find");
    let mut seqs: Vec<u64> = found.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, [3, 8]);
}

pub fn rejects_what_would_fork_or_overwrite(store: &dyn Store) {
    let batch = seal(store, &sample(3));
    store.append(&batch).expect("append");
    // Replaying the same batch: out of order.
    assert!(matches!(store.append(&batch[..1]), Err(StoreError::OutOfOrder { size: 3, seq: 0 })));
    // A record that names the wrong prev.
    let mut next = seal(store, &sample(1));
    next[0] = {
        let e = Event::from_value(sample(1)[0].clone()).expect("event");
        e.prepare("fork".into(), Timestamp::EPOCH, vec![], [1; 32]).expect("prepare").seal(
            ORIGIN,
            3,
            batch[0].hash,
        )
    };
    assert!(matches!(store.append(&next), Err(StoreError::Fork { seq: 3, .. })));
    // An id that exists.
    let mut dup = sample(1);
    dup[0]["id"] = json!("ev-1");
    let dup = seal(store, &dup);
    assert!(matches!(store.append(&dup), Err(StoreError::DuplicateId { seq: 1, .. })));
    // Nothing changed.
    assert_eq!(store.state().expect("state").size, 3);
    assert_eq!(store.get(1).expect("get").expect("present").canonical, batch[1].canonical);
}

pub fn proofs_from_stored_nodes(store: &dyn Store) {
    let batch = seal(store, &sample(37));
    for chunk in batch.chunks(5) {
        store.append(chunk).expect("append");
    }
    let mut range = CompactRange::new();
    let mut roots = vec![range.root()];
    for s in &batch {
        range.append(s.hash);
        roots.push(range.root());
    }
    for size in 1..=37u64 {
        assert_eq!(store.root_at(size).expect("root"), roots[size as usize], "root at {size}");
    }
    for size in [1u64, 2, 7, 8, 16, 37] {
        for index in 0..size {
            let proof = store.inclusion_proof(index, size).expect("proof");
            verify_inclusion(
                &batch[index as usize].hash,
                index,
                size,
                &proof,
                &roots[size as usize],
            )
            .expect("inclusion verifies");
        }
        for size1 in 1..=size {
            let proof = store.consistency_proof(size1, size).expect("proof");
            verify_consistency(size1, size, &proof, &roots[size1 as usize], &roots[size as usize])
                .expect("consistency verifies");
        }
    }
    // A row of nodes read at once is the nodes read one by one; entries are the records' bytes.
    for level in 0..4u32 {
        let count = 37u64 >> level;
        let one: Vec<_> = (0..count).map(|i| store.node(level, i).expect("node")).collect();
        assert_eq!(store.nodes(level, 0..count).expect("nodes"), one, "level {level}");
    }
    let mut entries = Vec::new();
    store
        .entries(3, 30, &mut |seq, bytes| {
            entries.push((seq, bytes.to_vec()));
            Ok(())
        })
        .expect("entries");
    let expected: Vec<_> =
        batch[3..30].iter().zip(3u64..).map(|(s, seq)| (seq, s.canonical.clone())).collect();
    assert_eq!(entries, expected);
}

pub fn checkpoints_compare_and_swap(store: &dyn Store) {
    let signer = signer();
    let batch = seal(store, &sample(4));
    store.append(&batch[..2]).expect("append");
    let cp2 = trail_core::Checkpoint {
        origin: ORIGIN.into(),
        size: 2,
        root: store.state().expect("s").root,
    }
    .sign(&signer);
    store.put_checkpoint(None, &cp2).expect("first checkpoint");
    // The same checkpoint again changes nothing.
    store.put_checkpoint(Some(2), &cp2).expect("idempotent");
    assert_eq!(store.checkpoints().expect("cps").len(), 1);
    store.append(&batch[2..]).expect("append");
    // A stale expectation loses the race.
    let root4 = store.state().expect("s").root;
    let cp4 = trail_core::Checkpoint { origin: ORIGIN.into(), size: 4, root: root4 }.sign(&signer);
    assert!(matches!(store.put_checkpoint(None, &cp4), Err(StoreError::CheckpointConflict { .. })));
    // A root that is not the records' root is refused.
    let forged = trail_core::Checkpoint { origin: ORIGIN.into(), size: 4, root: batch[0].hash }
        .sign(&signer);
    assert!(matches!(
        store.put_checkpoint(Some(2), &forged),
        Err(StoreError::BadCheckpoint { .. })
    ));
    store.put_checkpoint(Some(2), &cp4).expect("next checkpoint");
    let sizes: Vec<u64> =
        store.checkpoints().expect("cps").iter().map(|c| c.checkpoint.size).collect();
    assert_eq!(sizes, [2, 4]);
    // The latest, as every backend answers it (the SQL stores with one indexed read).
    assert_eq!(store.latest_checkpoint().expect("latest"), Some(cp4));
}

/// Witness cosignatures are kept with the checkpoint they sign (except by the files store, which
/// says so); a newer one by the same witness replaces the older; one for another root is refused.
pub fn cosignatures_join_their_checkpoint(store: &dyn Store) {
    let batch = seal(store, &sample(3));
    store.append(&batch).expect("append");
    let root = store.state().expect("s").root;
    let cp = trail_core::Checkpoint { origin: ORIGIN.into(), size: 3, root }.sign(&signer());
    store.put_checkpoint(None, &cp).expect("checkpoint");
    let w1 = NoteSigner::cosigner_from_seed("witness.test/w1", [1; 32]).expect("key");
    let w2 = NoteSigner::cosigner_from_seed("witness.test/w2", [2; 32]).expect("key");
    let text = cp.note.text.clone();
    let sig = |w: &NoteSigner, t: u64| w.cosign(&text, t).expect("cosign");
    let added = store.add_cosignatures(3, &root, &[sig(&w1, 10), sig(&w2, 10)]);
    if store.backend() == "files" {
        assert!(added.expect_err("files").to_string().contains("keeps no witness cosignatures"));
        return;
    }
    assert_eq!(added.expect("add"), 2);
    assert_eq!(store.add_cosignatures(3, &root, &[sig(&w1, 10)]).expect("again"), 0);
    assert_eq!(store.add_cosignatures(3, &root, &[sig(&w1, 11)]).expect("newer"), 1);
    let latest = store.latest_checkpoint().expect("latest").expect("some");
    let keys = [w1.verifier(), w2.verifier()];
    assert_eq!(latest.note.cosigned_by(&keys).len(), 2);
    assert_eq!(latest.note.signatures.len(), 3);
    assert_eq!(store.checkpoints().expect("all")[0], latest);
    assert!(matches!(
        store.add_cosignatures(3, &batch[0].hash, &[sig(&w1, 12)]),
        Err(StoreError::BadCheckpoint { .. })
    ));
    assert!(store.add_cosignatures(2, &root, &[sig(&w1, 12)]).is_err());
    // The log's next checkpoint is stored as before.
    store.append(&seal(store, &sample(4)[3..])).expect("append");
    let root4 = store.state().expect("s").root;
    let cp4 =
        trail_core::Checkpoint { origin: ORIGIN.into(), size: 4, root: root4 }.sign(&signer());
    store.put_checkpoint(Some(3), &cp4).expect("next");
}

pub fn query_filters_and_pages(store: &dyn Store) {
    let batch = seal(store, &sample(30));
    store.append(&batch).expect("append");
    let q = |f: &dyn Fn(&mut Query)| {
        let mut q = Query::default();
        f(&mut q);
        store.query(&q).expect("query")
    };
    let all = q(&|_| {});
    assert_eq!(all.total, 30);
    assert_eq!(all.records.first().map(|r| r.seq), Some(29), "newest first");
    let tools = q(&|q| q.kind = Some("tool_call".into()));
    assert_eq!(tools.total, 15);
    assert!(tools.records.iter().all(|r| r.record.fields.kind == "tool_call"));
    let denied = q(&|q| {
        q.status = Some("denied".into());
        q.session = Some("s1".into());
    });
    let expect: Vec<u64> = (0..30u64).rev().filter(|i| i % 5 == 1 && i % 3 == 1).collect();
    assert_eq!(denied.records.iter().map(|r| r.seq).collect::<Vec<_>>(), expect);
    let needle = q(&|q| q.search = Some("NEEDLE".into()));
    assert_eq!(needle.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [7]);
    let t =
        |s: u64| Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + s as i64 * 1_000_000_000);
    let window = q(&|q| {
        q.from = Some(t(10));
        q.to = Some(t(13));
        q.ascending = true;
    });
    assert_eq!(window.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [10, 11, 12]);
    // Keyset paging visits every match once, in order, whatever the page size.
    for ascending in [true, false] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = q(&|q| {
                q.limit = 7;
                q.cursor = cursor;
                q.ascending = ascending;
            });
            assert_eq!(page.total, 30);
            seen.extend(page.records.iter().map(|r| r.seq));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut expect: Vec<u64> = (0..30).collect();
        if !ascending {
            expect.reverse();
        }
        assert_eq!(seen, expect);
    }
}

pub fn sessions_and_stats(store: &dyn Store) {
    let batch = seal(store, &sample(30));
    store.append(&batch).expect("append");
    let sessions = store.sessions(&Query::default()).expect("sessions");
    assert_eq!(sessions.len(), 3);
    let s0 = sessions.iter().find(|s| s.session == "s0").expect("s0");
    assert_eq!(s0.events, 10);
    // seqs 0,3,...,27: errors where seq % 5 == 0 (0, 15), denials where seq % 5 == 1 (6, 21).
    assert_eq!((s0.errors, s0.denials), (2, 2));
    assert_eq!(s0.input_tokens, 100);
    assert_eq!(s0.duration_ms, 27_000);
    assert!((s0.cost_usd - 5.0).abs() < 1e-9);
    let stats = store.stats(&Query::default()).expect("stats");
    assert_eq!(stats.events, 30);
    assert_eq!(stats.by_kind.get("tool_call"), Some(&15));
    assert_eq!(stats.by_status.get("error"), Some(&6));
    assert_eq!(stats.by_agent.get("agent-1"), Some(&15));
    assert_eq!(stats.output_tokens, 150);
    assert_eq!(stats.per_hour.values().map(|h| h.events).sum::<u64>(), 30);
    let filtered =
        store.stats(&Query { session: Some("s2".into()), ..Query::default() }).expect("stats");
    assert_eq!(filtered.events, 10);
}

pub fn erase_keeps_the_tree(store: &dyn Store) {
    let batch = seal(store, &sample(6));
    store.append(&batch).expect("append");
    let root = store.state().expect("s").root;
    assert_eq!(store.erase(&[2, 4, 99]).expect("erase"), 2);
    assert_eq!(store.erase(&[2]).expect("erase again"), 0);
    let r2 = store.get(2).expect("get").expect("present");
    assert!(r2.is_erased());
    assert_eq!(r2.canonical, batch[2].canonical);
    assert!(store.get(3).expect("get").expect("present").body.is_some());
    assert_eq!(store.state().expect("s").root, root);
    assert_eq!(store.root_at(6).expect("root"), root);
    // Erased bodies are no longer searchable.
    let hits = store
        .query(&Query { search: Some("number 2 says".into()), ..Query::default() })
        .expect("q");
    assert!(hits.records.iter().all(|r| r.seq != 2));
}

pub fn prune_keeps_proofs_for_the_rest(store: &dyn Store) {
    let signer = signer();
    let batch = seal(store, &sample(21));
    store.append(&batch).expect("append");
    let cut = 13u64;
    let mut range = CompactRange::new();
    for s in &batch[..cut as usize] {
        range.append(s.hash);
    }
    let cp = trail_core::Checkpoint { origin: ORIGIN.into(), size: cut, root: range.root() }
        .sign(&signer);
    let anchor = Anchor {
        size: cut,
        peaks: range.peaks().to_vec(),
        last_hash: batch[cut as usize - 1].hash,
        last_proof: store.inclusion_proof(cut - 1, cut).expect("proof"),
        checkpoint: cp.to_string(),
    };
    assert_eq!(store.prune(&anchor).expect("prune"), cut);
    assert_eq!(store.get(3).expect("get"), None);
    assert_eq!(
        store.get(cut).expect("get").expect("kept").canonical,
        batch[cut as usize].canonical
    );
    assert_eq!(store.anchor().expect("anchor"), Some(anchor));
    let state = store.state().expect("state");
    assert_eq!(state.size, 21);
    for index in cut..21 {
        let proof = store.inclusion_proof(index, 21).expect("proof after prune");
        verify_inclusion(&batch[index as usize].hash, index, 21, &proof, &state.root)
            .expect("verifies");
    }
    // Appending continues after a prune.
    let more = seal(store, &sample(2));
    store.append(&more).expect("append after prune");
    assert_eq!(store.state().expect("state").size, 23);
    assert_eq!(store.query(&Query::default()).expect("q").total, 10);
}

/// With [`Durability::Checkpoint`] only when the disk is synced changes: what is stored, read,
/// proved, checkpointed and erased is the same.
pub fn checkpoint_durability_changes_no_result(store: &dyn Store) {
    assert_eq!(store.durability(), Durability::Commit, "the default syncs every append");
    store.set_durability(Durability::Checkpoint).expect("set durability");
    assert_eq!(store.durability(), Durability::Checkpoint);
    // Quick appends are local writes without a sync, never a round trip to a server.
    assert_eq!(store.quick_appends(), store.backend() != "postgres", "{}", store.backend());
    append_read_back_exact_bytes(store);
    let size = store.state().expect("state").size;
    let root = store.state().expect("state").root;
    let cp = trail_core::Checkpoint { origin: ORIGIN.into(), size, root }.sign(&signer());
    store.put_checkpoint(None, &cp).expect("checkpoint");
    assert_eq!(store.latest_checkpoint().expect("latest"), Some(cp));
    assert_eq!(store.erase(&[0]).expect("erase"), 1);
    assert!(store.get(0).expect("get").expect("record 0").is_erased());
    store.set_durability(Durability::Commit).expect("set durability");
    assert_eq!(store.durability(), Durability::Commit);
    store.append(&seal(store, &sample(2))).expect("append after switching back");
    assert_eq!(store.state().expect("state").size, size + 2);
}

/// A store that several nodes share keeps exporter cursors, which never move back; the others
/// keep none (the data directory's cursor file is the cursor).
pub fn exporter_cursors_only_move_forward(store: &dyn Store) {
    assert_eq!(store.exporter_cursor("alerts").expect("read"), None);
    store.set_exporter_cursor("alerts", 5).expect("save");
    store.set_exporter_cursor("alerts", 3).expect("save an older one");
    store.set_exporter_cursor("siem", 9).expect("save another");
    let kept = |name: &str| store.exporter_cursor(name).expect("read");
    if store.backend() == "postgres" {
        assert_eq!((kept("alerts"), kept("siem"), kept("other")), (Some(5), Some(9), None));
    } else {
        assert_eq!((kept("alerts"), kept("siem")), (None, None), "{}", store.backend());
    }
}
