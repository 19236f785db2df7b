//! Credentials that file formats and tools put in places of their own, where no `key = value`
//! pair or URL shows them: HTML form fields, XML configuration elements, Terraform's
//! sensitive outputs and generated passwords, `.pgpass` lines, connection strings, cookies of
//! sessions, tool commands (`rabbitmqctl add_user`, `openssl enc -k`, JDBC thin URLs), the
//! value printed after `kubectl get secret -o jsonpath='{.data.PASSWORD}'`, Google OAuth
//! access tokens, and a password given in a sentence ("the wifi password is ..."). They run
//! when the prefilter saw a secret-ish word (`pass`, `token`, `secret`, `cookie`, ...) or a
//! tool's name.

use regex::bytes::Regex;

use super::re;
use super::values::{generic_value, password_value, placeholder};
use crate::kind::Kind;

/// "Password" in Hindi and Japanese, as the gate words of their sentences.
const PASSWORD_HI: &[u8] = "पासवर्ड".as_bytes();
const PASSWORD_JA: &[u8] = "パスワード".as_bytes();

/// The compiled format patterns.
pub(super) struct Formats {
    input_tag: Regex,
    attribute: Regex,
    xml_element: Regex,
    xml_named: Regex,
    tf_sensitive: Regex,
    tf_value: Regex,
    tf_result: Regex,
    tf_change: Regex,
    pgpass: Regex,
    conn_string: Regex,
    cookie_header: Regex,
    cookie: Regex,
    /// Each tool's pattern, run only when the text holds one of its words.
    tools: Vec<(&'static [&'static [u8]], Regex, Kind)>,
    jsonpath: Regex,
    google_oauth: Regex,
    /// A PuTTY key's private lines, a PEM key's body whose BEGIN line is cut off (`tail`),
    /// crypt(3) and bcrypt password hashes.
    putty: Regex,
    pem_tail: Regex,
    password_hash: Regex,
    /// Telegram bot tokens (`<bot id>:AA<33>`) and Discord webhooks.
    chat_bots: Regex,
    /// `{\"password\": \"...\"}`: JSON escaped inside a JSON string (docker logs).
    escaped_json: Regex,
    said: Regex,
}

