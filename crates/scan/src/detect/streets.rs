//! Street addresses by each country's address grammar, with no cue before them: a house
//! number and a street type in the order the language puts them ("24 Drake Crossing",
//! "93 rue Teixeira", "Calle Norte Riojas 433", "Rua Ferreira, 577", "Hauserstrasse 48"),
//! Japanese prefecture-to-block addresses ("群馬県白井市秋葉原31丁目11番5号"), Indian
//! "house/plot, locality" forms with a PIN; each extended over a unit ("Apt. 623", "3º C")
//! and a postcode and town, also on the next line as letters write them.
//!
//! The street types, unit words and Japanese prefectures come from `crates/scan/data/addresses/`
//! (libpostal's dictionaries, USPS Publication 28, ISO 3166-2: `PROVENANCE.md` there).

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::{Cand, re, re_unicode as unicode};
use crate::kind::Kind;

/// A capital letter (ASCII, or the UTF-8 of an upper-case Latin-1 or Latin Extended-A one).
const CAP: &str = r"(?:[A-Z]|\xC3[\x80-\x9E]|\xC4[\x80-\xBF]|\xC5[\x80-\xBF])";
/// The rest of a word: no blanks, digits or separators.
const REST: &str = r#"[^\s\d,;:()\[\]{}<>"'/|=]*"#;
/// Lower-case words that join the words of a street's name.
const JOIN: &str = r"(?:de|del|de la|de las|de los|do|da|dos|das|di|du|des|della|delle|degli|le|la|les|el|los|las|d'|l'|von|van|der|den|am|an|y|e)";

/// The compiled address grammars.
pub(super) struct Streets {
    /// "<number> <Name words> <type>" (English).
    number_name_type: Regex,
    /// "<number>, <type> <name words>" (French, English "Flat 5, 12 ...").
    number_type_name: Regex,
    /// "<type> <name words>, <number>" (Spanish, Portuguese, Italian, French in Switzerland).
    type_name_number: Regex,
    /// "<Name><suffix> <number>" (German compounds: "Hauserstrasse 48").
    compound_number: Regex,
    /// What may follow a street: a unit, a postcode and town, a state.
    tail: Regex,
    japanese: Regex,
    indian: Regex,
    /// Colombia's grid: "Calle 118P # 43-2 Sur", "Cra. 4ª # 7-31".
    colombian: Regex,
    /// "मकान नं. 365, स्टेशन रोड" (house no.), "2/255, मालवीय नगर".
    hindi: Regex,
}

fn list(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// An alternation of `words` (regex-escaped, longest first so that the longest wins).
fn alternation(mut words: Vec<String>, min_len: usize) -> String {
    words.retain(|w| {
        w.chars().count() >= min_len
            && w.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '.' || c == '\'')
    });
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.dedup();
    words.iter().map(|w| regex::escape(w).replace(' ', r"[ \t]+")).collect::<Vec<_>>().join("|")
}

struct Lists {
    /// The type-first grammar's words, lower case, for finding where it may start.
    type_words: std::collections::HashSet<String>,
    /// German street suffixes, lower case.
    suffixes: Vec<String>,
    type_first: String,
    en: String,
    romance: String,
    de_suffix: String,
    units: String,
    prefectures: String,
}

