//! Names in running text, found from real name data rather than from a cue before them.
//!
//! The lists in `crates/scan/data/names/` come from published packages (census surname and
//! given-name lists, a given-name dictionary with per-country frequencies, the person-name
//! entries of a Japanese morphological dictionary); `PROVENANCE.md` there names each source,
//! its version and licence, and `build.py` regenerates them. No list comes from a fake-data
//! generator: the evaluation sets are made with one.
//!
//! What counts as a name:
//! - **Latin script**: a capitalised given name from the lists, followed by one to four
//!   capitalised words (surnames, further given names, particles such as `de`, `van`, `dos`
//!   between them, initials). A given name that is also a common word (`Will`, `Rose`,
//!   `Grant`) needs a surname from the lists after it.
//! - **Japanese**: a surname from the lists, then (after an optional space) a given name from
//!   the lists, ending where the name ends: an honorific, a particle, punctuation, a space or
//!   another script.
//! - **Devanagari**: a given name and a surname from the lists, as two words.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::Cand;
use crate::kind::Kind;

type Set = HashSet<&'static str, foldhash::fast::FixedState>;

/// The name lists, parsed once per process.
struct Lexicon {
    given: Set,
    surname: Set,
    /// Given names that are also common words: they need a listed surname after them.
    ambiguous: Set,
    /// Surnames that are also common words ("Walker", "Moreno"): they count as listed after a
    /// given name, never alone.
    ambiguous_surname: Set,
    /// Street types ("rue", "Calle", "Travessa"): a name right after one names a street.
    street_types: Set,
    ja_surname: Set,
    ja_given: Set,
    deva_given: Set,
    deva_surname: Set,
}

