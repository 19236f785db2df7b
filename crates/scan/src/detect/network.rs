//! IP and MAC addresses: global IPv4 in runs of digits and dots, global IPv6 and unicast MAC
//! in runs of hex digits and separators.

use regex::bytes::Regex;

use super::nearby::{HEXTOK, bounded};
use super::re;
use super::sweep::Hit;
use crate::bytes::contains;
use crate::kind::Kind;
use crate::validate;

/// The compiled address shapes.
pub(super) struct Network {
    ipv4: Regex,
    ipv6: Regex,
    mac: Regex,
}

impl Network {
    pub(super) fn new() -> Result<Network, regex::Error> {
        Ok(Network {
            ipv4: re(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")?,
            ipv6: re(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}")?,
            mac: re(
                r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",
            )?,
        })
    }

    /// Global IPv4 addresses in the maximal runs of digits and dots that hold three dots.
    pub(super) fn ipv4_runs(
        &self,
        text: &[u8],
        dotted: &[(usize, usize)],
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        // Dotted quads live in maximal runs of digits and dots.
        for m in dotted.iter().flat_map(|&(rs, re)| {
            self.ipv4
                .find_iter(&text[rs..re])
                .map(move |m| Hit { s: rs + m.start(), e: rs + m.end() })
        }) {
            let (s, e) = (m.start(), m.end());
            let prev = if s > 0 { text[s - 1] } else { b' ' };
            if prev.is_ascii_alphanumeric()
                || prev == b'.'
                || prev == b'/' && s >= 2 && text[s - 2].is_ascii_alphabetic()
            {
                continue;
            }
            let next = text.get(e).copied().unwrap_or(b' ');
            if next.is_ascii_alphanumeric()
                || (next == b'.' && text.get(e + 1).is_some_and(u8::is_ascii_digit))
                || next == b'-'
            {
                continue;
            }
            let mut o = [0u8; 4];
            let mut ok = true;
            for (i, part) in text[s..e].split(|&c| c == b'.').enumerate() {
                let n = part.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'));
                if n > 255 || i > 3 || (part.len() > 1 && part[0] == b'0') {
                    ok = false;
                    break;
                }
                o[i] = n as u8;
            }
            if ok && validate::ipv4_global(o) && !version_context(text, s) {
                push(Kind::IpAddress, s, e, 0.9);
            }
        }
    }

    /// IPv6 and MAC addresses inside one maximal run of hex digits and `:` `-` `.`.
    pub(super) fn hex_run(
        &self,
        text: &[u8],
        rs: usize,
        re: usize,
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        if re - rs < 6 {
            return;
        }
        let run = &text[rs..re];
        let colons = run.iter().filter(|&&c| c == b':').count();
        if colons >= 2 {
            for m in self.ipv6.find_iter(run) {
                self.ipv6_at(text, rs + m.start(), rs + m.end(), push);
            }
        }
        if run.len() >= 14 && (colons > 0 || run.iter().any(|&c| c == b'-' || c == b'.')) {
            for m in self.mac.find_iter(run) {
                mac_at(text, rs + m.start(), rs + m.end(), push);
            }
        }
    }

    fn ipv6_at(
        &self,
        text: &[u8],
        s: usize,
        e: usize,
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        let val = &text[s..e];
        if val.len() < 6 || !val.contains(&b':') {
            return;
        }
        let prev = if s > 0 { text[s - 1] } else { b' ' };
        if prev.is_ascii_alphanumeric() || prev == b':' {
            return;
        }
        if let Some(h) = validate::parse_ipv6(val)
            && validate::ipv6_global(h)
        {
            push(Kind::IpAddress, s, e, 0.9);
        }
    }
}

fn mac_at(text: &[u8], s: usize, e: usize, push: &mut impl FnMut(Kind, usize, usize, f32)) {
    let val = &text[s..e];
    if !bounded(text, s, e, HEXTOK) {
        return;
    }
    let seps: Vec<u8> = val.iter().filter(|c| !c.is_ascii_hexdigit()).copied().collect();
    if !seps.windows(2).all(|w| w[0] == w[1]) {
        return;
    }
    let hex: Vec<u8> = val.iter().filter(|c| c.is_ascii_hexdigit()).copied().collect();
    let first = hex_val(hex[0]) * 16 + hex_val(hex[1]);
    if first & 1 == 0 && !hex.iter().all(|&c| c == b'0') {
        push(Kind::MacAddress, s, e, 0.9);
    }
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

fn version_context(text: &[u8], s: usize) -> bool {
    let from = s.saturating_sub(48);
    let w = text[from..s].to_ascii_lowercase();
    contains(&w[w.len().saturating_sub(24)..], b"version")
        || w.ends_with(b"v")
        || contains(&w, b"assembly")
        // After a path segment ("pkg/1.2.3.4"), not after "://" or " /" (a URL's host, Java's
        // "/203.0.113.9:443").
        || w.ends_with(b"/")
            && w.len() >= 2
            && (w[w.len() - 2].is_ascii_alphanumeric() || b"._-".contains(&w[w.len() - 2]))
        || contains(&w, b"oid")
}
