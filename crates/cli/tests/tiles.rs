//! A log's tree as C2SP `tlog-tiles`, checked by an oracle trail did not write: Go's own
//! transparency-log code (`golang.org/x/mod/sumdb/tlog`, the checksum database's, from Debian's
//! golang-golang-x-mod-dev) reads the tiles `trail export --format tiles` writes and `trail serve`
//! publishes under `/tlog/`, verifies each tile against the signed tree hash, recomputes that hash
//! and proves every record's inclusion (`tests/go/tlogcheck`). `trail verify --tiles` must accept
//! the same tiles, and both must refuse tampered ones.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

#[path = "common/run.rs"]
mod run;
use run::{ok, trail};

#[path = "common/go.rs"]
mod go;

#[path = "common/nodes.rs"]
#[allow(dead_code, reason = "this test uses part of the cluster helpers")]
mod nodes;

/// Runs Go's checker on a tiles directory or URL; its output (`ok N ROOT`) or its error.
fn go_check(target: &str) -> Option<Result<String, String>> {
    let out = Command::new(go::program("tlogcheck")?).arg(target).output().unwrap();
    Some(if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

fn events(range: std::ops::Range<usize>) -> String {
    range
        .map(|i| {
            format!(
                "{{\"kind\":\"tool_call\",\"agent\":\"agent-{}\",\"session\":\"s{}\",\"status\":\"ok\",\"body\":{{\"n\":{i}}}}}\n",
                i % 3,
                i / 50
            )
        })
        .collect()
}

/// A log of `n` events under a signed checkpoint.
fn log_with(dir: &Path, n: usize) -> String {
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    ok(&trail(&["init", "--data", d, "--origin", "tiles.test/log"], ""));
    ok(&trail(&["log", "--data", d], &events(0..n)));
    ok(&trail(&["checkpoint", "--data", d], ""));
    d.to_owned()
}

fn verify_tiles(target: &str, key: &str) -> (Option<i32>, serde_json::Value) {
    let out = trail(&["verify", "--tiles", target, "--key", key, "--json"], "");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), report)
}

