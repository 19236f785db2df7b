//! The security review's checks that other suites do not make: trail's own logs never carry a
//! secret, matched PII or an API key; the OTLP receiver's size, depth and type limits; and slow
//! clients (headers or body dripped a byte at a time) are cut off on a real socket while the
//! server keeps answering others.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trail_server::{KeyFile, Limits, Scope, ServeOptions};

/// Everything `tracing` writes while the tests of this binary run, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET: &str = "AKIAZ7Q3VN4XK2LMB5TP";
const EMAIL: &str = "jane.roe.4821@example.org";

#[tokio::test]
async fn trails_own_logs_never_carry_secrets_pii_or_api_keys() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    // Log a keeps the defaults (secrets redacted, PII detected); log b blocks both.
    let a = log("test/a");
    let mut strict = config();
    strict.policy.default_secret = trail_ingest::Mode::Block;
    strict.policy.default_pii = trail_ingest::Mode::Block;
    let b = log_with("test/b", strict);
    let mut keys = KeyFile::default();
    let (key, _) = add_key(&mut keys, &[Scope::Admin], &[]);
    let s = state(&[&a, &b], keys, Limits::default());

    let event = format!(
        r#"{{"kind":"tool_call","id":"leak","body":{{"args":{{"token":"{SECRET}","to":"{EMAIL}"}}}}}}"#
    );
    let r = post_json(&s, "/v1/events?log=test/a", Some(&key), &event).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post_json(&s, "/v1/events?log=test/b", Some(&key), &event).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "blocked_event"));
    assert!(!r.text().contains(SECRET) && !r.text().contains(EMAIL), "{}", r.text());
    // The same through OTLP/JSON, the secret in a log record's attribute and body.
    let otlp = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{{"stringValue":"mail {EMAIL}"}},
        "attributes":[{{"key":"event.name","value":{{"stringValue":"claude_code.tool_result"}}}},
        {{"key":"tool_parameters","value":{{"stringValue":"{{\"key\":\"{SECRET}\"}}"}}}}]}}]}}]}}]}}"#
    );
    for log in ["test/a", "test/b"] {
        let r = post(
            &s,
            &format!("/v1/logs?log={log}"),
            Some(&key),
            "application/json",
            otlp.clone().into_bytes(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(!r.text().contains(SECRET) && !r.text().contains(EMAIL), "{}", r.text());
    }
    // A wrong key that looks like a real one is not echoed or logged either.
    let wrong = format!("{}x", &key[..key.len() - 1]);
    let r = get(&s, "/v1/events?log=test/a", Some(&wrong)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.text().contains(&wrong));
    let r = get(&s, "/v1/events?log=test/a&search=leak", Some(&key)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text().contains(SECRET), "stored bodies hold the secret redacted");
    a.recorder.flush().await.unwrap();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("scanner findings in event"),
        "the capture works and the scan was logged:\n{text}"
    );
    assert!(text.contains("/v1/events"), "requests are traced:\n{text}");
    for needle in [SECRET, EMAIL, key.as_str(), wrong.as_str()] {
        assert!(!text.contains(needle), "trail's own log holds {needle:?}:\n{text}");
    }
}

#[tokio::test]
async fn otlp_bodies_over_the_limits_are_refused_with_clear_errors() {
    let l = log("test/a");
    let limits = Limits { max_otlp_body_bytes: 4096, max_json_depth: 8, ..Limits::default() };
    let s = state(&[&l], KeyFile::default(), limits);
    let big = format!(r#"{{"resourceSpans":[],"pad":"{}"}}"#, "x".repeat(8192));
    let r = post(&s, "/v1/traces", None, "application/json", big.into_bytes()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"));
    let r = post(&s, "/v1/logs", None, "application/x-protobuf", vec![0; 5000]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // OTLP/JSON nests AnyValues; the depth limit is at least 32 so real payloads pass.
    let deep = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{}"x"{}}}]}}]}}]}}"#,
        r#"{"arrayValue":{"values":["#.repeat(40),
        "]}}".repeat(40)
    );
    let r = post(&s, "/v1/logs", None, "application/json", deep.into_bytes()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "too_deep"),
        "{}",
        r.text()
    );
    // A protobuf request is answered with a protobuf google.rpc.Status.
    let r = post(&s, "/v1/traces", None, "application/x-protobuf", vec![0xff; 64]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let status =
        <trail_server::otlp::RpcStatus as prost::Message>::decode(r.body.as_slice()).unwrap();
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    assert!(status.message.contains("not a valid OTLP protobuf message"), "{}", status.message);
    let r = post(&s, "/v1/traces", None, "text/plain", b"hello".to_vec()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    assert_eq!(l.recorder.store().state().unwrap().size, 0, "nothing appended");
}

/// Serves on loopback with short timeouts; returns the address and the stop switch.
async fn serve_short_timeouts() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, TestLog)
{
    let limits = Limits { request_timeout: Duration::from_millis(1500), ..Limits::default() };
    let options =
        ServeOptions { header_read_timeout: Duration::from_millis(800), ..ServeOptions::default() };
    serve_on_loopback(limits, options).await
}

