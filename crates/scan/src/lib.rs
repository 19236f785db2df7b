//! PII and secret detectors, validators and redaction: `&str` in, findings out.
//!
//! trail scans every string an agent's event carries (tool arguments, results, prompts)
//! before it is hashed and stored. This crate owns the detectors for the 26 types of
//! `testdata/pii/TAXONOMY.md` (12 PII, 14 secrets), their validators (Luhn, mod-97,
//! checksums, structure), the JSON walk that applies a per-type [`json::Policy`], and a
//! masked preview for display. It knows nothing about storage, events or I/O: it reads no
//! clock, draws no randomness, never logs, and **never returns, stores or prints matched
//! text**, only a type, a byte span and a confidence.
//!
//! **Architecture Invariant:** every pattern is compiled with Unicode off (`regex::bytes`,
//! `(?-u)`), so that non-ASCII input never pushes the regex engine off its fast path, and
//! every span starts and ends on a UTF-8 character boundary.
//!
//! How a scan works: an Aho-Corasick pass over a few dozen keywords decides which
//! detectors can match at all; each detector proposes candidates (shape, then validator
//! or context); overlapping candidates are resolved by confidence, then length.

mod bytes;
mod detect;
mod invisible;
pub mod json;
mod kind;
mod mask;
mod memo;
pub mod validate;

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;

pub use kind::{BUILTIN, CustomKind, Kind, UnknownKind};
pub use mask::mask;

/// One detected value: its type, byte span in the scanned text, and a confidence in 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

/// A user-defined pattern, e.g. from a `[[scan.custom_rules]]` TOML table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomRule {
    /// Rule name, for error messages.
    pub name: String,
    /// Regex (Rust `regex` syntax, matched on bytes with Unicode off). If it has a
    /// capture group named `value` (or any group 1), only that group is the span.
    pub pattern: String,
    /// A taxonomy type name (`"EMAIL"`) or a new type name (`"EMPLOYEE_ID"`); new names
    /// become [`Kind::Custom`].
    pub kind: String,
    /// Whether a new type is a secret (ignored for taxonomy types).
    #[serde(default)]
    pub secret: bool,
}

/// Scanner configuration (serde, so it can come from a TOML table).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ScanConfig {
    /// Taxonomy type names never reported (case-insensitive).
    pub disabled: Vec<String>,
    /// Extra patterns.
    pub custom_rules: Vec<CustomRule>,
    /// Findings below this confidence are dropped (0 keeps everything).
    pub min_confidence: f32,
}

/// Errors building a [`Scanner`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("disabled type {name:?} is not a taxonomy type")]
    UnknownDisabled { name: String },
    #[error("custom rule {rule:?} has an invalid pattern: {source}")]
    BadPattern {
        rule: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("custom rule {rule:?} has an empty type name")]
    EmptyKind { rule: String },
    #[error("min_confidence {value} is outside 0..=1")]
    BadConfidence { value: f32 },
    #[error("built-in pattern failed to compile: {0}")]
    Builtin(#[source] Box<regex::Error>),
}

struct Custom {
    kind: Kind,
    re: regex::bytes::Regex,
}

/// The scanner: built once, then `scan` is cheap and thread-safe (`Send + Sync`).
pub struct Scanner {
    detectors: detect::Detectors,
    /// Short texts this scanner found nothing in.
    clean: memo::CleanMemo,
    disabled: [bool; 26],
    custom: Vec<Custom>,
    min_confidence: f32,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("custom_rules", &self.custom.len())
            .field("min_confidence", &self.min_confidence)
            .finish_non_exhaustive()
    }
}

impl Default for Scanner {
    /// All 26 types, no custom rules.
    #[expect(clippy::expect_used, reason = "built-in patterns are constants covered by tests")]
    fn default() -> Scanner {
        Scanner::new(&ScanConfig::default()).expect("built-in patterns compile")
    }
}

