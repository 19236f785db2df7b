//! Several `trail serve` processes on one PostgreSQL log, for the cluster test and benchmark
//! (included by both with `#[path]`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A node: its process and base URL.
pub struct Node {
    pub child: Child,
    pub url: String,
}

/// A node still running when its test ends (a failed assertion unwinding, perhaps while the
/// node is paused) is killed, so it never outlives the test or holds the log's locks.
impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `trail serve` on a free loopback port with a lease of `lease_ttl_ms`.
pub fn start(data: &Path, lease_ttl_ms: u64) -> Node {
    start_with(data, lease_ttl_ms, &[], &[])
}

/// [`start`] with more arguments and environment variables.
pub fn start_with(data: &Path, lease_ttl_ms: u64, extra: &[&str], env: &[(&str, &Path)]) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(["--lease-ttl-ms", &lease_ttl_ms.to_string()])
        .args(extra)
        .env_remove("TRAIL_DATA")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split(" on ").last().unwrap().trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
        "unexpected first line {line:?}"
    );
    Node { child, url }
}

/// `trail init --store URL` in `root/node0`, then copies of its config and keys in
/// `root/node1...`: one data directory per node.
pub fn data_dirs(root: &Path, origin: &str, url: &str, nodes: usize) -> Vec<PathBuf> {
    let first = root.join("node0");
    let out = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["init", "--data", first.to_str().unwrap(), "--origin", origin, "--store", url])
        .env_remove("TRAIL_DATA")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut dirs = vec![first.clone()];
    for i in 1..nodes {
        let d = root.join(format!("node{i}"));
        std::fs::create_dir(&d).unwrap();
        for f in ["trail.toml", "log.key", "log.vkey"] {
            std::fs::copy(first.join(f), d.join(f)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("log.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        dirs.push(d);
    }
    dirs
}

/// Which node says it sequences the log (its `/metrics`).
pub async fn leader(client: &reqwest::Client, nodes: &[Option<Node>]) -> Option<usize> {
    for (i, n) in nodes.iter().enumerate() {
        let Some(n) = n else { continue };
        // A paused node accepts the connection but never answers.
        let asked = client.get(format!("{}/metrics", n.url)).timeout(Duration::from_millis(500));
        let Ok(r) = asked.send().await else { continue };
        let text = r.text().await.unwrap_or_default();
        if text.lines().any(|l| l.starts_with("trail_log_leader{") && l.ends_with(" 1")) {
            return Some(i);
        }
    }
    None
}

/// Waits (up to 10 s) for a node to say it sequences the log, and returns it.
pub async fn wait_for_leader(client: &reqwest::Client, nodes: &[Option<Node>]) -> usize {
    let mut waited = 0;
    loop {
        if let Some(i) = leader(client, nodes).await {
            return i;
        }
        waited += 1;
        assert!(waited < 100, "no node became the leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
