//! What surrounds a candidate span: token boundaries on either side, the current line, and
//! cue words in the bytes just before it.

use crate::bytes::{contains, find};

/// Byte classes for boundary checks.
pub(super) const ALNUM: &[u8] = b"";
pub(super) const TOKEN: &[u8] = b"_-";
pub(super) const NUMTOK: &[u8] = b"-.";
pub(super) const HEXTOK: &[u8] = b":-.";

fn is_tok(c: u8, extra: &[u8]) -> bool {
    c.is_ascii_alphanumeric() || extra.contains(&c)
}

/// The bytes before `s` and at `e` are not token bytes.
pub(super) fn bounded(text: &[u8], s: usize, e: usize, extra: &[u8]) -> bool {
    left_ok(text, s, extra)
        && text.get(e).is_none_or(|&c| {
            !is_tok(c, extra)
                || (extra == NUMTOK
                    && c == b'.'
                    && !text.get(e + 1).is_some_and(u8::is_ascii_digit))
        })
}

pub(super) fn left_ok(text: &[u8], s: usize, extra: &[u8]) -> bool {
    s == 0 || !is_tok(text[s - 1], extra)
}

/// After a number: not a digit, and not a separator followed by a digit.
pub(super) fn right_ok(text: &[u8], e: usize) -> bool {
    match text.get(e) {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() => false,
        Some(b'-' | b'.' | b'/') => !text.get(e + 1).is_some_and(u8::is_ascii_digit),
        _ => true,
    }
}

/// The current line up to `s`.
pub(super) fn line_before(text: &[u8], s: usize) -> &[u8] {
    // At most LINE_WINDOW bytes back: the cues looked for sit close to the value, and a text
    // with no line breaks would otherwise make every match look at everything before it (8,000
    // addresses on one line took seconds: quadratic).
    let from = s.saturating_sub(LINE_WINDOW);
    let ls = text[from..s].iter().rposition(|&c| c == b'\n').map_or(from, |i| from + i + 1);
    &text[ls..s]
}

/// How far back [`line_before`] looks for the start of the line.
const LINE_WINDOW: usize = 512;

/// One of `words` (ASCII case-insensitive) occurs in the `window` bytes before `s`.
/// Like [`near`], but a keyword must start a word (`call` in `mccall@` does not count).
pub(super) fn near_word(text: &[u8], s: usize, window: usize, words: &[&[u8]]) -> bool {
    let (buf, from) = lower_window(text, s, window);
    let w = &buf[..s - from];
    words.iter().any(|k| {
        let mut at = 0;
        while let Some(p) = find(&w[at..], k) {
            let p = at + p;
            if p == 0 && from == 0
                || !(if p == 0 { text[from - 1] } else { w[p - 1] }).is_ascii_alphabetic()
            {
                return true;
            }
            at = p + 1;
        }
        false
    })
}

pub(super) fn near(text: &[u8], s: usize, window: usize, words: &[&[u8]]) -> bool {
    let (buf, from) = lower_window(text, s, window);
    words.iter().any(|k| contains(&buf[..s - from], k))
}

/// The longest look-behind window of [`near`] and [`near_word`].
const WINDOW_MAX: usize = 64;

/// The (at most [`WINDOW_MAX`]) bytes before `s`, ASCII-lowercased into a stack buffer,
/// and where they start.
fn lower_window(text: &[u8], s: usize, window: usize) -> ([u8; WINDOW_MAX], usize) {
    let from = s.saturating_sub(window.min(WINDOW_MAX));
    let mut buf = [0u8; WINDOW_MAX];
    for (d, c) in buf.iter_mut().zip(&text[from..s]) {
        *d = c.to_ascii_lowercase();
    }
    (buf, from)
}

/// A word byte: a key name right after one is part of a longer name.
pub(super) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `text[s..e]` without its leading and trailing ASCII whitespace.
pub(super) fn trim(text: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && text[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && text[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
}
