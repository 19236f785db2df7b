//! Context detectors: person names, street addresses, dates of birth, and typed table
//! columns (CSV/TSV headers, `psql`/`mysql` result grids).
//!
//! These types have no checksum, so they are found from what surrounds them: a key name
//! (`"name": "…"`), a cue phrase (`je suis …`, `Please ship it to …`), a signature line,
//! or a table column header. A shape check (capitalisation, script, no digits) then
//! rejects the organisation and product names that share those contexts.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::Regex;

use crate::detect::{Cand, contains, g, re};
use crate::kind::Kind;
use crate::validate as v;

/// How the value after a cue is delimited.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Take {
    /// A name running to the next punctuation.
    Name,
    /// An address running to the end of the sentence.
    Address,
    /// An address block running to the next blank line.
    AddressBlock,
    /// A date of birth within the next few bytes.
    Dob,
}

const CUES: &[(&str, Take)] = &[
    ("this is ", Take::Name),
    ("je suis ", Take::Name),
    ("hola, soy ", Take::Name),
    (", soy ", Take::Name),
    ("buongiorno, sono ", Take::Name),
    (", sono ", Take::Name),
    ("merhaba, ben ", Take::Name),
    ("meu nome é ", Take::Name),
    ("me llamo ", Take::Name),
    ("mi chiamo ", Take::Name),
    ("hier ist ", Take::Name),
    ("ich bin ", Take::Name),
    ("mein name ist ", Take::Name),
    ("nazywam się ", Take::Name),
    ("mijn naam is ", Take::Name),
    ("ik ben ", Take::Name),
    ("меня зовут ", Take::Name),
    ("Получатель ", Take::Name),
    ("получатель ", Take::Name),
    ("είμαι ο/η ", Take::Name),
    ("με λένε ", Take::Name),
    ("שמי ", Take::Name),
    ("اسمي ", Take::Name),
    ("मेरा नाम ", Take::Name),
    ("tôi là ", Take::Name),
    ("我是", Take::Name),
    ("收件人", Take::Name),
    ("저는 ", Take::Name),
    ("こんにちは、", Take::Name),
    ("おります。", Take::Name),
    ("billing name ", Take::Name),
    ("on file for ", Take::Name),
    ("intestato a ", Take::Name),
    ("kontoinhaber ", Take::Name),
    ("alıcı ", Take::Name),
    ("titular ", Take::Name),
    ("beneficiary ", Take::Name),
    ("account holder ", Take::Name),
    ("my name is ", Take::Name),
    ("\"hi ", Take::Name),
    ("\nhi ", Take::Name),
    ("hello ", Take::Name),
    ("dear ", Take::Name),
    ("customer ", Take::Name),
    ("applicant: ", Take::Name),
    ("patient: ", Take::Name),
    ("employee: ", Take::Name),
    ("author: ", Take::Name),
    ("from: ", Take::Name),
    ("name: ", Take::Name),
    ("name=", Take::Name),
    ("signed-off-by: ", Take::Name),
    ("ship it to ", Take::Address),
    ("address to:\n", Take::AddressBlock),
    ("address is ", Take::Address),
    ("address: ", Take::Address),
    ("adresse suivante : ", Take::Address),
    ("adresse lautet ", Take::Address),
    ("endereço: ", Take::Address),
    ("vivo en ", Take::Address),
    ("по адресу: ", Take::Address),
    ("διεύθυνσή μου είναι ", Take::Address),
    ("请寄到：", Take::Address),
    ("주소는 ", Take::Address),
    ("住所は", Take::Address),
    ("địa chỉ giao hàng: ", Take::Address),
    ("Địa chỉ giao hàng: ", Take::Address),
    ("पता: ", Take::Address),
    ("הכתובת שלי: ", Take::Address),
    ("write to ", Take::Address),
    ("mi dirección es ", Take::Address),
    ("il mio indirizzo è ", Take::Address),
    ("mijn adres is ", Take::Address),
    ("date of birth", Take::Dob),
    ("dob", Take::Dob),
    ("birth", Take::Dob),
    ("born", Take::Dob),
    ("geburtsdatum", Take::Dob),
    ("生年月日", Take::Dob),
    ("nacimiento", Take::Dob),
    ("nascimento", Take::Dob),
    ("naissance", Take::Dob),
    ("nascita", Take::Dob),
    ("geboortedatum", Take::Dob),
    ("рождения", Take::Dob),
    ("doğum", Take::Dob),
    ("생년월일", Take::Dob),
    ("出生", Take::Dob),
    ("γέννησης", Take::Dob),
    ("לידה", Take::Dob),
    ("ميلاد", Take::Dob),
    ("जन्म", Take::Dob),
    ("ngày sinh", Take::Dob),
    ("urodzenia", Take::Dob),
];

