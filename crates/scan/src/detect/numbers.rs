//! Numbers with a checksum or a fixed structure: payment cards, US SSNs, IBANs, and national
//! IDs (CPF, NHS, SIN, BSN, Aadhaar, UK NINO, Spanish DNI/NIE).

use regex::bytes::Regex;

use super::nearby::{ALNUM, NUMTOK, bounded, left_ok, near, right_ok};
use super::prefilter::group;
use super::re;
use super::sweep::in_runs;
use crate::bytes::{self, is};
use crate::kind::Kind;
use crate::validate;

/// The compiled UK NINO shape (the other number shapes are checked by hand).
pub(super) struct Numbers {
    nino: Regex,
}

impl Numbers {
    pub(super) fn new() -> Result<Numbers, regex::Error> {
        Ok(Numbers { nino: re(r"[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]")? })
    }

    /// An IBAN, UK NINO or Spanish DNI/NIE starting at the word `text[s..e]`.
    pub(super) fn at_word(
        &self,
        text: &[u8],
        s: usize,
        e: usize,
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        let w = &text[s..e];
        let n = w.len();
        let upper2 = n >= 2 && is(w[0], bytes::UPPER) && is(w[1], bytes::UPPER);
        if upper2
            && n >= 4
            && is(w[2], bytes::DIGIT)
            && is(w[3], bytes::DIGIT)
            && let Some(end) = iban_at(text, s)
        {
            push(Kind::Iban, s, end, 0.97);
        }
        if upper2
            && (n >= 3 && is(w[2], bytes::DIGIT)
                || n == 2
                    && text.get(e) == Some(&b' ')
                    && text.get(e + 1).is_some_and(u8::is_ascii_digit))
        {
            let win = &text[s..(s + 13).min(text.len())];
            if let Some(m) = self.nino.find(win).filter(|m| m.start() == 0) {
                let val = m.as_bytes();
                let letters: Vec<u8> = val.iter().filter(|c| **c != b' ').copied().collect();
                let spaces = val.iter().filter(|&&c| c == b' ').count();
                let end = s + m.end();
                if (spaces == 0 || spaces == 4)
                    && bounded(text, s, end, ALNUM)
                    && validate::nino(&letters)
                {
                    push(Kind::NationalId, s, end, 0.85);
                }
            }
        }
        if n == 9
            && matches!(w[0], b'0'..=b'9' | b'X' | b'Y' | b'Z')
            && is(w[8], bytes::UPPER)
            && validate::dni(w)
        {
            push(Kind::NationalId, s, e, 0.85);
        }
    }
}

/// Card numbers in the numeric runs.
pub(super) fn cards(
    text: &[u8],
    runs: &[(usize, usize, usize)],
    push: &mut impl FnMut(Kind, usize, usize, f32),
) {
    // Cards: try the whole grouped run, then shorter group prefixes.
    for m in in_runs(card_at, text, runs, 12) {
        let (s, mut e) = (m.start(), m.end());
        if !left_ok(text, s, NUMTOK) || s > 0 && text[s - 1] == b'+' {
            continue;
        }
        loop {
            let val = &text[s..e];
            let seps: Vec<u8> = val.iter().filter(|c| !c.is_ascii_digit()).copied().collect();
            let consistent = seps.windows(2).all(|w| w[0] == w[1]);
            if consistent && right_ok(text, e) && validate::card(&validate::digits(val)) {
                push(Kind::CreditCard, s, e, 0.95);
                break;
            }
            match val.iter().rposition(|c| !c.is_ascii_digit()) {
                Some(i) if i > 0 => e = s + i,
                _ => break,
            }
        }
    }
}

/// US SSNs in the numeric runs: dashed ones alone, spaced or plain ones with an SSN cue.
pub(super) fn ssns(
    text: &[u8],
    grp: u32,
    runs: &[(usize, usize, usize)],
    push: &mut impl FnMut(Kind, usize, usize, f32),
) {
    for m in in_runs(ssn_at, text, runs, 9) {
        let (s, e) = (m.start(), m.end());
        let val = &text[s..e];
        if !left_ok(text, s, NUMTOK) || !right_ok(text, e) {
            continue;
        }
        let seps: Vec<u8> = val.iter().filter(|c| !c.is_ascii_digit()).copied().collect();
        let dash = seps == b"--";
        let plain = seps.is_empty() || seps == b"  ";
        if !(dash || plain) || !validate::ssn(&validate::digits(val)) {
            continue;
        }
        // Dashed AAA-GG-SSSS stands alone; spaced or plain digits need an SSN cue.
        if dash
            || grp & group::SSN_CTX != 0
                && near(text, s, 48, &[b"ssn", b"social security", b"tax_id", b"tax id"])
        {
            push(Kind::UsSsn, s, e, 0.9);
        }
    }
}

