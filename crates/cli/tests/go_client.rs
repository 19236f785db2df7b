//! The Go client (`clients/go`, for agents built on denkeeper's audit package): its own tests,
//! run against this build of `trail serve` (insert, list, stats, the emitter across a server
//! restart, retries without duplicates, API keys, `trail verify` on every log they wrote).

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::Path;
use std::process::Command;

#[test]
fn go_client_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/go");
    let out = Command::new("go")
        .args(["test", "-count=1", "./..."])
        .env("TRAIL_BIN", env!("CARGO_BIN_EXE_trail"))
        .env("GO111MODULE", "on")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOCACHE", Path::new(env!("CARGO_TARGET_TMPDIR")).join("gocache"))
        .current_dir(&dir)
        .output();
    match out {
        Ok(o) => assert!(
            o.status.success(),
            "go test in clients/go failed:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            assert!(
                std::env::var("CI").is_err() && std::env::var("TRAIL_SKIP_GO").is_ok(),
                "cannot run go test in clients/go (install golang-go; .ci/test does): {e}"
            );
            eprintln!("\n*** SKIPPED: clients/go ({e}) ***\n");
        }
    }
}
