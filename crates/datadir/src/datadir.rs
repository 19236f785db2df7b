//! The data directory: `trail.toml`, the log's keys, its store, and the writer lock.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use trail_core::{NoteSigner, NoteVerifier};
use trail_ingest::{Mode, Policy, RecorderConfig, ScanConfig, Scanner};
use trail_store::file::FileStore;
use trail_store::postgres::{PostgresStore, schema_for_origin};
use trail_store::sqlite::SqliteStore;
use trail_store::{Durability, Store};

pub const CONFIG_FILE: &str = "trail.toml";
pub const KEY_FILE: &str = "log.key";
pub const VKEY_FILE: &str = "log.vkey";
pub const SQLITE_FILE: &str = "trail.db";
pub const LOCK_FILE: &str = "writer.lock";

/// `trail.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub log: LogConfig,
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    #[serde(default)]
    pub scan: ScanSection,
    /// Harness's `[audit]` keys, honoured as Harness documents them.
    #[serde(default)]
    pub audit: AuditConfig,
    /// `trail serve` settings (see `crate::serving`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<crate::serving::ServerSection>,
    /// Exporters run by `trail serve`, each with its own cursor in `exporters/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exporters: Vec<crate::serving::ExporterConfig>,
    /// Witnesses the log submits its checkpoints to (`trail serve`; see
    /// `trail_server::witnessing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<crate::serving::WitnessTarget>,
    /// How the log uses its witnesses (`[witness] quorum`, intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<crate::serving::WitnessSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub origin: String,
    /// `sqlite` (default), `files` or `postgres`.
    #[serde(default = "default_store")]
    pub store: String,
    /// The PostgreSQL server, for `store = "postgres"`: `postgres://USER@HOST:PORT/DATABASE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The PostgreSQL schema holding the log (default: named after the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// When an append reaches the disk: `commit` (default: synced before it is acknowledged)
    /// or `checkpoint` (synced with the next signed checkpoint, at most `[checkpoint]
    /// interval_ms` later; a power failure can lose the events since the last checkpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability: Option<String>,
}

fn default_store() -> String {
    "sqlite".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Sign a checkpoint every this many events.
    pub every: u64,
    /// And at least this often while events arrive, in milliseconds.
    pub interval_ms: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig { every: 1000, interval_ms: 1000 }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanSection {
    /// Mode for PII types: off, detect (default), redact, block.
    pub pii: Option<String>,
    /// Mode for secret types: off, detect, redact (default), block.
    pub secrets: Option<String>,
    /// Per-type overrides, e.g. `EMAIL = "redact"`.
    pub types: std::collections::BTreeMap<String, String>,
    /// Types never reported.
    pub disabled: Vec<String>,
    /// Hex key for correlation tags in redactions (`[REDACTED:email:<tag>]`).
    pub tag_key: Option<String>,
    /// Extra patterns: `[[scan.custom_rules]] name, pattern, kind, secret`.
    pub custom_rules: Vec<toml::Value>,
}

/// The `[audit]` table. It takes Harness's keys (`enabled`, `scan_pii`, `retention_days`,
/// `retention_max_size_mb`, `log_tool_args`) and denkeeper's (`enabled`, `retention_days`,
/// `buffer_size`, `cleanup_interval`) with their meanings, so their config files can be reused;
/// any other key is ignored, and `DataDir::open` says which.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditConfig {
    /// When false, recording is off: `trail log`, `trail import` and ingest refuse events
    /// (loudly: nothing is dropped silently).
    pub enabled: bool,
    /// Harness's switch: true means PII is detected (listed in findings), false turns PII
    /// scanning off (secrets are still redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_pii: Option<bool>,
    /// Prune records older than this many days (0: keep forever).
    pub retention_days: u64,
    /// Prune the oldest records while the log is larger than this (0: no limit).
    pub retention_max_size_mb: u64,
    /// When false, the `args` of tool calls are left out of stored bodies, as in Harness.
    pub log_tool_args: bool,
    /// denkeeper's event buffer: here, how many events may wait for the sequencer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_size: Option<usize>,
    /// denkeeper's retention period (e.g. "1h", "30m"): `trail serve` applies retention this often.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup_interval: Option<String>,
    /// Keys trail does not use, kept to be reported.
    #[serde(flatten, skip_serializing)]
    pub ignored: std::collections::BTreeMap<String, toml::Value>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            scan_pii: None,
            retention_days: 0,
            retention_max_size_mb: 0,
            log_tool_args: true,
            buffer_size: None,
            cleanup_interval: None,
            ignored: std::collections::BTreeMap::new(),
        }
    }
}

