//! The value tree and its drawing never panic, whatever bytes a cache holds: arbitrary bytes,
//! and well-formed CBOR with a few bytes flipped (which reaches deeper than random bytes).

use proptest::prelude::*;

fn cbor_value() -> impl Strategy<Value = ciborium::Value> {
    use ciborium::Value;
    let leaf = prop_oneof![
        any::<i64>().prop_map(|v| Value::Integer(v.into())),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        ".{0,40}".prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        (64u64..=87, proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(t, b)| Value::Tag(t, Box::new(Value::Bytes(b)))),
    ];
    leaf.prop_recursive(6, 300, 12, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            proptest::collection::vec(("[a-z_]{1,8}".prop_map(Value::Text), inner.clone()), 0..8)
                .prop_map(Value::Map),
            (0u64..100, inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        fleche_tui::testing::exercise_value(&bytes);
    }

    #[test]
    fn damaged_cbor(value in cbor_value(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4)) {
        let mut bytes = Vec::new();
        ciborium::into_writer(&value, &mut bytes).unwrap();
        fleche_tui::testing::exercise_value(&bytes);
        for (at, byte) in flips {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
        }
        fleche_tui::testing::exercise_value(&bytes);
    }
}

#[test]
fn deep_nesting_and_huge_claims() {
    // 100,000 nested one-element arrays, and an array claiming 2^64 - 1 items.
    fleche_tui::testing::exercise_value(&vec![0x81; 100_000]);
    fleche_tui::testing::exercise_value(&[
        0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    fleche_tui::testing::exercise_value(&[0xbf, 0x61, b'a', 0x9f, 0x01, 0xff]);
}
