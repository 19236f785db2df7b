//! HTTPS: `serve_with` and a rustls configuration from PEM files, against a self-signed
//! certificate made here and trusted by the client; and the certificate and key files that
//! `tls_config` refuses.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use trail_server::{ServeOptions, TlsError};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM (the key mode 0600);
/// returns the certificate's DER for the client to trust.
fn self_signed(dir: &Path) -> CertificateDer<'static> {
    let key =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), key.cert.pem()).unwrap();
    write_private(&dir.join("key.pem"), &key.signing_key.serialize_pem());
    key.cert.der().clone()
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path);
    std::io::Write::write_all(f.as_mut().unwrap(), text.as_bytes()).unwrap();
}

fn client(trusted: CertificateDer<'static>) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(trusted).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// One HTTP/1.1 request over a fresh TLS connection; returns status and body.
async fn request(
    tls: &TlsConnector,
    addr: std::net::SocketAddr,
    req: Request<Full<Bytes>>,
) -> (u16, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let stream = tls.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn serves_https_with_a_trusted_self_signed_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let trusted = self_signed(tmp.path());
    let config =
        trail_server::tls_config(&tmp.path().join("cert.pem"), &tmp.path().join("key.pem"))
            .unwrap();
    let l = log("test/tls");
    let s = open_state(&[&l]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(trail_server::serve_with(
        listener,
        s,
        async move {
            let _ = stopped.await;
        },
        ServeOptions { tls: Some(config), ..ServeOptions::default() },
    ));
    let tls = client(trusted);
    let get = |uri: &str| {
        Request::get(uri).header("host", "localhost").body(Full::new(Bytes::new())).unwrap()
    };
    let (st, body) = request(&tls, addr, get("/healthz")).await;
    assert_eq!(st, 200, "{body}");
    let post = Request::post("/v1/events")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(br#"{"kind":"tool_call","id":"over-tls"}"#)))
        .unwrap();
    let (st, body) = request(&tls, addr, post).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = request(&tls, addr, get("/v1/events/over-tls")).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("over-tls"), "{body}");

    // A client that does not trust the certificate fails the handshake.
    let stranger = client(
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.der().clone(),
    );
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let refused = stranger.connect(ServerName::try_from("localhost").unwrap(), tcp).await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(15), tcp.read_to_end(&mut answer))
        .await
        .unwrap();
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP was answered over the TLS port");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert_eq!(l.recorder.store().state().unwrap().size, 1);
}

#[test]
fn bad_certificate_and_key_files_are_refused_with_their_names() {
    let tmp = tempfile::tempdir().unwrap();
    self_signed(tmp.path());
    let cert = tmp.path().join("cert.pem");
    let key = tmp.path().join("key.pem");
    let check = |cert: &Path, key: &Path, want: &str| {
        let e = trail_server::tls_config(cert, key).err().unwrap();
        let text = e.to_string();
        assert!(text.contains(want), "{text:?} lacks {want:?}");
        e
    };
    let e = check(&tmp.path().join("nope.pem"), &key, "nope.pem");
    assert!(matches!(e, TlsError::Read { .. }));
    std::fs::write(tmp.path().join("empty.pem"), "not a certificate\n").unwrap();
    let e = check(&tmp.path().join("empty.pem"), &key, "holds no PEM certificate");
    assert!(matches!(e, TlsError::NoCertificate { .. }));
    write_private(&tmp.path().join("nokey.pem"), "nothing here\n");
    let e = check(&cert, &tmp.path().join("nokey.pem"), "holds no PEM private key");
    assert!(matches!(e, TlsError::NoKey { .. }));
    // A key file others may read (here the certificate, mode 0644) is refused before it is read.
    std::fs::set_permissions(&cert, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let e = check(&cert, &cert, "readable by its owner only");
    assert!(matches!(e, TlsError::KeyReadable { mode: 0o644, .. }), "{e:?}");
    // A key for another certificate.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    self_signed(&other);
    let e = check(&cert, &other.join("key.pem"), "do not make a TLS configuration");
    assert!(matches!(e, TlsError::Config(_)), "{e:?}");
}
