//! Hostile and corrupt input: parsing, walking, summarising and decoding arbitrary bytes must
//! return `Ok` or `Err`, never panic, overflow the stack or allocate from untrusted lengths.

#[path = "support/tree.rs"]
mod tree;

use std::collections::BTreeMap;

use fleche::codec::inspect::{Item, summary};
use fleche::codec::{MAX_DEPTH, decode, encode};
use proptest::prelude::*;
use serde::de::IgnoredAny;
use tree::{Kindred, Sample, Tagged, Tree};

/// Walks every child of every item, depth first.
fn walk(item: &Item<'_>, budget: &mut usize) -> Result<(), fleche::codec::CodecError> {
    let _ = item.kind();
    let _ = item.encoded_len();
    let _ = item.as_bytes();
    for child in item.children() {
        if *budget == 0 {
            return Ok(());
        }
        *budget -= 1;
        let child = child?;
        if let Some(key) = &child.key {
            walk(key, budget)?;
        }
        walk(&child.value, budget)?;
    }
    Ok(())
}

/// Everything a reader of untrusted bytes may do; none of it may panic.
fn exercise(bytes: &[u8]) {
    if let Ok(item) = Item::parse(bytes) {
        let mut budget = 100_000;
        walk(&item, &mut budget).expect("a parsed item walks without errors");
        let _ = item.nth_child(3);
        let _ = item.nth_child(usize::MAX);
        let _ = item.decode::<Tree>();
    }
    let _ = Item::parse_prefix(bytes);
    for width in [0, 1, 5, 20, 80] {
        let line = summary(bytes, width);
        assert!(line.chars().count() <= width, "{width}: {line}");
    }
    let parsed = Item::parse(bytes).is_ok();
    let tree = decode::<Tree>(bytes);
    let ignored = decode::<IgnoredAny>(bytes);
    // Anything that decodes parses, and anything that parses can be skipped.
    if tree.is_ok() {
        assert!(parsed, "decoded but did not parse: {bytes:02x?}");
    }
    assert_eq!(parsed, ignored.is_ok(), "{bytes:02x?}");
    let _ = decode::<Vec<u8>>(bytes);
    let _ = decode::<Vec<f64>>(bytes);
    let _ = decode::<String>(bytes);
    let _ = decode::<BTreeMap<String, Vec<i64>>>(bytes);
    let _ = decode::<(u8, Option<i128>, char)>(bytes);
    let _ = decode::<Sample>(bytes);
    let _ = decode::<Kindred>(bytes);
    let _ = decode::<Tagged>(bytes);
    let _ = decode::<serde_bytes::ByteBuf>(bytes);
}

fn sample(n: u8) -> Sample {
    Sample {
        id: u64::from(n) * 1_000_003,
        name: "ñame".repeat(usize::from(n % 4)),
        data: (0..n).map(|i| f64::from(i) / 3.0).collect(),
        raw: (0..n).collect(),
        kind: match n % 4 {
            0 => Kindred::A,
            1 => Kindred::B(-1),
            2 => Kindred::C {
                x: u128::MAX,
                y: vec![1, 2],
            },
            _ => Kindred::D("d".into(), 0.5),
        },
        extra: n.is_multiple_of(2).then(|| [(-1, "x".to_owned())].into()),
    }
}

