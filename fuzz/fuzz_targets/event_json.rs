//! Event JSON from an untrusted agent: parsing never panics, and an accepted event seals into a
//! record whose canonical bytes parse back to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::{Event, Hash, Record, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::from_slice(data) else { return };
    let Ok(prepared) = event.prepare("fuzz-id".into(), Timestamp::EPOCH, vec![], [0; 32]) else { return };
    let sealed = prepared.seal("fuzz.trail/log", 7, Hash::ZERO);
    let back = Record::from_canonical(&sealed.canonical).expect("a sealed record parses back");
    assert_eq!(back, sealed.record);
});
