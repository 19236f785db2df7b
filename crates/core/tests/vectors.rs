//! The golden vectors in testdata/vectors: RFC 8785 (JCS) files and number samples, and C2SP notes.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::PathBuf;

use trail_core::jcs;
use trail_core::note::{Checkpoint, Note, NoteSigner, NoteVerifier, SignedCheckpoint};

fn vector(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors").join(rel);
    assert!(
        p.exists(),
        "vectors missing at {}: testdata/vectors belongs to the repository",
        p.display()
    );
    p
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(vector(rel)).unwrap()
}

#[test]
fn jcs_files() {
    let mut n = 0;
    for entry in std::fs::read_dir(vector("jcs/input")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let input: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expected = std::fs::read(vector(&format!("jcs/output/{name}"))).unwrap();
        let got = jcs::to_vec(&input).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected), "{name}");
        n += 1;
    }
    assert_eq!(n, 6, "expected six JCS vector files");
}

#[test]
fn jcs_numbers() {
    let text = read("jcs/numbers.txt");
    let mut n = 0;
    for line in text.lines() {
        let (hex, expected) = line.split_once(',').unwrap();
        let bits = u64::from_str_radix(hex, 16).unwrap();
        let value = f64::from_bits(bits);
        assert_eq!(jcs::format_f64(value), expected, "ieee {hex}");
        // Through serde_json too, as numbers arrive in events.
        if let Some(num) = serde_json::Number::from_f64(value) {
            let parsed: serde_json::Value = serde_json::from_str(&num.to_string()).unwrap();
            if parsed.is_f64() {
                assert_eq!(
                    String::from_utf8(jcs::to_vec(&parsed).unwrap()).unwrap(),
                    expected,
                    "parsed {hex}"
                );
            }
        }
        n += 1;
    }
    assert!(n > 25_000, "numbers.txt has {n} lines");
}

fn c2sp() -> serde_json::Value {
    serde_json::from_str(&read("c2sp/c2sp_vectors.json")).unwrap()
}

#[test]
fn signed_note_spec_example_verifies() {
    let v = c2sp();
    let ex = &v["signed_note_spec_example"];
    let vkey: NoteVerifier = ex["vkey"].as_str().unwrap().parse().unwrap();
    assert_eq!(format!("{:08x}", vkey.key_id()), ex["key_id_hex"].as_str().unwrap());
    let note = Note::parse(ex["note"].as_str().unwrap()).unwrap();
    assert_eq!(note.text, ex["signed_text"].as_str().unwrap());
    assert_eq!(note.verify(std::slice::from_ref(&vkey)).unwrap().len(), 1);
    assert_eq!(note.to_string(), ex["note"].as_str().unwrap());
    // One changed character in the text is caught.
    let tampered = ex["note"].as_str().unwrap().replace("example message", "example massage");
    let err = Note::parse(&tampered).unwrap().verify(&[vkey]).unwrap_err();
    assert_eq!(err.to_string(), "signature by example.com/foo (key id 530d903a) does not verify");
}

