//! Street addresses: from address keys (`"address": "…"`) and cues, kept when their shape
//! is an address (a number, several words, no e-mail, URL or IP).

use regex::bytes::Regex;

use super::nearby::{is_word, trim};
use super::{Cand, re};
use crate::bytes::contains;
use crate::kind::Kind;

/// The compiled address key shape.
pub(super) struct Addresses {
    json_addr: Regex,
}

impl Addresses {
    pub(super) fn new() -> Result<Addresses, regex::Error> {
        Ok(Addresses {
            json_addr: re(
                r#"(?i)["']?(?:address|street_?address|street|shipping_?address|billing_?address|home_?address|mailing_?address|postal_?address|addr)["']?\s*[:=]\s*["']((?:[^"\\\n]|\\u[0-9a-fA-F]{4}|\\n)+)["']"#,
            )?,
        })
    }

    /// Addresses under an address key.
    pub(super) fn run(&self, text: &[u8], out: &mut Vec<Cand>) {
        for c in self.json_addr.captures_iter(text) {
            let (Some(all), Some(m)) = (c.get(0), c.get(1)) else { continue };
            if all.start() > 0 && (is_word(text[all.start() - 1])) {
                continue;
            }
            let (s, e) = trim(text, m.start(), m.end());
            if looks_like_address(&text[s..e]) {
                out.push(Cand { kind: Kind::StreetAddress, start: s, end: e, conf: 0.8 });
            }
        }
    }
}

/// The address after a cue ending at `s`; a block runs to the next blank line.
pub(super) fn after_cue(text: &[u8], s: usize, block: bool, out: &mut Vec<Cand>) {
    if let Some((a, b)) = take_address(text, s, block) {
        out.push(Cand { kind: Kind::StreetAddress, start: a, end: b, conf: 0.75 });
    }
}

const ADDR_SUFFIXES: &[&str] = &["입니다", "です", " है", "에 살아요", "에요"];

/// An address after a cue: to the end of the sentence, or to a blank line for blocks.
fn take_address(text: &[u8], s: usize, block: bool) -> Option<(usize, usize)> {
    let mut a = s;
    while a < text.len() && (text[a] == b' ' || text[a] == b'\t') {
        a += 1;
    }
    let max = (a + 200).min(text.len());
    let mut e = a;
    let mut i = a;
    while i < max {
        let c = text[i];
        if block {
            if c == b'\n' && text.get(i + 1).is_none_or(|&n| n == b'\n' || n == b'\r') {
                break;
            }
        } else if c == b'\n'
            || c == b'\r'
            || c == b'"' && text.get(i + 1).is_none_or(|n| !n.is_ascii_alphabetic() && *n < 0x80)
        {
            break;
        } else if c == b'.' {
            let next = text.get(i + 1).copied();
            let word_start = text[a..i].iter().rposition(|&x| x == b' ').map_or(a, |p| a + p + 1);
            let word = &text[word_start..i];
            let wstr = std::str::from_utf8(word).unwrap_or("");
            let wlen = wstr.chars().count();
            let short_word = wlen <= 4 && wstr.chars().next().is_some_and(char::is_alphabetic);
            let abbrev_any = short_word
                && (wstr.chars().next().is_some_and(char::is_lowercase)
                    || !wstr.is_ascii()
                    || wlen == 1);
            let next2 = text.get(i + 2).copied();
            // "Apt. 932" and "д. 699" continue; "…, 24128. Next" ends the address.
            let sentence_end = match next {
                None | Some(b'\n') | Some(b'\r') => true,
                Some(b' ') => !abbrev_any && !next2.is_some_and(|x| x.is_ascii_digit()),
                _ => false,
            };
            if sentence_end {
                break;
            }
        } else if text[i..].starts_with("，".as_bytes())
            || text[i..].starts_with("。".as_bytes())
            || text[i..].starts_with("।".as_bytes())
        {
            break;
        }
        i += 1;
        if !c.is_ascii_whitespace() {
            e = i;
        }
    }
    while e > a && text.get(e).is_some_and(|&c| (0x80..0xc0).contains(&c)) {
        e -= 1;
    }
    let mut s2 = std::str::from_utf8(&text[a..e]).ok()?.trim_end();
    for suf in ADDR_SUFFIXES {
        if let Some(x) = s2.strip_suffix(suf) {
            s2 = x.trim_end();
        }
    }
    let s2 = s2.trim_end_matches([',', ' ', ';']);
    if !looks_like_address(s2.as_bytes()) {
        return None;
    }
    Some((a, a + s2.len()))
}

/// A postal address by shape: some length, a number somewhere (house or postcode),
/// several words, and nothing that looks like an e-mail, URL or IP.
pub(super) fn looks_like_address(b: &[u8]) -> bool {
    if b.len() < 8 || b.len() > 300 {
        return false;
    }
    if contains(b, b"@")
        || contains(b, b"://")
        || contains(b, b"0x")
        || b.starts_with(b"{")
        || b.starts_with(b"[")
        // Code: `address: *mut u32`, `_address: &str, port: u16) -> Socket`.
        || b.starts_with(b"*")
        || b.starts_with(b"&")
        || contains(b, b"->")
        || contains(b, b"::")
    {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = std::str::from_utf8(b)
        .map(|s| s.chars().filter(|c| c.is_alphabetic()).count())
        .unwrap_or(0);
    if digits == 0 || letters < 3 {
        return false;
    }
    // IPs, MACs, hashes.
    if b.iter().all(|c| c.is_ascii_hexdigit() || b".:-".contains(c)) {
        return false;
    }
    let words = b.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).count();
    words >= 2 || b.iter().any(|&c| c >= 0x80)
}
