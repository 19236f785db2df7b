//! The built-in detectors: shape (regex) + validator (checksum, structure) + context.
//!
//! Every pattern is compiled as `regex::bytes` with Unicode off (`(?-u)`), so `\d`, `\s`
//! and `\b`-like checks are ASCII and the lazy DFA never gives up on non-ASCII input.
//! Spans are always cut at ASCII bytes, so they stay on UTF-8 character boundaries.
//! An Aho-Corasick pass over a few dozen keywords decides which detectors run at all.
//!
//! This module owns the entry point, [`Detectors::run`], and the order the detectors run in;
//! each detector, with its patterns, lives in a submodule of its own. Names, addresses and
//! dates of birth have no checksum: they are found from a key name, a cue phrase, a
//! signature line or a table column header, then checked by shape.

mod addresses;
mod birth_dates;
mod credentials;
mod cues;
mod emails;
mod encoded;
mod formats;
mod lexicon;
mod names;
mod nearby;
mod network;
mod numbers;
mod phones;
mod prefilter;
mod secrets;
mod senders;
mod streets;
mod sweep;
mod tables;
mod values;
mod vcards;
mod wallets;

use regex::bytes::Regex;

use crate::kind::Kind;
use prefilter::group;

/// A candidate before overlap resolution.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub conf: f32,
}

/// All compiled patterns, by detector. Built once per [`crate::Scanner`].
pub(crate) struct Detectors {
    prefilter: prefilter::Prefilter,
    secrets: secrets::Secrets,
    credentials: credentials::Credentials,
    formats: formats::Formats,
    emails: emails::Emails,
    network: network::Network,
    numbers: numbers::Numbers,
    cues: cues::Cues,
    names: names::Names,
    senders: senders::Senders,
    addresses: addresses::Addresses,
    streets: streets::Streets,
    birth_dates: birth_dates::BirthDates,
}

/// Compiles a constant pattern with Unicode off.
fn re(p: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(&format!("(?-u){p}")).unicode(false).build()
}

/// Compiles a constant pattern with Unicode on, for the few that need classes of non-ASCII
/// characters (ideographic punctuation, Devanagari words). They use no `\b`, so the lazy DFA
/// still runs them.
fn re_unicode(p: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(p).unicode(true).build()
}

impl Detectors {
    pub(crate) fn new() -> Result<Detectors, regex::Error> {
        Ok(Detectors {
            prefilter: prefilter::Prefilter::new()?,
            secrets: secrets::Secrets::new()?,
            credentials: credentials::Credentials::new()?,
            formats: formats::Formats::new()?,
            emails: emails::Emails::new()?,
            network: network::Network::new()?,
            numbers: numbers::Numbers::new()?,
            cues: cues::Cues::new()?,
            names: names::Names::new()?,
            senders: senders::Senders::new()?,
            addresses: addresses::Addresses::new()?,
            streets: streets::Streets::new()?,
            birth_dates: birth_dates::BirthDates::new()?,
        })
    }

    /// Runs every detector the prefilter allows and returns raw candidates, base64 values
    /// decoded and scanned too.
    pub(crate) fn run(&self, text: &[u8], out: &mut Vec<Cand>) {
        self.run_plain(text, out);
        self.decoded(text, out);
    }

