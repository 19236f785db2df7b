//! Person names: from name keys (`"name": "…"`), signature lines and cues, kept when their
//! shape is a name (capitalised words with particles and titles, or a run of another script).

use regex::bytes::Regex;

use super::nearby::{is_word, trim};
use super::{Cand, re};
use crate::kind::Kind;

/// The compiled name contexts.
pub(super) struct Names {
    json_name: Regex,
    signature: Regex,
}

impl Names {
    pub(super) fn new() -> Result<Names, regex::Error> {
        Ok(Names {
            json_name: re(
                r#"(?i)["']?(?:name|full_?name|customer|customer_?name|contact_?name|author|owner|display_?name|real_?name|recipient|card_?holder|account_?holder|holder_?name|applicant|patient|employee|billing_?name|beneficiary|first_?name|last_?name)["']?\s*[:=]\s*["']((?:[^"'\\\n]|\\u[0-9a-fA-F]{4})+)["']"#,
            )?,
            signature: re(
                r"(?i)(?:thanks|thank you|regards|best regards|kind regards|best|cheers|sincerely|saludos|grazie|danke|merci|obrigad[oa]|cordialmente|groeten|pozdrawiam|atenciosamente|gracias|cordialement)[,!.]?[ \t]*\r?\n[ \t]*([^\n]+)",
            )?,
        })
    }

    /// Names under a name key and on the line after a sign-off.
    pub(super) fn run(&self, text: &[u8], out: &mut Vec<Cand>) {
        for c in self.json_name.captures_iter(text) {
            let (Some(all), Some(m)) = (c.get(0), c.get(1)) else { continue };
            if all.start() > 0 && is_word(text[all.start() - 1]) {
                continue;
            }
            if looks_like_name(&unescape(m.as_bytes())) {
                out.push(Cand { kind: Kind::Person, start: m.start(), end: m.end(), conf: 0.8 });
            }
        }
        for c in self.signature.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            let (s, e) = trim(text, m.start(), m.end());
            if looks_like_name(&text[s..e]) {
                out.push(Cand { kind: Kind::Person, start: s, end: e, conf: 0.75 });
            }
        }
    }
}

/// The name after a cue ending at `s`.
pub(super) fn after_cue(text: &[u8], s: usize, out: &mut Vec<Cand>) {
    if let Some((a, b)) = take_name(text, s) {
        out.push(Cand { kind: Kind::Person, start: a, end: b, conf: 0.78 });
    }
}

