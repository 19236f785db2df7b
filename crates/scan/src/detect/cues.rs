//! Cue phrases (`je suis …`, `Please ship it to …`, `Geburtsdatum:`), found in one
//! Aho-Corasick pass; each hands the text after it to the name, address or birth-date detector.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::birth_dates::BirthDates;
use super::{Cand, addresses, names};

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

/// Cue phrases (ASCII case-insensitive), with how the value after each is taken.
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

/// The compiled cue phrases.
pub(super) struct Cues {
    cues: AhoCorasick,
}

impl Cues {
    pub(super) fn new() -> Result<Cues, regex::Error> {
        let cues = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(CUES.iter().map(|(c, _)| c.as_bytes()))
            .map_err(|e| regex::Error::Syntax(e.to_string()))?;
        Ok(Cues { cues })
    }

    /// The values after every cue in `text`.
    pub(super) fn run(&self, text: &[u8], birth_dates: &BirthDates, out: &mut Vec<Cand>) {
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
                Take::Name => names::after_cue(text, s, out),
                Take::Address | Take::AddressBlock => {
                    addresses::after_cue(text, s, take == Take::AddressBlock, out);
                }
                Take::Dob => birth_dates.after_cue(text, s, out),
            }
        }
    }
}
