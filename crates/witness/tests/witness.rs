//! The witness's answers, rule by rule of C2SP `tlog-witness` `add-checkpoint`.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::collections::BTreeMap;

use trail_core::note::Note;
use trail_core::{Checkpoint, NoteSigner, NoteVerifier};
use trail_merkle::{Hash, MemoryTree, consistency_proof, empty_root, leaf_hash};
use trail_witness::{AddCheckpoint, Witness};

const ORIGIN: &str = "example.com/log";

struct Log {
    key: NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn new(seed: u8, prefix: &str, n: u64) -> Log {
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.push(leaf_hash(format!("{prefix} {i}").as_bytes()));
        }
        Log { key: NoteSigner::from_seed(ORIGIN, [seed; 32]).unwrap(), tree }
    }
    fn checkpoint(&self, size: u64) -> String {
        let root =
            if size == 0 { empty_root() } else { trail_merkle::root(&self.tree, size).unwrap() };
        Checkpoint { origin: ORIGIN.into(), size, root }.sign(&self.key).to_string()
    }
    fn request(&self, old: u64, size: u64) -> AddCheckpoint {
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            consistency_proof(&self.tree, old, size).unwrap()
        };
        AddCheckpoint { old, proof, checkpoint: self.checkpoint(size) }
    }
}

fn witness(dir: &std::path::Path, log_key: NoteVerifier) -> (Witness, NoteVerifier) {
    let signer = NoteSigner::cosigner_from_seed("witness.test/w1", [9; 32]).unwrap();
    let vkey = signer.verifier();
    let logs = BTreeMap::from([(ORIGIN.to_owned(), vec![log_key])]);
    (Witness::new(signer, logs, dir).unwrap(), vkey)
}

fn status(w: &Witness, req: &AddCheckpoint) -> u16 {
    match w.add_checkpoint(req) {
        Ok(_) => 200,
        Err(r) => r.status(),
    }
}

#[test]
fn cosigns_a_growing_log_and_refuses_everything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(1, "entry", 40);
    let (w, vkey) = witness(tmp.path(), log.key.verifier());

    // First contact: old 0, no proof; the cosignature verifies under the witness key.
    let lines = w.add_checkpoint(&log.request(0, 10)).unwrap();
    let sigs = Note::parse_signature_lines(&lines).unwrap();
    let mut note = Note::parse(&log.checkpoint(10)).unwrap();
    note.merge_signatures(&sigs);
    assert_eq!(note.cosigned_by(std::slice::from_ref(&vkey)).len(), 1);

    // A stale old size: 409 naming the witness's size.
    let r = w.add_checkpoint(&log.request(0, 20)).unwrap_err();
    assert_eq!(
        (r.status(), r.body().as_str(), r.content_type()),
        (409, "10\n", "text/x.tlog.size")
    );
    // Growth with a good proof.
    assert_eq!(status(&w, &log.request(10, 20)), 200);
    // The same size and root again: cosigned again (no proof).
    assert_eq!(status(&w, &log.request(20, 20)), 200);
    // old > size: 400.
    assert_eq!(status(&w, &AddCheckpoint { old: 30, ..log.request(20, 25) }), 400);
    // A proof that does not verify: 422, and the state does not move.
    let mut bad = log.request(20, 30);
    bad.proof[0].0[0] ^= 1;
    assert_eq!(status(&w, &bad), 422);
    assert_eq!(w.add_checkpoint(&log.request(0, 30)).unwrap_err().body(), "20\n");

    // A fork: same origin and key, another history from entry 15 on.
    let mut fork = Log::new(1, "entry", 15);
    for i in 15..40 {
        fork.tree.push(leaf_hash(format!("forked {i}").as_bytes()));
    }
    assert_eq!(status(&w, &fork.request(20, 20)), 422, "same size, other root");
    // The fork's own proof from 20 to 30 is consistent with the fork's root at 20, not the
    // cosigned one.
    assert_eq!(status(&w, &fork.request(20, 30)), 422);

    // Another key for the origin: 403; an unknown origin: 404.
    let stranger = Log::new(2, "entry", 40);
    assert_eq!(status(&w, &stranger.request(20, 30)), 403);
    let mut tampered = log.request(20, 30);
    tampered.checkpoint = tampered.checkpoint.replacen("\n30\n", "\n31\n", 1);
    assert_eq!(status(&w, &tampered), 403, "a bad signature by the trusted key");
    let other = NoteSigner::from_seed("other.example/log", [3; 32]).unwrap();
    let cp = Checkpoint { origin: "other.example/log".into(), size: 0, root: empty_root() };
    let req = AddCheckpoint { old: 0, proof: vec![], checkpoint: cp.sign(&other).to_string() };
    assert_eq!(status(&w, &req), 404);

    // State survives a new Witness on the same directory.
    drop(w);
    let (w, _) = witness(tmp.path(), log.key.verifier());
    assert_eq!(w.add_checkpoint(&log.request(0, 40)).unwrap_err().body(), "20\n");
    assert_eq!(status(&w, &log.request(20, 40)), 200);
    let latest = w.latest(&trail_witness::state::origin_hash(ORIGIN)).unwrap().unwrap();
    assert_eq!(latest.checkpoint.size, 40);
    latest.verify(&[log.key.verifier(), vkey.clone()]).unwrap();
    assert_eq!(latest.note.cosigned_by(&[vkey]).len(), 1);
}