fn valid_encodings() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<u8>().prop_map(|n| encode(&sample(n)).unwrap()),
        any::<u8>().prop_map(|n| encode(&Tagged::Two(sample(n))).unwrap()),
        any::<u8>().prop_map(|n| encode(&vec![sample(n), sample(n / 2)]).unwrap()),
        proptest::collection::vec(any::<i64>(), 0..20).prop_map(|v| encode(&v).unwrap()),
        ".{0,30}".prop_map(|s| encode(&(s, 1.5f32, -7i128)).unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_plausible_head(head in 0x80u8..0xe0, bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut input = vec![head];
        input.extend_from_slice(&bytes);
        exercise(&input);
    }

    #[test]
    fn truncated_encodings(bytes in valid_encodings(), cut in any::<prop::sample::Index>()) {
        let cut = cut.index(bytes.len());
        prop_assert!(Item::parse(&bytes).is_ok());
        exercise(&bytes);
        let prefix = &bytes[..cut];
        prop_assert!(Item::parse(prefix).is_err());
        prop_assert!(decode::<Tree>(prefix).is_err());
        exercise(prefix);
    }

    #[test]
    fn bit_flipped_encodings(bytes in valid_encodings(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = bytes;
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        exercise(&bytes);
    }

    #[test]
    fn overwritten_encodings(bytes in valid_encodings(), at in any::<prop::sample::Index>(), value in any::<u8>()) {
        let mut bytes = bytes;
        let i = at.index(bytes.len());
        bytes[i] = value;
        exercise(&bytes);
    }

    #[test]
    fn generic_trees_round_trip(bytes in valid_encodings()) {
        // Decoding through `deserialize_any` keeps everything but the types.
        let tree: Tree = decode(&bytes).unwrap();
        let again: Tree = decode(&encode(&tree).unwrap()).unwrap();
        prop_assert_eq!(tree, again);
    }
}

#[test]
fn deeply_nested_input_is_an_error_not_a_stack_overflow() {
    const N: usize = 100_000;
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for head in [
        &[0x81u8][..],
        &[0xa1, 0x00],
        &[0xc6],
        &[0xd8, 0x64],
        &[0x81, 0xc6],
    ] {
        let mut bytes = head.repeat(N);
        bytes.push(0x00);
        cases.push(bytes);
    }
    for bytes in &cases {
        let err = Item::parse(bytes).unwrap_err();
        assert!(
            err.to_string().contains("nesting deeper than 256 levels"),
            "{err}"
        );
        assert!(decode::<Tree>(bytes).is_err());
        assert!(decode::<IgnoredAny>(bytes).is_err());
        assert!(decode::<Vec<Tree>>(bytes).is_err());
        assert!(decode::<Option<Box<Tree>>>(bytes).is_err());
        let line = summary(bytes, 1_000_000);
        assert!(line.contains('…'), "{line}");
        exercise(bytes);
    }
    // Exactly at the limit is fine.
    let mut bytes = vec![0x81; MAX_DEPTH];
    bytes.push(0x00);
    let item = Item::parse(&bytes).unwrap();
    let mut budget = usize::MAX;
    walk(&item, &mut budget).unwrap();
    assert!(decode::<Tree>(&bytes).is_ok());
    bytes.insert(0, 0x81);
    assert!(Item::parse(&bytes).is_err());
    assert!(decode::<Tree>(&bytes).is_err());
}

#[test]
fn deep_input_fails_on_a_small_stack() {
    // The decoder refuses input deeper than MAX_DEPTH before the stack matters, even on a
    // thread with a small stack.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut bytes = vec![0x81; 10_000];
            bytes.push(0);
            assert!(decode::<IgnoredAny>(&bytes).is_err());
            assert!(Item::parse(&bytes).is_err());
            let _ = summary(&bytes, usize::MAX);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn huge_announced_lengths_allocate_nothing() {
    let cases: [&[u8]; 8] = [
        &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00],
        &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00],
        &[0x7b, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x9a, 0x40, 0x00, 0x00, 0x00, 0x01, 0x02],
        &[
            0xd8, 86, 0x5b, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
        ],
        &[0xc2, 0x5b, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0xa2, 0x01, 0x02, 0x03],
    ];
    for bytes in cases {
        assert!(decode::<Vec<u64>>(bytes).is_err());
        assert!(decode::<Vec<u8>>(bytes).is_err());
        assert!(decode::<Tree>(bytes).is_err());
        assert!(decode::<BTreeMap<u8, u8>>(bytes).is_err());
        assert!(decode::<String>(bytes).is_err());
        assert!(Item::parse(bytes).is_err());
        exercise(bytes);
    }
}

#[test]
fn generic_trees_see_bytes_as_sequences() {
    // `deserialize_any` shows a byte string as a sequence of u8 (see the codec docs).
    let tree: Tree = decode(&encode(&vec![1u8, 2]).unwrap()).unwrap();
    assert_eq!(tree, Tree::List(vec![Tree::Int(1), Tree::Int(2)]));
    let floats: Tree = decode(&encode(&vec![0.5f64]).unwrap()).unwrap();
    assert_eq!(floats, Tree::List(vec![Tree::Float(0.5)]));
    let big: Tree = decode(&encode(&i128::MIN).unwrap()).unwrap();
    assert_eq!(big, Tree::Int(i128::MIN));
}
