//! Byte-class tables and the small search helpers every detector shares.
//!
//! The scanner's hot loops walk the text once per shape family (alphanumeric words,
//! numeric runs, hex runs); a 256-entry table turns each "is this byte in the class"
//! test into one load and one mask, instead of a chain of comparisons or a
//! `slice::contains` per byte.

/// ASCII digit.
pub(crate) const DIGIT: u8 = 1;
/// ASCII uppercase letter.
pub(crate) const UPPER: u8 = 1 << 1;
/// ASCII lowercase letter.
pub(crate) const LOWER: u8 = 1 << 2;
/// Hex digit (either case).
pub(crate) const HEX: u8 = 1 << 3;
/// Separator inside a number (` .-()/+`): phones, cards, SSNs, IBAN groups.
pub(crate) const NUMSEP: u8 = 1 << 4;
/// The two non-alphanumeric bytes of standard base64 (`+` and `/`).
pub(crate) const B64X: u8 = 1 << 5;
/// Separators of MAC and IPv6 addresses (`:` `-` `.`).
pub(crate) const HEXSEP: u8 = 1 << 6;

/// ASCII letters and digits.
pub(crate) const ALNUM: u8 = DIGIT | UPPER | LOWER;

/// Class bits of every byte value.
pub(crate) static CLASS: [u8; 256] = build();

const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut v = 0;
        if c.is_ascii_digit() {
            v |= DIGIT | HEX;
        }
        if c.is_ascii_uppercase() {
            v |= UPPER;
        }
        if c.is_ascii_lowercase() {
            v |= LOWER;
        }
        if matches!(c, b'a'..=b'f' | b'A'..=b'F') {
            v |= HEX;
        }
        if matches!(c, b' ' | b'.' | b'-' | b'(' | b')' | b'/' | b'+') {
            v |= NUMSEP;
        }
        if matches!(c, b'+' | b'/') {
            v |= B64X;
        }
        if matches!(c, b':' | b'-' | b'.') {
            v |= HEXSEP;
        }
        t[i] = v;
        i += 1;
    }
    t
}

/// The class bits of `c`.
#[inline]
pub(crate) fn class(c: u8) -> u8 {
    CLASS[usize::from(c)]
}

/// `c` has one of the `mask` bits.
#[inline]
pub(crate) fn is(c: u8, mask: u8) -> bool {
    CLASS[usize::from(c)] & mask != 0
}

/// First occurrence of `n` in `h`. Texts shorter than [`SHORT`] are searched by their first byte
/// (SIMD `memchr`) and a compare: `memmem::find` builds a searcher on every call, which cost more
/// than the search on the short strings of JSON bodies (a sixth of a scan of a 30-byte command).
pub(crate) fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if h.len() >= SHORT {
        return memchr::memmem::find(h, n);
    }
    let Some((&first, rest)) = n.split_first() else { return Some(0) };
    let mut at = 0;
    while let Some(k) = memchr::memchr(first, &h[at..]) {
        let s = at + k;
        if h[s + 1..].starts_with(rest) {
            return Some(s);
        }
        at = s + 1;
    }
    None
}

/// Below this length [`find`] searches by hand.
const SHORT: usize = 256;

/// `n` occurs in `h`.
pub(crate) fn contains(h: &[u8], n: &[u8]) -> bool {
    find(h, n).is_some()
}

/// Maximal runs of bytes for which `f` holds, as `(start, end)`.
pub(crate) fn runs_where<'a>(
    text: &'a [u8],
    f: impl Fn(u8) -> bool + 'a,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < text.len() && !f(text[i]) {
            i += 1;
        }
        if i >= text.len() {
            return None;
        }
        let s = i;
        while i < text.len() && f(text[i]) {
            i += 1;
        }
        Some((s, i))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_matches_naive_search() {
        let short = b"the quick brown fox jumps over the lazy dog".to_vec();
        let long = [short.repeat(8), b"cat".to_vec()].concat();
        for h in [&short[..], &long[..], b"", b"aab", b"ab"] {
            for n in
                [&b"fox"[..], b"the", b"dog", b"t", b"lazy dog", b"cat", b"", b"gx", b"ab", b"aab"]
            {
                let naive =
                    if n.is_empty() { Some(0) } else { h.windows(n.len()).position(|w| w == n) };
                assert_eq!(find(h, n), naive, "{:?} in {} bytes", std::str::from_utf8(n), h.len());
            }
        }
    }

    #[test]
    fn runs_are_maximal() {
        let got: Vec<_> = runs_where(b"ab 12-34 x", |c| is(c, ALNUM)).collect();
        assert_eq!(got, vec![(0, 2), (3, 5), (6, 8), (9, 10)]);
        assert!(is(b'/', B64X) && is(b'7', HEX) && !is(b'g', HEX) && is(b'(', NUMSEP));
        assert_eq!(class(b'F'), UPPER | HEX);
    }
}
