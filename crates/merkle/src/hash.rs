//! The [`Hash`](struct@Hash) newtype and the RFC 6962 §2.1 hash construction.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
///
/// `Display` and `FromStr` use 64 hex characters (lowercase when printed); serde uses the same
/// hex string. [`Hash::to_base64`] gives the standard base64 form used by C2SP checkpoints.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// A byte slice that is not exactly 32 bytes long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("hash must be 32 bytes, got {len}")]
pub struct HashLenError {
    /// The length that was given.
    pub len: usize,
}

/// Text that is not a valid hex or base64 encoded [`Hash`](struct@Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    /// The hex form must be exactly 64 characters.
    #[error("hash hex must be 64 characters, got {len}")]
    HexLength {
        /// The number of characters given.
        len: usize,
    },
    /// A character outside `[0-9a-fA-F]`.
    #[error("invalid hex character {ch:?} at position {position} in hash")]
    HexCharacter {
        /// The offending character.
        ch: char,
        /// Its character position.
        position: usize,
    },
    /// The base64 text did not decode.
    #[error("invalid base64 hash: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The base64 text decoded to the wrong number of bytes.
    #[error(transparent)]
    Length(#[from] HashLenError),
}

impl Hash {
    /// All zero bytes. Not the hash of anything; useful as a placeholder in tests.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Copies a hash out of a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashLenError> {
        <[u8; 32]>::try_from(bytes).map(Hash).map_err(|_| HashLenError { len: bytes.len() })
    }

    /// Standard base64 with padding (44 characters), as in C2SP checkpoints.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard base64 with padding; the decoded value must be 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, ParseHashError> {
        let bytes = BASE64.decode(text)?;
        Ok(Hash::from_slice(&bytes)?)
    }

    /// 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// `SHA-256(0x00 ‖ data)`: the RFC 6962 hash of a leaf's bytes.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the RFC 6962 hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // One contiguous buffer lets SHA-256 run over two whole blocks without staging copies.
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// `SHA-256("")`: the root of the empty tree.
pub fn empty_root() -> Hash {
    // printf '' | sha256sum
    Hash([
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
        0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
        0xb8, 0x55,
    ])
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 64];
        // Encoding 32 bytes into a 64-byte buffer cannot fail, and hex output is ASCII.
        if hex::encode_to_slice(self.0, &mut buf).is_err() {
            return Err(fmt::Error);
        }
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Each byte's value as a hex digit, or 0xff.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

impl FromStr for Hash {
    type Err = ParseHashError;

    fn from_str(text: &str) -> Result<Hash, ParseHashError> {
        // A verifier parses two hashes per record, so this is on its hot path: a table lookup
        // per character, and the error worked out only when that fails.
        if let Ok(pairs) = <&[u8; 64]>::try_from(text.as_bytes()) {
            let mut out = [0u8; 32];
            let mut bad = 0u8;
            for (o, pair) in out.iter_mut().zip(pairs.chunks_exact(2)) {
                let (hi, lo) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
                bad |= hi | lo;
                *o = (hi << 4) | (lo & 0x0f);
            }
            if bad & 0xf0 == 0 {
                return Ok(Hash(out));
            }
        }
        if text.bytes().any(|b| !b.is_ascii_hexdigit())
            && let Some((position, ch)) =
                text.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(ParseHashError::HexCharacter { ch, position });
        }
        // Only ASCII remains, so the byte length is the character count.
        if text.len() != 64 {
            return Err(ParseHashError::HexLength { len: text.len() });
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|_| ParseHashError::HexLength { len: text.len() })?;
        Ok(Hash(out))
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }
}