static LISTS: LazyLock<Lists> = LazyLock::new(|| {
    let types = |t: &str| list(t);
    let mut romance = Vec::new();
    for t in [
        include_str!("../../data/addresses/street-types-fr.txt"),
        include_str!("../../data/addresses/street-types-es.txt"),
        include_str!("../../data/addresses/street-types-pt.txt"),
        include_str!("../../data/addresses/street-types-it.txt"),
        include_str!("../../data/addresses/street-types-nl.txt"),
        include_str!("../../data/addresses/street-types-de.txt"),
    ] {
        romance.extend(types(t));
    }
    let units: Vec<String> = include_str!("../../data/addresses/unit-words.txt")
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(_, w)| w.trim().to_owned()))
        .collect();
    // Type-first grammars take the type capitalised ("Calle", "Travessa", "Via"), as streets
    // are written in Spanish, Portuguese and Italian prose, or one of the French and German
    // words written in lower case ("chemin de ...", "rue ..."): "sent Sun, 19" is no street.
    let capitalised: Vec<String> = romance
        .iter()
        .filter(|w| w.chars().count() >= 4)
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map_or_else(String::new, |f| f.to_uppercase().chain(cs).collect())
        })
        .collect();
    let type_first = format!(
        "{}|(?i:rue|chemin|avenue|allée|boulevard|impasse|route|quai|passage|sentier|ruelle|place)|Av|Avda|Via|Rua",
        alternation(capitalised, 4)
    );
    let mut type_words: std::collections::HashSet<String> =
        romance.iter().filter(|w| w.chars().count() >= 4).cloned().collect();
    type_words.extend(
        [
            "rue",
            "chemin",
            "avenue",
            "allée",
            "boulevard",
            "impasse",
            "route",
            "quai",
            "passage",
            "sentier",
            "ruelle",
            "place",
            "av",
            "avda",
            "via",
            "rua",
        ]
        .map(str::to_owned),
    );
    // Dutch writes its street types as compounds too ("Laurenstraat", "Jessedreef").
    let suffixes = types(include_str!("../../data/addresses/street-suffixes-de.txt"))
        .into_iter()
        .chain(
            types(include_str!("../../data/addresses/street-types-nl.txt"))
                .into_iter()
                .filter(|w| w.chars().count() >= 4),
        )
        .chain(std::iter::once("ring".to_owned()))
        .filter(|w| w.chars().count() >= 3 && !w.contains(' '))
        .collect();
    Lists {
        type_words,
        suffixes,
        type_first,
        en: alternation(types(include_str!("../../data/addresses/street-types-en.txt")), 2),
        // Abbreviations of one to three letters ("r", "c", "all", "for", "con") are words of
        // prose too; the common short street words are added back, "Via" and "Rua" only
        // capitalised ("via Slack" is not a street).
        romance: format!("(?i:{}|rue|av|avda)|Via|Rua", alternation(romance, 4)),
        // "-ring" (a ring road, "Sonia-Kitzmann-Ring 7") is in no permissively licensed list.
        de_suffix: format!(
            "{}|{}|ring",
            alternation(types(include_str!("../../data/addresses/street-suffixes-de.txt")), 3),
            alternation(types(include_str!("../../data/addresses/street-types-nl.txt")), 4)
        ),
        units: alternation(units, 2),
        prefectures: alternation(types(include_str!("../../data/addresses/jp-prefectures.txt")), 2),
    }
});

