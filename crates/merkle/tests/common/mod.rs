//! Helpers shared by the integration tests: where the shared golden vectors live.

use std::path::PathBuf;

/// `testdata/vectors/transparency-dev-merkle` in the repository (provenance in its README). A
/// missing folder is a loud failure, never a silent pass.
pub fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/vectors/transparency-dev-merkle");
    assert!(
        dir.join("testdata").is_dir(),
        "golden vectors not found at {}: testdata/vectors/transparency-dev-merkle/testdata \
         belongs to the repository; is the checkout complete?",
        dir.display()
    );
    dir
}