pub(crate) struct Patterns {
    cues: AhoCorasick,
    json_name: Regex,
    json_addr: Regex,
    signature: Regex,
    date: Regex,
}

impl Patterns {
    pub(crate) fn new() -> Result<Patterns, regex::Error> {
        let cues = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(CUES.iter().map(|(c, _)| c.as_bytes()))
            .map_err(|e| regex::Error::Syntax(e.to_string()))?;
        Ok(Patterns {
            cues,
            json_name: re(
                r#"(?i)["']?(?:name|full_?name|customer|customer_?name|contact_?name|author|owner|display_?name|recipient|card_?holder|account_?holder|holder_?name|applicant|patient|employee|billing_?name|beneficiary|first_?name|last_?name)["']?\s*[:=]\s*["']((?:[^"'\\\n]|\\u[0-9a-fA-F]{4})+)["']"#,
            )?,
            json_addr: re(
                r#"(?i)["']?(?:address|street_?address|street|shipping_?address|billing_?address|home_?address|mailing_?address|postal_?address|addr)["']?\s*[:=]\s*["']((?:[^"\\\n]|\\u[0-9a-fA-F]{4}|\\n)+)["']"#,
            )?,
            signature: re(
                r"(?i)(?:thanks|thank you|regards|best regards|kind regards|best|cheers|sincerely|saludos|grazie|danke|merci|obrigad[oa]|cordialmente|groeten|pozdrawiam|atenciosamente|gracias|cordialement)[,!.]?[ \t]*\r?\n[ \t]*([^\n]+)",
            )?,
            date: re(
                r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}|[0-9]{4}[/.][0-9]{1,2}[/.][0-9]{1,2}|[0-9]{1,2}\.? (?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? [0-9]{4}|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? [0-9]{1,2},? [0-9]{4}|[0-9]{4}年 ?[0-9]{1,2}月 ?[0-9]{1,2}日|[0-9]{4}년 ?[0-9]{1,2}월 ?[0-9]{1,2}일",
            )?,
        })
    }

