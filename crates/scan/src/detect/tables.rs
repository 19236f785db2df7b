//! Typed table columns: CSV/TSV header rows and `psql`/`mysql` result grids whose column
//! names say what the cells below hold (names, birth dates, addresses, phones, SSNs, IDs).

use regex::bytes::Regex;

use super::Cand;
use super::addresses::looks_like_address;
use super::names::{is_mark, looks_like_name};
use crate::kind::Kind;
use crate::validate;

/// Column kinds by header name, in the languages tool output is most often in (English,
/// German, French, Spanish, Portuguese, Italian, Dutch, Polish, Japanese, Hindi): the usual
/// words a spreadsheet, CRM export or database schema names these columns with. The header is
/// lowercased and its spaces, hyphens, dots and slashes read as `_` first (`Date of birth`,
/// `date-of-birth` and `DATE_OF_BIRTH` are one name).
fn column_kind(h: &[u8]) -> Option<Kind> {
    let n = normalized(h);
    Some(match n.as_str() {
        "name"
        | "full_name"
        | "fullname"
        | "customer"
        | "customer_name"
        | "contact"
        | "contact_name"
        | "author"
        | "owner"
        | "first_name"
        | "last_name"
        | "holder"
        | "cardholder"
        | "account_holder"
        | "recipient"
        | "employee"
        | "patient"
        | "display_name"
        | "user_name"
        | "applicant"
        | "client_name"
        | "person"
        | "vollständiger_name"
        | "kunde"
        | "kundenname"
        | "ansprechpartner"
        | "inhaber"
        | "mitarbeiter"
        | "empfänger"
        | "vor_und_nachname"
        | "nom"
        | "nom_complet"
        | "nom_et_prénom"
        | "prénom_et_nom"
        | "titulaire"
        | "destinataire"
        | "nombre"
        | "nombre_completo"
        | "nombre_y_apellidos"
        | "apellidos_y_nombre"
        | "cliente"
        | "titular"
        | "destinatario"
        | "paciente"
        | "nome"
        | "nome_completo"
        | "destinatário"
        | "nome_e_cognome"
        | "intestatario"
        | "naam"
        | "volledige_naam"
        | "klant"
        | "imię_i_nazwisko"
        | "klient"
        | "氏名"
        | "名前"
        | "お名前"
        | "顧客名"
        | "担当者"
        | "नाम"
        | "पूरा_नाम"
        | "ग्राहक"
        | "ग्राहक_का_नाम" => Kind::Person,
        "dob"
        | "date_of_birth"
        | "birthdate"
        | "birth_date"
        | "birthday"
        | "born"
        | "bday"
        | "geburtsdatum"
        | "geburtstag"
        | "date_de_naissance"
        | "né_le"
        | "née_le"
        | "fecha_de_nacimiento"
        | "fecha_nacimiento"
        | "f_nacimiento"
        | "data_de_nascimento"
        | "data_nascimento"
        | "data_di_nascita"
        | "geboortedatum"
        | "data_urodzenia"
        | "生年月日"
        | "誕生日"
        | "जन्म_तिथि"
        | "जन्मतिथि"
        | "जन्म_दिनांक" => Kind::DateOfBirth,
        "address" | "street" | "street_address" | "shipping_address" | "billing_address"
        | "home_address" | "addr" | "mailing_address" | "postal_address" | "anschrift"
        | "adresse" | "straße" | "strasse" | "dirección" | "direccion" | "domicilio"
        | "endereço" | "endereco" | "morada" | "indirizzo" | "adres" | "住所" | "पता" => {
            Kind::StreetAddress
        }
        "phone" | "phone_number" | "mobile" | "tel" | "telephone" | "cell" | "telefon"
        | "telefonnummer" | "handy" | "téléphone" | "portable" | "teléfono" | "telefono"
        | "móvil" | "celular" | "telefone" | "telemóvel" | "cellulare" | "telefoon"
        | "電話番号" | "電話" | "携帯" | "फ़ोन" | "फोन" | "मोबाइल" => {
            Kind::Phone
        }
        "ssn" | "social_security_number" => Kind::UsSsn,
        "national_id"
        | "nhs"
        | "nhs_no"
        | "nhs_number"
        | "sin"
        | "bsn"
        | "aadhaar"
        | "aadhaar_number"
        | "cpf"
        | "dni"
        | "nino"
        | "dni_nie"
        | "nie"
        | "nif"
        | "codice_fiscale"
        | "pesel"
        | "個人番号"
        | "マイナンバー"
        | "आधार"
        | "आधार_संख्या" => Kind::NationalId,
        _ => return None,
    })
}