impl Streets {
    pub(super) fn new() -> Result<Streets, regex::Error> {
        let l = &*LISTS;
        let word = format!("{CAP}{REST}");
        let name = format!(r"(?:{word}|{JOIN})(?:[ \t]+(?:{word}|{JOIN})){{0,5}}");
        let number = r"[0-9]{1,5}(?:[ \t]?(?:bis|ter)\b|[A-Za-z]\b)?";
        Ok(Streets {
            number_name_type: re(&format!(
                r"^{number},?[ \t]+(?:{word}[ \t]+){{1,4}}(?i:{en})\.?(?:\b|$)",
                en = l.en
            ))?,
            number_type_name: re(&format!(
                r"^{number},?[ \t]+(?:{romance})\.?[ \t]+{name}",
                romance = l.romance
            ))?,
            type_name_number: re(&format!(
                r"^(?:{types})\.?[ \t]+{name},?[ \t]+(?:(?i:n)(?:°|º)[ \t]*|#[ \t]*)?{number}(?:[ \t]*-[ \t]*[0-9]{{1,4}})?",
                types = l.type_first
            ))?,
            compound_number: re(&format!(
                r"^{CAP}[^\s\d,;:()]*(?i:{suffix})\.?[ \t]+{number}",
                suffix = l.de_suffix
            ))?,
            tail: re(&tail(&word, &l.units))?,
            japanese: unicode(&format!(
                r"(?:〒[0-9]{{3}}-[0-9]{{4}}[ \t　]*)?(?:{pref})[^\s、。,，「」()（）]{{1,30}}?[0-9０-９]{{1,4}}丁目(?:[0-9０-９]{{1,4}}番(?:地)?)?(?:[0-9０-９]{{1,4}}号)?(?:[ 　][^\s、。,，へにをでがはの]{{1,20}}?[0-9]{{1,4}})?",
                pref = l.prefectures
            ))?,
            indian: unicode(
                r"(?:(?:मकान|फ्लैट|H\.?\s?No\.?|Flat|House|Plot)[ \t]*(?:नं\.?|No\.?)?[ \t]*)?[0-9]{1,4}(?:/[0-9]{1,4})?,[ \t]*[^\s,\d]+(?:[ \t]+[^\s,\d]+){0,2}(?:,?[ \t]*\r?\n?[ \t]*[^\s,\d]+(?:[ \t]+[^\s,\d]+){0,2})?[ \t]*-?[ \t]*[1-9][0-9]{5}(?:[^0-9]|$)",
            )?,
            colombian: unicode(
                r"\b(?:Calle|Carrera|Avenida|Diagonal|Transversal|Circular|Cl\.|Cll\.|Cr\.|Cra\.|Kr\.|Av\.|Dg\.|Tv\.)[ \t]+[0-9]{1,3}[A-Z]?(?:ª|º|°)?(?:[ \t]+Bis)?[ \t]*(?:#|No\.?|N°)[ \t]*[0-9]{1,3}[A-Z]?-[0-9]{1,3}(?:[ \t]+(?:Sur|Este|Norte|Oeste))?",
            )?,
            // The Hindi words for road, lane, path, town, colony, enclave, garden, lines,
            // sector, market and square: no package in the registries lists them.
            hindi: unicode(
                r"(?:(?:मकान|फ्लैट|प्लॉट|दुकान|कमरा)[ \t]*(?:नं|नंबर|संख्या)\.?[ \t]*[0-9]{1,5}|[0-9]{1,4}/[0-9]{1,4}),[ \t]*(?:\p{Devanagari}+[ \t]+){0,2}(?:रोड|मार्ग|गली|पथ|राजपथ|नगर|कॉलोनी|कालोनी|एन्क्लेव|विहार|बाग़|बाग|लाइंस|लाइन्स|सेक्टर|बाज़ार|बाजार|चौक|पुरम|गंज)",
            )?,
        })
    }

