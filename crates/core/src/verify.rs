//! The streaming verifier: feed it records, checkpoints and anchors in log order and it reports
//! every problem it finds (which seq or line, what, expected vs found). It never panics and never
//! stops at the first problem.
//!
//! What it proves, given the log's verifier key: every record covered by a signed checkpoint is
//! exactly what was signed (any edit, insertion, deletion, reordering or rewrite-and-rehash changes
//! the recomputed root), the log is at least as long as every checkpoint it or an auditor holds
//! (a truncated tail is caught), bodies match their digests, and an erased body is told apart
//! from a tampered one.

use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash as _, Hasher};

use serde::Serialize;
use trail_merkle::{CompactRange, Hash, leaf_hash, verify_inclusion};

use crate::model::{Record, body_digest};
use crate::note::{Checkpoint, NoteVerifier, SignedCheckpoint};

/// Kind of the event that records an erasure; its body lists the erased seqs.
pub const ERASURE_KIND: &str = "trail.erasure";
/// Kind of the event that records a prune; its body names the anchor.
pub const PRUNE_KIND: &str = "trail.prune";
/// Problems kept in a report; later ones are counted but not listed.
pub const MAX_LISTED_PROBLEMS: usize = 10_000;

/// Where an item came from, for messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl Location {
    pub fn line(line: u64) -> Self {
        Location { line: Some(line), seq: None }
    }

    pub fn seq(seq: u64) -> Self {
        Location { line: None, seq: Some(seq) }
    }
}

/// The body that came with a record.
#[derive(Debug, Clone, Copy)]
pub enum BodyInput<'a> {
    /// No body and no salt: either the event had none or it was erased.
    Absent,
    Present {
        salt: &'a [u8; 32],
        canonical: &'a [u8],
    },
}

/// The state of the tree at a prune cut, signed, so verification can resume from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Anchor {
    /// Number of records cut away (the first remaining seq).
    pub size: u64,
    /// The compact range of the first `size` leaves (perfect subtree roots, largest first).
    pub peaks: Vec<Hash>,
    /// Leaf hash of record `size - 1`, which the next record's `prev` must name.
    pub last_hash: Hash,
    /// Inclusion proof of `last_hash` at index `size - 1` in the tree of `size`.
    pub last_proof: Vec<Hash>,
    /// A signed checkpoint of exactly `size`.
    pub checkpoint: String,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(flatten)]
    pub at: Location,
    /// A stable code, e.g. `hash_mismatch`.
    pub code: &'static str,
    pub message: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub origin: Option<String>,
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub bodies_checked: u64,
    pub bodies_erased: u64,
    /// Bodies the input does not carry by design (tiles hold records, never bodies).
    #[serde(skip_serializing_if = "is_zero")]
    pub bodies_withheld: u64,
    pub checkpoints_checked: u64,
    pub checkpoints_valid: u64,
    /// Size of the largest valid checkpoint that matched the records (and, under a witness
    /// policy, carried the quorum's cosignatures).
    pub verified_size: u64,
    /// The witness policy applied: at least `quorum` of `witnesses` named keys must have
    /// cosigned a checkpoint for it to count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness_policy: Option<WitnessPolicy>,
    /// Checkpoints that were signed and matched the records but lacked the quorum.
    pub checkpoints_unwitnessed: u64,
    /// Records after the last valid checkpoint: chained, but not yet signed.
    pub unsigned_tail: u64,
    pub anchor: Option<u64>,
    /// Whether checkpoint signatures were checked against a verifier key.
    pub signatures_checked: bool,
    pub problems: Vec<Problem>,
    pub problems_not_listed: u64,
    pub notes: Vec<String>,
}

/// A witness policy as applied: K of N named witnesses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WitnessPolicy {
    pub quorum: usize,
    pub witnesses: usize,
}

/// What a verification proves, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No problem, and every record is covered by a checkpoint whose signature was checked.
    Intact,
    /// No problem found, but some records (the newest) are covered by no valid signed
    /// checkpoint: whoever can write the log could have written them.
    UnsignedRecords,
    /// No problem found, but no signature was checked (no verifier key): the records chain,
    /// and a rewritten log would chain as well.
    NoKey,
    /// No record at all (and no anchor): nothing was verified.
    Empty,
    /// Problems were found.
    Problems,
}

