//! The one pass over a text's words: word-shaped values are checked on the spot, and the
//! runs the number, hex and base64 shapes live in are grown once each.

use super::{Detectors, secrets, wallets};
use crate::bytes::{self, class, is};
use crate::kind::Kind;

impl Detectors {
    /// One pass over the alphanumeric words of `text`. Crypto addresses, Spanish DNI/NIE,
    /// IBAN and UK NINO start at a word boundary, so only word starts with the right
    /// first bytes are looked at further. The runs other shapes live in (digits and number
    /// separators, hex and address separators, base64) are grown from the words that can
    /// start them, once per run, and returned or checked on the spot.
    pub(super) fn sweep(
        &self,
        text: &[u8],
        push: &mut impl FnMut(Kind, usize, usize, f32),
    ) -> Sweep {
        let mut sw = Sweep {
            nums: Vec::new(),
            max_digits: 0,
            dotted: Vec::new(),
            short_numbers: Vec::new(),
        };
        let n = text.len();
        let (mut num_end, mut hex_end, mut b64_end) = (0, 0, 0);
        let mut i = 0;
        while i < n {
            if !is(text[i], bytes::ALNUM) {
                i += 1;
                continue;
            }
            let s = i;
            let mut all = 0xffu8;
            while i < n {
                let k = class(text[i]);
                if k & bytes::ALNUM == 0 {
                    break;
                }
                all &= k;
                i += 1;
            }
            let e = i;
            let (first_digit, last_digit) =
                (is(text[s], bytes::DIGIT), is(text[e - 1], bytes::DIGIT));
            // A short number ("12", "221b"): where a street's house number may stand.
            if first_digit {
                let d = text[s..e].iter().take_while(|c| c.is_ascii_digit()).count();
                if d <= 5 && e - s <= d + 1 {
                    sw.short_numbers.push(s);
                }
            }
            // A word inside the numeric run grown last is part of it already: growing the run
            // again from every word of a long line of numbers took time quadratic in its length
            // (500 KB of "1 " took 31 s).
            if (first_digit || last_digit) && s >= num_end {
                // The word's digits at either edge may continue over number separators.
                let from = if last_digit { e } else { s };
                let mut a = from;
                while a > num_end && is(text[a - 1], bytes::DIGIT | bytes::NUMSEP) {
                    a -= 1;
                }
                let mut z = if last_digit { e } else { s + 1 };
                while z < n && is(text[z], bytes::DIGIT | bytes::NUMSEP) {
                    z += 1;
                }
                while a < z && !(is(text[a], bytes::DIGIT) || text[a] == b'+' || text[a] == b'(') {
                    a += 1;
                }
                if a >= num_end && a < z {
                    num_end = z;
                    numeric_run(text, a, z, &mut sw);
                }
            }
            if all & bytes::HEX != 0
                && e > hex_end
                && (text.get(e).is_some_and(|&c| is(c, bytes::HEXSEP))
                    || s > 0 && is(text[s - 1], bytes::HEXSEP))
            {
                let mut a = s;
                while a > hex_end && is(text[a - 1], bytes::HEX | bytes::HEXSEP) {
                    a -= 1;
                }
                let mut z = e;
                while z < n && is(text[z], bytes::HEX | bytes::HEXSEP) {
                    z += 1;
                }
                hex_end = z;
                self.network.hex_run(text, a, z, push);
            }
            if e > b64_end
                && (e - s == 40
                    || text.get(e).is_some_and(|&c| is(c, bytes::B64X))
                    || s > 0 && is(text[s - 1], bytes::B64X))
            {
                let mut a = s;
                while a > b64_end && is(text[a - 1], bytes::ALNUM | bytes::B64X) {
                    a -= 1;
                }
                let mut z = e;
                while z < n && is(text[z], bytes::ALNUM | bytes::B64X) {
                    z += 1;
                }
                b64_end = z;
                secrets::bare_aws_secret(text, a, z, push);
            }
            self.numbers.at_word(text, s, e, push);
            wallets::at_word(text, s, e, push);
        }
        sw
    }
}

/// A regex match translated to absolute offsets.
#[derive(Clone, Copy)]
pub(super) struct Hit {
    pub(super) s: usize,
    pub(super) e: usize,
}

impl Hit {
    pub(super) fn start(self) -> usize {
        self.s
    }
    pub(super) fn end(self) -> usize {
        self.e
    }
}

/// What [`Detectors::sweep`] found besides direct findings.
pub(super) struct Sweep {
    /// Maximal runs of digits and number separators holding at least 8 digits, except
    /// bare ISO dates: the only places a card, SSN, phone or numeric national ID can be.
    pub(super) nums: Vec<(usize, usize, usize)>,
    /// The most digits in one such run (dates and short runs included).
    pub(super) max_digits: usize,
    /// Maximal runs of digits and dots with at least three dots: IPv4 candidates.
    pub(super) dotted: Vec<(usize, usize)>,
    /// Where words of up to five digits (and one letter after them) start: house numbers.
    pub(super) short_numbers: Vec<usize>,
}

/// Records the numeric run `text[st..end]` (it starts with a digit, `+` or `(`).
fn numeric_run(text: &[u8], st: usize, end: usize, sw: &mut Sweep) {
    let run = &text[st..end];
    let digits = run.iter().filter(|&&c| is(c, bytes::DIGIT)).count();
    sw.max_digits = sw.max_digits.max(digits);
    let date = run.len() >= 10
        && run[4] == b'-'
        && run[7] == b'-'
        && run[..10].iter().enumerate().all(|(k, c)| k == 4 || k == 7 || c.is_ascii_digit())
        && run[10..].iter().all(|c| !c.is_ascii_digit());
    if digits >= 8 && !date {
        sw.nums.push((st, end, digits));
    }
    if run.iter().filter(|&&c| c == b'.').count() >= 3 {
        for (a, z) in bytes::runs_where(run, |c| c.is_ascii_digit() || c == b'.') {
            if z - a >= 7 && run[a..z].iter().filter(|&&c| c == b'.').count() >= 3 {
                sw.dotted.push((st + a, st + z));
            }
        }
    }
}

/// Matches of `at` inside the runs with at least `min` digits, as absolute offsets.
///
/// `at(run, i)` is the end of the match anchored at `i`, if any; trying every start in
/// order and resuming after each match is how `find_iter` walks a leftmost-first regex,
/// so the hand-written shapes of `numbers` and `phones` find exactly what their regexes did, without a regex
/// call (and its per-call setup) per run.
pub(super) fn in_runs<'a>(
    at: ShapeAt,
    text: &'a [u8],
    runs: &'a [(usize, usize, usize)],
    min: usize,
) -> impl Iterator<Item = Hit> + 'a {
    runs.iter().filter(move |r| r.2 >= min).flat_map(move |&(s, e, _)| {
        let run = &text[s..e];
        let mut i = 0;
        std::iter::from_fn(move || {
            while i < run.len() {
                if let Some(end) = at(run, i) {
                    let hit = Hit { s: s + i, e: s + end };
                    i = end;
                    return Some(hit);
                }
                i += 1;
            }
            None
        })
    })
}

/// A hand-written shape anchored at an index: the end of its match there, if any.
pub(super) type ShapeAt = fn(&[u8], usize) -> Option<usize>;