impl Scanner {
    pub fn new(config: &ScanConfig) -> Result<Scanner, ConfigError> {
        if !(0.0..=1.0).contains(&config.min_confidence) {
            return Err(ConfigError::BadConfidence { value: config.min_confidence });
        }
        let mut disabled = [false; 26];
        for name in &config.disabled {
            let k: Kind =
                name.parse().map_err(|_| ConfigError::UnknownDisabled { name: name.clone() })?;
            if let Some(i) = k.index() {
                disabled[i] = true;
            }
        }
        let mut names: HashSet<Arc<str>> = HashSet::new();
        let mut custom = Vec::new();
        for r in &config.custom_rules {
            if r.kind.trim().is_empty() {
                return Err(ConfigError::EmptyKind { rule: r.name.clone() });
            }
            let kind = match r.kind.parse::<Kind>() {
                Ok(k) => k,
                Err(_) => {
                    let name: Arc<str> = match names.get(r.kind.as_str()) {
                        Some(n) => n.clone(),
                        None => {
                            let n: Arc<str> = Arc::from(r.kind.as_str());
                            names.insert(n.clone());
                            n
                        }
                    };
                    Kind::Custom(CustomKind { name, secret: r.secret })
                }
            };
            let re = regex::bytes::RegexBuilder::new(&r.pattern)
                .unicode(false)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| ConfigError::BadPattern {
                    rule: r.name.clone(),
                    source: Box::new(e),
                })?;
            custom.push(Custom { kind, re });
        }
        let detectors = detect::Detectors::new().map_err(|e| ConfigError::Builtin(Box::new(e)))?;
        Ok(Scanner {
            detectors,
            clean: memo::CleanMemo::new(),
            disabled,
            custom,
            min_confidence: config.min_confidence,
        })
    }

    /// Findings in `text`: non-overlapping, sorted by start, spans on char boundaries.
    ///
    /// Invisible characters (zero-width spaces and joiners, word joiners, byte-order marks, soft
    /// hyphens) and terminal colour codes are read past: a key with one inside is found, and its
    /// span covers them.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        if self.clean.is_clean(bytes) {
            return Vec::new();
        }
        let findings = self.scan_unremembered(text);
        if findings.is_empty() {
            self.clean.remember_clean(bytes);
        }
        findings
    }

    /// [`Scanner::scan`] without the memo of clean short texts, neither read nor written: for
    /// text that may be a secret the scan cannot tell by itself (the value of a `password`
    /// member), which must not stay in memory in the memo.
    pub fn scan_unremembered(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        let mut cands = Vec::new();
        match invisible::visible(bytes) {
            None => self.detectors.run(bytes, &mut cands),
            Some((visible, at)) => {
                self.detectors.run(&visible, &mut cands);
                for c in &mut cands {
                    (c.start, c.end) = invisible::original(&at, c.start, c.end);
                }
            }
        }
        for c in &self.custom {
            for caps in c.re.captures_iter(bytes) {
                let m = caps.name("value").or_else(|| caps.get(1)).or_else(|| caps.get(0));
                if let Some(m) = m
                    && m.start() < m.end()
                {
                    cands.push(detect::Cand {
                        kind: c.kind.clone(),
                        start: m.start(),
                        end: m.end(),
                        // Custom rules are explicit user intent: they win ties.
                        conf: 1.0,
                    });
                }
            }
        }
        cands.retain(|c| {
            c.start < c.end
                && c.conf >= self.min_confidence
                && text.is_char_boundary(c.start)
                && text.is_char_boundary(c.end)
                && !c.kind.index().is_some_and(|i| self.disabled[i])
        });
        resolve(cands)
    }
}

