//! Signed notes and checkpoints: parsing never panics, a parsed note prints back to what was
//! parsed, and verification against a fixed key never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::note::{Note, NoteSigner, NoteVerifier, SignedCheckpoint};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(note) = Note::parse(text) {
        let again = Note::parse(&note.to_string()).expect("a printed note parses");
        assert_eq!(again, note);
        let key = NoteSigner::from_seed("fuzz.trail/log", [1; 32]).expect("key").verifier();
        let _ = note.verify(&[key]);
    }
    if let Ok(cp) = SignedCheckpoint::parse(text) {
        let _ = cp.checkpoint.body();
    }
    let _ = text.parse::<NoteVerifier>();
    let _ = text.parse::<NoteSigner>();
});
