//! Dates of birth: a date right after a birth cue (`dob`, `Geburtsdatum`, `生年月日`), or later
//! in the same sentence as a word for birth ("born on 29 July 2002", "geboren am 30. Juli
//! 2005", "né(e) le 19 décembre 1959", "nascido em 04/08/2002", "जन्म 25 जनवरी 1959"); the
//! same date shape types the cells of a table's birth-date column.

use regex::bytes::Regex;

use super::{Cand, re};
use crate::kind::Kind;

/// The compiled date shape (numeric, month-name, CJK and Korean forms).
pub(super) struct BirthDates {
    pub(super) date: Regex,
    /// Words for birth, in the languages of the month names below.
    birth_word: Regex,
    /// Dates written out: a day, a month name and a year, in English, German, French,
    /// Spanish, Portuguese, Italian, Dutch and Hindi, and the numeric forms of `date`.
    sentence_date: Regex,
}

/// Month names and their usual abbreviations (lower case; matched case-insensitively).
const MONTHS: &str = "jan(?:uary|uar|vier|eiro)?|feb(?:ruary|ruar|rero)?|février|fevereiro|fév|fev|enero|gennaio|januari|februari|mar(?:ch|s|zo|ço|cha|t)?|märz|maart|maggio|may|mayo|maio|mai|mei|apr(?:il|ile)?|avr(?:il)?|abr(?:il)?|jun(?:e|i|io|ho)?|juin|giugno|jul(?:y|i|io|ho)?|juil(?:let)?|luglio|aug(?:ust|ustus)?|août|agosto|sep(?:t(?:ember|iembre|embre)?)?|set(?:embro|tembre)?|oct(?:ober|obre)?|octubre|noviembre|febbraio|setiembre|okt(?:ober)?|out(?:ubro)?|ottobre|nov(?:ember|embre|embro)?|dec(?:ember)?|décembre|déc|dez(?:ember|embro)?|dic(?:iembre|embre)?|जनवरी|फ़रवरी|फरवरी|मार्च|अप्रैल|मई|जून|जुलाई|अगस्त|सितंबर|सितम्बर|अक्टूबर|अक्तूबर|नवंबर|नवम्बर|दिसंबर|दिसम्बर";