    /// Every address the grammars find. The grammars run anchored, only where a street can
    /// start: at a house number followed by a word, and at a street-type word (or a German
    /// compound) a few words before a number. Run over the whole text, their alternations of
    /// thousands of street types cost more than every other detector together. `numbers` are
    /// where the sweep saw words of up to five digits start.
    pub(super) fn run(&self, text: &[u8], numbers: &[usize], out: &mut Vec<Cand>) {
        let l = &*LISTS;
        let mut buf = String::new();
        for &i in numbers {
            // A house number stands after a blank, a line break, a quote, a comma or a
            // parenthesis: not inside a date ("1980-10-22") or a version.
            if i > 0
                && !matches!(
                    text[i - 1],
                    b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b',' | b'(' | b'>' | b';'
                )
            {
                continue;
            }
            let mut j = i;
            while j < text.len() && text[j].is_ascii_digit() {
                j += 1;
            }
            if j - i <= 5 {
                // Number first: "<number>[,] <Word>" or "<number>[,] <street type>".
                let mut k = j;
                if text.get(k).is_some_and(u8::is_ascii_alphabetic)
                    && !text.get(k + 1).is_some_and(u8::is_ascii_alphanumeric)
                {
                    k += 1;
                }
                // "53 bis rue ...", "7 ter avenue ...".
                for x in [&b" bis "[..], b" ter "] {
                    if text[k..].starts_with(x) {
                        k += x.len() - 1;
                    }
                }
                if text.get(k) == Some(&b',') {
                    k += 1;
                }
                // Blanks, not a tab: a tab separates a table's columns.
                if text.get(k) == Some(&b' ') {
                    while text.get(k) == Some(&b' ') {
                        k += 1;
                    }
                    let capital = text.get(k).is_some_and(|&b| b.is_ascii_uppercase() || b >= 0xc3);
                    // The number-first street types (French "rue", "chemin", ...) are 3+ letters.
                    let typed =
                        text.get(k..k + 3).is_some_and(|w| w.iter().all(u8::is_ascii_alphabetic))
                            && lower_word(text, k, &mut buf)
                            && l.type_words.contains(buf.as_str());
                    if (capital || typed) && !numbered_thing(text, i) {
                        if capital {
                            self.anchored(&self.number_name_type, text, i, out);
                        }
                        if typed {
                            self.anchored(&self.number_type_name, text, i, out);
                        }
                    }
                }
                // Number last: a German compound right before it, or a street-type word a few
                // name words before it ("Calle Norte Riojas 433", "chemin de Mayor 60").
                if i > 0
                    && matches!(text[i - 1], b' ' | b'\t' | b'#')
                    && name_before(text, i)
                    && !numbered_thing(text, i)
                {
                    self.number_last(text, i, &mut buf, out);
                }
            }
        }
        if memchr::memchr(b'#', text).is_some() {
            for m in self.colombian.find_iter(text) {
                let mut e = m.end();
                if let Some(t) = self.tail.find(&text[e..(e + 160).min(text.len())]) {
                    e = trim_end(text, m.start(), e + t.end());
                }
                out.push(Cand { kind: Kind::StreetAddress, start: m.start(), end: e, conf: 0.78 });
            }
        }
        if text.iter().any(|&b| b >= 0xe0) {
            for m in self.japanese.find_iter(text) {
                out.push(Cand {
                    kind: Kind::StreetAddress,
                    start: m.start(),
                    end: m.end(),
                    conf: 0.8,
                });
            }
            for m in self.hindi.find_iter(text) {
                out.push(Cand {
                    kind: Kind::StreetAddress,
                    start: m.start(),
                    end: m.end(),
                    conf: 0.76,
                });
            }
            for m in self.indian.find_iter(text) {
                if m.start() > 0
                    && (text[m.start() - 1].is_ascii_alphanumeric() || text[m.start() - 1] == b'/')
                {
                    continue;
                }
                let e = if text[m.end() - 1].is_ascii_digit() { m.end() } else { m.end() - 1 };
                out.push(Cand { kind: Kind::StreetAddress, start: m.start(), end: e, conf: 0.74 });
            }
        }
    }
}

impl Streets {
    /// The type-first and compound grammars, for the house number at `i`.
    fn number_last(&self, text: &[u8], i: usize, buf: &mut String, out: &mut Vec<Cand>) {
        let l = &*LISTS;
        for (n, ws) in words_before(text, i, 7).into_iter().enumerate() {
            if !lower_word(text, ws, buf) {
                return;
            }
            if l.type_words.contains(buf.as_str()) {
                self.anchored(&self.type_name_number, text, ws, out);
                return;
            }
            if n == 0 && l.suffixes.iter().any(|x| buf.len() > x.len() && buf.ends_with(x.as_str()))
            {
                self.anchored(&self.compound_number, text, ws, out);
                return;
            }
            // Inside a street's name, every word is capitalised or joins two that are.
            let first = text[ws];
            let joining = JOIN_WORDS.contains(&buf.as_str());
            if !(first.is_ascii_uppercase() || first >= 0xc3 || joining) {
                return;
            }
        }
    }

    /// Runs `grammar` on the text from `s` (where it is anchored), with the tail after it.
    fn anchored(&self, grammar: &Regex, text: &[u8], s: usize, out: &mut Vec<Cand>) {
        let win = &text[s..(s + 240).min(text.len())];
        let Some(m) = grammar.find(win) else { return };
        let mut e = trim_end(text, s, s + m.end());
        if let Some(t) = self.tail.find(&text[e..(e + 160).min(text.len())]) {
            e = trim_end(text, s, e + t.end());
        }
        if e > s {
            out.push(Cand {
                kind: Kind::StreetAddress,
                start: unit_before(text, s),
                end: e,
                conf: 0.76,
            });
        }
    }
}

