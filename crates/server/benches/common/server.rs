//! A `trail serve` app on a free loopback port over a durable SQLite log in a temporary
//! directory, for the HTTP benchmarks (included by each with `#[path]`).

use std::sync::Arc;

use trail_core::NoteSigner;
use trail_ingest::{Recorder, RecorderConfig, ScanConfig, Scanner};
use trail_server::{AppState, KeyFile, KeyRing, Limits, LogHandle};
use trail_store::Store;
use trail_store::sqlite::SqliteStore;

pub struct Server {
    pub base: String,
    _dir: tempfile::TempDir,
}

/// Serves a new log named `origin`, recorded with `config`, on `rt`.
pub fn start(rt: &tokio::runtime::Runtime, origin: &str, config: RecorderConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let base = rt.block_on(async {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::create(&dir.path().join("trail.db"), origin).unwrap());
        let signer = NoteSigner::from_seed(origin, [1; 32]).unwrap();
        let scanner = Arc::new(Scanner::new(&ScanConfig::default()).unwrap());
        let recorder = Recorder::open(store, signer, scanner, config.clone()).unwrap();
        let handle = Arc::new(LogHandle::new(recorder, &config));
        let state = AppState::new(
            vec![handle],
            KeyRing::fixed(KeyFile::default(), true),
            Limits { max_in_flight: 4096, ..Limits::default() },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(trail_server::serve(listener, state, std::future::pending()));
        format!("http://{addr}")
    });
    Server { base, _dir: dir }
}