impl Formats {
    pub(super) fn new() -> Result<Formats, regex::Error> {
        Ok(Formats {
            input_tag: re(r"(?i)<input\b[^<>]{0,600}>")?,
            attribute: re(r#"(?i)([a-z_:-]+)\s*=\s*"([^"]*)""#)?,
            // <password>…</password>, <db.password>…</…>, <spring:password>…
            xml_element: re(
                r"(?i)<([a-z0-9_:.-]*(?:password|passwd|secret|token))>([^<\n]{1,256})</",
            )?,
            // <property name="hibernate.connection.password">…</property>,
            // <entry key="db.password">…</entry>, <add key="DbPassword" value="…"/>
            xml_named: re(
                r#"(?i)<[a-z:]+\s+(?:name|key)\s*=\s*"[^"\n]*(password|passwd|secret|token|apikey|api_key)[^"\n]*"\s*(?:value\s*=\s*"([^"\n]{1,256})"|>([^<\n]{1,256})</)"#,
            )?,
            tf_sensitive: re(r#""sensitive"\s*:\s*true"#)?,
            tf_value: re(r#"^[^{}]*?"value"\s*:\s*"((?:[^"\\\n]|\\.){1,512})""#)?,
            tf_result: re(
                r#""type"\s*:\s*"random_password"[^\x00]{0,4000}?"result"\s*:\s*"((?:[^"\\\n]|\\.){1,512})""#,
            )?,
            // Plan output: ~ "DB_PASSWORD" = "old" -> "new"
            tf_change: re(
                r#"(?i)"[a-z0-9_.-]*(?:password|passwd|secret|token)[a-z0-9_.-]*"\s*=\s*"[^"\n]*"\s*->\s*"([^"\n]{1,256})""#,
            )?,
            // host:port:database:user:password (the port may be `*`).
            pgpass: re(
                r"(?m)^[ \t]*[A-Za-z0-9_.*-]*[A-Za-z*][A-Za-z0-9_.*-]*:(?:[0-9]{1,5}|\*):[^:\s]+:[^:\s]+:([^\s]{1,128})[ \t]*\r?$",
            )?,
            // ADO.NET / ODBC: ...;Password=value; or Pwd={value with ; in braces}
            conn_string: re(
                r#"(?i);[ \t]*(?:password|pwd)\s*=\s*(\{[^}\n]{1,256}\}|[^;"'\s<>]{1,256})\s*(?:;|"|'|$)"#,
            )?,
            cookie_header: re(r"(?im)^[>< \t]*(?:set-)?cookie:[ \t]*([^\r\n]+)")?,
            cookie: re(r"([A-Za-z0-9_.!#$%&'*+^`|~-]+)=([^;\s]+)")?,
            tools: vec![
                // rabbitmqctl add_user NAME PASSWORD, rabbitmqctl change_password NAME PASSWORD
                (
                    &[b"rabbitmqctl"],
                    re(
                        r#"rabbitmqctl\s+(?:add_user|change_password)\s+['"]?[^\s'"]+['"]?\s+'([^'\n]+)'"#,
                    )?,
                    Kind::Password,
                ),
                (
                    &[b"rabbitmqctl"],
                    re(
                        r#"rabbitmqctl\s+(?:add_user|change_password)\s+['"]?[^\s'"]+['"]?\s+"?([^\s'"]+)"?"#,
                    )?,
                    Kind::Password,
                ),
                // openssl enc ... -k PASSWORD
                (&[b"openssl"], re(r#"openssl\b[^\n]*?\s-k\s+'([^'\n]+)'"#)?, Kind::Password),
                (&[b"openssl"], re(r#"openssl\b[^\n]*?\s-k\s+"?([^\s'"]+)"?"#)?, Kind::Password),
                // mysql -p'secret' (quoted, right after -p)
                (
                    &[b"mysql"],
                    re(r#"mysql(?:dump|admin)?\b[^\n]*?\s-p'([^'\n]+)'"#)?,
                    Kind::Password,
                ),
                (
                    &[b"mysql"],
                    re(r#"mysql(?:dump|admin)?\b[^\n]*?\s-p"([^"\n]+)""#)?,
                    Kind::Password,
                ),
                // ~/.netrc: `password X` after a `machine` line; redis.conf: `requirepass X`,
                // `masterauth X`.
                (
                    &[b"password"],
                    re(r"(?m)^[ \t]*(?:machine\s[^\n]*\s)?password[ \t]+([^\s]+)")?,
                    Kind::Password,
                ),
                (
                    &[b"pass"],
                    re(r"(?m)^[ \t]*(?:[0-9]+:)?(?:requirepass|masterauth)[ \t]+([^\s]+)")?,
                    Kind::Password,
                ),
                // Hindi and Japanese put the verb after the value: "पासवर्ड X है", "パスワードは X です".
                (&[PASSWORD_HI], re(r"पासवर्ड[ \t]+([^\s]{6,128})[ \t]+है")?, Kind::Password),
                (&[PASSWORD_JA], re(r"パスワードは[ \t]*([!-~]{6,128})")?, Kind::Password),
                // A label on its own line and the value on the next ("Password:\nW1nter-..."),
                // and YAML block scalars (`password: |` then the value indented).
                (
                    &[b"assword", b"ASSWORD"],
                    re(
                        r"(?mi)^[ \t]*(?:[a-z_]*password|passwd|pwd)[ \t]*:[ \t]*(?:[|>][-+]?)?[ \t]*\r?\n[ \t]*([^\s:]{6,128})[ \t]*\r?$",
                    )?,
                    Kind::Password,
                ),
                (
                    &[b"oken", b"ecret"],
                    re(
                        r"(?mi)^[ \t]*[a-z_]*(?:token|secret|api_?key)[ \t]*:[ \t]*[|>][-+]?[ \t]*\r?\n[ \t]*([^\s:]{16,512})[ \t]*\r?$",
                    )?,
                    Kind::GenericSecret,
                ),
                // SQL: CREATE USER x WITH PASSWORD '...', ALTER USER ... IDENTIFIED BY '...'.
                (
                    &[b"ASSWORD", b"assword"],
                    re(r"(?i)\bwith\s+(?:encrypted\s+)?password\s+'([^'\n]+)'")?,
                    Kind::Password,
                ),
                (
                    &[b"IDENTIFIED", b"identified"],
                    re(r"(?i)\bidentified\s+(?:with\s+\w+\s+)?by\s+'([^'\n]+)'")?,
                    Kind::Password,
                ),
                // PHP: define('DB_PASSWORD', '...').
                (
                    &[b"define("],
                    re(
                        r#"define\(\s*['"][A-Za-z0-9_]*(?i:pass|pwd)[A-Za-z0-9_]*['"]\s*,\s*['"]([^'"\n]+)['"]"#,
                    )?,
                    Kind::Password,
                ),
                // Azure connection strings: AccountKey=..., SharedAccessKey=...
                (&[b"AccountKey="], re(r"AccountKey=([A-Za-z0-9+/=]{20,})")?, Kind::GenericSecret),
                (
                    &[b"SharedAccessKey="],
                    re(r"SharedAccessKey=([A-Za-z0-9+/=]{20,})")?,
                    Kind::GenericSecret,
                ),
                // zip -P PASSWORD, 7z -pPASSWORD, echo PASSWORD | docker login --password-stdin
                (&[b"zip "], re(r#"\bzip\b[^\n]*?\s-P\s+['"]?([^\s'"]+)"#)?, Kind::Password),
                (&[b"7z "], re(r#"\b7za?\b[^\n]*?\s-p['"]?([^\s'"]+)"#)?, Kind::Password),
                (
                    &[b"password-stdin"],
                    re(
                        r#"\b(?:echo|printf)\s+(?:-n\s+)?['"]?([^\s'"|]+)['"]?\s*\|\s*(?:sudo\s+)?\w+\s+login\b[^\n]*--password-stdin"#,
                    )?,
                    Kind::Password,
                ),
                // jdbc:oracle:thin:user/password@host
                (&[b"jdbc:oracle"], re(r"jdbc:oracle:thin:[^/\s:@]+/([^@\s]+)@")?, Kind::Password),
            ],
            jsonpath: re(
                r#"(?i)jsonpath=['"]?\{\.data\.([a-z0-9_.-]+)\}['"]?[^\n]*\r?\n([^\s$]{1,512})"#,
            )?,
            google_oauth: re(r"\bya29\.[0-9A-Za-z_-]{30,}")?,
            putty: re(
                r"PuTTY-User-Key-File-[0-9]+:[^\n]*\n(?:[^\n]*\n){0,8}?Private-Lines:[ \t]*[0-9]+\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)",
            )?,
            pem_tail: re(
                r"((?:[A-Za-z0-9+/=]{40,}\r?\n)+)-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----",
            )?,
            password_hash: re(
                r"\$(?:2[abxy]|1|5|6|apr1|y|gy|argon2id|argon2i|argon2d)\$[./A-Za-z0-9$=,+-]{20,}",
            )?,
            chat_bots: re(
                r"\b[0-9]{8,10}:AA[0-9A-Za-z_-]{33}\b|https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]+/[0-9A-Za-z_-]{40,}",
            )?,
            escaped_json: re(
                r#"\\"([A-Za-z0-9_.-]*(?i:pass|pwd|secret|token|api_?key|apikey)[A-Za-z0-9_.-]*)\\"\s*:\s*\\"([^"\\]{4,512})\\""#,
            )?,
            // "the wifi password is X", "mot de passe : X", "WLAN-Passwort: X",
            // "पासवर्ड X है", "token, please rotate after: X"
            said: re(
                r#"(?i)(?:password|passwort|passwd|\bpw|mot de passe|contraseña|senha|wachtwoord|parola d'ordine|пароль|パスワード|पासवर्ड|\btoken|api key|secret)[^\n:"'=_{}<>]{0,48}?(?::|\s(?:is|ist|es|est|é|è|is now|lautet))[ \t]+([^\s"'<>{}\[\]]{6,128})"#,
            )?,
        })
    }

    pub(super) fn run(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        let has = |w: &[u8]| crate::bytes::find(text, w).is_some();
        if memchr::memchr(b'<', text).is_some() {
            self.html_inputs(text, push);
            self.xml(text, push);
        }
        if has(b"\"sensitive\"") {
            self.terraform_outputs(text, push);
        }
        if has(b"random_password") {
            for c in self.tf_result.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    literal(Kind::Password, m.start(), m.end(), text, push);
                }
            }
        }
        if has(b"->") {
            for c in self.tf_change.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    literal(Kind::Password, m.start(), m.end(), text, push);
                }
            }
        }
        // `.pgpass` lines show up where the file is named (`cat ~/.pgpass`, `PGPASSFILE`).
        if has(b"pgpass") || has(b"PGPASS") {
            for c in self.pgpass.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    literal(Kind::Password, m.start(), m.end(), text, push);
                }
            }
        }
        if has(b"=") && (has(b"assword") || has(b"ASSWORD") || has(b"wd=") || has(b"WD=")) {
            for c in self.conn_string.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    let (mut s, mut e) = (m.start(), m.end());
                    if text[s] == b'{' {
                        (s, e) = (s + 1, e - 1);
                    }
                    literal(Kind::Password, s, e, text, push);
                }
            }
        }
        if has(b"ookie") || has(b"OOKIE") {
            self.cookies(text, push);
        }
        for (words, re, kind) in &self.tools {
            if !words.iter().any(|w| has(w)) {
                continue;
            }
            for c in re.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    literal(kind.clone(), m.start(), m.end(), text, push);
                }
            }
        }
        if has(b"jsonpath") {
            for c in self.jsonpath.captures_iter(text) {
                let (Some(k), Some(m)) = (c.get(1), c.get(2)) else { continue };
                if secret_name(k.as_bytes()) {
                    literal(Kind::Password, m.start(), m.end(), text, push);
                }
            }
        }
        if has(b":AA") || has(b"discord") {
            for m in self.chat_bots.find_iter(text) {
                push(Kind::VendorApiKey, m.start(), m.end(), 0.95);
            }
        }
        if has(b"\\\"") {
            for c in self.escaped_json.captures_iter(text) {
                let (Some(k), Some(m)) = (c.get(1), c.get(2)) else { continue };
                let key = k.as_bytes().to_ascii_lowercase();
                if contains(&key, b"pass") || contains(&key, b"pwd") {
                    if password_value(m.as_bytes()) {
                        push(Kind::Password, m.start(), m.end(), 0.85);
                    }
                } else if generic_value(m.as_bytes()) {
                    push(Kind::GenericSecret, m.start(), m.end(), 0.8);
                }
            }
        }
        if has(b"PuTTY-User-Key-File") {
            for c in self.putty.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    push(Kind::PrivateKey, m.start(), trim_newline(text, m.start(), m.end()), 0.99);
                }
            }
        }
        if has(b"PRIVATE KEY-----") {
            for c in self.pem_tail.captures_iter(text) {
                let (Some(all), Some(m)) = (c.get(0), c.get(1)) else { continue };
                // A whole block is the PEM detector's; only a body without its BEGIN line.
                let before = &text[..m.start()];
                if !before.ends_with(b"-----\n") && !before.ends_with(b"-----\r\n") {
                    push(Kind::PrivateKey, m.start(), all.end(), 0.98);
                }
            }
        }
        if has(b"$") {
            for m in self.password_hash.find_iter(text) {
                push(Kind::Password, m.start(), m.end(), 0.9);
            }
        }
        if has(b"ya29.") {
            for m in self.google_oauth.find_iter(text) {
                push(Kind::GenericSecret, m.start(), m.end(), 0.95);
            }
        }
        for c in self.said.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            let (s, e) = trim_sentence_end(text, m.start(), m.end());
            let v = &text[s..e];
            // In code, `token: proc_macro::TokenStream` is a type, not a value.
            if strong(v) && !placeholder(v) && password_value(v) {
                let kind = if generic_value(v) && v.len() >= 24 {
                    Kind::GenericSecret
                } else {
                    Kind::Password
                };
                push(kind, s, e, 0.7);
            }
        }
    }

