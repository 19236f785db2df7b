//! A transparency-log witness (C2SP `tlog-witness`, `tlog-cosignature`).
//!
//! A witness keeps, for each log it knows, the latest checkpoint it cosigned, and cosigns a new
//! checkpoint only when a consistency proof shows that the new tree extends that one. Logs
//! collect the cosignatures; a verifier that requires K of them can no longer be shown a
//! rewritten history, or one history while another verifier is shown a second, unless K
//! witnesses were in on it.
//!
//! - [`protocol`]: the `add-checkpoint` request and the witness's answers, as the spec writes them.
//! - [`Witness`]: the checks, in the spec's order, and the cosignature.
//! - [`state`]: what the witness has cosigned, one file per log, replaced atomically and synced
//!   before an answer leaves.
//! - [`config`]: `witness.toml`, the witness's name and the logs it witnesses.
//! - [`rate`]: a token bucket per log.
//!
//! Synchronous and free of HTTP: `trail witness serve` (in trail-server) puts it behind
//! `POST /add-checkpoint`; trail's own logs reach witnesses through [`protocol`] too.

pub mod config;
pub mod protocol;
pub mod rate;
pub mod state;
mod witness;

pub use config::WitnessConfig;
pub use protocol::{AddCheckpoint, Refusal};
pub use witness::Witness;