/// Greedy overlap resolution: highest confidence first, then longest, then earliest.
/// Overlapping street addresses are first joined into one: the grammar finds the street, a cue
/// or key the whole value, and the address is all of it.
fn resolve(mut cands: Vec<detect::Cand>) -> Vec<Finding> {
    join_addresses(&mut cands);
    cands.sort_by(|a, b| {
        b.conf
            .total_cmp(&a.conf)
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    // The spans taken never overlap, so a candidate clashes only with the last one starting
    // before its end: one ordered lookup each (a scan of every taken span made a text with
    // thousands of findings quadratic: 4,000 e-mail addresses took 1.7 s).
    let mut taken: std::collections::BTreeMap<usize, Finding> = std::collections::BTreeMap::new();
    for c in cands {
        let clash = taken.range(..c.end).next_back().is_some_and(|(_, f)| c.start < f.end);
        if !clash {
            taken.insert(
                c.start,
                Finding { kind: c.kind, start: c.start, end: c.end, confidence: c.conf },
            );
        }
    }
    taken.into_values().collect()
}

/// Joins each run of overlapping street-address candidates into one, at the highest of their
/// confidences.
fn join_addresses(cands: &mut Vec<detect::Cand>) {
    let (mut addresses, rest): (Vec<_>, Vec<_>) =
        std::mem::take(cands).into_iter().partition(|c| c.kind == kind::Kind::StreetAddress);
    addresses.sort_by_key(|c| c.start);
    let mut joined: Vec<detect::Cand> = Vec::with_capacity(addresses.len());
    for c in addresses {
        match joined.last_mut() {
            Some(last) if c.start < last.end => {
                last.end = last.end.max(c.end);
                last.conf = last.conf.max(c.conf);
            }
            _ => joined.push(c),
        }
    }
    *cands = rest;
    cands.extend(joined);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, String)> {
        Scanner::default()
            .scan(text)
            .into_iter()
            .map(|f| (f.kind.as_str().to_string(), text[f.start..f.end].to_string()))
            .collect()
    }

    fn check(text: &str, expect: &[(&str, &str)]) {
        let got = kinds(text);
        let want: Vec<(String, String)> =
            expect.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(got, want, "text: {text:?}");
    }

    #[test]
    fn email_and_ip() {
        check(
            "user login ok email=luming@aguilar.com ip=162.86.234.93 session=x",
            &[("EMAIL", "luming@aguilar.com"), ("IP_ADDRESS", "162.86.234.93")],
        );
    }

    #[test]
    fn private_ip_is_not_pii() {
        check("connect 10.0.0.1 and 192.168.1.20 and 127.0.0.1", &[]);
    }

    #[test]
    fn email_lookalikes() {
        check("git clone git@github.com:org/repo.git; logo@2x.png; @types/node@18.1.0", &[]);
    }

    #[test]
    fn aws_pair() {
        check(
            "aws_access_key_id = AKIAQZR5U4LKGSJF346B\naws_secret_access_key = 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\n",
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAQZR5U4LKGSJF346B"),
                ("AWS_SECRET_ACCESS_KEY", "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"),
            ],
        );
        check("AKIAIOSFODNN7EXAMPLE", &[]);
    }

    #[test]
    fn password_in_url() {
        check(
            "DATABASE_URL=\"postgresql://app:Thunder1178*@localhost:5432/prod\"",
            &[("PASSWORD", "Thunder1178*")],
        );
    }

    #[test]
    fn generalises_beyond_dev_values() {
        // Faker honorifics and particle chains; a random password may start with `(`.
        check(
            "Merhaba, ben Yrd. Doç. Canan Zengin. BSN: 1  name: Luc van den Velde\n",
            &[("PERSON", "Yrd. Doç. Canan Zengin"), ("PERSON", "Luc van den Velde")],
        );
        check("DB_PASSWORD=(RqDE8#6YxQOTTg5Ia97\n", &[("PASSWORD", "(RqDE8#6YxQOTTg5Ia97")]);
        check("password = input(\"Enter password: \")", &[]);
        // Epoch seconds next to an e-mail that contains `call` are not phones.
        check("1003,mccall@hill.com,1766800054", &[("EMAIL", "mccall@hill.com")]);
    }

    #[test]
    fn pem_block_whole() {
        let t = "k=\"-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\\n-----END RSA PRIVATE KEY-----\"";
        let f = Scanner::default().scan(t);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, Kind::PrivateKey);
        assert!(t[f[0].start..f[0].end].ends_with("-----END RSA PRIVATE KEY-----"));
    }

    #[test]
    fn custom_rule_and_disabled() {
        let cfg = ScanConfig {
            disabled: vec!["email".into()],
            custom_rules: vec![CustomRule {
                name: "emp".into(),
                pattern: r"EMP-(?P<value>[0-9]{6})".into(),
                kind: "EMPLOYEE_ID".into(),
                secret: false,
            }],
            min_confidence: 0.0,
        };
        let s = Scanner::new(&cfg).unwrap();
        let t = "a@b.com EMP-123456";
        let f = s.scan(t);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind.as_str(), "EMPLOYEE_ID");
        assert_eq!(&t[f[0].start..f[0].end], "123456");
    }

    #[test]
    fn config_errors_name_values() {
        let cfg = ScanConfig { disabled: vec!["NOPE".into()], ..ScanConfig::default() };
        let e = Scanner::new(&cfg).unwrap_err().to_string();
        assert_eq!(e, "disabled type \"NOPE\" is not a taxonomy type");
        let cfg = ScanConfig {
            custom_rules: vec![CustomRule {
                name: "bad".into(),
                pattern: "(".into(),
                kind: "X".into(),
                secret: true,
            }],
            ..ScanConfig::default()
        };
        assert!(Scanner::new(&cfg).unwrap_err().to_string().starts_with("custom rule \"bad\""));
    }
}
