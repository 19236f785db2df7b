//! The streaming verifier fed arbitrary export text never panics and always finishes with a
//! report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::export::{ExportLine, parse_line};
use trail_core::note::NoteSigner;
use trail_core::verify::{BodyInput, Location, Verifier, VerifyOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let key = NoteSigner::from_seed("fuzz.trail/log", [1; 32]).expect("key").verifier();
    let mut v = Verifier::new(VerifyOptions { verifiers: vec![key], ..VerifyOptions::default() });
    for (i, line) in text.lines().enumerate() {
        let at = Location::line(i as u64 + 1);
        match parse_line(line) {
            Ok(ExportLine::Record { canonical, hash, body }) => {
                let b = body.as_ref().map_or(BodyInput::Absent, |b| BodyInput::Present { salt: &b.salt, canonical: &b.canonical });
                v.record(at, &canonical, hash, b);
            }
            Ok(ExportLine::Checkpoint(n)) => v.checkpoint(at, &n),
            Ok(ExportLine::Anchor(a)) => v.anchor(at, &a),
            Err(e) => v.problem(at, "bad_line", e.to_string()),
        }
    }
    let _ = v.finish();
});
