//! Scanning and redacting a JSON value in place, by a per-type [`Policy`].
//!
//! Used by the recorder before it hashes an event body: every string is scanned,
//! including object keys and strings nested in arrays. Pure: the caller supplies the
//! optional tag key; nothing here reads a clock or logs.

use std::collections::HashMap;
use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::{Kind, Scanner};

/// What to do with a type's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Ignore the type.
    Off,
    /// Report it, keep the value.
    Detect,
    /// Report it and replace each match with `[REDACTED:<type>]`.
    Redact,
    /// Refuse the whole value.
    Block,
}

/// Per-type modes. The default for a new log: secrets redacted, PII detected.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub default_pii: Mode,
    pub default_secret: Mode,
    /// Overrides by type name (taxonomy or custom, case-insensitive): `{"EMAIL": "redact"}`.
    pub per_type: HashMap<String, Mode>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { default_pii: Mode::Detect, default_secret: Mode::Redact, per_type: HashMap::new() }
    }
}

impl Policy {
    /// The mode that applies to `kind`.
    pub fn mode(&self, kind: &Kind) -> Mode {
        let name = kind.as_str();
        if let Some(m) = self.per_type.get(name) {
            return *m;
        }
        if let Some((_, m)) = self.per_type.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return *m;
        }
        if kind.is_secret() { self.default_secret } else { self.default_pii }
    }
}

/// Findings of one type at one JSON location, aggregated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonFinding {
    /// RFC 6901 pointer to the string (for a key: to the member, with the key as
    /// written after redaction).
    pub path: String,
    pub kind: Kind,
    pub count: u32,
}

/// A type in `Block` mode was found. Names the type and the location, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blocked: {kind} found at {path:?}")]
pub struct Blocked {
    pub kind: Kind,
    pub path: String,
}

/// Scans every string in `value` (keys included) and applies `policy` in place.
///
/// Returns the findings of every type not in `Off` mode (redacted ones included),
/// aggregated per (path, type) in document order. With `tag_key`, redactions read
/// `[REDACTED:email:<16 hex>]`, the first 8 bytes of HMAC-SHA256(tag_key, value), so
/// equal values can be correlated without being revealed.
///
/// On `Err(Blocked)` the value may already be partly redacted and must be discarded.
pub fn scan_value(
    scanner: &Scanner,
    policy: &Policy,
    value: &mut Value,
    tag_key: Option<&[u8]>,
) -> Result<Vec<JsonFinding>, Blocked> {
    let mut w = Walker { scanner, policy, tag_key, out: Vec::new(), at: HashMap::new() };
    let mut path = String::new();
    w.value(value, &mut path, None)?;
    Ok(w.out)
}

/// Scans one string that is not part of a JSON body (a record field such as `action` or
/// `usage.model`) under `policy`: returns the string as it must be stored (`None` when nothing
/// is redacted: `[REDACTED:<type>]` replaces each redacted span, the rest of the field kept) and
/// the findings, reported at `path`.
pub fn scan_str(
    scanner: &Scanner,
    policy: &Policy,
    s: &str,
    path: &str,
    tag_key: Option<&[u8]>,
) -> Result<(Option<String>, Vec<JsonFinding>), Blocked> {
    let mut w = Walker { scanner, policy, tag_key, out: Vec::new(), at: HashMap::new() };
    let new = w.string(s, path)?;
    Ok((new, w.out))
}

/// Whether any finding of `s` is one the policy redacts or blocks (a value that must not be
/// stored as it is).
pub fn must_change(scanner: &Scanner, policy: &Policy, s: &str) -> Option<Kind> {
    scanner
        .scan(s)
        .into_iter()
        .find(|f| matches!(policy.mode(&f.kind), Mode::Redact | Mode::Block))
        .map(|f| f.kind)
}

struct Walker<'a> {
    scanner: &'a Scanner,
    policy: &'a Policy,
    tag_key: Option<&'a [u8]>,
    out: Vec<JsonFinding>,
    /// Where each (path, type) is in `out`: a body of many strings with findings stays linear.
    at: HashMap<(String, Kind), usize>,
}

