//! A line of an export file: parsing never panics, and a parsed record line is either a valid
//! canonical record or rejected with an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::Record;
use trail_core::export::{ExportLine, parse_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(ExportLine::Record { canonical, .. }) = parse_line(text) {
        let _ = Record::from_canonical(&canonical);
    }
});
