//! API keys: scopes, the logs a key may touch, storage and checking.
//!
//! A key reads `trail_<id>_<secret>`: `id` (12 hex digits) finds the entry without touching the
//! secret, and the SHA-256 of the whole key is compared with the stored hash in constant time.
//! Only hashes are stored (`api-keys.json` in the data directory, mode 0600); a key is printed
//! once, when it is made. High-entropy keys need no slow KDF. Revoked keys stay in the file,
//! marked, so `trail keys list` shows who had access.
//!
//! Scopes: `ingest` (POST events, OTLP), `read` (everything under GET /v1), `admin` (both, plus
//! `/metrics` and `/v1/keys`). A key with no logs listed may touch every log the server serves.
//! With no active key at all, the server is open, which `trail serve` allows on loopback only.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The key file's name in the data directory.
pub const KEYS_FILE: &str = "api-keys.json";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Read,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Scope, KeyError> {
        match s.trim() {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(KeyError::BadScope(other.to_owned())),
        }
    }
}

/// Key file and key management errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("unknown scope {0:?}: use ingest, read or admin")]
    BadScope(String),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid key file: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("no key with id {0:?}")]
    NoSuchKey(String),
    #[error("a key needs at least one scope")]
    NoScope,
}

/// One stored key: its hash, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Hex SHA-256 of the whole key text.
    pub hash: String,
    pub scopes: Vec<Scope>,
    /// Logs (by name) the key may touch; empty means all.
    #[serde(default)]
    pub logs: Vec<String>,
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

impl KeyEntry {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }

    pub fn allows_log(&self, log: &str) -> bool {
        self.logs.is_empty() || self.logs.iter().any(|l| l == log)
    }

    pub fn view(&self) -> crate::api::KeyView {
        crate::api::KeyView {
            id: self.id.clone(),
            name: self.name.clone(),
            scopes: self.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            logs: self.logs.clone(),
            created: self.created.clone(),
            revoked: self.revoked.clone(),
        }
    }
}

/// The key file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    pub keys: Vec<KeyEntry>,
}

impl KeyFile {
    /// Reads `dir/api-keys.json`; a missing file is an empty key list.
    pub fn load(dir: &Path) -> Result<KeyFile, KeyError> {
        let path = dir.join(KEYS_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| KeyError::Parse { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
            Err(source) => Err(KeyError::Read { path, source }),
        }
    }

    /// Writes the file atomically (a temporary file renamed over it), mode 0600.
    pub fn save(&self, dir: &Path) -> Result<(), KeyError> {
        let path = dir.join(KEYS_FILE);
        let tmp = dir.join(format!("{KEYS_FILE}.tmp"));
        let werr = |source| KeyError::Write { path: path.clone(), source };
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| werr(std::io::Error::other(e.to_string())))?;
        let _ = fs::remove_file(&tmp);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(werr)?;
        f.write_all(text.as_bytes()).map_err(werr)?;
        f.write_all(b"\n").map_err(werr)?;
        f.sync_all().map_err(werr)?;
        fs::rename(&tmp, &path).map_err(werr)?;
        Ok(())
    }

    /// Makes a key; returns the key text (shown once) and stores only its hash.
    pub fn add(
        &mut self,
        name: &str,
        scopes: Vec<Scope>,
        logs: Vec<String>,
        created: String,
    ) -> Result<(String, KeyEntry), KeyError> {
        if scopes.is_empty() {
            return Err(KeyError::NoScope);
        }
        let (key, entry) = new_key(name, scopes, logs, created);
        self.keys.push(entry.clone());
        Ok((key, entry))
    }

    /// Marks a key revoked (kept in the file for the record).
    pub fn revoke(&mut self, id: &str, when: String) -> Result<&KeyEntry, KeyError> {
        let e = self
            .keys
            .iter_mut()
            .find(|k| k.id == id)
            .ok_or_else(|| KeyError::NoSuchKey(id.to_owned()))?;
        if e.revoked.is_none() {
            e.revoked = Some(when);
        }
        Ok(e)
    }

