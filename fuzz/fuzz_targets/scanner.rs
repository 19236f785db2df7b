//! The scanner on arbitrary text never panics, and its findings are sorted, non-overlapping
//! spans on character boundaries inside the text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trail_scan::Scanner;

fuzz_target!(|data: &[u8]| {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    let scanner = SCANNER.get_or_init(Scanner::default);
    let text = String::from_utf8_lossy(data);
    let mut end = 0;
    for f in scanner.scan(&text) {
        assert!(f.start >= end && f.start < f.end && f.end <= text.len());
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        end = f.end;
    }
});
