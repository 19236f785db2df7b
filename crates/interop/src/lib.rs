//! trail's bridges to the audit trails agents keep today, and the formats auditors and SIEMs read.
//!
//! Four systems came before trail, each with its own file and its own gaps (their exact formats
//! and defects are summarised in `docs/interop.md`): Harness writes a SHA-256 hash chain of JSON
//! lines, AgenticAPI an `audit_traces` SQLite table, denkeeper an `audit_events` SQLite table, and
//! AG2's hub an `audit.jsonl` of sorted-key records. This crate reads each of them into trail
//! [`Event`]s ([`read`]), checks a Harness log exactly as Harness defines it
//! ([`harness::verify`]), and writes a trail log back out as Harness files, CSV, one JSON document,
//! OCSF or CEF ([`export`]).
//!
//! Three rules hold for every importer. Nothing is dropped: each source field lands in a record
//! field or in the body (the source object is kept whole under the system's name), and values
//! JSON or trail cannot hold (integers beyond 2^53, NaN, lone surrogates, invalid UTF-8) are kept
//! as text with their paths listed. Ids are derived from the source's own ids
//! (`harness:<event_id>`, `denkeeper:<id>`, ...), so importing the same file twice adds nothing.
//! And a file is read and checked completely before anything is returned, so bad input is an
//! error naming the file, the line or row and the field, and the caller can leave the log as it was.
//!
//! Each batch starts with a `trail.import` event recording what was imported and what the source
//! can and cannot prove; for Harness that includes the verdict of its own chain check.
//!
//! This crate reads files and SQLite databases but knows nothing of the recorder, the store, the
//! command line or async runtimes: the caller records the events and feeds the exporters.

pub mod ag2;
pub mod agenticapi;
mod common;
pub mod denkeeper;
pub mod export;
pub mod harness;
pub mod pyjson;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use trail_core::Event;

/// A system trail imports from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Harness,
    AgenticApi,
    Denkeeper,
    Ag2,
}

impl System {
    pub const ALL: [System; 4] =
        [System::Harness, System::AgenticApi, System::Denkeeper, System::Ag2];

    pub fn name(self) -> &'static str {
        match self {
            System::Harness => "harness",
            System::AgenticApi => "agenticapi",
            System::Denkeeper => "denkeeper",
            System::Ag2 => "ag2",
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for System {
    type Err = UnknownSystem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        System::ALL
            .into_iter()
            .find(|sys| sys.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSystem(s.to_owned()))
    }
}

/// A `--from` value that names no known system.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown system {0:?}: use harness, agenticapi, denkeeper or ag2")]
pub struct UnknownSystem(pub String);

/// Why a file could not be imported. Messages name the file, the line or row, and the field.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: sqlite: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: not {system} audit data: {reason}")]
    NotThisSystem { path: PathBuf, system: System, reason: String },
    #[error("{path}: {at}: {reason}")]
    Bad { path: PathBuf, at: String, reason: String },
    #[error("{path}: {at}: field `{field}`: {reason}")]
    Field { path: PathBuf, at: String, field: String, reason: String },
}

/// One problem found while reading or checking a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based physical line (JSONL sources) or the row's id (SQLite sources).
    pub at: String,
    pub code: &'static str,
    pub message: String,
}

/// What one imported file holds, ready to be recorded: the `trail.import` event first.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    pub system: System,
    pub path: PathBuf,
    /// Lines, rows or traces read.
    pub items: u64,
    /// For Harness: whether its own chain check passed. `None`: the source has no integrity data.
    pub chain_valid: Option<bool>,
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
    /// The `trail.import` event followed by the imported events, in source order.
    pub events: Vec<Event>,
}

/// Reads one file or database of `system` into events, checking all of it first.
pub fn read(system: System, path: &Path) -> Result<ImportBatch, ImportError> {
    match system {
        System::Harness => harness::import(path),
        System::AgenticApi => agenticapi::import(path),
        System::Denkeeper => denkeeper::import(path),
        System::Ag2 => ag2::import(path),
    }
}