impl Report {
    /// Whether nothing inconsistent was found. Says nothing of coverage: see [`Report::verdict`].
    pub fn no_problems(&self) -> bool {
        self.problems.is_empty() && self.problems_not_listed == 0
    }

    /// Records that a valid signed checkpoint covers (pruned records not counted).
    pub fn signed_records(&self) -> u64 {
        self.records - self.unsigned_tail.min(self.records)
    }

    /// What the verification proves.
    pub fn verdict(&self) -> Verdict {
        if !self.no_problems() {
            Verdict::Problems
        } else if self.records == 0 && self.anchor.is_none() {
            Verdict::Empty
        } else if !self.signatures_checked {
            Verdict::NoKey
        } else if self.unsigned_tail > 0 {
            Verdict::UnsignedRecords
        } else {
            Verdict::Intact
        }
    }

    /// No problem, and every record covered by a checked signature.
    pub fn is_intact(&self) -> bool {
        self.verdict() == Verdict::Intact
    }

    pub fn problem_count(&self) -> u64 {
        self.problems.len() as u64 + self.problems_not_listed
    }
}

/// What the verifier is told up front.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Keys whose signatures count. Without any, checkpoints cannot be verified.
    pub verifiers: Vec<NoteVerifier>,
    /// The origin the log must have; by default the first record's.
    pub origin: Option<String>,
    /// Checkpoints an auditor kept earlier: the log must be at least that large and match them.
    pub trusted: Vec<String>,
    /// The input carries records without their bodies by design (C2SP tiles): an absent body is
    /// counted as withheld, not judged erased or missing.
    pub bodies_withheld: bool,
    /// Witnesses' cosigner keys whose cosignatures count toward `quorum`.
    pub witnesses: Vec<NoteVerifier>,
    /// With witnesses: how many of them must have cosigned a checkpoint for it to count (the
    /// auditor's own `trusted` checkpoints and a prune anchor count without).
    pub quorum: usize,
}

/// The streaming verifier.
pub struct Verifier {
    opts: VerifyOptions,
    report: Report,
    range: CompactRange,
    next_seq: u64,
    prev: Hash,
    prev_claimed: Option<Hash>,
    ids: HashSet<u64>,
    /// Checkpoints whose size is not reached yet, by size.
    pending: BTreeMap<u64, Vec<(Location, SignedCheckpoint, bool)>>,
    erased: Vec<u64>,
    erasure_covered: HashSet<u64>,
    started: bool,
    /// Checkpoints seen in the stream before all the records they cover.
    ahead: Vec<(Location, u64)>,
    /// The seq the next record should say it has: its position until a record says otherwise
    /// (one deleted or inserted record is one problem, not one per record after it).
    expected_seq: u64,
    /// Anchor sizes that `trail.prune` events in the log record.
    prunes: HashSet<u64>,
}

impl Verifier {
    pub fn new(opts: VerifyOptions) -> Verifier {
        let mut v = Verifier {
            report: Report { origin: opts.origin.clone(), ..Report::default() },
            range: CompactRange::new(),
            next_seq: 0,
            prev: Hash::ZERO,
            prev_claimed: None,
            ids: HashSet::new(),
            pending: BTreeMap::new(),
            erased: Vec::new(),
            erasure_covered: HashSet::new(),
            started: false,
            ahead: Vec::new(),
            expected_seq: 0,
            prunes: HashSet::new(),
            opts: opts.clone(),
        };
        v.report.signatures_checked = !opts.verifiers.is_empty();
        if opts.quorum > 0 {
            v.report.witness_policy =
                Some(WitnessPolicy { quorum: opts.quorum, witnesses: opts.witnesses.len() });
        }
        for (i, text) in opts.trusted.iter().enumerate() {
            v.add_checkpoint(Location::default(), text, true, i);
        }
        if opts.verifiers.is_empty() {
            v.report.notes.push(
                "no verifier key given: checkpoint signatures were not checked, so a rewritten log could pass".into(),
            );
        }
        v
    }

    /// Reports a problem found by the reader (for example a line that is not JSON).
    pub fn problem(&mut self, at: Location, code: &'static str, message: impl Into<String>) {
        if self.report.problems.len() < MAX_LISTED_PROBLEMS {
            self.report.problems.push(Problem { at, code, message: message.into() });
        } else {
            self.report.problems_not_listed += 1;
        }
    }

