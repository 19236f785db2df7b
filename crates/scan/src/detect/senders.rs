//! Names where formats put people, whatever the script: e-mail headers (`From: "Name"
//! <addr>`), chat exports' senders (WhatsApp's `[date, time] Name: ...`, `date, time - Name:`,
//! Slack's `Name  11:04 AM` line), meeting notes' attendee lists (`Attendees: A, B, C`,
//! `Teilnehmer:`, `उपस्थित:`) and task assignees (`- [ ] Name: task`), a Hindi name before the
//! honorific `जी`, and a name under a Hindi sign-off (`सादर,`). Each is kept when its shape is
//! a name ([`super::names::looks_like_name`]).

use regex::bytes::Regex;

use super::names::looks_like_name;
use super::prefilter::group;
use super::{Cand, re_unicode as unicode};
use crate::kind::Kind;

/// The compiled sender contexts.
pub(super) struct Senders {
    header: Regex,
    whatsapp: Regex,
    slack: Regex,
    attendees: Regex,
    assignee: Regex,
    honorific: Regex,
    sign_off: Regex,
    angle_mail: Regex,
    field: Regex,
    windows_home: Regex,
}

impl Senders {
    pub(super) fn new() -> Result<Senders, regex::Error> {
        Ok(Senders {
            header: unicode(
                r#"(?m)^(?:From|To|Cc|Reply-To|Von|An|De|Para|À|Da|A):[ \t]*"?([^"<>\n,@]{2,60}?)"?[ \t]*<[^>\n]+@"#,
            )?,
            whatsapp: unicode(
                // [22.08.23, 06:05:58] Name: ... | 30/01/2023, 01:53 - Name: ... (not a log's
                // ISO date and time).
                r"(?m)^(?:\[[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{2,4},[ \t]*[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:[ \t]?[AaPp]\.?[Mm]\.?)?\]|[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{2,4},[ \t]*[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:[ \t]?[AaPp]\.?[Mm]\.?)?[ \t]+-)[ \t]+([^:\n\[\]]{2,40}):[ \t]",
            )?,
            slack: unicode(
                r"(?m)^([^\n:\[\]0-9]{2,40}?)[ \t]{2,}[0-9]{1,2}:[0-9]{2}(?:[ \t]?[AaPp][Mm])?[ \t]*$",
            )?,
            attendees: unicode(
                r"(?mi)^[ \t#*>-]*(?:attendees|participants|present|teilnehmer(?:innen)?|anwesend|participantes|asistentes|presentes|partecipanti|presenti|deelnemers|aanwezig|उपस्थित|प्रतिभागी|参加者|出席者)[ \t*]*:[ \t]*([^\n]{2,400})",
            )?,
            assignee: unicode(r"(?m)^[ \t]*[-*][ \t]+\[[ xX]\][ \t]+([^:\n]{2,48}):")?,
            honorific: unicode(r"(\p{Devanagari}+[ \t]+\p{Devanagari}+)[ \t]+जी\b")?,
            // `Name <user@host>`: git's authors, committers, trailers and shortlog, mail headers.
            angle_mail: unicode(r"<[^<>\s@]{1,64}@[^<>\s]{1,255}>")?,
            // Ticket and commit fields that hold a person.
            field: unicode(
                // Starts with its words (a literal prefilter); at a line's start, checked after.
                r"(?mi)\b(?:reporter|assignee|requester|author|committer|owner|reviewer|reviewed-by|signed-off-by|co-authored-by|suggested-by|reported-by|tested-by|acked-by|helped-by)[ \t]*:[ \t]*([^<>\n:]{2,60}?)[ \t]*(?:<|$)",
            )?,
            // A Windows profile folder is named for its user: C:\Users\Ada Lovelace\...
            windows_home: unicode(
                r"(?i)[a-z]:\\\\?(?:users|documents and settings)\\\\?([^\\\n]{3,60}?)\\",
            )?,
            sign_off: unicode(
                r"(?:सादर|धन्यवाद|भवदीय|भवदीया|よろしくお願いいたします。|敬具)[,،]?[ \t]*\r?\n[ \t]*([^\n]{2,60})",
            )?,
        })
    }

