//! C2SP signed notes, Ed25519 keys in their text forms, and `tlog-checkpoint` tree heads.
//!
//! A note is UTF-8 text ending in `\n`, a blank line, then one or more signature lines
//! `— <key name> <base64(key id || signature)>`. Verifiers ignore signatures from keys they do not
//! know, reject the note if a known key's signature is bad, and require at least one good one.
//! Keys: `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>` for signers and
//! `<name>+<hex id>+<base64(type || public key)>` for verifiers, where the id is
//! `SHA-256(name || 0x0A || type || public key)[:4]`. Type 0x01 is a log's Ed25519 signature,
//! 0x04 a witness's Ed25519 `cosignature/v1` (the signature is `u64be timestamp || ed25519`),
//! 0x06 a witness's ML-DSA-44 cosignature (C2SP `tlog-cosignature`: `u64be timestamp ||
//! ml-dsa-44` over a binary `subtree/v1` message; verified here, never made).

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use trail_merkle::Hash;

/// Signature type byte of a plain Ed25519 note signature.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of an Ed25519 `cosignature/v1` (timestamped witness signature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Signature type byte of an ML-DSA-44 cosignature (timestamped `subtree/v1` signature).
pub const ALG_COSIGNATURE_MLDSA44: u8 = 0x06;
/// Bytes of an ML-DSA-44 public key (FIPS 204).
const MLDSA44_PUBLIC_KEY_LEN: usize = 1312;
/// The most signatures a note may carry (C2SP requires accepting at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Errors in keys, notes and checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    Key(String),
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("signature by {name} (key id {key_id:08x}) does not verify")]
    BadSignature { name: String, key_id: u32 },
    #[error("no signature by a known key (signed by: {signers})")]
    NoKnownSignature { signers: String },
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

/// A signing key with its name, able to sign notes.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    /// [`ALG_ED25519`] for a log's key, [`ALG_COSIGNATURE_V1`] for a witness's.
    alg: u8,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        write!(f, "NoteSigner({}+{:08x})", self.name, self.key_id)
    }
}

impl NoteSigner {
    /// Builds a signer from a 32-byte Ed25519 seed the caller generated.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, NoteError> {
        check_key_name(name)?;
        NoteSigner::with_alg(name, ALG_ED25519, seed)
    }

    /// Builds a witness's `cosignature/v1` signer from a 32-byte Ed25519 seed.
    pub fn cosigner_from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, NoteError> {
        NoteSigner::with_alg(name, ALG_COSIGNATURE_V1, seed)
    }

    fn with_alg(name: &str, alg: u8, seed: [u8; 32]) -> Result<NoteSigner, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, alg, key.verifying_key().as_bytes());
        Ok(NoteSigner { name: name.to_owned(), key_id, alg, key })
    }

    /// True for a witness's `cosignature/v1` key.
    pub fn is_cosigner(&self) -> bool {
        self.alg == ALG_COSIGNATURE_V1
    }

    /// A witness's cosignature of a note's `text` (a checkpoint body) at `timestamp` (POSIX
    /// seconds, never 0): `u64be timestamp || ed25519("cosignature/v1\ntime <t>\n" || text)`.
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        if !self.is_cosigner() {
            return Err(NoteError::Key(format!("{} is a log key, not a witness key", self.name)));
        }
        check_note_text(text)?;
        let message = format!("cosignature/v1\ntime {timestamp}\n{text}");
        let mut bytes = timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        Ok(NoteSignature { name: self.name.clone(), key_id: self.key_id, bytes })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The `PRIVATE+KEY+...` text form. Keep it secret.
    pub fn to_private_key_string(&self) -> String {
        let mut bytes = vec![self.alg];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.key_id, B64.encode(bytes))
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            alg: self.alg,
            key: VerifierKey::Ed25519(self.key.verifying_key()),
        }
    }

    /// Signs `text` (which must end in `\n`) and returns the signature line, without newline.
    /// A log key's signature (type 0x01).
    pub fn sign_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}", self.name, B64.encode(bytes))
    }

    /// Signs `text` as a complete note.
    pub fn sign(&self, text: &str) -> Result<Note, NoteError> {
        check_note_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut bytes = sig.to_bytes().to_vec();
        bytes.shrink_to_fit();
        Ok(Note {
            text: text.to_owned(),
            signatures: vec![NoteSignature { name: self.name.clone(), key_id: self.key_id, bytes }],
        })
    }
}