    /// Feeds one record given by its canonical bytes, with the hash the source claims (if any).
    pub fn record(
        &mut self,
        at: Location,
        canonical: &[u8],
        claimed: Option<Hash>,
        body: BodyInput<'_>,
    ) {
        let parsed = Record::from_canonical(canonical);
        self.record_checked(
            at,
            canonical,
            parsed.as_ref().map_err(ToString::to_string),
            claimed,
            body,
        );
    }

    /// Like [`Verifier::record`], for a record the caller has already parsed from these bytes (a
    /// store parses every record it reads), so they are not parsed a second time. Re-encoding
    /// `record` must give exactly `canonical` (checked here, at a fraction of the cost of a
    /// parse); when it does not, the bytes are parsed and judged as [`Verifier::record`] would.
    pub fn parsed_record(
        &mut self,
        at: Location,
        canonical: &[u8],
        record: &Record,
        claimed: Option<Hash>,
        body: BodyInput<'_>,
    ) {
        if record.canonical() == canonical {
            self.record_checked(at, canonical, Ok(record), claimed, body);
        } else {
            self.record(at, canonical, claimed, body);
        }
    }

    fn record_checked(
        &mut self,
        at: Location,
        canonical: &[u8],
        parsed: Result<&Record, String>,
        claimed: Option<Hash>,
        body: BodyInput<'_>,
    ) {
        for (cp_at, size) in std::mem::take(&mut self.ahead) {
            self.problem(
                cp_at,
                "checkpoint_out_of_order",
                format!("checkpoint of size {size} appears before the records it covers"),
            );
        }
        let hash = leaf_hash(canonical);
        let seq = self.next_seq;
        let at = Location { seq: Some(seq), ..at };
        self.started = true;
        self.report.records += 1;
        self.report.first_seq.get_or_insert(seq);
        self.report.last_seq = Some(seq);
        if let Some(claimed) = claimed
            && claimed != hash
        {
            self.problem(
                at,
                "hash_mismatch",
                format!(
                    "record hash is {hash} but the log says {claimed}: the record was modified"
                ),
            );
        }
        match parsed {
            Ok(record) => self.check_record(at, record, hash, body),
            Err(e) => self.problem(at, "bad_record", e),
        }
        self.range.append(hash);
        self.prev = hash;
        self.prev_claimed = claimed;
        self.next_seq += 1;
        self.check_pending();
    }

    fn check_record(&mut self, at: Location, record: &Record, _hash: Hash, body: BodyInput<'_>) {
        let seq = self.next_seq;
        let origin = self.report.origin.get_or_insert_with(|| record.origin.clone()).clone();
        if record.origin != origin {
            self.problem(
                at,
                "wrong_origin",
                format!("origin is {:?}, expected {origin:?}", record.origin),
            );
        }
        if record.seq != self.expected_seq {
            let what = if record.seq > self.expected_seq {
                format!(
                    "{} record{} missing before it",
                    record.seq - self.expected_seq,
                    if record.seq - self.expected_seq == 1 { " is" } else { "s are" }
                )
            } else {
                "records were inserted or reordered".to_owned()
            };
            self.problem(
                at,
                "seq_mismatch",
                format!(
                    "record says seq {} but is at position {seq} where seq {} was due: {what}",
                    record.seq, self.expected_seq
                ),
            );
        }
        self.expected_seq = record.seq.saturating_add(1);
        if record.prev != self.prev && Some(record.prev) != self.prev_claimed {
            self.problem(
                at,
                "prev_mismatch",
                format!("prev is {} but the previous record hashes to {}", record.prev, self.prev),
            );
        }
        let mut h = DefaultHasher::new();
        record.id.hash(&mut h);
        if !self.ids.insert(h.finish()) {
            self.problem(at, "duplicate_id", format!("id {:?} appears twice", record.id));
        }
        match (record.body_digest, body) {
            (Some(expected), BodyInput::Present { salt, canonical }) => {
                self.report.bodies_checked += 1;
                let found = body_digest(salt, canonical);
                if found != expected {
                    self.problem(
                        at,
                        "body_mismatch",
                        format!("body digest is {found} but the record says {expected}: the body was modified"),
                    );
                }
                if record.fields.kind == ERASURE_KIND {
                    self.note_erasure(canonical);
                }
                if record.fields.kind == PRUNE_KIND {
                    #[derive(serde::Deserialize)]
                    struct Prune {
                        size: u64,
                    }
                    if let Ok(p) = serde_json::from_slice::<Prune>(canonical) {
                        self.prunes.insert(p.size);
                    }
                }
            }
            (Some(_), BodyInput::Absent) if self.opts.bodies_withheld => {
                self.report.bodies_withheld += 1;
            }
            (Some(_), BodyInput::Absent) => {
                self.report.bodies_erased += 1;
                // Erasure events name records by the seq they carry (not their position, which
                // a deleted line shifts).
                self.erased.push(record.seq);
            }
            (None, BodyInput::Present { .. }) => self.problem(
                at,
                "unexpected_body",
                "a body is present but the record has no body_digest: the body was added",
            ),
            (None, BodyInput::Absent) => {}
        }
    }