    pub fn active(&self) -> impl Iterator<Item = &KeyEntry> {
        self.keys.iter().filter(|k| k.revoked.is_none())
    }
}

/// A fresh random key and its entry.
pub fn new_key(
    name: &str,
    mut scopes: Vec<Scope>,
    logs: Vec<String>,
    created: String,
) -> (String, KeyEntry) {
    let id: [u8; 6] = rand::random();
    let secret: [u8; 32] = rand::random();
    let id = hex::encode(id);
    let key = format!("trail_{id}_{}", B64URL.encode(secret));
    scopes.sort();
    scopes.dedup();
    let entry = KeyEntry {
        id,
        name: name.to_owned(),
        hash: hash_key(&key),
        scopes,
        logs,
        created,
        revoked: None,
    };
    (key, entry)
}

/// Hex SHA-256 of a key's text.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The keys a running server checks against, reloaded when the file changes so `trail keys
/// revoke` takes effect without a restart.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<RwLock<Loaded>>,
    dir: Option<PathBuf>,
    /// No active key: allow every request (loopback only; decided by the caller).
    allow_open: bool,
}

struct Loaded {
    file: KeyFile,
    modified: Option<SystemTime>,
}

/// Who made a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// No keys are configured and the server allows open access.
    Open,
    Key(KeyEntry),
}

impl Principal {
    pub fn allows(&self, scope: Scope) -> bool {
        match self {
            Principal::Open => true,
            Principal::Key(k) => k.allows(scope),
        }
    }

    pub fn allows_log(&self, log: &str) -> bool {
        match self {
            Principal::Open => true,
            Principal::Key(k) => k.allows_log(log),
        }
    }

    /// The only log the key is limited to, if exactly one.
    pub fn single_log(&self) -> Option<&str> {
        match self {
            Principal::Key(k) if k.logs.len() == 1 => Some(&k.logs[0]),
            _ => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Principal::Open => "open".into(),
            Principal::Key(k) => k.id.clone(),
        }
    }
}

impl KeyRing {
    /// Keys held in memory only (tests, embedding).
    pub fn fixed(file: KeyFile, allow_open: bool) -> KeyRing {
        KeyRing {
            inner: Arc::new(RwLock::new(Loaded { file, modified: None })),
            dir: None,
            allow_open,
        }
    }

    /// Keys from `dir/api-keys.json`, reloaded by [`KeyRing::reload_if_changed`].
    pub fn from_dir(dir: &Path, allow_open: bool) -> Result<KeyRing, KeyError> {
        let file = KeyFile::load(dir)?;
        let modified = fs::metadata(dir.join(KEYS_FILE)).and_then(|m| m.modified()).ok();
        Ok(KeyRing {
            inner: Arc::new(RwLock::new(Loaded { file, modified })),
            dir: Some(dir.to_owned()),
            allow_open,
        })
    }

    /// Rereads the key file if its modification time changed. A file that fails to parse
    /// keeps the keys loaded before (and is logged), so a half-edited file locks nobody out
    /// and lets no revoked key back in.
    pub fn reload_if_changed(&self) {
        let Some(dir) = &self.dir else { return };
        let modified = fs::metadata(dir.join(KEYS_FILE)).and_then(|m| m.modified()).ok();
        let current = self.inner.read().map(|l| l.modified).unwrap_or(None);
        if modified == current {
            return;
        }
        match KeyFile::load(dir) {
            Ok(file) => {
                if let Ok(mut l) = self.inner.write() {
                    tracing::info!(keys = file.active().count(), "api keys reloaded");
                    *l = Loaded { file, modified };
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "api key file not reloaded; keeping the keys loaded before")
            }
        }
    }

    /// True when no active key exists.
    pub fn is_empty(&self) -> bool {
        self.inner.read().map(|l| l.file.active().next().is_none()).unwrap_or(false)
    }

    pub fn allow_open(&self) -> bool {
        self.allow_open
    }