    pub(super) fn run(&self, text: &[u8], grp: u32, out: &mut Vec<Cand>) {
        let mut push = |s: usize, e: usize, conf: f32| {
            let (s, e) = trim(text, s, e);
            if e > s && looks_like_name(&text[s..e]) && !team(&text[s..e]) {
                out.push(Cand { kind: Kind::Person, start: s, end: e, conf });
            }
        };
        let has = |w: &[u8]| crate::bytes::find(text, w).is_some();
        if memchr::memchr(b'<', text).is_some() && memchr::memchr(b'@', text).is_some() {
            for c in self.header.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    push(m.start(), m.end(), 0.8);
                }
            }
        }
        if memchr::memchr(b':', text).is_some() {
            // Chat lines, one at a time, only where their shape can start or end: a regex
            // over the whole text costs more than the rest of the scanner on logs.
            let mut ls = 0;
            for le in memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len())) {
                let line = &text[ls..le];
                let chat = match line {
                    [b'[', d, ..] | [d, ..] if d.is_ascii_digit() => {
                        line.iter().take(14).any(|&b| b == b',')
                    }
                    _ => false,
                };
                // `[18:46] Name: text` (a chat copied with times only).
                if let [b'[', a, b, rest @ ..] = line
                    && a.is_ascii_digit()
                    && (b.is_ascii_digit() || *b == b':')
                    && let Some(close) = rest.iter().take(10).position(|&c| c == b']')
                {
                    let from = 3 + close + 1;
                    if let Some(colon) = line[from..].iter().take(48).position(|&c| c == b':') {
                        push(ls + from, ls + from + colon, 0.76);
                    }
                }
                let re = if chat {
                    Some(&self.whatsapp)
                } else if line.ends_with(b"AM")
                    || line.ends_with(b"PM")
                    || matches!(line, [.., h, b':', m1, m2] if h.is_ascii_digit() && m1.is_ascii_digit() && m2.is_ascii_digit())
                        && line.windows(2).any(|w| w == b"  ")
                {
                    Some(&self.slack)
                } else {
                    None
                };
                if let Some(re) = re
                    && let Some(m) = re.captures(line).and_then(|c| c.get(1))
                {
                    push(ls + m.start(), ls + m.end(), if chat { 0.78 } else { 0.74 });
                }
                ls = le + 1;
            }
            for c in self.attendees.captures_iter(text).take(if grp & group::PERSON != 0 {
                usize::MAX
            } else {
                0
            }) {
                let Some(list) = c.get(1) else { continue };
                let mut s = list.start();
                for part in list.as_bytes().split(|&b| b == b',' || b == b';') {
                    let e = s + part.len();
                    push(s, e, 0.76);
                    s = e + 1;
                }
            }
            if has(b"[ ]") || has(b"[x]") || has(b"[X]") {
                for c in self.assignee.captures_iter(text) {
                    if let Some(m) = c.get(1) {
                        push(m.start(), m.end(), 0.74);
                    }
                }
            }
        }
        if memchr::memchr(b'@', text).is_some() {
            for m in self.angle_mail.find_iter(text) {
                if let Some((s, e)) = name_before(text, m.start()) {
                    push(s, e, 0.78);
                }
            }
        }
        if memchr::memchr(b':', text).is_some() {
            for c in self.field.captures_iter(text) {
                let (Some(all), Some(m)) = (c.get(0), c.get(1)) else { continue };
                let line_start =
                    text[..all.start()].iter().rposition(|&b| b == b'\n').map_or(0, |k| k + 1);
                if text[line_start..all.start()].iter().all(|&b| b == b' ' || b == b'\t') {
                    push(m.start(), m.end(), 0.76);
                }
            }
        }
        if memchr::memchr(b'\\', text).is_some() {
            for c in self.windows_home.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    push(m.start(), m.end(), 0.74);
                }
            }
        }
        if memchr::memchr(0xe0, text).is_some() || memchr::memchr(0xe6, text).is_some() {
            for re in [&self.honorific, &self.sign_off] {
                for c in re.captures_iter(text) {
                    if let Some(m) = c.get(1) {
                        push(m.start(), m.end(), 0.76);
                    }
                }
            }
        }
    }
}