impl BirthDates {
    pub(super) fn new() -> Result<BirthDates, regex::Error> {
        let numeric = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}|[0-9]{4}[/.][0-9]{1,2}[/.][0-9]{1,2}|[0-9]{4}年 ?[0-9]{1,2}月 ?[0-9]{1,2}日";
        let months = MONTHS;
        Ok(BirthDates {
            // The Romance words in lower case only: capitalised, "Nascimento" and
            // "Nacimiento" are surnames and towns.
            birth_word: re(
                r"(?i:\b(?:born|birth|d\.?o\.?b\b|geboren|geb\.|geburts|geboorte))|\b(?:née?(?:\(e\))?[ \t]|naissance|naci(?:d[oa]|o\b|ó|miento)|nasc(?:id[oa]|eu|imento)|nat[oa][ \t]|nascita)|जन्म|生年月日|生まれ|誕生日",
            )?,
            sentence_date: re(&format!(
                r"(?i){numeric}|\b[0-9]{{1,2}}(?:\.|er|º)? ?(?:de )?(?:{months})\.?,? (?:de )?[0-9]{{4}}\b|\b(?:{months})\.? [0-9]{{1,2}}(?:st|nd|rd|th)?,? [0-9]{{4}}\b"
            ))?,
            date: re(
                r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}|[0-9]{4}[/.][0-9]{1,2}[/.][0-9]{1,2}|[0-9]{1,2}\.? (?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? [0-9]{4}|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? [0-9]{1,2},? [0-9]{4}|[0-9]{4}年 ?[0-9]{1,2}月 ?[0-9]{1,2}日|[0-9]{4}년 ?[0-9]{1,2}월 ?[0-9]{1,2}일",
            )?,
        })
    }

    /// Dates in the same sentence as a word for birth, after it (at most 120 bytes on, on the
    /// same line): "was born on 29 July 2002", "(जन्म 25 जनवरी 1959)".
    pub(super) fn in_sentences(&self, text: &[u8], out: &mut Vec<Cand>) {
        let mut from = 0;
        for w in self.birth_word.find_iter(text) {
            let s = w.end().max(from);
            let end = (w.end() + 120).min(text.len());
            if s >= end {
                continue;
            }
            let win = &text[s..end];
            let stop = win.iter().position(|&c| c == b'\n').unwrap_or(win.len());
            if let Some(m) = self.sentence_date.find(&win[..stop]) {
                let (a, b) = (s + m.start(), s + m.end());
                if !text.get(b).is_some_and(u8::is_ascii_digit)
                    && !text[..a].last().is_some_and(u8::is_ascii_digit)
                {
                    out.push(Cand { kind: Kind::DateOfBirth, start: a, end: b, conf: 0.8 });
                    from = b;
                }
            }
        }
    }

    /// Dates right before a word for birth ("1993年2月12日生まれ", "12 March 1990 (birth)").
    pub(super) fn before_birth_word(&self, text: &[u8], out: &mut Vec<Cand>) {
        for w in self.birth_word.find_iter(text) {
            let from = w.start().saturating_sub(40);
            let win = &text[from..w.start()];
            // The date ends within a few bytes of the word (a space, a parenthesis).
            for m in self.sentence_date.find_iter(win) {
                if win.len() - m.end() <= 3 {
                    let (a, b) = (from + m.start(), from + m.end());
                    if !text[..a].last().is_some_and(u8::is_ascii_digit) {
                        out.push(Cand { kind: Kind::DateOfBirth, start: a, end: b, conf: 0.8 });
                    }
                }
            }
        }
    }

    /// The date of birth after a cue ending at `s`.
    pub(super) fn after_cue(&self, text: &[u8], s: usize, out: &mut Vec<Cand>) {
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
                out.push(Cand { kind: Kind::DateOfBirth, start: a, end: b, conf: 0.85 });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let d = BirthDates::new().unwrap();
        let mut out = Vec::new();
        d.in_sentences(text.as_bytes(), &mut out);
        d.before_birth_word(text.as_bytes(), &mut out);
        out.iter().map(|c| &text[c.start..c.end]).collect()
    }

    #[test]
    fn dates_in_birth_sentences() {
        assert_eq!(found("Ada was born on 10 December 1815 in London."), ["10 December 1815"]);
        // German puts the date before the verb as often as after it.
        assert_eq!(
            found("Sie ist am 3. Mai 1990 geboren; geboren am 30. Juli 2005"),
            ["30. Juli 2005", "3. Mai 1990"]
        );
        assert_eq!(found("Marie Curie, née le 7 novembre 1867 à Varsovie"), ["7 novembre 1867"]);
        assert_eq!(
            found("Fernando Pessoa nasceu em 13 de junho de 1888."),
            ["13 de junho de 1888"]
        );
        assert_eq!(found("Frida Kahlo nació el 6 de julio de 1907"), ["6 de julio de 1907"]);
        assert_eq!(found("सही जन्म तिथि 14/11/1889 है"), ["14/11/1889"]);
        assert_eq!(found("夏目漱石は1867年2月9日生まれです"), ["1867年2月9日"]);
    }

    #[test]
    fn other_dates_are_not_births() {
        assert!(found("Released on 10 December 2023; see the changelog.").is_empty());
        // A surname and a town, capitalised, are not the word for birth.
        assert!(found("Bairro Nascimento, 58818-399 / SC, created Thu, 16 Mar 2023").is_empty());
        assert!(found("born\n\n2023-01-01 deploy").is_empty());
    }
}
