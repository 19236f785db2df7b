//! Property tests of the verifier: a log built here verifies, and every kind of tampering the
//! design lists is reported: any single-byte change, deletion, insertion, swap, truncation below
//! a checkpoint, and rewrite-with-rehash of a signed prefix.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use proptest::prelude::*;
use serde_json::json;
use trail_core::export::{self, ExportLine};
use trail_core::verify::{BodyInput, Location, Report, Verifier, VerifyOptions};
use trail_core::{Checkpoint, Event, Hash, NoteSigner, Sealed, Timestamp};
use trail_merkle::CompactRange;

const ORIGIN: &str = "trail.test/tamper";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [9; 32]).unwrap()
}

/// Seals `n` events, with a checkpoint after every `every` records and at the end.
fn build(n: usize, every: usize, first_action: &str) -> Vec<String> {
    let signer = signer();
    let mut lines = Vec::new();
    let mut range = CompactRange::new();
    let mut prev = Hash::ZERO;
    for i in 0..n {
        let action = if i == 0 { first_action.to_owned() } else { format!("act{i}") };
        let mut v = json!({"kind": "tool_call", "action": action, "session": "s", "status": "ok"});
        if i % 3 != 2 {
            v["body"] = json!({"args": {"path": format!("/tmp/{i}"), "n": i}});
        }
        let s: Sealed = Event::from_value(v)
            .unwrap()
            .prepare(format!("id{i}"), Timestamp::from_unix_nanos(i as i64), vec![], [i as u8; 32])
            .unwrap()
            .seal(ORIGIN, i as u64, prev);
        prev = s.hash;
        range.append(s.hash);
        lines.push(export::record_line(&s.canonical, &s.hash, s.body.as_ref()));
        if (i + 1) % every == 0 || i + 1 == n {
            let cp = Checkpoint { origin: ORIGIN.into(), size: range.size(), root: range.root() }
                .sign(&signer);
            lines.push(export::checkpoint_line(&cp.to_string()));
        }
    }
    lines
}

fn verify_text(text: &str, trusted: Vec<String>) -> Report {
    let opts = VerifyOptions {
        verifiers: vec![signer().verifier()],
        origin: Some(ORIGIN.into()),
        trusted,
        ..VerifyOptions::default()
    };
    let mut v = Verifier::new(opts);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let at = Location::line(i as u64 + 1);
        if !raw.ends_with('\n') {
            v.problem(at, "torn_line", "incomplete last line");
        }
        let line = raw.trim_end_matches('\n');
        match export::parse_line(line) {
            Ok(ExportLine::Record { canonical, hash, body }) => {
                let b = match &body {
                    Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                    None => BodyInput::Absent,
                };
                v.record(at, &canonical, hash, b);
            }
            Ok(ExportLine::Checkpoint(n)) => v.checkpoint(at, &n),
            Ok(ExportLine::Anchor(a)) => v.anchor(at, &a),
            Err(e) => v.problem(at, "bad_line", e.to_string()),
        }
    }
    v.finish()
}

fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn codes(r: &Report) -> Vec<&'static str> {
    let mut c: Vec<&str> = r.problems.iter().map(|p| p.code).collect();
    c.dedup();
    c
}

#[test]
fn an_untouched_log_is_intact() {
    let r = verify_text(&join(&build(20, 7, "Read")), vec![]);
    assert!(r.is_intact(), "{:?}", r.problems);
    assert_eq!((r.records, r.checkpoints_valid, r.verified_size, r.unsigned_tail), (20, 3, 20, 0));
    assert_eq!(r.bodies_checked, 14);
}

#[test]
fn golden_report_of_an_edited_record() {
    let mut lines = build(5, 5, "Read");
    lines[2] = lines[2].replace("\"act2\"", "\"act9\"");
    let r = verify_text(&join(&lines), vec![]);
    let got: Vec<String> = r
        .problems
        .iter()
        .map(|p| format!("seq {:?} line {:?}: {}", p.at.seq, p.at.line, p.code))
        .collect();
    assert_eq!(
        got,
        ["seq Some(2) line Some(3): hash_mismatch", "seq None line Some(6): root_mismatch"]
    );
}