impl Walker<'_> {
    /// Walks `v`, the value of the member named `key` (or an element of its array), if any.
    fn value(
        &mut self,
        v: &mut Value,
        path: &mut String,
        key: Option<&str>,
    ) -> Result<(), Blocked> {
        match v {
            Value::String(s) => {
                if let Some(new) = self.member_string(s, path, key)? {
                    *s = new;
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push('/');
                    let _ = write!(path, "{i}");
                    self.value(item, path, key)?;
                    path.truncate(len);
                }
            }
            // Most objects have no key to rename: walk them in place.
            Value::Object(map) if map.keys().all(|k| self.applicable(k).is_empty()) => {
                for (key, child) in map.iter_mut() {
                    let len = path.len();
                    path.push('/');
                    push_pointer_token(path, key);
                    self.value(child, path, Some(key))?;
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                let old = std::mem::take(map);
                let mut renamed: Map<String, Value> = Map::new();
                let keys: Vec<String> = old.keys().cloned().collect();
                let mut old = old;
                for key in keys {
                    let Some(mut child) = old.remove(&key) else { continue };
                    let len = path.len();
                    // Findings in the key itself are reported at the member's pointer,
                    // written with the key as it will be stored (after any renaming).
                    let key_findings = self.applicable(&key);
                    let original = credential_key(&key).then(|| key.clone());
                    let mut name = self.rewrite(&key, &key_findings).unwrap_or(key);
                    if renamed.contains_key(&name) {
                        let mut n = 2;
                        while renamed.contains_key(&format!("{name}#{n}")) {
                            n += 1;
                        }
                        name = format!("{name}#{n}");
                    }
                    path.push('/');
                    push_pointer_token(path, &name);
                    if !key_findings.is_empty() {
                        self.record(&key_findings, path)?;
                    }
                    self.value(&mut child, path, original.as_deref())?;
                    path.truncate(len);
                    renamed.insert(name, child);
                }
                *map = renamed;
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        Ok(())
    }

    /// A string that is the value of the member named `key`: a key that names a credential
    /// (`"password": "..."`, `"DB_PASSWORD": "..."`) says what its value is, as the assignment
    /// `key="value"` does in text, so the value is also scanned in that assignment and what the
    /// credential detectors find in it counts (where the value's own findings do not cover it).
    fn member_string(
        &mut self,
        s: &str,
        path: &str,
        key: Option<&str>,
    ) -> Result<Option<String>, Blocked> {
        let Some(key) = key.filter(|k| credential_key(k)) else { return self.string(s, path) };
        // Not remembered as clean: the value may be a password only its key reveals.
        let mut findings = self.with_modes(self.scanner.scan_unremembered(s));
        let assignment = format!("{key}=\"{s}\"");
        let at = key.len() + 2;
        for (f, m) in self.with_modes(self.scanner.scan_unremembered(&assignment)) {
            if f.start < at || f.end > at + s.len() {
                continue;
            }
            let (start, end) = (f.start - at, f.end - at);
            if findings.iter().all(|(g, _)| end <= g.start || g.end <= start) {
                findings.push((crate::Finding { start, end, ..f }, m));
            }
        }
        findings.sort_by_key(|(f, _)| f.start);
        self.apply(s, path, findings)
    }

    fn string(&mut self, s: &str, path: &str) -> Result<Option<String>, Blocked> {
        let findings = self.applicable(s);
        self.apply(s, path, findings)
    }

    /// Records `findings` of `s` at `path` and rewrites `s` as the policy says.
    fn apply(
        &mut self,
        s: &str,
        path: &str,
        findings: Vec<(crate::Finding, Mode)>,
    ) -> Result<Option<String>, Blocked> {
        if findings.is_empty() {
            return Ok(None);
        }
        self.record(&findings, path)?;
        Ok(self.rewrite(s, &findings))
    }

    fn applicable(&self, s: &str) -> Vec<(crate::Finding, Mode)> {
        self.with_modes(self.scanner.scan(s))
    }

    /// Each finding with the mode the policy gives its type, those turned off left out.
    fn with_modes(&self, findings: Vec<crate::Finding>) -> Vec<(crate::Finding, Mode)> {
        findings
            .into_iter()
            .map(|f| {
                let m = self.policy.mode(&f.kind);
                (f, m)
            })
            .filter(|(_, m)| *m != Mode::Off)
            .collect()
    }

    fn record(&mut self, findings: &[(crate::Finding, Mode)], path: &str) -> Result<(), Blocked> {
        if let Some((f, _)) = findings.iter().find(|(_, m)| *m == Mode::Block) {
            return Err(Blocked { kind: f.kind.clone(), path: path.to_string() });
        }
        for (f, _) in findings {
            match self.at.get(&(path.to_owned(), f.kind.clone())) {
                Some(&i) => self.out[i].count = self.out[i].count.saturating_add(1),
                None => {
                    self.at.insert((path.to_owned(), f.kind.clone()), self.out.len());
                    self.out.push(JsonFinding {
                        path: path.to_string(),
                        kind: f.kind.clone(),
                        count: 1,
                    });
                }
            }
        }
        Ok(())
    }

    /// The string with every Redact-mode span replaced; `None` if nothing changes.
    fn rewrite(&self, s: &str, findings: &[(crate::Finding, Mode)]) -> Option<String> {
        if !findings.iter().any(|(_, m)| *m == Mode::Redact) {
            return None;
        }
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (f, m) in findings {
            if *m != Mode::Redact {
                continue;
            }
            out.push_str(&s[at..f.start]);
            out.push_str("[REDACTED:");
            out.push_str(&f.kind.as_str().to_lowercase());
            if let Some(k) = self.tag_key {
                out.push(':');
                out.push_str(&tag(k, &s.as_bytes()[f.start..f.end]));
            }
            out.push(']');
            at = f.end;
        }
        out.push_str(&s[at..]);
        Some(out)
    }
}

/// Whether a member's key may name a credential (then its value is also read as the value of
/// that assignment; the credential detectors decide).
fn credential_key(key: &str) -> bool {
    const WORDS: [&[u8]; 7] = [b"pass", b"pwd", b"secret", b"token", b"key", b"auth", b"cred"];
    let k = key.as_bytes();
    k.len() <= 64 && WORDS.iter().any(|w| k.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w)))
}

