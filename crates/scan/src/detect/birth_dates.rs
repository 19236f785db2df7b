//! Dates of birth: a date right after a birth cue (`dob`, `Geburtsdatum`, `生年月日`); the
//! same date shape types the cells of a table's birth-date column.

use regex::bytes::Regex;

use super::{Cand, re};
use crate::kind::Kind;

/// The compiled date shape (numeric, month-name, CJK and Korean forms).
pub(super) struct BirthDates {
    pub(super) date: Regex,
}

impl BirthDates {
    pub(super) fn new() -> Result<BirthDates, regex::Error> {
        Ok(BirthDates {
            date: re(
                r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}|[0-9]{4}[/.][0-9]{1,2}[/.][0-9]{1,2}|[0-9]{1,2}\.? (?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? [0-9]{4}|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? [0-9]{1,2},? [0-9]{4}|[0-9]{4}年 ?[0-9]{1,2}月 ?[0-9]{1,2}日|[0-9]{4}년 ?[0-9]{1,2}월 ?[0-9]{1,2}일",
            )?,
        })
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