impl FromStr for NoteSigner {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let rest = s
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::Key("private key must start with PRIVATE+KEY+".into()))?;
        let (name, id, data) = split_key(rest)?;
        let bytes = B64
            .decode(data)
            .map_err(|e| NoteError::Key(format!("private key data is not base64: {e}")))?;
        let [alg @ (ALG_ED25519 | ALG_COSIGNATURE_V1), seed @ ..] = bytes.as_slice() else {
            return Err(NoteError::Key(
                "private key is not an Ed25519 key (type 0x01) or cosigner key (type 0x04)".into(),
            ));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::Key(format!("Ed25519 seed is {} bytes, not 32", seed.len())))?;
        let signer = NoteSigner::with_alg(name, *alg, seed)?;
        if signer.key_id != id {
            return Err(NoteError::Key(format!(
                "key id {id:08x} does not match the key (expected {:08x})",
                signer.key_id
            )));
        }
        Ok(signer)
    }
}

/// A public key that verifies notes (a log key) or cosignatures (a witness key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    alg: u8,
    key: VerifierKey,
}

/// The public key material of a [`NoteVerifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum VerifierKey {
    Ed25519(VerifyingKey),
    /// An encoded ML-DSA-44 public key, checked to decode when the verifier was built.
    MlDsa44(Box<[u8]>),
}

impl VerifierKey {
    fn bytes(&self) -> &[u8] {
        match self {
            VerifierKey::Ed25519(k) => k.as_bytes(),
            VerifierKey::MlDsa44(k) => k,
        }
    }
}

impl NoteVerifier {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// True for a witness's cosignature key (`cosignature/v1` or ML-DSA-44).
    pub fn is_cosigner(&self) -> bool {
        matches!(self.alg, ALG_COSIGNATURE_V1 | ALG_COSIGNATURE_MLDSA44)
    }

    /// The signature type byte.
    pub fn alg(&self) -> u8 {
        self.alg
    }

    fn verify(&self, text: &str, sig: &[u8]) -> bool {
        match (&self.key, self.alg) {
            (VerifierKey::Ed25519(key), ALG_ED25519) => Signature::from_slice(sig)
                .is_ok_and(|s| key.verify_strict(text.as_bytes(), &s).is_ok()),
            (VerifierKey::Ed25519(key), ALG_COSIGNATURE_V1) => {
                let Some((ts, sig)) = sig.split_first_chunk::<8>() else { return false };
                let message = format!("cosignature/v1\ntime {}\n{text}", u64::from_be_bytes(*ts));
                Signature::from_slice(sig)
                    .is_ok_and(|s| key.verify_strict(message.as_bytes(), &s).is_ok())
            }
            (VerifierKey::MlDsa44(key), _) => verify_mldsa44(&self.name, key, text, sig),
            _ => false,
        }
    }
}