#[test]
fn empty_trees_and_proofs_from_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(1, "entry", 8);
    let (w, _) = witness(tmp.path(), log.key.verifier());
    // Size 0 must carry the empty root.
    let cp = Checkpoint { origin: ORIGIN.into(), size: 0, root: Hash([7; 32]) };
    let req = AddCheckpoint { old: 0, proof: vec![], checkpoint: cp.sign(&log.key).to_string() };
    assert_eq!(status(&w, &req), 422);
    assert_eq!(status(&w, &log.request(0, 0)), 200);
    // old 0 with a proof: 422.
    let mut req = log.request(0, 8);
    req.proof = vec![Hash([1; 32])];
    assert_eq!(status(&w, &req), 422);
    assert_eq!(status(&w, &log.request(0, 8)), 200);
}

/// An edited state file is refused, never trusted: with its size and root changed to a smaller
/// tree of another history, it would otherwise let that history's fork be cosigned.
#[test]
fn an_edited_state_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(1, "entry", 10);
    let (w, _) = witness(tmp.path(), log.key.verifier());
    assert_eq!(status(&w, &log.request(0, 10)), 200);
    let path = tmp.path().join("logs").join(trail_witness::state::origin_hash(ORIGIN));
    let text = std::fs::read_to_string(&path).unwrap();
    let fork = Log::new(1, "forked", 10);
    let root5 = trail_merkle::root(&fork.tree, 5).unwrap().to_base64();
    let lines: Vec<&str> = text.split('\n').collect();
    let edited = [&[lines[0], "5", root5.as_str()][..], &lines[3..]].concat().join("\n");
    std::fs::write(&path, edited).unwrap();
    let (w, _) = witness(tmp.path(), log.key.verifier());
    let r = w.add_checkpoint(&fork.request(5, 10)).unwrap_err();
    assert_eq!(r.status(), 503, "{r}");
    assert!(r.to_string().contains("does not verify"), "{r}");
    // Without the witness's own cosignature: refused too.
    let mut cp = trail_core::SignedCheckpoint::parse(&text).unwrap();
    cp.note.signatures.truncate(1);
    std::fs::write(&path, cp.to_string()).unwrap();
    assert_eq!(w.add_checkpoint(&log.request(10, 10)).unwrap_err().status(), 503);
    // The file as the witness wrote it: accepted again.
    std::fs::write(&path, text).unwrap();
    assert_eq!(status(&w, &log.request(10, 10)), 200);
}

/// The per-log rate counts requests whose log signature verified: forged or unsigned requests
/// cannot spend a log's budget.
#[test]
fn forged_requests_do_not_spend_a_logs_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(1, "entry", 10);
    let (w, _) = witness(tmp.path(), log.key.verifier());
    let w = w.with_rate_limit(1);
    let stranger = Log::new(2, "entry", 10);
    for _ in 0..40 {
        assert_eq!(status(&w, &stranger.request(0, 10)), 403);
    }
    assert_eq!(status(&w, &log.request(0, 10)), 200);
    // Valid requests do spend it: a burst of four, then 429.
    let statuses: Vec<u16> = (0..6).map(|_| status(&w, &log.request(10, 10))).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 3, "{statuses:?}");
}

/// A fork at the cosigned size is kept as evidence: the log's own signatures on two tree heads.
#[test]
fn a_fork_is_kept_as_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::new(1, "entry", 10);
    let (w, _) = witness(tmp.path(), log.key.verifier());
    assert_eq!(status(&w, &log.request(0, 10)), 200);
    let fork = Log::new(1, "forked", 10);
    let r = w.add_checkpoint(&fork.request(10, 10)).unwrap_err();
    assert_eq!(r.status(), 422);
    assert!(r.to_string().contains("forked"), "{r}");
    let kept: Vec<_> = std::fs::read_dir(tmp.path().join("evidence")).unwrap().collect();
    assert_eq!(kept.len(), 1);
    let text = std::fs::read_to_string(kept[0].as_ref().unwrap().path()).unwrap();
    let cp = trail_core::SignedCheckpoint::open(&text, &[log.key.verifier()]).unwrap();
    assert_eq!(cp.checkpoint.root, trail_merkle::root(&fork.tree, 10).unwrap());
}
