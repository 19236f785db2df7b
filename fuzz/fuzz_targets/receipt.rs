//! Receipts: parsing and verification never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::note::NoteSigner;
use trail_core::receipt::Receipt;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(r) = Receipt::parse(text) {
        let key = NoteSigner::from_seed("fuzz.trail/log", [1; 32]).expect("key").verifier();
        let _ = r.verify(&[key]);
        let _ = Receipt::parse(&r.to_text());
    }
});