fn set(lists: &[&'static str]) -> Set {
    let mut s = Set::default();
    for list in lists {
        s.extend(list.lines().map(str::trim).filter(|l| !l.is_empty()));
    }
    s
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| Lexicon {
    given: set(&[include_str!("../../data/names/given-latin.txt")]),
    surname: set(&[include_str!("../../data/names/surname-latin.txt")]),
    ambiguous: set(&[include_str!("../../data/names/ambiguous-given-latin.txt")]),
    ambiguous_surname: set(&[include_str!("../../data/names/ambiguous-surname-latin.txt")]),
    street_types: {
        let mut s = set(&[
            include_str!("../../data/addresses/street-types-en.txt"),
            include_str!("../../data/addresses/street-types-fr.txt"),
            include_str!("../../data/addresses/street-types-es.txt"),
            include_str!("../../data/addresses/street-types-pt.txt"),
            include_str!("../../data/addresses/street-types-it.txt"),
            include_str!("../../data/addresses/street-types-de.txt"),
            include_str!("../../data/addresses/street-types-nl.txt"),
        ]);
        // Abbreviations of up to three letters ("a", "de", "met") are words of prose too; the
        // common short street words stay.
        s.retain(|w| w.chars().count() >= 4 || ["rue", "rua", "via", "av", "avda"].contains(w));
        s
    },
    ja_surname: set(&[include_str!("../../data/names/surname-ja.txt")]),
    ja_given: set(&[include_str!("../../data/names/given-ja.txt")]),
    deva_given: set(&[include_str!("../../data/names/given-deva.txt")]),
    deva_surname: set(&[include_str!("../../data/names/surname-deva.txt")]),
});

/// Capitalised words that follow a given name without being a surname ("Grace Street",
/// "Victoria Station", "Jordan Inc."): places, organisations, days and months.
const NOT_SURNAMES: &[&str] = &[
    "Street",
    "St",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Lane",
    "Drive",
    "Boulevard",
    "Way",
    "Square",
    "Place",
    "Court",
    "Park",
    "Station",
    "Airport",
    "Bridge",
    "Hall",
    "House",
    "Tower",
    "Centre",
    "Center",
    "City",
    "County",
    "State",
    "University",
    "College",
    "School",
    "Hospital",
    "Clinic",
    "Hotel",
    "Church",
    "Museum",
    "Library",
    "Bank",
    "Inc",
    "Ltd",
    "LLC",
    "GmbH",
    "AG",
    "SA",
    "Corp",
    "Company",
    "Group",
    "Team",
    "Foundation",
    "Project",
    "Labs",
    "Studio",
    "Store",
    "Shop",
    "Market",
    "Cafe",
    "Restaurant",
    "Beach",
    "Island",
    "Valley",
    "Mountain",
    "River",
    "Lake",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
    "Sun",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Straße",
    "Strasse",
    "Platz",
    "Weg",
    "Gasse",
    "Allee",
    "Rua",
    "Avenida",
    "Calle",
    "Plaza",
    "Rue",
    "Via",
    "Viale",
    "Piazza",
    "Server",
    "Cluster",
    "API",
    "SDK",
    "Client",
    "Service",
    "Services",
    "Support",
    "Admin",
    "Bot",
    "Account",
    "App",
];

/// Words that start sentences in the languages of the lists, some of which are also listed
/// as names ("The", "Will", "Am"): never the first word of a name.
const FUNCTION_WORDS: &[&str] = &[
    "The", "A", "An", "This", "That", "These", "Those", "In", "On", "At", "For", "From", "To",
    "With", "By", "Our", "Your", "My", "His", "Her", "Its", "Their", "We", "You", "He", "She",
    "It", "They", "If", "When", "Then", "And", "But", "Or", "So", "As", "Of", "Dear", "Hi",
    "Hello", "Le", "La", "Les", "Un", "Une", "Des", "Du", "Au", "Aux", "Ce", "Cette", "El", "Los",
    "Las", "Una", "Uno", "Der", "Die", "Das", "Den", "Dem", "Ein", "Eine", "Am", "Im", "Il", "Lo",
    "Gli", "O", "Os", "Um", "Uma", "Na", "No", "Em", "Bonjour", "Hola", "Hallo", "Ciao", "Olá",
    "Ayer", "Hoy", "Heute", "Gestern", "Falls", "Wenn", "Saint", "San", "Santa", "North", "South",
    "East", "West", "New", "Old", "Great", "Little", "Upper", "Lower", "Mon", "Tue", "Wed", "Thu",
    "Fri", "Sat", "Sun", "Lake", "Port", "Mount", "Fort", "Cape",
];

/// Lower-case words that join the parts of a name ("Luc van den Velde", "Maria da Silva").
const PARTICLES: &[&str] = &[
    "de", "da", "do", "dos", "das", "del", "della", "di", "du", "des", "van", "von", "der", "den",
    "ter", "ten", "le", "la", "y", "e", "i", "bin", "binti", "al", "el", "zu", "vom", "zum", "dei",
    "degli", "mac",
];

/// Every name the lists find in `text`.
pub(super) fn names(text: &[u8], out: &mut Vec<Cand>) {
    let lex = &*LEXICON;
    latin(lex, text, out);
    if text.iter().any(|&b| (0xe3..=0xe9).contains(&b))
        && let Ok(s) = std::str::from_utf8(text)
    {
        japanese(lex, s, out);
    }
    if memchr::memchr(0xe0, text).is_some()
        && !lex.deva_given.is_empty()
        && let Ok(s) = std::str::from_utf8(text)
    {
        devanagari(lex, s, out);
    }
}

/// The char starting at byte `i` (None inside a char or at the end).
fn char_at(text: &[u8], i: usize) -> Option<char> {
    let b = *text.get(i)?;
    let n = match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => return None,
    };
    std::str::from_utf8(text.get(i..i + n)?).ok()?.chars().next()
}

/// The char ending at byte `i`.
fn char_before(text: &[u8], i: usize) -> Option<char> {
    let mut s = i.checked_sub(1)?;
    while s > 0 && i - s < 4 && text[s] & 0xc0 == 0x80 {
        s -= 1;
    }
    char_at(text, s)
}