/// An ML-DSA-44 cosignature (C2SP `tlog-cosignature`): `u64be timestamp || signature` over the
/// `subtree/v1` message of the whole checkpoint (start 0, end = its size), with an empty context.
fn verify_mldsa44(cosigner: &str, key: &[u8], text: &str, sig: &[u8]) -> bool {
    use ml_dsa::{EncodedVerifyingKey, MlDsa44, VerifyingKey as MlKey};
    let Some((ts, sig)) = sig.split_first_chunk::<8>() else { return false };
    let Ok(cp) = Checkpoint::parse_body(text) else { return false };
    let (Ok(cosigner_len), Ok(origin_len)) =
        (u8::try_from(cosigner.len()), u8::try_from(cp.origin.len()))
    else {
        return false;
    };
    let mut message = Vec::with_capacity(12 + 2 + cosigner.len() + cp.origin.len() + 56);
    message.extend_from_slice(b"subtree/v1\n\0");
    message.push(cosigner_len);
    message.extend_from_slice(cosigner.as_bytes());
    message.extend_from_slice(ts);
    message.push(origin_len);
    message.extend_from_slice(cp.origin.as_bytes());
    message.extend_from_slice(&0u64.to_be_bytes());
    message.extend_from_slice(&cp.size.to_be_bytes());
    message.extend_from_slice(cp.root.as_bytes());
    let (Ok(enc), Ok(sig)) = (
        EncodedVerifyingKey::<MlDsa44>::try_from(key),
        ml_dsa::Signature::<MlDsa44>::try_from(sig),
    ) else {
        return false;
    };
    MlKey::<MlDsa44>::decode(&enc).verify_with_context(&message, &[], &sig)
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = vec![self.alg];
        bytes.extend_from_slice(self.key.bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, B64.encode(bytes))
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, id, data) = split_key(s.trim())?;
        let bytes = B64
            .decode(data)
            .map_err(|e| NoteError::Key(format!("verifier key data is not base64: {e}")))?;
        let (alg, key) = match bytes.split_first() {
            Some((&alg @ (ALG_ED25519 | ALG_COSIGNATURE_V1 | ALG_COSIGNATURE_MLDSA44), key)) => {
                (alg, key)
            }
            Some((alg, _)) => {
                return Err(NoteError::Key(format!("unsupported key type 0x{alg:02x}")));
            }
            None => return Err(NoteError::Key("verifier key data is empty".into())),
        };
        let key = if alg == ALG_COSIGNATURE_MLDSA44 {
            if key.len() != MLDSA44_PUBLIC_KEY_LEN {
                return Err(NoteError::Key(format!(
                    "ML-DSA-44 key is {} bytes, not {MLDSA44_PUBLIC_KEY_LEN}",
                    key.len()
                )));
            }
            VerifierKey::MlDsa44(key.into())
        } else {
            let key: [u8; 32] = key.try_into().map_err(|_| {
                NoteError::Key(format!("Ed25519 key is {} bytes, not 32", key.len()))
            })?;
            VerifierKey::Ed25519(
                VerifyingKey::from_bytes(&key)
                    .map_err(|_| NoteError::Key("not a valid Ed25519 public key".into()))?,
            )
        };
        let expected = key_id(name, alg, key.bytes());
        if expected != id {
            return Err(NoteError::Key(format!(
                "key id {id:08x} does not match the key (expected {expected:08x})"
            )));
        }
        Ok(NoteVerifier { name: name.to_owned(), key_id: id, alg, key })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub bytes: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, `— <name> <base64(key id || signature)>`, without its newline.
    pub fn line(&self) -> String {
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.bytes);
        format!("\u{2014} {} {}", self.name, B64.encode(bytes))
    }
}

