//! Frozen digests of a fixed set of values.
//!
//! THE DIGEST IS A FROZEN FORMAT: the hex strings below were produced once by the finished
//! implementation and must never change. A failure here is a format break: every digest
//! already stored (cache keys, value names) would be orphaned. Fix the code, not the strings.
//! (They were changed once, deliberately, for format version 2: options, unit and floats by
//! their exact bits; see docs/format.md.)

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
            "f03085c7d71a9c4476ac78757928ee2f930cb4eca23d1a2198e3819cb72c5f51",
        ),
        (
            "100i32",
            digest(&100i32),
            "93572cd6cfdb9a00a97ed6596c2fb265f74600f08c0e4ee4ffcb2d8273f34a35",
        ),
        (
            "-1i64",
            digest(&-1i64),
            "2efd84361a769459540e9a2a7d7fe783473fbed3b6bd8bf9f9a11def7c98c58b",
        ),
        (
            "-300i16",
            digest(&-300i16),
            "24611a25b02b34468c320225a26dad6bd18ec1058edd17260de4653ed5312e87",
        ),
        (
            "u64::MAX",
            digest(&u64::MAX),
            "8bb94fefb8ce51660f9d2dedf17e4497ef551ecac6f3b922e8c942529c19e99c",
        ),
        (
            "i128::MIN",
            digest(&i128::MIN),
            "da98aac1460d3f70f76a5697d77c997ceee0128e04f3a530aad29a92d2494d99",
        ),
        (
            "i128::MAX",
            digest(&i128::MAX),
            "36891d60e75d4c5df37b69b4a698b32172385d9e43fc0a423173e4ad13782215",
        ),
        (
            "u128::MAX",
            digest(&u128::MAX),
            "3c5949ed8e6d5024f44a3513c7469582b95e211de22382f835271e4b45b647fa",
        ),
        (
            "1.5f64",
            digest(&1.5f64),
            "2481423f7a5050e3ae31ba2123772b0c68b8d89669aa7d1af046670808097793",
        ),
        (
            "-0.0f64",
            digest(&-0.0f64),
            "2a91039721d4e5fefa48c359f7205680e8ce63865b1065f9a46ea89e95742a8b",
        ),
        (
            "NaN",
            digest(&f64::NAN),
            "090db2ea8c00b22debf5d1e8ad9fe7f5a89bec18b3e69d70874b0387f82c947f",
        ),
        (
            "-inf",
            digest(&f64::NEG_INFINITY),
            "de4d9af480e87ec69f71bb39c89dec6061615d4e558d599db220890ac716de89",
        ),
        (
            "0.1f32",
            digest(&0.1f32),
            "cbb8611f840885ba87fa89fe9eb12768307e3a4703de1df4cf8accc9b8309f06",
        ),
        (
            "empty str",
            digest(""),
            "17167589db2ae443b763d6f4c9fc0cab609edb1d18a2e9b8349cae32e495c4e9",
        ),
        (
            "unicode str",
            digest("héllo wörld 🦀"),
            "71524df6b46a50c94631a4d606ef1b3f48033af7993e10934c360372a4256d6f",
        ),
        (
            "char",
            digest(&'c'),
            "bebad703bec3e26aa7ed9ed6e34283f2ba9b4ac2516caa52cab9c0e980848c54",
        ),
        (
            "bytes",
            digest(serde_bytes::Bytes::new(&[0, 1, 2, 255])),
            "50faac1fb404778ccc83db802eb80eda66090d724e8a4a4aa14e6ee663488b16",
        ),
        (
            "vec",
            digest(&vec![1, 2, 3]),
            "1d6f27610a2c895bdd4b93b4efa7a72c02fddd8fc68bf501dffe50f2079265c7",
        ),
        (
            "nested struct",
            digest(&nested),
            "9d0220fc1886aaac584533c6898dad9eb35bcbf95523c2e3df8aa3b42de2e85b",
        ),
        (
            "unit variant",
            digest(&Shape::Empty),
            "2fdc7b55e7b4ed3364d11de335e6df4348d3cf2d7b9683bbd2d14471bcf3c8c7",
        ),
        (
            "newtype variant",
            digest(&Shape::Circle(2.5)),
            "531dc59e96980bea1e503bb58d751bb2b237b6ffb49ef977335f6b17ef7e664c",
        ),
        (
            "tuple variant",
            digest(&Shape::Rect(3, 4)),
            "783fd7c3764ae6abec10941a10cdfacdb3476e06a0668cba1d82d8f70e8fbe48",
        ),
        (
            "struct variant",
            digest(&Shape::Labeled {
                text: "hi",
                size: -1,
            }),
            "69acce735979ab0e4b0e8ce7f13d722cdf81ef4e263a6d1f8e6876ab36e75050",
        ),
        (
            "Some",
            digest(&Some(7u8)),
            "7af834fb104d806c02d1cda50a1419d1c14390e1e9400f8e34d6e85501e22a53",
        ),
        (
            "None",
            digest(&None::<u8>),
            "727406734d007d0dddb1832ac4ad0c910b71746a6bfad4a26029f3812ae9ee34",
        ),
        (
            "HashMap",
            digest(&map),
            "fae35c4d6adfe2190cdec73b452836ad226182224d8b77ee2d7e8d4903ef9493",
        ),
        (
            "tuple",
            digest(&(1, "x", 2.5, false)),
            "b62168434d9ce4d70f50ad0543ffde7ca87ae51a35de84afd23b22fa71fcaac7",
        ),
        (
            "unit",
            digest(&()),
            "0fe5bac1029a02a15affd6ad5b707a5b2e77383d685da362a573ff8d300faec5",
        ),
        (
            "None",
            digest(&None::<u8>),
            "727406734d007d0dddb1832ac4ad0c910b71746a6bfad4a26029f3812ae9ee34",
        ),
        (
            "Some(None)",
            digest(&Some(None::<u8>)),
            "6d39f3bad7c3abd334dda4054b873772eb3670342324d164f9d6d16316d0ce57",
        ),
        (
            "Some(5)",
            digest(&Some(5u8)),
            "e4e8b3f6bc7980ea4aa4be1dac4692997f35742a8d774163fb2dd202eccb4c2d",
        ),
        (
            "-0.0",
            digest(&-0.0f64),
            "2a91039721d4e5fefa48c359f7205680e8ce63865b1065f9a46ea89e95742a8b",
        ),
        (
            "NaN with payload",
            digest(&f64::from_bits(0x7ff0_0000_dead_beef)),
            "c5f56379fb137f4f50199a1041ecf43e4735c043dd99595ebb28c3b7d26829f4",
        ),
        (
            "true",
            digest(&true),
            "a230592d9b394737f371b31732147116957b09af521f01ab3f2fd5cb8b1d7c9f",
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
