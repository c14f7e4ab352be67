//! Codec benchmarks: a small struct, a 1M-element `Vec<f64>`, and `summary` of a 100 MB
//! encoding. Run with `cargo bench -p fleche --bench codec`.

use std::sync::OnceLock;

use divan::{Bencher, black_box};
use fleche::codec::inspect::{Item, summary};
use fleche::codec::{decode, encode};
use serde::{Deserialize, Serialize};

fn main() {
    divan::main();
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Small {
    id: u64,
    name: String,
    score: f64,
    tags: Vec<String>,
    origin: Option<(i32, i32)>,
}

fn small() -> Small {
    Small {
        id: 42,
        name: "a small struct".into(),
        score: 0.75,
        tags: vec!["alpha".into(), "beta".into()],
        origin: Some((-3, 4)),
    }
}

fn floats(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64 * 0.001).collect()
}

/// The encoding of a 100 MB `Vec<f64>`, made once.
fn hundred_mb() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| encode(&floats(100_000_000 / 8)).expect("encodes"))
}

#[divan::bench]
fn encode_small_struct(bencher: Bencher<'_, '_>) {
    let value = small();
    bencher.bench(|| encode(black_box(&value)).unwrap());
}

#[divan::bench]
fn decode_small_struct(bencher: Bencher<'_, '_>) {
    let bytes = encode(&small()).unwrap();
    bencher.bench(|| decode::<Small>(black_box(&bytes)).unwrap());
}

#[divan::bench(sample_count = 20)]
fn encode_vec_f64_1m(bencher: Bencher<'_, '_>) {
    let value = floats(1_000_000);
    bencher
        .counter(divan::counter::BytesCount::new(8_000_000usize))
        .bench(|| encode(black_box(&value)).unwrap());
}

#[divan::bench(sample_count = 20)]
fn decode_vec_f64_1m(bencher: Bencher<'_, '_>) {
    let bytes = encode(&floats(1_000_000)).unwrap();
    bencher
        .counter(divan::counter::BytesCount::new(8_000_000usize))
        .bench(|| decode::<Vec<f64>>(black_box(&bytes)).unwrap());
}

#[divan::bench]
fn summary_100mb_vec_f64(bencher: Bencher<'_, '_>) {
    let bytes = hundred_mb();
    bencher.bench(|| summary(black_box(bytes), 80));
}

#[divan::bench]
fn first_20_children_100mb_vec_f64(bencher: Bencher<'_, '_>) {
    let bytes = hundred_mb();
    bencher.bench(|| {
        let item = Item::parse(black_box(bytes)).unwrap();
        item.children()
            .take(20)
            .map(|c| c.unwrap().value.encoded_len())
            .sum::<usize>()
    });
}