/// Writes `head`, then one byte of `drip` every 100 ms until the server stops reading or the
/// drip runs out; returns what the server answered and when the connection ended.
async fn drip(addr: std::net::SocketAddr, head: &str, drip: &str) -> (String, Duration) {
    let start = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(head.as_bytes()).await.unwrap();
    let drip = drip.as_bytes().to_vec();
    let writer = tokio::spawn(async move {
        for b in drip {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if wr.write_all(&[b]).await.is_err() {
                return;
            }
        }
        // Keep the write half open: the server, not the client, must end this.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut answer)).await;
    writer.abort();
    assert!(read.is_ok(), "the server never ended a slow client's connection");
    (String::from_utf8_lossy(&answer).into_owned(), start.elapsed())
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_others_are_served_meanwhile() {
    let (addr, stop, l) = serve_short_timeouts().await;
    let healthz = async {
        // While the slow clients drip, a normal client is answered promptly, again and again.
        let client = trail_server::listen::client_builder().build().unwrap();
        let mut worst = Duration::ZERO;
        for _ in 0..10 {
            let t = Instant::now();
            let r = client.get(format!("http://{addr}/healthz")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            worst = worst.max(t.elapsed());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        worst
    };
    // Slowloris: headers that never end.
    let slow_headers = "X-Slow: yes\r\n".repeat(50);
    let headers = drip(addr, "POST /v1/events HTTP/1.1\r\nHost: t\r\n", &slow_headers);
    // A complete head, then a body a byte at a time: the request timeout answers 503 with
    // Retry-After, and nothing is appended.
    let slow_body = format!(r#"{{"kind":"slow","body":"{}"}}"#, "x".repeat(170));
    let body = drip(
        addr,
        "POST /v1/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        &slow_body,
    );
    let (worst, (h_answer, h_took), (b_answer, b_took)) = tokio::join!(healthz, headers, body);
    assert!(h_took < Duration::from_secs(10), "slow headers were allowed {h_took:?}");
    assert!(
        h_answer.is_empty() || h_answer.starts_with("HTTP/1.1 408"),
        "slow headers answered {h_answer:?}"
    );
    assert!(b_answer.starts_with("HTTP/1.1 503"), "slow body answered {b_answer:?}");
    assert!(b_answer.to_ascii_lowercase().contains("retry-after: 1"), "{b_answer}");
    assert!(b_answer.to_ascii_lowercase().contains("connection: close"), "{b_answer}");
    assert!(b_took < Duration::from_secs(10), "a slow body was allowed {b_took:?}");
    assert!(worst < Duration::from_secs(5), "healthz took {worst:?} beside slow clients");
    assert_eq!(l.recorder.store().state().unwrap().size, 0);
    let _ = stop.send(());
}

/// Serves `limits` and `options` on loopback; returns the address and the stop switch.
async fn serve_on_loopback(
    limits: Limits,
    options: ServeOptions,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, TestLog) {
    let l = log("test/a");
    let s = state(&[&l], KeyFile::default(), limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(trail_server::serve_with(
        listener,
        s,
        async move {
            let _ = rx.await;
        },
        options,
    ));
    (addr, tx, l)
}

async fn post_event(addr: std::net::SocketAddr, kind: &str) -> reqwest::Response {
    trail_server::listen::client_builder()
        .build()
        .unwrap()
        .post(format!("http://{addr}/v1/events"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"kind": kind}).to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_body_below_the_minimum_rate_is_cut_off_and_frees_its_ingest_slot() {
    // One ingest slot, and a request timeout far away: without a minimum rate, a client dripping
    // its body would hold the only slot for 30 s and every other sender would get 429.
    let limits = Limits {
        max_in_flight: 1,
        request_timeout: Duration::from_secs(30),
        min_body_rate: 1024,
        body_grace: Duration::from_millis(600),
        ..Limits::default()
    };
    let (addr, stop, l) = serve_on_loopback(limits, ServeOptions::default()).await;
    let slow_body = format!(r#"{{"kind":"slow","body":"{}"}}"#, "x".repeat(170));
    let dripping = drip(
        addr,
        "POST /v1/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        &slow_body,
    );
    let (answer, took) = dripping.await;
    assert!(answer.starts_with("HTTP/1.1 408"), "a dripped body was answered {answer:?}");
    assert!(answer.contains("body_too_slow"), "{answer}");
    assert!(answer.contains("below the minimum of 1024 bytes/s"), "{answer}");
    assert!(took < Duration::from_secs(5), "a dripped body held its slot for {took:?}");
    // The slot is free again: the next sender is served, and only its event is stored.
    let r = post_event(addr, "after_slow").await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(l.recorder.store().state().unwrap().size, 1);
    let metrics = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await;
    assert!(metrics.unwrap().contains("trail_http_slow_bodies_total 1"));
    let _ = stop.send(());
}

/// Sends `request` on a new connection and reads the answer until the server closes it.
async fn exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut answer))
        .await
        .expect("a connection was left hanging")
        .unwrap();
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}

#[tokio::test]
async fn idle_connections_make_room_and_busy_ones_beyond_the_limit_get_503() {
    let options = ServeOptions { max_connections: 2, ..ServeOptions::default() };
    let (addr, stop, _l) = serve_on_loopback(Limits::default(), options).await;
    // Two clients connect and say nothing. They no longer lock others out: the longest-idle
    // one is closed to make room for a client with a request.
    let mut idle1 = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _idle2 = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served =
        exchange(addr, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
    assert!(served.starts_with("http/1.1 200"), "{served}");
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(5), idle1.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the oldest idle connection was closed");
    // Two busy connections (live tails, streaming) fill the server: a new request gets 503
    // naming the limit, and /healthz is answered all the same.
    let mut tails = Vec::new();
    for _ in 0..2 {
        let mut t = TcpStream::connect(addr).await.unwrap();
        t.write_all(b"GET /v1/tail HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        tails.push(t);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = exchange(
        addr,
        "POST /v1/events HTTP/1.1\r\nHost: t\r\nContent-Length: 13\r\n\r\n{\"kind\":\"a\"}",
    )
    .await;
    assert!(refused.starts_with("http/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after: 1"), "{refused}");
    assert!(refused.contains("too_many_connections"), "{refused}");
    assert!(refused.contains("max_connections"), "{refused}");
    let health = exchange(addr, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(health.starts_with("http/1.1 200"), "/healthz at the limit: {health}");
    // Once the tails leave, new connections are served again.
    drop(tails);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = reqwest::get(format!("http://{addr}/healthz")).await;
        if r.as_ref().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await;
    assert!(metrics.unwrap().contains("trail_http_connections_refused_total"));
    let _ = stop.send(());
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    let options = ServeOptions {
        max_connections: 8,
        max_connections_per_address: 2,
        ..ServeOptions::default()
    };
    let (addr, stop, _l) = serve_on_loopback(Limits::default(), options).await;
    let mut tails = Vec::new();
    for _ in 0..2 {
        let mut t = TcpStream::connect(addr).await.unwrap();
        t.write_all(b"GET /v1/tail HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        tails.push(t);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = exchange(addr, "GET /v1/events HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(refused.starts_with("http/1.1 503"), "{refused}");
    assert!(refused.contains("max_connections_per_address"), "{refused}");
    drop(tails);
    let _ = stop.send(());
}
