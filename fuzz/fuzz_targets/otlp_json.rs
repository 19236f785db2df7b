//! An OTLP/HTTP JSON body from any client on the network: decoding an
//! `ExportTraceServiceRequest` or `ExportLogsServiceRequest` and mapping every span and log record
//! never panics, and every mapped event that validates seals into a record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::{Hash, Timestamp};
use trail_server::otlp::{Encoding, decode_logs, decode_traces, map::Mapped};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the service, so one corpus grows inputs for both.
    let Some((&which, body)) = data.split_first() else { return };
    let decoded = if which & 1 == 0 {
        decode_traces(body, Encoding::Json, 64)
    } else {
        decode_logs(body, Encoding::Json, 64)
    };
    let Ok(mapped) = decoded else { return };
    for Mapped { event, .. } in mapped {
        if event.validate().is_err() {
            continue;
        }
        let prepared = event
            .prepare("fuzz-id".into(), Timestamp::EPOCH, vec![], [0; 32])
            .expect("a valid mapped event prepares");
        let _ = prepared.seal("fuzz.trail/log", 0, Hash::ZERO);
    }
});