/// Decodes `\uXXXX` escapes so that a JSON-escaped name can be shape-checked.
fn unescape(s: &[u8]) -> Vec<u8> {
    if !s.contains(&b'\\') {
        return s.to_vec();
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && s.get(i + 1) == Some(&b'u')
            && let Some(h) = s.get(i + 2..i + 6)
            && let Ok(hs) = std::str::from_utf8(h)
            && let Ok(n) = u32::from_str_radix(hs, 16)
            && let Some(ch) = char::from_u32(n)
        {
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            i += 6;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "dr",
    "dra",
    "dott",
    "sig",
    "sr",
    "sra",
    "prof",
    "ing",
    "uz",
    "jr",
    "st",
    "mx",
    "mme",
    "mlle",
    "herr",
    "frau",
    "dipl",
    "b.sc",
    "m.sc",
    "phd",
    "sir",
    "lic",
    "av",
    "md",
    "mba",
    "pan",
    "pani",
    "quý",
    "cô",
    "bà",
    "ông",
    "anh",
    "chị",
    "em",
    "г-н",
    "г-жа",
    "dipl.-ing",
    "arş",
    "gör",
    "doç",
    "çev",
    "uzm",
    "öğr",
    "dott.ssa",
    "ir",
    "drs",
    "mgr",
    // Honorifics and degrees of the 21 Faker person locales (prefixes and suffixes).
    "okt",
    "yrd",
    "bay",
    "bayan",
    "bác",
    "ind",
    "mag",
    "misc",
    "mtro",
    "sig.ra",
    "sr(a)",
    "srita",
    "srta",
    "univ.prof",
    "тов",
    "dds",
    "dvm",
    "b.a",
    "b.eng",
    "mba",
];

const PARTICLES: &[&str] = &[
    "van", "de", "der", "den", "da", "dos", "das", "del", "della", "di", "du", "la", "le", "von",
    "y", "e", "bin", "al", "ter", "ten", "zu", "op", "het", "te", "dei", "do", "des", "el", "auch",
    "ibn", "abu", "ben", "vom", "zum", "zur", "und", "pan", "pani", "cô", "bà", "ông", "chị",
    "anh", "em", "г-н", "г-жа",
];

const NOT_NAMES: &[&str] = &[
    "inc",
    "llc",
    "ltd",
    "gmbh",
    "corp",
    "corporation",
    "company",
    "team",
    "support",
    "service",
    "services",
    "bot",
    "admin",
    "administrator",
    "user",
    "users",
    "customer",
    "client",
    "api",
    "app",
    "application",
    "system",
    "project",
    "group",
    "bank",
    "university",
    "street",
    "road",
    "avenue",
    "the",
    "new",
    "web",
    "cloud",
    "data",
    "default",
    "test",
    "production",
    "staging",
    "deploy",
    "release",
    "build",
    "update",
    "error",
    "warning",
    "info",
    "debug",
    "order",
    "invoice",
    "payment",
    "account",
    "billing",
    "shipping",
    "security",
    "notification",
    "notifications",
    "alert",
    "alerts",
    "monitor",
    "manager",
    "engineering",
    "marketing",
    "office",
    "department",
    "foundation",
    "association",
    "hotel",
    "airlines",
    "google",
    "microsoft",
    "amazon",
    "apple",
    "github",
    "slack",
    "stripe",
    "openai",
    "anthropic",
    "docker",
    "kubernetes",
    "linux",
    "windows",
    "chrome",
    "firefox",
    "python",
    "java",
    "node",
    "react",
    "mozilla",
    "safari",
    "your",
    "our",
    "my",
    "this",
    "that",
    "we",
    "you",
    "i",
    "it",
    "is",
    "are",
    "was",
    "please",
    "hello",
    "hi",
    "thanks",
    "dear",
    "all",
    "there",
    "everyone",
    "guys",
    "folks",
    "world",
    "token",
    "secret",
    "password",
    "file",
    "name",
    "email",
    "phone",
    "address",
    "none",
    "null",
    "unknown",
    "n/a",
    "ok",
    "yes",
    "no",
    "true",
    "false",
    "cannot",
    "can",
    "will",
    "not",
    "has",
    "have",
    "and",
    "or",
    "for",
    "with",
    "from",
    "to",
    "on",
    "in",
    "at",
    "by",
    "of",
    "team's",
    "labs",
    "systems",
    "solutions",
    "technologies",
    "ventures",
    "partners",
    "holdings",
    "international",
    "global",
    "media",
    "digital",
    "studio",
    "store",
    "shop",
    "market",
    "center",
    "centre",
    "school",
    "college",
    "hospital",
    "clinic",
    "county",
    "republic",
    "kingdom",
    "general",
    "public",
    "private",
    "limited",
    "trust",
    "fund",
    "capital",
    "network",
    "networks",
    "software",
    "hardware",
    "platform",
    "console",
    "dashboard",
    "portal",
    "gateway",
    "service's",
    "agent",
    "assistant",
    "model",
    "gpt",
];

fn is_title(w: &str) -> bool {
    let l = w.trim_end_matches('.').to_lowercase();
    TITLES.contains(&l.as_str())
        || w.contains('.') && w.chars().filter(|c| c.is_alphabetic()).count() <= 8
}

fn has_upper_start(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
}

/// Latin-script text (ASCII letters, Latin-1 and Latin Extended, Vietnamese).
fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || ('\u{c0}'..='\u{24f}').contains(&c)
        || ('\u{1e00}'..='\u{1eff}').contains(&c)
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
        || ('\u{3040}'..='\u{30ff}').contains(&c)
        || ('\u{ac00}'..='\u{d7af}').contains(&c)
}

/// A person's full name by shape: 1-6 words, letters only, capitalised Latin words
/// (with particles and titles), or a run of another script.
pub(super) fn looks_like_name(b: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(b) else { return false };
    let s = s.trim();
    if s.len() < 2 || s.len() > 90 {
        return false;
    }
    if s.chars().any(|c| c.is_ascii_digit() || "@/_=#\\|<>{}[]()$%&*+;:!?\"".contains(c)) {
        return false;
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || words.len() > 8 || words.len() > 6 && s.is_ascii() {
        return false;
    }
    let latin = s.chars().filter(|c| c.is_alphabetic()).all(is_latin);
    // "Thu Mar" (after `Valid from:`) is a date.
    if let [day, month, ..] = words.as_slice()
        && WEEKDAYS.contains(&day.trim_end_matches(',').to_lowercase().as_str())
        && MONTHS.contains(&month.to_lowercase().as_str())
    {
        return false;
    }
    if latin {
        let mut caps = 0;
        for (i, w) in words.iter().enumerate() {
            let l = w.to_lowercase();
            let bare = l.trim_end_matches(['.', ',']);
            if NOT_NAMES.contains(&bare) {
                return false;
            }
            if has_upper_start(w) {
                // Vietnamese honorifics are also given names ("Bác Anh Lê"): after the
                // first word, a capitalised one without a period counts as a name.
                if !is_title(w) || i > 0 && !w.contains('.') {
                    caps += 1;
                }
                // ALL-CAPS words longer than 3 are constants or acronyms, not names.
                if w.chars().filter(|c| c.is_alphabetic()).count() > 3
                    && w.chars().all(|c| !c.is_lowercase())
                {
                    return false;
                }
            } else if !(PARTICLES.contains(&bare) || is_title(w)) {
                return false;
            }
        }
        caps >= 2
    } else {
        let letters = s.chars().filter(|c| c.is_alphabetic()).count();
        if letters < 2
            || !s.chars().all(|c| {
                c.is_alphabetic()
                    || c.is_whitespace()
                    || "-'’.\u{200c}\u{200d}".contains(c)
                    || is_mark(c)
            })
        {
            return false;
        }
        if s.chars().all(|c| is_cjk(c) || c.is_whitespace()) {
            return s.chars().filter(|c| !c.is_whitespace()).count() <= 7;
        }
        true
    }
}

const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTHS: &[&str] =
    &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Combining marks (Devanagari vowel signs, Hebrew points, Arabic harakat, ...).
pub(super) fn is_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}' | '\u{591}'..='\u{5c7}' | '\u{610}'..='\u{61a}' | '\u{64b}'..='\u{65f}' | '\u{900}'..='\u{903}' | '\u{93a}'..='\u{94f}' | '\u{951}'..='\u{957}' | '\u{962}'..='\u{963}')
}