    pub(crate) fn run(&self, text: &[u8], grp: u32, out: &mut Vec<Cand>) {
        if grp & (g::PERSON | g::ADDRESS | g::DOB) != 0 {
            self.cue_values(text, out);
        }
        if grp & g::PERSON != 0 {
            for c in self.json_name.captures_iter(text) {
                let (Some(all), Some(m)) = (c.get(0), c.get(1)) else { continue };
                if all.start() > 0 && is_word(text[all.start() - 1]) {
                    continue;
                }
                if looks_like_name(&unescape(m.as_bytes())) {
                    out.push(Cand {
                        kind: Kind::Person,
                        start: m.start(),
                        end: m.end(),
                        conf: 0.8,
                    });
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
        if grp & g::ADDRESS != 0 {
            for c in self.json_addr.captures_iter(text) {
                let (Some(all), Some(m)) = (c.get(0), c.get(1)) else { continue };
                if all.start() > 0 && (is_word(text[all.start() - 1])) {
                    continue;
                }
                let (s, e) = trim(text, m.start(), m.end());
                if looks_like_address(&text[s..e]) {
                    out.push(Cand { kind: Kind::StreetAddress, start: s, end: e, conf: 0.8 });
                }
            }
        }
        if grp & g::TABLE != 0 {
            tables(text, out, &self.date);
        }
    }

    fn cue_values(&self, text: &[u8], out: &mut Vec<Cand>) {
        for hit in self.cues.find_iter(text) {
            let take = CUES[hit.pattern().as_usize()].1;
            let s = hit.end();
            let cue_start = hit.start();
            // Word cues must start at a word boundary ("dob" in "adobe" is not a cue).
            let first = CUES[hit.pattern().as_usize()].0.as_bytes()[0];
            if first.is_ascii_alphabetic()
                && cue_start > 0
                && text[cue_start - 1].is_ascii_alphabetic()
            {
                continue;
            }
            match take {
                Take::Name => {
                    if let Some((a, b)) = take_name(text, s) {
                        out.push(Cand { kind: Kind::Person, start: a, end: b, conf: 0.78 });
                    }
                }
                Take::Address | Take::AddressBlock => {
                    if let Some((a, b)) = take_address(text, s, take == Take::AddressBlock) {
                        out.push(Cand { kind: Kind::StreetAddress, start: a, end: b, conf: 0.75 });
                    }
                }
                Take::Dob => {
                    let end = (s + 48).min(text.len());
                    let win = &text[s..end];
                    let stop = win.iter().position(|&c| c == b'\n').unwrap_or(win.len());
                    // The date follows its cue closely (`dob": "`, `Geburtsdatum: `, `は`);
                    // a date further on belongs to another field.
                    if let Some(m) = self.date.find(&win[..stop]).filter(|m| m.start() <= 16) {
                        let (a, b) = (s + m.start(), s + m.end());
                        if !text.get(b).is_some_and(u8::is_ascii_digit)
                            && !text[..a].last().is_some_and(u8::is_ascii_digit)
                        {
                            out.push(Cand {
                                kind: Kind::DateOfBirth,
                                start: a,
                                end: b,
                                conf: 0.85,
                            });
                        }
                    }
                }
            }
        }
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn trim(text: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && text[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && text[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
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
pub(crate) fn looks_like_name(b: &[u8]) -> bool {
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

/// Combining marks (Devanagari vowel signs, Hebrew points, Arabic harakat, ...).
fn is_mark(c: char) -> bool {
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

const ADDR_SUFFIXES: &[&str] = &["입니다", "です", " है", "에 살아요", "에요"];

/// An address after a cue: to the end of the sentence, or to a blank line for blocks.
fn take_address(text: &[u8], s: usize, block: bool) -> Option<(usize, usize)> {
    let mut a = s;
    while a < text.len() && (text[a] == b' ' || text[a] == b'\t') {
        a += 1;
    }
    let max = (a + 200).min(text.len());
    let mut e = a;
    let mut i = a;
    while i < max {
        let c = text[i];
        if block {
            if c == b'\n' && text.get(i + 1).is_none_or(|&n| n == b'\n' || n == b'\r') {
                break;
            }
        } else if c == b'\n'
            || c == b'\r'
            || c == b'"' && text.get(i + 1).is_none_or(|n| !n.is_ascii_alphabetic() && *n < 0x80)
        {
            break;
        } else if c == b'.' {
            let next = text.get(i + 1).copied();
            let word_start = text[a..i].iter().rposition(|&x| x == b' ').map_or(a, |p| a + p + 1);
            let word = &text[word_start..i];
            let wstr = std::str::from_utf8(word).unwrap_or("");
            let wlen = wstr.chars().count();
            let short_word = wlen <= 4 && wstr.chars().next().is_some_and(char::is_alphabetic);
            let abbrev_any = short_word
                && (wstr.chars().next().is_some_and(char::is_lowercase)
                    || !wstr.is_ascii()
                    || wlen == 1);
            let next2 = text.get(i + 2).copied();
            // "Apt. 932" and "д. 699" continue; "…, 24128. Next" ends the address.
            let sentence_end = match next {
                None | Some(b'\n') | Some(b'\r') => true,
                Some(b' ') => !abbrev_any && !next2.is_some_and(|x| x.is_ascii_digit()),
                _ => false,
            };
            if sentence_end {
                break;
            }
        } else if text[i..].starts_with("，".as_bytes())
            || text[i..].starts_with("。".as_bytes())
            || text[i..].starts_with("।".as_bytes())
        {
            break;
        }
        i += 1;
        if !c.is_ascii_whitespace() {
            e = i;
        }
    }
    while e > a && text.get(e).is_some_and(|&c| (0x80..0xc0).contains(&c)) {
        e -= 1;
    }
    let mut s2 = std::str::from_utf8(&text[a..e]).ok()?.trim_end();
    for suf in ADDR_SUFFIXES {
        if let Some(x) = s2.strip_suffix(suf) {
            s2 = x.trim_end();
        }
    }
    let s2 = s2.trim_end_matches([',', ' ', ';']);
    if !looks_like_address(s2.as_bytes()) {
        return None;
    }
    Some((a, a + s2.len()))
}

/// A postal address by shape: some length, a number somewhere (house or postcode),
/// several words, and nothing that looks like an e-mail, URL or IP.
pub(crate) fn looks_like_address(b: &[u8]) -> bool {
    if b.len() < 8 || b.len() > 300 {
        return false;
    }
    if contains(b, b"@")
        || contains(b, b"://")
        || contains(b, b"0x")
        || b.starts_with(b"{")
        || b.starts_with(b"[")
    {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = std::str::from_utf8(b)
        .map(|s| s.chars().filter(|c| c.is_alphabetic()).count())
        .unwrap_or(0);
    if digits == 0 || letters < 3 {
        return false;
    }
    // IPs, MACs, hashes.
    if b.iter().all(|c| c.is_ascii_hexdigit() || b".:-".contains(c)) {
        return false;
    }
    let words = b.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).count();
    words >= 2 || b.iter().any(|&c| c >= 0x80)
}

/// Column kinds by header name.
fn column_kind(h: &[u8]) -> Option<Kind> {
    let h = h.to_ascii_lowercase();
    let h = h.as_slice();
    Some(match h {
        b"name" | b"full_name" | b"fullname" | b"customer" | b"customer_name" | b"contact"
        | b"contact_name" | b"author" | b"owner" | b"first_name" | b"last_name" | b"holder"
        | b"cardholder" | b"account_holder" | b"recipient" | b"employee" | b"patient"
        | b"display_name" | b"user_name" | b"applicant" => Kind::Person,
        b"dob" | b"date_of_birth" | b"birthdate" | b"birth_date" | b"birthday" => Kind::DateOfBirth,
        b"address" | b"street" | b"street_address" | b"shipping_address" | b"billing_address"
        | b"home_address" | b"addr" => Kind::StreetAddress,
        b"phone" | b"phone_number" | b"mobile" | b"tel" | b"telephone" | b"cell" => Kind::Phone,
        b"ssn" => Kind::UsSsn,
        b"national_id" | b"nhs" | b"nhs_no" | b"sin" | b"bsn" | b"aadhaar" | b"cpf" | b"dni"
        | b"nino" => Kind::NationalId,
        _ => return None,
    })
}

/// Finds header rows of delimited tables and types the cells below them.
fn tables(text: &[u8], out: &mut Vec<Cand>, date: &Regex) {
    let mut pos = 0;
    let mut header: Option<(u8, Vec<Option<Kind>>)> = None;
    while pos < text.len() {
        let le = text[pos..].iter().position(|&c| c == b'\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..le];
        let mut handled = false;
        if let Some((d, cols)) = &header {
            let cells = split_cells(line, *d, pos);
            if cells.len() == cols.len() && cells.len() >= 2 {
                handled = true;
                for ((s, e), k) in cells.iter().zip(cols) {
                    if let Some(k) = k {
                        typed_cell(text, *s, *e, k, out, date);
                    }
                }
            } else if line.iter().all(|c| b"-+| =".contains(c)) && !line.is_empty() {
                handled = true;
            }
        }
        // Header rows are short lists of identifiers: skip JSON and log lines cheaply.
        if !handled && line.len() <= 400 && !line.iter().any(|c| b"\"{}:=@/".contains(c)) {
            header = None;
            for d in [b'\t', b';', b',', b'|'] {
                // Without the delimiter the line is one cell: no header.
                if !line.contains(&d) {
                    continue;
                }
                let cells = split_cells(line, d, pos);
                if cells.len() < 2 {
                    continue;
                }
                let names: Vec<&[u8]> = cells.iter().map(|&(s, e)| &text[s..e]).collect();
                let ident = names.iter().all(|n| {
                    !n.is_empty()
                        && n.len() <= 32
                        && n.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                });
                if !ident {
                    continue;
                }
                let cols: Vec<Option<Kind>> = names.iter().map(|n| column_kind(n)).collect();
                if cols.iter().any(Option::is_some) {
                    header = Some((d, cols));
                    break;
                }
            }
        } else if !handled {
            header = None;
        }
        pos = le + 1;
    }
}

/// Cells of one line as trimmed byte ranges (double-quoted CSV fields unwrapped).
fn split_cells(line: &[u8], d: u8, base: usize) -> Vec<(usize, usize)> {
    let mut cells = Vec::new();
    let mut i = 0;
    let mut start = 0;
    let mut quoted = false;
    while i <= line.len() {
        let c = line.get(i).copied();
        if c == Some(b'"') && d != b'|' {
            quoted = !quoted;
        }
        if c.is_none() || (c == Some(d) && !quoted) {
            let (mut s, mut e) = (start, i);
            while s < e && line[s].is_ascii_whitespace() {
                s += 1;
            }
            while e > s && line[e - 1].is_ascii_whitespace() {
                e -= 1;
            }
            if e > s + 1 && line[s] == b'"' && line[e - 1] == b'"' {
                s += 1;
                e -= 1;
            }
            cells.push((base + s, base + e));
            start = i + 1;
        }
        i += 1;
    }
    if d == b'|' {
        // psql grids have no leading/trailing pipes, mysql grids do.
        if cells.first().is_some_and(|&(s, e)| s == e) {
            cells.remove(0);
        }
        if cells.last().is_some_and(|&(s, e)| s == e) {
            cells.pop();
        }
    }
    cells
}

fn typed_cell(text: &[u8], s: usize, e: usize, k: &Kind, out: &mut Vec<Cand>, date: &Regex) {
    if e <= s {
        return;
    }
    let cell = &text[s..e];
    let l = cell.to_ascii_lowercase();
    if l == b"null" || l == b"none" || l == b"n/a" || l == b"-" {
        return;
    }
    let d = v::digits(cell);
    let ok = match k {
        Kind::Person => looks_like_name(cell),
        Kind::DateOfBirth => {
            date.find(cell).is_some_and(|m| m.start() == 0 && m.end() == cell.len())
        }
        Kind::StreetAddress => looks_like_address(cell),
        Kind::Phone => {
            (7..=15).contains(&d.len())
                && cell.iter().all(|c| c.is_ascii_digit() || b" +-.()".contains(c))
        }
        Kind::UsSsn => v::ssn(&d) && cell.iter().all(|c| c.is_ascii_digit() || b" -".contains(c)),
        Kind::NationalId => {
            v::nhs(&d)
                || v::sin(&d)
                || v::bsn(&d)
                || v::aadhaar(&d)
                || v::cpf(&d)
                || v::dni(cell)
                || v::nino(&cell.iter().filter(|c| **c != b' ').copied().collect::<Vec<_>>())
        }
        _ => false,
    };
    if ok {
        // A column header is stronger evidence than a cell's shape alone (a spaced SSN
        // also looks like a national phone number).
        out.push(Cand { kind: k.clone(), start: s, end: e, conf: 0.85 });
    }
}
