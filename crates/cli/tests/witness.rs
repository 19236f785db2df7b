//! Witnesses, checked against oracles trail did not write: a witness and a log client written in
//! Go from the C2SP texts alone (`tests/go/specwitness`, `tests/go/speclog`, with Go's own
//! `sumdb/tlog` for the proofs). trail's log is cosigned by two `trail witness` processes and the
//! spec witness; the spec log client gets the spec's answers from `trail witness`; a forked log
//! is refused by the witness and caught by the monitor; a witness killed at any step of saving a
//! checkpoint keeps what it acknowledged.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use trail_core::{NoteVerifier, SignedCheckpoint};

#[path = "common/run.rs"]
mod run;
use run::{ok, trail};

#[path = "common/go.rs"]
mod go;

#[path = "common/nodes.rs"]
#[allow(dead_code, reason = "this test uses part of the cluster helpers")]
mod nodes;

#[path = "common/pg.rs"]
mod pg;

/// A process killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// SIGTERM, then wait (a graceful stop: `trail serve` signs its final checkpoint).
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// Starts `cmd`; returns it with the URL its first stdout line names (`... http://ADDR`).
fn start(mut cmd: Command) -> (Proc, String) {
    let mut child = cmd
        .env_remove("TRAIL_DATA")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split_whitespace().last().unwrap_or_default().to_owned();
    let url = if addr.starts_with("http") { addr } else { format!("http://{addr}") };
    assert!(url.starts_with("http://127.0.0.1:"), "unexpected first line {line:?}");
    (Proc(child), url)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `trail witness init` + `add` for each log key; the witness's directory and vkey.
fn trail_witness(root: &Path, name: &str, log_vkeys: &[&Path]) -> (PathBuf, String) {
    let dir = root.join(name.replace('/', "_"));
    let vkey =
        ok(&trail(&["witness", "init", "--data", s(&dir), "--name", name], "")).trim().to_owned();
    for v in log_vkeys {
        ok(&trail(&["witness", "add", "--data", s(&dir), "--vkey", s(v)], ""));
    }
    (dir, vkey)
}

fn serve_witness(dir: &Path, env: &[(&str, &str)]) -> (Proc, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trail"));
    cmd.args(["witness", "serve", "--data", s(dir), "--listen", "127.0.0.1:0"]);
    cmd.envs(env.iter().copied());
    start(cmd)
}

/// The Go spec witness for these log keys; its process, URL and vkey.
fn spec_witness(state: &Path, name: &str, log_vkeys: &[String]) -> Option<(Proc, String, String)> {
    let bin = go::program("specwitness")?;
    let mut cmd = Command::new(bin);
    cmd.args(["--listen", "127.0.0.1:0", "--name", name, "--state", s(state)]);
    for v in log_vkeys {
        cmd.args(["--log", v]);
    }
    let (p, url) = start(cmd);
    let vkey = std::fs::read_to_string(state.join("witness.vkey")).unwrap().trim().to_owned();
    Some((p, url, vkey))
}

fn serve_log(data: &Path) -> (Proc, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trail"));
    cmd.args(["serve", "--data", s(data), "--listen", "127.0.0.1:0"]);
    start(cmd)
}

fn add_witnesses(data: &Path, witnesses: &[(&str, &str, &str)], quorum: usize) {
    let mut toml = std::fs::read_to_string(data.join("trail.toml")).unwrap();
    for (name, url, vkey) in witnesses {
        toml.push_str(&format!(
            "\n[[witnesses]]\nname = {name:?}\nurl = {url:?}\nvkey = {vkey:?}\n"
        ));
    }
    toml.push_str(&format!("\n[witness]\nquorum = {quorum}\ninterval_ms = 100\n"));
    std::fs::write(data.join("trail.toml"), toml).unwrap();
}

/// Blocking HTTP over the async client (these tests run no runtime of their own).
struct Http(tokio::runtime::Runtime, reqwest::Client);

fn http() -> Http {
    Http(
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
        trail_server::listen::client_builder().build().unwrap(),
    )
}

impl Http {
    fn get(&self, url: &str) -> (u16, String) {
        self.0.block_on(async {
            let r = self.1.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }

    fn post(&self, url: &str, body: &str) -> (u16, String) {
        self.0.block_on(async {
            let r = self.1.post(url).body(body.to_owned()).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }
}

fn keys(vkeys: &[&str]) -> Vec<NoteVerifier> {
    vkeys.iter().map(|v| v.parse().unwrap()).collect()
}

/// Waits until the log's checkpoint at `url` covers `size` and carries `n` of `witnesses`.
fn wait_cosigned(
    client: &Http,
    url: &str,
    size: u64,
    witnesses: &[NoteVerifier],
    n: usize,
) -> SignedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, text) = client.get(&format!("{url}/tlog/checkpoint"));
        if status == 200 {
            let cp = SignedCheckpoint::parse(&text).unwrap();
            if cp.checkpoint.size >= size && cp.note.cosigned_by(witnesses).len() >= n {
                return cp;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of size {size} with {n} cosignatures: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn event(i: usize) -> String {
    format!(
        "{{\"kind\":\"tool_call\",\"action\":\"Bash\",\"session\":\"s1\",\"body\":{{\"n\":{i}}}}}"
    )
}

/// A single SQLite node, cosigned by two `trail witness` processes and the Go spec witness;
/// `trail verify --witness ... --quorum 2` accepts its data directory, export and receipts, and
/// refuses a checkpoint with one cosignature, a forged cosignature, and a receipt short of the
/// quorum.
#[test]
fn a_sqlite_log_cosigned_by_trail_witnesses_and_a_spec_witness() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("log");
    ok(&trail(&["init", "--data", s(&data), "--origin", "trail.test/witnessed"], ""));
    let log_vkey_file = data.join("log.vkey");
    let log_vkey = std::fs::read_to_string(&log_vkey_file).unwrap().trim().to_owned();
    let (w1, v1) = trail_witness(tmp.path(), "witness.test/w1", &[&log_vkey_file]);
    let (w2, v2) = trail_witness(tmp.path(), "witness.test/w2", &[&log_vkey_file]);
    let (_p1, u1) = serve_witness(&w1, &[]);
    let (_p2, u2) = serve_witness(&w2, &[]);
    let spec =
        spec_witness(&tmp.path().join("spec"), "spec.test/w3", std::slice::from_ref(&log_vkey));
    let mut list = vec![
        ("witness.test/w1", u1.as_str(), v1.as_str()),
        ("witness.test/w2", u2.as_str(), v2.as_str()),
    ];
    if let Some((_, u3, v3)) = &spec {
        list.push(("spec.test/w3", u3.as_str(), v3.as_str()));
    }
    add_witnesses(&data, &list, list.len());
    let vkeys: Vec<&str> = list.iter().map(|(_, _, v)| *v).collect();
    let witnesses = keys(&vkeys);

    let (node, url) = serve_log(&data);
    let client = http();
    let mut receipt = String::new();
    for i in 0..6 {
        let (status, body) = client.post(&format!("{url}/v1/events?wait=checkpoint"), &event(i));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        receipt = v["events"][0]["receipt"].as_str().unwrap().to_owned();
    }
    // ?wait=checkpoint waited for the quorum: the receipt's checkpoint carries every witness.
    let cp_in_receipt = receipt.split_once("\n\n").unwrap().1;
    let note = trail_core::note::Note::parse(cp_in_receipt).unwrap();
    assert_eq!(note.cosigned_by(&witnesses).len(), witnesses.len(), "{receipt}");
    let cp = wait_cosigned(&client, &url, 6, &witnesses, witnesses.len());
    assert_eq!(cp.checkpoint.size, 6);
    let (_, metrics) = client.get(&format!("{url}/metrics"));
    for (name, _, _) in &list {
        assert!(
            metrics.contains(&format!(
                "trail_witness_lag{{log=\"trail.test/witnessed\",witness=\"{name}\"}} 0"
            )),
            "{metrics}"
        );
    }
    // The witnesses' own view: what the spec's monitoring endpoint serves.
    let hash = hex_sha256("trail.test/witnessed");
    let (status, seen) = client.get(&format!("{u1}/{hash}/checkpoint"));
    assert_eq!(status, 200);
    assert_eq!(SignedCheckpoint::parse(&seen).unwrap().checkpoint.size, 6);
    node.stop();

    let policy: Vec<String> =
        vkeys.iter().flat_map(|v| ["--witness".to_owned(), (*v).to_owned()]).collect();
    let policy: Vec<&str> = policy.iter().map(String::as_str).collect();
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&policy);
        args.extend_from_slice(&["--quorum", "2"]);
        trail(&args, "")
    };
    let out = ok(&verify(&["--data", s(&data)]));
    assert!(out.contains("log is intact"), "{out}");
    let export = tmp.path().join("export.jsonl");
    ok(&trail(&["export", "--data", s(&data), "--out", s(&export)], ""));
    let key = ["--key", s(&log_vkey_file)];
    let out = ok(&verify(&[s(&export), key[0], key[1]]));
    assert!(out.contains("witness policy: 2 of"), "{out}");
    let receipt_file = tmp.path().join("receipt.tlog-proof");
    std::fs::write(&receipt_file, &receipt).unwrap();
    let out = ok(&verify(&["--receipt", s(&receipt_file), key[0], key[1]]));
    assert!(out.contains("cosigned by"), "{out}");

    // The same export with one cosignature left on every checkpoint: not verified.
    let one = strip_cosignatures(&std::fs::read_to_string(&export).unwrap(), &vkeys[1..]);
    let one_file = tmp.path().join("one.jsonl");
    std::fs::write(&one_file, one).unwrap();
    let out = verify(&[s(&one_file), key[0], key[1]]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT VERIFIED"));
    // ...but with a quorum of one it is.
    let mut args =
        vec!["verify", s(&one_file), key[0], key[1], "--witness", vkeys[0], "--quorum", "1"];
    ok(&trail(&args, ""));
    // A forged cosignature by a named witness is a bad signature.
    let forged = forge_cosignature(&std::fs::read_to_string(&export).unwrap(), "witness.test/w1");
    let forged_file = tmp.path().join("forged.jsonl");
    std::fs::write(&forged_file, forged).unwrap();
    args[1] = s(&forged_file);
    let out = trail(&args, "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("does not verify"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A log cut back to an earlier witnessed checkpoint passes the policy alone, and is caught
    // against a witness's latest checkpoint (a URL given to --checkpoint).
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let end =
        lines.iter().position(|l| l.contains("\"checkpoint\"") && l.contains("\\n5\\n")).unwrap();
    let cut: String = lines[..=end].concat();
    let cut_file = tmp.path().join("cut.jsonl");
    std::fs::write(&cut_file, &cut).unwrap();
    let out = ok(&verify(&[s(&cut_file), key[0], key[1]]));
    assert!(out.contains("log is intact") && out.contains("--checkpoint"), "{out}");
    let latest = format!("{u1}/{hash}/checkpoint");
    let out = verify(&[s(&cut_file), key[0], key[1], "--checkpoint", &latest]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("truncated"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    ok(&verify(&[s(&export), key[0], key[1], "--checkpoint", &latest]));
    // Mistakes named: a witness key twice, a witness key as the log's key.
    let out =
        trail(&["verify", "--data", s(&data), "--witness", vkeys[0], "--witness", vkeys[0]], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("given twice"));
    let out = trail(&["verify", s(&export), "--key", vkeys[0]], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("a witness's cosigner key"));
    // A receipt whose checkpoint has one cosignature, under a quorum of 2: invalid.
    let short = receipt_with_one(&receipt, &vkeys[1..]);
    std::fs::write(&receipt_file, short).unwrap();
    let out = verify(&["--receipt", s(&receipt_file), key[0], key[1]]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("policy asks for 2"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn hex_sha256(s: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The export with the cosignature lines of `drop` removed from every checkpoint.
fn strip_cosignatures(export: &str, drop: &[&str]) -> String {
    let names: Vec<String> = drop.iter().map(|v| v.split('+').next().unwrap().to_owned()).collect();
    export
        .lines()
        .map(|line| {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(note) = v.get("checkpoint").and_then(|c| c.as_str()) {
                let kept: Vec<&str> = note
                    .split_inclusive('\n')
                    .filter(|l| !names.iter().any(|n| l.starts_with(&format!("— {n} "))))
                    .collect();
                v["checkpoint"] = serde_json::Value::String(kept.concat());
            }
            format!("{v}\n")
        })
        .collect()
}

/// The export with one byte of `name`'s cosignature changed in every checkpoint.
fn forge_cosignature(export: &str, name: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    export
        .lines()
        .map(|line| {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(note) = v.get("checkpoint").and_then(|c| c.as_str()) {
                let changed: String = note
                    .split_inclusive('\n')
                    .map(|l| match l.strip_prefix(&format!("— {name} ")) {
                        Some(sig) => {
                            let mut bytes = b64.decode(sig.trim_end()).unwrap();
                            let last = bytes.len() - 1;
                            bytes[last] ^= 1;
                            format!("— {name} {}\n", b64.encode(bytes))
                        }
                        None => l.to_owned(),
                    })
                    .collect();
                v["checkpoint"] = serde_json::Value::String(changed);
            }
            format!("{v}\n")
        })
        .collect()
}

fn receipt_with_one(receipt: &str, drop: &[&str]) -> String {
    let names: Vec<String> = drop.iter().map(|v| v.split('+').next().unwrap().to_owned()).collect();
    receipt
        .split_inclusive('\n')
        .filter(|l| !names.iter().any(|n| l.starts_with(&format!("— {n} "))))
        .collect()
}

/// The spec's log client, against `trail witness serve`: every answer the spec gives.
#[test]
fn the_spec_log_client_gets_the_specs_answers_from_trail_witness() {
    let Some(speclog) = go::program("speclog") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (w, vkey) = trail_witness(tmp.path(), "witness.test/w", &[]);
    let seed = "00".repeat(31) + "01";
    let run = |url: &str, extra: &[&str]| {
        let out = Command::new(&speclog)
            .args([
                "--origin",
                "spec.test/log",
                "--witness",
                url,
                "--witness-vkey",
                &vkey,
                "--seed",
                &seed,
            ])
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Learn the spec log's key (its first line, whatever the witness says).
    let first = run("http://127.0.0.1:9", &["--sizes", "1"]);
    let log_vkey = first.lines().next().unwrap().strip_prefix("vkey ").unwrap().to_owned();
    ok(&trail(&["witness", "add", "--data", s(&w), "--vkey", &log_vkey], ""));
    let (_wp, url) = serve_witness(&w, &[]);
    let state = tmp.path().join("believed");
    let st = s(&state);
    let out = run(&url, &["--sizes", "3,10,10,25", "--state-file", st]);
    for n in [3, 10, 25] {
        assert!(out.contains(&format!("size {n} status 200 cosigned true")), "{out}");
    }
    // A fork of the same log (same origin and key) at the cosigned size: 422, no cosignature.
    let out = run(&url, &["--sizes", "25", "--fork-at", "20", "--state-file", st]);
    assert!(out.contains("size 25 status 422 cosigned false"), "{out}");
    let out = run(&url, &["--sizes", "30", "--fork-at", "20", "--state-file", st]);
    assert!(out.contains("size 30 status 422 cosigned false"), "{out}");
    // A client that believes the witness is at 0: 409 with the size, then a good retry.
    let fresh = tmp.path().join("fresh");
    let out = run(&url, &["--sizes", "30", "--state-file", s(&fresh)]);
    assert!(out.contains("size 30 status 200 cosigned true"), "{out}");
    assert_eq!(std::fs::read_to_string(&fresh).unwrap().trim(), "30");
    // Bad proof 422, bad signature 403, old beyond the size 400.
    assert!(
        run(&url, &["--sizes", "31", "--state-file", st, "--old", "30", "--bad-proof"])
            .contains("status 422")
    );
    assert!(run(&url, &["--sizes", "31", "--old", "30", "--bad-sig"]).contains("status 403"));
    assert!(run(&url, &["--sizes", "31", "--old", "32"]).contains("status 400"));
    // Another log (another key and origin): 404.
    let other = Command::new(&speclog)
        .args([
            "--origin",
            "spec.test/other",
            "--witness",
            &url,
            "--witness-vkey",
            &vkey,
            "--sizes",
            "1",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&other.stdout).contains("size 1 status 404"));
    // A raw 409 carries the size as text/x.tlog.size (the client checked it above; check the
    // header here too) and the monitoring endpoint serves the cosigned checkpoint.
    let (status, text) = http().get(&format!("{url}/{}/checkpoint", hex_sha256("spec.test/log")));
    assert_eq!(status, 200);
    let cp = SignedCheckpoint::parse(&text).unwrap();
    assert_eq!(cp.checkpoint.size, 30);
    assert_eq!(cp.note.cosigned_by(&keys(&[&vkey])).len(), 1);
}

/// A fork (the same origin and key, another history) is refused by the witness that cosigned
/// the first history, and the monitor that followed it raises the alarm; a rollback too.
#[test]
fn a_forked_log_is_caught_by_the_witness_and_the_monitor() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    ok(&trail(&["init", "--data", s(&a), "--origin", "trail.test/fork"], ""));
    let vkey_file = a.join("log.vkey");
    let (w, wvkey) = trail_witness(tmp.path(), "witness.test/w", &[&vkey_file]);
    let (_wp, wurl) = serve_witness(&w, &[]);
    add_witnesses(&a, &[("witness.test/w", &wurl, &wvkey)], 1);
    let events: String = (0..5).map(|i| event(i) + "\n").collect();
    ok(&trail(&["log", "--data", s(&a)], &events));
    let early = tmp.path().join("early-tiles");
    ok(&trail(&["export", "--data", s(&a), "--format", "tiles", "--out", s(&early)], ""));
    let (node, url) = serve_log(&a);
    let client = http();
    for i in 5..8 {
        assert_eq!(client.post(&format!("{url}/v1/events?wait=checkpoint"), &event(i)).0, 200);
    }
    let witnesses = keys(&[&wvkey]);
    wait_cosigned(&client, &url, 8, &witnesses, 1);
    let state = tmp.path().join("monitor");
    let monitor = |tiles: &str, extra: &[&str]| {
        let mut args =
            vec!["monitor", tiles, "--key", s(&vkey_file), "--state", s(&state), "--once"];
        args.extend_from_slice(extra);
        trail(&args, "")
    };
    let out = ok(&monitor(&format!("{url}/tlog"), &["--witness", &wvkey]));
    assert!(out.contains("size 8"), "{out}");
    // A monitor passes what it sees to a witness the log does not talk to (with its own state).
    let (w2, w2vkey) = trail_witness(tmp.path(), "witness.test/fed", &[&vkey_file]);
    let (_w2p, w2url) = serve_witness(&w2, &[]);
    let fed_state = tmp.path().join("monitor-fed");
    let out = trail(
        &[
            "monitor",
            &format!("{url}/tlog"),
            "--key",
            s(&vkey_file),
            "--state",
            s(&fed_state),
            "--once",
            "--submit",
            &w2url,
            "--submit-vkey",
            &w2vkey,
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, text) =
        client.get(&format!("{w2url}/{}/checkpoint", hex_sha256("trail.test/fork")));
    assert_eq!(status, 200, "{text}");
    let fed = SignedCheckpoint::parse(&text).unwrap();
    assert_eq!(fed.checkpoint.size, 8);
    assert_eq!(fed.note.cosigned_by(&keys(&[&w2vkey])).len(), 1);
    node.stop();

    // The fork: a second log with the same origin and key and another history.
    let b = tmp.path().join("b");
    ok(&trail(&["init", "--data", s(&b), "--origin", "trail.test/fork"], ""));
    for f in ["log.key", "log.vkey"] {
        std::fs::copy(a.join(f), b.join(f)).unwrap();
    }
    add_witnesses(&b, &[("witness.test/w", &wurl, &wvkey)], 1);
    let other: String =
        (0..9).map(|i| format!("{{\"kind\":\"llm_call\",\"body\":{{\"fork\":{i}}}}}\n")).collect();
    ok(&trail(&["log", "--data", s(&b)], &other));
    let (node_b, url_b) = serve_log(&b);
    // The witness never cosigns it: it cosigned size 8 of the other history.
    std::thread::sleep(Duration::from_secs(2));
    let (_, cp) = client.get(&format!("{url_b}/tlog/checkpoint"));
    let cp = SignedCheckpoint::parse(&cp).unwrap();
    assert_eq!(cp.checkpoint.size, 9);
    assert!(cp.note.cosigned_by(&witnesses).is_empty(), "the witness cosigned a fork:\n{cp}");
    let (_, metrics) = client.get(&format!("{url_b}/metrics"));
    let failures = metrics.lines().find(|l| l.starts_with("trail_witness_failures_total")).unwrap();
    assert!(!failures.ends_with(" 0"), "{failures}");
    let alarms = metrics.lines().find(|l| l.starts_with("trail_witness_alarms_total")).unwrap();
    assert!(!alarms.ends_with(" 0"), "the witness's 422 was not an alarm: {alarms}");
    // The monitor that kept size 8 of the first history raises the alarm on the fork's tiles,
    // also when it asks for cosignatures the fork does not have: the log's signature suffices.
    let out = monitor(&format!("{url_b}/tlog"), &["--witness", &wvkey]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FORK"));
    node_b.stop();
    // And on a rollback to an earlier size of the first history.
    let out = monitor(s(&early), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ROLLBACK"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A first look at tiles that do not make the signed root: an alarm too.
    let bad = tmp.path().join("bad-tiles");
    ok(&trail(&["export", "--data", s(&b), "--format", "tiles", "--out", s(&bad)], ""));
    let tile = bad.join("tile/0/000.p/9");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let fresh = tmp.path().join("fresh-monitor");
    let out =
        trail(&["monitor", s(&bad), "--key", s(&vkey_file), "--state", s(&fresh), "--once"], "");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    // The fork does not verify under the witness policy.
    let out = trail(&["verify", "--data", s(&b), "--witness", &wvkey], "");
    assert_eq!(out.status.code(), Some(1));
}

/// A witness killed at each step of saving a checkpoint restarts with the checkpoint it last
/// acknowledged or the one it was saving, never less and never a torn file, and goes on.
#[test]
fn a_witness_killed_at_any_step_keeps_what_it_acknowledged() {
    let Some(speclog) = go::program("speclog") else { return };
    for step in ["write", "sync", "rename", "sync-dir", "answer"] {
        let tmp = tempfile::tempdir().unwrap();
        let (w, vkey) = trail_witness(tmp.path(), "witness.test/crash", &[]);
        let seed = "00".repeat(31) + "02";
        let believed = tmp.path().join("believed");
        let run = |url: &str, sizes: &str| {
            let out = Command::new(&speclog)
                .args([
                    "--origin",
                    "spec.test/crash",
                    "--witness",
                    url,
                    "--witness-vkey",
                    &vkey,
                    "--seed",
                    &seed,
                ])
                .args(["--sizes", sizes, "--state-file", s(&believed)])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let log_vkey = run("http://127.0.0.1:9", "1").lines().next().unwrap()[5..].to_owned();
        std::fs::remove_file(&believed).ok();
        ok(&trail(&["witness", "add", "--data", s(&w), "--vkey", &log_vkey], ""));
        let (p, url) = serve_witness(&w, &[]);
        assert!(run(&url, "5").contains("size 5 status 200 cosigned true"));
        drop(p);
        // Killed while saving size 9: the client gets no answer.
        let (mut p, url) = serve_witness(&w, &[("TRAIL_WITNESS_ABORT_AT", step)]);
        let out = run(&url, "9");
        assert!(!out.contains("status 200"), "{step}: {out}");
        let _ = p.0.wait();
        let (_p, url) = serve_witness(&w, &[]);
        let (status, text) =
            http().get(&format!("{url}/{}/checkpoint", hex_sha256("spec.test/crash")));
        assert_eq!(status, 200, "{step}: {text}");
        let kept = SignedCheckpoint::parse(&text).unwrap();
        kept.verify(&keys(&[&log_vkey, &vkey])).unwrap();
        let expected = if matches!(step, "write" | "sync") { 5 } else { 9 };
        assert_eq!(kept.checkpoint.size, expected, "{step}");
        // It goes on from there (the client resynchronises on 409).
        std::fs::write(&believed, "5\n").unwrap();
        assert!(run(&url, "12").contains("size 12 status 200 cosigned true"), "{step}");
    }
}

/// Three `trail serve` nodes on one PostgreSQL log, witnessed by two `trail witness` processes
/// and the Go spec witness: only the leader submits; after it is killed the node that takes over
/// resynchronises with every witness, and the whole log verifies under a quorum of two.
#[test]
fn three_postgres_nodes_cosigned_by_trail_witnesses_and_a_spec_witness() {
    let Some(schema) = pg::pg("witnessed") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dirs = nodes::data_dirs(tmp.path(), &schema.origin, &schema.url, 3);
    let vkey_file = dirs[0].join("log.vkey");
    let log_vkey = std::fs::read_to_string(&vkey_file).unwrap().trim().to_owned();
    let (w1, v1) = trail_witness(tmp.path(), "witness.test/pg1", &[&vkey_file]);
    let (w2, v2) = trail_witness(tmp.path(), "witness.test/pg2", &[&vkey_file]);
    let (_p1, u1) = serve_witness(&w1, &[]);
    let (_p2, u2) = serve_witness(&w2, &[]);
    let spec = spec_witness(&tmp.path().join("spec"), "spec.test/pg3", &[log_vkey]);
    let mut list = vec![
        ("witness.test/pg1", u1.as_str(), v1.as_str()),
        ("witness.test/pg2", u2.as_str(), v2.as_str()),
    ];
    if let Some((_, u3, v3)) = &spec {
        list.push(("spec.test/pg3", u3.as_str(), v3.as_str()));
    }
    for d in &dirs {
        add_witnesses(d, &list, 2);
    }
    let vkeys: Vec<&str> = list.iter().map(|(_, _, v)| *v).collect();
    let witnesses = keys(&vkeys);
    let mut nodes: Vec<Option<nodes::Node>> =
        dirs.iter().map(|d| Some(nodes::start(d, 1500))).collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.as_ref().unwrap().url.clone()).collect();
    let client = http();
    // Writes to any node (followers forward to the leader), until one acknowledges.
    let send = |i: usize, live: &[usize]| -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut k = i;
        loop {
            let url = &urls[live[k % live.len()]];
            let r = client.1.post(format!("{url}/v1/events?wait=checkpoint")).body(event(i)).send();
            if let Ok(resp) = client.0.block_on(r) {
                let status = resp.status().as_u16();
                let text = client.0.block_on(resp.text()).unwrap();
                if status == 200 {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    return v["events"][0]["receipt"].as_str().unwrap().to_owned();
                }
                assert!(status == 503 || status == 429, "{status}: {text}");
            }
            assert!(Instant::now() < deadline, "no node took event {i}");
            k += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    for i in 0..20 {
        send(i, &[0, 1, 2]);
    }
    let cp = wait_cosigned(&client, &urls[1], 20, &witnesses, witnesses.len());
    assert!(cp.checkpoint.size >= 20);
    let leader = (0..3)
        .find(|&i| {
            let (_, m) = client.get(&format!("{}/metrics", urls[i]));
            m.lines().any(|l| l.starts_with("trail_log_leader{") && l.ends_with(" 1"))
        })
        .expect("a leader");
    // Only the leader submits: the others show no witness counters moving.
    for i in (0..3).filter(|&i| i != leader) {
        let (_, m) = client.get(&format!("{}/metrics", urls[i]));
        assert!(
            !m.lines()
                .any(|l| l.starts_with("trail_witness_cosignatures_total") && !l.ends_with(" 0")),
            "follower {i} submitted:\n{m}"
        );
    }
    let mut killed = nodes[leader].take().unwrap();
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    let live: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let mut receipt = String::new();
    for i in 20..30 {
        receipt = send(i, &live);
    }
    let cp = wait_cosigned(&client, &urls[live[0]], 30, &witnesses, witnesses.len());
    assert!(cp.checkpoint.size >= 30);
    for n in nodes.iter_mut().flatten() {
        let _ = Command::new("kill").args(["-TERM", &n.child.id().to_string()]).status();
        let _ = n.child.wait();
    }
    let mut args = vec!["verify", "--data", s(&dirs[live[0]]), "--quorum", "2"];
    for v in &vkeys {
        args.extend_from_slice(&["--witness", v]);
    }
    let out = ok(&trail(&args, ""));
    assert!(out.contains("log is intact"), "{out}");
    let receipt_file = tmp.path().join("r.tlog-proof");
    std::fs::write(&receipt_file, &receipt).unwrap();
    let mut args =
        vec!["verify", "--receipt", s(&receipt_file), "--key", s(&vkey_file), "--quorum", "2"];
    for v in &vkeys {
        args.extend_from_slice(&["--witness", v]);
    }
    ok(&trail(&args, ""));
}

/// Without a server: `trail log` has its final checkpoint cosigned, says so when a witness is
/// down (the events stay stored), and `trail checkpoint` asks again.
#[test]
fn trail_log_and_trail_checkpoint_collect_cosignatures() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("log");
    ok(&trail(&["init", "--data", s(&data), "--origin", "trail.test/cli-witnessed"], ""));
    let (w, vkey) = trail_witness(tmp.path(), "witness.test/cli", &[&data.join("log.vkey")]);
    let (p, url) = serve_witness(&w, &[]);
    add_witnesses(&data, &[("witness.test/cli", &url, &vkey)], 1);
    let events: String = (0..3).map(|i| event(i) + "\n").collect();
    ok(&trail(&["log", "--data", s(&data)], &events));
    let verify = || trail(&["verify", "--data", s(&data), "--witness", &vkey], "");
    ok(&verify());
    drop(p);
    let out = trail(&["log", "--data", s(&data)], &events);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("witness witness.test/cli did not cosign")
    );
    assert_eq!(verify().status.code(), Some(1), "the last 3 records lack a witnessed checkpoint");
    // The witness back on the same address: `trail checkpoint` gets the cosignature.
    let port = url.rsplit(':').next().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trail"));
    cmd.args(["witness", "serve", "--data", s(&w), "--listen", &format!("127.0.0.1:{port}")]);
    let (_p, _) = start(cmd);
    let out = ok(&trail(&["checkpoint", "--data", s(&data), "--json"], ""));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["witnesses"][0]["cosigned"], 6, "{out}");
    ok(&verify());
}

/// A request whose body stalls is answered 408 after 10 s, so stalled clients cannot hold the
/// witness's connections.
#[test]
fn a_stalled_request_gets_408() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let (w, _) = trail_witness(tmp.path(), "witness.test/slow", &[]);
    let (_p, url) = serve_witness(&w, &[]);
    let mut tcp = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    tcp.write_all(
        b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nold 1\n",
    )
    .unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut answer = [0u8; 64];
    let n = tcp.read(&mut answer).unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
}
