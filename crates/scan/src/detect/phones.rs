//! Phone numbers: phone-shaped runs in the numeric runs, accepted by international (country
//! code and length) or national format, or by a phone word just before them.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::nearby::{NUMTOK, left_ok, near_word, right_ok};
use super::prefilter::group;
use super::sweep::in_runs;
use crate::kind::Kind;

/// Phones in the numeric runs.
/// Not a phone number: a decimal fraction (`0.69486747`, `-0.5`: embeddings, weights) or a
/// run of one-digit groups (`0 1 1 0 2 0 3 1`: an array printed by numpy).
fn decimal_or_digits(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"-").unwrap_or(v);
    let fraction = v.starts_with(b"0.") && v[2..].iter().all(u8::is_ascii_digit);
    let groups: Vec<&[u8]> = v.split(|&c| c == b' ').collect();
    fraction || groups.len() >= 6 && groups.iter().all(|g| g.len() == 1)
}

pub(super) fn phones(
    text: &[u8],
    grp: u32,
    runs: &[(usize, usize, usize)],
    push: &mut impl FnMut(Kind, usize, usize, f32),
) {
    for m in in_runs(phone_at, text, runs, 7) {
        let (mut s, mut e) = (m.start(), m.end());
        // Balance parentheses at the edges.
        let val = &text[s..e];
        let opens = val.iter().filter(|&&c| c == b'(').count();
        let closes = val.iter().filter(|&&c| c == b')').count();
        if opens != closes {
            if text[s] == b'(' {
                s += 1;
            } else {
                continue;
            }
        }
        while e > s && !text[e - 1].is_ascii_digit() {
            e -= 1;
        }
        if !left_ok(text, s, NUMTOK) || !right_ok(text, e) {
            continue;
        }
        if decimal_or_digits(&text[s..e]) {
            continue;
        }
        let ctx = grp & group::PHONE_CTX != 0 && near_word(text, s, 48, PHONE_WORDS);
        if let Some(conf) = phone_shape(&text[s..e], ctx) {
            push(Kind::Phone, s, e, conf);
        }
    }
}

/// `(?:\+|\()?[0-9][0-9 .()-]{5,22}[0-9]` anchored at `i`: a phone-shaped run, as long as
/// the greedy repetition allows, ending on a digit.
pub(super) fn phone_at(h: &[u8], i: usize) -> Option<usize> {
    let p = i + usize::from(matches!(h[i], b'+' | b'('));
    if !h.get(p).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let p = p + 1;
    let class = h[p..]
        .iter()
        .take(23)
        .take_while(|&&c| c.is_ascii_digit() || b" .()-".contains(&c))
        .count();
    (5..class.min(23)).rev().find(|&l| h[p + l].is_ascii_digit()).map(|l| p + l + 1)
}

const PHONE_WORDS: &[&[u8]] = &[
    b"phone",
    b"tel",
    b"mobile",
    b"cell",
    b"call",
    b"sms",
    b"whatsapp",
    b"fax",
    b"numer",
    "τηλέφων".as_bytes(),
    "телефон".as_bytes(),
    "טלפון".as_bytes(),
    "هاتف".as_bytes(),
    "फ़ोन".as_bytes(),
    "फोन".as_bytes(),
    "điện thoại".as_bytes(),
    "電話".as_bytes(),
    "电话".as_bytes(),
    "전화".as_bytes(),
    "携帯".as_bytes(),
    b"telefon",
    b"celular",
    "teléfono".as_bytes(),
    "téléphone".as_bytes(),
    b"bel me",
];

