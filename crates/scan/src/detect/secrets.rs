//! Secrets with a shape of their own: private key blocks, JWTs, and cloud and vendor API keys
//! and tokens (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, Google, Azure, ...).

use regex::bytes::Regex;

use super::nearby::{ALNUM, TOKEN, bounded, left_ok};
use super::prefilter::group;
use super::re;
use super::values::placeholder;
use crate::bytes::{self, contains, find, is};
use crate::kind::Kind;
use crate::validate;

/// The compiled token shapes.
pub(super) struct Secrets {
    pem_begin: Regex,
    jwt: Regex,
    aws_id: Regex,
    github: Regex,
    gitlab: Regex,
    slack: Regex,
    stripe: Regex,
    openai: Regex,
    anthropic: Regex,
    google: Regex,
    /// Every vendor shape that starts with a literal prefix, as one alternation: the
    /// regex engine's literal prefilter then finds all of them in one pass.
    vendors: Regex,
    telegram: Regex,
    mailchimp: Regex,
    azure_conn: Regex,
}

impl Secrets {
    pub(super) fn new() -> Result<Secrets, regex::Error> {
        let vendors = [
            r"npm_[A-Za-z0-9]{36}",
            r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
            r"hf_[A-Za-z]{34}",
            r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
            r"SK[0-9a-f]{32}",
            r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}",
            r"do[opr]_v1_[0-9a-f]{64}",
            r"hv[sb]\.[A-Za-z0-9_-]{24,}",
            r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
            r"dapi[0-9a-f]{32}(?:-[0-9])?",
            r"lin_api_[A-Za-z0-9]{40}",
            r"PMAK-[0-9a-f]{24}-[0-9a-f]{34}",
            r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}",
            r"EAAA[A-Za-z0-9_-]{60}",
            r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}",
            r"gl(?:sa|c)_[A-Za-z0-9_+/=-]{32,}",
            r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,}",
            r"NRAK-[A-Z0-9]{27}",
            // Sentry: `sntrys_` + base64 JSON + `_` + a base64url secret (`-` and `_` in it).
            r"sntry[us]_[A-Za-z0-9_+/=-]{40,}",
        ]
        .join("|");
        Ok(Secrets {
            pem_begin: re(r"-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY(?: BLOCK)?-----")?,
            jwt: re(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")?,
            aws_id: re(r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}")?,
            github: re(r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}")?,
            gitlab: re(
                r"gl(?:pat|dt|rt|ptt|cbt|soat)-[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,10})?",
            )?,
            slack: re(
                r"xox[abposre]-[0-9A-Za-z-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{20,}",
            )?,
            stripe: re(r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{24,}")?,
            openai: re(r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}")?,
            anthropic: re(r"sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_-]{20,}")?,
            google: re(r"AIza[A-Za-z0-9_-]{35}")?,
            vendors: re(&vendors)?,
            telegram: re(r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}")?,
            mailchimp: re(r"[0-9a-f]{32}-us[0-9]{1,2}")?,
            azure_conn: re(r"AccountKey=([A-Za-z0-9+/]{86}==)")?,
        })
    }

    /// Runs the token detectors the prefilter allows (and the bare Azure key search).
    pub(super) fn run(
        &self,
        text: &[u8],
        grp: u32,
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        let on = |bits: u32| grp & bits != 0;
        if on(group::PEM) {
            self.pem(text, push);
        }
        if on(group::JWT) {
            for m in self.jwt.find_iter(text) {
                let s = m.as_bytes();
                let Some(dot) = s.iter().position(|&c| c == b'.') else { continue };
                if left_ok(text, m.start(), TOKEN) && validate::jwt_header(&s[..dot]) {
                    push(Kind::Jwt, m.start(), m.end(), 0.97);
                }
            }
        }
        if on(group::AWS_ID) {
            for m in self.aws_id.find_iter(text) {
                if bounded(text, m.start(), m.end(), ALNUM) && !placeholder(m.as_bytes()) {
                    push(Kind::AwsAccessKeyId, m.start(), m.end(), 0.97);
                }
            }
        }
        if on(group::GITHUB) {
            for m in self.github.find_iter(text) {
                let s = m.as_bytes();
                let ok =
                    if s.starts_with(b"github_pat_") { true } else { validate::github_classic(s) };
                if ok && bounded(text, m.start(), m.end(), ALNUM) {
                    push(Kind::GithubToken, m.start(), m.end(), 0.99);
                }
            }
        }
        let simple = [
            (group::GITLAB, &self.gitlab, Kind::GitlabToken),
            (group::SLACK, &self.slack, Kind::SlackToken),
            (group::STRIPE, &self.stripe, Kind::StripeKey),
            (group::SK, &self.anthropic, Kind::AnthropicApiKey),
            (group::GOOGLE, &self.google, Kind::GoogleApiKey),
        ];
        for (gr, re, kind) in simple {
            if on(gr) {
                for m in re.find_iter(text) {
                    if bounded(text, m.start(), m.end(), ALNUM) && !placeholder(m.as_bytes()) {
                        push(kind.clone(), m.start(), m.end(), 0.96);
                    }
                }
            }
        }
        if on(group::SK) {
            for m in self.openai.find_iter(text) {
                let s = m.as_bytes();
                if s.starts_with(b"sk-ant-") || !left_ok(text, m.start(), ALNUM) || placeholder(s) {
                    continue;
                }
                let conf = if contains(s, b"T3BlbkFJ") {
                    0.97
                } else if s.starts_with(b"sk-proj-") || s.starts_with(b"sk-svcacct-") {
                    0.9
                } else if s.len() >= 40 && mixed(s) {
                    0.6
                } else {
                    continue;
                };
                push(Kind::OpenaiApiKey, m.start(), m.end(), conf);
            }
        }
        if on(group::VENDOR) {
            let mut vendor = |s: usize, e: usize| {
                // `sha512-<base64>` is an npm integrity hash, not a key.
                let after_dash = s > 0 && text[s - 1] == b'-';
                if bounded(text, s, e, ALNUM) && !after_dash && !placeholder(&text[s..e]) {
                    push(Kind::VendorApiKey, s, e, 0.93);
                }
            };
            for m in self.vendors.find_iter(text) {
                vendor(m.start(), m.end());
            }
            if contains(text, b":AA") {
                for m in self.telegram.find_iter(text) {
                    vendor(m.start(), m.end());
                }
            }
            if contains(text, b"-us") {
                for m in self.mailchimp.find_iter(text) {
                    vendor(m.start(), m.end());
                }
            }
            if contains(text, b"AccountKey=") {
                for c in self.azure_conn.captures_iter(text) {
                    if let Some(m) = c.get(1) {
                        vendor(m.start(), m.end());
                    }
                }
            }
        }
        azure_keys(text, push);
    }

    fn pem(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        let mut from = 0;
        while let Some(m) = self.pem_begin.find_at(text, from) {
            let body = m.end();
            // Find the END marker; the key may be truncated, then cover the base64 run.
            let end = match find(&text[body..], b"-----END ") {
                Some(i) => {
                    let e = body + i + 9;
                    match find(&text[e..], b"-----") {
                        Some(j) if j < 60 => e + j + 5,
                        _ => e,
                    }
                }
                None => {
                    let n = text[body..]
                        .iter()
                        .take_while(|&&c| c.is_ascii_alphanumeric() || b"+/=\\\n\r \t".contains(&c))
                        .count();
                    body + n
                }
            };
            // Inside a JSON string the block's last line break is an escaped `\n`.
            let end = if text[end..].starts_with(b"\\n") { end + 2 } else { end };
            push(Kind::PrivateKey, m.start(), end, 0.99);
            from = end.max(m.end());
        }
    }
}