impl AuditConfig {
    /// The `[audit]` table of another tool's config file (Harness's `.harness/config.toml`,
    /// denkeeper's TOML), with the keys trail does not use named in a warning.
    pub fn from_file(path: &Path) -> Result<AuditConfig> {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        let audit = table
            .get("audit")
            .ok_or_else(|| anyhow!("{} has no [audit] table", path.display()))?
            .clone();
        let config: AuditConfig = audit
            .try_into()
            .with_context(|| format!("the [audit] table of {} is not valid", path.display()))?;
        config.cleanup_every()?;
        config.warn_unused(path, "not taking [audit]");
        Ok(AuditConfig { ignored: std::collections::BTreeMap::new(), ..config })
    }

    /// Names, on stderr, the keys of the table trail does not use: `{path}: {what} key(s) ...`.
    fn warn_unused(&self, path: &Path, what: &str) {
        if self.ignored.is_empty() {
            return;
        }
        let keys: Vec<&str> = self.ignored.keys().map(String::as_str).collect();
        eprintln!(
            "trail: {}: {what} key{} {} (not used by trail)",
            path.display(),
            if keys.len() == 1 { "" } else { "s" },
            keys.join(", ")
        );
    }

    /// How often retention runs in `trail serve`, from `cleanup_interval` ("90s", "30m", "1h",
    /// "1d"; default one hour).
    pub fn cleanup_every(&self) -> Result<std::time::Duration> {
        let Some(text) = self.cleanup_interval.as_deref() else {
            return Ok(std::time::Duration::from_secs(3600));
        };
        let (num, unit) = text
            .trim()
            .split_at(text.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(text.trim().len()));
        let n: u64 = num.parse().map_err(|_| {
            anyhow!("[audit] cleanup_interval {text:?} is not a duration such as \"1h\" or \"30m\"")
        })?;
        let secs = match unit {
            "s" => n,
            "m" => n * 60,
            "h" | "" => n * 3600,
            "d" => n * 86_400,
            _ => bail!("[audit] cleanup_interval {text:?}: use s, m, h or d"),
        };
        if secs == 0 {
            bail!("[audit] cleanup_interval must be positive");
        }
        Ok(std::time::Duration::from_secs(secs))
    }
}

/// An opened data directory.
/// The data directories whose writer lock this process holds: the lock is per open file, so a
/// second taker in the same process would wait for the first for ever.
static HELD_LOCKS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A held writer lock, released (and forgotten by this process) when dropped.
pub struct WriterLock {
    _file: File,
    key: PathBuf,
}

impl WriterLock {
    fn held(file: File, key: PathBuf) -> WriterLock {
        HELD_LOCKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(key.clone());
        WriterLock { _file: file, key }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        HELD_LOCKS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|k| *k != self.key);
    }
}

pub struct DataDir {
    pub path: PathBuf,
    pub config: Config,
}