/// A signed note: text plus signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a note without verifying it.
    pub fn parse(s: &str) -> Result<Note, NoteError> {
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
        let text = &s[..=split];
        check_note_text(text)?;
        let sigs = &s[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed("signature block does not end in a newline".into()));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed(format!("more than {MAX_SIGNATURES} signatures")));
            }
            let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| {
                NoteError::Malformed(format!(
                    "signature line {:?} does not start with \"— \"",
                    short(line)
                ))
            })?;
            let (name, b64) = rest.split_once(' ').ok_or_else(|| {
                NoteError::Malformed(format!("signature line {:?} has no signature", short(line)))
            })?;
            check_key_name(name).map_err(|_| {
                NoteError::Malformed(format!("bad key name {:?} in signature line", short(name)))
            })?;
            let bytes = B64
                .decode(b64)
                .map_err(|_| NoteError::Malformed(format!("signature by {name} is not base64")))?;
            if bytes.len() < 5 {
                return Err(NoteError::Malformed(format!("signature by {name} is too short")));
            }
            let key_id = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id,
                bytes: bytes[4..].to_vec(),
            });
        }
        Ok(Note { text: text.to_owned(), signatures })
    }

    /// Checks the signatures against `verifiers`: every signature by a known key must verify and
    /// at least one must be present. Returns the verifiers that signed.
    pub fn verify<'a>(
        &self,
        verifiers: &'a [NoteVerifier],
    ) -> Result<Vec<&'a NoteVerifier>, NoteError> {
        let mut good = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers.iter().find(|v| v.name == sig.name && v.key_id == sig.key_id)
            else {
                continue;
            };
            if !v.verify(&self.text, &sig.bytes) {
                return Err(NoteError::BadSignature { name: sig.name.clone(), key_id: sig.key_id });
            }
            good.push(v);
        }
        if !good.iter().any(|v| !v.is_cosigner()) {
            let signers: Vec<String> =
                self.signatures.iter().map(|s| format!("{}+{:08x}", s.name, s.key_id)).collect();
            return Err(NoteError::NoKnownSignature { signers: signers.join(", ") });
        }
        Ok(good)
    }

    /// Adds a signature line (for example a witness's) to this note.
    pub fn push_signature(&mut self, sig: NoteSignature) {
        self.signatures.push(sig);
    }

    /// Adds the signatures of `others` this note does not carry yet (same key name and id: the
    /// newer one replaces the older, so a witness's latest cosignature is kept); returns how many
    /// were added or replaced.
    pub fn merge_signatures(&mut self, others: &[NoteSignature]) -> usize {
        let mut changed = 0;
        for sig in others {
            let room = self.signatures.len() < MAX_SIGNATURES;
            match self.signatures.iter_mut().find(|s| s.name == sig.name && s.key_id == sig.key_id)
            {
                Some(old) if old.bytes == sig.bytes => {}
                Some(old) => {
                    *old = sig.clone();
                    changed += 1;
                }
                None if room => {
                    self.signatures.push(sig.clone());
                    changed += 1;
                }
                None => {}
            }
        }
        changed
    }

    /// The witnesses among `witnesses` whose cosignature on this note verifies (each key at
    /// most once), with a timestamp from 1 to 2^63-1 as C2SP `tlog-cosignature` requires. A bad
    /// signature by a known key counts as none here; [`Note::verify`] reports it.
    pub fn cosigned_by<'a>(&self, witnesses: &'a [NoteVerifier]) -> Vec<&'a NoteVerifier> {
        let mut good: Vec<&NoteVerifier> = Vec::new();
        for sig in &self.signatures {
            if let Some(v) = witnesses
                .iter()
                .find(|v| v.is_cosigner() && v.name == sig.name && v.key_id == sig.key_id)
                && !good.contains(&v)
                && v.verify(&self.text, &sig.bytes)
                && cosignature_time(&sig.bytes).is_some_and(|t| t > 0 && t <= i64::MAX as u64)
            {
                good.push(v);
            }
        }
        good
    }

    /// Parses witness response lines (`— name base64`, each ending in a newline) as signatures.
    pub fn parse_signature_lines(lines: &str) -> Result<Vec<NoteSignature>, NoteError> {
        let note = Note::parse(&format!("x\n\n{lines}"))?;
        Ok(note.signatures)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            writeln!(f, "{}", sig.line())?;
        }
        Ok(())
    }
}