/// First 8 bytes of HMAC-SHA256(key, value), lowercase hex.
pub fn tag(key: &[u8], value: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails; fall back to an empty tag.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else { return String::new() };
    mac.update(value);
    let bytes = mac.finalize().into_bytes();
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends one RFC 6901 reference token (`~` -> `~0`, `/` -> `~1`).
fn push_pointer_token(path: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(
        policy: &Policy,
        v: &mut Value,
        key: Option<&[u8]>,
    ) -> Result<Vec<JsonFinding>, Blocked> {
        scan_value(&Scanner::default(), policy, v, key)
    }

    /// Found by an outside tester: `{"password": "hunter2hunter2"}` was stored as it was, while
    /// the same pair written as text (`password=hunter2hunter2`) was redacted.
    #[test]
    fn a_key_that_names_a_credential_says_what_its_value_is() {
        let mut v = json!({
            "password": "hunter2hunter2",
            "args": {"env": {"DB_PASSWORD": "Zq8mW2pL9vX4kR7t", "LANG": "C.UTF-8"}},
            "passwords": ["s3cr3t-P@ss-w0rd", "hunter2 hunter2"],
            "keyboard": "a quiet mechanical one",
            "token_count": 12,
            "password_hint": "",
        });
        let f = run(&Policy::default(), &mut v, None).unwrap();
        assert_eq!(v["password"], "[REDACTED:password]");
        assert_eq!(v["args"]["env"]["DB_PASSWORD"], "[REDACTED:password]");
        assert_eq!(v["passwords"][0], "[REDACTED:password]");
        assert_eq!(v["passwords"][1], "[REDACTED:password]");
        assert_eq!(v["args"]["env"]["LANG"], "C.UTF-8");
        assert_eq!(v["keyboard"], "a quiet mechanical one");
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/args/env/DB_PASSWORD", "/password", "/passwords/0", "/passwords/1"],
            "{f:?}"
        );
        // The scanner's memo of clean short texts never holds a credential member's value.
        let scanner = Scanner::default();
        let mut v = json!({"password": "hunter2x", "cwd": "/srv/app"});
        scan_value(&scanner, &Policy::default(), &mut v, None).unwrap();
        assert!(!scanner.clean.is_clean(b"hunter2x"));
        assert!(scanner.clean.is_clean(b"/srv/app"), "other values are remembered");
        // A value with its own finding is reported once, as what it is.
        let mut v = json!({"api_key": "AKIAQZR5U4LKGSJF346B"});
        let f = run(&Policy::default(), &mut v, None).unwrap();
        assert_eq!(v["api_key"], "[REDACTED:aws_access_key_id]");
        assert_eq!(f.len(), 1, "{f:?}");
    }

    #[test]
    fn default_policy_redacts_secrets_detects_pii() {
        let mut v = json!({"args": {"text": "mail bob@corp.example.org key AKIAQZR5U4LKGSJF346B"}});
        let f = run(&Policy::default(), &mut v, None).unwrap();
        assert_eq!(v["args"]["text"], "mail bob@corp.example.org key [REDACTED:aws_access_key_id]");
        assert_eq!(
            f,
            vec![
                JsonFinding { path: "/args/text".into(), kind: Kind::Email, count: 1 },
                JsonFinding { path: "/args/text".into(), kind: Kind::AwsAccessKeyId, count: 1 },
            ]
        );
    }

    #[test]
    fn arrays_keys_and_counts() {
        let mut policy = Policy::default();
        policy.per_type.insert("email".into(), Mode::Redact);
        let mut v = json!({"to": ["a.person@corp.example.org", "x b.person@corp.example.org c.person@corp.example.org"],
                          "bob@corp.example.org": 1, "[REDACTED:email]": 2});
        let f = run(&policy, &mut v, None).unwrap();
        assert_eq!(v["to"][0], "[REDACTED:email]");
        assert_eq!(v["to"][1], "x [REDACTED:email] [REDACTED:email]");
        assert_eq!(v["[REDACTED:email]"], 2);
        assert_eq!(v["[REDACTED:email]#2"], 1);
        assert!(f.contains(&JsonFinding { path: "/to/1".into(), kind: Kind::Email, count: 2 }));
        assert!(f.contains(&JsonFinding {
            path: "/[REDACTED:email]#2".into(),
            kind: Kind::Email,
            count: 1
        }));
    }

    #[test]
    fn tags_correlate() {
        let mut policy = Policy::default();
        policy.per_type.insert("EMAIL".into(), Mode::Redact);
        let mut v = json!(["bob@corp.example.org", "bob@corp.example.org", "eve@corp.example.org"]);
        run(&policy, &mut v, Some(b"k")).unwrap();
        assert_eq!(v[0], v[1]);
        assert_ne!(v[0], v[2]);
        let s = v[0].as_str().unwrap();
        assert!(s.starts_with("[REDACTED:email:") && s.len() == "[REDACTED:email:]".len() + 16);
    }

    #[test]
    fn block_names_type_and_path_only() {
        let mut policy = Policy::default();
        policy.per_type.insert("AWS_ACCESS_KEY_ID".into(), Mode::Block);
        let mut v = json!({"a/b": ["AKIAQZR5U4LKGSJF346B"]});
        let e = run(&policy, &mut v, None).unwrap_err();
        assert_eq!(e.to_string(), "blocked: AWS_ACCESS_KEY_ID found at \"/a~1b/0\"");
    }

    #[test]
    fn off_is_ignored() {
        let policy: Policy =
            serde_json::from_value(json!({"default_pii": "off", "default_secret": "off"})).unwrap();
        let mut v = json!("bob@corp.example.org AKIAQZR5U4LKGSJF346B");
        assert!(run(&policy, &mut v, None).unwrap().is_empty());
    }

    #[test]
    fn hmac_golden() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?")
        // = 5bdcc146bf60754e6a042426089575c7...
        assert_eq!(tag(b"Jefe", b"what do ya want for nothing?"), "5bdcc146bf60754e");
    }
}
