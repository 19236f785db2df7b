//! Throughput of the hot paths: leaf hashing, appending, proof generation and verification.
//!
//! `cargo bench -p trail-merkle -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trail_merkle::{
    CompactRange, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, node_hash, root,
    verify_consistency, verify_inclusion,
};

const TREE_SIZE: u64 = 1 << 20;

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    let event = [0x5a_u8; 300];
    group.throughput(Throughput::Elements(1));
    group.bench_function("leaf_hash/300B", |b| b.iter(|| leaf_hash(black_box(&event))));
    let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
    group.bench_function("node_hash", |b| b.iter(|| node_hash(black_box(&l), black_box(&r))));
    group.finish();
}

fn appending(c: &mut Criterion) {
    let mut group = c.benchmark_group("compact_range");
    group.throughput(Throughput::Elements(1));
    let leaf = leaf_hash(b"event");
    let mut range = CompactRange::new();
    group.bench_function("append", |b| {
        b.iter(|| {
            let completed = range.append(black_box(leaf));
            black_box(completed.len());
        })
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let tree = MemoryTree::from_leaves((0..TREE_SIZE).map(|i| leaf_hash(&i.to_le_bytes())));
    let tree_root = root(&tree, TREE_SIZE).expect("root of a full tree");
    let mut group = c.benchmark_group("proof_1M");
    group.throughput(Throughput::Elements(1));

    let mut next = indices();
    group.bench_function("inclusion_proof", |b| {
        b.iter(|| inclusion_proof(&tree, next() % TREE_SIZE, TREE_SIZE).expect("proof"))
    });

    let index: u64 = 777_777;
    let leaf = leaf_hash(&index.to_le_bytes());
    let proof = inclusion_proof(&tree, index, TREE_SIZE).expect("proof");
    group.bench_function("verify_inclusion", |b| {
        b.iter(|| verify_inclusion(&leaf, black_box(index), TREE_SIZE, &proof, &tree_root))
    });

    let mut next = indices();
    group.bench_function("consistency_proof", |b| {
        b.iter(|| consistency_proof(&tree, 1 + next() % TREE_SIZE, TREE_SIZE).expect("proof"))
    });

    let size1 = 654_321;
    let root1 = root(&tree, size1).expect("root");
    let proof = consistency_proof(&tree, size1, TREE_SIZE).expect("proof");
    group.bench_function("verify_consistency", |b| {
        b.iter(|| verify_consistency(black_box(size1), TREE_SIZE, &proof, &root1, &tree_root))
    });

    group.bench_function("root", |b| {
        b.iter(|| root(&tree, black_box(TREE_SIZE - 12_345)).expect("root"))
    });
    group.finish();
}

/// A fixed pseudo-random sequence (an LCG), so runs are comparable and need no RNG crate.
fn indices() -> impl FnMut() -> u64 {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 11
    }
}

criterion_group!(benches, hashing, appending, proofs);
criterion_main!(benches);