#[test]
fn exported_tiles_are_a_tree_gos_tlog_accepts_and_trail_verify_audits() {
    let tmp = tempfile::tempdir().unwrap();
    let d = log_with(tmp.path(), 700);
    let key = format!("{d}/log.vkey");
    let tiles = tmp.path().join("tiles");
    let t = tiles.to_str().unwrap();
    let first: serde_json::Value = serde_json::from_str(&ok(&trail(
        &["export", "--data", &d, "--format", "tiles", "--out", t, "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(first["size"], 700);
    for path in ["checkpoint", "tile/0/000", "tile/0/001", "tile/0/002.p/188", "tile/1/000.p/2"] {
        assert!(tiles.join(path).is_file(), "{path} missing");
    }
    assert_eq!(std::fs::read(tiles.join("tile/0/000")).unwrap().len(), 8192);
    let root_line = std::fs::read_to_string(tiles.join("checkpoint")).unwrap();
    let root = root_line.lines().nth(2).unwrap().to_owned();
    if let Some(go) = go_check(t) {
        assert_eq!(go, Ok(format!("ok 700 {root}")));
    }
    let (code, report) = verify_tiles(t, &key);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["report"]["records"], 700);
    assert_eq!(report["report"]["verified_size"], 700);
    assert_eq!(report["report"]["bodies_withheld"], 700, "tiles carry no bodies: {report}");

    // More events: a second export keeps the full tiles it already wrote and adds the rest.
    let before = std::fs::read(tiles.join("tile/entries/001")).unwrap();
    ok(&trail(&["log", "--data", &d], &events(700..800)));
    ok(&trail(&["checkpoint", "--data", &d], ""));
    let second: serde_json::Value = serde_json::from_str(&ok(&trail(
        &["export", "--data", &d, "--format", "tiles", "--out", t, "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(second["tiles_kept"], 4, "{second}");
    assert_eq!(std::fs::read(tiles.join("tile/entries/001")).unwrap(), before);
    assert!(tiles.join("tile/0/002").is_file() && tiles.join("tile/0/003.p/32").is_file());
    if let Some(go) = go_check(t) {
        assert!(go.as_ref().is_ok_and(|s| s.starts_with("ok 800 ")), "{go:?}");
    }
    assert_eq!(verify_tiles(t, &key).0, Some(0));
}

#[test]
fn tampered_tiles_are_refused_by_go_and_by_trail() {
    let tmp = tempfile::tempdir().unwrap();
    let d = log_with(tmp.path(), 600);
    let key = format!("{d}/log.vkey");
    let clean = tmp.path().join("clean");
    ok(&trail(
        &["export", "--data", &d, "--format", "tiles", "--out", clean.to_str().unwrap()],
        "",
    ));
    let copy = |name: &str| {
        let to = tmp.path().join(name);
        let out =
            Command::new("cp").args(["-r", clean.to_str().unwrap(), to.to_str().unwrap()]).output();
        assert!(out.unwrap().status.success());
        to
    };

    // A record rewritten inside an entry bundle (same length: agent-1 becomes agent-2).
    let edited = copy("edited");
    let bundle = edited.join("tile/entries/001");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(7).position(|w| w == b"agent-1").unwrap();
    bytes[at + 6] = b'2';
    std::fs::write(&bundle, bytes).unwrap();
    let (code, report) = verify_tiles(edited.to_str().unwrap(), &key);
    assert_eq!(code, Some(1), "{report}");
    let codes: Vec<&str> = report["report"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["code"].as_str())
        .collect();
    assert!(codes.contains(&"tile_mismatch"), "{codes:?}");
    if let Some(go) = go_check(edited.to_str().unwrap()) {
        assert!(go.is_err(), "Go's tlog accepted a rewritten record: {go:?}");
    }

    // A hash in the level-1 tile changed.
    let upper = copy("upper");
    let tile = upper.join("tile/1/000.p/2");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let (code, report) = verify_tiles(upper.to_str().unwrap(), &key);
    assert_eq!(code, Some(1), "{report}");
    let text = report.to_string();
    assert!(text.contains("tile_mismatch") && text.contains("tile_root"), "{text}");
    if let Some(go) = go_check(upper.to_str().unwrap()) {
        assert!(go.is_err(), "Go's tlog accepted a changed tile: {go:?}");
    }

    // The right tiles, checked against another log's key: not verified.
    let other = tmp.path().join("other");
    ok(&trail(&["init", "--data", other.to_str().unwrap(), "--origin", "tiles.test/log"], ""));
    let (code, report) =
        verify_tiles(clean.to_str().unwrap(), &format!("{}/log.vkey", other.display()));
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["report"]["verified_size"], 0);
}

/// A GET on loopback: status, headers and body.
fn get(url: &str) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..line]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[line + 2..line + 2 + n]);
        b = &b[line + 2 + n + 2..];
    }
}

#[test]
fn serve_publishes_the_tiles_under_tlog() {
    let tmp = tempfile::tempdir().unwrap();
    let d = log_with(tmp.path(), 520);
    let key = format!("{d}/log.vkey");
    let exported = tmp.path().join("tiles");
    ok(&trail(
        &["export", "--data", &d, "--format", "tiles", "--out", exported.to_str().unwrap()],
        "",
    ));
    let node = nodes::start(Path::new(&d), 2000);
    let prefix = format!("{}/tlog", node.url);

    let (status, head, body) = get(&format!("{prefix}/checkpoint"));
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, std::fs::read(exported.join("checkpoint")).unwrap());
    for (path, cache) in [
        ("tile/0/001", "immutable"),
        ("tile/entries/000", "immutable"),
        ("tile/0/002.p/8", "no-cache"),
        ("tile/1/000.p/2", "no-cache"),
    ] {
        let (status, head, body) = get(&format!("{prefix}/{path}"));
        assert_eq!(status, 200, "{path}: {head}");
        assert!(head.to_ascii_lowercase().contains(cache), "{path}: {head}");
        assert_eq!(body, std::fs::read(exported.join(path)).unwrap(), "{path}");
    }
    for bad in ["tile/0/1", "tile/0/003", "tile/0/002.p/9", "tile/entries/x000/002", "tile/2/000"] {
        let (status, head, body) = get(&format!("{prefix}/{bad}"));
        assert_eq!(status, 404, "{bad}: {head}");
        assert!(String::from_utf8_lossy(&body).contains("no_such_tile"), "{bad}");
    }
    if let Some(go) = go_check(&prefix) {
        assert!(go.as_ref().is_ok_and(|s| s.starts_with("ok 520 ")), "{go:?}");
    }
    let (code, report) = verify_tiles(&prefix, &key);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["report"]["records"], 520);
    // A log named with ?log=, sent with every path below the prefix.
    let (code, report) = verify_tiles(&format!("{prefix}?log=tiles.test/log"), &key);
    assert_eq!(code, Some(0), "{report}");
    let (code, _) = verify_tiles(&format!("{prefix}?log=no.such/log"), &key);
    assert_eq!(code, Some(2), "an unknown log is an error, not a verdict");
}

/// An export never mixes trees: a directory holding another log's tiles is refused; a full tile
/// torn or emptied is written again.
#[test]
fn an_export_keeps_a_directory_to_one_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let d = log_with(&tmp.path().join("a"), 300);
    let tiles = tmp.path().join("tiles");
    let t = tiles.to_str().unwrap();
    ok(&trail(&["export", "--data", &d, "--format", "tiles", "--out", t], ""));
    std::fs::write(tiles.join("tile/0/000"), b"").unwrap();
    ok(&trail(&["export", "--data", &d, "--format", "tiles", "--out", t], ""));
    assert_eq!(std::fs::read(tiles.join("tile/0/000")).unwrap().len(), 8192, "rewritten");
    assert_eq!(verify_tiles(t, &format!("{d}/log.vkey")).0, Some(0));
    let other = log_with(&tmp.path().join("b"), 10);
    let out = trail(&["export", "--data", &other, "--format", "tiles", "--out", t], "");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("different tree") || err.contains("later checkpoint"), "{err}");
}
