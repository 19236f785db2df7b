//! Text as it reads: invisible format characters, terminal colour codes and shell line
//! continuations taken out before detection, with a map back to the original offsets. A
//! zero-width space inside a key, ANSI colour codes around a token in captured terminal output,
//! or a key split over two lines with `\` would otherwise hide it (or leave half in clear).

/// `text` without invisible characters and ANSI CSI sequences, and for each byte kept its
/// offset in `text`; None when there is nothing to take out (the common case, one pass).
pub(crate) fn visible(text: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    let first = first_invisible(text, 0)?;
    let mut out = Vec::with_capacity(text.len());
    let mut at = Vec::with_capacity(text.len());
    out.extend_from_slice(&text[..first]);
    at.extend(0..first);
    let mut i = first;
    while i < text.len() {
        let skip = invisible_len(text, i);
        if skip > 0 {
            i += skip;
        } else {
            out.push(text[i]);
            at.push(i);
            i += 1;
        }
    }
    Some((out, at))
}

/// The span `[s, e)` of the visible text in the original.
pub(crate) fn original(at: &[usize], s: usize, e: usize) -> (usize, usize) {
    if s >= e || e > at.len() {
        return (s, e);
    }
    (at[s], at[e - 1] + 1)
}

fn first_invisible(text: &[u8], from: usize) -> Option<usize> {
    // A byte-order mark (EF BB BF) is looked for on its own: memchr3 takes three bytes.
    let bom = crate::bytes::find(&text[from..], "\u{feff}".as_bytes()).map(|k| from + k);
    let mut i = from;
    let mut other = None;
    // A backslash before a line break (a shell's line continuation).
    let continuation = crate::bytes::find(&text[from..], b"\\\n").map(|k| from + k);
    let bom = match (bom, continuation) {
        (Some(b), Some(c)) => Some(b.min(c)),
        (b, c) => b.or(c),
    };
    while let Some(k) = memchr::memchr3(0x1b, 0xe2, 0xc2, &text[i..]).map(|k| i + k) {
        if bom.is_some_and(|b| b < k) {
            break;
        }
        if invisible_len(text, k) > 0 {
            other = Some(k);
            break;
        }
        i = k + 1;
    }
    match (bom, other) {
        (Some(b), Some(o)) => Some(b.min(o)),
        (b, o) => b.or(o),
    }
}

/// How many bytes at `i` are invisible: U+200B-U+200D, U+2060, U+FEFF, U+00AD, an ANSI CSI
/// sequence (`ESC [ params intermediates final`), or `\` and a line break; 0 otherwise.
fn invisible_len(text: &[u8], i: usize) -> usize {
    match text[i..] {
        [b'\\', b'\n', ..] => 2,
        [b'\\', b'\r', b'\n', ..] => 3,
        [0xe2, 0x80, 0x8b..=0x8d, ..] | [0xe2, 0x81, 0xa0, ..] | [0xef, 0xbb, 0xbf, ..] => 3,
        [0xc2, 0xad, ..] => 2,
        [0x1b, b'[', ..] => {
            let mut j = i + 2;
            while j < text.len() && (0x20..=0x3f).contains(&text[j]) {
                j += 1;
            }
            if j < text.len() && (0x40..=0x7e).contains(&text[j]) { j + 1 - i } else { 0 }
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_back_over_what_it_takes_out() {
        let t = "ab\u{200b}cd\x1b[32mef\x1b[0m";
        let (v, at) = visible(t.as_bytes()).unwrap();
        assert_eq!(v, b"abcdef");
        let (s, e) = original(&at, 1, 5);
        assert_eq!(&t[s..e], "b\u{200b}cd\x1b[32me");
        assert!(visible(b"plain text, \xc3\xa9 and \xe2\x82\xac").is_none());
        let (v, _) = visible("\u{feff}x\u{200b}y".as_bytes()).unwrap();
        assert_eq!(v, b"xy");
        let (v, _) = visible(b"a\\\nb \\ c").unwrap();
        assert_eq!(v, b"ab \\ c");
    }
}
