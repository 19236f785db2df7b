//! Secrets inside base64: a value after a `:` or `=` (a Kubernetes `Secret`'s `data`, a
//! kubeconfig's `client-key-data`, a Docker `config.json` `auth`, an `.env` entry) that decodes
//! to text is scanned again as that text, and what is found there is reported over the encoded
//! value, so redaction removes what is stored. A decoded `user:password` in a field that holds
//! credentials (`auth`, `.dockerconfigjson`) is a password.

use super::Cand;
use crate::kind::Kind;
use crate::validate;

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
