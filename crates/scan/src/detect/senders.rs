//! Names where formats put people, whatever the script: e-mail headers (`From: "Name"
//! <addr>`), chat exports' senders (WhatsApp's `[date, time] Name: ...`, `date, time - Name:`,
//! Slack's `Name  11:04 AM` line), meeting notes' attendee lists (`Attendees: A, B, C`,
//! `Teilnehmer:`, `उपस्थित:`) and task assignees (`- [ ] Name: task`), a Hindi name before the
//! honorific `जी`, and a name under a Hindi sign-off (`सादर,`). Each is kept when its shape is
//! a name ([`super::names::looks_like_name`]).

use regex::bytes::Regex;

use super::Cand;
use super::names::looks_like_name;
use super::prefilter::group;
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
}

fn unicode(p: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(p).unicode(true).build()
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
        let has = |w: &[u8]| memchr::memmem::find(text, w).is_some();
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
                let re = if chat {
                    Some(&self.whatsapp)
                } else if line.ends_with(b"AM")
                    || line.ends_with(b"PM")
                    || line.last().is_some_and(u8::is_ascii_digit)
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

/// A team's or department's name in Hindi ("ग्राहक सेवा", customer service), not a person's.
fn team(name: &[u8]) -> bool {
    ["सेवा", "टीम", "विभाग", "सहायता", "कंपनी", "समूह"]
        .iter()
        .any(|w| memchr::memmem::find(name, w.as_bytes()).is_some())
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
    }

    #[test]
    fn not_people() {
        assert!(found("- [ ] update the CRM: today\n").is_empty());
        assert!(found("Attendees: 12\n").is_empty());
        assert!(found("2024-01-01 10:00 INFO server: started\n").is_empty());
        assert!(found("2024-01-01 10:00:00 Worker Pool: started\n").is_empty());
    }
}