#[test]
fn checkpoint_spec_example_parses() {
    let v = c2sp();
    let ex = &v["checkpoint_spec_example"];
    let signed = SignedCheckpoint::parse(ex["note"].as_str().unwrap()).unwrap();
    assert_eq!(signed.checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(signed.checkpoint.size, 20_852_163);
    assert_eq!(signed.checkpoint.root.to_base64(), ex["root_hash_b64"].as_str().unwrap());
    let ids: Vec<String> =
        signed.note.signatures.iter().map(|s| format!("{:08x}", s.key_id)).collect();
    assert_eq!(ids, ["033de0ae", "8d66cf3f"]);
    // The witness cosignature is timestamp(8) || ed25519(64).
    assert_eq!(signed.note.signatures[1].bytes.len(), 72);
    assert_eq!(
        u64::from_be_bytes(signed.note.signatures[1].bytes[..8].try_into().unwrap()),
        1_679_315_147
    );
    // Unknown keys only: no known signature.
    let other = NoteSigner::from_seed("example.com/behind-the-sofa", [1; 32]).unwrap().verifier();
    assert!(signed.verify(&[other]).is_err());
}

#[test]
fn generated_checkpoint_with_cosignature() {
    let v = c2sp();
    let ex = &v["generated_checkpoint_with_cosignature"];
    let seed: [u8; 32] =
        hex::decode(ex["log_private_seed_hex"].as_str().unwrap()).unwrap().try_into().unwrap();
    let signer = NoteSigner::from_seed("example.com/agent-audit-test", seed).unwrap();
    assert_eq!(signer.verifier().to_string(), ex["log_vkey"].as_str().unwrap());
    let log_key: NoteVerifier = ex["log_vkey"].as_str().unwrap().parse().unwrap();
    let witness: NoteVerifier = ex["witness_vkey_sigtype_0x04"].as_str().unwrap().parse().unwrap();
    assert!(witness.is_cosigner());
    let text = ex["signed_checkpoint"].as_str().unwrap();
    let signed = SignedCheckpoint::parse(text).unwrap();
    // Our signer produces the same log signature (Ed25519 is deterministic).
    let ours = signed.checkpoint.sign(&signer);
    assert_eq!(ours.note.signatures[0], signed.note.signatures[0]);
    assert_eq!(signed.checkpoint.body(), ex["checkpoint_body"].as_str().unwrap());
    // Both the log signature and the witness cosignature verify.
    assert_eq!(signed.note.verify(&[log_key.clone(), witness.clone()]).unwrap().len(), 2);
    signed.verify(std::slice::from_ref(&log_key)).unwrap();
    // A witness alone is not enough: the log must have signed.
    assert!(signed.verify(std::slice::from_ref(&witness)).is_err());
    // A flipped character in the root is caught by both.
    let tampered = text.replacen("XcnaeacG", "XcnaeacH", 1);
    assert!(SignedCheckpoint::open(&tampered, &[log_key]).is_err());
    // The reference root is the RFC 6962 root of the reference tree.
    assert_eq!(
        signed.checkpoint.root.to_string(),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    let again = Checkpoint::parse_body(&signed.checkpoint.body()).unwrap();
    assert_eq!(again, signed.checkpoint);
}

#[test]
fn private_key_text_round_trips() {
    let signer = NoteSigner::from_seed("trail.test/log", [42; 32]).unwrap();
    let text = signer.to_private_key_string();
    assert!(text.starts_with("PRIVATE+KEY+trail.test/log+"));
    let back: NoteSigner = text.parse().unwrap();
    assert_eq!(back.verifier(), signer.verifier());
    // A key id that does not match the key is refused.
    let id = format!("+{:08x}+", signer.key_id());
    let bad = text.replace(&id, "+00000000+");
    assert_eq!(
        bad.parse::<NoteSigner>().unwrap_err().to_string(),
        format!(
            "malformed key: key id 00000000 does not match the key (expected {:08x})",
            signer.key_id()
        )
    );
    // A vkey with a different type byte is refused.
    let vkey = signer.verifier().to_string();
    let mut parts = vkey.splitn(3, '+');
    let head = format!("{}+{}", parts.next().unwrap(), parts.next().unwrap());
    let data = parts.next().unwrap();
    use base64::Engine;
    let mut raw = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
    raw[0] = 0x03;
    let other = format!("{head}+{}", base64::engine::general_purpose::STANDARD.encode(raw));
    assert_eq!(
        other.parse::<NoteVerifier>().unwrap_err().to_string(),
        "malformed key: unsupported key type 0x03"
    );
}

#[test]
fn cosigner_reproduces_the_generated_cosignature() {
    let v = c2sp();
    let ex = &v["generated_checkpoint_with_cosignature"];
    let seed: [u8; 32] =
        hex::decode(ex["witness_private_seed_hex"].as_str().unwrap()).unwrap().try_into().unwrap();
    let witness = NoteSigner::cosigner_from_seed("witness.example.com/test", seed).unwrap();
    assert_eq!(witness.verifier().to_string(), ex["witness_vkey_sigtype_0x04"].as_str().unwrap());
    let signed = SignedCheckpoint::parse(ex["signed_checkpoint"].as_str().unwrap()).unwrap();
    let ours = witness.cosign(&signed.note.text, ex["cosignature_timestamp"].as_u64().unwrap());
    // Ed25519 is deterministic: the same timestamp gives the vector's own cosignature bytes.
    assert_eq!(ours.unwrap(), signed.note.signatures[1]);
    // The private key's text form round-trips as a cosigner, and a log key cannot cosign.
    let again: NoteSigner = witness.to_private_key_string().parse().unwrap();
    assert!(again.is_cosigner());
    let log = NoteSigner::from_seed("example.com/agent-audit-test", seed).unwrap();
    assert!(log.cosign(&signed.note.text, 1).is_err());
    // cosigned_by counts the witness once, and not under a log key of the same bytes.
    let w = witness.verifier();
    assert_eq!(signed.note.cosigned_by(std::slice::from_ref(&w)), vec![&w]);
    assert!(signed.note.cosigned_by(&[log.verifier()]).is_empty());
}

/// An ML-DSA-44 cosignature made by dilithium-py (testdata/vectors/mldsa), an implementation of
/// FIPS 204 that trail does not use.
#[test]
fn mldsa44_cosignature_from_another_implementation() {
    let v: serde_json::Value =
        serde_json::from_str(&read("mldsa/mldsa44_cosignature.json")).unwrap();
    let key: NoteVerifier = v["cosigner_vkey"].as_str().unwrap().parse().unwrap();
    assert!(key.is_cosigner());
    assert_eq!(key.alg(), 0x06);
    assert_eq!(key.to_string(), v["cosigner_vkey"].as_str().unwrap());
    let line = format!("{}\n", v["cosignature_line"].as_str().unwrap());
    let sigs = Note::parse_signature_lines(&line).unwrap();
    let note = |body: &str| Note { text: body.to_owned(), signatures: sigs.clone() };
    let good = note(v["checkpoint_body"].as_str().unwrap());
    assert_eq!(good.cosigned_by(std::slice::from_ref(&key)), vec![&key]);
    // Another size, a changed root, a changed timestamp: none verifies.
    assert!(
        note(v["other_size_body"].as_str().unwrap())
            .cosigned_by(std::slice::from_ref(&key))
            .is_empty()
    );
    let root = v["checkpoint_body"].as_str().unwrap().replacen("CsUY", "CsUZ", 1);
    assert!(note(&root).cosigned_by(std::slice::from_ref(&key)).is_empty());
    let mut later = good.clone();
    later.signatures[0].bytes[7] ^= 1;
    assert!(later.cosigned_by(std::slice::from_ref(&key)).is_empty());
    // A bad signature by a known key makes the note malformed.
    assert!(matches!(later.verify(&[key]), Err(trail_core::note::NoteError::BadSignature { .. })));
}

/// C2SP: every line of a checkpoint is non-empty (extension lines too), and a cosignature's
/// timestamp is from 1 to 2^63-1.
#[test]
fn checkpoint_lines_and_cosignature_times_as_the_specs_say() {
    let body = "example.com/log\n3\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n";
    assert!(Checkpoint::parse_body(&format!("{body}ext one\n")).is_ok());
    assert!(Checkpoint::parse_body(&format!("{body}\next\n")).is_err());
    assert!(Checkpoint::parse_body(&format!("{body}ext\n\n")).is_err());
    let w = NoteSigner::cosigner_from_seed("witness.example/w", [5; 32]).unwrap();
    let key = [w.verifier()];
    let note =
        |t: u64| Note { text: body.to_owned(), signatures: vec![w.cosign(body, t).unwrap()] };
    assert_eq!(note(1).cosigned_by(&key).len(), 1);
    assert_eq!(note(i64::MAX as u64).cosigned_by(&key).len(), 1);
    assert!(note(0).cosigned_by(&key).is_empty());
    assert!(note(i64::MAX as u64 + 8).cosigned_by(&key).is_empty());
}
