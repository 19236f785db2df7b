//! Crypto wallet addresses: Bitcoin (base58check, bech32) by checksum, Ethereum by hex shape.

use crate::bytes::{self, is};
use crate::kind::Kind;
use crate::validate;

/// A wallet address that is the whole word `text[s..e]`.
pub(super) fn at_word(
    text: &[u8],
    s: usize,
    e: usize,
    push: &mut impl FnMut(Kind, usize, usize, f32),
) {
    let w = &text[s..e];
    let n = w.len();
    if (26..=35).contains(&n)
        && matches!(w[0], b'1' | b'3')
        && w.iter().all(|&c| is(c, bytes::ALNUM) && !matches!(c, b'0' | b'O' | b'I' | b'l'))
        && validate::base58check(w)
    {
        push(Kind::CryptoWallet, s, e, 0.95);
    }
    if (14..=74).contains(&n)
        && w.starts_with(b"bc1")
        && w[3..].iter().all(|c| BECH32.contains(c))
        && validate::bech32(w)
    {
        push(Kind::CryptoWallet, s, e, 0.95);
    }
    if n == 42 && w.starts_with(b"0x") && w[2..].iter().all(|&c| is(c, bytes::HEX)) {
        push(Kind::CryptoWallet, s, e, 0.85);
    }
}

/// The bech32 data alphabet (BIP-173), lowercase.
const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