/// The number at `i` numbers a document's part or a standard ("Section 3", "BCP 47",
/// "RFC 6962", "Step 2"), not a house.
fn numbered_thing(text: &[u8], i: usize) -> bool {
    if http_status(text, i) {
        return true;
    }
    let before = &text[i.saturating_sub(12)..i];
    let before = before.strip_suffix(b" ").unwrap_or(before);
    let word_start = before.iter().rposition(|c| !c.is_ascii_alphabetic()).map_or(0, |k| k + 1);
    let w = &before[word_start..];
    [
        &b"section"[..],
        b"chapter",
        b"figure",
        b"fig",
        b"table",
        b"step",
        b"part",
        b"page",
        b"version",
        b"rfc",
        b"bcp",
        b"iso",
        b"item",
        b"line",
        b"issue",
        b"phase",
        b"level",
        b"appendix",
        b"article",
        b"art",
        b"paragraph",
        b"no",
    ]
    .iter()
    .any(|t| t.eq_ignore_ascii_case(w))
}

/// The number at `i` is an HTTP status code followed by its reason ("502 Bad Gateway",
/// "431 Request Header Fields Too Large").
fn http_status(text: &[u8], i: usize) -> bool {
    let Some(code) = text.get(i..i + 4) else { return false };
    if !(code[..3].iter().all(u8::is_ascii_digit)
        && (b'1'..=b'5').contains(&code[0])
        && code[3] == b' ')
    {
        return false;
    }
    let rest = &text[i + 4..];
    let word = &rest[..rest.iter().position(|c| !c.is_ascii_alphabetic()).unwrap_or(rest.len())];
    [
        &b"OK"[..],
        b"Bad",
        b"Request",
        b"Too",
        b"Not",
        b"Internal",
        b"Service",
        b"Gateway",
        b"Payload",
        b"Unprocessable",
        b"Precondition",
        b"Method",
        b"Moved",
        b"Found",
        b"See",
        b"Temporary",
        b"Permanent",
        b"Partial",
        b"Multi",
        b"Already",
        b"Range",
        b"Expectation",
        b"Upgrade",
        b"Misdirected",
        b"Unavailable",
        b"Network",
        b"Insufficient",
        b"Variant",
        b"Loop",
        b"Length",
        b"Unsupported",
        b"Proxy",
        b"Unauthorized",
        b"Payment",
        b"Forbidden",
        b"Conflict",
        b"Gone",
        b"Locked",
        b"Failed",
        b"Continue",
        b"Switching",
        b"Processing",
        b"Early",
        b"Created",
        b"Accepted",
        b"Non",
        b"No",
        b"Reset",
        b"Content",
        b"Im",
        b"Use",
        b"Permanently",
        b"Misdirected",
        b"Failed",
        b"Unavailable",
        b"HTTP",
    ]
    .contains(&word)
}

/// Where a British unit before a street starts ("Flat 5, 1997 Hayley Dale"), else `s`.
fn unit_before(text: &[u8], s: usize) -> usize {
    let from = s.saturating_sub(24);
    let before = &text[from..s];
    for unit in [&b"Flat "[..], b"Apartment ", b"Unit ", b"Apt ", b"Apt. ", b"Suite "] {
        if let Some(p) = memchr::memmem::rfind(before, unit) {
            let rest = &before[p + unit.len()..];
            let n = rest.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
            if n > 0 && n <= 5 && matches!(&rest[n..], b", " | b" " | b",") {
                return from + p;
            }
        }
    }
    s
}