impl From<Hash> for [u8; 32] {
    fn from(hash: Hash) -> [u8; 32] {
        hash.0
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        struct HexVisitor;

        impl serde::de::Visitor<'_> for HexVisitor {
            type Value = Hash;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hash as 64 hex characters")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Hash, E> {
                text.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(HexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_parse(text: &str, expect: Result<&str, &str>) {
        let got = text.parse::<Hash>().map(|h| h.to_string()).map_err(|e| e.to_string());
        assert_eq!(got.as_deref().map_err(String::as_str), expect, "parsing {text:?}");
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        // printf '' | sha256sum
        check_hash(
            empty_root(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
    }

    #[test]
    fn leaf_hash_of_empty_input() {
        // printf '\x00' | sha256sum
        check_hash(
            leaf_hash(b""),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        );
    }

    #[test]
    fn leaf_hash_of_one_zero_byte() {
        // printf '\x00\x00' | sha256sum
        check_hash(
            leaf_hash(&[0x00]),
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        );
    }

    #[test]
    fn node_hash_of_first_two_reference_leaves() {
        // (printf '\x01'; printf '\x00' | sha256sum | xxd -r -p;
        //  printf '\x00\x00' | sha256sum | xxd -r -p) | sha256sum
        let left = leaf_hash(b"");
        let right = leaf_hash(&[0x00]);
        check_hash(
            node_hash(&left, &right),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        );
    }

    fn check_hash(got: Hash, want: &str) {
        assert_eq!(got.to_string(), want);
    }

    #[test]
    fn parse_lowercase_hex() {
        let text = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        check_parse(text, Ok(text));
    }

    #[test]
    fn parse_uppercase_hex_prints_lowercase() {
        check_parse(
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            Ok("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        );
    }

    #[test]
    fn parse_rejects_short_hex() {
        check_parse("e3b0", Err("hash hex must be 64 characters, got 4"));
    }

    #[test]
    fn parse_rejects_long_hex() {
        check_parse(&"a".repeat(66), Err("hash hex must be 64 characters, got 66"));
    }

    #[test]
    fn parse_rejects_non_hex_character() {
        check_parse(
            "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            Err("invalid hex character 'g' at position 0 in hash"),
        );
    }

    #[test]
    fn parse_rejects_multibyte_character() {
        check_parse("é", Err("invalid hex character 'é' at position 0 in hash"));
    }

    #[test]
    fn base64_round_trip() {
        let h = leaf_hash(b"");
        // printf '\x00' | sha256sum | xxd -r -p | base64
        assert_eq!(h.to_base64(), "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
    }

    #[test]
    fn base64_rejects_wrong_length() {
        // printf "don't care 2" | base64
        let err = Hash::from_base64("ZG9uJ3QgY2FyZSAy").map_err(|e| e.to_string());
        assert_eq!(err, Err("hash must be 32 bytes, got 12".to_owned()));
    }

    #[test]
    fn base64_rejects_garbage() {
        assert!(matches!(Hash::from_base64("!!"), Err(ParseHashError::Base64(_))));
    }

    #[test]
    fn from_slice_checks_length() {
        assert_eq!(Hash::from_slice(&[7; 32]), Ok(Hash([7; 32])));
        assert_eq!(Hash::from_slice(&[7; 31]), Err(HashLenError { len: 31 }));
        assert_eq!(Hash::from_slice(&[]), Err(HashLenError { len: 0 }));
    }

    #[test]
    fn debug_shows_hex() {
        assert_eq!(format!("{:?}", Hash([0xab; 32])), format!("Hash({})", "ab".repeat(32)));
    }

    #[test]
    fn serde_uses_hex_string() {
        let h = leaf_hash(b"");
        let json = serde_json::to_string(&h).map_err(|e| e.to_string());
        assert_eq!(
            json.as_deref(),
            Ok("\"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d\"")
        );
        let back: Result<Hash, _> = serde_json::from_str(&json.unwrap_or_default());
        assert_eq!(back.ok(), Some(h));
        let bad: Result<Hash, _> = serde_json::from_str("\"abc\"");
        assert_eq!(
            bad.map_err(|e| e.to_string()),
            Err("hash hex must be 64 characters, got 3 at line 1 column 5".to_owned())
        );
    }

    #[test]
    fn ordering_is_bytewise() {
        let mut first_byte_high = [0u8; 32];
        first_byte_high[0] = 1;
        let mut last_byte_high = [0u8; 32];
        last_byte_high[31] = 0xff;
        assert!(Hash(last_byte_high) < Hash(first_byte_high));
        assert!(Hash::ZERO < Hash(last_byte_high));
    }
}
