//! Typed table columns: CSV/TSV header rows and `psql`/`mysql` result grids whose column
//! names say what the cells below hold (names, birth dates, addresses, phones, SSNs, IDs).

use regex::bytes::Regex;

use super::Cand;
use super::addresses::looks_like_address;
use super::names::looks_like_name;
use crate::kind::Kind;
use crate::validate;

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
pub(super) fn tables(text: &[u8], out: &mut Vec<Cand>, date: &Regex) {
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
    let d = validate::digits(cell);
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
        Kind::UsSsn => {
            validate::ssn(&d) && cell.iter().all(|c| c.is_ascii_digit() || b" -".contains(c))
        }
        Kind::NationalId => {
            validate::nhs(&d)
                || validate::sin(&d)
                || validate::bsn(&d)
                || validate::aadhaar(&d)
                || validate::cpf(&d)
                || validate::dni(cell)
                || validate::nino(&cell.iter().filter(|c| **c != b' ').copied().collect::<Vec<_>>())
        }
        _ => false,
    };
    if ok {
        // A column header is stronger evidence than a cell's shape alone (a spaced SSN
        // also looks like a national phone number).
        out.push(Cand { kind: k.clone(), start: s, end: e, conf: 0.85 });
    }
}
