//! The Go programs under tests/go (oracles written from the C2SP texts with Go's own tlog code),
//! built once per test binary with Debian's Go and x/mod (`.ci/test` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Programs built so far, by name (`None`: could not be built).
type Built = Mutex<Vec<(String, Option<PathBuf>)>>;

/// The program in `tests/go/<name>`, built; `None` (a loud skip) only outside CI when Go is
/// missing and `TRAIL_SKIP_GO` is set.
pub fn program(name: &str) -> Option<PathBuf> {
    static BUILT: OnceLock<Built> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, bin)) = built.iter().find(|(n, _)| n == name) {
        return bin.clone();
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let bin = tmp.join(format!("go-{name}"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go").join(name);
    let out = Command::new("go")
        .args(["build", "-o", bin.to_str().unwrap(), "."])
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", tmp.join("gocache"))
        .current_dir(&src)
        .output();
    let result = match out {
        Ok(o) if o.status.success() => Some(bin),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var("CI").is_err() && std::env::var("TRAIL_SKIP_GO").is_ok(),
                "cannot build tests/go/{name} (install golang-go golang-golang-x-mod-dev; .ci/test does): {why}"
            );
            eprintln!("\n*** SKIPPED: tests/go/{name} ({why}) ***\n");
            None
        }
    };
    built.push((name.to_owned(), result.clone()));
    result
}