/// A letter of a Latin-script word (ASCII, Latin-1, Latin Extended, Vietnamese) or a
/// combining mark.
fn latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || ('\u{c0}'..='\u{24f}').contains(&c) && c != '×' && c != '÷'
        || ('\u{1e00}'..='\u{1eff}').contains(&c)
        || ('\u{300}'..='\u{36f}').contains(&c)
}

/// The end of the Latin word starting at `i` (letters, with inner apostrophes and hyphens).
fn word_end(text: &[u8], i: usize) -> usize {
    let mut j = i;
    loop {
        match text.get(j) {
            Some(b) if b.is_ascii_alphabetic() => j += 1,
            Some(&b) if b >= 0xc0 => match char_at(text, j) {
                Some(c) if latin_letter(c) => j += c.len_utf8(),
                _ => return j,
            },
            Some(b'\'' | b'-') if text.get(j + 1).is_some_and(u8::is_ascii_alphabetic) => j += 1,
            // A letter escaped in a JSON string ("Rom\u00e1n").
            Some(b'\\') if escaped_letter(text, j) => j += 6,
            _ => return j,
        }
    }
}

/// `\\uXXXX` at `j` encodes a Latin letter.
fn escaped_letter(text: &[u8], j: usize) -> bool {
    text.get(j + 1) == Some(&b'u')
        && text
            .get(j + 2..j + 6)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .is_some_and(|c| latin_letter(c) && !c.is_ascii())
}

/// A capitalised word: upper-case first letter, and not all capitals when longer than 3
/// (constants and acronyms).
fn capitalised(w: &str) -> bool {
    let mut cs = w.chars();
    let Some(first) = cs.next() else { return false };
    first.is_uppercase()
        && (w.chars().filter(|c| c.is_alphabetic()).count() <= 3
            || w.chars().any(char::is_lowercase))
}

/// Bytes that can start a capitalised Latin word: `A`-`Z`, and the lead bytes of Latin-1,
/// Latin Extended-A and Latin Extended Additional capitals.
static CAN_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = true;
        b += 1;
    }
    t[0xc3] = true;
    t[0xc4] = true;
    t[0xc5] = true;
    t[0xe1] = true;
    t
};

fn latin(lex: &Lexicon, text: &[u8], out: &mut Vec<Cand>) {
    let mut i = 0;
    while i < text.len() {
        // Skip to the next byte that can start a capitalised Latin word.
        match text[i..].iter().position(|&b| CAN_START[usize::from(b)]) {
            Some(k) => i += k,
            None => return,
        }
        if text[i] >= 0x80 && !char_at(text, i).is_some_and(|c| c.is_uppercase() && latin_letter(c))
        {
            i += 1;
            continue;
        }
        let before_ok = match char_before(text, i) {
            None => true,
            Some(c) => !(c.is_alphanumeric() || c == '_' || c == '-' || c == '\'' || c == '.'),
        };
        let e = word_end(text, i);
        if !before_ok || e == i {
            i = e.max(i + 1);
            continue;
        }
        let Ok(w) = std::str::from_utf8(&text[i..e]) else {
            i = e;
            continue;
        };
        let given = lex.given.contains(w) || lex.given.contains(fold(w).as_str());
        let ambiguous = !given && lex.ambiguous.contains(w);
        if w.len() < 2 || !(given || ambiguous) || !capitalised(w) || FUNCTION_WORDS.contains(&w) {
            i = e;
            continue;
        }
        if after_street_type(lex, text, i) {
            i = e;
            continue;
        }
        match rest_of_name(lex, text, e) {
            Some((end, listed)) if listed || !ambiguous => {
                out.push(Cand {
                    kind: Kind::Person,
                    start: listed_before(lex, text, i),
                    end,
                    conf: 0.72,
                });
                i = end;
            }
            _ => i = e,
        }
    }
}