/// Phone shape check; returns a confidence or `None`.
///
/// Phone candidates are at most 25 bytes (the shape's bounded repetition), so the digits,
/// group lengths and separators live in fixed arrays; longer text is not a phone.
fn phone_shape(val: &[u8], ctx: bool) -> Option<f32> {
    const MAX: usize = 32;
    if val.len() > MAX {
        return None;
    }
    let (mut dv, mut gv, mut sv) = ([0u8; MAX], [0usize; MAX], [0u8; MAX]);
    let (mut n, mut ng, mut ns, mut run) = (0, 0, 0, 0);
    for &c in val {
        if c.is_ascii_digit() {
            dv[n] = c - b'0';
            n += 1;
            run += 1;
            continue;
        }
        if run > 0 {
            gv[ng] = run;
            ng += 1;
            run = 0;
        }
        if c != b'+' {
            sv[ns] = c;
            ns += 1;
        }
    }
    if run > 0 {
        gv[ng] = run;
        ng += 1;
    }
    let (d, glens, seps) = (&dv[..n], &gv[..ng], &sv[..ns]);
    let groups = glens;
    // Dates, times, IPs, versions and SSNs are not phones.
    if seps.iter().all(|&c| c == b'.') && glens.len() == 4 && glens.iter().all(|&l| l <= 3) {
        return None;
    }
    if glens.len() == 3 && seps.iter().all(|&c| c == b'-') && glens == [3, 2, 4] {
        return None;
    }
    if glens.len() >= 3
        && (glens[0] == 4 && (d[0] == 1 || d[0] == 2) && glens[1] <= 2 && glens[2] <= 2)
    {
        return None;
    }
    if glens.len() >= 3
        && glens[0] <= 2
        && glens[1] <= 2
        && glens[2] == 4
        && seps.first().is_some_and(|&c| c == b'/' || c == b'.')
    {
        return None;
    }
    if seps.contains(&b'.') && !seps.iter().all(|&c| c == b'.') {
        return None;
    }
    // "2022 -0700": a year and a time zone, not a phone.
    if val.windows(2).any(|w| w == b" -" || w == b"- ") {
        return None;
    }
    if val[0] == b'+' {
        return international_valid(d).then_some(0.9);
    }
    // `00` is the international prefix of most countries: `0049 30 901820`.
    if n >= 10 && d[0] == 0 && d[1] == 0 && d[2] != 0 && international_valid(&d[2..]) {
        return Some(0.85);
    }
    if !(8..=12).contains(&n) {
        return None;
    }
    // Ten bare digits starting with 1 are epoch seconds: no national phone format here
    // (NANP area codes start at 2, most others with a trunk 0) writes them that way.
    if n == 10 && glens.len() == 1 && d[0] == 1 {
        return None;
    }
    let nanp_shape = matches!(glens, [3, 3, 4] | [1, 3, 3, 4]);
    if nanp_shape {
        let o = if glens.len() == 4 { 1 } else { 0 };
        if (o == 0 || d[0] == 1) && d[o] >= 2 && d[o + 3] >= 2 {
            return Some(0.85);
        }
    }
    if groups.len() >= 2 && d[0] == 0 && (9..=12).contains(&n) {
        return Some(0.8);
    }
    if groups.len() >= 2 && d[0] == 8 && val.contains(&b'(') && n == 11 {
        return Some(0.8);
    }
    if groups.len() >= 3 && n == 9 && d[0] >= 6 && (glens == [3, 2, 2, 2] || glens == [3, 3, 3]) {
        return Some(0.7);
    }
    if matches!(glens, [3, 4, 4]) && d[0] == 1 {
        return Some(0.75);
    }
    if matches!(glens, [5, 5]) && d[0] >= 6 {
        return Some(0.7);
    }
    if matches!(glens, [2, 3, 4] | [2, 4, 4] | [3, 4, 4]) && seps.iter().all(|&c| c == b'-') {
        return Some(0.7);
    }
    // Brazil: (dd) dddd-dddd / (dd) ddddd-dddd.
    if val[0] == b'(' && matches!(glens, [2, 4, 4] | [2, 5, 4]) {
        return Some(0.8);
    }
    if matches!(glens, [3, 3, 4]) && d[0] >= 2 {
        return Some(0.6);
    }
    if ctx && (9..=11).contains(&n) {
        return Some(0.6);
    }
    None
}

/// Whether `digits` (country calling code first) are a valid number of the country whose code
/// they start with, by libphonenumber's metadata (the `phonenumber` crate): for one of the
/// code's regions, one kind of number (fixed line, mobile, toll free, ...) has the national
/// number's length among its possible lengths and a pattern matching the whole of it, for
/// every country the library knows.
///
/// The patterns are compiled once, here: the crate's own `parse` and `is_valid` share an LRU
/// of 100 compiled patterns among more than 250 regions, so in a scan they recompile nearly
/// every time (about 250 µs a number, which made PII-dense text ten times slower).
fn international_valid(digits: &[u8]) -> bool {
    if !(8..=17).contains(&digits.len()) {
        return false;
    }
    let text: String = digits.iter().map(|&d| char::from(b'0' + d)).collect();
    let table = patterns();
    // Calling codes are prefix-free: the first that exists is the number's.
    for cc_len in 1..=3 {
        let Ok(code) = text[..cc_len].parse::<u16>() else { return false };
        let Some(regions) = table.get(&code) else { continue };
        let national = &text[cc_len..];
        let len = national.len() as u16;
        return regions.iter().any(|(lengths, re)| {
            (lengths.is_empty() || lengths.contains(&len)) && re.is_match(national)
        });
    }
    false
}

/// Per calling code, each region's kinds of number: possible national lengths and the
/// whole-number pattern.
type Patterns = HashMap<u16, Vec<(Vec<u16>, regex::Regex)>>;

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let mut out = Patterns::new();
        for code in 1..1000u16 {
            let Some(regions) = phonenumber::metadata::DATABASE.by_code(&code) else { continue };
            let mut compiled = Vec::new();
            for meta in regions {
                let d = meta.descriptors();
                // The kinds of number libphonenumber calls valid (its `number_type` is not
                // `Unknown`); the general descriptor is empty in the crate's data.
                for desc in [
                    d.fixed_line(),
                    d.mobile(),
                    d.toll_free(),
                    d.premium_rate(),
                    d.shared_cost(),
                    d.personal_number(),
                    d.voip(),
                    d.pager(),
                    d.uan(),
                    d.voicemail(),
                ]
                .into_iter()
                .flatten()
                {
                    let pattern = desc.national_number().as_str();
                    if pattern.is_empty() {
                        continue;
                    }
                    // The metadata's patterns are laid out over lines: verbose syntax.
                    let built = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
                        .ignore_whitespace(true)
                        .build();
                    if let Ok(re) = built {
                        compiled.push((desc.possible_length().to_vec(), re));
                    }
                }
            }
            out.insert(code, compiled);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_shapes() {
        assert!(phone_shape(b"(207) 482-3393", false).is_some());
        assert!(phone_shape(b"+33 1 19 99 77 86", false).is_some());
        assert!(phone_shape(b"2025-01-24", false).is_none());
        assert!(phone_shape(b"1732312345", false).is_none());
        assert!(phone_shape(b"727-74-1648", false).is_none());
        // Countries the development corpus never had, by libphonenumber's rules.
        for valid in ["+61 2 9374 4000", "+41 44 668 18 00", "+52 55 5080 2000", "+27 21 480 7911"]
        {
            assert!(phone_shape(valid.as_bytes(), false).is_some(), "{valid}");
        }
        // A valid country code with a national number of the wrong length.
        assert!(phone_shape(b"+61 2 9374 40", false).is_none());
        assert!(phone_shape(b"0041 44 668 18 00", false).is_some());
    }
}