impl DataDir {
    /// Creates a new data directory with keys, config and an empty store.
    pub fn init(
        path: &Path,
        origin: &str,
        store: &str,
        audit: AuditConfig,
        durability: &str,
    ) -> Result<(DataDir, NoteSigner)> {
        durability.parse::<Durability>().map_err(|e| anyhow!("--durability: {e}"))?;
        let (store, url) = match store {
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                ("postgres", Some(url.to_owned()))
            }
            "sqlite" | "files" => (store, None),
            "postgres" => {
                bail!("--store postgres needs the server's URL: --store postgres://USER@HOST/DB")
            }
            other => bail!("unknown store {other:?}: use sqlite, files or a postgres:// URL"),
        };
        if path.join(CONFIG_FILE).exists() {
            bail!(
                "{} already holds a trail log (found {CONFIG_FILE}); refusing to overwrite it",
                path.display()
            );
        }
        // The log's schema first: if it cannot be created, no half-made data directory is left.
        if let Some(url) = &url {
            drop(PostgresStore::create(url, origin)?);
        }
        fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
        let seed: [u8; 32] = rand::random();
        let signer = NoteSigner::from_seed(origin, seed)
            .map_err(|e| anyhow!("origin {origin:?} cannot name a key: {e}"))?;
        write_private(&path.join(KEY_FILE), &(signer.to_private_key_string() + "\n"))?;
        fs::write(path.join(VKEY_FILE), signer.verifier().to_string() + "\n")
            .with_context(|| format!("cannot write {}", path.join(VKEY_FILE).display()))?;
        let config = Config {
            log: LogConfig {
                origin: origin.to_owned(),
                store: store.to_owned(),
                url,
                schema: None,
                durability: Some(durability.to_owned()),
            },
            checkpoint: CheckpointConfig::default(),
            scan: ScanSection::default(),
            audit,
            server: None,
            exporters: Vec::new(),
            witnesses: Vec::new(),
            witness: None,
        };
        let text = format!(
            "# trail log configuration. See `trail --help` and the README.\n{}",
            toml::to_string_pretty(&config).context("cannot write config")?
        );
        fs::write(path.join(CONFIG_FILE), text)
            .with_context(|| format!("cannot write {}", path.join(CONFIG_FILE).display()))?;
        let dir = DataDir { path: path.to_owned(), config };
        match store {
            "sqlite" => drop(SqliteStore::create(&dir.path.join(SQLITE_FILE), origin)?),
            "files" => drop(FileStore::create(&dir.path, origin)?),
            _ => {}
        }
        keep_private(&dir.path)?;
        Ok((dir, signer))
    }

    /// Opens the recorder on this log's store (the caller holds it as a
    /// [`crate::writer::Writer`]); refused when `[audit] enabled = false`.
    pub fn open_recorder(&self, store: Arc<dyn Store>) -> Result<trail_ingest::Recorder> {
        if !self.config.audit.enabled {
            bail!(
                "recording is disabled in {}/trail.toml ([audit] enabled = false); no event was stored",
                self.path.display()
            );
        }
        let signer = self.signer()?;
        let (scanner, config) = self.recorder_config()?;
        trail_ingest::Recorder::open(store, signer, scanner, config).map_err(|e| anyhow!("{e}"))
    }

    /// Opens an existing data directory.
    pub fn open(path: &Path) -> Result<DataDir> {
        let cfg_path = path.join(CONFIG_FILE);
        let text = fs::read_to_string(&cfg_path).map_err(|e| {
            anyhow!(
                "no trail log at {} ({}: {e}); create one with `trail init --data {} --origin NAME`",
                path.display(),
                cfg_path.display(),
                path.display()
            )
        })?;
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("{} is not valid", cfg_path.display()))?;
        config.audit.warn_unused(&cfg_path, "ignoring [audit]");
        config.audit.cleanup_every()?;
        Ok(DataDir { path: path.to_owned(), config })
    }

    pub fn origin(&self) -> &str {
        &self.config.log.origin
    }

    /// Opens the store.
    pub fn store(&self) -> Result<Arc<dyn Store>> {
        if let Some(pg) = self.postgres_store()? {
            return Ok(pg);
        }
        let durability = self.durability()?;
        let store: Arc<dyn Store> = match self.config.log.store.as_str() {
            "files" => Arc::new(FileStore::open(&self.path)?),
            "sqlite" => Arc::new(SqliteStore::open(&self.path.join(SQLITE_FILE))?),
            other => {
                bail!("unknown store {other:?} in {CONFIG_FILE}: use sqlite, files or postgres")
            }
        };
        store.set_durability(durability)?;
        Ok(store)
    }

    /// `[log] durability`, checked.
    pub fn durability(&self) -> Result<Durability> {
        match &self.config.log.durability {
            None => Ok(Durability::Commit),
            Some(d) => d.parse().map_err(|e| anyhow!("{CONFIG_FILE}: [log] {e}")),
        }
    }

    /// The store, when it is PostgreSQL (whose lease lets several nodes share the log).
    pub fn postgres_store(&self) -> Result<Option<Arc<PostgresStore>>> {
        let log = &self.config.log;
        if log.store != "postgres" {
            return Ok(None);
        }
        let Some(url) = &log.url else {
            bail!("{CONFIG_FILE}: store = \"postgres\" needs url = \"postgres://USER@HOST/DB\"");
        };
        let schema = log.schema.clone().unwrap_or_else(|| schema_for_origin(&log.origin));
        let durability = self.durability()?;
        let store = PostgresStore::open_in(url, &schema)?;
        store.set_durability(durability)?;
        Ok(Some(Arc::new(store)))
    }

    /// The log's signing key.
    pub fn signer(&self) -> Result<NoteSigner> {
        let p = self.path.join(KEY_FILE);
        check_private_mode(&p)?;
        let text =
            fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        text.parse().map_err(|e| anyhow!("{}: {e}", p.display()))
    }

    /// The log's verifier key, as stored in the data directory.
    pub fn verifier(&self) -> Result<NoteVerifier> {
        let p = self.path.join(VKEY_FILE);
        let text =
            fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        text.parse().map_err(|e| anyhow!("{}: {e}", p.display()))
    }

    /// Takes the writer lock: one writer per log, others wait for it (saying who holds it).
    pub fn lock_writer(&self) -> Result<WriterLock> {
        self.lock_writer_as(&format!("a trail command (pid {})", std::process::id()))
    }

    /// [`DataDir::lock_writer`], leaving `holder` in the lock file for others to name: a
    /// `trail serve` node leaves its URL there, so a writer that finds it can send it events.
    pub fn lock_writer_as(&self, holder: &str) -> Result<WriterLock> {
        match self.try_lock_writer_as(holder)? {
            Ok(f) => Ok(f),
            Err(current) => {
                let key = self.not_held_here()?;
                eprintln!(
                    "trail: {} is writing to this log; waiting for it to finish",
                    describe_holder(&current)
                );
                let f = self.open_lock()?;
                f.lock().with_context(|| {
                    format!("cannot lock {}", self.path.join(LOCK_FILE).display())
                })?;
                write_holder(&f, holder);
                Ok(WriterLock::held(f, key))
            }
        }
    }

    /// The writer lock if it is free; otherwise who holds it (as the holder wrote it). A lock
    /// this process holds already is an error, not a wait: it would wait for itself for ever.
    pub fn try_lock_writer_as(
        &self,
        holder: &str,
    ) -> Result<std::result::Result<WriterLock, String>> {
        let key = self.not_held_here()?;
        let f = self.open_lock()?;
        if f.try_lock().is_err() {
            let current = fs::read_to_string(self.path.join(LOCK_FILE)).unwrap_or_default();
            return Ok(Err(current.trim().to_owned()));
        }
        write_holder(&f, holder);
        Ok(Ok(WriterLock::held(f, key)))
    }

    /// This data directory's key among the locks this process holds, if it holds none of it.
    fn not_held_here(&self) -> Result<PathBuf> {
        let key = self.path.canonicalize().unwrap_or_else(|_| self.path.clone());
        if HELD_LOCKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&key) {
            bail!(
                "this process has the log in {} open already: share the writer it has (it is safe \
                 across threads) or close it first",
                self.path.display()
            );
        }
        Ok(key)
    }

    fn open_lock(&self) -> Result<File> {
        let p = self.path.join(LOCK_FILE);
        let mut opts = OpenOptions::new();
        opts.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(&p).with_context(|| format!("cannot open {}", p.display()))
    }

    /// The scanner and recorder settings from `trail.toml`.
    pub fn recorder_config(&self) -> Result<(Arc<Scanner>, RecorderConfig)> {
        let s = &self.config.scan;
        let mut policy = Policy::default();
        if self.config.audit.scan_pii == Some(false) {
            policy.default_pii = Mode::Off;
        }
        if let Some(m) = &s.pii {
            policy.default_pii = mode(m, "scan.pii")?;
        }
        if let Some(m) = &s.secrets {
            policy.default_secret = mode(m, "scan.secrets")?;
        }
        for (k, v) in &s.types {
            policy.per_type.insert(k.to_ascii_uppercase(), mode(v, &format!("scan.types.{k}"))?);
        }
        let rules: Vec<trail_scan::CustomRule> = s
            .custom_rules
            .iter()
            .map(|v| v.clone().try_into())
            .collect::<Result<_, _>>()
            .context("scan.custom_rules")?;
        let scan_config = ScanConfig {
            disabled: s.disabled.clone(),
            custom_rules: rules,
            ..ScanConfig::default()
        };
        let scanner = Scanner::new(&scan_config).context("scan configuration")?;
        let tag_key = match &s.tag_key {
            Some(h) => Some(hex::decode(h).context("scan.tag_key must be hex")?),
            None => None,
        };
        let config = RecorderConfig {
            checkpoint_every: self.config.checkpoint.every.max(1),
            checkpoint_interval: std::time::Duration::from_millis(
                self.config.checkpoint.interval_ms.max(1),
            ),
            policy,
            redaction_tag_key: tag_key,
            drop_tool_args: !self.config.audit.log_tool_args,
            queue_capacity: self
                .config
                .audit
                .buffer_size
                .filter(|n| *n > 0)
                .unwrap_or(RecorderConfig::default().queue_capacity),
            ..RecorderConfig::default()
        };
        Ok((Arc::new(scanner), config))
    }
}