    /// `<input>` fields: a password field's value, and the value of a hidden field named for
    /// a token (CSRF tokens, API tokens).
    fn html_inputs(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        for tag in self.input_tag.find_iter(text) {
            let (mut password, mut tokenish, mut value) = (false, false, None);
            for a in self.attribute.captures_iter(tag.as_bytes()) {
                let (Some(n), Some(v)) = (a.get(1), a.get(2)) else { continue };
                let name = n.as_bytes().to_ascii_lowercase();
                let val = v.as_bytes().to_ascii_lowercase();
                match name.as_slice() {
                    b"type" => password |= val == b"password",
                    b"name" | b"id" => {
                        password |= contains(&val, b"pass");
                        tokenish |= secret_name(&val);
                    }
                    b"value" => value = Some((tag.start() + v.start(), tag.start() + v.end())),
                    _ => {}
                }
            }
            let Some((s, e)) = value else { continue };
            if password {
                literal(Kind::Password, s, e, text, push);
            } else if tokenish && generic_value(&text[s..e]) {
                push(Kind::GenericSecret, s, e, 0.8);
            }
        }
    }

    fn xml(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        for c in self.xml_element.captures_iter(text) {
            let (Some(tag), Some(m)) = (c.get(1), c.get(2)) else { continue };
            let t = tag.as_bytes().to_ascii_lowercase();
            if contains(&t, b"pass") {
                literal(Kind::Password, m.start(), m.end(), text, push);
            } else if generic_value(m.as_bytes()) {
                push(Kind::GenericSecret, m.start(), m.end(), 0.8);
            }
        }
        for c in self.xml_named.captures_iter(text) {
            let (Some(word), Some(m)) = (c.get(1), c.get(2).or(c.get(3))) else { continue };
            if contains(&word.as_bytes().to_ascii_lowercase(), b"pass") {
                literal(Kind::Password, m.start(), m.end(), text, push);
            } else if generic_value(m.as_bytes()) {
                push(Kind::GenericSecret, m.start(), m.end(), 0.8);
            }
        }
    }

