//! Proof verification on arbitrary indices, sizes and hashes never panics, and never accepts a
//! proof for an index at or beyond the tree size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_merkle::{Hash, verify_consistency, verify_inclusion};

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 + 64 {
        return;
    }
    let a = u64::from_le_bytes(data[0..8].try_into().expect("8 bytes"));
    let b = u64::from_le_bytes(data[8..16].try_into().expect("8 bytes"));
    let h1 = Hash::from_slice(&data[16..48]).expect("32 bytes");
    let h2 = Hash::from_slice(&data[48..80]).expect("32 bytes");
    let proof: Vec<Hash> = data[80..].chunks_exact(32).map(|c| Hash::from_slice(c).expect("32 bytes")).collect();
    let ok = verify_inclusion(&h1, a, b, &proof, &h2).is_ok();
    assert!(!(ok && a >= b), "accepted index {a} in size {b}");
    let _ = verify_consistency(a, b, &proof, &h1, &h2);
});