    pub fn list(&self) -> Vec<KeyEntry> {
        self.inner.read().map(|l| l.file.keys.clone()).unwrap_or_default()
    }

    /// Finds who sent the request: `Authorization: Bearer <key>` or `x-api-key: <key>`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let presented = presented_key(headers)?;
        let loaded = self.inner.read().map_err(|_| ApiError::internal("key ring lock poisoned"))?;
        let file = &loaded.file;
        let no_keys = file.active().next().is_none();
        let Some(key) = presented else {
            if no_keys && self.allow_open {
                return Ok(Principal::Open);
            }
            return Err(ApiError::unauthorized(
                "missing_key",
                "this server requires an API key: send `Authorization: Bearer <key>`",
            ));
        };
        let id = key
            .strip_prefix("trail_")
            .and_then(|rest| rest.split_once('_'))
            .map(|(id, _)| id)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "invalid_key",
                    "the API key is not a trail key (trail_<id>_<secret>)",
                )
            })?;
        let hash = Sha256::digest(key.as_bytes());
        let entry = file.keys.iter().find(|k| k.id == id);
        // Compare against a dummy when the id is unknown so both paths do the same work.
        let stored = entry.and_then(|e| hex::decode(&e.hash).ok()).unwrap_or_else(|| vec![0u8; 32]);
        let equal: bool = stored.ct_eq(hash.as_slice()).into();
        match entry {
            Some(e) if equal => {
                if e.revoked.is_some() {
                    return Err(ApiError::unauthorized(
                        "key_revoked",
                        format!("API key {id} was revoked"),
                    ));
                }
                Ok(Principal::Key(e.clone()))
            }
            _ => Err(ApiError::unauthorized("invalid_key", format!("API key {id} is not valid"))),
        }
    }
}

fn presented_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().map_err(|_| {
            ApiError::unauthorized("invalid_key", "the Authorization header is not text")
        })?;
        let key =
            v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).ok_or_else(|| {
                ApiError::unauthorized(
                    "invalid_key",
                    "the Authorization header must read `Bearer <key>`",
                )
            })?;
        return Ok(Some(key.trim()));
    }
    if let Some(v) = headers.get("x-api-key") {
        let v = v.to_str().map_err(|_| {
            ApiError::unauthorized("invalid_key", "the x-api-key header is not text")
        })?;
        return Ok(Some(v.trim()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_by_id_and_checked_by_hash() {
        let mut f = KeyFile::default();
        let (key, entry) = f.add("ci", vec![Scope::Read], vec![], "t".into()).unwrap();
        assert!(key.starts_with(&format!("trail_{}_", entry.id)));
        assert_eq!(entry.hash, hash_key(&key));
        let ring = KeyRing::fixed(f, true);
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("Bearer {key}").parse().unwrap());
        assert!(matches!(ring.authenticate(&h), Ok(Principal::Key(_))));
        // The last character changed (to one it is not: a key ending in 'A' made this test
        // pass the key itself, one run in 64).
        let mut bad = key.clone();
        let last = bad.pop();
        bad.push(if last == Some('A') { 'B' } else { 'A' });
        h.insert("authorization", format!("Bearer {bad}").parse().unwrap());
        assert_eq!(ring.authenticate(&h).unwrap_err().code, "invalid_key");
        assert_eq!(ring.authenticate(&HeaderMap::new()).unwrap_err().code, "missing_key");
    }

    #[test]
    fn no_keys_means_open_only_when_allowed() {
        assert!(matches!(
            KeyRing::fixed(KeyFile::default(), true).authenticate(&HeaderMap::new()),
            Ok(Principal::Open)
        ));
        assert!(KeyRing::fixed(KeyFile::default(), false).authenticate(&HeaderMap::new()).is_err());
    }

    #[test]
    fn the_key_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = KeyFile::default();
        f.add("a", vec![Scope::Ingest], vec!["x".into()], "t".into()).unwrap();
        f.save(dir.path()).unwrap();
        assert_eq!(KeyFile::load(dir.path()).unwrap(), f);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEYS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