/// The word before the number at `i` can end a street's name: it is capitalised (or another
/// script's), an abbreviation such as "N°", or one of the street words French and German write
/// in lower case. Most numbers in logs follow a lower-case word ("step 12", "in 300 ms").
fn name_before(text: &[u8], i: usize) -> bool {
    let mut p = i;
    while p > 0 && matches!(text[p - 1], b' ' | b'\t' | b',' | b'#') {
        p -= 1;
    }
    let e = p;
    while p > 0 && !matches!(text[p - 1], b' ' | b'\t' | b'\n' | b'\r' | b',' | b'"' | b'(' | b'>')
    {
        p -= 1;
    }
    match text.get(p) {
        Some(b) if b.is_ascii_uppercase() || *b >= 0x80 => true,
        Some(b) if b.is_ascii_lowercase() => {
            let w = &text[p..e];
            let w = w.strip_suffix(b".").unwrap_or(w);
            [
                &b"rue"[..],
                b"chemin",
                b"avenue",
                b"boulevard",
                b"impasse",
                b"route",
                b"quai",
                b"passage",
                b"place",
                b"ruelle",
                b"sentier",
                b"strasse",
                b"weg",
                b"gasse",
                b"platz",
                b"allee",
            ]
            .iter()
            .any(|t| w.ends_with(t))
        }
        _ => false,
    }
}

/// The starts of up to `n` words before `i` on its line (nearest first).
fn words_before(text: &[u8], i: usize, n: usize) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut p = i;
    let floor = i.saturating_sub(120);
    while starts.len() < n && p > floor {
        // Skip what separates words ("12", ", ", "n° ", "# ").
        while p > floor && matches!(text[p - 1], b' ' | b'\t' | b',' | b'#' | b'.') {
            p -= 1;
        }
        let e = p;
        while p > floor
            && !matches!(text[p - 1], b' ' | b'\t' | b'\n' | b'\r' | b',' | b'"' | b'(' | b'>')
        {
            p -= 1;
        }
        if p == e || text[p..e].iter().any(u8::is_ascii_digit) && !starts.is_empty() {
            break;
        }
        if !text[p..e].iter().any(u8::is_ascii_digit) {
            starts.push(p);
        }
        if p > 0 && matches!(text[p - 1], b'\n' | b'\r' | b'"' | b'(' | b'>') {
            break;
        }
    }
    starts
}

/// The word starting at `s` into `buf`, lower-cased, without a final period; false when it is
/// longer than any street type or not text.
fn lower_word(text: &[u8], s: usize, buf: &mut String) -> bool {
    let e = text[s..]
        .iter()
        .take(40)
        .position(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'.' | b'"' | b':' | b';'))
        .map_or((s + 40).min(text.len()), |k| s + k);
    let Ok(w) = std::str::from_utf8(&text[s..e]) else { return false };
    buf.clear();
    if w.is_ascii() {
        buf.push_str(w);
        buf.make_ascii_lowercase();
    } else {
        buf.extend(w.chars().flat_map(char::to_lowercase));
    }
    !buf.is_empty()
}

/// [`JOIN`]'s words.
const JOIN_WORDS: &[&str] = &[
    "de", "del", "la", "las", "los", "do", "da", "dos", "das", "di", "du", "des", "della", "delle",
    "degli", "le", "les", "el", "d'", "l'", "von", "van", "der", "den", "am", "an", "y", "e",
];

