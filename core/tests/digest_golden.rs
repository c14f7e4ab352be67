//! Frozen digests of a fixed set of values.
//!
//! THE DIGEST IS A FROZEN FORMAT: the hex strings below were produced once by the finished
//! implementation and must never change. A failure here is a format break: every digest
//! already stored (cache keys, value names) would be orphaned. Fix the code, not the strings.
//! (They were changed deliberately for format version 2: options, unit and floats by their
//! exact bits; and for format version 4: runs of bytes in arrays hashed whole, under a new
//! context string; see docs/format.md.)

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
            "995f51e5f3d27fed252277cb3006dec556cf17db32d364ee70d5baa6aad5d673",
        ),
        (
            "100i32",
            digest(&100i32),
            "e42cf737f1c02793c5157069b7d3c4bd16eda4a4679c54f6cb2af4197b60a53e",
        ),
        (
            "-1i64",
            digest(&-1i64),
            "05ab4a91933e7233796a21ecbcf175ba7a709c0e7b4bb5ebbecf52de2adc7ac9",
        ),
        (
            "-300i16",
            digest(&-300i16),
            "6f4a341eb72d69d3c88af199076b26c9a8efb0730db8dba8be79d75a28435a80",
        ),
        (
            "u64::MAX",
            digest(&u64::MAX),
            "0cf533eb89a378bc95140714bc5a0eff39647c1e08c9b9985d6c5e14a28143d6",
        ),
        (
            "i128::MIN",
            digest(&i128::MIN),
            "f565d3d0ec92b7336f6473adca80516fb0c0c6d4817a3337c8cedd1362d0715e",
        ),
        (
            "i128::MAX",
            digest(&i128::MAX),
            "fa4c7a403d4efb4b1a689037b24245ee7e959ad28bb397c5e6421cf4f092d6d9",
        ),
        (
            "u128::MAX",
            digest(&u128::MAX),
            "c844f8ba1eb1b7888f822f764a21d99bc98da0d55423a8d6b113dcd7f9630695",
        ),
        (
            "1.5f64",
            digest(&1.5f64),
            "508eca123a3e50e9ee8cc7e1926e153238f74c4d2505e914ea0223d5f98ef03d",
        ),
        (
            "-0.0f64",
            digest(&-0.0f64),
            "75b1d1d9ae1a6de95f1af10db611db7ce48b7b17225a9a0b6f3f5030aac14f00",
        ),
        (
            "NaN",
            digest(&f64::NAN),
            "bab35bd60cfc3179a3813787f3818010e3b974006bda0a1a0bbb47b40f120cd0",
        ),
        (
            "-inf",
            digest(&f64::NEG_INFINITY),
            "62e812b07aea60b2d382e9365f6fa6a49977b0b77e4e1c8a04b741a0684010e5",
        ),
        (
            "0.1f32",
            digest(&0.1f32),
            "9467d08ba781ace9440a143d2957edd004d4cd11bd5f57b3d3dedc2b321c540e",
        ),
        (
            "empty str",
            digest(""),
            "f7b9da7a8a67a4052cea0d215f21185892cd7735479a2ae343f41e3b7700dd6d",
        ),
        (
            "unicode str",
            digest("héllo wörld 🦀"),
            "75d66e31abe88ce8dfd4226b58b98aaccde75c38df0670496dacdb8583ec016e",
        ),
        (
            "char",
            digest(&'c'),
            "d8cfd30e0cea88e3db00619f3b7875a34021bddcd9254c51f114b7ac3fbb3fd2",
        ),
        (
            "bytes",
            digest(serde_bytes::Bytes::new(&[0, 1, 2, 255])),
            "849dbfc2eac02962742e9917e82766491faab1ecc63c153cf929d0dd55d0fb51",
        ),
        (
            "100000 bytes as a Vec<u8> (runs longer than a buffer)",
            digest(
                &(0..100_000u32)
                    .map(|i| (i % 251) as u8)
                    .collect::<Vec<u8>>(),
            ),
            "3583b8cab9d92a6885998a9da7af8e5f99bcb3e014c6df43756e4e11f8cdfbd2",
        ),
        (
            "mixed array: bytes, 256, bytes",
            digest(&[1u16, 2, 256, 3]),
            "5e4dc22e13a6652da2e6b24853b13de03ab10048ecbef81d6de5520c9cc336ef",
        ),
        (
            "vec",
            digest(&vec![1, 2, 3]),
            "55533c44f45949ea241abd7581be019d878e94d5649e7e78a2ebc118f532011f",
        ),
        (
            "nested struct",
            digest(&nested),
            "2c0dde91b23576b475ef6962126c66897c487d4f19235e581f739c975c8c5814",
        ),
        (
            "unit variant",
            digest(&Shape::Empty),
            "18339d04f12ef9f3280f7a3f2cf4efaa35aa32d2acb42874b1e95fb56d818adb",
        ),
        (
            "newtype variant",
            digest(&Shape::Circle(2.5)),
            "d34f8d462cddcc1595d6be6b5dd48c4c4ee4972354e7bc8aec0178fd0ecf5163",
        ),
        (
            "tuple variant",
            digest(&Shape::Rect(3, 4)),
            "ceeb287c2783be179ab05c75f12de030c43ae48324218d933d269f9db2986e09",
        ),
        (
            "struct variant",
            digest(&Shape::Labeled {
                text: "hi",
                size: -1,
            }),
            "0955b1bf2bca4ab712f4865345b2211a614bc71aff92910b3bfe145369f5aabd",
        ),
        (
            "Some",
            digest(&Some(7u8)),
            "53ce407333642d614a082a58fd6eb1a3e80fabd4d512c3802d22d84c250ba1d9",
        ),
        (
            "None",
            digest(&None::<u8>),
            "75ca8458a84c5cff3bad906008174e6fef81e06d1e4b39e3ae97041175c41f22",
        ),
        (
            "HashMap",
            digest(&map),
            "c6ce528616064bd1b157cc846a9950f22c98f955a7d17ec800194ac4dd342763",
        ),
        (
            "tuple",
            digest(&(1, "x", 2.5, false)),
            "8e91a7fd0c0f31d68f741d66bc28d18ef18f042bc46f56c4e1f5b91ca366311d",
        ),
        (
            "unit",
            digest(&()),
            "271e8b4c0f013818f5086e598c62e9dc33dfb6852c3a3f04fb5bdd04a713ecd5",
        ),
        (
            "None",
            digest(&None::<u8>),
            "75ca8458a84c5cff3bad906008174e6fef81e06d1e4b39e3ae97041175c41f22",
        ),
        (
            "Some(None)",
            digest(&Some(None::<u8>)),
            "98fe822a05ea9144f14a4a5610162e6397a6ca8f6ac3356889cd7a0ca9856166",
        ),
        (
            "Some(5)",
            digest(&Some(5u8)),
            "cdcab3929d61b3153176c88e0ca1a5f33001557621603a1efa72909239354dcd",
        ),
        (
            "-0.0",
            digest(&-0.0f64),
            "75b1d1d9ae1a6de95f1af10db611db7ce48b7b17225a9a0b6f3f5030aac14f00",
        ),
        (
            "NaN with payload",
            digest(&f64::from_bits(0x7ff0_0000_dead_beef)),
            "d97dd3a656fd4b49116049ff5a5b1bbfa0e50333e6a34ac624119df14c54688e",
        ),
        (
            "true",
            digest(&true),
            "b4f273665b7f442302fda7aee22a6b43f6777fa13810d658897e0183b22c923a",
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
