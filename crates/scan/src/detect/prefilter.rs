//! The prefilter: one Aho-Corasick pass over a few dozen keywords (ASCII case-insensitive)
//! decides which groups of detectors can match a text at all.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// Groups of detectors switched on by prefilter keywords.
pub(super) mod group {
    pub const PEM: u32 = 1 << 0;
    pub const JWT: u32 = 1 << 1;
    pub const AWS_ID: u32 = 1 << 2;
    pub const GITHUB: u32 = 1 << 3;
    pub const GITLAB: u32 = 1 << 4;
    pub const SLACK: u32 = 1 << 5;
    pub const STRIPE: u32 = 1 << 6;
    pub const SK: u32 = 1 << 7;
    pub const GOOGLE: u32 = 1 << 8;
    pub const VENDOR: u32 = 1 << 9;
    pub const KV: u32 = 1 << 10;
    pub const URL: u32 = 1 << 11;
    pub const SHELL: u32 = 1 << 12;
    pub const AUTH: u32 = 1 << 13;
    pub const EMAIL: u32 = 1 << 14;
    pub const PERSON: u32 = 1 << 15;
    pub const ADDRESS: u32 = 1 << 16;
    pub const DOB: u32 = 1 << 17;
    pub const NATID: u32 = 1 << 18;
    pub const PHONE_CTX: u32 = 1 << 19;
    pub const SSN_CTX: u32 = 1 << 20;
    pub const CRYPTO: u32 = 1 << 21;
    pub const TABLE: u32 = 1 << 22;
    /// Credentials in the places file formats and tools keep them (formats.rs).
    pub const FORMAT: u32 = 1 << 23;
}

