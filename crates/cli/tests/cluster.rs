//! Three `trail serve` processes on one PostgreSQL log: clients write to all three at once, the
//! node that sequences the log is killed with SIGKILL mid-stream, the writes go on, and at the
//! end every acknowledged event is in the log exactly once, seq has no gap, and `trail verify`
//! passes. Then the new leader is paused (SIGSTOP) until the last node takes over, writes go on
//! through that node, and the paused one, woken, is fenced off and follows. The server is `TRAIL_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); the
//! log's schema is dropped when the test ends. Without a server the test fails, loudly, unless
//! `TRAIL_SKIP_POSTGRES=1`.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

#[path = "common/nodes.rs"]
mod nodes;

#[path = "common/pg.rs"]
mod pg;
use pg::pg;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const WRITERS: usize = 3;
const BATCHES: usize = 40;
const PER_BATCH: usize = 25;

fn trail(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trail")).args(args).env_remove("TRAIL_DATA").output().unwrap()
}

/// Sends one batch, to `urls[first]` and then the others in turn, until a node acknowledges it;
/// returns the acknowledged (id, seq) pairs.
async fn send(
    client: &reqwest::Client,
    urls: &[String],
    first: usize,
    body: &str,
) -> Vec<(String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut at = first;
    loop {
        assert!(Instant::now() < deadline, "no node took a batch for 60 s");
        let url = format!("{}/v1/events", urls[at % urls.len()]);
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        if let Ok(r) = sent {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            if status == 200 {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                return v["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| (e["id"].as_str().unwrap().to_owned(), e["seq"].as_u64().unwrap()))
                    .collect();
            }
            // Anything but "retry later" is a bug.
            assert!(status == 503 || status == 429, "{status}: {text}");
        }
        at += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn three_nodes_survive_a_killed_and_a_paused_leader_and_lose_nothing() {
    let Some(schema) = pg("cluster") else { return };
    let tmp = tempfile::tempdir().unwrap();
    // Every node gets a copy of the data directory: config, signing key, verifier key.
    let dirs = nodes::data_dirs(tmp.path(), &schema.origin, &schema.url, 3);
    let mut nodes: Vec<Option<nodes::Node>> =
        dirs.iter().map(|d| Some(nodes::start(d, 1500))).collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.as_ref().unwrap().url.clone()).collect();

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let client = trail_server::listen::client_builder().build().unwrap();
        let old = nodes::wait_for_leader(&client, &nodes).await;
        let acked = Arc::new(AtomicU64::new(0));
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (client, urls, acked) = (client.clone(), urls.clone(), acked.clone());
            writers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for b in 0..BATCHES {
                    let events: Vec<serde_json::Value> = (0..PER_BATCH)
                        .map(|i| {
                            serde_json::json!({
                                "id": format!("w{w}-b{b}-e{i}"),
                                "kind": "tool_call",
                                "agent": format!("agent-{w}"),
                                "session": format!("s{w}"),
                                "action": "Read",
                                "body": {"path": format!("/data/{w}/{b}/{i}")},
                            })
                        })
                        .collect();
                    let body = serde_json::Value::Array(events).to_string();
                    // Each writer starts at its own node, so all three take writes.
                    let acks = send(&client, &urls, w + b, &body).await;
                    assert_eq!(acks.len(), PER_BATCH);
                    acked.fetch_add(PER_BATCH as u64, Ordering::Relaxed);
                    got.extend(acks);
                }
                got
            }));
        }
        // Kill the leader once a third of the events are acknowledged.
        let total = (WRITERS * BATCHES * PER_BATCH) as u64;
        while acked.load(Ordering::Relaxed) < total / 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut dead = nodes[old].take().unwrap();
        dead.child.kill().unwrap(); // SIGKILL
        dead.child.wait().unwrap();
        let killed = Instant::now();
        let new = loop {
            if let Some(i) = nodes::leader(&client, &nodes).await {
                break i;
            }
            assert!(killed.elapsed() < Duration::from_secs(30), "no node took over in 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        eprintln!("node {new} took over from node {old} after {:?}", killed.elapsed());
        assert_ne!(new, old);

        let mut acks: BTreeMap<String, u64> = BTreeMap::new();
        for w in writers {
            for (id, seq) in w.await.unwrap() {
                assert!(acks.insert(id.clone(), seq).is_none(), "{id} acknowledged twice");
            }
        }
        assert_eq!(acks.len() as u64, total);

        // A leader that is paused (as by a long GC pause or a frozen VM) loses its lease to the
        // last node; when it wakes up, the fence stops it from appending, and it follows.
        let paused = nodes[new].as_ref().unwrap().child.id().to_string();
        Command::new("kill").args(["-STOP", &paused]).status().unwrap();
        let stopped = Instant::now();
        let third = loop {
            if let Some(i) = nodes::leader(&client, &nodes).await.filter(|&i| i != new) {
                break i;
            }
            // The paused node does not answer, so `leader` skips it after its timeout.
            assert!(stopped.elapsed() < Duration::from_secs(60), "no node replaced the paused one");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let third_url = vec![urls[third].clone()];
        for b in 0..4 {
            let body = serde_json::Value::Array(
                (0..PER_BATCH)
                    .map(|i| serde_json::json!({"id": format!("p-b{b}-e{i}"), "kind": "tool_call"}))
                    .collect(),
            )
            .to_string();
            assert_eq!(send(&client, &third_url, 0, &body).await.len(), PER_BATCH);
        }
        Command::new("kill").args(["-CONT", &paused]).status().unwrap();
        // Awake, it finds its lease gone and steps down; writes through it reach the new leader.
        let body = serde_json::json!([{"id": "after-wake", "kind": "tool_call"}]).to_string();
        let woke = vec![urls[new].clone()];
        assert_eq!(send(&client, &woke, 0, &body).await.len(), 1);
        assert_eq!(nodes::leader(&client, &nodes).await, Some(third), "the woken node must follow");
    });

    // The log itself, read from the database through a surviving node's data directory.
    let survivor = nodes.iter().position(Option::is_some).unwrap();
    let out = trail(&["export", "--data", dirs[survivor].to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut ids = BTreeSet::new();
    let mut seqs = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(r) = v.get("record") {
            seqs.push(r["seq"].as_u64().unwrap());
            let id = r["id"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "{id} is in the log twice");
        }
    }
    let total = WRITERS * BATCHES * PER_BATCH;
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>(), "seq has a gap");
    for w in 0..WRITERS {
        for b in 0..BATCHES {
            for i in 0..PER_BATCH {
                let id = format!("w{w}-b{b}-e{i}");
                assert!(ids.contains(&id), "acknowledged {id} is missing");
            }
        }
    }
    for b in 0..4 {
        for i in 0..PER_BATCH {
            assert!(
                ids.contains(&format!("p-b{b}-e{i}")),
                "an event sent during the pause is missing"
            );
        }
    }
    assert!(ids.contains("after-wake"));
    assert_eq!(ids.len(), total + 4 * PER_BATCH + 1, "only the events sent are in the log");

    for n in nodes.iter_mut().flatten() {
        Command::new("kill").args(["-TERM", &n.child.id().to_string()]).status().unwrap();
    }
    for n in nodes.iter_mut().flatten() {
        n.child.wait().unwrap();
    }
    // Every record is checked; the newest may be unsigned when the nodes stop under load
    // (seen once in a full-suite run: 1 of 3101), which verify names and, asked, accepts.
    let v = trail(&["verify", "--data", dirs[survivor].to_str().unwrap(), "--allow-unsigned-tail"]);
    assert!(
        v.status.success(),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    drop(schema);
}

#[test]
fn a_follower_forwards_ingest_to_a_leader_that_serves_https() {
    let Some(schema) = pg("cluster-tls") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dirs = nodes::data_dirs(tmp.path(), &schema.origin, &schema.url, 2);
    // One certificate for both nodes, trusted by them through SSL_CERT_FILE and by this client.
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tls = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let nodes: Vec<Option<nodes::Node>> = dirs
        .iter()
        .map(|d| Some(nodes::start_with(d, 1500, &tls, &[("SSL_CERT_FILE", &cert)])))
        .collect();
    assert!(nodes.iter().flatten().all(|n| n.url.starts_with("https://")));

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .tls_backend_rustls()
            .add_root_certificate(reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap())
            .build()
            .unwrap();
        let leader = nodes::wait_for_leader(&client, &nodes).await;
        let follower = nodes[1 - leader].as_ref().unwrap();
        let body = serde_json::json!([{"id": "via-follower", "kind": "tool_call"}]).to_string();
        let acks = send(&client, std::slice::from_ref(&follower.url), 0, &body).await;
        assert_eq!(acks, vec![("via-follower".to_owned(), 0)]);
    });
    drop(nodes);
    let out = trail(&["export", "--data", dirs[0].to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("via-follower"));
    drop(schema);
}