/// A tree head: origin, size and root hash (C2SP `tlog-checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text of this checkpoint.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64())
    }

    /// Parses a checkpoint body (extension lines are accepted and ignored).
    pub fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| NoteError::Checkpoint("first line (origin) is empty".into()))?;
        let size_line =
            lines.next().ok_or_else(|| NoteError::Checkpoint("no tree size line".into()))?;
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(NoteError::Checkpoint(format!(
                "tree size {:?} is not a decimal number without leading zeros",
                short(size_line)
            )));
        }
        let size = size_line.parse::<u64>().map_err(|_| {
            NoteError::Checkpoint(format!("tree size {size_line} does not fit in 64 bits"))
        })?;
        let root_line =
            lines.next().ok_or_else(|| NoteError::Checkpoint("no root hash line".into()))?;
        let root = Hash::from_base64(root_line).map_err(|_| {
            NoteError::Checkpoint(format!(
                "root {:?} is not a base64 32-byte hash",
                short(root_line)
            ))
        })?;
        // Extension lines may follow; like every line of a checkpoint they are never empty.
        let rest: Vec<&str> = lines.collect();
        if rest
            .split_last()
            .is_some_and(|(end, ext)| !end.is_empty() || ext.iter().any(|l| l.is_empty()))
        {
            return Err(NoteError::Checkpoint(
                "an empty line among the checkpoint's lines (extension lines are never empty)"
                    .into(),
            ));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }

    /// Signs this checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> SignedCheckpoint {
        let text = self.body();
        let sig = signer.key.sign(text.as_bytes());
        let note = Note {
            text,
            signatures: vec![NoteSignature {
                name: signer.name.clone(),
                key_id: signer.key_id,
                bytes: sig.to_bytes().to_vec(),
            }],
        };
        SignedCheckpoint { checkpoint: self.clone(), note }
    }
}

/// A checkpoint with its signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint without verifying its signatures.
    pub fn parse(text: &str) -> Result<SignedCheckpoint, NoteError> {
        let note = Note::parse(text)?;
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Parses and verifies a signed checkpoint; the origin must be a known log key's name.
    pub fn open(text: &str, verifiers: &[NoteVerifier]) -> Result<SignedCheckpoint, NoteError> {
        let signed = SignedCheckpoint::parse(text)?;
        signed.verify(verifiers)?;
        Ok(signed)
    }

    /// Verifies the signatures; at least one must be a log key named like the origin.
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<(), NoteError> {
        let signed_by = self.note.verify(verifiers)?;
        if !signed_by.iter().any(|v| !v.is_cosigner() && v.name == self.checkpoint.origin) {
            let names: Vec<&str> = signed_by.iter().map(|v| v.name()).collect();
            return Err(NoteError::WrongOrigin {
                expected: names.join(", "),
                found: self.checkpoint.origin.clone(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.note.fmt(f)
    }
}

/// The timestamp of a cosignature's bytes (after the key id), if it has one.
pub fn cosignature_time(bytes: &[u8]) -> Option<u64> {
    bytes.split_first_chunk::<8>().map(|(ts, _)| u64::from_be_bytes(*ts))
}

/// `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn split_key(s: &str) -> Result<(&str, u32, &str), NoteError> {
    // The name has no '+', but base64 data may: split from the left.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::Key("expected <name>+<hex key id>+<base64 key>".into()));
    };
    check_key_name(name)?;
    if id.len() != 8 {
        return Err(NoteError::Key(format!("key id {:?} is not 8 hex digits", short(id))));
    }
    let id = u32::from_str_radix(id, 16)
        .map_err(|_| NoteError::Key(format!("key id {:?} is not 8 hex digits", short(id))))?;
    Ok((name, id, data))
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains(['+', ' ']) || name.chars().any(char::is_control) {
        return Err(NoteError::Key(format!(
            "key name {:?} must be non-empty with no spaces, '+' or control characters",
            short(name)
        )));
    }
    Ok(())
}

fn check_note_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("note text does not end in a newline".into()));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("note text contains control characters".into()));
    }
    Ok(())
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}