/// Header words that name a thing as often as a person (`name` of a product, a host, a
/// bucket): such a column holds people's names only in a table that holds other personal data.
const AMBIGUOUS_NAMES: &[&str] = &["name", "nom", "nome", "nombre", "naam", "名前", "नाम"];

/// Headers of e-mail columns (the e-mail detector finds the cells; the header is evidence
/// that the table is about people).
const EMAIL_HEADERS: &[&str] = &[
    "email",
    "e_mail",
    "mail",
    "email_address",
    "courriel",
    "correo",
    "correo_electrónico",
    "メール",
    "メールアドレス",
    "ईमेल",
];

/// `cols` as they type the cells: an ambiguous name column stays a person column only beside
/// another column of personal data.
fn people_columns(names: &[&[u8]], mut cols: Vec<Option<Kind>>) -> Vec<Option<Kind>> {
    let norm: Vec<String> = names.iter().map(|n| normalized(n)).collect();
    let personal = cols.iter().zip(&norm).any(|(k, n)| match k {
        Some(Kind::Person) => !AMBIGUOUS_NAMES.contains(&n.as_str()),
        Some(_) => true,
        None => EMAIL_HEADERS.contains(&n.as_str()),
    });
    if !personal {
        cols.iter_mut().for_each(|k| *k = None);
    }
    cols
}

/// A header lowercased, its spaces, hyphens, dots and slashes read as `_`.
fn normalized(h: &[u8]) -> String {
    let h = String::from_utf8_lossy(h);
    let mut n = String::with_capacity(h.len());
    for c in h.trim().trim_matches(['`', '"', '\'', '[', ']']).chars() {
        if matches!(c, ' ' | '-' | '.' | '/' | '\u{3000}') {
            if !n.ends_with('_') {
                n.push('_');
            }
        } else {
            n.extend(c.to_lowercase());
        }
    }
    n.trim_matches('_').to_owned()
}

/// Whether a cell can be a column's name: a few words of letters (any script), digits and
/// `_`, not starting with a digit.
fn header_cell(n: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(n) else { return false };
    let s = s.trim_matches(['`', '"']);
    !s.is_empty()
        && s.chars().count() <= 40
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || " _-./\u{3000}".contains(c) || is_mark(c))
}

/// The column names of `COPY table (a, b) FROM stdin;` (a `pg_dump` table's rows follow,
/// tab-separated) or of `INSERT INTO table (a, b) VALUES`, and where the list ends.
fn sql_columns(line: &[u8]) -> Option<(Vec<Option<Kind>>, usize)> {
    let t = line.trim_ascii_start();
    let upper = t.get(..12)?.to_ascii_uppercase();
    if !(upper.starts_with(b"COPY ") || upper.starts_with(b"INSERT INTO ")) {
        return None;
    }
    let open = t.iter().position(|&c| c == b'(')?;
    let close = open + t[open..].iter().position(|&c| c == b')')?;
    let names: Vec<&[u8]> = t[open + 1..close].split(|&c| c == b',').collect();
    let cols = people_columns(&names, names.iter().map(|n| column_kind(n)).collect());
    cols.iter().any(Option::is_some).then_some((cols, line.len() - t.len() + close + 1))
}

