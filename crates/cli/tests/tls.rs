//! `trail serve` over HTTPS as a user runs it: a certificate from the flags or from
//! `[server] tls_cert`/`tls_key` in trail.toml, a client that trusts it, and the mistakes that
//! must stop the server before it listens (half a pair, a key others can read).

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

/// A self-signed certificate for `localhost`: writes `cert.pem` and `key.pem` (mode 0600) into
/// `dir` and returns the certificate for the client to trust.
fn self_signed(dir: &Path) -> CertificateDer<'static> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("TRAIL_DATA")
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
