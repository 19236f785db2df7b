//! vCards (RFC 6350, and 3.0 before it): the properties say what each value is. `FN` is the
//! formatted name, `ADR` the postal address (from its street component to its country), and
//! `BDAY` the birth date. `EMAIL` and `TEL` values are found by their own shapes.

use super::Cand;
use super::addresses::looks_like_address;
use super::names::looks_like_name;
use crate::kind::Kind;

/// Typed values of every vCard in `text`.
pub(super) fn vcards(text: &[u8], out: &mut Vec<Cand>) {
    let mut from = 0;
    while let Some(b) = find_ci(&text[from..], b"BEGIN:VCARD") {
        let start = from + b;
        let end = find_ci(&text[start..], b"END:VCARD").map_or(text.len(), |e| start + e);
        let mut pos = start;
        while pos < end {
            let le = memchr::memchr(b'\n', &text[pos..end]).map_or(end, |i| pos + i);
            property(text, pos, le, out);
            pos = le + 1;
        }
        from = end.max(start + 1);
    }
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    crate::bytes::find(hay, needle).or_else(|| {
        let lower: Vec<u8> = needle.to_ascii_lowercase();
        crate::bytes::find(hay, &lower)
    })
}

/// One content line `NAME;PARAMS:VALUE` between `s` and `e`.
fn property(text: &[u8], s: usize, e: usize, out: &mut Vec<Cand>) {
    let line = &text[s..e];
    let Some(colon) = memchr::memchr(b':', line) else { return };
    let head = &line[..colon];
    let name_end = memchr::memchr(b';', head).unwrap_or(head.len());
    // Grouped properties (`item1.ADR`) keep the name after the dot.
    let name = head[..name_end].rsplit(|&c| c == b'.').next().unwrap_or_default();
    let (mut vs, mut ve) = (s + colon + 1, e);
    while ve > vs && text[ve - 1].is_ascii_whitespace() {
        ve -= 1;
    }
    if ve <= vs {
        return;
    }
    let value = &text[vs..ve];
    if name.eq_ignore_ascii_case(b"FN") {
        if looks_like_name(&unescape(value)) {
            out.push(Cand { kind: Kind::Person, start: vs, end: ve, conf: 0.85 });
        }
    } else if name.eq_ignore_ascii_case(b"ADR") {
        // `po-box;extended;street;locality;region;code;country`: from the first component
        // that is there (the street, usually) to the end.
        while vs < ve && text[vs] == b';' {
            vs += 1;
        }
        let joined = unescape(&text[vs..ve]);
        if vs < ve && looks_like_address(&joined) {
            out.push(Cand { kind: Kind::StreetAddress, start: vs, end: ve, conf: 0.85 });
        }
    } else if name.eq_ignore_ascii_case(b"BDAY") && birth_date(value) {
        out.push(Cand { kind: Kind::DateOfBirth, start: vs, end: ve, conf: 0.85 });
    }
}

/// vCard text escapes (`\,` `\;`) and component separators read as what they stand for.
fn unescape(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'\\' if i + 1 < v.len() => {
                out.push(if v[i + 1] == b'n' { b' ' } else { v[i + 1] });
                i += 2;
                continue;
            }
            b';' => out.extend_from_slice(b", "),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `BDAY` forms: `19850412`, `1985-04-12`, `--0412` (no year), with an optional time.
fn birth_date(v: &[u8]) -> bool {
    let date = v.split(|&c| c == b'T').next().unwrap_or_default();
    let digits = date.iter().filter(|c| c.is_ascii_digit()).count();
    date.iter().all(|c| c.is_ascii_digit() || *c == b'-') && (digits == 8 || digits == 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_s_name_address_and_birthday() {
        let card = "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Okafor;Chidinma;;;\r\nFN:Chidinma Okafor\r\n\
                    ADR;TYPE=home:;;14 Marina Road;Lagos\\, 101241;;;Nigeria\r\nBDAY:19880217\r\n\
                    END:VCARD\r\n";
        let mut out = Vec::new();
        vcards(card.as_bytes(), &mut out);
        let got: Vec<(Kind, &str)> =
            out.iter().map(|c| (c.kind.clone(), &card[c.start..c.end])).collect();
        assert!(got.contains(&(Kind::Person, "Chidinma Okafor")), "{got:?}");
        assert!(
            got.contains(&(Kind::StreetAddress, "14 Marina Road;Lagos\\, 101241;;;Nigeria")),
            "{got:?}"
        );
        assert!(got.contains(&(Kind::DateOfBirth, "19880217")), "{got:?}");
    }
}
