//! Secrets inside base64: a value after a `:` or `=` (a Kubernetes `Secret`'s `data`, a
//! kubeconfig's `client-key-data`, a Docker `config.json` `auth`, an `.env` entry) that decodes
//! to text is scanned again as that text, and what is found there is reported over the encoded
//! value, so redaction removes what is stored. A decoded `user:password` in a field that holds
//! credentials (`auth`, `.dockerconfigjson`) is a password.

use super::Cand;
use crate::kind::Kind;
use crate::validate;

/// Runs of URL-encoded text holding an escaped `:` `/` or `@` (`https%3A%2F%2Fu%3Apw%40host`,
/// a query parameter's value), as (start, end, decoded text).
pub(super) fn percent_values(text: &[u8]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'%', &text[i..]).map(|p| i + p) {
        let mut s = p;
        while s > 0 && url_byte(text[s - 1]) {
            s -= 1;
        }
        let mut e = p;
        while e < text.len() && url_byte(text[e]) && e - s < MAX {
            e += 1;
        }
        i = e.max(p + 1);
        let run = &text[s..e];
        let escaped =
            |x: &[u8]| run.windows(3).any(|w| w[0] == b'%' && w[1..].eq_ignore_ascii_case(x));
        if run.len() < MIN || !(escaped(b"3A") || escaped(b"40")) {
            continue;
        }
        let mut dec = Vec::with_capacity(run.len());
        let mut k = 0;
        while k < run.len() {
            match (run[k], run.get(k + 1..k + 3)) {
                (b'%', Some(h)) if h.iter().all(u8::is_ascii_hexdigit) => {
                    let v =
                        std::str::from_utf8(h).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                    dec.push(v.unwrap_or(b'%'));
                    k += 3;
                }
                (b'+', _) => {
                    dec.push(b' ');
                    k += 1;
                }
                (c, _) => {
                    dec.push(c);
                    k += 1;
                }
            }
        }
        if let Ok(d) = String::from_utf8(dec) {
            out.push((s, e, d));
        }
    }
    out
}

fn url_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'%' | b'.' | b'_' | b'~' | b'-' | b'+')
}

/// The shortest encoded value worth decoding (12 bytes of text), and the longest (a PEM key
/// of several KiB, encoded).
const MIN: usize = 16;
const MAX: usize = 16 * 1024;

/// Base64 values after a key separator, as (start, end) of the encoded text, with the text
/// they decode to.
pub(super) fn values(text: &[u8]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = memchr::memchr2(b':', b'=', &text[i..]) {
        let p = i + p;
        i = p + 1;
        let mut s = p + 1;
        while s < text.len() && matches!(text[s], b' ' | b'\t' | b'"' | b'\'') {
            s += 1;
        }
        let n = text[s..]
            .iter()
            .take(MAX + 1)
            .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_'))
            .count();
        if !(MIN..=MAX).contains(&n) {
            continue;
        }
        let mut e = s + n;
        while e < text.len() && text[e] == b'=' && e - s - n < 2 {
            e += 1;
        }
        // Padding-free base64 has no length of 1 mod 4; padded must be whole quads.
        if (e - s) % 4 == 1 || (e > s + n && (e - s) % 4 != 0) {
            continue;
        }
        i = e;
        let Some(decoded) = validate::base64_decode(&text[s..e]) else { continue };
        let Ok(decoded) = String::from_utf8(decoded) else { continue };
        // Text, not bytes that happen to be valid UTF-8.
        if decoded.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            continue;
        }
        out.push((s, e, decoded));
    }
    out
}

/// Whether the key before `at` names a credential that is `user:password` once decoded.
pub(super) fn auth_key_before(text: &[u8], at: usize) -> bool {
    let before = &text[at.saturating_sub(24)..at];
    let key: Vec<u8> = before
        .iter()
        .rev()
        .skip_while(|c| matches!(c, b' ' | b'\t' | b'"' | b'\'' | b':' | b'='))
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        .map(u8::to_ascii_lowercase)
        .collect();
    let key: Vec<u8> = key.into_iter().rev().collect();
    key == b"auth" || key.ends_with(b"dockerconfigjson") || key.ends_with(b"_auth")
}

/// `user:password` with a password worth the name.
pub(super) fn user_password(decoded: &str) -> bool {
    let Some((user, pass)) = decoded.split_once(':') else { return false };
    !user.is_empty()
        && user.len() <= 128
        && !user.contains(char::is_whitespace)
        && pass.len() >= 4
        && !pass.contains(char::is_whitespace)
}

/// The finding an encoded value carries: the most specific secret found in what it decodes
/// to (a token's own type before `PASSWORD` and `GENERIC_SECRET`), or `PASSWORD` for a
/// `user:password` in a credential field.
pub(super) fn carried(inner: &[Cand], auth: bool, decoded: &str) -> Option<Kind> {
    let rank = |k: &Kind| match k {
        Kind::Password => 1,
        Kind::GenericSecret => 0,
        _ => 2,
    };
    let best = inner.iter().filter(|c| c.kind.is_secret()).max_by_key(|c| rank(&c.kind));
    match best {
        Some(c) => Some(c.kind.clone()),
        None if auth && user_password(decoded) => Some(Kind::Password),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_after_separators_decode_to_their_text() {
        let text = b"data:\n  password: aHVudGVyMjpzM2NyZXQtcGFzcw==\n  id=0123456789abcdef0123\n";
        let v = values(text);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].2, "hunter2:s3cret-pass");
        assert_eq!(&text[v[0].0..v[0].1], b"aHVudGVyMjpzM2NyZXQtcGFzcw==");
        assert!(auth_key_before(b"\"auth\": \"", 9));
        assert!(!auth_key_before(b"\"author\": \"", 11));
    }
}