/// The word before `i` (past one joining word: "Callejón de", "rue de la") is a street type:
/// the name is a street's ("rue Victor Hugo", "Avenida João Goulart").
fn after_street_type(lex: &Lexicon, text: &[u8], i: usize) -> bool {
    let mut e = i;
    for _ in 0..3 {
        let Some(b' ') = e.checked_sub(1).map(|k| text[k]) else { return false };
        let mut s = e - 1;
        while s > 0 && !matches!(text[s - 1], b' ' | b'\t' | b'\n' | b',' | b'(' | b'"') {
            s -= 1;
        }
        let Ok(w) = std::str::from_utf8(&text[s..e - 1]) else { return false };
        let w = w.trim_end_matches('.').to_lowercase();
        if lex.street_types.contains(w.as_str()) {
            return true;
        }
        if !PARTICLES.contains(&w.as_str()) {
            return false;
        }
        e = s;
    }
    false
}

/// Where a name found at `i` starts when the word before it is a listed name too (a first
/// given name the lists hold only as ambiguous or as a surname: "Maria Helena Dias").
fn listed_before(lex: &Lexicon, text: &[u8], i: usize) -> usize {
    if i < 2 || text[i - 1] != b' ' {
        return i;
    }
    let e = i - 1;
    let mut s = e;
    while s > 0
        && !matches!(
            text[s - 1],
            b' ' | b'\t' | b'\n' | b'\r' | b',' | b'(' | b'"' | b'\'' | b':' | b'>'
        )
    {
        s -= 1;
    }
    let Ok(w) = std::str::from_utf8(&text[s..e]) else { return i };
    let named = lex.given.contains(w)
        || lex.ambiguous.contains(w)
        || lex.surname.contains(w)
        || lex.ambiguous_surname.contains(w);
    if named
        && capitalised(w)
        && w.chars().any(char::is_lowercase)
        && !FUNCTION_WORDS.contains(&w)
        && !after_street_type(lex, text, s)
    {
        s
    } else {
        i
    }
}

/// The word after the blank at `e` is a listed given name.
fn next_is_given(lex: &Lexicon, text: &[u8], e: usize) -> bool {
    let s = e + 1;
    let we = word_end(text, s);
    std::str::from_utf8(&text[s..we])
        .is_ok_and(|w| lex.given.contains(w) || lex.ambiguous.contains(w))
}

/// Whether a name's later words are in the lists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    No,
    /// Only as surnames that are also common words.
    AsWord,
    Yes,
}

/// The words of a name after its given name ending at `e`: where the name ends, and whether
/// one of them is a listed surname or given name. None when no capitalised word follows.
fn rest_of_name(lex: &Lexicon, text: &[u8], mut e: usize) -> Option<(usize, bool)> {
    let mut end = None;
    let mut listed = Listed::No;
    let mut words = 0;
    for _ in 0..5 {
        // One space (or a no-break space) between the words.
        let s = match text.get(e..) {
            Some([b' ', ..]) => e + 1,
            Some([0xc2, 0xa0, ..]) => e + 2,
            _ => break,
        };
        let we = word_end(text, s);
        if we == s {
            break;
        }
        let Ok(w) = std::str::from_utf8(&text[s..we]) else { break };
        // An initial ("J."): a single capital and a period.
        if w.len() == 1 && w.as_bytes()[0].is_ascii_uppercase() && text.get(we) == Some(&b'.') {
            e = we + 1;
            end = Some(e);
            continue;
        }
        if PARTICLES.contains(&w) {
            // "Pepita Luján y Mia Valentina": "and" before a given name starts another person.
            if matches!(w, "y" | "e" | "i") && next_is_given(lex, text, we) {
                break;
            }
            e = we;
            continue;
        }
        // Surnames have a lower-case letter: "HRB", "USA" are not names.
        if !capitalised(w)
            || !w.chars().any(char::is_lowercase)
            || NOT_SURNAMES.contains(&w)
            || w.chars().count() < 2
        {
            break;
        }
        let f = fold(w);
        if lex.surname.contains(w)
            || lex.given.contains(w)
            || lex.surname.contains(f.as_str())
            || lex.given.contains(f.as_str())
        {
            listed = Listed::Yes;
        } else if listed == Listed::No
            && (lex.ambiguous_surname.contains(w) || lex.ambiguous.contains(w))
        {
            listed = Listed::AsWord;
        }
        words += 1;
        e = we;
        end = Some(e);
    }
    // A name of word-like parts ("Rose Gold Watch", "Aurora Desk Lamp") is a product's; one
    // such surname alone after a given name ("John Walker") is a person's.
    if listed == Listed::AsWord && words > 1 {
        listed = Listed::No;
    }
    end.map(|e| (e, listed != Listed::No))
}

