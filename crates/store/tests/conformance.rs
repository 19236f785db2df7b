//! Every backend passes the same suite.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use trail_store::Store;
use trail_store::conformance::ORIGIN;
use trail_store::file::FileStore;
use trail_store::memory::MemoryStore;

trail_store::conformance!(memory, || -> Box<dyn Store> {
    Box::new(MemoryStore::new(ORIGIN, 10_000))
});

trail_store::conformance!(files, || -> Box<dyn Store> {
    // The directory must outlive the store: leak it for the test's lifetime.
    let dir = tempfile::tempdir().expect("test setup").keep();
    Box::new(FileStore::create(&dir, ORIGIN).expect("test setup"))
});

trail_store::conformance!(sqlite, || -> Box<dyn Store> {
    let dir = tempfile::tempdir().expect("test setup").keep();
    Box::new(
        trail_store::sqlite::SqliteStore::create(&dir.join("trail.db"), ORIGIN)
            .expect("test setup"),
    )
});

trail_store::conformance!(sqlite_memory, || -> Box<dyn Store> {
    Box::new(trail_store::sqlite::SqliteStore::open_in_memory(ORIGIN).expect("test setup"))
});

// Against the server at TRAIL_PG_URL, each test in a schema of its own that is dropped with the
// store; without a server this fails loudly, unless TRAIL_SKIP_POSTGRES=1 (then the memory store
// stands in, and the message says so).
#[cfg(feature = "postgres")]
trail_store::conformance!(postgres, || -> Box<dyn Store> {
    use trail_store::postgres::{PostgresStore, scratch_schema};
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match PostgresStore::create_in(&url, &scratch_schema("trail_conformance"), ORIGIN) {
        Ok(store) => Box::new(store.dangerous_drop_on_drop()),
        Err(e) if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") => {
            // Straight to stderr: libtest hides what `eprintln!` prints in a passing test.
            let loud = format!(
                "\n*** SKIPPED postgres: no server at {url} ({e}); the memory store stands in ***\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), loud.as_bytes());
            Box::new(MemoryStore::new(ORIGIN, 10_000))
        }
        Err(e) => panic!(
            "\n*** no PostgreSQL at {url}: {e}\n*** start it (see .ci/run) or set TRAIL_SKIP_POSTGRES=1 ***\n"
        ),
    }
});
