//! E-mail addresses, without the look-alikes: `user:password@host` credentials, file names
//! (`logo@2x.png`), `git@` remotes, Message-ID headers and ssh key comments.

use regex::bytes::Regex;

use super::nearby::line_before;
use super::re;
use crate::bytes::contains;
use crate::kind::Kind;

/// The compiled e-mail shape.
pub(super) struct Emails {
    email: Regex,
}

impl Emails {
    pub(super) fn new() -> Result<Emails, regex::Error> {
        Ok(Emails {
            email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*\.)+[A-Za-z]{2,24}")?,
        })
    }

    pub(super) fn run(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        for m in self.email.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            let val = m.as_bytes();
            let Some(at) = val.iter().position(|&c| c == b'@') else { continue };
            let local = &val[..at];
            let domain = &val[at + 1..];
            let prev = if s > 0 { text[s - 1] } else { b' ' };
            let next = text.get(e).copied().unwrap_or(b' ');
            if local.starts_with(b".") || local.ends_with(b".") || prev == b'@' {
                continue;
            }
            // user:password@host in URLs is a credential, not an address; after a colon
            // outside a URL (`mailto:`, `EMAIL;TYPE=work:`, `Email:`) it is an address.
            if prev == b':' && in_url(text, s - 1)
                || prev == b'/'
                || (next == b':' && text.get(e + 1).is_some_and(|c| !c.is_ascii_digit()))
            {
                continue;
            }
            if next == b'@'
                || (next == b'.' && text.get(e + 1).is_some_and(u8::is_ascii_alphanumeric))
            {
                continue;
            }
            let tld = domain.rsplit(|&c| c == b'.').next().unwrap_or_default().to_ascii_lowercase();
            const BAD_TLD: &[&[u8]] = &[
                b"png",
                b"jpg",
                b"jpeg",
                b"gif",
                b"svg",
                b"webp",
                b"js",
                b"ts",
                b"css",
                b"local",
                b"lan",
                b"internal",
                b"localdomain",
                b"home",
                b"json",
                b"txt",
                b"py",
                b"rb",
                b"git",
                b"lock",
                b"exe",
                b"ico",
                b"pdf",
                b"zip",
                b"gz",
                b"mp4",
                b"html",
                b"md",
            ];
            if BAD_TLD.contains(&tld.as_slice()) {
                continue;
            }
            if local.eq_ignore_ascii_case(b"git") {
                continue;
            }
            // After `!`, `$` and the like the "address" is the end of something longer: a URL's
            // password (`postgres://u:q7Rz!m2Kx@db.example.io`), which the URL rule finds whole.
            if s > 0 && matches!(text[s - 1], b'!' | b'$') {
                continue;
            }
            // Message-ID / In-Reply-To headers and ssh key comments are not addresses.
            let line = line_before(text, s);
            let ll = line.to_ascii_lowercase();
            if contains(&ll, b"message-id")
                || contains(&ll, b"in-reply-to")
                || contains(&ll, b"references:")
            {
                continue;
            }
            if contains(&ll, b"msg-id") || contains(&ll, b"msgid") {
                continue;
            }
            if contains(line, b"ssh-rsa ")
                || contains(line, b"ssh-ed25519 ")
                || contains(line, b"ecdsa-sha2")
            {
                continue;
            }
            push(Kind::Email, s, e, 0.95);
        }
    }
}

/// Whether the token ending at `at` (back to the previous blank or quote) holds `://`: the
/// colon at `at` is then a URL's `user:password` separator.
fn in_url(text: &[u8], at: usize) -> bool {
    let start = text[..at]
        .iter()
        .rposition(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'<' | b'('))
        .map_or(0, |p| p + 1);
    contains(&text[start..at], b"://")
}