/// The words right before `<addr>` on its line (`Ada Lovelace <ada@example.org>`), up to a
/// label's colon, a tab, a parenthesis, a quote, a comma or a number.
fn name_before(text: &[u8], lt: usize) -> Option<(usize, usize)> {
    let mut e = lt;
    while e > 0 && matches!(text[e - 1], b' ' | b'"' | b'\'') {
        e -= 1;
    }
    let mut s = e;
    while s > 0
        && !matches!(
            text[s - 1],
            b'\n' | b'\r' | b'\t' | b':' | b'(' | b'"' | b',' | b';' | b'<' | b'>' | b'='
        )
        && e - s < 80
    {
        s -= 1;
    }
    // Past a leading hash or count (`8e76cc5 Name`, `   407\tName`).
    while s < e && text[s] == b' ' {
        s += 1;
    }
    if let Some(sp) = text[s..e].iter().position(|&c| c == b' ')
        && sp >= 7
        && text[s..s + sp].iter().all(u8::is_ascii_hexdigit)
    {
        s += sp + 1;
    }
    while s < e && (text[s] == b' ' || text[s].is_ascii_digit()) {
        s += 1;
    }
    (e > s).then_some((s, e))
}

/// A team's or department's name in Hindi ("ग्राहक सेवा", customer service), not a person's.
fn team(name: &[u8]) -> bool {
    ["सेवा", "टीम", "विभाग", "सहायता", "कंपनी", "समूह"]
        .iter()
        .any(|w| crate::bytes::find(name, w.as_bytes()).is_some())
}

/// Drops blanks, quotes and list marks around a name.
fn trim(text: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && matches!(text[s], b' ' | b'\t' | b'"' | b'\'' | b'*' | b'-') {
        s += 1;
    }
    while e > s && matches!(text[e - 1], b' ' | b'\t' | b'"' | b'\'' | b'*' | b'.' | b'\r') {
        e -= 1;
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Senders::new().unwrap().run(text.as_bytes(), u32::MAX, &mut out);
        // Two contexts may find one name (a `From:` header and its `<addr>`).
        out.sort_by_key(|c| (c.start, c.end));
        out.dedup_by_key(|c| (c.start, c.end));
        out.iter().map(|c| &text[c.start..c.end]).collect()
    }

    #[test]
    fn where_formats_put_people() {
        assert_eq!(found("From: \"Ada Lovelace\" <ada@example.org>\n"), ["Ada Lovelace"]);
        assert_eq!(found("[22.08.23, 06:05:58] विद्या मित्रा: नमस्ते"), ["विद्या मित्रा"]);
        assert_eq!(found("30/01/2023, 01:53 - 遠藤花子: hi"), ["遠藤花子"]);
        assert_eq!(found("Grace Hopper  11:04 AM\nshipped"), ["Grace Hopper"]);
        assert_eq!(found("Attendees: Alan Turing, Joan Clarke\n"), ["Alan Turing", "Joan Clarke"]);
        assert_eq!(found("- [ ] Hedy Lamarr: book the room\n"), ["Hedy Lamarr"]);
        assert_eq!(found("आज सुबह पद्मिनी तमांग जी ने फ़ोन किया"), ["पद्मिनी तमांग"]);
        assert_eq!(found("सादर,\nओम लोबो\n"), ["ओम लोबो"]);
        assert_eq!(found("   407\tRoman Burri <rburri@example.net>\n"), ["Roman Burri"]);
        assert_eq!(found("8e76cc5 Silondile Ludonga <s@example.org> feat"), ["Silondile Ludonga"]);
        assert_eq!(
            found("Suggested-by: Δαμασκηνός Γκίκας <d@example.org>\n"),
            ["Δαμασκηνός Γκίκας"]
        );
        assert_eq!(found("Reporter: 橋本 裕太\n"), ["橋本 裕太"]);
        assert_eq!(found("[18:46] Evaline Nkirote: ok, on it\n"), ["Evaline Nkirote"]);
        assert_eq!(
            found("  File \"C:\\Users\\Germana Ruffini\\AppData\\x.py\""),
            ["Germana Ruffini"]
        );
    }

    #[test]
    fn not_people() {
        assert!(found("- [ ] update the CRM: today\n").is_empty());
        assert!(found("Attendees: 12\n").is_empty());
        assert!(found("2024-01-01 10:00 INFO server: started\n").is_empty());
        assert!(found("2024-01-01 10:00:00 Worker Pool: started\n").is_empty());
    }
}
