//! A Harness audit file from anywhere: the chain check and the importer never panic, the
//! importer returns only events trail accepts, and each of them seals into a record.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trail_core::{Hash, Timestamp};
use trail_interop::{harness, pyjson};

fuzz_target!(|data: &[u8]| {
    let v = harness::verify(data, Some("audit-fuzz.jsonl"));
    assert!(v.objects.len() as u64 <= v.lines, "more objects than lines");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(value) = pyjson::loads(text) {
            let _ = pyjson::dumps(&value, true);
            let _ = harness::hash_event(&value);
        }
    }
    let Ok(batch) = harness::import_bytes(Path::new("audit-fuzz.jsonl"), data) else { return };
    for event in batch.events {
        event.validate().expect("the importer returns only valid events");
        let prepared = event
            .prepare("fuzz-id".into(), Timestamp::EPOCH, vec![], [0; 32])
            .expect("a valid imported event prepares");
        let _ = prepared.seal("fuzz.trail/log", 0, Hash::ZERO);
    }
});