fn mode(s: &str, key: &str) -> Result<Mode> {
    Ok(match s {
        "off" => Mode::Off,
        "detect" => Mode::Detect,
        "redact" => Mode::Redact,
        "block" => Mode::Block,
        other => bail!("{key} = {other:?}: use off, detect, redact or block"),
    })
}

/// Writes a secret file readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all().with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}

/// Refuses a private key that others can read.
fn check_private_mode(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} has permissions {mode:o}: a signing key must be readable by its owner only (chmod 600 {})",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// Leaves the holder's name in the lock file it holds (best effort: the lock is what counts).
fn write_holder(f: &File, holder: &str) {
    let mut f = f;
    let _ = f.set_len(0).and_then(|()| f.write_all(holder.as_bytes()));
}

/// How a writer names the holder of a lock: a serving node by its URL.
pub fn describe_holder(holder: &str) -> String {
    if holder.starts_with("http://") || holder.starts_with("https://") {
        format!("the trail serve node at {holder}")
    } else if holder.is_empty() {
        "another process".to_owned()
    } else {
        holder.to_owned()
    }
}

/// A new data directory is its owner's alone: the directory 0700, and every file in it 0600 but
/// the verifier key, which is public. SQLite creates its `-wal` and `-shm` files with the
/// database's mode, so they follow.
fn keep_private(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let set = |p: &Path, mode: u32| {
            fs::set_permissions(p, fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot restrict {}", p.display()))
        };
        set(dir, 0o700)?;
        for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_file() && entry.file_name() != VKEY_FILE {
                set(&entry.path(), 0o600)?;
            }
        }
    }
    Ok(())
}