    /// `terraform output -json`: the value of an output marked sensitive.
    fn terraform_outputs(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        for m in self.tf_sensitive.find_iter(text) {
            let win = &text[m.end()..(m.end() + 700).min(text.len())];
            if let Some(c) = self.tf_value.captures(win)
                && let Some(v) = c.get(1)
            {
                let (s, e) = (m.end() + v.start(), m.end() + v.end());
                let kind = if generic_value(&text[s..e]) && e - s >= 24 {
                    Kind::GenericSecret
                } else {
                    Kind::Password
                };
                literal(kind, s, e, text, push);
            }
        }
    }

    /// Session cookies in `Cookie:` and `Set-Cookie:` headers.
    fn cookies(&self, text: &[u8], push: &mut impl FnMut(Kind, usize, usize, f32)) {
        for h in self.cookie_header.captures_iter(text) {
            let Some(line) = h.get(1) else { continue };
            for c in self.cookie.captures_iter(line.as_bytes()) {
                let (Some(n), Some(v)) = (c.get(1), c.get(2)) else { continue };
                let name = n.as_bytes().to_ascii_lowercase();
                let session = contains(&name, b"sess")
                    || name == b"sid"
                    || name.ends_with(b".sid")
                    || name.ends_with(b"_sid")
                    || secret_name(&name)
                    || contains(&name, b"remember");
                let val = v.as_bytes();
                if session && val.len() >= 16 && !placeholder(val) {
                    let s = line.start() + v.start();
                    push(Kind::GenericSecret, s, s + val.len(), 0.8);
                }
            }
        }
    }
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    crate::bytes::find(h, n).is_some()
}