/// Bare Azure storage keys: 86 base64 bytes and `==`, found from each `==`.
fn azure_keys(text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
    let mut from = 0;
    while let Some(p) = find(&text[from..], b"==").map(|p| from + p) {
        from = p + 2;
        if p < 86 || !is(text[p - 1], bytes::ALNUM | bytes::B64X) {
            continue;
        }
        let s = p - 86;
        let e = p + 2;
        // `sha512-<base64>` is an npm integrity hash, not a key.
        let after_dash = s > 0 && text[s - 1] == b'-';
        if text[s..p].iter().all(|&c| is(c, bytes::ALNUM | bytes::B64X))
            && bounded(text, s, e, ALNUM)
            && !after_dash
        {
            push(Kind::VendorApiKey, s, e, 0.85);
        }
    }
}

/// The bare 40-character AWS secret shape (no key name nearby) is common in
/// tracebacks; it needs mixed case and digits and no hex-only look.
pub(super) fn bare_aws_secret(
    text: &[u8],
    st: usize,
    i: usize,
    push: &mut impl FnMut(Kind, usize, usize, f32),
) {
    if i - st != 40
        || st > 0 && b"=_-".contains(&text[st - 1])
        || text.get(i).is_some_and(|c| b"=_-".contains(c))
    {
        return;
    }
    let s = &text[st..i];
    if mixed(s) && validate::entropy(s) > 4.2 && !placeholder(s) {
        push(Kind::AwsSecretAccessKey, st, i, 0.5);
    }
}

fn mixed(s: &[u8]) -> bool {
    s.iter().any(u8::is_ascii_uppercase)
        && s.iter().any(u8::is_ascii_lowercase)
        && s.iter().any(u8::is_ascii_digit)
}
