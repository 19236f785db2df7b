//! Quality floors on the labelled dev corpus (`testdata/pii/dev.jsonl`) and on the held-out
//! set (`testdata/heldout.jsonl`, made by `testdata-gen/gen_heldout.py`: dev's templates
//! with every labelled value drawn again from Faker, phonenumbers and the checksums),
//! scored with the same rules as `testdata/pii/score.py`: recall by same-type overlap,
//! precision by same-type overlap, cover by the union of all findings, neg_flag over
//! samples without spans. The floors sit just below the figures reached, so quality
//! cannot silently regress.

#![expect(clippy::unwrap_used, reason = "a malformed corpus line should fail the test loudly")]

use std::collections::BTreeMap;

use serde_json::Value;
use trail_scan::Scanner;

struct Span {
    start: usize,
    end: usize,
    kind: String,
}

#[derive(Default)]
struct Tally {
    gold: usize,
    caught: usize,
    covered: usize,
    predicted: usize,
    true_pos: usize,
}

struct Score {
    per_type: BTreeMap<String, Tally>,
    negatives: usize,
    negatives_flagged: usize,
}

fn corpus(rel: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("dev corpus missing at {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn score(scanner: &Scanner, samples: &[Value]) -> Score {
    let mut s = Score { per_type: BTreeMap::new(), negatives: 0, negatives_flagged: 0 };
    for r in samples {
        let text = r["text"].as_str().unwrap();
        let found: Vec<Span> = scanner
            .scan(text)
            .into_iter()
            .map(|f| Span { start: f.start, end: f.end, kind: f.kind.as_str().to_uppercase() })
            .collect();
        let gold: Vec<Span> = r["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| Span {
                start: g["start"].as_u64().unwrap() as usize,
                end: g["end"].as_u64().unwrap() as usize,
                kind: g["type"].as_str().unwrap().to_uppercase(),
            })
            .collect();
        if gold.is_empty() {
            s.negatives += 1;
            s.negatives_flagged += usize::from(!found.is_empty());
        }
        for g in &gold {
            let t = s.per_type.entry(g.kind.clone()).or_default();
            t.gold += 1;
            let overlapping: Vec<&Span> =
                found.iter().filter(|f| f.start < g.end && g.start < f.end).collect();
            t.caught += usize::from(overlapping.iter().any(|f| f.kind == g.kind));
            let mut bytes = vec![false; g.end - g.start];
            for f in &overlapping {
                for b in f.start.max(g.start)..f.end.min(g.end) {
                    bytes[b - g.start] = true;
                }
            }
            t.covered += usize::from(bytes.iter().all(|&b| b));
        }
        for f in &found {
            let t = s.per_type.entry(f.kind.clone()).or_default();
            t.predicted += 1;
            t.true_pos += usize::from(
                gold.iter().any(|g| g.kind == f.kind && g.start < f.end && f.start < g.end),
            );
        }
    }
    s
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Minimum figures for one labelled set.
struct Floors {
    samples: usize,
    micro: f64,
    neg_flag: f64,
    person_address: f64,
    other: f64,
}

#[test]
fn dev_corpus_quality_floor() {
    check(
        "../../testdata/pii/dev.jsonl",
        Floors { samples: 2000, micro: 0.99, neg_flag: 0.01, person_address: 0.97, other: 0.98 },
    );
}

#[test]
fn heldout_quality_floor() {
    check(
        "testdata/heldout.jsonl",
        Floors { samples: 1700, micro: 0.99, neg_flag: 0.01, person_address: 0.97, other: 0.98 },
    );
}

fn check(rel: &str, floors: Floors) {
    let samples = corpus(rel);
    assert!(samples.len() > floors.samples, "{rel} looks truncated: {} samples", samples.len());
    let s = score(&Scanner::default(), &samples);
    let sum = |f: fn(&Tally) -> usize| s.per_type.values().map(f).sum::<usize>();
    let precision = ratio(sum(|t| t.true_pos), sum(|t| t.predicted));
    let recall = ratio(sum(|t| t.caught), sum(|t| t.gold));
    let cover = ratio(sum(|t| t.covered), sum(|t| t.gold));
    let neg_flag = ratio(s.negatives_flagged, s.negatives);
    let mut report = String::new();
    for (k, t) in &s.per_type {
        let (p, r) = (ratio(t.true_pos, t.predicted), ratio(t.caught, t.gold));
        report.push_str(&format!(
            "{k:24} n {:5} recall {r:.3} cover {:.3} pred {:5} prec {p:.3} f1 {:.3}\n",
            t.gold,
            ratio(t.covered, t.gold),
            t.predicted,
            f1(p, r)
        ));
    }
    report.push_str(&format!(
        "micro: precision {precision:.3} recall {recall:.3} f1 {:.3} cover {cover:.3} neg_flag {neg_flag:.3}\n",
        f1(precision, recall)
    ));
    eprintln!("{report}");
    let m = floors.micro;
    assert!(precision >= m, "{rel}: precision {precision:.3} below floor\n{report}");
    assert!(recall >= m, "{rel}: recall {recall:.3} below floor\n{report}");
    assert!(f1(precision, recall) >= m, "{rel}: f1 below floor\n{report}");
    assert!(cover >= m, "{rel}: cover {cover:.3} below floor\n{report}");
    assert!(neg_flag <= floors.neg_flag, "{rel}: neg_flag {neg_flag:.3} above ceiling\n{report}");
    for (k, t) in &s.per_type {
        let f = f1(ratio(t.true_pos, t.predicted), ratio(t.caught, t.gold));
        let floor = if k == "PERSON" || k == "STREET_ADDRESS" {
            floors.person_address
        } else {
            floors.other
        };
        assert!(f >= floor, "{rel}: {k} f1 {f:.3} below {floor}\n{report}");
    }
}
