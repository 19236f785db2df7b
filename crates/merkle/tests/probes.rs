//! The 518 transparency-dev/merkle proof probes (`testdata/` at upstream commit 417fb0c), each
//! one JSON file whose `wantErr` says whether upstream's verifier rejects it. Ours must agree on
//! every one. Format: `testdata/vectors/transparency-dev-merkle/README.md`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use trail_merkle::{
    Hash, verify_consistency, verify_inclusion, verify_subtree_consistency,
    verify_subtree_inclusion,
};

/// Probes that upstream accepts but that cannot be expressed with 32-byte hashes.
///
/// Go's verifier takes roots as `[]byte` and, on the paths these probes take, returns without
/// checking their length: equal sizes compare the two roots byte for byte, and an empty subtree
/// never looks at the tree root at all. These probes use 12-byte placeholder roots
/// (`"don't care 1"` / `"don't care 2"`) there. Our roots are [`Hash`](struct@Hash)es, so such a
/// probe is rejected when parsed, before any verifier runs; the tests assert exactly that. The
/// shared README documents the first one; the three subtree ones are the same situation. (With
/// lengths forced to 32 bytes, see [`check_dir`], all four are accepted, as upstream does.)
const UNREPRESENTABLE: [&str; 4] = [
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    "subtreeconsistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    "subtreeconsistency/additional/subtree-is-empty-sizes-are-equal-one-subtree-root-valid-tree-root-random-proof-is-empty.json",
    "subtreeconsistency/additional/subtree-is-empty-sizes-are-equal-zero-subtree-root-valid-tree-root-random-proof-is-empty.json",
];

#[test]
fn inclusion_probes() {
    check_dir("inclusion", 98);
}

#[test]
fn consistency_probes() {
    check_dir("consistency", 98);
}

#[test]
fn subtree_inclusion_probes() {
    check_dir("subtreeinclusion", 204);
}

#[test]
fn subtree_consistency_probes() {
    check_dir("subtreeconsistency", 118);
}

#[test]
fn all_518_probes_are_present() {
    let total: usize = ["inclusion", "consistency", "subtreeinclusion", "subtreeconsistency"]
        .iter()
        .map(|kind| probe_files(kind).len())
        .sum();
    assert_eq!(total, 518);
}

#[test]
fn unrepresentable_probes_are_rejected_at_parse_time() {
    for name in UNREPRESENTABLE {
        let raw = load(&testdata().join(name));
        assert!(!raw.want_err, "{name}: upstream accepts this probe");
        match raw.parse(Lengths::Strict) {
            Err(reason) => assert!(reason.contains("got 12"), "{name}: {reason}"),
            Ok(_) => panic!("{name}: a 12-byte root parsed as a 32-byte hash"),
        }
    }
}

/// Runs every probe under `testdata/<kind>`, asserts there are `count` of them, and checks our
/// verdict against `wantErr` twice; reports every disagreement at once.
///
/// - As typed input: every hash must parse as 32 bytes, and a probe that does not parse counts
///   as rejected, which is what a caller holding [`Hash`](struct@Hash)es experiences. Only the
///   [`UNREPRESENTABLE`] probes may be accepted upstream and still fail to parse.
/// - With roots and proof hashes forced to 32 bytes: about a quarter of the probes corrupt a
///   hash by changing its length ("wrong root", "trailing garbage"). Mapping each such value to
///   the SHA-256 of its bytes keeps it wrong (and keeps equal values equal) but lets it reach the
///   verifier, so the verifier itself is exercised on all 518 probes. Leaf hashes stay strict:
///   upstream rejects a leaf hash of the wrong length before hashing anything, and so do we, by
///   type.
fn check_dir(kind: &str, count: usize) {
    let files = probe_files(kind);
    assert_eq!(files.len(), count, "probe count under testdata/{kind}");
    let unrepresentable: BTreeSet<&str> = UNREPRESENTABLE.into_iter().collect();
    let mut failures = Vec::new();
    for file in &files {
        let name = file.strip_prefix(testdata()).unwrap_or(file).to_string_lossy().into_owned();
        let raw = load(file);
        let strict = match raw.parse(Lengths::Strict) {
            Ok(probe) => probe.verify(),
            Err(_) if unrepresentable.contains(name.as_str()) => Err("unrepresentable".into()),
            Err(reason) => Err(format!("unparseable: {reason}")),
        };
        if strict.is_ok() == raw.want_err && !unrepresentable.contains(name.as_str()) {
            failures
                .push(format!("{name} ({}): want_err {}, got {strict:?}", raw.desc, raw.want_err));
        }
        let forced = raw.parse(Lengths::Forced).and_then(|probe| probe.verify());
        if forced.is_ok() == raw.want_err {
            failures.push(format!(
                "{name} ({}), lengths forced: want_err {}, got {forced:?}",
                raw.desc, raw.want_err
            ));
        }
    }
    assert!(failures.is_empty(), "{} probes disagree:\n{}", failures.len(), failures.join("\n"));
}

