//! RFC 8785: canonicalization never panics and is idempotent (the canonical form of canonical
//! JSON is itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::jcs;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(once) = jcs::to_vec(&value) else { return };
    let reparsed: serde_json::Value = serde_json::from_slice(&once).expect("canonical JSON parses");
    let twice = jcs::to_vec(&reparsed).expect("canonical JSON canonicalizes");
    assert_eq!(once, twice);
});
