//! The auditor's report: what agents did over a period and the proof that the log says so, as
//! one self-contained HTML file (no network, charts as inline SVG, readable printed and on a
//! phone). An auditor opens it with nothing installed.
//!
//! The caller (the CLI, the dashboard) verifies the log and folds its records into [`Figures`]
//! ([`Fold`]); this crate renders them ([`render`]) and reads a rendered report back
//! ([`read`]). A report embeds, as JSON in a `<script type="application/json">` element, the
//! signed checkpoint it was computed at, its period and figures, and the SHA-256 digest of the
//! whole file (computed with the digest's own digits set to zero): so `trail verify --report`
//! can tell a report edited by hand (the digest), one not signed by the log's key (the
//! checkpoint), and, given the log, one whose figures are not the log's (folding it again).
//!
//! Pure: no I/O, no clock; times come in as arguments.

mod build;
mod figures;
mod html;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trail_core::Timestamp;

pub use build::{Options, Span, fold_store, from_store, integrity};
pub use figures::{
    AgentFigures, Figures, Fold, Gap, Listed, MAX_LISTED, Maintenance, OpenSession, SessionFigures,
    Usage,
};

/// The format name a report's embedded data carries.
pub const FORMAT: &str = "trail-report/v1";

/// Everything a report states besides the figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub origin: String,
    pub generated_at: Timestamp,
    /// What was read: `data directory /srv/trail`, `tiles at https://...`.
    pub source: String,
    /// The command that re-checks the log's integrity.
    pub recheck: String,
    pub period_from: Option<Timestamp>,
    pub period_to: Option<Timestamp>,
    pub integrity: Integrity,
    pub retention: Retention,
}

/// The integrity verdict and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integrity {
    /// `intact`, `unsigned_records`, `no_key`, `empty` or `problems` (as `trail verify`).
    pub verdict: String,
    pub records: u64,
    /// Records covered by a valid signed checkpoint.
    pub verified_size: u64,
    pub unsigned_tail: u64,
    pub problem_count: u64,
    /// The first problems, `code: message`.
    pub problems: Vec<String>,
    /// The signed checkpoint the figures were computed at (a C2SP signed note), if any.
    pub checkpoint: Option<String>,
    /// The signatures on that checkpoint: who signed, and whether a given key verified it.
    pub signatures: Vec<Signature>,
    /// Witness policy, when one was given: `K of N named witnesses`, and whether it was met.
    pub witness_policy: Option<String>,
    pub witness_quorum_met: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub name: String,
    pub key_id: String,
    /// `log`, `witness` or `unknown` (no key given for it).
    pub role: String,
    pub verified: bool,
}

/// What the log keeps, against its policy and against six months.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    /// The configured rules, as written in trail.toml; empty when none (or unknown: tiles).
    pub policy: Vec<String>,
    pub policy_known: bool,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    /// The first seq kept: above 0 after a prune.
    pub first_seq: u64,
    /// The signed prune anchor the log starts from: its size and the checkpoint it carries.
    pub anchor_size: Option<u64>,
    pub anchor_checkpoint: Option<String>,
}

/// A rendered report read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedded {
    pub format: String,
    pub meta: Meta,
    pub figures: Figures,
    /// `sha256:` and 64 hex digits.
    pub digest: String,
}

/// Why a file is not a report, or not the one it was.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("this is not a trail report: {0}")]
    NotAReport(String),
    #[error(
        "the report was changed after it was written: its digest is {embedded}, its content hashes to {actual}"
    )]
    Altered { embedded: String, actual: String },
}

const DIGEST_KEY: &str = "\"digest\":\"sha256:";
const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const SCRIPT_OPEN: &str = "<script type=\"application/json\" id=\"trail-report\">";

/// The report as one HTML document.
pub fn render(meta: &Meta, figures: &Figures) -> String {
    let embedded = Embedded {
        format: FORMAT.to_owned(),
        meta: meta.clone(),
        figures: figures.clone(),
        digest: format!("sha256:{ZEROS}"),
    };
    // `<` only ever stands inside JSON strings, where `\u003c` means the same: nothing in the
    // data can close the script element.
    let json: String = serde_json::to_string(&embedded)
        .unwrap_or_else(|_| "{}".to_owned())
        .chars()
        .map(|c| match c {
            // Inside JSON strings these escapes mean the same characters; written out, a `<`
            // could close the element and a bidirectional override could turn the source around.
            '<' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
                format!("\\u{:04x}", c as u32)
            }
            c => c.to_string(),
        })
        .collect();
    let doc = html::document(meta, figures, &format!("{SCRIPT_OPEN}{json}</script>"));
    let digest = hex::encode(Sha256::digest(doc.as_bytes()));
    doc.replacen(&format!("{DIGEST_KEY}{ZEROS}"), &format!("{DIGEST_KEY}{digest}"), 1)
}

/// Reads a report back, checking its digest.
pub fn read(doc: &str) -> Result<Embedded, ReportError> {
    let not = |why: &str| ReportError::NotAReport(why.to_owned());
    let start =
        doc.find(SCRIPT_OPEN).ok_or_else(|| not("no embedded report data"))? + SCRIPT_OPEN.len();
    let end =
        start + doc[start..].find("</script>").ok_or_else(|| not("the data is not closed"))?;
    let at = doc.find(DIGEST_KEY).ok_or_else(|| not("no digest"))? + DIGEST_KEY.len();
    let digits = doc.get(at..at + 64).ok_or_else(|| not("the digest is cut short"))?;
    if doc.matches(DIGEST_KEY).count() != 1 || !(start..end).contains(&at) {
        return Err(not("the digest is not where a report keeps it"));
    }
    let zeroed = format!("{}{ZEROS}{}", &doc[..at], &doc[at + 64..]);
    let actual = hex::encode(Sha256::digest(zeroed.as_bytes()));
    if actual != digits {
        return Err(ReportError::Altered {
            embedded: format!("sha256:{digits}"),
            actual: format!("sha256:{actual}"),
        });
    }
    let embedded: Embedded = serde_json::from_str(&doc[start..end])
        .map_err(|e| ReportError::NotAReport(format!("the embedded data: {e}")))?;
    if embedded.format != FORMAT {
        return Err(ReportError::NotAReport(format!("unknown format {:?}", embedded.format)));
    }
    Ok(embedded)
}

/// The one line that opens the report: the verdict, in words a reader needs nothing else for.
pub fn headline(meta: &Meta) -> String {
    let i = &meta.integrity;
    match i.verdict.as_str() {
        "intact" if i.records == 1 => format!(
            "INTACT: the one record of {} is covered by a signed checkpoint that verifies",
            meta.origin
        ),
        "intact" => format!(
            "INTACT: all {} records of {} are covered by a signed checkpoint that verifies",
            i.records, meta.origin
        ),
        "unsigned_records" => format!(
            "INTACT SO FAR: {} records of {} are signed; the newest {} are not yet covered by a signed checkpoint",
            i.verified_size, meta.origin, i.unsigned_tail
        ),
        "no_key" => {
            format!("NOT VERIFIED: no key was given to check the signatures of {}", meta.origin)
        }
        "empty" => format!("EMPTY: the log {} holds no records", meta.origin),
        _ => format!(
            "NOT INTACT: verification of {} found {} problem{}; this log cannot be relied on as it stands",
            meta.origin,
            i.problem_count,
            if i.problem_count == 1 { "" } else { "s" }
        ),
    }
}
