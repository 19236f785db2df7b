//! Passwords and generic secrets found by where they sit: `key = value` pairs with a
//! secret-ish key name, `user:password@` in URLs, shell command flags and auth headers.

use regex::bytes::Regex;

use super::prefilter::group;
use super::re;
use super::values::{generic_value, password_literal, password_value, placeholder};
use crate::bytes::contains;
use crate::kind::Kind;
use crate::validate;

/// The compiled credential contexts.
pub(super) struct Credentials {
    url_cred: Regex,
    shell: Vec<(Regex, Kind)>,
    auth_header: Regex,
}

impl Credentials {
    pub(super) fn new() -> Result<Credentials, regex::Error> {
        let shell = vec![
            (re(r#"sshpass\s+-p\s*['"]?([^\s'"]+)"#)?, Kind::Password),
            (re(r"mysql(?:dump)?\b[^\n]*?\s-p([^\s'\x22-][^\s'\x22]*)")?, Kind::Password),
            (re(r#"redis-cli\b[^\n]*?\s-a\s+['"]?([^\s'"]+)"#)?, Kind::Password),
            (re(r#"curl\b[^\n]*?\s(?:-u|--user)\s+['"]?[^\s:'"]+:([^\s'"]+)"#)?, Kind::Password),
            (re(r#"\blogin\b[^\n]*?\s(?:-p|--password)\s+['"]?([^\s'"]+)"#)?, Kind::Password),
            // `az login --service-principal -p` takes the application's client secret.
            (
                re(r#"\baz\s+login\b[^\n]*?\s(?:-p|--password)\s+['"]?([^\s'"]+)"#)?,
                Kind::GenericSecret,
            ),
            // keytool and jarsigner: -storepass, -keypass, -srcstorepass, -deststorepass,
            // -new (a `:file` or `:env` suffix names where the password is, not the password).
            (
                re(r#"\s-(?:src|dest)?(?:store|key)?pass(?:word)?\s+['"]?([^\s'"]+)"#)?,
                Kind::Password,
            ),
            // openssl: -passin pass:..., -passout pass:..., -pass pass:...
            (re(r#"\s-pass(?:in|out)?\s+['"]?pass:([^\s'"]+)"#)?, Kind::Password),
            (re(r#"\s--password(?:=|\s+)['"]?([^\s'"-][^\s'"]*)"#)?, Kind::Password),
        ];
        Ok(Credentials {
            url_cred: re(r"[A-Za-z][A-Za-z0-9+.-]+://[^\s:/@'\x22<>]*:([^\s@'\x22<>/]+)@")?,
            shell,
            auth_header: re(r#"(?i)\b(bearer|basic|token)[ \t]+([^\s'"<>\\]{8,})"#)?,
        })
    }

    /// Runs the credential detectors the prefilter allows.
    pub(super) fn run(
        &self,
        text: &[u8],
        grp: u32,
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        let on = |bits: u32| grp & bits != 0;
        if on(group::KV) {
            self.key_values(text, push);
        }
        if on(group::URL) {
            for c in self.url_cred.captures_iter(text) {
                let Some(m) = c.get(1) else { continue };
                if password_literal(m.as_bytes()) {
                    push(Kind::Password, m.start(), m.end(), 0.9);
                }
            }
        }
        if on(group::SHELL) {
            for (re, kind) in &self.shell {
                // The more specific rules come later and win a tie on the same value.
                let conf = if *kind == Kind::GenericSecret { 0.89 } else { 0.88 };
                for c in re.captures_iter(text) {
                    let Some(m) = c.get(1) else { continue };
                    // A command's argument is a literal: a snake_case word is a passphrase.
                    if password_literal(m.as_bytes()) {
                        push(kind.clone(), m.start(), m.end(), conf);
                    }
                }
            }
        }
        if on(group::AUTH) {
            for c in self.auth_header.captures_iter(text) {
                let (Some(scheme), Some(m)) = (c.get(1), c.get(2)) else { continue };
                let val = m.as_bytes();
                if scheme.as_bytes().eq_ignore_ascii_case(b"basic") {
                    let dec = validate::base64_decode(val).unwrap_or_default();
                    if dec.contains(&b':') && std::str::from_utf8(&dec).is_ok() {
                        push(Kind::Password, m.start(), m.end(), 0.9);
                    }
                } else if generic_value(val) {
                    push(Kind::GenericSecret, m.start(), m.end(), 0.75);
                }
            }
        }
    }

    fn key_values(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        let mut lower = Vec::new();
        for (ks, ke, after) in key_seps(text) {
            // `PasswordOptions::new`, `token::Paren`: a path, not a key and its value.
            if crate::bytes::find(&text[ke..after], b"::").is_some()
                || text[ke..after].ends_with(b":") && text.get(after) == Some(&b':')
            {
                continue;
            }
            lower.clear();
            lower.extend(text[ks..ke].iter().map(u8::to_ascii_lowercase));
            let k = trim_key(&lower);
            let Some((vs, ve)) = value_after(text, after) else { continue };
            let val = &text[vs..ve];
            // A `Cookie:` header's cookies are judged one by one (formats.rs), by their names.
            if k == b"cookie" || k == b"set-cookie" {
                continue;
            }
            let kind = classify_key(k);
            match kind {
                KeyClass::Password => {
                    let quoted = vs > 0 && matches!(text[vs - 1], b'"' | b'\'' | b'`');
                    if if quoted || whole_line(text, ks, ve) {
                        password_literal(val)
                    } else {
                        password_value(val)
                    } {
                        push(Kind::Password, vs, ve, 0.85);
                    }
                }
                KeyClass::AwsSecret => {
                    if val.len() == 40
                        && val.iter().all(|c| c.is_ascii_alphanumeric() || b"/+".contains(c))
                        && !placeholder(val)
                    {
                        push(Kind::AwsSecretAccessKey, vs, ve, 0.95);
                    } else if generic_value(val) {
                        push(Kind::GenericSecret, vs, ve, 0.7);
                    }
                }
                KeyClass::Secret => {
                    // Vault and Consul tokens are UUIDs: one quoted under a `token` key is one.
                    let quoted = vs > 0 && matches!(text[vs - 1], b'"' | b'\'');
                    let uuid_token = quoted && k.ends_with(b"token") && uuid(val);
                    if generic_value(val) || uuid_token {
                        push(Kind::GenericSecret, vs, ve, 0.7);
                    }
                }
                KeyClass::None => {}
            }
        }
    }
}

/// The keys of `key = value` pairs whose name holds a secret-ish word, as
/// `(key_start, key_end, value_start)`: what [`KV_PATTERN`] finds with `find_iter`
/// (leftmost first, non-overlapping), without a regex pass over the whole text.
///
/// Every such match ends its key right before an optional quote, blanks and the
/// separator, and the separator is the first byte after them, so each `:` or `=` is
/// looked at once: walk back over blanks, a quote and key bytes (never before the end of
/// the previous match, where the regex search would resume), then look for the word.
fn key_seps(text: &[u8]) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    let (mut from, mut i) = (0, 0);
    std::iter::from_fn(move || {
        while let Some(p) = memchr::memchr2(b':', b'=', &text[i..]) {
            let p = i + p;
            i = p + 1;
            let mut q = p;
            while q > from && matches!(text[q - 1], b' ' | b'\t') {
                q -= 1;
            }
            if q > from && matches!(text[q - 1], b'"' | b'\'') {
                q -= 1;
            }
            let ke = q;
            while q > from && is_key_byte(text[q - 1]) {
                q -= 1;
            }
            if !secret_word(&text[q..ke]) {
                continue;
            }
            let next = text.get(p + 1).copied();
            let mut e = p + if text[p] == b':' && next == Some(b'=')
                || text[p] == b'=' && next == Some(b'>')
            {
                2
            } else {
                1
            };
            while e < text.len() && matches!(text[e], b' ' | b'\t') {
                e += 1;
            }
            from = e;
            i = e;
            return Some((q, ke, e));
        }
        i = text.len();
        None
    })
}

/// The regex [`key_seps`] implements (kept for the equivalence test).
#[cfg(test)]
const KV_PATTERN: &str = r#"(?i)([a-z0-9_.-]*(?:pass|pwd|secret|token|key|auth|session|cookie|credential)[a-z0-9_.-]*)["']?[ \t]*(?::=|=>|[:=])[ \t]*"#;

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// `k` contains `pass`, `pwd`, `secret`, `token`, `key`, `auth`, `session`, `cookie` or
/// `credential` (ASCII case-insensitive).
fn secret_word(k: &[u8]) -> bool {
    let at =
        |i: usize, w: &[u8]| k.len() - i >= w.len() && k[i..i + w.len()].eq_ignore_ascii_case(w);
    (0..k.len()).any(|i| match k[i].to_ascii_lowercase() {
        b'p' => at(i, b"pass") || at(i, b"pwd"),
        b's' => at(i, b"secret") || at(i, b"session"),
        b't' => at(i, b"token"),
        b'k' => at(i, b"key"),
        b'a' => at(i, b"auth"),
        b'c' => at(i, b"cookie") || at(i, b"credential"),
        _ => false,
    })
}

enum KeyClass {
    Password,
    AwsSecret,
    Secret,
    None,
}

fn trim_key(k: &[u8]) -> &[u8] {
    let mut k = k;
    while let [b'_' | b'-' | b'.', rest @ ..] = k {
        k = rest;
    }
    k
}

fn classify_key(k: &[u8]) -> KeyClass {
    if contains(k, b"aws_secret")
        || contains(k, b"secret_access_key")
        || contains(k, b"secretaccesskey")
    {
        return KeyClass::AwsSecret;
    }
    if contains(k, b"pass") || k == b"pwd" || k.ends_with(b"_pwd") || contains(k, b"passwd") {
        if contains(k, b"passport")
            || contains(k, b"bypass")
            || contains(k, b"passthrough")
            || contains(k, b"passes")
            || contains(k, b"passive")
            || contains(k, b"passeng")
            || contains(k, b"compass")
            || k.ends_with(b"_file")
            || k.ends_with(b"_path")
            // Helm's `adminPasswordKey: postgres-password` names a key of a Secret.
            || k.ends_with(b"passwordkey")
            || k.ends_with(b"password_key")
            || k.ends_with(b"passwordref")
        {
            return KeyClass::None;
        }
        return KeyClass::Password;
    }
    const NOT: &[&[u8]] = &[
        b"_id",
        b"keyid",
        b"key_id",
        b"_name",
        b"keyname",
        b"_url",
        b"_uri",
        b"_path",
        b"_file",
        b"_type",
        b"keys",
        b"_ttl",
        b"_at",
        b"expires",
        b"_len",
        b"length",
        b"_size",
        b"monkey",
        b"donkey",
        b"turkey",
        b"hotkey",
        b"keyboard",
        b"primary_key",
        b"foreign_key",
        b"sort_key",
        b"partition_key",
        b"public",
        b"pub_key",
        b"publishable",
        b"_count",
        b"tokenizer",
        b"tokens",
        b"max_",
        b"keyspace",
        b"_header",
        b"_prefix",
        b"_endpoint",
        b"_region",
        b"_ref",
        b"_version",
        b"_hash",
        b".url",
        b"bucket",
        b"authsource",
        b"author",
        b"authority",
        b"authoriz",
        b"jsonwebtoken",
    ];
    if NOT.iter().any(|n| k.ends_with(n) || n.len() > 4 && contains(k, n)) {
        return KeyClass::None;
    }
    const YES: &[&[u8]] = &[
        b"secret",
        b"token",
        b"api_key",
        b"apikey",
        b"api-key",
        b"access_key",
        b"accesskey",
        b"private_key",
        b"auth_key",
        b"signing_key",
        b"encryption_key",
        b"master_key",
        b"routing_key",
        b"session",
        b"cookie",
        b"credential",
        b"client_key",
        b"app_key",
        b"license_key",
        b"_key",
        b"-key",
        b"auth",
    ];
    if YES.iter().any(|y| contains(k, y)) { KeyClass::Secret } else { KeyClass::None }
}

/// A `key=value` line of its own (INI, properties, .env, shell): its value is a literal.
fn whole_line(text: &[u8], ks: usize, ve: usize) -> bool {
    // Only blanks back to the line's start (stopping at the first other byte: a scan back to
    // the line's start from every key of a long line was quadratic).
    let blanks = text[..ks].iter().rev().take_while(|&&c| c == b' ' || c == b'\t').count();
    (ks == blanks || text[ks - blanks - 1] == b'\n')
        && text[ve..].iter().take_while(|&&c| c != b'\n').all(|c| c.is_ascii_whitespace())
}

/// `8-4-4-4-12` hex digits.
fn uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() }
        })
}

/// The longest value a key/value detector reads (`generic_value` keeps up to 4,096 bytes).
const MAX_VALUE: usize = 4096;

/// The value after a `key=` / `key: ` / `"key": ` separator: quoted or up to whitespace.
fn value_after(text: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let q = *text.get(i)?;
    if q == b'"' || q == b'\'' || q == b'`' {
        i += 1;
        // Values longer than any secret the detectors keep are not read to their end (a
        // line of thousands of `password=` was quadratic).
        let n = text[i..].iter().take(MAX_VALUE + 1).take_while(|&&c| c != q && c != b'\n').count();
        if text.get(i + n) != Some(&q) || n == 0 {
            return None;
        }
        // In JSON strings an escaped quote would end too early; such values are rare.
        return Some((i, i + n));
    }
    let n = text[i..]
        .iter()
        .take(MAX_VALUE + 1)
        .take_while(|&&c| !c.is_ascii_whitespace() && c != b'"' && c != b'\'' && c != b'`')
        .count();
    if n > MAX_VALUE {
        return None;
    }
    let mut e = i + n;
    while e > i && b",;)}]".contains(&text[e - 1]) {
        e -= 1;
    }
    if e == i { None } else { Some((i, e)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::regex_hits;

    proptest::proptest! {
        /// `key_seps` finds what the key=value regex finds.
        #[test]
        fn key_seps_match_the_regex(text in "[paSsWdkeyToKnauthcoi_.:=> \t\"'x-]{0,60}") {
            let got: Vec<(usize, usize)> =
                key_seps(text.as_bytes()).map(|(s, _, e)| (s, e)).collect();
            proptest::prop_assert_eq!(got, regex_hits(KV_PATTERN, text.as_bytes()));
        }
    }
}
