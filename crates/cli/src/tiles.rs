//! Tiles on the command line. `trail export --format tiles --out DIR` writes a log's tree as
//! C2SP `tlog-tiles` static files, for any web server or object store: incrementally, since a
//! full tile never changes (one already in DIR is kept, never reread from the log), with the
//! checkpoint written last so a reader never finds a checkpoint whose tiles are missing. A
//! [`TileSource`] reads tiles from such a directory or from a URL prefix (`trail serve`'s
//! `/tlog`), and [`audit`] checks a tiled log from its tiles alone, for `trail verify --tiles`
//! and `trail report --tiles`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use trail_core::SignedCheckpoint;
use trail_core::verify::{BodyInput, Location, Report, Verifier, VerifyOptions};
use trail_merkle::leaf_hash;
use trail_merkle::tiles::{
    Tile, TileNodes, bundle_entries, entry_bundles, hash_tiles, tile_hashes,
};

use crate::datadir::DataDir;
use crate::output;

/// The largest tile response read from a URL: an entry bundle of 256 entries of at most 64 KiB.
const MAX_TILE_BYTES: u64 = 256 * 65_538 + 4096;

/// `trail export --format tiles --out DIR`.
pub fn export(data: &Path, out: &Path, json_out: bool) -> Result<ExitCode> {
    let dir = DataDir::open(data)?;
    let store = dir.store()?;
    let cp = store.latest_checkpoint()?.ok_or_else(|| {
        anyhow!(
            "the log has no signed checkpoint yet, and tiles are cut at one: run `trail checkpoint --data {}`",
            dir.path.display()
        )
    })?;
    let size = cp.checkpoint.size;
    // What DIR already holds must be this log's tree, at this size or before it.
    if let Ok(text) = fs::read_to_string(out.join("checkpoint")) {
        let old = SignedCheckpoint::parse(&text).map_err(|e| {
            anyhow!(
                "{}/checkpoint is not a checkpoint ({e}): refusing to write tiles beside it",
                out.display()
            )
        })?;
        if old.checkpoint.origin != cp.checkpoint.origin {
            bail!(
                "{} holds the tiles of another log ({}); give an empty directory or this log's",
                out.display(),
                old.checkpoint.origin
            );
        }
        if old.checkpoint.size > size {
            bail!(
                "{} holds a later checkpoint (size {}) than the log's latest ({size}): refusing to roll it back",
                out.display(),
                old.checkpoint.size
            );
        }
        if store.root_at(old.checkpoint.size)? != old.checkpoint.root {
            bail!(
                "{} holds a different tree at size {} than this log: its tiles are not this log's",
                out.display(),
                old.checkpoint.size
            );
        }
    }
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let (mut written, mut kept) = (0u64, 0u64);
    let bar = output::progress(Some(size), "tiles", json_out);
    for tile in hash_tiles(size).chain(entry_bundles(size)) {
        let path = out.join(tile.path());
        if tile.is_full() && whole(&path, &tile) {
            kept += 1;
            continue;
        }
        let bytes = trail_store::tiles::tile_bytes(&*store, size, &tile)
            .with_context(|| format!("cannot build {}", tile.path()))?;
        write_atomically(&path, &bytes)?;
        written += 1;
        if tile.level.is_none() {
            bar.inc(tile.width);
        }
    }
    bar.finish();
    write_atomically(&out.join("checkpoint"), cp.to_string().as_bytes())?;
    if json_out {
        println!(
            "{}",
            json!({"out": out.display().to_string(), "size": size, "tiles_written": written, "tiles_kept": kept})
        );
    } else {
        println!(
            "wrote the tiles of {} at checkpoint size {size} to {} ({written} written, {kept} full tiles already there)",
            dir.origin(),
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// True when `path` holds a whole full tile: 8192 bytes of hashes, or a bundle of 256 entries.
/// (Whether they are the right ones is `trail verify --tiles`'s to say; a torn or empty file is
/// written again.)
fn whole(path: &Path, tile: &Tile) -> bool {
    match tile.level {
        Some(_) => fs::metadata(path).is_ok_and(|m| m.len() == 32 * tile.width),
        None => fs::read(path).is_ok_and(|b| bundle_entries(&b, tile.width).is_ok()),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader sees the whole
/// file or the earlier one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Where a tiled log is read from.
pub enum TileSource {
    /// A directory `trail export --format tiles` wrote.
    Dir(PathBuf),
    /// A URL prefix (`http://HOST:PORT/tlog` for `trail serve`), read with `TRAIL_API_KEY` as the
    /// bearer key when set; a query (`?log=NAME`) is sent with every path below the prefix.
    Url { prefix: String, query: String, client: reqwest::Client, key: Option<String> },
}

impl TileSource {
    /// A source from `--tiles URL|DIR`.
    pub fn new(arg: &str) -> Result<TileSource> {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            let client = trail_server::listen::client_builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .context("cannot build the HTTP client")?;
            let key = std::env::var("TRAIL_API_KEY").ok().filter(|k| !k.is_empty());
            let (prefix, query) = match arg.split_once('?') {
                Some((p, q)) => (p, format!("?{q}")),
                None => (arg, String::new()),
            };
            return Ok(TileSource::Url {
                prefix: prefix.trim_end_matches('/').to_owned(),
                query,
                client,
                key,
            });
        }
        let dir = PathBuf::from(arg);
        if !dir.join("checkpoint").is_file() {
            bail!(
                "{arg} is not a tiles directory (no checkpoint file in it) nor an http(s):// URL"
            );
        }
        Ok(TileSource::Dir(dir))
    }

    /// The file at `path` below the source (`checkpoint`, `tile/...`).
    pub fn fetch(&self, path: &str) -> Result<Vec<u8>> {
        match self {
            TileSource::Dir(dir) => {
                let p = dir.join(path);
                fs::read(&p).with_context(|| format!("cannot read {}", p.display()))
            }
            TileSource::Url { prefix, query, client, key } => {
                let url = format!("{prefix}/{path}{query}");
                let mut req = client.get(&url);
                if let Some(k) = key {
                    req = req.bearer_auth(k);
                }
                let fetch = async move {
                    let resp = req.send().await.with_context(|| format!("cannot fetch {url}"))?;
                    let status = resp.status();
                    if resp.content_length().is_some_and(|n| n > MAX_TILE_BYTES) {
                        bail!("{url}: the response is larger than any tile");
                    }
                    let bytes = resp.bytes().await.with_context(|| format!("cannot read {url}"))?;
                    if !status.is_success() {
                        let hint = if status.as_u16() == 401 || status.as_u16() == 403 {
                            " (set TRAIL_API_KEY to a key with the read scope)"
                        } else {
                            ""
                        };
                        let text =
                            String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
                        bail!("{url}: {status}{hint}: {text}");
                    }
                    Ok(bytes.to_vec())
                };
                tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(fetch))
            }
        }
    }

    /// What the source is, for messages.
    pub fn describe(&self) -> String {
        match self {
            TileSource::Dir(dir) => format!("tiles in {}", dir.display()),
            TileSource::Url { prefix, query, .. } => {
                format!("tiles at {}{query}", without_userinfo(prefix))
            }
        }
    }
}

/// `url` without a `user:password@` part, for what is printed or written.
pub fn without_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
            if path.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_owned(),
    }
}

/// Audits a tiled log from its tiles alone: the checkpoint's signature, every record in the entry
/// bundles (chain, order, canonical bytes, against the signed root, as an export is verified;
/// bodies never go into tiles, so none are expected), every level-0 tile against the entries'
/// hashes, every higher tile against the tiles below it, and the signed root against the tree
/// the tiles make. `visit` sees each record's canonical bytes in log order.
pub fn audit(
    source: &TileSource,
    opts: VerifyOptions,
    json_out: bool,
    visit: &mut dyn FnMut(&[u8]),
) -> Result<(SignedCheckpoint, Report)> {
    let text = String::from_utf8(source.fetch("checkpoint")?)
        .map_err(|_| anyhow!("{}: the checkpoint is not UTF-8", source.describe()))?;
    let cp = SignedCheckpoint::parse(&text)
        .map_err(|e| anyhow!("{}: the checkpoint: {e}", source.describe()))?;
    let size = cp.checkpoint.size;
    let mut v = Verifier::new(VerifyOptions { bodies_withheld: true, ..opts });
    let bar = output::progress(Some(size), "verify", json_out);
    for bundle in entry_bundles(size) {
        let bytes = source.fetch(&bundle.path())?;
        let entries = match bundle_entries(&bytes, bundle.width) {
            Ok(e) => e,
            Err(why) => {
                let at = Location::seq(bundle.index * 256);
                v.problem(at, "bad_bundle", format!("{}: {why}", bundle.path()));
                return Ok((cp, v.finish()));
            }
        };
        let tile = Tile { level: Some(0), ..bundle };
        let hashes = source.fetch(&tile.path())?;
        for (i, entry) in entries.iter().enumerate() {
            let seq = bundle.index * 256 + i as u64;
            let stored = hashes.get(i * 32..i * 32 + 32);
            if stored != Some(leaf_hash(entry).as_bytes().as_slice()) {
                v.problem(
                    Location::seq(seq),
                    "tile_mismatch",
                    format!("{} does not hold the hash of entry {seq}", tile.path()),
                );
            }
            v.record(Location::seq(seq), entry, None, BodyInput::Absent);
            visit(entry);
        }
        if hashes.len() != 32 * entries.len() {
            v.problem(
                Location::seq(bundle.index * 256),
                "tile_mismatch",
                format!("{} holds {} bytes, not {}", tile.path(), hashes.len(), 32 * entries.len()),
            );
        }
        bar.inc(bundle.width);
    }
    bar.finish();
    check_upper_tiles(source, size, &mut v)?;
    let nodes = TileNodes { size, read: |t: &Tile| source.fetch(&t.path()) };
    match trail_merkle::root(&nodes, size) {
        Ok(root) if root == cp.checkpoint.root => {}
        Ok(root) => v.problem(
            Location::default(),
            "tile_root",
            format!("the tiles make root {root}, the checkpoint signs {}", cp.checkpoint.root),
        ),
        Err(e) => v.problem(Location::default(), "tile_root", format!("cannot read the tree: {e}")),
    }
    v.checkpoint(Location::default(), &text);
    Ok((cp, v.finish()))
}

/// Every hash of every tile above level 0 against the root of the full tile below it.
fn check_upper_tiles(source: &TileSource, size: u64, v: &mut Verifier) -> Result<()> {
    for tile in hash_tiles(size).filter(|t| t.level.unwrap_or(0) > 0) {
        let level = tile.level.unwrap_or(0);
        let bytes = source.fetch(&tile.path())?;
        for (i, (_, index)) in tile.nodes().enumerate() {
            let below = Tile { level: Some(level - 1), index, width: 256 };
            let lower = source.fetch(&below.path())?;
            if lower.len() != 8192 {
                v.problem(
                    Location::default(),
                    "tile_mismatch",
                    format!("{} holds {} bytes, not 8192", below.path(), lower.len()),
                );
                continue;
            }
            let root = trail_merkle::root_of_leaves(&tile_hashes(&lower));
            if bytes.get(i * 32..i * 32 + 32) != Some(root.as_bytes().as_slice()) {
                v.problem(
                    Location::default(),
                    "tile_mismatch",
                    format!("hash {i} of {} is not the root of {}", tile.path(), below.path()),
                );
            }
        }
    }
    Ok(())
}