    fn note_erasure(&mut self, canonical: &[u8]) {
        #[derive(serde::Deserialize)]
        struct Erasure {
            seqs: Vec<u64>,
        }
        if let Ok(e) = serde_json::from_slice::<Erasure>(canonical) {
            self.erasure_covered.extend(e.seqs);
        }
    }

    /// Feeds a signed checkpoint as it appears in the source.
    pub fn checkpoint(&mut self, at: Location, text: &str) {
        self.add_checkpoint(at, text, false, 0);
    }

    fn add_checkpoint(&mut self, at: Location, text: &str, trusted: bool, index: usize) {
        let what = if trusted {
            format!("auditor checkpoint #{}", index + 1)
        } else {
            "checkpoint".to_owned()
        };
        self.report.checkpoints_checked += 1;
        let signed = match SignedCheckpoint::parse(text) {
            Ok(s) => s,
            Err(e) => return self.problem(at, "bad_checkpoint", format!("{what}: {e}")),
        };
        if !self.opts.verifiers.is_empty() {
            let mut keys = self.opts.verifiers.clone();
            keys.extend(self.opts.witnesses.iter().cloned());
            if let Err(e) = signed.verify(&keys) {
                return self.problem(
                    at,
                    "bad_signature",
                    format!("{what} of size {}: {e}", signed.checkpoint.size),
                );
            }
        }
        let size = signed.checkpoint.size;
        if size < self.range.size() {
            return self.problem(
                at,
                "checkpoint_out_of_order",
                format!(
                    "{what} of size {size} comes after record {}; it cannot be checked here",
                    self.range.size() - 1
                ),
            );
        }
        if !trusted && size > self.range.size() {
            self.ahead.push((at, size));
        }
        self.pending.entry(size).or_default().push((at, signed, trusted));
        self.check_pending();
    }

    fn check_pending(&mut self) {
        let size = self.range.size();
        let Some(list) = self.pending.remove(&size) else { return };
        let root = self.range.root();
        for (at, signed, trusted) in list {
            let cp: &Checkpoint = &signed.checkpoint;
            let what = if trusted { "auditor checkpoint" } else { "checkpoint" };
            if let Some(origin) = &self.report.origin
                && &cp.origin != origin
            {
                self.problem(
                    at,
                    "wrong_origin",
                    format!("{what} origin is {:?}, expected {origin:?}", cp.origin),
                );
                continue;
            }
            if cp.root != root {
                self.problem(
                    at,
                    "root_mismatch",
                    format!(
                        "{what} of size {size} signs root {} but the records hash to {root}: records covered by it were changed",
                        cp.root
                    ),
                );
                continue;
            }
            self.report.checkpoints_valid += 1;
            if !trusted
                && self.opts.quorum > 0
                && signed.note.cosigned_by(&self.opts.witnesses).len() < self.opts.quorum
            {
                self.report.checkpoints_unwitnessed += 1;
                continue;
            }
            self.report.verified_size = self.report.verified_size.max(size);
        }
    }

