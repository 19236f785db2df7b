//! Whether a matched value is a real secret: placeholders and documentation values, password
//! plausibility, and the shape and entropy of a generic secret.

use crate::bytes::{self, class, contains};
use crate::validate;

/// Placeholder and documentation credentials are negatives.
///
/// One pass that dispatches on each byte (ASCII case-insensitive) to the few markers
/// starting with it, instead of lowercasing a copy and searching once per marker.
pub(super) fn placeholder(s: &[u8]) -> bool {
    let at =
        |i: usize, m: &[u8]| s.len() - i >= m.len() && s[i..i + m.len()].eq_ignore_ascii_case(m);
    (0..s.len()).any(|i| match s[i].to_ascii_lowercase() {
        b'<' => true,
        b'e' => at(i, b"example"),
        b'x' => at(i, b"xxxx"),
        b'y' => at(i, b"your_") || at(i, b"your-"),
        b'$' => at(i, b"${"),
        b'{' => at(i, b"{{"),
        b'p' => at(i, b"placeholder"),
        b'r' => at(i, b"redacted") || at(i, b"replace_me") || at(i, b"replaceme"),
        b'd' => at(i, b"dummy"),
        b'0' => at(i, b"00000000"),
        b'1' => at(i, b"12345678"),
        b'a' => at(i, b"abcdef01"),
        b'*' => at(i, b"****"),
        _ => false,
    })
}

/// A plausible password value (not a placeholder, reference or expression).
pub(super) fn password_value(v: &[u8]) -> bool {
    password_check(v, false)
}

fn password_check(v: &[u8], literal: bool) -> bool {
    if v.len() < 4 || v.len() > 128 {
        return false;
    }
    let l = v.to_ascii_lowercase();
    const WORDS: &[&[u8]] = &[
        b"changeme",
        b"password",
        b"secret",
        b"null",
        b"none",
        b"true",
        b"false",
        b"xxx",
        b"***",
        b"redacted",
        b"hidden",
        b"masked",
        b"example",
        b"required",
        b"optional",
        b"undefined",
        b"your_password",
        b"yourpassword",
        b"pass",
        b"test",
        b"admin",
        b"string",
        b"str",
        b"env",
        // RabbitMQ's and many images' default account: documented, not a secret.
        b"guest",
    ];
    // Code: a type (`&[u8]`, `impl AsRef`, `proc_macro::TokenStream`), a path, a call
    // (`get_password(name`), a link.
    if v[0] == b'&'
        || crate::bytes::find(v, b"::").is_some()
        || l.starts_with(b"http://")
        || l.starts_with(b"https://")
        || matches!(l.as_slice(), b"impl" | b"dyn" | b"mut" | b"self" | b"bytes")
        || l.starts_with(b"*mut")
        || l.starts_with(b"*const")
        || v.iter().position(|&c| c == b'(').is_some_and(|i| {
            // A call: a lower-case name with `_` or `.` in it, or of five letters or more
            // (`get_password(name`, `password.map(|s|`, `input(`), and no symbols after.
            let name = &v[..i];
            name.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.".contains(c))
                && (name.iter().any(|c| b"_.".contains(c))
                    || name.len() >= 5 && name.iter().all(u8::is_ascii_lowercase))
                && v[i + 1..].iter().all(|c| c.is_ascii_alphanumeric() || b"_.,|&*) ".contains(c))
        })
    {
        return false;
    }
    // Terraform prints `(sensitive value)` and `(known after apply)` in plans.
    if WORDS.contains(&l.as_slice())
        || placeholder(v)
        || l.starts_with(b"(sensitive")
        || l.starts_with(b"(known")
    {
        return false;
    }
    if template_ref(v)
        || v.iter().all(|&c| c == v[0])
        || contains(&l, b"os.environ")
        || contains(&l, b"process.env")
        || contains(&l, b"getenv")
        || contains(&l, b"secrets.")
        || v.windows(2).any(|w| w == b"()")
        || (v.ends_with(b")") || v.ends_with(b"("))
            && v.iter().position(|&c| c == b'(').is_some_and(|i| {
                i > 0
                    && v[..i].iter().all(|c| c.is_ascii_alphanumeric() || b"_.".contains(c))
                    && v[..i].iter().any(u8::is_ascii_lowercase)
                    && !v[..i].iter().any(u8::is_ascii_digit)
            })
    {
        return false;
    }
    // Identifiers in code (`password=password_input`) are not values.
    if !literal && v.iter().all(|c| c.is_ascii_lowercase() || *c == b'_') && v.contains(&b'_') {
        return false;
    }
    // An identifier in code (`kSecAccessControlApplicationPassword`, `CFStringRef`): letters
    // of both cases, no digit or symbol, outside quotes.
    if !literal
        && v.len() >= 8
        && v.iter().all(u8::is_ascii_alphabetic)
        && v.iter().any(u8::is_ascii_uppercase)
        && v.iter().any(u8::is_ascii_lowercase)
        && v[1..].iter().any(u8::is_ascii_uppercase)
    {
        return false;
    }
    // Names of environment variables (`passenv = DB_PASSWORD,API_TOKEN`).
    if v.contains(&b'_')
        && v[0].is_ascii_uppercase()
        && v.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'_' | b','))
    {
        return false;
    }
    true
}