const NAME_SUFFIXES: &[&str] =
    &["と申します", "です", "입니다", "이고", "이에요", "예요", "님", " है", "さん", "様"];

/// The name after a cue: up to punctuation, then trimmed to name-shaped words.
fn take_name(text: &[u8], s: usize) -> Option<(usize, usize)> {
    let rest = std::str::from_utf8(&text[s..(s + 120).min(text.len())]).ok().or_else(|| {
        // Cut at a char boundary.
        let mut e = (s + 120).min(text.len());
        while e > s && std::str::from_utf8(&text[s..e]).is_err() {
            e -= 1;
        }
        std::str::from_utf8(&text[s..e]).ok()
    })?;
    let lead = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let rest = &rest[lead..];
    let mut end = 0;
    let mut prev_word_start = 0;
    for (i, c) in rest.char_indices() {
        let stop = match c {
            '\n' | '\r' | '\t' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '<' | '>' | '"'
            | '|' | '。' | '，' | '、' | '！' | '？' | '।' | '@' | '[' | ']' | '{' | '}' | '=' => {
                true
            }
            // Inside an abbreviation ("Univ.Prof.", "Dipl.-Ing.", "H.-Dieter").
            '.' if rest[i + 1..].starts_with(|n: char| n.is_alphabetic() || n == '-') => false,
            '.' => {
                let word = &rest[prev_word_start..i];
                let n = word.chars().count();
                // Titles, initials ("J.", "Klaus-D.") and short non-ASCII abbreviations.
                let initial = word.rsplit('-').next().is_some_and(|x| x.chars().count() == 1);
                !(is_title(word)
                    || n == 1
                    || initial
                    || n <= 4 && !word.is_ascii() && has_upper_start(word))
            }
            c if c.is_ascii_digit() => true,
            _ => false,
        };
        if stop {
            break;
        }
        if c == ' ' {
            prev_word_start = i + 1;
        }
        end = i + c.len_utf8();
    }
    let mut cand = rest[..end].trim_end();
    for suf in NAME_SUFFIXES {
        if let Some(x) = cand.strip_suffix(suf) {
            cand = x.trim_end();
        }
    }
    // Another script followed by Latin prose ("Шестаков Радислав cannot log in"):
    // cut at the first lowercase ASCII word.
    if !cand.chars().filter(|c| c.is_alphabetic()).all(is_latin) {
        let mut pos = 0;
        for w in cand.split(' ') {
            if w.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                break;
            }
            pos += w.len() + 1;
        }
        cand = cand[..pos.min(cand.len())].trim_end();
    }
    // Latin: keep the leading run of name words.
    if cand.chars().filter(|c| c.is_alphabetic()).all(is_latin) {
        let words: Vec<(usize, &str)> = cand
            .split(' ')
            .scan(0usize, |pos, w| {
                let p = *pos;
                *pos += w.len() + 1;
                Some((p, w))
            })
            .filter(|(_, w)| !w.is_empty())
            .collect();
        let mut keep = 0;
        for (idx, (p, w)) in words.iter().enumerate() {
            let bare = w.trim_end_matches('.').to_lowercase();
            let ok = has_upper_start(w)
                || is_title(w)
                || (PARTICLES.contains(&bare.as_str())
                    && words[idx + 1..]
                        .iter()
                        .find(|(_, n)| !PARTICLES.contains(&n.to_lowercase().as_str()))
                        .is_some_and(|(_, n)| has_upper_start(n)));
            if !ok {
                break;
            }
            keep = p + w.len();
        }
        cand = &cand[..keep];
        let trimmed = cand.trim_end_matches(['.', ' ']);
        // Degree suffixes keep their final period ("B.Sc.").
        let last = trimmed.rsplit(' ').next().unwrap_or("");
        cand = if last.contains('.') && cand.len() > trimmed.len() {
            &cand[..trimmed.len() + 1]
        } else {
            trimmed
        };
        // Keep a trailing period only for titles/initials (never at the end of a name).
    }
    if cand.is_empty() || !looks_like_name(cand.as_bytes()) {
        return None;
    }
    let a = s + lead;
    Some((a, a + cand.len()))
}
