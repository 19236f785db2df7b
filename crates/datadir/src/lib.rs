//! A trail data directory: `trail.toml` ([`datadir::Config`], with the serving tables in
//! [`serving`]), the log's signing and verifier keys, the store it names (SQLite, files or
//! PostgreSQL), the recorder's settings, and [`writer`]: the writer lock and, on PostgreSQL, the
//! sequencer lease that every writer takes, whatever language it is written in.

pub mod datadir;
pub mod serving;
pub mod writer;

pub use datadir::{Config, DataDir};
