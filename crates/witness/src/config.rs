//! `witness.toml`: the witness's name and the logs it witnesses.
//!
//! ```toml
//! [witness]
//! name = "witness.example/w1"     # the cosigner name, as in witness.vkey
//! listen = "127.0.0.1:7380"       # when `trail witness serve` has no --listen
//! max_per_second = 5              # add-checkpoint requests per log per second (bursts of 4x)
//!
//! [[logs]]                         # one table per log key; two tables for one origin: a rotation
//! origin = "trail.example/log"
//! vkey = "trail.example/log+0a1b2c3d+AQ..."
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use trail_core::NoteVerifier;

/// The file's name in a witness's directory.
pub const CONFIG_FILE: &str = "witness.toml";

/// `witness.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    pub witness: WitnessSection,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogEntry>,
}

/// `[witness]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(default = "default_rate")]
    pub max_per_second: u32,
}

fn default_rate() -> u32 {
    5
}

/// `[[logs]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub origin: String,
    pub vkey: String,
}

impl WitnessConfig {
    /// Reads `dir/witness.toml`.
    pub fn load(dir: &Path) -> Result<WitnessConfig, String> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The trusted keys of each log, checked: every vkey parses, is a log key (type 0x01) and is
    /// named for its origin.
    pub fn log_keys(&self) -> Result<BTreeMap<String, Vec<NoteVerifier>>, String> {
        let mut out: BTreeMap<String, Vec<NoteVerifier>> = BTreeMap::new();
        for (i, log) in self.logs.iter().enumerate() {
            let what = format!("[[logs]] #{} ({:?})", i + 1, log.origin);
            let key: NoteVerifier = log.vkey.parse().map_err(|e| format!("{what}: vkey: {e}"))?;
            if key.is_cosigner() {
                return Err(format!("{what}: vkey is a witness key; give the log's verifier key"));
            }
            if key.name() != log.origin {
                return Err(format!(
                    "{what}: the vkey is named {:?}; a log's key is named for its origin",
                    key.name()
                ));
            }
            out.entry(log.origin.clone()).or_default().push(key);
        }
        Ok(out)
    }
}