/// [`password_value`] for a value that can only be a literal (in a URL, or quoted): a
/// `snake_case` word there is a passphrase, not the name of a variable.
pub(super) fn password_literal(v: &[u8]) -> bool {
    password_check(v, true)
}

/// A reference or template instead of a value: `${DB_PASSWORD}`, `$DB_PASS`, `$(cat f)`,
/// `<password>`, `%(pw)s`, `{{ pw }}`, `[REDACTED]`, `(hidden)`, `****`. Random passwords
/// may start with the same punctuation, so the bracket forms need their closing bracket.
fn template_ref(v: &[u8]) -> bool {
    let closes = |c: u8| v.len() > 1 && v[1..].contains(&c);
    match v[0] {
        b'$' => {
            v.get(1).is_some_and(|&c| c == b'{' || c == b'(')
                || v[1..].iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
        }
        b'<' => closes(b'>'),
        // `%(name)s`, `%{name}`, `%s` alone, `%NAME%` (not `%sakura2012!`).
        b'%' => {
            v.get(1).is_some_and(|&c| matches!(c, b'(' | b'{')) || v == b"%s" || v.ends_with(b"%")
        }
        b'{' => closes(b'}'),
        b'[' => closes(b']'),
        b'(' => v.ends_with(b")"),
        b'*' => v.starts_with(b"**"),
        _ => false,
    }
}

/// A plausible high-entropy secret value.
pub(super) fn generic_value(v: &[u8]) -> bool {
    // The byte-class check first: it rejects prose and PEM blocks in a few bytes.
    if v.len() < 16
        || v.len() > 4096
        || !v.iter().all(|&c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    b'"' | b'\'' | b'`' | b'<' | b'>' | b'{' | b'}' | b'[' | b']'
                )
        })
        // A `$` starts a variable reference; inside a value it is one more symbol.
        || v[0] == b'$'
        || v.starts_with(b"http://")
        || v.starts_with(b"https://")
        || crate::bytes::find(v, b"::").is_some()
        || crate::bytes::find(v, b"$(").is_some()
        || placeholder(v)
    {
        return false;
    }
    let (mut punct, mut digits, mut upper, mut lower, mut hex) = (0, 0, 0, 0, true);
    for &c in v {
        let k = class(c);
        digits += usize::from(k & bytes::DIGIT != 0);
        upper += usize::from(k & bytes::UPPER != 0);
        lower += usize::from(k & bytes::LOWER != 0);
        hex &= k & bytes::HEX != 0;
        punct += usize::from(
            k & bytes::ALNUM == 0
                && !matches!(c, b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'~' | b':'),
        );
    }
    if punct > 0 && v.len() < 32 {
        return false;
    }
    let shaped = (upper > 0 && lower > 0 && digits > 0)
        || (hex && v.len() >= 32)
        || (upper > 0 && lower > 0 && v.len() >= 24 && validate::entropy(v) >= 4.0)
        || (digits > 0 && (upper > 0 || lower > 0) && v.len() >= 32);
    if !shaped {
        return false;
    }
    // UUIDs are identifiers more often than secrets.
    if v.len() == 36 && v.iter().filter(|&&c| c == b'-').count() == 4 {
        return false;
    }
    // Hex strings carry at most 4 bits a byte: a random 32-digit one often measures ~3.1.
    validate::entropy(v) >= if hex { 2.9 } else { 3.2 }
}
