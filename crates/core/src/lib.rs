//! trail's event and record model, canonical JSON, signed checkpoints, receipts and the
//! verifier. Pure: no I/O, no clock, no randomness; time, ids, salts and keys come in as
//! arguments, and nothing here knows of tokio, SQL, HTTP or the command line.
//!
//! The pieces, in the order data flows through them:
//! - [`model`]: an [`Event`] as an agent sends it, parsed strictly; [`Event::prepare`] fixes its
//!   id, time and salted body digest; [`Prepared::seal`] places it at a seq after `prev` and
//!   yields the [`Record`], its RFC 8785 bytes and its leaf hash `SHA-256(0x00 || JCS(record))`.
//! - [`jcs`]: RFC 8785 canonical JSON, rejecting integers beyond ±2^53.
//! - [`note`]: C2SP signed notes, Ed25519 keys in their text forms, `tlog-checkpoint`.
//! - [`receipt`]: C2SP `tlog-proof@v1` receipts carrying the record bytes.
//! - [`export`]: the JSON Lines export format.
//! - [`verify`]: the streaming verifier and its [`Report`].

pub mod export;
pub mod jcs;
pub mod model;
pub mod note;
pub mod receipt;
pub mod strict;
pub mod timestamp;
pub mod verify;

pub use model::{Body, Event, EventError, Fields, FindingSummary, Prepared, Record, Sealed, Usage};
pub use note::{Checkpoint, NoteSigner, NoteVerifier, SignedCheckpoint};
pub use receipt::Receipt;
pub use timestamp::Timestamp;
pub use trail_merkle::Hash;
pub use verify::{Anchor, BodyInput, Location, Report, Verifier, VerifyOptions};
