//! Frozen digests of a fixed set of values.
//!
//! THE DIGEST IS A FROZEN FORMAT: the hex strings below were produced once by the finished
//! implementation and must never change. A failure here is a format break: every digest
//! already stored (cache keys, value names) would be orphaned. Fix the code, not the strings.

use std::collections::HashMap;

use fleche::{Digest, digest};
use serde::Serialize;

#[derive(Serialize)]
struct Inner {
    name: String,
    weights: Vec<f64>,
}

#[derive(Serialize)]
struct Outer {
    id: u32,
    inner: Inner,
    tag: Option<char>,
    flags: (bool, bool),
}

#[derive(Serialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect(u16, u16),
    Labeled { text: &'static str, size: i8 },
}

fn golden() -> Vec<(&'static str, Digest, &'static str)> {
    let nested = Outer {
        id: 7,
        inner: Inner {
            name: "fleche".into(),
            weights: vec![0.5, -2.0, 1e300],
        },
        tag: Some('λ'),
        flags: (true, false),
    };
    let map: HashMap<&str, i64> = [("alpha", 1), ("beta", -2), ("gamma", 3)].into();
    vec![
        (
            "0u8",
            digest(&0u8),
            "f87c051633a5a074c5b62ddb05d735325d6210bc043ccce3068d0e93721cb1a0",
        ),
        (
            "100i32",
            digest(&100i32),
            "88687f00f7a971d30b50e07279bf3cb2a8f8645c5bc52f74279a39de64eef7ba",
        ),
        (
            "-1i64",
            digest(&-1i64),
            "29d08bfe0b6e0f3b287b959684817c4615ab635ee49d0fb5261a196418a2a3f8",
        ),
        (
            "-300i16",
            digest(&-300i16),
            "1e4608128f9adc9721f949e2e1458682de764827d00f2eb1f7072f8ffba0ecdf",
        ),
        (
            "u64::MAX",
            digest(&u64::MAX),
            "14bc4789e55dd11fb50e9089440e526f7bd9af86f2cca28ab4fb40a673f99b4e",
        ),
        (
            "i128::MIN",
            digest(&i128::MIN),
            "0e3751af4d76b9426a10504f7ca2e81db0dc503dfdbc71bbdb48bf06c030c26b",
        ),
        (
            "i128::MAX",
            digest(&i128::MAX),
            "d3dd84f2306f27d541e541e4692ca3946f4a33e10714d7035139a0899c76d83b",
        ),
        (
            "u128::MAX",
            digest(&u128::MAX),
            "520a9eab4192d8dc882ca872c63f2a1082c520b362a6321593035a5c24835699",
        ),
        (
            "1.5f64",
            digest(&1.5f64),
            "cd6be8b703f63a7f9bb9704cea36c2eeb177ea7e16c4e0a44ce1bd9bea49fc2a",
        ),
        (
            "-0.0f64",
            digest(&-0.0f64),
            "f58f5bc1fe93098aee041ba55d565a584853b8343a8b1a1ac5305d6164285481",
        ),
        (
            "NaN",
            digest(&f64::NAN),
            "1f7b0af183884d04f0b5317834722fb1fe252597803fb41a4cd45b2a01304bec",
        ),
        (
            "-inf",
            digest(&f64::NEG_INFINITY),
            "28c4a50abdf27d34354f2b199215885d4dc9760b3f718deb917c50c8f1c737ab",
        ),
        (
            "0.1f32",
            digest(&0.1f32),
            "248bb7fb2e6f3d948e452a6090e27a854755a8975d6e169c33f5ffce0479dba5",
        ),
        (
            "empty str",
            digest(""),
            "46a2b8eb0a97b2f02813d78d02d4b211a0d8672ea2e7609dde594500afd2894b",
        ),
        (
            "unicode str",
            digest("héllo wörld 🦀"),
            "a2de6fcb940c21d06a018d1001729210d2448d64cc256e08bddbcc5612e4e41c",
        ),
        (
            "char",
            digest(&'c'),
            "7fac3baedbce6dd3f5c8e05f31d0e412d9c763004b65047d7b4e2a3885bd1147",
        ),
        (
            "bytes",
            digest(serde_bytes::Bytes::new(&[0, 1, 2, 255])),
            "0bddafe870dfa061aea7d5b6ca13f83e7f0d229e4b8c188d3b69d09cbbe45bfe",
        ),
        (
            "vec",
            digest(&vec![1, 2, 3]),
            "020abd77d6ec51295c671e4329acd51bc5a4675e998acc02410017b29be0a1a6",
        ),
        (
            "nested struct",
            digest(&nested),
            "25e239b79a322c691d0ce0cb400707cb4e844d8c1fbe649f95383e42c741f677",
        ),
        (
            "unit variant",
            digest(&Shape::Empty),
            "0330970c8e2a1b421bc6078240608228331e1710b68ee48cc7dfcf6895e2440d",
        ),
        (
            "newtype variant",
            digest(&Shape::Circle(2.5)),
            "281882b40d4b2dcbbd3a0d1a9ae4596494b8b2cc936ed47ff4cab6b3c5c28342",
        ),
        (
            "tuple variant",
            digest(&Shape::Rect(3, 4)),
            "8bf87942c4233c8545bb2374a708d7da328a374c3851012abbd4cc3ea02e1b23",
        ),
        (
            "struct variant",
            digest(&Shape::Labeled {
                text: "hi",
                size: -1,
            }),
            "19dddce23b10e79f39a7024c1b8f26d7ad6998b6ffbe47ed50df936a9aab6a4a",
        ),
        (
            "Some",
            digest(&Some(7u8)),
            "ac4d9963f983443430facdeb4c900f19b02e33ca65d99fba3a0b75e6c2ec1abc",
        ),
        (
            "None",
            digest(&None::<u8>),
            "05d21a77f0f916b0fada463bc3524fd2e2e80ad6ec141442671729a4ae886d9d",
        ),
        (
            "HashMap",
            digest(&map),
            "d44d99d157348423607996188e2404c65159d1e36eab0c1f168937c5d3a90e27",
        ),
        (
            "tuple",
            digest(&(1, "x", 2.5, false)),
            "92e6bfb56366ab6ebe05ebe4b3c3272ed25d8e3cc8620f30440f28718bb57b94",
        ),
        (
            "unit",
            digest(&()),
            "05d21a77f0f916b0fada463bc3524fd2e2e80ad6ec141442671729a4ae886d9d",
        ),
        (
            "true",
            digest(&true),
            "b8d3c2ef2e2d2f92c9a9004dd77720518e7c2268d6727dbf0778ccee756f8123",
        ),
    ]
}

#[test]
fn digests_are_frozen() {
    let mut failures = Vec::new();
    for (name, got, want) in golden() {
        if got.to_hex() != want {
            failures.push(format!("{name}: got {got}, frozen {want}"));
        }
    }
    assert!(
        failures.is_empty(),
        "the digest format changed:\n{}",
        failures.join("\n")
    );
}
