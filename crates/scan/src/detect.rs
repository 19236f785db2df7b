//! The built-in detectors: shape (regex) + validator (checksum, structure) + context.
//!
//! Every pattern is compiled as `regex::bytes` with Unicode off (`(?-u)`), so `\d`, `\s`
//! and `\b`-like checks are ASCII and the lazy DFA never gives up on non-ASCII input.
//! Spans are always cut at ASCII bytes, so they stay on UTF-8 character boundaries.
//! An Aho-Corasick pass over a few dozen keywords decides which detectors run at all.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::Regex;

use crate::bytes::{self as b, class, is};
pub(crate) use crate::bytes::{contains, find};
use crate::context;
use crate::kind::Kind;
use crate::validate as v;

/// A candidate before overlap resolution.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub conf: f32,
}

/// Groups of detectors switched on by prefilter keywords.
pub(crate) mod g {
    pub const PEM: u32 = 1 << 0;
    pub const JWT: u32 = 1 << 1;
    pub const AWS_ID: u32 = 1 << 2;
    pub const GITHUB: u32 = 1 << 3;
    pub const GITLAB: u32 = 1 << 4;
    pub const SLACK: u32 = 1 << 5;
    pub const STRIPE: u32 = 1 << 6;
    pub const SK: u32 = 1 << 7;
    pub const GOOGLE: u32 = 1 << 8;
    pub const VENDOR: u32 = 1 << 9;
    pub const KV: u32 = 1 << 10;
    pub const URL: u32 = 1 << 11;
    pub const SHELL: u32 = 1 << 12;
    pub const AUTH: u32 = 1 << 13;
    pub const EMAIL: u32 = 1 << 14;
    pub const PERSON: u32 = 1 << 15;
    pub const ADDRESS: u32 = 1 << 16;
    pub const DOB: u32 = 1 << 17;
    pub const NATID: u32 = 1 << 18;
    pub const PHONE_CTX: u32 = 1 << 19;
    pub const SSN_CTX: u32 = 1 << 20;
    pub const CRYPTO: u32 = 1 << 21;
    pub const TABLE: u32 = 1 << 22;
}