/// A name that says it holds a secret (lower case).
fn secret_name(n: &[u8]) -> bool {
    let n = n.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "csrf", "xsrf", "api_key", "apikey", "auth"]
        .iter()
        .any(|w| contains(&n, w.as_bytes()))
        && !contains(&n, b"author")
}

/// A value a format holds literally (no variable names there): any value except empty ones,
/// placeholders and template references.
fn literal(
    kind: Kind,
    s: usize,
    e: usize,
    text: &[u8],
    push: &mut impl FnMut(Kind, usize, usize, f32),
) {
    let v = &text[s..e];
    if v.len() < 4 || placeholder(v) || v.starts_with(b"$") || v.starts_with(b"%(") {
        return;
    }
    let l = v.to_ascii_lowercase();
    if [&b"changeme"[..], b"password", b"null", b"none", b"true", b"false", b"hidden", b"sensitive"]
        .contains(&l.as_slice())
    {
        return;
    }
    push(kind, s, e, 0.85);
}

/// A value that looks chosen as a password: 6+ characters mixing at least three of lower
/// case, upper case, digits and symbols, or 16+ mixing two of which digits are one.
fn strong(v: &[u8]) -> bool {
    let classes = [
        v.iter().any(u8::is_ascii_lowercase),
        v.iter().any(u8::is_ascii_uppercase),
        v.iter().any(u8::is_ascii_digit),
        v.iter().any(|c| c.is_ascii_punctuation()),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    v.iter().all(u8::is_ascii_graphic)
        && (classes >= 3 || classes >= 2 && v.len() >= 16 && v.iter().any(u8::is_ascii_digit))
}

/// Drops line breaks at the end of `[s, e)`.
fn trim_newline(text: &[u8], s: usize, mut e: usize) -> usize {
    while e > s && matches!(text[e - 1], b'\n' | b'\r') {
        e -= 1;
    }
    e
}

/// Drops a sentence's closing punctuation from a value at its end.
fn trim_sentence_end(text: &[u8], s: usize, mut e: usize) -> (usize, usize) {
    while e > s + 1 && matches!(text[e - 1], b',' | b';' | b')' | b'"' | b'\'') {
        e -= 1;
    }
    // A final period ends the sentence unless the value is followed by more text on the line.
    if e > s + 1 && text[e - 1] == b'.' && text.get(e).is_none_or(|c| c.is_ascii_whitespace()) {
        // Passwords may end in a period too; keep it when the value has other punctuation.
        let others = text[s..e - 1].iter().filter(|c| c.is_ascii_punctuation()).count();
        if others == 0 {
            e -= 1;
        }
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Kind, String)> {
        let f = Formats::new().unwrap();
        let mut out = Vec::new();
        f.run(text.as_bytes(), &mut |k, s, e, _| out.push((k, text[s..e].to_owned())));
        out
    }

    fn values(text: &str) -> Vec<String> {
        found(text).into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn forms_and_xml() {
        assert_eq!(
            values(r#"<input type="password" name="pw" value="Tr0ub4dor&3">"#),
            ["Tr0ub4dor&3"]
        );
        assert_eq!(
            values(r#"<input type="hidden" name="csrf_token" value="q8Z2kL0pVx7YtR4nB6mW1cE9">"#),
            ["q8Z2kL0pVx7YtR4nB6mW1cE9"]
        );
        assert!(values(r#"<input type="text" name="city" value="Lisboa">"#).is_empty());
        assert_eq!(values("<db.password>violet_juniper</db.password>"), ["violet_juniper"]);
        assert_eq!(
            values(r#"<property name="hibernate.connection.password">s3cr3t!x</property>"#),
            ["s3cr3t!x"]
        );
        assert_eq!(values(r#"<add key="DbPassword" value="Winter2020!"/>"#), ["Winter2020!"]);
        assert!(values("<password>${DB_PASSWORD}</password>").is_empty());
    }

    #[test]
    fn terraform() {
        let out = "{\n  \"db\": {\n    \"sensitive\": true,\n    \"type\": \"string\",\n    \"value\": \"hunter2-Pa55\"\n  }\n}";
        assert_eq!(values(out), ["hunter2-Pa55"]);
        let not =
            "{\n  \"db\": {\n    \"sensitive\": false,\n    \"value\": \"hunter2-Pa55\"\n  }\n}";
        assert!(values(not).is_empty());
        let state = r#"{"type": "random_password", "instances": [{"attributes": {"length": 16, "result": "kM9lv#G1czMi"}}]}"#;
        assert_eq!(values(state), ["kM9lv#G1czMi"]);
        assert_eq!(values(r#"~ "API_TOKEN" = "old-one" -> "n3w-T0ken""#), ["n3w-T0ken"]);
    }

    #[test]
    fn tools_and_files() {
        assert_eq!(values("$ cat ~/.pgpass\ndb.internal:5432:orders:app:pa55word\n"), ["pa55word"]);
        assert!(values("12:30:45:99:00\n").is_empty());
        assert_eq!(
            values("Server=sql;Database=x;User Id=app;Password=river_anchor;Encrypt=true"),
            ["river_anchor"]
        );
        assert_eq!(values("Uid=app;Pwd={p;w{d};"), ["p;w{d"]);
        assert_eq!(values("$ rabbitmqctl add_user shop 'blue.sky.42'"), ["blue.sky.42"]);
        assert_eq!(values("openssl enc -aes-256-cbc -in a -out b -k 'Xy!9secret'"), ["Xy!9secret"]);
        assert_eq!(values("mysql -u root -p'Herbst1972+' -h db"), ["Herbst1972+"]);
        assert_eq!(values("jdbc:oracle:thin:scott/T1ger!pw@//db:1521/orcl"), ["T1ger!pw"]);
        assert_eq!(
            values(
                "$ kubectl get secret s -o jsonpath='{.data.DB_PASSWORD}' | base64 -d\nFlamengo1974.\n"
            ),
            ["Flamengo1974."]
        );
    }

    #[test]
    fn cookies_tokens_and_sentences() {
        assert_eq!(
            values("> Cookie: tz=UTC; connect.sid=s%3AcItCfAwbj7dwd7jUZeNztfl; theme=dark"),
            ["s%3AcItCfAwbj7dwd7jUZeNztfl"]
        );
        let token = "ya29.a0AfH6SMBx0mN1Qb2Zc3Vd4We5Xf6Yg7Zh8Ai9Bj0Ck1Dl2";
        assert_eq!(values(&format!("$ gcloud auth print-access-token\n{token}\n")), [token]);
        assert_eq!(values("the guest wifi password is Sunsh1ne!9 for now"), ["Sunsh1ne!9"]);
        assert_eq!(values("WLAN-Passwort fürs Gästenetz: kL8#mQ2x"), ["kL8#mQ2x"]);
        assert!(values("Your password is incorrect. Try again.").is_empty());
        assert!(values("password: required").is_empty());
    }

    /// Through the whole scanner: the rules of `key = value` pairs that these formats changed.
    fn scanned(text: &str) -> Vec<(String, String)> {
        crate::Scanner::default()
            .scan(text)
            .into_iter()
            .map(|f| (f.kind.as_str().to_owned(), text[f.start..f.end].to_owned()))
            .collect()
    }

    #[test]
    fn config_files_hold_literals() {
        let netrc = "$ cat ~/.netrc\nmachine api.example.com\n  login app\n  password maple_marble_saffron\n";
        assert_eq!(scanned(netrc), [("PASSWORD".into(), "maple_marble_saffron".into())]);
        assert_eq!(
            scanned("1045:requirepass +byL-oiwZQUU5WxAd\n"),
            [("PASSWORD".into(), "+byL-oiwZQUU5WxAd".into())]
        );
        // A whole `key=value` line is a literal even in snake_case; in code it is a variable.
        assert_eq!(
            scanned("[client]\nuser=root\npassword=glacier_fjord_copper\n"),
            [("PASSWORD".into(), "glacier_fjord_copper".into())]
        );
        assert!(scanned("connect(user=u, password=db_password)").is_empty());
        let vault = "vault {\n  token   = \"50a99f16-7206-4830-b97d-839f865d9ffc\"\n}";
        assert_eq!(
            scanned(vault),
            [("GENERIC_SECRET".into(), "50a99f16-7206-4830-b97d-839f865d9ffc".into())]
        );
        assert_eq!(
            scanned("गेस्ट वाई-फ़ाई का पासवर्ड *Sunshine9* है"),
            [("PASSWORD".into(), "*Sunshine9*".into())]
        );
    }

    /// Lines of published Rust crates (security-framework, syn, proc-macro2, pkcs8, url, cc)
    /// that the scanner once took for passwords and tokens, scanning crates.io sources.
    #[test]
    fn code_is_not_a_secret() {
        for line in [
            "pub fn set_generic_password(service: &str, account: &str, password: &[u8]) -> Result<()>",
            "pub fn from_pkcs8_encrypted_pem(s: &str, password: impl AsRef<[u8]>) -> Result<Self>",
            "//! # fn f(tokens: proc_macro::TokenStream) -> Result<()>",
            "    let options = PasswordOptions::new_generic_password(service, account);",
            "        const APPLICATION_PASSWORD = kSecAccessControlApplicationPassword;",
            "    pub static kSecClassInternetPassword: CFStringRef;",
            "            let password = password.map(|s| {",
            "        let pass = get_generic_password(name, name).expect(\"password\");",
            "    pub token: token::Paren,",
            "//! [`TokenStream`]: https://doc.rust-lang.org/proc_macro/struct.TokenStream.html",
            "    /// Specify whether password is cloud-synchronized, not cloud-synchronized.",
            "        rustflags.push_str(\" -Cpasses=sancov-module\");",
            "        password: *mut u8,",
        ] {
            assert!(scanned(line).is_empty(), "{line}: {:?}", scanned(line));
        }
    }
}