    /// Resumes verification from a prune anchor instead of seq 0.
    pub fn anchor(&mut self, at: Location, anchor: &Anchor) {
        if self.started {
            return self.problem(
                at,
                "anchor_out_of_order",
                "an anchor must come before every record",
            );
        }
        let signed = match SignedCheckpoint::parse(&anchor.checkpoint) {
            Ok(s) => s,
            Err(e) => return self.problem(at, "bad_anchor", format!("anchor checkpoint: {e}")),
        };
        if !self.opts.verifiers.is_empty()
            && let Err(e) = signed.verify(&self.opts.verifiers)
        {
            return self.problem(at, "bad_anchor", format!("anchor checkpoint: {e}"));
        }
        let cp = &signed.checkpoint;
        let range = match CompactRange::from_parts(anchor.size, anchor.peaks.clone()) {
            Ok(r) => r,
            Err(e) => return self.problem(at, "bad_anchor", format!("anchor tree state: {e}")),
        };
        if cp.size != anchor.size || range.root() != cp.root {
            return self.problem(
                at,
                "bad_anchor",
                format!(
                    "anchor tree state of size {} does not match its signed checkpoint of size {}",
                    anchor.size, cp.size
                ),
            );
        }
        if anchor.size > 0
            && verify_inclusion(
                &anchor.last_hash,
                anchor.size - 1,
                anchor.size,
                &anchor.last_proof,
                &cp.root,
            )
            .is_err()
        {
            return self.problem(
                at,
                "bad_anchor",
                "anchor's last record hash is not in its checkpoint",
            );
        }
        self.report.origin.get_or_insert_with(|| cp.origin.clone());
        self.range = range;
        self.next_seq = anchor.size;
        self.expected_seq = anchor.size;
        self.prev = anchor.last_hash;
        self.report.anchor = Some(anchor.size);
        self.report.verified_size = anchor.size;
        self.report.notes.push(format!(
            "records at seq 0 to {} were pruned; verified from the signed anchor at size {}",
            anchor.size.saturating_sub(1),
            anchor.size
        ));
        // The anchor's checkpoint counts as the log's own.
        self.report.checkpoints_checked += 1;
        self.report.checkpoints_valid += 1;
        self.check_pending();
    }

    /// Ends the stream and returns the report.
    pub fn finish(mut self) -> Report {
        let size = self.range.size();
        let pending = std::mem::take(&mut self.pending);
        for (cp_size, list) in pending {
            for (at, _, trusted) in list {
                let whose = if trusted { "an auditor's checkpoint" } else { "a checkpoint" };
                self.problem(
                    at,
                    "truncated",
                    format!("the log has {size} records but {whose} covers {cp_size}: records were removed from the end"),
                );
            }
        }
        // A log that starts at an anchor must record that prune: an anchor is a signed tree
        // state anyone can compute from a checkpoint and the hashes, so on its own it could
        // stand in for records cut from the start of an export.
        if let Some(a) = self.report.anchor
            && a > 0
            && !self.prunes.contains(&a)
        {
            self.problem(
                Location::default(),
                "anchor_unrecorded",
                format!(
                    "the log starts at a prune anchor of size {a}, but no trail.prune event in it \
                     records that prune: records may have been cut from its start"
                ),
            );
        }
        let erased = std::mem::take(&mut self.erased);
        for seq in erased {
            if !self.erasure_covered.contains(&seq) {
                self.problem(
                    Location::seq(seq),
                    "body_missing",
                    "the body is missing and no erasure event names this record: it was deleted outside trail",
                );
            }
        }
        self.report.unsigned_tail = size.saturating_sub(self.report.verified_size);
        if self.report.witness_policy.is_some() && self.opts.trusted.is_empty() {
            self.report.notes.push(
                "the witness policy shows the witnesses saw this history up to the verified size; \
                 a log cut back to an earlier witnessed checkpoint passes too: give a witness's \
                 latest checkpoint with --checkpoint to catch that"
                    .into(),
            );
        }
        if let Some(p) = self.report.witness_policy
            && self.report.checkpoints_unwitnessed > 0
        {
            self.report.notes.push(format!(
                "{} signed by the log lacked the quorum of the witness policy ({} of the {} named \
                 witnesses cosigning), so they do not count",
                plural(self.report.checkpoints_unwitnessed, "checkpoint"),
                p.quorum,
                p.witnesses
            ));
        }
        if self.report.checkpoints_valid == 0 && size > 0 {
            self.report.notes.push(
                "no valid signed checkpoint: the chain is consistent but nothing proves it was not rewritten".into(),
            );
        }
        self.report
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}