/// Keywords of the prefilter (ASCII case-insensitive), with the groups they switch on.
const KEYWORDS: &[(&str, u32)] = &[
    ("-----BEGIN", group::PEM),
    ("eyJ", group::JWT),
    ("AKIA", group::AWS_ID),
    ("ASIA", group::AWS_ID),
    ("ABIA", group::AWS_ID),
    ("ACCA", group::AWS_ID),
    ("ghp_", group::GITHUB),
    ("gho_", group::GITHUB),
    ("ghu_", group::GITHUB),
    ("ghs_", group::GITHUB),
    ("ghr_", group::GITHUB),
    ("github_pat_", group::GITHUB),
    ("glpat-", group::GITLAB),
    ("gldt-", group::GITLAB),
    ("glrt-", group::GITLAB),
    ("glptt-", group::GITLAB),
    ("glcbt-", group::GITLAB),
    ("glsoat-", group::GITLAB),
    ("xox", group::SLACK),
    ("xapp-", group::SLACK),
    ("hooks.slack.com", group::SLACK),
    ("_live_", group::STRIPE),
    ("_test_", group::STRIPE),
    ("whsec_", group::STRIPE),
    ("sk-", group::SK),
    ("AIza", group::GOOGLE),
    ("npm_", group::VENDOR),
    ("pypi-", group::VENDOR),
    ("hf_", group::VENDOR),
    ("SG.", group::VENDOR),
    ("SK", group::VENDOR),
    ("shp", group::VENDOR),
    ("do", group::VENDOR),
    (":AA", group::VENDOR),
    ("-us", group::VENDOR),
    ("AccountKey", group::VENDOR),
    ("hvs.", group::VENDOR),
    ("hvb.", group::VENDOR),
    ("AGE-SECRET-KEY-", group::VENDOR),
    ("dapi", group::VENDOR),
    ("lin_api_", group::VENDOR),
    ("PMAK-", group::VENDOR),
    ("sq0", group::VENDOR),
    ("EAAA", group::VENDOR),
    ("dp.", group::VENDOR),
    ("glsa_", group::VENDOR),
    ("glc_", group::VENDOR),
    ("dckr_", group::VENDOR),
    ("NRAK-", group::VENDOR),
    ("sntry", group::VENDOR),
    ("pass", group::KV),
    ("sensitive", group::FORMAT),
    ("putty-user-key", group::FORMAT),
    ("private key-----", group::FORMAT),
    ("$2b$", group::FORMAT),
    ("$2y$", group::FORMAT),
    ("$2a$", group::FORMAT),
    ("$1$", group::FORMAT),
    ("$5$", group::FORMAT),
    ("$6$", group::FORMAT),
    ("$apr1$", group::FORMAT),
    ("$y$", group::FORMAT),
    ("$argon2", group::FORMAT),
    ("pw is", group::FORMAT),
    ("identified", group::FORMAT),
    ("define(", group::FORMAT),
    ("accountkey=", group::FORMAT),
    ("sharedaccesskey=", group::FORMAT),
    ("zip ", group::FORMAT),
    ("7z ", group::FORMAT),
    (":AA", group::FORMAT),
    ("discord", group::FORMAT),
    // Meeting notes' attendee lists (senders.rs).
    ("attendees", group::PERSON),
    ("participants", group::PERSON),
    ("present:", group::PERSON),
    ("teilnehmer", group::PERSON),
    ("anwesend", group::PERSON),
    ("participantes", group::PERSON),
    ("asistentes", group::PERSON),
    ("presentes", group::PERSON),
    ("partecipanti", group::PERSON),
    ("presenti", group::PERSON),
    ("deelnemers", group::PERSON),
    ("aanwezig", group::PERSON),
    ("उपस्थित", group::PERSON),
    ("प्रतिभागी", group::PERSON),
    ("参加者", group::PERSON),
    ("出席者", group::PERSON),
    // "pass " (a shell flag's) is the longest match where these are, so it hides "pass".
    ("requirepass", group::FORMAT),
    ("masterauth", group::FORMAT),
    ("random_password", group::FORMAT),
    ("rabbitmqctl", group::FORMAT),
    ("openssl", group::FORMAT),
    ("mysql", group::FORMAT),
    ("jdbc:oracle", group::FORMAT),
    ("jsonpath", group::FORMAT),
    ("ya29.", group::FORMAT),
    ("<input", group::FORMAT),
    ("pwd=", group::FORMAT),
    ("contraseña", group::FORMAT),
    ("senha", group::FORMAT),
    ("wachtwoord", group::FORMAT),
    ("пароль", group::FORMAT),
    ("パスワード", group::FORMAT),
    ("पासवर्ड", group::FORMAT),
    ("pwd", group::KV),
    ("secret", group::KV),
    ("token", group::KV),
    ("key", group::KV),
    ("auth", group::KV | group::AUTH),
    ("session", group::KV),
    ("cookie", group::KV),
    ("credential", group::KV),
    ("bearer", group::AUTH),
    ("basic", group::AUTH),
    ("://", group::URL),
    ("sshpass", group::SHELL),
    ("redis-cli", group::SHELL),
    ("mysql", group::SHELL),
    ("curl", group::SHELL),
    ("pass ", group::SHELL),
    ("pass\t", group::SHELL),
    ("passin", group::SHELL),
    ("passout", group::SHELL),
    ("--password", group::SHELL),
    (" -p", group::SHELL),
    ("@", group::EMAIL),
    ("0x", group::CRYPTO),
    ("bc1", group::CRYPTO),
    ("name", group::PERSON),
    ("nome", group::PERSON),
    ("llamo", group::PERSON),
    ("chiamo", group::PERSON),
    ("naam", group::PERSON),
    ("ik ben", group::PERSON),
    ("author", group::PERSON),
    ("from:", group::PERSON),
    ("customer", group::PERSON),
    ("contact", group::PERSON),
    ("applicant", group::PERSON),
    ("this is", group::PERSON),
    ("hi ", group::PERSON),
    ("thank", group::PERSON),
    ("regards", group::PERSON),
    ("cheers", group::PERSON),
    ("for ", group::PERSON),
    (" a ", group::PERSON),
    ("je suis", group::PERSON),
    ("soy", group::PERSON),
    ("sono", group::PERSON),
    ("ben", group::PERSON),
    ("hier ist", group::PERSON),
    ("ich bin", group::PERSON),
    ("nazywam", group::PERSON),
    ("inhaber", group::PERSON),
    ("alıcı", group::PERSON),
    ("tôi là", group::PERSON),
    ("меня зовут", group::PERSON),
    ("Получатель", group::PERSON),
    ("είμαι", group::PERSON),
    ("שמי", group::PERSON),
    ("اسمي", group::PERSON),
    ("नाम", group::PERSON),
    ("我是", group::PERSON),
    ("收件人", group::PERSON),
    ("저는", group::PERSON),
    ("こんにちは", group::PERSON),
    ("申します", group::PERSON),
    ("おります", group::PERSON),
    ("address", group::ADDRESS),
    ("ship", group::ADDRESS),
    ("adresse", group::ADDRESS),
    ("endereço", group::ADDRESS),
    ("vivo en", group::ADDRESS),
    ("адресу", group::ADDRESS),
    ("διεύθυνσ", group::ADDRESS),
    ("寄到", group::ADDRESS),
    ("주소", group::ADDRESS),
    ("住所", group::ADDRESS),
    ("địa chỉ", group::ADDRESS),
    ("Địa chỉ", group::ADDRESS),
    ("पता", group::ADDRESS),
    ("הכתובת", group::ADDRESS),
    ("write to", group::ADDRESS),
    ("indirizzo", group::ADDRESS),
    ("dirección", group::ADDRESS),
    ("birth", group::DOB),
    ("dob", group::DOB),
    ("geburtsdatum", group::DOB),
    ("生年月日", group::DOB),
    ("nacimiento", group::DOB),
    ("nascimento", group::DOB),
    ("naissance", group::DOB),
    ("nascita", group::DOB),
    ("geboortedatum", group::DOB),
    ("рождения", group::DOB),
    ("doğum", group::DOB),
    ("생년월일", group::DOB),
    ("出生", group::DOB),
    ("γέννησης", group::DOB),
    ("לידה", group::DOB),
    ("ميلاد", group::DOB),
    ("जन्म", group::DOB),
    ("ngày sinh", group::DOB),
    ("urodzenia", group::DOB),
    ("born", group::DOB),
    ("geboren", group::DOB),
    ("geb.", group::DOB),
    ("né", group::DOB),
    ("naci", group::DOB),
    ("nascid", group::DOB),
    ("nasceu", group::DOB),
    ("nato ", group::DOB),
    ("nata ", group::DOB),
    ("生まれ", group::DOB),
    ("誕生日", group::DOB),
    ("nhs", group::NATID),
    ("sin", group::NATID),
    ("bsn", group::NATID),
    ("aadhaar", group::NATID),
    ("आधार", group::NATID),
    ("cpf", group::NATID),
    ("dni", group::NATID),
    ("nie", group::NATID),
    ("nino", group::NATID),
    ("insurance", group::NATID),
    ("national", group::NATID),
    ("burgerservice", group::NATID),
    ("phone", group::PHONE_CTX),
    ("tel", group::PHONE_CTX),
    ("mobile", group::PHONE_CTX),
    ("cell", group::PHONE_CTX),
    ("call", group::PHONE_CTX),
    ("sms", group::PHONE_CTX),
    ("celular", group::PHONE_CTX),
    ("τηλέφων", group::PHONE_CTX),
    ("телефон", group::PHONE_CTX),
    ("טלפון", group::PHONE_CTX),
    ("هاتف", group::PHONE_CTX),
    ("फ़ोन", group::PHONE_CTX),
    ("điện thoại", group::PHONE_CTX),
    ("電話", group::PHONE_CTX),
    ("电话", group::PHONE_CTX),
    ("전화", group::PHONE_CTX),
    ("bel me", group::PHONE_CTX),
    ("ssn", group::SSN_CTX),
    ("social security", group::SSN_CTX),
    ("tax_id", group::SSN_CTX),
];

/// The compiled keyword automaton.
pub(super) struct Prefilter {
    ac: AhoCorasick,
}

impl Prefilter {
    pub(super) fn new() -> Result<Prefilter, regex::Error> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(KEYWORDS.iter().map(|(k, _)| k.as_bytes()))
            .map_err(|e| regex::Error::Syntax(e.to_string()))?;
        Ok(Prefilter { ac })
    }

    /// Which detector groups the text switches on.
    pub(super) fn groups(&self, text: &[u8]) -> u32 {
        let mut m = 0;
        if memchr::memchr(b'\n', text).is_some()
            && (memchr::memchr3(b',', b';', b'\t', text).is_some()
                || memchr::memchr(b'|', text).is_some())
        {
            m |= group::TABLE;
        }
        for hit in self.ac.find_iter(text) {
            m |= KEYWORDS[hit.pattern().as_usize()].1;
        }
        m
    }
}