/// `w` without the accents of Latin letters ("García" -> "Garcia"): several sources publish
/// names without them.
fn fold(w: &str) -> String {
    if w.is_ascii() {
        return String::new();
    }
    w.chars()
        .map(|c| match c {
            'À'..='Å' => 'A',
            'à'..='å' | 'ā' | 'ă' | 'ą' => 'a',
            'Ç' | 'Ć' | 'Č' => 'C',
            'ç' | 'ć' | 'č' => 'c',
            'È'..='Ë' | 'Ě' | 'Ę' => 'E',
            'è'..='ë' | 'ē' | 'ę' | 'ě' => 'e',
            'Ì'..='Ï' | 'İ' => 'I',
            'ì'..='ï' | 'ī' | 'ı' => 'i',
            'Ñ' | 'Ń' | 'Ň' => 'N',
            'ñ' | 'ń' | 'ň' => 'n',
            'Ò'..='Ö' | 'Ø' | 'Ő' => 'O',
            'ò'..='ö' | 'ø' | 'ō' | 'ő' => 'o',
            'Ù'..='Ü' | 'Ů' | 'Ű' => 'U',
            'ù'..='ü' | 'ū' | 'ů' | 'ű' => 'u',
            'Ý' | 'Ÿ' => 'Y',
            'ý' | 'ÿ' => 'y',
            'Š' | 'Ś' | 'Ş' => 'S',
            'š' | 'ś' | 'ş' => 's',
            'Ž' | 'Ź' | 'Ż' => 'Z',
            'ž' | 'ź' | 'ż' => 'z',
            'Ł' => 'L',
            'ł' => 'l',
            'ř' => 'r',
            'Ř' => 'R',
            'ğ' => 'g',
            'Ğ' => 'G',
            c => c,
        })
        .collect()
}

fn is_kanji(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c) || c == '々'
}

fn is_kana(c: char) -> bool {
    ('\u{3041}'..='\u{3096}').contains(&c) || ('\u{30a1}'..='\u{30fa}').contains(&c) || c == 'ー'
}

/// What may follow a Japanese name: an honorific, a particle, punctuation, a space, another
/// script or the end.
fn ja_name_ends(rest: &str) -> bool {
    const AFTER: &[&str] = &[
        "さん",
        "様",
        "さま",
        "氏",
        "君",
        "くん",
        "ちゃん",
        "先生",
        "殿",
        "は",
        "が",
        "の",
        "と",
        "に",
        "を",
        "へ",
        "も",
        "から",
        "より",
        "です",
        "で",
    ];
    match rest.chars().next() {
        None => true,
        Some(c) if !is_kanji(c) && !is_kana(c) => true,
        Some(_) => AFTER.iter().any(|a| rest.starts_with(a)),
    }
}

fn japanese(lex: &Lexicon, text: &str, out: &mut Vec<Cand>) {
    let mut i = 0;
    while i < text.len() {
        let Some(c) = text[i..].chars().next() else { break };
        if !is_kanji(c) {
            i += c.len_utf8();
            continue;
        }
        match ja_name_at(lex, text, i) {
            Some(end) => {
                out.push(Cand { kind: Kind::Person, start: i, end, conf: 0.72 });
                i = end;
            }
            None => i += c.len_utf8(),
        }
    }
}