#[test]
fn a_rewrite_with_rehash_of_a_signed_prefix_is_caught_by_the_signature() {
    // The attacker rebuilds the whole log with a changed first record and valid hashes and
    // prevs, but cannot sign: they keep the old checkpoints.
    let original = build(10, 5, "Read");
    let forged = build(10, 5, "Delete");
    let mut lines: Vec<String> =
        forged.iter().filter(|l| l.starts_with("{\"record\"")).cloned().collect();
    let cps: Vec<&String> = original.iter().filter(|l| l.starts_with("{\"checkpoint\"")).collect();
    lines.insert(5, cps[0].clone());
    lines.push(cps[1].clone());
    let r = verify_text(&join(&lines), vec![]);
    assert_eq!(codes(&r), ["root_mismatch"]);
    // And with the forger's own key the signature fails instead.
    let r = verify_text(&join(&build(10, 5, "Delete")).replace(ORIGIN, "trail.test/other"), vec![]);
    assert!(!r.is_intact());
}

#[test]
fn truncation_below_a_checkpoint_is_caught_with_an_auditor_checkpoint() {
    let lines = build(10, 5, "Read");
    let kept_cp: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let kept = kept_cp["checkpoint"].as_str().unwrap().to_owned();
    // The tail and its checkpoint are cut away: the rest verifies on its own...
    let cut = join(&lines[..6]);
    assert!(verify_text(&cut, vec![]).is_intact());
    // ...but not against the checkpoint the auditor kept.
    let r = verify_text(&cut, vec![kept.clone()]);
    assert_eq!(codes(&r), ["truncated"]);
    // Emptying the file is caught too.
    assert_eq!(codes(&verify_text("", vec![kept])), ["truncated"]);
}

#[test]
fn an_erased_body_needs_an_erasure_event() {
    let mut lines = build(4, 4, "Read");
    let mut v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    v.as_object_mut().unwrap().remove("body");
    v.as_object_mut().unwrap().remove("salt");
    lines[1] = v.to_string();
    let r = verify_text(&join(&lines), vec![]);
    assert_eq!(codes(&r), ["body_missing"]);
    assert_eq!(r.bodies_erased, 1);
}

/// Found by the single-byte proptest: `d` to `D` in a record line's `hash` names the same hash,
/// so it was accepted; an export is checked byte for byte.
#[test]
fn an_uppercased_hash_digit_is_reported() {
    let mut lines = build(3, 3, "Read");
    let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    let hash = v["hash"].as_str().unwrap().to_owned();
    let upper = hash.to_uppercase();
    assert_ne!(hash, upper, "the hash has letters");
    lines[1] = lines[1].replace(&hash, &upper);
    let r = verify_text(&join(&lines), vec![]);
    assert_eq!(codes(&r)[0], "bad_line");
    assert!(r.problems[0].message.contains("lowercase"), "{:?}", r.problems);
}

fn mutations() -> impl Strategy<Value = (usize, usize, u8)> {
    (0usize..10_000, 0usize..10_000, any::<u8>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_single_byte_change_is_reported((pos, _, byte) in mutations()) {
        let text = join(&build(6, 3, "Read"));
        let mut bytes = text.into_bytes();
        let pos = pos % bytes.len();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let r = verify_text(&text, vec![]);
        prop_assert!(!r.is_intact(), "change at byte {pos} to {byte:#x} not reported");
    }

    #[test]
    fn every_deletion_insertion_and_swap_is_reported((a, b, _) in mutations()) {
        let lines = build(8, 4, "Read");
        let n = lines.len();
        let (a, b) = (a % n, b % n);
        let mut deleted = lines.clone();
        deleted.remove(a);
        if lines[a].starts_with("{\"record\"") {
            prop_assert!(!verify_text(&join(&deleted), vec![]).is_intact(), "deleting line {a}");
        } else {
            // A checkpoint line carries no record: without it the records still verify against
            // the later checkpoints, and an auditor who kept it still sees it matched.
            let kept: serde_json::Value = serde_json::from_str(&lines[a]).unwrap();
            let kept = kept["checkpoint"].as_str().unwrap().to_owned();
            prop_assert!(verify_text(&join(&deleted), vec![kept]).is_intact());
        }
        let mut inserted = lines.clone();
        inserted.insert(b, lines[a].clone());
        // Repeating a checkpoint right where it stands adds nothing and changes nothing.
        let harmless = lines[a].starts_with("{\"checkpoint\"") && (b == a || b == a + 1);
        if !harmless {
            prop_assert!(!verify_text(&join(&inserted), vec![]).is_intact(), "inserting line {a} at {b}");
        }
        if lines[a] != lines[b] {
            let mut swapped = lines.clone();
            swapped.swap(a, b);
            prop_assert!(!verify_text(&join(&swapped), vec![]).is_intact(), "swapping {a} and {b}");
        }
    }
}