/// CPFs (dotted, or with a cue) and, after a national-ID cue, NHS, SIN, BSN and Aadhaar
/// numbers in the numeric runs.
pub(super) fn national_ids(
    text: &[u8],
    grp: u32,
    runs: &[(usize, usize, usize)],
    push: &mut impl FnMut(Kind, usize, usize, f32),
) {
    for m in in_runs(cpf_at, text, runs, 11) {
        let val = &text[m.start()..m.end()];
        if !bounded(text, m.start(), m.end(), NUMTOK) || !validate::cpf(&validate::digits(val)) {
            continue;
        }
        if val.contains(&b'.') || grp & group::NATID != 0 && near(text, m.start(), 40, &[b"cpf"]) {
            push(Kind::NationalId, m.start(), m.end(), 0.9);
        }
    }
    if grp & group::NATID == 0 {
        return;
    }
    for m in in_runs(digits9_12_at, text, runs, 9) {
        let (s, e) = (m.start(), m.end());
        if !bounded(text, s, e, NUMTOK) {
            continue;
        }
        let d = validate::digits(&text[s..e]);
        let seps: Vec<u8> = text[s..e].iter().filter(|c| !c.is_ascii_digit()).copied().collect();
        if !seps.windows(2).all(|w| w[0] == w[1]) {
            continue;
        }
        let ok = match d.len() {
            10 => validate::nhs(&d) && near(text, s, 48, &[b"nhs"]),
            9 => {
                (validate::sin(&d) && near(text, s, 48, &[b"sin", b"social insurance"]))
                    || (validate::bsn(&d) && near(text, s, 48, &[b"bsn", b"burgerservice"]))
            }
            12 => {
                validate::aadhaar(&d)
                    && near(text, s, 48, &["aadhaar".as_bytes(), "आधार".as_bytes(), b"uidai"])
            }
            _ => false,
        } || (near(text, s, 32, &[b"national_id", b"national id"])
            && (validate::nhs(&d)
                || validate::sin(&d)
                || validate::bsn(&d)
                || validate::aadhaar(&d)));
        if ok {
            push(Kind::NationalId, s, e, 0.92);
        }
    }
}

/// `h[i..]` starts with `n` digits.
fn digits_at(h: &[u8], i: usize, n: usize) -> bool {
    h.get(i..i + n).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}

/// The number of digits at `h[i..]`, counting at most `max`.
fn digit_count(h: &[u8], i: usize, max: usize) -> usize {
    h[i.min(h.len())..].iter().take(max).take_while(|c| c.is_ascii_digit()).count()
}

/// `[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{1,7}){1,4}` anchored at `i`: a card number,
/// contiguous or in groups.
fn card_at(h: &[u8], i: usize) -> Option<usize> {
    let d = digit_count(h, i, 19);
    if d >= 13 {
        return Some(i + d);
    }
    // A fifth digit would stop the four-digit first group.
    if d != 4 {
        return None;
    }
    let mut p = i + 4;
    let mut groups = 0;
    while groups < 4
        && matches!(h.get(p), Some(b' ' | b'-'))
        && h.get(p + 1).is_some_and(u8::is_ascii_digit)
    {
        p += 1 + digit_count(h, p + 1, 7);
        groups += 1;
    }
    (groups > 0).then_some(p)
}

/// `[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}` anchored at `i`: an SSN.
fn ssn_at(h: &[u8], i: usize) -> Option<usize> {
    let sep = |p: usize| p + usize::from(matches!(h.get(p), Some(b'-' | b' ')));
    if !digits_at(h, i, 3) {
        return None;
    }
    let p = sep(i + 3);
    if !digits_at(h, p, 2) {
        return None;
    }
    let p = sep(p + 2);
    digits_at(h, p, 4).then_some(p + 4)
}