/// Types the cells of the `VALUES` tuples of an `INSERT` from `from` on (up to the `;` that
/// ends the statement): single-quoted strings, numbers and `NULL`, in column order.
fn insert_values(
    text: &[u8],
    from: usize,
    cols: &[Option<Kind>],
    out: &mut Vec<Cand>,
    date: &Regex,
) {
    let mut i = from;
    let mut col = 0usize;
    let mut depth = 0usize;
    while i < text.len() {
        match text[i] {
            b'\'' => {
                let s = i + 1;
                let mut j = s;
                while j < text.len() {
                    if text[j] == b'\\' {
                        j += 2;
                        continue;
                    }
                    if text[j] == b'\'' {
                        if text.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                let e = j.min(text.len());
                if depth == 1
                    && let Some(Some(k)) = cols.get(col)
                {
                    typed_cell(text, s, e, k, out, date);
                }
                i = e + 1;
                continue;
            }
            b'(' => {
                depth += 1;
                col = 0;
            }
            b')' => {
                depth = depth.saturating_sub(1);
            }
            b',' if depth == 1 => {
                col += 1;
            }
            b';' if depth == 0 => return,
            _ => {}
        }
        i += 1;
    }
}

/// Finds header rows of delimited tables and types the cells below them.
pub(super) fn tables(text: &[u8], out: &mut Vec<Cand>, date: &Regex) {
    let mut pos = 0;
    let mut header: Option<(u8, Vec<Option<Kind>>)> = None;
    while pos < text.len() {
        let le = text[pos..].iter().position(|&c| c == b'\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..le];
        let mut handled = false;
        if let Some((cols, at)) = sql_columns(line) {
            let insert = line.trim_ascii_start()[..6].eq_ignore_ascii_case(b"INSERT");
            if insert {
                insert_values(text, pos + at, &cols, out, date);
                header = None;
            } else {
                header = Some((b'\t', cols));
            }
            pos = le + 1;
            continue;
        }
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
        if !handled && line.len() <= 400 && !line.iter().any(|c| b"\"{}:=@".contains(c)) {
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
                let ident = names.iter().all(|n| header_cell(n));
                if !ident {
                    continue;
                }
                let cols = people_columns(&names, names.iter().map(|n| column_kind(n)).collect());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::birth_dates::BirthDates;

    /// What `tables` finds in `text`, as (kind, text) pairs.
    fn found(text: &str) -> Vec<(Kind, String)> {
        let date = BirthDates::new().expect("date").date;
        let mut out = Vec::new();
        tables(text.as_bytes(), &mut out, &date);
        out.into_iter().map(|c| (c.kind, text[c.start..c.end].to_owned())).collect()
    }

    #[test]
    fn headers_in_other_languages_and_with_spaces_type_their_columns() {
        let csv = "Vollständiger Name;Geburtsdatum;Anschrift\n\
                   Hannelore Brückner;14.02.1961;Lindenweg 7, 04109 Leipzig\n";
        let f = found(csv);
        assert!(f.contains(&(Kind::Person, "Hannelore Brückner".into())), "{f:?}");
        assert!(f.contains(&(Kind::DateOfBirth, "14.02.1961".into())), "{f:?}");
        assert!(f.contains(&(Kind::StreetAddress, "Lindenweg 7, 04109 Leipzig".into())), "{f:?}");
        let ja = "氏名,生年月日\n山田 花子,1988/07/04\n";
        assert!(found(ja).contains(&(Kind::DateOfBirth, "1988/07/04".into())));
    }

    #[test]
    fn sql_dumps_type_their_columns_by_the_statement_s_column_list() {
        let copy = "COPY public.patients (id, full_name, date_of_birth) FROM stdin;\n\
                    1\tOlivia Marchetti\t1972-11-30\n\\.\n";
        let f = found(copy);
        assert!(f.contains(&(Kind::Person, "Olivia Marchetti".into())), "{f:?}");
        assert!(f.contains(&(Kind::DateOfBirth, "1972-11-30".into())), "{f:?}");
        let insert = "INSERT INTO `clients` (`id`, `nombre_completo`, `fecha_de_nacimiento`) VALUES \
                      (1,'Rocío Peña Ortega','1990-05-17'),(2,'O''Brien Keane',NULL);\n";
        let f = found(insert);
        assert!(f.contains(&(Kind::Person, "Rocío Peña Ortega".into())), "{f:?}");
        assert!(f.contains(&(Kind::DateOfBirth, "1990-05-17".into())), "{f:?}");
    }

    #[test]
    fn a_bare_name_column_without_other_personal_data_is_not_people() {
        let products =
            "name,sku,price\nOak Writing Desk,OWD-1,349.00\nHarbor Floor Lamp,HFL-2,89.90\n";
        assert!(found(products).is_empty(), "{:?}", found(products));
        let people = "name,email\nMaren Holt,maren@example.org\n";
        assert!(found(people).contains(&(Kind::Person, "Maren Holt".into())));
    }

    /// Devanagari headers have vowel signs and viramas, which are marks, not letters.
    #[test]
    fn hindi_headers() {
        let f = found("नाम\tईमेल\tआधार संख्या\nमीरा झा\tmira@example.in\t8613 8121 0202\n");
        assert!(f.contains(&(Kind::Person, "मीरा झा".into())), "{f:?}");
        assert!(f.iter().any(|(k, _)| *k == Kind::NationalId), "{f:?}");
    }
}
