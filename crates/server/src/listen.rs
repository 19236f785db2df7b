//! Accepting connections: plain TCP or TLS (rustls with the ring provider), each served as
//! HTTP/1.1 by hyper with a header read timeout, and a graceful shutdown that ends live tails
//! and waits for the requests in flight.
//!
//! Why not `axum::serve`: it sets no timer on hyper, so a client that sends its headers one
//! byte a minute (slowloris) holds a connection for ever, and it has no TLS. Here a client gets
//! [`ServeOptions::header_read_timeout`] to send its request line and headers (and to finish
//! the TLS handshake); the body must then keep [`crate::Limits::min_body_rate`] and is bounded
//! by the app's request timeout ([`crate::Limits::request_timeout`]). At most
//! [`ServeOptions::max_connections`] are served at once.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::state::AppState;

/// How [`serve_with`] accepts connections.
#[derive(Clone)]
pub struct ServeOptions {
    /// When set, every connection must complete a TLS handshake first.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long a client may take to finish the TLS handshake and to send a request's headers.
    pub header_read_timeout: Duration,
    /// Connections served at once. When all are open, the longest-idle one is closed for a new
    /// one; with none idle, the new one is answered 503 with Retry-After (plain HTTP; `GET
    /// /healthz` is still answered) or closed (TLS), so open sockets and buffers stay bounded.
    pub max_connections: usize,
    /// Connections one address may hold (at most `max_connections`).
    pub max_connections_per_address: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            tls: None,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_address: 256,
        }
    }
}

/// Why a certificate and key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoKey { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Pem { path: PathBuf, message: String },
    #[error(
        "{} has permissions {mode:o}: a TLS private key must be readable by its owner only (chmod 600 {})",
        path.display(),
        path.display()
    )]
    KeyReadable { path: PathBuf, mode: u32 },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A TLS server configuration from a PEM certificate chain (leaf first) and a PEM private key.
/// Refuses a key file that group or others can read, as trail refuses such a signing key.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_pem = read(cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: cert.to_owned() });
    }
    check_private_mode(key)?;
    let key_pem = read(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey { path: key.to_owned() },
        other => pem_error(key, other),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, private)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A builder for this node's outgoing HTTP clients (forwarding ingest to the leader, exporters):
