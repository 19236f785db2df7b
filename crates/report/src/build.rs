//! What the CLI and the dashboard share to make a report: the integrity section from a
//! verifier's report and the checkpoint (its signatures named, a witness policy applied), and a
//! whole report from a store (verification, then one pass over the records up to the checkpoint).

use std::collections::HashSet;

use trail_core::verify::{Report, VerifyOptions};
use trail_core::{NoteVerifier, Record, SignedCheckpoint, Timestamp};
use trail_store::Store;

use crate::{Figures, Fold, Integrity, Meta, Retention, Signature};

/// How a report is made.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The log's verifier keys.
    pub keys: Vec<NoteVerifier>,
    /// Witness keys whose cosignatures count, and how many must have cosigned.
    pub witnesses: Vec<NoteVerifier>,
    pub quorum: Option<usize>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub gap_minutes: u64,
    pub generated_at: Timestamp,
    /// What is read, for the reader: `data directory ...`, `tiles at ...`.
    pub source: String,
    /// The command that re-checks the log.
    pub recheck: String,
    /// The configured retention rules, when the source knows them.
    pub policy: Option<Vec<String>>,
}

/// The problems listed in the report at most.
const MAX_PROBLEMS: usize = 20;

/// The integrity section: `report` from verifying the log, `cp` the checkpoint the figures were
/// computed at.
pub fn integrity(report: &Report, cp: Option<&SignedCheckpoint>, opts: &Options) -> Integrity {
    let mut all: Vec<NoteVerifier> = opts.keys.clone();
    all.extend(opts.witnesses.iter().cloned());
    let verified: HashSet<(String, u32)> = cp
        .and_then(|c| c.note.verify(&all).ok())
        .map(|vs| vs.into_iter().map(|v| (v.name().to_owned(), v.key_id())).collect())
        .unwrap_or_default();
    let signatures: Vec<Signature> = cp
        .map(|c| {
            c.note
                .signatures
                .iter()
                .map(|s| {
                    let known = |keys: &[NoteVerifier]| {
                        keys.iter().any(|k| k.name() == s.name && k.key_id() == s.key_id)
                    };
                    let role = if known(&opts.keys) {
                        "log"
                    } else if known(&opts.witnesses) {
                        "witness"
                    } else {
                        "unknown"
                    };
                    Signature {
                        name: s.name.clone(),
                        key_id: format!("{:08x}", s.key_id),
                        role: role.to_owned(),
                        verified: verified.contains(&(s.name.clone(), s.key_id)),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let (witness_policy, witness_quorum_met) = match opts.quorum {
        Some(k) if !opts.witnesses.is_empty() => {
            let cosigned = signatures.iter().filter(|s| s.role == "witness" && s.verified).count();
            (
                Some(format!(
                    "at least {k} of {} named witnesses cosign the checkpoint ({cosigned} did)",
                    opts.witnesses.len()
                )),
                Some(cosigned >= k),
            )
        }
        _ => (None, None),
    };
    let mut verdict = serde_json::to_value(report.verdict())
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "problems".to_owned());
    if witness_quorum_met == Some(false) && verdict == "intact" {
        verdict = "problems".to_owned();
    }
    Integrity {
        verdict,
        records: report.records,
        verified_size: report.verified_size,
        unsigned_tail: report.unsigned_tail,
        problem_count: report.problem_count()
            + u64::from(witness_quorum_met == Some(false)),
        problems: report
            .problems
            .iter()
            .take(MAX_PROBLEMS)
            .map(|p| format!("{}: {}", p.code, p.message))
            .chain(
                (witness_quorum_met == Some(false))
                    .then(|| "witness_quorum: the checkpoint lacks the witness cosignatures the policy asks for".to_owned()),
            )
            .collect(),
        checkpoint: cp.map(ToString::to_string),
        signatures,
        witness_policy,
        witness_quorum_met,
    }
}

/// A report of the log in `store`: verified as `trail verify` does, then folded up to its latest
/// checkpoint (records after it are unsigned, and counted as such in the integrity section).
pub fn from_store(
    store: &dyn Store,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> trail_store::Result<(Meta, Figures)> {
    let verify_opts = VerifyOptions {
        verifiers: opts.keys.clone(),
        origin: Some(store.origin().to_owned()),
        ..VerifyOptions::default()
    };
    let report = trail_store::verify_store(store, verify_opts, progress)?;
    let cp = store.latest_checkpoint()?;
    let anchor = store.anchor()?;
    let start = anchor.as_ref().map_or(0, |a| a.size);
    let end = cp.as_ref().map_or(store.state()?.size, |c| c.checkpoint.size);
    let (figures, span) = fold_store(store, start, end, opts.from, opts.to, opts.gap_minutes)?;
    let meta = Meta {
        origin: store.origin().to_owned(),
        generated_at: opts.generated_at,
        source: opts.source.clone(),
        recheck: opts.recheck.clone(),
        period_from: opts.from,
        period_to: opts.to,
        integrity: integrity(&report, cp.as_ref(), opts),
        retention: Retention {
            policy: opts.policy.clone().unwrap_or_default(),
            policy_known: opts.policy.is_some(),
            oldest: span.oldest,
            newest: span.newest,
            first_seq: start,
            anchor_size: anchor.as_ref().map(|a| a.size),
            anchor_checkpoint: anchor.map(|a| a.checkpoint),
        },
    };
    Ok((meta, figures))
}

/// Records `[start, end)` of `store` folded into figures over the period `[from, to)`, and the
/// time span of all of them.
pub fn fold_store(
    store: &dyn Store,
    start: u64,
    end: u64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    gap_minutes: u64,
) -> trail_store::Result<(Figures, Span)> {
    let mut fold = Fold::new(from, to, gap_minutes);
    let mut span = Span::default();
    store.scan(start, end, &mut |r| {
        span.add(&r.record);
        fold.add(&r.record, r.body.as_ref());
        Ok(true)
    })?;
    Ok((fold.finish(), span))
}

/// The oldest and newest record times of a whole log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
}

impl Span {
    pub fn add(&mut self, r: &Record) {
        self.oldest = Some(self.oldest.map_or(r.time, |t| t.min(r.time)));
        self.newest = Some(self.newest.map_or(r.time, |t| t.max(r.time)));
    }
}