/// `[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}|[0-9]{11}` anchored at `i`: a CPF.
fn cpf_at(h: &[u8], i: usize) -> Option<usize> {
    let sep = |p: usize, c: u8| h.get(p) == Some(&c);
    if digits_at(h, i, 3)
        && sep(i + 3, b'.')
        && digits_at(h, i + 4, 3)
        && sep(i + 7, b'.')
        && digits_at(h, i + 8, 3)
        && sep(i + 11, b'-')
        && digits_at(h, i + 12, 2)
    {
        return Some(i + 14);
    }
    digits_at(h, i, 11).then_some(i + 11)
}

/// `[0-9]{3,4}(?:[ -]?[0-9]{3,4}){2}` anchored at `i`: three groups of 3-4 digits (NHS,
/// SIN, BSN, Aadhaar), with the regex's preference order (longer groups, then taking a
/// separator) when it has to backtrack.
fn digits9_12_at(h: &[u8], i: usize) -> Option<usize> {
    fn groups(h: &[u8], p: usize, left: usize) -> Option<usize> {
        if left == 0 {
            return Some(p);
        }
        let seps: &[usize] = if matches!(h.get(p), Some(b' ' | b'-')) { &[1, 0] } else { &[0] };
        seps.iter().find_map(|&k| {
            [4, 3].iter().find_map(|&n| {
                if digits_at(h, p + k, n) { groups(h, p + k + n, left - 1) } else { None }
            })
        })
    }
    [4, 3].iter().find_map(|&n| if digits_at(h, i, n) { groups(h, i + n, 2) } else { None })
}

/// Compact IBAN starting at `s`: country length from the table, print groups allowed.
fn iban_at(text: &[u8], s: usize) -> Option<usize> {
    let len = validate::iban_length(text.get(s..s + 2)?)?;
    let mut compact = Vec::with_capacity(len);
    let mut i = s;
    let mut last = s;
    while compact.len() < len && i < text.len() {
        let c = text[i];
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            compact.push(c);
            last = i + 1;
        } else if c == b' ' && compact.len() % 4 == 0 && compact.len() >= 4 {
            // separator between print groups
        } else {
            break;
        }
        i += 1;
    }
    if compact.len() != len || !validate::iban(&compact) {
        return None;
    }
    if text.get(last).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::phones::phone_at;
    use crate::detect::sweep::ShapeAt;
    use crate::detect::tests::regex_hits;

    /// The hand-written number shapes, walked like `in_runs` walks a run.
    fn shape_hits(at: ShapeAt, hay: &[u8]) -> Vec<(usize, usize)> {
        let runs = [(0, hay.len(), usize::MAX)];
        in_runs(at, hay, &runs, 0).map(|h| (h.s, h.e)).collect()
    }

    const SHAPES: &[(&str, ShapeAt)] = &[
        (r"[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{1,7}){1,4}", card_at),
        (r"[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}", ssn_at),
        (r"(?:\+|\()?[0-9][0-9 .()-]{5,22}[0-9]", phone_at),
        (r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}|[0-9]{11}", cpf_at),
        (r"[0-9]{3,4}(?:[ -]?[0-9]{3,4}){2}", digits9_12_at),
    ];

    proptest::proptest! {
        /// Each hand-written number shape finds what the regex it replaced finds.
        #[test]
        fn number_shapes_match_their_regexes(run in "[0-9 .()/+-]{0,48}", digits in "[0-9]{0,24}") {
            for hay in [run.as_bytes(), digits.as_bytes()] {
                for (pattern, at) in SHAPES {
                    proptest::prop_assert_eq!(shape_hits(*at, hay), regex_hits(pattern, hay), "{}", pattern);
                }
            }
        }
    }

    #[test]
    fn number_shapes_on_examples() {
        for hay in [
            "4111 1111 1111 1111",
            "(207) 482-3393",
            "+33 1 19 99 77 86",
            "123-45-6789",
            "123.456.789-09",
            "12345678901",
            "943 476 5919",
            "1234567890123456789012",
        ] {
            for (pattern, at) in SHAPES {
                assert_eq!(shape_hits(*at, hay.as_bytes()), regex_hits(pattern, hay.as_bytes()));
            }
        }
    }
}