/// Keywords of the prefilter (ASCII case-insensitive), with the groups they switch on.
const KEYWORDS: &[(&str, u32)] = &[
    ("-----BEGIN", g::PEM),
    ("eyJ", g::JWT),
    ("AKIA", g::AWS_ID),
    ("ASIA", g::AWS_ID),
    ("ABIA", g::AWS_ID),
    ("ACCA", g::AWS_ID),
    ("ghp_", g::GITHUB),
    ("gho_", g::GITHUB),
    ("ghu_", g::GITHUB),
    ("ghs_", g::GITHUB),
    ("ghr_", g::GITHUB),
    ("github_pat_", g::GITHUB),
    ("glpat-", g::GITLAB),
    ("gldt-", g::GITLAB),
    ("glrt-", g::GITLAB),
    ("glptt-", g::GITLAB),
    ("glcbt-", g::GITLAB),
    ("glsoat-", g::GITLAB),
    ("xox", g::SLACK),
    ("xapp-", g::SLACK),
    ("hooks.slack.com", g::SLACK),
    ("_live_", g::STRIPE),
    ("_test_", g::STRIPE),
    ("whsec_", g::STRIPE),
    ("sk-", g::SK),
    ("AIza", g::GOOGLE),
    ("npm_", g::VENDOR),
    ("pypi-", g::VENDOR),
    ("hf_", g::VENDOR),
    ("SG.", g::VENDOR),
    ("SK", g::VENDOR),
    ("shp", g::VENDOR),
    ("do", g::VENDOR),
    (":AA", g::VENDOR),
    ("-us", g::VENDOR),
    ("AccountKey", g::VENDOR),
    ("hvs.", g::VENDOR),
    ("hvb.", g::VENDOR),
    ("AGE-SECRET-KEY-", g::VENDOR),
    ("dapi", g::VENDOR),
    ("lin_api_", g::VENDOR),
    ("PMAK-", g::VENDOR),
    ("sq0", g::VENDOR),
    ("EAAA", g::VENDOR),
    ("dp.", g::VENDOR),
    ("glsa_", g::VENDOR),
    ("glc_", g::VENDOR),
    ("dckr_", g::VENDOR),
    ("NRAK-", g::VENDOR),
    ("sntry", g::VENDOR),
    ("pass", g::KV),
    ("pwd", g::KV),
    ("secret", g::KV),
    ("token", g::KV),
    ("key", g::KV),
    ("auth", g::KV | g::AUTH),
    ("session", g::KV),
    ("cookie", g::KV),
    ("credential", g::KV),
    ("bearer", g::AUTH),
    ("basic", g::AUTH),
    ("://", g::URL),
    ("sshpass", g::SHELL),
    ("redis-cli", g::SHELL),
    ("mysql", g::SHELL),
    ("curl", g::SHELL),
    (" -p", g::SHELL),
    ("@", g::EMAIL),
    ("0x", g::CRYPTO),
    ("bc1", g::CRYPTO),
    ("name", g::PERSON),
    ("nome", g::PERSON),
    ("llamo", g::PERSON),
    ("chiamo", g::PERSON),
    ("naam", g::PERSON),
    ("ik ben", g::PERSON),
    ("author", g::PERSON),
    ("from:", g::PERSON),
    ("customer", g::PERSON),
    ("contact", g::PERSON),
    ("applicant", g::PERSON),
    ("this is", g::PERSON),
    ("hi ", g::PERSON),
    ("thank", g::PERSON),
    ("regards", g::PERSON),
    ("cheers", g::PERSON),
    ("for ", g::PERSON),
    (" a ", g::PERSON),
    ("je suis", g::PERSON),
    ("soy", g::PERSON),
    ("sono", g::PERSON),
    ("ben", g::PERSON),
    ("hier ist", g::PERSON),
    ("ich bin", g::PERSON),
    ("nazywam", g::PERSON),
    ("inhaber", g::PERSON),
    ("alıcı", g::PERSON),
    ("tôi là", g::PERSON),
    ("меня зовут", g::PERSON),
    ("Получатель", g::PERSON),
    ("είμαι", g::PERSON),
    ("שמי", g::PERSON),
    ("اسمي", g::PERSON),
    ("नाम", g::PERSON),
    ("我是", g::PERSON),
    ("收件人", g::PERSON),
    ("저는", g::PERSON),
    ("こんにちは", g::PERSON),
    ("申します", g::PERSON),
    ("おります", g::PERSON),
    ("address", g::ADDRESS),
    ("ship", g::ADDRESS),
    ("adresse", g::ADDRESS),
    ("endereço", g::ADDRESS),
    ("vivo en", g::ADDRESS),
    ("адресу", g::ADDRESS),
    ("διεύθυνσ", g::ADDRESS),
    ("寄到", g::ADDRESS),
    ("주소", g::ADDRESS),
    ("住所", g::ADDRESS),
    ("địa chỉ", g::ADDRESS),
    ("Địa chỉ", g::ADDRESS),
    ("पता", g::ADDRESS),
    ("הכתובת", g::ADDRESS),
    ("write to", g::ADDRESS),
    ("indirizzo", g::ADDRESS),
    ("dirección", g::ADDRESS),
    ("birth", g::DOB),
    ("dob", g::DOB),
    ("geburtsdatum", g::DOB),
    ("生年月日", g::DOB),
    ("nacimiento", g::DOB),
    ("nascimento", g::DOB),
    ("naissance", g::DOB),
    ("nascita", g::DOB),
    ("geboortedatum", g::DOB),
    ("рождения", g::DOB),
    ("doğum", g::DOB),
    ("생년월일", g::DOB),
    ("出生", g::DOB),
    ("γέννησης", g::DOB),
    ("לידה", g::DOB),
    ("ميلاد", g::DOB),
    ("जन्म", g::DOB),
    ("ngày sinh", g::DOB),
    ("urodzenia", g::DOB),
    ("born", g::DOB),
    ("nhs", g::NATID),
    ("sin", g::NATID),
    ("bsn", g::NATID),
    ("aadhaar", g::NATID),
    ("आधार", g::NATID),
    ("cpf", g::NATID),
    ("dni", g::NATID),
    ("nie", g::NATID),
    ("nino", g::NATID),
    ("insurance", g::NATID),
    ("national", g::NATID),
    ("burgerservice", g::NATID),
    ("phone", g::PHONE_CTX),
    ("tel", g::PHONE_CTX),
    ("mobile", g::PHONE_CTX),
    ("cell", g::PHONE_CTX),
    ("call", g::PHONE_CTX),
    ("sms", g::PHONE_CTX),
    ("celular", g::PHONE_CTX),
    ("τηλέφων", g::PHONE_CTX),
    ("телефон", g::PHONE_CTX),
    ("טלפון", g::PHONE_CTX),
    ("هاتف", g::PHONE_CTX),
    ("फ़ोन", g::PHONE_CTX),
    ("điện thoại", g::PHONE_CTX),
    ("電話", g::PHONE_CTX),
    ("电话", g::PHONE_CTX),
    ("전화", g::PHONE_CTX),
    ("bel me", g::PHONE_CTX),
    ("ssn", g::SSN_CTX),
    ("social security", g::SSN_CTX),
    ("tax_id", g::SSN_CTX),
];

/// All compiled patterns. Built once per [`crate::Scanner`].
pub(crate) struct Detectors {
    ac: AhoCorasick,
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
    url_cred: Regex,
    shell: Vec<(Regex, Kind)>,
    auth_header: Regex,
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
    mac: Regex,
    nino: Regex,
    pub(crate) ctx: context::Patterns,
}

/// Compiles a constant pattern with Unicode off.
pub(crate) fn re(p: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(&format!("(?-u){p}")).unicode(false).build()
}