/// How [`RawProbe::parse`] treats a value that is not 32 bytes long.
#[derive(Clone, Copy)]
enum Lengths {
    /// Reject it, as [`Hash::from_base64`] does.
    Strict,
    /// Replace a root or proof hash with the SHA-256 of its bytes; leaf hashes stay strict.
    Forced,
}

/// One probe file as stored: hashes are base64 text that may be empty or not 32 bytes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawProbe {
    #[serde(skip)]
    kind: String,
    leaf_idx: Option<u64>,
    tree_size: Option<u64>,
    start: Option<u64>,
    end: Option<u64>,
    size: Option<u64>,
    size1: Option<u64>,
    size2: Option<u64>,
    root: Option<String>,
    leaf_hash: Option<String>,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

/// A probe whose hashes all parsed as 32-byte [`Hash`](struct@Hash)es.
enum Probe {
    Inclusion {
        index: u64,
        size: u64,
        leaf: Hash,
        proof: Vec<Hash>,
        root: Hash,
    },
    Consistency {
        size1: u64,
        size2: u64,
        proof: Vec<Hash>,
        root1: Hash,
        root2: Hash,
    },
    SubtreeInclusion {
        index: u64,
        start: u64,
        end: u64,
        leaf: Hash,
        proof: Vec<Hash>,
        root: Hash,
    },
    SubtreeConsistency {
        start: u64,
        end: u64,
        size: u64,
        proof: Vec<Hash>,
        root1: Hash,
        root2: Hash,
    },
}

impl RawProbe {
    fn parse(&self, lengths: Lengths) -> Result<Probe, String> {
        let hash = |field: &str, text: Option<&str>| match field {
            "leafHash" => hash(field, text, Lengths::Strict),
            _ => hash(field, text, lengths),
        };
        let proof: Vec<Hash> = self
            .proof
            .iter()
            .flatten()
            .map(|p| hash("proof", Some(p)))
            .collect::<Result<_, _>>()?;
        Ok(match self.kind.as_str() {
            "inclusion" => Probe::Inclusion {
                index: num("leafIdx", self.leaf_idx)?,
                size: num("treeSize", self.tree_size)?,
                leaf: hash("leafHash", self.leaf_hash.as_deref())?,
                proof,
                root: hash("root", self.root.as_deref())?,
            },
            "consistency" => Probe::Consistency {
                size1: num("size1", self.size1)?,
                size2: num("size2", self.size2)?,
                proof,
                root1: hash("root1", self.root1.as_deref())?,
                root2: hash("root2", self.root2.as_deref())?,
            },
            "subtreeinclusion" => Probe::SubtreeInclusion {
                index: num("leafIdx", self.leaf_idx)?,
                start: num("start", self.start)?,
                end: num("end", self.end)?,
                leaf: hash("leafHash", self.leaf_hash.as_deref())?,
                proof,
                root: hash("root", self.root.as_deref())?,
            },
            "subtreeconsistency" => Probe::SubtreeConsistency {
                start: num("start", self.start)?,
                end: num("end", self.end)?,
                size: num("size", self.size)?,
                proof,
                root1: hash("root1", self.root1.as_deref())?,
                root2: hash("root2", self.root2.as_deref())?,
            },
            other => return Err(format!("unknown probe kind {other}")),
        })
    }
}

impl Probe {
    fn verify(&self) -> Result<(), String> {
        match self {
            Probe::Inclusion { index, size, leaf, proof, root } => {
                verify_inclusion(leaf, *index, *size, proof, root)
            }
            Probe::Consistency { size1, size2, proof, root1, root2 } => {
                verify_consistency(*size1, *size2, proof, root1, root2)
            }
            Probe::SubtreeInclusion { index, start, end, leaf, proof, root } => {
                verify_subtree_inclusion(leaf, *index, *start, *end, proof, root)
            }
            Probe::SubtreeConsistency { start, end, size, proof, root1, root2 } => {
                verify_subtree_consistency(*start, *end, *size, proof, root1, root2)
            }
        }
        .map_err(|e| e.to_string())
    }
}

fn num(field: &str, value: Option<u64>) -> Result<u64, String> {
    value.ok_or_else(|| format!("missing {field}"))
}

/// Empty text and `null` both mean "no bytes", which is never a valid hash.
fn hash(field: &str, text: Option<&str>, lengths: Lengths) -> Result<Hash, String> {
    let text = text.unwrap_or("");
    match lengths {
        Lengths::Strict => Hash::from_base64(text).map_err(|e| format!("{field}: {e}")),
        Lengths::Forced => {
            let bytes = STANDARD.decode(text).map_err(|e| format!("{field}: {e}"))?;
            Ok(Hash::from_slice(&bytes).unwrap_or_else(|_| Hash(Sha256::digest(&bytes).into())))
        }
    }
}

fn testdata() -> PathBuf {
    common::vectors_dir().join("testdata")
}

fn load(path: &Path) -> RawProbe {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut raw: RawProbe =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    let relative = path.strip_prefix(testdata()).unwrap_or(path);
    raw.kind = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    raw
}

/// Every `*.json` file under `testdata/<kind>`, recursively, sorted.
fn probe_files(kind: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![testdata().join(kind)];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display())).path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