    /// [`Detectors::run`] without decoding (what a decoded value is scanned with).
    fn run_plain(&self, text: &[u8], out: &mut Vec<Cand>) {
        let grp = self.prefilter.groups(text);
        let mut push = |kind: Kind, start: usize, end: usize, conf: f32| {
            out.push(Cand { kind, start, end, conf });
        };
        self.secrets.run(text, grp, &mut push);
        self.credentials.run(text, grp, &mut push);
        if grp & (group::KV | group::SHELL | group::FORMAT) != 0 {
            self.formats.run(text, &mut push);
        }
        if grp & group::EMAIL != 0 {
            self.emails.run(text, &mut push);
        }
        // One pass over the words of the text finds the word-shaped values and the runs
        // (numeric, hex, base64) the other shapes live in.
        let sweep = self.sweep(text, &mut push);
        if sweep.max_digits >= 6 {
            let runs = &sweep.nums[..];
            numbers::cards(text, runs, &mut push);
            numbers::ssns(text, grp, runs, &mut push);
            self.network.ipv4_runs(text, &sweep.dotted, &mut push);
            if sweep.max_digits >= 8 {
                phones::phones(text, grp, runs, &mut push);
                numbers::national_ids(text, grp, runs, &mut push);
            }
        }
        if grp & (group::PERSON | group::ADDRESS | group::DOB) != 0 {
            self.cues.run(text, &self.birth_dates, out);
        }
        if grp & group::PERSON != 0 {
            self.names.run(text, out);
        }
        lexicon::names(text, out);
        self.senders.run(text, grp, out);
        self.streets.run(text, &sweep.short_numbers, out);
        if grp & group::DOB != 0 {
            self.birth_dates.in_sentences(text, out);
            self.birth_dates.before_birth_word(text, out);
        }
        if grp & group::ADDRESS != 0 {
            self.addresses.run(text, out);
        }
        if grp & group::TABLE != 0 {
            tables::tables(text, out, &self.birth_dates.date);
        }
        if crate::bytes::find(text, b"BEGIN:VCARD").is_some()
            || crate::bytes::find(text, b"begin:vcard").is_some()
        {
            vcards::vcards(text, out);
        }
    }

    /// Secrets inside base64 values ([`encoded`]): each value that decodes to text is scanned
    /// as that text (one level deep), and what it carries is reported over the encoded span.
    fn decoded(&self, text: &[u8], out: &mut Vec<Cand>) {
        // URL-encoded values (a `next=` or `redirect=` parameter holding a URL with its
        // credentials): scanned decoded, reported over the encoded run.
        if memchr::memchr(b'%', text).is_some() {
            for (s, e, decoded) in encoded::percent_values(text) {
                let mut inner = Vec::new();
                self.run_plain(decoded.as_bytes(), &mut inner);
                if let Some(kind) = encoded::carried(&inner, false, &decoded) {
                    out.push(Cand { kind, start: s, end: e, conf: 0.88 });
                } else if inner
                    .iter()
                    .any(|c| c.kind == Kind::Email && c.start == 0 && c.end == decoded.len())
                {
                    // `email=alice%40example.org`: the whole value is the address.
                    out.push(Cand { kind: Kind::Email, start: s, end: e, conf: 0.9 });
                }
            }
        }
        if memchr::memchr2(b':', b'=', text).is_none() {
            return;
        }
        for (s, e, decoded) in encoded::values(text) {
            let mut inner = Vec::new();
            self.run_plain(decoded.as_bytes(), &mut inner);
            let auth = encoded::auth_key_before(text, s);
            if let Some(kind) = encoded::carried(&inner, auth, &decoded) {
                out.push(Cand { kind, start: s, end: e, conf: 0.9 });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in pattern goes through `re`, which turns Unicode off: `\b` is then the
    /// ASCII `(?-u:\b)` and `.` matches any byte, so the lazy DFA never quits on
    /// non-ASCII input (the 250x cliff of Unicode `\b`).
    #[test]
    fn patterns_compile_with_unicode_off() {
        assert!(Detectors::new().is_ok());
        let dot = re(".").unwrap();
        assert!(dot.is_match(b"\xff"), "unicode mode would refuse a lone 0xff byte");
        let word = re(r"\b[0-9]{3}\b").unwrap();
        assert!(word.is_match("Привет 123 мир".as_bytes()));
        assert_eq!(word.find("é123".as_bytes()).map(|m| m.start()), Some(2));
    }

    /// `find_iter` of `pattern` over `hay`, as `(start, end)` pairs.
    pub(super) fn regex_hits(pattern: &str, hay: &[u8]) -> Vec<(usize, usize)> {
        re(pattern).unwrap().find_iter(hay).map(|m| (m.start(), m.end())).collect()
    }
}