/// What may follow a street: a unit ("Apt. 623", "3º C"), then a postcode and town ("75002
/// Paris", "1244-881 Sacavém", "SW1A 1AA" after the town), or a town alone, then a region
/// ("IL 62704", "- RN, 57178-908", ", OAX"); each part after a comma, a line break or `<br>`.
fn tail(word: &str, units: &str) -> String {
    let sep = r"(?:,[ \t]*|,?[ \t]*(?:\r?\n|<br\s*/?>)[ \t]*)";
    let unit = format!(
        r"(?:,?[ \t]*(?:(?i:{units})\.?[ \t]*[A-Za-z]?[0-9][0-9A-Za-z]{{0,5}}|[0-9]{{1,3}}(?:º|°|ª|\\u00b[0a]|\\u00aa)[ \t]?[A-Z]?\b))"
    );
    let code = r"(?:[0-9]{5}(?:-[0-9]{3,4})?|[0-9]{4}(?:-[0-9]{3})?|[A-Z]{1,2}[0-9][A-Z0-9]?[ \t]?[0-9][A-Z]{2}|[A-Z][0-9][A-Z][ \t]?[0-9][A-Z][0-9])";
    // A town's words have a lower-case letter after the capital ("LU28" is a postcode).
    let _ = word;
    let town_word = format!(r#"{CAP}(?:[a-z]|[\xC3-\xC5][\x80-\xBF])[^\s\d,;:()\[\]{{}}<>"'/|=]*"#);
    let one_town = format!(
        r"{town_word}(?:[ \t-]+(?:(?:sur|sous|près|am|an|der|im|de|del|la|le|les|en|do|da|das|dos)[ \t-]+){{0,2}}{town_word}){{0,3}}"
    );
    // Brazilian addresses name the district, then the town ("Penha, Farias do Galho - SP").
    let town = format!(r"{one_town}(?:,[ \t]*{one_town}){{0,2}}");
    let region =
        format!(r"(?:,?[ \t]+-?[ \t]*[A-Z]{{2,4}}\.?(?:[ \t]+[A-Z]{{2,4}})?(?:,?[ \t]+{code})?\b)");
    format!(r"^{unit}?(?:{sep}{code}[ \t]+{town}{region}?|{sep}{town}{region}?(?:[ \t]+{code})?)?")
}

/// Drops trailing blanks and punctuation.
fn trim_end(text: &[u8], s: usize, mut e: usize) -> usize {
    while e > s && matches!(text[e - 1], b' ' | b'\t' | b',' | b'.' | b'\r' | b'\n' | b'-') {
        e -= 1;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let numbers: Vec<usize> = (0..text.len())
            .filter(|&i| {
                text.as_bytes()[i].is_ascii_digit()
                    && (i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
            })
            .collect();
        Streets::new().unwrap().run(text.as_bytes(), &numbers, &mut out);
        // The scanner keeps the longest of overlapping candidates of one confidence.
        out.sort_by_key(|c| std::cmp::Reverse(c.end - c.start));
        let mut kept: Vec<&Cand> = Vec::new();
        for c in &out {
            if kept.iter().all(|k| c.end <= k.start || k.end <= c.start) {
                kept.push(c);
            }
        }
        kept.sort_by_key(|c| c.start);
        kept.iter().map(|c| &text[c.start..c.end]).collect()
    }

    #[test]
    fn street_grammars() {
        assert_eq!(found("I live at 12 Baker Street now."), ["12 Baker Street"]);
        assert_eq!(
            found("Ship it to 221 Maple Avenue Apt. 4, Springfield, IL 62704 please"),
            ["221 Maple Avenue Apt. 4, Springfield, IL 62704"]
        );
        assert_eq!(
            found("J'habite au 7, rue de la Paix, 75002 Paris depuis mai."),
            ["7, rue de la Paix, 75002 Paris"]
        );
        assert_eq!(
            found("Vivo en Calle Mayor 15, 28013 Madrid."),
            ["Calle Mayor 15, 28013 Madrid"]
        );
        assert_eq!(found("Moro na Rua Augusta, 1200, Lisboa"), ["Rua Augusta, 1200, Lisboa"]);
        assert_eq!(
            found("Bitte an Lindenstraße 5\n10117 Berlin schicken"),
            ["Lindenstraße 5\n10117 Berlin"]
        );
    }

    #[test]
    fn japanese_and_indian() {
        assert_eq!(
            found("住所は東京都千代田区丸の内1丁目9番2号です"),
            ["東京都千代田区丸の内1丁目9番2号"]
        );
        assert_eq!(
            found("पता: 12/34, गांधी नगर, जयपुर - 302015 है"),
            ["12/34, गांधी नगर, जयपुर - 302015"]
        );
    }

    #[test]
    fn not_addresses() {
        assert!(found("via the API 2 times; rue the day").is_empty());
        assert!(found("We shipped 3 Big Changes today").is_empty());
        assert!(found("version 2.4.1 of the Street library").is_empty());
        assert!(
            found("HTTP/1.1 502 Bad Gateway\n/// 431 Request Header Fields Too Large").is_empty()
        );
        // A table's date column before its address column is not a house number.
        assert_eq!(found("1980-10-22\tAvenida Central 12\t2023"), ["Avenida Central 12"]);
    }
}
