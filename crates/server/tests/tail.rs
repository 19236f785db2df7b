//! The live tail over a real socket: replay, then live, resumable with Last-Event-ID, with no
//! gaps and no duplicates while ingest runs.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::time::Duration;

use common::*;

/// Reads SSE `record` events until `last` is seen; returns their ids (seqs).
async fn read_until(resp: &mut reqwest::Response, buf: &mut String, last: u64) -> Vec<u64> {
    let mut seqs = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let mut id = None;
            let mut event = "";
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse::<u64>().ok();
                }
                if let Some(v) = line.strip_prefix("event:") {
                    event = if v.trim() == "record" { "record" } else { "other" };
                }
            }
            if event == "record" {
                let seq = id.expect("a record event carries its seq as id");
                seqs.push(seq);
                if seq >= last {
                    return seqs;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk()).await;
        match chunk {
            Ok(Ok(Some(c))) => buf.push_str(&String::from_utf8_lossy(&c)),
            other => panic!("tail ended before seq {last} (got {seqs:?}): {other:?}"),
        }
    }
}

async fn ingest(base: &str, n: usize, tag: &str) {
    let client = trail_server::listen::client_builder().build().unwrap();
    let body: Vec<String> = (0..n).map(|i| format!(r#"{{"kind":"t","id":"{tag}-{i}"}}"#)).collect();
    let r = client
        .post(format!("{base}/v1/events"))
        .header("content-type", "application/json")
        .body(format!("[{}]", body.join(",")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_replays_then_follows_without_gaps_or_duplicates_and_resumes() {
    let l = log("test/tail");
    let (base, stop) = spawn_server(open_state(&[&l])).await;
    ingest(&base, 5, "pre").await;
    let client = trail_server::listen::client_builder().build().unwrap();
    let mut resp =
        client.get(format!("{base}/v1/tail")).header("last-event-id", "1").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    // Ingest concurrently in several small batches while the tail is replaying and following.
    let b2 = base.clone();
    let writer = tokio::spawn(async move {
        for round in 0..10 {
            ingest(&b2, 5, &format!("live{round}")).await;
        }
    });
    let mut buf = String::new();
    let seqs = read_until(&mut resp, &mut buf, 54).await;
    writer.await.unwrap();
    assert_eq!(seqs, (2..=54).collect::<Vec<u64>>());
    drop(resp);

    // Reconnect as a browser would, with the last id seen: the stream continues at 31.
    let mut resp =
        client.get(format!("{base}/v1/tail")).header("last-event-id", "30").send().await.unwrap();
    let mut buf = String::new();
    let seqs = read_until(&mut resp, &mut buf, 54).await;
    assert_eq!(seqs, (31..=54).collect::<Vec<u64>>());
    // And a new event arrives live.
    ingest(&base, 1, "after").await;
    let seqs = read_until(&mut resp, &mut buf, 55).await;
    assert_eq!(seqs, vec![55]);

    // ?n= starts with the latest events; filters apply.
    let mut resp = client.get(format!("{base}/v1/tail?n=3")).send().await.unwrap();
    let mut buf = String::new();
    assert_eq!(read_until(&mut resp, &mut buf, 55).await, vec![53, 54, 55]);
    let _ = stop.send(());
}

#[tokio::test]
async fn a_bad_last_event_id_is_a_json_error() {
    let l = log("test/tail");
    let s = open_state(&[&l]);
    let req = axum::http::Request::get("/v1/tail")
        .header("last-event-id", "abc")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = call(&s, req).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "bad_last_event_id");
}