impl Detectors {
    pub(crate) fn new() -> Result<Detectors, regex::Error> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(KEYWORDS.iter().map(|(k, _)| k.as_bytes()))
            .map_err(|e| regex::Error::Syntax(e.to_string()))?;
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
            r"sntry[us]_[A-Za-z0-9_+/=]{40,}",
        ]
        .join("|");
        let shell = vec![
            (re(r#"sshpass\s+-p\s*['"]?([^\s'"]+)"#)?, Kind::Password),
            (re(r"mysql(?:dump)?\b[^\n]*?\s-p([^\s'\x22-][^\s'\x22]*)")?, Kind::Password),
            (re(r#"redis-cli\b[^\n]*?\s-a\s+['"]?([^\s'"]+)"#)?, Kind::Password),
            (re(r#"curl\b[^\n]*?\s(?:-u|--user)\s+['"]?[^\s:'"]+:([^\s'"]+)"#)?, Kind::Password),
            (re(r#"\blogin\b[^\n]*?\s(?:-p|--password)\s+['"]?([^\s'"]+)"#)?, Kind::GenericSecret),
        ];
        Ok(Detectors {
            ac,
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
            url_cred: re(r"[A-Za-z][A-Za-z0-9+.-]+://[^\s:/@'\x22<>]+:([^\s@'\x22<>/]+)@")?,
            shell,
            auth_header: re(r"(?i)\b(bearer|basic|token)[ \t]+([A-Za-z0-9._~+/=-]{8,})")?,
            email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*\.)+[A-Za-z]{2,24}")?,
            ipv4: re(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")?,
            ipv6: re(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}")?,
            mac: re(
                r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",
            )?,
            nino: re(r"[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]")?,
            ctx: context::Patterns::new()?,
        })
    }

    /// Which detector groups the text switches on.
    fn groups(&self, text: &[u8]) -> u32 {
        let mut m = 0;
        if memchr::memchr(b'\n', text).is_some()
            && (memchr::memchr3(b',', b';', b'\t', text).is_some()
                || memchr::memchr(b'|', text).is_some())
        {
            m |= g::TABLE;
        }
        for hit in self.ac.find_iter(text) {
            m |= KEYWORDS[hit.pattern().as_usize()].1;
        }
        m
    }

    /// Runs every detector the prefilter allows and returns raw candidates.
    pub(crate) fn run(&self, text: &[u8], out: &mut Vec<Cand>) {
        let grp = self.groups(text);
        let on = |g: u32| grp & g != 0;
        let mut push = |kind: Kind, start: usize, end: usize, conf: f32| {
            out.push(Cand { kind, start, end, conf });
        };
        if on(g::PEM) {
            self.pem(text, &mut push);
        }
        if on(g::JWT) {
            for m in self.jwt.find_iter(text) {
                let s = m.as_bytes();
                let Some(dot) = s.iter().position(|&c| c == b'.') else { continue };
                if left_ok(text, m.start(), TOKEN) && v::jwt_header(&s[..dot]) {
                    push(Kind::Jwt, m.start(), m.end(), 0.97);
                }
            }
        }
        if on(g::AWS_ID) {
            for m in self.aws_id.find_iter(text) {
                if bounded(text, m.start(), m.end(), ALNUM) && !placeholder(m.as_bytes()) {
                    push(Kind::AwsAccessKeyId, m.start(), m.end(), 0.97);
                }
            }
        }
        if on(g::GITHUB) {
            for m in self.github.find_iter(text) {
                let s = m.as_bytes();
                let ok = if s.starts_with(b"github_pat_") { true } else { v::github_classic(s) };
                if ok && bounded(text, m.start(), m.end(), ALNUM) {
                    push(Kind::GithubToken, m.start(), m.end(), 0.99);
                }
            }
        }
        let simple = [
            (g::GITLAB, &self.gitlab, Kind::GitlabToken),
            (g::SLACK, &self.slack, Kind::SlackToken),
            (g::STRIPE, &self.stripe, Kind::StripeKey),
            (g::SK, &self.anthropic, Kind::AnthropicApiKey),
            (g::GOOGLE, &self.google, Kind::GoogleApiKey),
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
        if on(g::SK) {
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
        if on(g::VENDOR) {
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
        azure_keys(text, &mut push);
        if on(g::KV) {
            self.key_values(text, &mut push);
        }
        if on(g::URL) {
            for c in self.url_cred.captures_iter(text) {
                let Some(m) = c.get(1) else { continue };
                if password_value(m.as_bytes()) {
                    push(Kind::Password, m.start(), m.end(), 0.9);
                }
            }
        }
        if on(g::SHELL) {
            for (re, kind) in &self.shell {
                for c in re.captures_iter(text) {
                    let Some(m) = c.get(1) else { continue };
                    if password_value(m.as_bytes()) {
                        push(kind.clone(), m.start(), m.end(), 0.88);
                    }
                }
            }
        }
        if on(g::AUTH) {
            for c in self.auth_header.captures_iter(text) {
                let (Some(scheme), Some(m)) = (c.get(1), c.get(2)) else { continue };
                let val = m.as_bytes();
                if scheme.as_bytes().eq_ignore_ascii_case(b"basic") {
                    let dec = v::base64_decode(val).unwrap_or_default();
                    if dec.contains(&b':') && std::str::from_utf8(&dec).is_ok() {
                        push(Kind::Password, m.start(), m.end(), 0.9);
                    }
                } else if generic_value(val) {
                    push(Kind::GenericSecret, m.start(), m.end(), 0.75);
                }
            }
        }
        if on(g::EMAIL) {
            self.emails(text, &mut push);
        }
        // One pass over the words of the text finds the word-shaped values and the runs
        // (numeric, hex, base64) the other shapes live in.
        let sweep = self.sweep(text, &mut push);
        if sweep.max_digits >= 6 {
            self.numbers(text, grp, &sweep, &mut push);
        }
        self.ctx.run(text, grp, out);
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

    fn key_values(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        let mut lower = Vec::new();
        for (ks, ke, after) in key_seps(text) {
            lower.clear();
            lower.extend(text[ks..ke].iter().map(u8::to_ascii_lowercase));
            let k = trim_key(&lower);
            let Some((vs, ve)) = value_after(text, after) else { continue };
            let val = &text[vs..ve];
            let kind = classify_key(k);
            match kind {
                KeyClass::Password => {
                    if password_value(val) {
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
                    if generic_value(val) {
                        push(Kind::GenericSecret, vs, ve, 0.7);
                    }
                }
                KeyClass::None => {}
            }
        }
    }

    fn emails(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
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
            // user:password@host in URLs is a credential, not an address.
            if prev == b':'
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

    /// One pass over the alphanumeric words of `text`. Crypto addresses, Spanish DNI/NIE,
    /// IBAN and UK NINO start at a word boundary, so only word starts with the right
    /// first bytes are looked at further. The runs other shapes live in (digits and number
    /// separators, hex and address separators, base64) are grown from the words that can
    /// start them, once per run, and returned or checked on the spot.
    fn sweep(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) -> Sweep {
        let mut sw = Sweep { nums: Vec::new(), max_digits: 0, dotted: Vec::new() };
        let n = text.len();
        let (mut num_end, mut hex_end, mut b64_end) = (0, 0, 0);
        let mut i = 0;
        while i < n {
            if !is(text[i], b::ALNUM) {
                i += 1;
                continue;
            }
            let s = i;
            let mut all = 0xffu8;
            while i < n {
                let k = class(text[i]);
                if k & b::ALNUM == 0 {
                    break;
                }
                all &= k;
                i += 1;
            }
            let e = i;
            let (first_digit, last_digit) = (is(text[s], b::DIGIT), is(text[e - 1], b::DIGIT));
            if first_digit || last_digit {
                // The word's digits at either edge may continue over number separators.
                let from = if last_digit { e } else { s };
                let mut a = from;
                while a > num_end && is(text[a - 1], b::DIGIT | b::NUMSEP) {
                    a -= 1;
                }
                let mut z = if last_digit { e } else { s + 1 };
                while z < n && is(text[z], b::DIGIT | b::NUMSEP) {
                    z += 1;
                }
                while a < z && !(is(text[a], b::DIGIT) || text[a] == b'+' || text[a] == b'(') {
                    a += 1;
                }
                if a >= num_end && a < z {
                    num_end = z;
                    numeric_run(text, a, z, &mut sw);
                }
            }
            if all & b::HEX != 0
                && e > hex_end
                && (text.get(e).is_some_and(|&c| is(c, b::HEXSEP))
                    || s > 0 && is(text[s - 1], b::HEXSEP))
            {
                let mut a = s;
                while a > hex_end && is(text[a - 1], b::HEX | b::HEXSEP) {
                    a -= 1;
                }
                let mut z = e;
                while z < n && is(text[z], b::HEX | b::HEXSEP) {
                    z += 1;
                }
                hex_end = z;
                self.hex_run(text, a, z, push);
            }
            if e > b64_end
                && (e - s == 40
                    || text.get(e).is_some_and(|&c| is(c, b::B64X))
                    || s > 0 && is(text[s - 1], b::B64X))
            {
                let mut a = s;
                while a > b64_end && is(text[a - 1], b::ALNUM | b::B64X) {
                    a -= 1;
                }
                let mut z = e;
                while z < n && is(text[z], b::ALNUM | b::B64X) {
                    z += 1;
                }
                b64_end = z;
                bare_aws_secret(text, a, z, push);
            }
            let w = &text[s..e];
            let n = w.len();
            let upper2 = n >= 2 && is(w[0], b::UPPER) && is(w[1], b::UPPER);
            if upper2
                && n >= 4
                && is(w[2], b::DIGIT)
                && is(w[3], b::DIGIT)
                && let Some(end) = iban_at(text, s)
            {
                push(Kind::Iban, s, end, 0.97);
            }
            if upper2
                && (n >= 3 && is(w[2], b::DIGIT)
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
                        && v::nino(&letters)
                    {
                        push(Kind::NationalId, s, end, 0.85);
                    }
                }
            }
            if n == 9
                && matches!(w[0], b'0'..=b'9' | b'X' | b'Y' | b'Z')
                && is(w[8], b::UPPER)
                && v::dni(w)
            {
                push(Kind::NationalId, s, e, 0.85);
            }
            if (26..=35).contains(&n)
                && matches!(w[0], b'1' | b'3')
                && w.iter().all(|&c| is(c, b::ALNUM) && !matches!(c, b'0' | b'O' | b'I' | b'l'))
                && v::base58check(w)
            {
                push(Kind::CryptoWallet, s, e, 0.95);
            }
            if (14..=74).contains(&n)
                && w.starts_with(b"bc1")
                && w[3..].iter().all(|c| BECH32.contains(c))
                && v::bech32(w)
            {
                push(Kind::CryptoWallet, s, e, 0.95);
            }
            if n == 42 && w.starts_with(b"0x") && w[2..].iter().all(|&c| is(c, b::HEX)) {
                push(Kind::CryptoWallet, s, e, 0.85);
            }
        }
        sw
    }

    fn numbers(
        &self,
        text: &[u8],
        grp: u32,
        sweep: &Sweep,
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        let runs = &sweep.nums[..];
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
                if consistent && right_ok(text, e) && v::card(&v::digits(val)) {
                    push(Kind::CreditCard, s, e, 0.95);
                    break;
                }
                match val.iter().rposition(|c| !c.is_ascii_digit()) {
                    Some(i) if i > 0 => e = s + i,
                    _ => break,
                }
            }
        }
        for m in in_runs(ssn_at, text, runs, 9) {
            let (s, e) = (m.start(), m.end());
            let val = &text[s..e];
            if !left_ok(text, s, NUMTOK) || !right_ok(text, e) {
                continue;
            }
            let seps: Vec<u8> = val.iter().filter(|c| !c.is_ascii_digit()).copied().collect();
            let dash = seps == b"--";
            let plain = seps.is_empty() || seps == b"  ";
            if !(dash || plain) || !v::ssn(&v::digits(val)) {
                continue;
            }
            // Dashed AAA-GG-SSSS stands alone; spaced or plain digits need an SSN cue.
            if dash
                || grp & g::SSN_CTX != 0
                    && near(text, s, 48, &[b"ssn", b"social security", b"tax_id", b"tax id"])
            {
                push(Kind::UsSsn, s, e, 0.9);
            }
        }
        // Dotted quads live in maximal runs of digits and dots.
        for m in sweep.dotted.iter().flat_map(|&(rs, re)| {
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
            if ok && v::ipv4_global(o) && !version_context(text, s) {
                push(Kind::IpAddress, s, e, 0.9);
            }
        }
        if sweep.max_digits >= 8 {
            self.phones(text, grp, runs, push);
            self.national_ids(text, grp, runs, push);
        }
    }

    /// IPv6 and MAC addresses inside one maximal run of hex digits and `:` `-` `.`.
    fn hex_run(
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
        if let Some(h) = v::parse_ipv6(val)
            && v::ipv6_global(h)
        {
            push(Kind::IpAddress, s, e, 0.9);
        }
    }

    fn phones(
        &self,
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
            let ctx = grp & g::PHONE_CTX != 0 && near_word(text, s, 48, PHONE_WORDS);
            if let Some(conf) = phone_shape(&text[s..e], ctx) {
                push(Kind::Phone, s, e, conf);
            }
        }
    }

    fn national_ids(
        &self,
        text: &[u8],
        grp: u32,
        runs: &[(usize, usize, usize)],
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) {
        for m in in_runs(cpf_at, text, runs, 11) {
            let val = &text[m.start()..m.end()];
            if !bounded(text, m.start(), m.end(), NUMTOK) || !v::cpf(&v::digits(val)) {
                continue;
            }
            if val.contains(&b'.') || grp & g::NATID != 0 && near(text, m.start(), 40, &[b"cpf"]) {
                push(Kind::NationalId, m.start(), m.end(), 0.9);
            }
        }
        if grp & g::NATID == 0 {
            return;
        }
        for m in in_runs(digits9_12_at, text, runs, 9) {
            let (s, e) = (m.start(), m.end());
            if !bounded(text, s, e, NUMTOK) {
                continue;
            }
            let d = v::digits(&text[s..e]);
            let seps: Vec<u8> =
                text[s..e].iter().filter(|c| !c.is_ascii_digit()).copied().collect();
            if !seps.windows(2).all(|w| w[0] == w[1]) {
                continue;
            }
            let ok = match d.len() {
                10 => v::nhs(&d) && near(text, s, 48, &[b"nhs"]),
                9 => {
                    (v::sin(&d) && near(text, s, 48, &[b"sin", b"social insurance"]))
                        || (v::bsn(&d) && near(text, s, 48, &[b"bsn", b"burgerservice"]))
                }
                12 => {
                    v::aadhaar(&d)
                        && near(text, s, 48, &["aadhaar".as_bytes(), "आधार".as_bytes(), b"uidai"])
                }
                _ => false,
            } || (near(text, s, 32, &[b"national_id", b"national id"])
                && (v::nhs(&d) || v::sin(&d) || v::bsn(&d) || v::aadhaar(&d)));
            if ok {
                push(Kind::NationalId, s, e, 0.92);
            }
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

/// Bare Azure storage keys: 86 base64 bytes and `==`, found from each `==`.
fn azure_keys(text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
    let mut from = 0;
    while let Some(p) = find(&text[from..], b"==").map(|p| from + p) {
        from = p + 2;
        if p < 86 || !is(text[p - 1], b::ALNUM | b::B64X) {
            continue;
        }
        let s = p - 86;
        let e = p + 2;
        // `sha512-<base64>` is an npm integrity hash, not a key.
        let after_dash = s > 0 && text[s - 1] == b'-';
        if text[s..p].iter().all(|&c| is(c, b::ALNUM | b::B64X))
            && bounded(text, s, e, ALNUM)
            && !after_dash
        {
            push(Kind::VendorApiKey, s, e, 0.85);
        }
    }
}

/// A regex match translated to absolute offsets.
#[derive(Clone, Copy)]
struct Hit {
    s: usize,
    e: usize,
}

impl Hit {
    fn start(self) -> usize {
        self.s
    }
    fn end(self) -> usize {
        self.e
    }
}

/// What [`Detectors::sweep`] found besides direct findings.
pub(crate) struct Sweep {
    /// Maximal runs of digits and number separators holding at least 8 digits, except
    /// bare ISO dates: the only places a card, SSN, phone or numeric national ID can be.
    nums: Vec<(usize, usize, usize)>,
    /// The most digits in one such run (dates and short runs included).
    max_digits: usize,
    /// Maximal runs of digits and dots with at least three dots: IPv4 candidates.
    dotted: Vec<(usize, usize)>,
}

/// Records the numeric run `text[st..end]` (it starts with a digit, `+` or `(`).
fn numeric_run(text: &[u8], st: usize, end: usize, sw: &mut Sweep) {
    let run = &text[st..end];
    let digits = run.iter().filter(|&&c| is(c, b::DIGIT)).count();
    sw.max_digits = sw.max_digits.max(digits);
    let date = run.len() >= 10
        && run[4] == b'-'
        && run[7] == b'-'
        && run[..10].iter().enumerate().all(|(k, c)| k == 4 || k == 7 || c.is_ascii_digit())
        && run[10..].iter().all(|c| !c.is_ascii_digit());
    if digits >= 8 && !date {
        sw.nums.push((st, end, digits));
    }
    if run.iter().filter(|&&c| c == b'.').count() >= 3 {
        for (a, z) in b::runs_where(run, |c| c.is_ascii_digit() || c == b'.') {
            if z - a >= 7 && run[a..z].iter().filter(|&&c| c == b'.').count() >= 3 {
                sw.dotted.push((st + a, st + z));
            }
        }
    }
}

/// The bare 40-character AWS secret shape (no key name nearby) is common in
/// tracebacks; it needs mixed case and digits and no hex-only look.
fn bare_aws_secret(
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
    if mixed(s) && v::entropy(s) > 4.2 && !placeholder(s) {
        push(Kind::AwsSecretAccessKey, st, i, 0.5);
    }
}

/// Matches of `at` inside the runs with at least `min` digits, as absolute offsets.
///
/// `at(run, i)` is the end of the match anchored at `i`, if any; trying every start in
/// order and resuming after each match is how `find_iter` walks a leftmost-first regex,
/// so the hand-written shapes below find exactly what their regexes did, without a regex
/// call (and its per-call setup) per run.
fn in_runs<'a>(
    at: ShapeAt,
    text: &'a [u8],
    runs: &'a [(usize, usize, usize)],
    min: usize,
) -> impl Iterator<Item = Hit> + 'a {
    runs.iter().filter(move |r| r.2 >= min).flat_map(move |&(s, e, _)| {
        let run = &text[s..e];
        let mut i = 0;
        std::iter::from_fn(move || {
            while i < run.len() {
                if let Some(end) = at(run, i) {
                    let hit = Hit { s: s + i, e: s + end };
                    i = end;
                    return Some(hit);
                }
                i += 1;
            }
            None
        })
    })
}

/// A hand-written shape anchored at an index: the end of its match there, if any.
type ShapeAt = fn(&[u8], usize) -> Option<usize>;

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

/// `(?:\+|\()?[0-9][0-9 .()-]{5,22}[0-9]` anchored at `i`: a phone-shaped run, as long as
/// the greedy repetition allows, ending on a digit.
fn phone_at(h: &[u8], i: usize) -> Option<usize> {
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

/// The bech32 data alphabet (BIP-173), lowercase.
const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Byte classes for boundary checks.
const ALNUM: &[u8] = b"";
const TOKEN: &[u8] = b"_-";
const NUMTOK: &[u8] = b"-.";
const HEXTOK: &[u8] = b":-.";

fn is_tok(c: u8, extra: &[u8]) -> bool {
    c.is_ascii_alphanumeric() || extra.contains(&c)
}

/// The bytes before `s` and at `e` are not token bytes.
pub(crate) fn bounded(text: &[u8], s: usize, e: usize, extra: &[u8]) -> bool {
    left_ok(text, s, extra)
        && text.get(e).is_none_or(|&c| {
            !is_tok(c, extra)
                || (extra == NUMTOK
                    && c == b'.'
                    && !text.get(e + 1).is_some_and(u8::is_ascii_digit))
        })
}

pub(crate) fn left_ok(text: &[u8], s: usize, extra: &[u8]) -> bool {
    s == 0 || !is_tok(text[s - 1], extra)
}

/// After a number: not a digit, and not a separator followed by a digit.
fn right_ok(text: &[u8], e: usize) -> bool {
    match text.get(e) {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() => false,
        Some(b'-' | b'.' | b'/') => !text.get(e + 1).is_some_and(u8::is_ascii_digit),
        _ => true,
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

/// The current line up to `s`.
pub(crate) fn line_before(text: &[u8], s: usize) -> &[u8] {
    // At most LINE_WINDOW bytes back: the cues looked for sit close to the value, and a text
    // with no line breaks would otherwise make every match look at everything before it (8,000
    // addresses on one line took seconds: quadratic).
    let from = s.saturating_sub(LINE_WINDOW);
    let ls = text[from..s].iter().rposition(|&c| c == b'\n').map_or(from, |i| from + i + 1);
    &text[ls..s]
}

/// How far back [`line_before`] looks for the start of the line.
const LINE_WINDOW: usize = 512;

/// One of `words` (ASCII case-insensitive) occurs in the `window` bytes before `s`.
/// Like [`near`], but a keyword must start a word (`call` in `mccall@` does not count).
fn near_word(text: &[u8], s: usize, window: usize, words: &[&[u8]]) -> bool {
    let (buf, from) = lower_window(text, s, window);
    let w = &buf[..s - from];
    words.iter().any(|k| {
        let mut at = 0;
        while let Some(p) = find(&w[at..], k) {
            let p = at + p;
            if p == 0 && from == 0
                || !(if p == 0 { text[from - 1] } else { w[p - 1] }).is_ascii_alphabetic()
            {
                return true;
            }
            at = p + 1;
        }
        false
    })
}

pub(crate) fn near(text: &[u8], s: usize, window: usize, words: &[&[u8]]) -> bool {
    let (buf, from) = lower_window(text, s, window);
    words.iter().any(|k| contains(&buf[..s - from], k))
}

/// The longest look-behind window of [`near`] and [`near_word`].
const WINDOW_MAX: usize = 64;

/// The (at most [`WINDOW_MAX`]) bytes before `s`, ASCII-lowercased into a stack buffer,
/// and where they start.
fn lower_window(text: &[u8], s: usize, window: usize) -> ([u8; WINDOW_MAX], usize) {
    let from = s.saturating_sub(window.min(WINDOW_MAX));
    let mut buf = [0u8; WINDOW_MAX];
    for (d, c) in buf.iter_mut().zip(&text[from..s]) {
        *d = c.to_ascii_lowercase();
    }
    (buf, from)
}

fn version_context(text: &[u8], s: usize) -> bool {
    let from = s.saturating_sub(48);
    let w = text[from..s].to_ascii_lowercase();
    contains(&w[w.len().saturating_sub(24)..], b"version")
        || w.ends_with(b"v")
        || contains(&w, b"assembly")
        || w.ends_with(b"/")
        || contains(&w, b"oid")
}

fn mixed(s: &[u8]) -> bool {
    s.iter().any(u8::is_ascii_uppercase)
        && s.iter().any(u8::is_ascii_lowercase)
        && s.iter().any(u8::is_ascii_digit)
}

/// Placeholder and documentation credentials are negatives.
///
/// One pass that dispatches on each byte (ASCII case-insensitive) to the few markers
/// starting with it, instead of lowercasing a copy and searching once per marker.
pub(crate) fn placeholder(s: &[u8]) -> bool {
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
        b'r' => at(i, b"redacted"),
        b'd' => at(i, b"dummy"),
        b'0' => at(i, b"00000000"),
        b'1' => at(i, b"12345678"),
        b'a' => at(i, b"abcdef01"),
        b'*' => at(i, b"****"),
        _ => false,
    })
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
            || k.ends_with(b"_file")
            || k.ends_with(b"_path")
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

/// The value after a `key=` / `key: ` / `"key": ` separator: quoted or up to whitespace.
fn value_after(text: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let q = *text.get(i)?;
    if q == b'"' || q == b'\'' || q == b'`' {
        i += 1;
        let n = text[i..].iter().take_while(|&&c| c != q && c != b'\n').count();
        if text.get(i + n) != Some(&q) || n == 0 {
            return None;
        }
        // In JSON strings an escaped quote would end too early; such values are rare.
        return Some((i, i + n));
    }
    let n = text[i..]
        .iter()
        .take_while(|&&c| !c.is_ascii_whitespace() && c != b'"' && c != b'\'' && c != b'`')
        .count();
    let mut e = i + n;
    while e > i && b",;)}]".contains(&text[e - 1]) {
        e -= 1;
    }
    if e == i { None } else { Some((i, e)) }
}

/// A plausible password value (not a placeholder, reference or expression).
pub(crate) fn password_value(v: &[u8]) -> bool {
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
    ];
    if WORDS.contains(&l.as_slice()) || placeholder(v) {
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
    if v.iter().all(|c| c.is_ascii_lowercase() || *c == b'_') && v.contains(&b'_') {
        return false;
    }
    true
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
        b'%' => v.get(1).is_some_and(|&c| matches!(c, b'(' | b's' | b'{')) || v.ends_with(b"%"),
        b'{' => closes(b'}'),
        b'[' => closes(b']'),
        b'(' => v.ends_with(b")"),
        b'*' => v.starts_with(b"**"),
        _ => false,
    }
}

/// A plausible high-entropy secret value.
pub(crate) fn generic_value(v: &[u8]) -> bool {
    // The byte-class check first: it rejects prose and PEM blocks in a few bytes.
    if v.len() < 16
        || v.len() > 4096
        || !v.iter().all(|&c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    b'"' | b'\'' | b'`' | b'<' | b'>' | b'{' | b'}' | b'[' | b']' | b'$'
                )
        })
        || placeholder(v)
    {
        return false;
    }
    let (mut punct, mut digits, mut upper, mut lower, mut hex) = (0, 0, 0, 0, true);
    for &c in v {
        let k = class(c);
        digits += usize::from(k & b::DIGIT != 0);
        upper += usize::from(k & b::UPPER != 0);
        lower += usize::from(k & b::LOWER != 0);
        hex &= k & b::HEX != 0;
        punct += usize::from(
            k & b::ALNUM == 0
                && !matches!(c, b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'~' | b':'),
        );
    }
    if punct > 0 && v.len() < 32 {
        return false;
    }
    let shaped = (upper > 0 && lower > 0 && digits > 0)
        || (hex && v.len() >= 32)
        || (upper > 0 && lower > 0 && v.len() >= 24 && v::entropy(v) >= 4.0)
        || (digits > 0 && (upper > 0 || lower > 0) && v.len() >= 32);
    if !shaped {
        return false;
    }
    // UUIDs are identifiers more often than secrets.
    if v.len() == 36 && v.iter().filter(|&&c| c == b'-').count() == 4 {
        return false;
    }
    // Hex strings carry at most 4 bits a byte: a random 32-digit one often measures ~3.1.
    v::entropy(v) >= if hex { 2.9 } else { 3.2 }
}

/// Compact IBAN starting at `s`: country length from the table, print groups allowed.
fn iban_at(text: &[u8], s: usize) -> Option<usize> {
    let len = v::iban_length(text.get(s..s + 2)?)?;
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
    if compact.len() != len || !v::iban(&compact) {
        return None;
    }
    if text.get(last).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some(last)
}

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
        let (cc_len, lo, hi) = country(d)?;
        let nsn = n - cc_len;
        if nsn < lo || nsn > hi {
            return None;
        }
        if cc_len == 1 && d[0] == 1 && (d[1] < 2 || d[4] < 2) {
            return None;
        }
        return Some(0.9);
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

/// Country calling code at the start of `d`, with the national number length range.
fn country(d: &[u8]) -> Option<(usize, usize, usize)> {
    let p = |k: usize| d.iter().take(k).fold(0u32, |a, &x| a * 10 + u32::from(x));
    let three = [(972, 8, 9), (966, 8, 9)];
    for (cc, lo, hi) in three {
        if p(3) == cc {
            return Some((3, lo, hi));
        }
    }
    let two = [
        (44, 9, 10),
        (49, 6, 13),
        (33, 9, 9),
        (34, 9, 9),
        (39, 6, 11),
        (55, 10, 11),
        (31, 9, 9),
        (48, 9, 9),
        (90, 10, 10),
        (30, 10, 10),
        (91, 10, 10),
        (81, 9, 10),
        (86, 10, 11),
        (82, 8, 10),
        (84, 9, 10),
    ];
    for (cc, lo, hi) in two {
        if p(2) == cc {
            return Some((2, lo, hi));
        }
    }
    match d.first() {
        Some(1) => Some((1, 10, 10)),
        Some(7) => Some((1, 10, 10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in pattern goes through `re`, which turns Unicode off: `\b` is then the
    /// ASCII `(?-u:\b)` and `.` matches any byte, so the lazy DFA never quits on
    /// non-ASCII input (the 250x cliff of Unicode `\b`).
    #[test]
    fn patterns_compile_with_unicode_off() {
        assert!(Detectors::new().is_ok());
        let dot = re(".").unwrap();
        assert!(dot.is_match(b"\xff"), "unicode mode would refuse a lone 0xff byte");
        let word = re(r"\b[0-9]{3}\b").unwrap();
        assert!(word.is_match("Привет 123 мир".as_bytes()));
        assert_eq!(word.find("é123".as_bytes()).map(|m| m.start()), Some(2));
    }

    /// `find_iter` of `pattern` over `hay`, as `(start, end)` pairs.
    fn regex_hits(pattern: &str, hay: &[u8]) -> Vec<(usize, usize)> {
        re(pattern).unwrap().find_iter(hay).map(|m| (m.start(), m.end())).collect()
    }

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

        /// `key_seps` finds what the key=value regex finds.
        #[test]
        fn key_seps_match_the_regex(text in "[paSsWdkeyToKnauthcoi_.:=> \t\"'x-]{0,60}") {
            let got: Vec<(usize, usize)> =
                key_seps(text.as_bytes()).map(|(s, _, e)| (s, e)).collect();
            proptest::prop_assert_eq!(got, regex_hits(KV_PATTERN, text.as_bytes()));
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

    #[test]
    fn phone_shapes() {
        assert!(phone_shape(b"(207) 482-3393", false).is_some());
        assert!(phone_shape(b"+33 1 19 99 77 86", false).is_some());
        assert!(phone_shape(b"2025-01-24", false).is_none());
        assert!(phone_shape(b"1732312345", false).is_none());
        assert!(phone_shape(b"727-74-1648", false).is_none());
    }
}
