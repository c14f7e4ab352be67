//! Digest speed: the memoization hit path (small values) and large numeric buffers.

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use serde::Serialize;

fn main() {
    divan::main();
}

/// Digest of one small integer: the cost paid on every cache lookup for such an argument.
#[divan::bench]
fn small_i64() -> fleche::Digest {
    fleche::digest(black_box(&42i64))
}

/// Digest of a short float vector.
#[divan::bench]
fn vec_f64_100(bencher: Bencher<'_, '_>) {
    let v: Vec<f64> = (0..100).map(|i| f64::from(i) * 0.5).collect();
    bencher
        .counter(BytesCount::of_slice(&v))
        .bench(|| fleche::digest(black_box(&v)));
}

/// Digest of a 100 MB float vector: should run near BLAKE3's own speed.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn vec_f64_100mb(bencher: Bencher<'_, '_>) {
    let v: Vec<f64> = (0..100_000_000 / 8).map(|i| f64::from(i) * 0.5).collect();
    bencher
        .counter(BytesCount::of_slice(&v))
        .bench(|| fleche::digest(black_box(&v)));
}

/// BLAKE3 alone over the same 100 MB, for comparison.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn blake3_100mb_reference(bencher: Bencher<'_, '_>) {
    let v = vec![7u8; 100_000_000];
    bencher
        .counter(BytesCount::of_slice(&v))
        .bench(|| blake3::hash(black_box(&v)));
}

#[derive(Serialize)]
struct Params {
    name: String,
    alpha: f64,
    steps: u32,
    tags: Vec<String>,
    seed: Option<u64>,
}

/// Digest of a struct with a few fields.
#[divan::bench]
fn small_struct(bencher: Bencher<'_, '_>) {
    let p = Params {
        name: "experiment".into(),
        alpha: 0.25,
        steps: 1000,
        tags: vec!["a".into(), "bc".into()],
        seed: Some(7),
    };
    bencher.bench(|| fleche::digest(black_box(&p)));
}

/// The checksum every read of a stored value checks (XXH3-64), on 100 MB of encoded bytes, and
/// BLAKE3 of the same bytes for comparison.
#[divan::bench(args = ["xxh3", "blake3"], sample_count = 10, sample_size = 1)]
fn stored_bytes_checksum_100mb(bencher: Bencher<'_, '_>, which: &str) {
    let bytes: Vec<u8> = (0..100_000_000u32).map(|i| (i % 251) as u8).collect();
    bencher
        .counter(BytesCount::of_slice(&bytes))
        .bench(|| match which {
            "xxh3" => xxhash_rust::xxh3::xxh3_64(black_box(&bytes)),
            _ => u64::from(blake3::hash(black_box(&bytes)).as_bytes()[0]),
        });
}

/// Digest of 10 MB of bytes, as a `Vec<u8>` (one serde call per byte) and as
/// `serde_bytes::Bytes` (one call for the slice).
#[divan::bench(args = ["vec", "serde_bytes"], sample_count = 20, sample_size = 1)]
fn bytes_10mb(bencher: Bencher<'_, '_>, kind: &str) {
    let v: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
    bencher
        .counter(BytesCount::of_slice(&v))
        .bench(|| match kind {
            "vec" => fleche::digest(black_box(&v)),
            _ => fleche::digest(black_box(serde_bytes::Bytes::new(&v))),
        });
}