/// A surname and a given name starting at `i`: the end of the name.
fn ja_name_at(lex: &Lexicon, text: &str, i: usize) -> Option<usize> {
    let prev_kanji = text[..i].chars().next_back().is_some_and(is_kanji);
    let rest = &text[i..];
    // Surnames of one to four characters, longest first.
    let bounds: Vec<usize> = rest.char_indices().map(|(k, c)| k + c.len_utf8()).take(4).collect();
    for &se in bounds.iter().rev() {
        if !lex.ja_surname.contains(&rest[..se]) {
            continue;
        }
        let after = &rest[se..];
        let (gap, given_from) = match after.chars().next() {
            Some(c @ ('\u{3000}' | ' ')) => (true, se + c.len_utf8()),
            _ => (false, se),
        };
        let g = &rest[given_from..];
        let gb: Vec<usize> = g
            .char_indices()
            .take_while(|&(_, c)| is_kanji(c) || is_kana(c))
            .map(|(k, c)| k + c.len_utf8())
            .take(4)
            .collect();
        for &ge in gb.iter().rev() {
            let given = &g[..ge];
            let kana_only = given.chars().all(is_kana);
            if kana_only && given.chars().count() < 2 {
                continue;
            }
            if !lex.ja_given.contains(given) || !ja_name_ends(&g[ge..]) {
                continue;
            }
            // Inside a run of kanji, only with a space or an honorific to mark the name.
            if prev_kanji && !gap && !g[ge..].starts_with(['さ', '様', '氏', '君', '先']) {
                continue;
            }
            return Some(i + given_from + ge);
        }
    }
    None
}

fn devanagari(lex: &Lexicon, text: &str, out: &mut Vec<Cand>) {
    let is_deva = |c: char| ('\u{900}'..='\u{97f}').contains(&c) && c != '।' && c != '॥';
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (k, c) in text.char_indices() {
        match (is_deva(c) || c == '\u{200c}' || c == '\u{200d}', start) {
            (true, None) => start = Some(k),
            (false, Some(s)) => {
                words.push((s, k));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    let mut k = 0;
    while k + 1 < words.len() {
        let (a, ae) = words[k];
        let (b, be) = words[k + 1];
        let joined_by_space = text[ae..b].chars().all(|c| c == ' ') && b - ae <= 2;
        if joined_by_space
            && lex.deva_given.contains(&text[a..ae])
            && lex.deva_surname.contains(&text[b..be])
        {
            out.push(Cand { kind: Kind::Person, start: a, end: be, conf: 0.72 });
            k += 2;
        } else {
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        names(text.as_bytes(), &mut out);
        out.iter().map(|c| text[c.start..c.end].to_owned()).collect()
    }

    #[test]
    fn given_name_and_surname_in_prose() {
        assert_eq!(found("Yesterday I met Margaret Thompson at the depot."), ["Margaret Thompson"]);
        assert_eq!(found("Ich habe mit Jürgen Weiß telefoniert."), ["Jürgen Weiß"]);
        assert_eq!(found("Hablé con María José de la Fuente ayer."), ["María José de la Fuente"]);
    }

    #[test]
    fn names_beside_names() {
        // Two people joined by "y" are two names.
        let f = found("Hablé con Pepita Luján y Mia Valentina ayer.");
        assert!(f.iter().all(|n| !n.contains(" y ")), "{f:?}");
        // A letter escaped in JSON is part of the word.
        assert_eq!(found(r#"{"name": "Juan Lara Rom\u00e1n"}"#), [r"Juan Lara Rom\u00e1n"]);
    }

    #[test]
    fn not_names() {
        assert!(found("Grace Street is closed; Victoria Station too.").is_empty());
        assert!(found("call getMargaretThompson() or MARGARET THOMPSON").is_empty());
        assert!(found("margaret thompson wrote it").is_empty());
    }

    #[test]
    fn japanese_surname_and_given_name() {
        let f = found("昨日、山田　太郎さんに会いました。");
        assert_eq!(f, ["山田　太郎"]);
    }
}
