//! `trail serve` and `trail keys` run as a user would: keys made, used and revoked against a
//! running server; a non-loopback address without keys refused; a graceful stop that leaves a
//! verifiable log.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn trail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(args)
        .env_remove("TRAIL_DATA")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn init(dir: &Path, origin: &str) {
    let out = trail(&["init", "--data", dir.to_str().unwrap(), "--origin", origin]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Starts `trail serve`; returns the child and its base URL (read from its first line).
fn serve(data: &Path, listen: &str, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", listen])
        .args(extra)
        .env_remove("TRAIL_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split("on ").last().unwrap().trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "unexpected first line {line:?}");
    (child, url)
}

fn stop(mut child: Child) -> Output {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
    }
    child.wait_with_output().unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn status(method: &str, url: &str, key: Option<&str>, body: &str) -> (u16, String) {
    let client = trail_server::listen::client_builder().build().unwrap();
    let mut req =
        if method == "POST" { client.post(url).body(body.to_owned()) } else { client.get(url) };
    req = req.header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[test]
fn keys_are_made_used_and_revoked_against_a_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    init(&data, "trail.test/serve");
    let d = data.to_str().unwrap();
    let out =
        trail(&["keys", "add", "--data", d, "--scope", "ingest,read", "--name", "agent", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = v["key"].as_str().unwrap().to_owned();
    let id = v["id"].as_str().unwrap().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("api-keys.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let stored = std::fs::read_to_string(data.join("api-keys.json")).unwrap();
    assert!(!stored.contains(&key), "only the hash is stored");
    let bad = trail(&["keys", "add", "--data", d, "--scope", "write"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope \"write\""));
    let bad = trail(&["keys", "add", "--data", d, "--scope", "read", "--log", "nope"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("serves no such log"));

    let (child, url) = serve(&data, "127.0.0.1:0", &[]);
    rt().block_on(async {
        let (st, body) = status(
            "POST",
            &format!("{url}/v1/events?wait=checkpoint"),
            Some(&key),
            r#"{"kind":"tool_call","id":"x"}"#,
        )
        .await;
        assert_eq!(st, 200, "{body}");
        assert!(body.contains("tlog-proof"), "a receipt: {body}");
        let (st, body) = status("GET", &format!("{url}/v1/events"), None, "").await;
        assert_eq!(st, 401);
        assert!(body.contains("missing_key"));
        let (st, body) = status("GET", &format!("{url}/metrics"), Some(&key), "").await;
        assert_eq!(st, 403, "metrics needs admin: {body}");
        let out = trail(&["keys", "revoke", "--data", d, &id]);
        assert!(out.status.success());
        let mut revoked = false;
        for _ in 0..100 {
            let (st, body) = status("GET", &format!("{url}/v1/events"), Some(&key), "").await;
            if st == 401 && body.contains("key_revoked") {
                revoked = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(revoked, "a revoked key stops working without a restart");
    });
    let out = stop(child);
    assert!(out.status.success(), "graceful stop: {}", String::from_utf8_lossy(&out.stderr));
    let list = trail(&["keys", "list", "--data", d]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("revoked"));
    let verify = trail(&["verify", "--data", d]);
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[test]
fn a_public_address_without_keys_is_refused_unless_insecure() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    init(&data, "trail.test/public");
    let out = trail(&["serve", "--data", data.to_str().unwrap(), "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to serve 0.0.0.0:0 without API keys"), "{err}");
}

#[test]
fn several_logs_from_the_config_are_served_and_exporters_run() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    init(&a, "trail.test/a");
    init(&b, "trail.test/b");
    let cfg = std::fs::read_to_string(a.join("trail.toml")).unwrap();
    let extra = "\n[server]\nlogs = [\"../b\"]\n\n[[exporters]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/unreachable\"\nbackoff_max_ms = 200\n";
    std::fs::write(a.join("trail.toml"), cfg + extra).unwrap();
    let (child, url) = serve(&a, "127.0.0.1:0", &[]);
    rt().block_on(async {
        let (st, body) = status(
            "POST",
            &format!("{url}/v1/events?log=trail.test/b"),
            None,
            r#"{"kind":"in_b"}"#,
        )
        .await;
        assert_eq!(st, 200, "{body}");
        let (_, body) = status("GET", &format!("{url}/v1/events?log=trail.test/b"), None, "").await;
        assert!(body.contains("in_b"));
        let (_, body) = status("GET", &format!("{url}/v1/events"), None, "").await;
        assert!(!body.contains("in_b"), "the default log is a's");
        let (_, body) = status("GET", &format!("{url}/metrics"), None, "").await;
        assert!(
            body.contains("trail_exporter_cursor{log=\"trail.test/a\",exporter=\"hook\"}"),
            "{body}"
        );
    });
    let out = stop(child);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(a.join("exporters/hook.cursor").exists());
}
