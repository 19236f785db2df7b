//! An outside verifier, written in Python from the RFC 6962/9162 and C2SP specifications only
//! (tests/outside/verify_c2sp.py, sharing no code with trail), accepts trail's checkpoints,
//! receipts and consistency proofs, and rejects a tampered receipt.
//!
//! It needs Python 3 with the `cryptography` package, installed into a cached virtual
//! environment. Without network access to PyPI the test fails, unless TRAIL_SKIP_PYTHON=1 says
//! to skip it (loudly).

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn trail(args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "trail {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A Python with `cryptography`, or None when skipping is allowed.
fn python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("py-outside");
    let py = venv.join("bin/python");
    let ready = |py: &Path| {
        Command::new(py).args(["-c", "import cryptography"]).status().is_ok_and(|s| s.success())
    };
    if !ready(&py) {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&py)
                .args(["-m", "pip", "install", "--quiet", "cryptography"])
                .status()
                .is_ok_and(|s| s.success());
        if !made || !ready(&py) {
            if std::env::var("TRAIL_SKIP_PYTHON").as_deref() == Ok("1") {
                eprintln!(
                    "SKIPPED: the outside verifier needs python3 with `cryptography` from PyPI, which could not be installed (TRAIL_SKIP_PYTHON=1)"
                );
                return None;
            }
            panic!(
                "cannot install `cryptography` into {}: the outside verifier cannot run (set TRAIL_SKIP_PYTHON=1 to skip)",
                venv.display()
            );
        }
    }
    Some(py)
}

fn outside(py: &Path, args: &[&str]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/outside/verify_c2sp.py");
    let out = Command::new(py).arg(script).args(args).output().unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn an_outside_verifier_accepts_checkpoints_receipts_and_consistency_proofs() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    trail(&["init", "--data", d, "--origin", "trail.test/outside"], "");
    let vkey = data.join("log.vkey");
    let vk = vkey.to_str().unwrap();
    let events = |from: usize, n: usize| -> String {
        (from..from + n)
            .map(|i| format!("{{\"kind\":\"tool_call\",\"id\":\"o{i}\",\"body\":{{\"n\":{i}}}}}\n"))
            .collect()
    };
    trail(&["log", "--data", d], &events(0, 5));
    let cp5 = trail(&["checkpoint", "--data", d], "");
    trail(&["log", "--data", d], &events(5, 8));
    let cp13 = trail(&["checkpoint", "--data", d], "");
    for (name, cp) in [("cp5", &cp5), ("cp13", &cp13)] {
        let path = tmp.path().join(name);
        std::fs::write(&path, cp).unwrap();
        let (ok, out) = outside(&py, &["checkpoint", vk, path.to_str().unwrap()]);
        assert!(ok, "{name}: {out}");
    }
    for seq in [0, 4, 7, 12] {
        let receipt = trail(&["proof", "--data", d, "--seq", &seq.to_string()], "");
        let path = tmp.path().join(format!("r{seq}"));
        std::fs::write(&path, &receipt).unwrap();
        let (ok, out) = outside(&py, &["receipt", vk, path.to_str().unwrap()]);
        assert!(ok, "receipt {seq}: {out}");
        // Claiming another index with the same proof is rejected by the outside verifier too.
        std::fs::write(
            &path,
            receipt.replace(&format!("index {seq}\n"), &format!("index {}\n", seq + 1)),
        )
        .unwrap();
        let (ok, out) = outside(&py, &["receipt", vk, path.to_str().unwrap()]);
        assert!(!ok, "tampered receipt {seq} accepted: {out}");
    }
    let root = |cp: &str| cp.lines().nth(2).unwrap().to_owned();
    let proof = trail(&["proof", "--data", d, "--from", "5", "--to", "13"], "");
    let path = tmp.path().join("consistency");
    std::fs::write(&path, &proof).unwrap();
    let (ok, out) = outside(
        &py,
        &["consistency", "5", &root(&cp5), "13", &root(&cp13), path.to_str().unwrap()],
    );
    assert!(ok, "consistency: {out}");
    let (ok, _) = outside(
        &py,
        &["consistency", "5", &root(&cp13), "13", &root(&cp13), path.to_str().unwrap()],
    );
    assert!(!ok, "a consistency proof against the wrong old root must fail");
}