/// `http://` or `https://`, servers verified against the system's trusted roots, which
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` replace as they do for OpenSSL (a private CA: add it to the
/// system's store, or point `SSL_CERT_FILE` at a bundle that includes it). A machine without
/// any roots still gets a client: plain HTTP works and HTTPS fails, naming the unknown issuer.
pub fn client_builder() -> reqwest::ClientBuilder {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // With reqwest's rustls enabled, any client built without a TLS configuration of its own
    // takes the process's provider and panics when there is none: ring, as the listener uses.
    // Installing fails only when a provider is already installed, which is as good.
    let _ = rustls::crypto::CryptoProvider::install_default((*provider).clone());
    let roots = system_roots();
    let builder = reqwest::Client::builder();
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(config) => {
            let mut config = config.with_root_certificates(roots.clone()).with_no_client_auth();
            // The client speaks HTTP/1.1 only (reqwest without its http2 feature).
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            builder.tls_backend_preconfigured(config)
        }
        Err(_) => builder.tls_backend_rustls(),
    }
}

/// The system's trusted roots, read once per process (the forwarding client and every exporter
/// share them).
fn system_roots() -> &'static Arc<rustls::RootCertStore> {
    static ROOTS: std::sync::OnceLock<Arc<rustls::RootCertStore>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!(errors = ?native.errors, "no trusted root certificates found; outgoing HTTPS will fail (set SSL_CERT_FILE)");
        }
        Arc::new(roots)
    })
}

/// An outgoing request's error with its causes ("error sending request ...: client error
/// (Connect): invalid peer certificate: UnknownIssuer"): the cause is what an operator needs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

/// Serves `state` on `listener` until `shutdown` resolves, then ends live tails and waits for
/// requests in flight. Reloads the API keys when their file changes.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> io::Result<()> {
    let keys = state.keys.clone();
    let reload = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            keys.reload_if_changed();
        }
    });
    let router = crate::app(state.clone());
    let counted = state.clone();
    let on_refused = move || {
        counted.metrics.connections_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let graceful = accept(listener, router, shutdown, options, on_refused).await;
    state.begin_shutdown();
    graceful.shutdown().await;
    reload.abort();
    Ok(())
}

/// Serves any `router` (the witness's) on `listener` as [`serve_with`] serves the app: header
/// timeouts, TLS, a bounded number of connections, a graceful end.
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> io::Result<()> {
    let graceful = accept(listener, router, shutdown, options, || {}).await;
    graceful.shutdown().await;
    Ok(())
}

/// Accepts and serves connections until `shutdown`; returns what waits for those still open.
async fn accept(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
    on_refused: impl Fn(),
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    let acceptor = options.tls.map(TlsAcceptor::from);
    let handshake_timeout = options.header_read_timeout;
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(options.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    let registry = Arc::new(crate::connections::Registry::new(
        options.max_connections,
        options.max_connections_per_address,
    ));
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let admitted = match registry.admit(peer.ip()) {
            Ok(a) => a,
            Err(why) => {
                on_refused();
                tracing::warn!(%peer, ?why, max = options.max_connections, "connection refused");
                tokio::spawn(refuse(tcp, acceptor.is_none(), why));
                continue;
            }
        };
        // Each request marks the connection busy until its response body is done.
        let (conn, reg, app) = (admitted.conn.clone(), registry.clone(), router.clone());
        let service = TowerToHyperService::new(tower::service_fn(
            move |req: axum::http::Request<hyper::body::Incoming>| {
                let busy = crate::connections::Admitted::begin(&conn, &reg);
                let app = app.clone();
                async move {
                    use tower::ServiceExt as _;
                    let resp = app.oneshot(req).await?;
                    Ok::<_, std::convert::Infallible>(
                        resp.map(|b| crate::connections::Tracked::wrap(b, busy)),
                    )
                }
            },
        ));
        let http = http.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let evicted = admitted.conn.clone();
            let serve = async {
                match acceptor {
                    None => watcher.watch(http.serve_connection(TokioIo::new(tcp), service)).await,
                    Some(acceptor) => {
                        let Some(tls) = handshake(&acceptor, tcp, handshake_timeout, peer).await
                        else {
                            return Ok(());
                        };
                        watcher.watch(http.serve_connection(TokioIo::new(tls), service)).await
                    }
                }
            };
            // An idle connection closed to make room: dropping it closes the socket.
            let result = tokio::select! {
                r = serve => r,
                () = evicted.evict.notified() => Ok(()),
            };
            drop(admitted);
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful
}

/// Answers a connection over the limit: plain HTTP gets a 503 naming the limit, with
/// Retry-After, except `GET /healthz`, which is answered as ever (a full server is alive); TLS is
/// closed (an answer would need the handshake the limit is there to spare).
async fn refuse(mut tcp: TcpStream, plain: bool, why: crate::connections::Refused) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    if plain {
        let mut head = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut head))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        let healthz =
            head[..n].starts_with(b"GET /healthz ") || head[..n].starts_with(b"GET /healthz?");
        let (status, body) = if healthz {
            ("200 OK", r#"{"status":"ok"}"#.to_owned())
        } else {
            let limit = match why {
                crate::connections::Refused::Full => {
                    "its maximum of open connections, none of them idle ([server] max_connections)"
                }
                crate::connections::Refused::PerAddress => {
                    "the most connections one address may open ([server] max_connections_per_address)"
                }
            };
            (
                "503 Service Unavailable",
                format!(
                    r#"{{"error":{{"code":"too_many_connections","message":"the server has {limit}; retry later"}}}}"#
                ),
            )
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ =
            tokio::time::timeout(Duration::from_secs(1), tcp.write_all(answer.as_bytes())).await;
    }
    let _ = tcp.shutdown().await;
}

async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    timeout: Duration,
    peer: std::net::SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "tls handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "tls handshake timed out");
            None
        }
    }
}

/// A failed `accept`: a connection reset before it was accepted is the client's business; any
/// other error (out of file descriptors) is logged, and accepting pauses so it cannot spin.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind as K;
    if matches!(e.kind(), K::ConnectionAborted | K::ConnectionReset | K::ConnectionRefused) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

fn pem_error(path: &Path, e: pem::Error) -> TlsError {
    TlsError::Pem { path: path.to_owned(), message: e.to_string() }
}

fn check_private_mode(path: &Path) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|source| TlsError::Read { path: path.to_owned(), source })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(TlsError::KeyReadable { path: path.to_owned(), mode });
        }
    }
    Ok(())
}
