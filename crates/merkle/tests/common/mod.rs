//! Helpers shared by the integration tests: where the shared golden vectors live.

use std::path::PathBuf;

/// `shared/vectors/transparency-dev-merkle`, found beside the repository checkout.
///
/// The vectors are not copied into the crate; they live in the project's `shared/` folder next to
/// the repository (`/work/shared` beside `/work/main`, and the same layout in CI). A missing folder
/// is a loud failure, never a silent pass.
pub fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/transparency-dev-merkle");
    assert!(
        dir.join("testdata").is_dir(),
        "golden vectors not found at {}: the shared/ folder must sit beside the repository \
         checkout (shared/vectors/transparency-dev-merkle/testdata)",
        dir.display()
    );
    dir
}
