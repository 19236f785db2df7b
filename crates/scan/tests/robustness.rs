//! Inputs that must never slow the scanner down or break its span invariants.

use proptest::prelude::*;
use std::sync::LazyLock;
use std::time::Instant;
use trail_scan::{Finding, Scanner};

static SCANNER: LazyLock<Scanner> = LazyLock::new(Scanner::default);

fn check_spans(text: &str, found: &[Finding]) {
    let mut last_end = 0;
    for f in found {
        assert!(
            f.start < f.end && f.end <= text.len(),
            "span {}..{} out of bounds",
            f.start,
            f.end
        );
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        assert!(f.start >= last_end, "overlap or unsorted at {}", f.start);
        assert!((0.0..=1.0).contains(&f.confidence));
        last_end = f.end;
    }
}

/// A megabyte of CJK and Cyrillic prose (with a few findings) scans quickly: the Unicode
/// `\b` cliff (250x slower on non-ASCII) must not come back.
#[test]
fn one_megabyte_of_non_ascii_scans_fast() {
    let chunk = "山田太郎さんは東京都に住んでいます。Привет, как дела? Всё хорошо. 电话联系我们。 ";
    let mut text = String::new();
    while text.len() < 1 << 20 {
        text.push_str(chunk);
    }
    text.push_str(" mail ivan.petrov@example.org ");
    let scanner = &*SCANNER;
    let t = Instant::now();
    let found = scanner.scan(&text);
    let secs = t.elapsed().as_secs_f64();
    check_spans(&text, &found);
    assert!(found.iter().any(|f| f.kind.as_str() == "EMAIL"));
    // Debug builds are ~20x slower than release; even so 1 MiB must take well under 10 s
    // (the Unicode-\b cliff made it minutes).
    assert!(secs < 10.0, "1 MiB of non-ASCII took {secs:.1} s");
}

#[test]
fn spans_on_boundaries_in_mixed_scripts() {
    let text = "Имя: Иван Петров, почта ivan@corp.example.org, IBAN DE89 3704 0044 0532 0130 00 — 電話 +81 90-4000-3429";
    let found = SCANNER.scan(text);
    check_spans(text, &found);
    let kinds: Vec<&str> = found.iter().map(|f| f.kind.as_str()).collect();
    assert!(
        kinds.contains(&"EMAIL") && kinds.contains(&"IBAN") && kinds.contains(&"PHONE"),
        "{kinds:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn scan_never_panics_and_spans_are_sound(s in "\\PC{0,300}") {
        let found = SCANNER.scan(&s);
        check_spans(&s, &found);
    }

    #[test]
    fn scan_sound_on_pii_alphabet(s in "[0-9a-zA-Z@.:/+= _\\-\"'\\n,;|(){}АяЖ山é]{0,300}") {
        let found = SCANNER.scan(&s);
        check_spans(&s, &found);
    }
}
