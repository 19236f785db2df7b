//! `trail serve` over HTTPS as a user runs it: a certificate from the flags or from
//! `[server] tls_cert`/`tls_key` in trail.toml, a client that trusts it, and the mistakes that
//! must stop the server before it listens (half a pair, a key others can read); and an exporter
//! delivering to an HTTPS server only when it trusts that server's certificate.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

fn trail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(args)
        .env_remove("TRAIL_DATA")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn init(dir: &Path) {
    let out = trail(&["init", "--data", dir.to_str().unwrap(), "--origin", "trail.test/tls"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed certificate for `localhost` and `127.0.0.1`: writes `cert.pem` and `key.pem` (mode 0600) into
/// `dir` and returns the certificate for the client to trust.
fn self_signed(dir: &Path) -> CertificateDer<'static> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    let mut key = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.join("key.pem"))
        .unwrap();
    std::io::Write::write_all(&mut key, ck.signing_key.serialize_pem().as_bytes()).unwrap();
    ck.cert.der().clone()
}

fn serve(data: &Path, extra: &[&str]) -> (Child, String) {
    serve_with_env(data, extra, &[])
}

fn serve_with_env(data: &Path, extra: &[&str], env: &[(&str, &Path)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("TRAIL_DATA")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split("on ").last().unwrap().trim().to_owned();
    (child, url)
}

fn stop(mut child: Child) {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
}

/// `GET /healthz` over TLS trusting only `cert`; returns the raw answer.
fn get_healthz(url: &str, cert: CertificateDer<'static>) -> String {
    let addr = url.strip_prefix("https://").unwrap().to_owned();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tls.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    })
}

#[test]
fn serves_https_from_flags_and_from_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    init(&data);
    let cert = self_signed(&data.join("tls"));

    let c = data.join("tls/cert.pem");
    let k = data.join("tls/key.pem");
    let (child, url) =
        serve(&data, &["--tls-cert", c.to_str().unwrap(), "--tls-key", k.to_str().unwrap()]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let answer = get_healthz(&url, cert.clone());
    stop(child);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let toml = std::fs::read_to_string(data.join("trail.toml")).unwrap();
    let toml =
        format!("{toml}\n[server]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n");
    std::fs::write(data.join("trail.toml"), toml).unwrap();
    let (child, url) = serve(&data, &[]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let answer = get_healthz(&url, cert);
    stop(child);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn half_a_pair_or_a_readable_key_stops_the_server_before_it_listens() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    init(&data);
    self_signed(&data.join("tls"));
    let d = data.to_str().unwrap();
    let c = data.join("tls/cert.pem");
    let k = data.join("tls/key.pem");

    let out = trail(&[
        "serve",
        "--data",
        d,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        c.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));

    std::fs::set_permissions(&k, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = trail(&[
        "serve",
        "--data",
        d,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        c.to_str().unwrap(),
        "--tls-key",
        k.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must be readable by its owner only"), "{err}");
    assert!(out.stdout.is_empty(), "it never announced a listener");

    let toml = std::fs::read_to_string(data.join("trail.toml")).unwrap();
    std::fs::write(
        data.join("trail.toml"),
        format!("{toml}\n[server]\ntls_cert = \"tls/cert.pem\"\n"),
    )
    .unwrap();
    let out = trail(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls_cert and tls_key go together"), "{err}");
}

/// `GET path` over plain HTTP; returns the body.
fn http_get(url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    answer.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// Polls `done` every 50 ms for up to 15 s; fails with `why()` if it never holds.
fn wait_for(mut done: impl FnMut() -> bool, why: impl Fn() -> String) {
    for _ in 0..300 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{}", why());
}

/// The value of the first metric line starting with `prefix`.
fn metric(text: &str, prefix: &str) -> Option<u64> {
    text.lines().find(|l| l.starts_with(prefix))?.rsplit(' ').next()?.parse().ok()
}

#[test]
fn an_exporter_delivers_over_https_only_to_a_server_it_trusts() {
    let tmp = tempfile::tempdir().unwrap();
    // The receiver: another trail node serving HTTPS with a self-signed certificate.
    let sink = tmp.path().join("sink");
    init(&sink);
    self_signed(&sink.join("tls"));
    let (c, k) = (sink.join("tls/cert.pem"), sink.join("tls/key.pem"));
    let (sink_child, sink_url) =
        serve(&sink, &["--tls-cert", c.to_str().unwrap(), "--tls-key", k.to_str().unwrap()]);
    assert!(sink_url.starts_with("https://127.0.0.1:"), "{sink_url}");

    // The sender: three events in its log and an OTLP exporter to the receiver.
    let source = tmp.path().join("source");
    init(&source);
    let events: String = (0..3)
        .map(|i| {
            format!("{{\"id\":\"over-tls-{i}\",\"kind\":\"tool_call\",\"action\":\"Read\"}}\n")
        })
        .collect();
    let mut log = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["log", "--data", source.to_str().unwrap()])
        .env_remove("TRAIL_DATA")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut log.stdin.take().unwrap(), events.as_bytes()).unwrap();
    assert!(log.wait().unwrap().success());
    let toml = std::fs::read_to_string(source.join("trail.toml")).unwrap();
    let toml = format!(
        "{toml}\n[[exporters]]\nname = \"sink\"\ntype = \"otlp\"\nurl = \"{sink_url}\"\n\
         backoff_initial_ms = 50\nbackoff_max_ms = 200\n"
    );
    std::fs::write(source.join("trail.toml"), toml).unwrap();
    let delivered =
        |url: &str| metric(&http_get(url, "/metrics"), "trail_exporter_delivered_total");
    let failures = |url: &str| metric(&http_get(url, "/metrics"), "trail_exporter_failures_total");

    // Not trusting the receiver's certificate, the exporter delivers nothing and counts failures.
    let (untrusting, url) = serve(&source, &[]);
    wait_for(
        || failures(&url).unwrap_or(0) >= 2,
        || format!("no delivery failure counted: {}", http_get(&url, "/metrics")),
    );
    assert_eq!(delivered(&url), Some(0), "delivered to a server it does not trust");
    let mut untrusting = untrusting;
    let mut stderr = untrusting.stderr.take().unwrap();
    stop(untrusting);
    let mut logged = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut logged).unwrap();
    // The log names the cause, not just "error sending request".
    assert!(logged.contains("certificate"), "{logged}");

    // Trusting it (SSL_CERT_FILE, as for OpenSSL), it delivers every event.
    let (trusting, url) = serve_with_env(&source, &[], &[("SSL_CERT_FILE", &c)]);
    wait_for(
        || delivered(&url).unwrap_or(0) >= 3,
        || format!("not delivered over HTTPS: {}", http_get(&url, "/metrics")),
    );
    stop(trusting);
    stop(sink_child);
    let out = trail(&["query", "--data", sink.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for i in 0..3 {
        assert!(
            text.contains(&format!("over-tls-{i}")),
            "event {i} missing in the receiver: {text}"
        );
    }
}
