//! The value tree and its drawing never panic, whatever bytes a cache holds: arbitrary bytes,
//! and well-formed CBOR with a few bytes flipped (which reaches deeper than random bytes),
//! read whole and a few bytes at a time; and a value read in part opens as it does whole.

use std::cell::Cell;

use fleche_tui::testing::{Dribble, MemoryValues};
use fleche_tui::tree::{Body, Tree, Unread, ValueStore};
use proptest::prelude::*;

/// A value of any shape, encoded by fleche's own codec (numeric vectors become typed arrays).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
enum V {
    Int(i64),
    Float(f64),
    Bool(bool),
    Null(Option<()>),
    Text(String),
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    F64s(Vec<f64>),
    F32s(Vec<f32>),
    List(Vec<V>),
    Map(std::collections::BTreeMap<String, V>),
}

fn any_value() -> impl Strategy<Value = V> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(V::Int),
        any::<f64>().prop_map(V::Float),
        any::<bool>().prop_map(V::Bool),
        Just(V::Null(None)),
        ".{0,40}".prop_map(V::Text),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(V::Bytes),
        proptest::collection::vec(any::<f64>(), 0..40).prop_map(V::F64s),
        proptest::collection::vec(any::<f32>(), 0..40).prop_map(V::F32s),
    ];
    leaf.prop_recursive(6, 300, 12, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..12).prop_map(V::List),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..8).prop_map(V::Map),
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
    fn damaged_cbor(value in any_value(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4)) {
        let mut bytes = fleche::codec::encode(&value).unwrap();
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

/// Opens the value (and its first children) from `store` and lists each row as its label,
/// whether it opens, and for leaves their text.
fn opened(bytes: &[u8], store: &dyn ValueStore) -> Vec<(String, bool, String)> {
    let digest = fleche::digest(&bytes);
    let mut tree = Tree::new();
    let root = tree.add(
        None,
        "result",
        Body::Unread(Unread {
            digest,
            hint: String::new(),
            summary: None,
            type_name: None,
        }),
    );
    tree.expand(root, store);
    for child in tree.children(root).to_vec() {
        tree.expand(child, store);
    }
    tree.refresh();
    tree.rows()
        .iter()
        .map(|&id| {
            let node = tree.node(id);
            let leaf = !tree.has_children(id);
            let text = if leaf {
                tree.describe(id, 60)
            } else {
                String::new()
            };
            (node.label.clone(), tree.has_children(id), text)
        })
        .collect()
}

fn store(bytes: &[u8]) -> MemoryValues {
    MemoryValues(
        [(fleche::digest(&bytes), bytes.to_vec())].into(),
        Default::default(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_value_read_in_part_opens_as_it_does_whole(value in any_value(), step in 1usize..64) {
        let bytes = fleche::codec::encode(&value).unwrap();
        let whole = opened(&bytes, &store(&bytes));
        let dribbled = opened(&bytes, &Dribble(store(&bytes), Cell::new(step)));
        prop_assert_eq!(whole, dribbled);
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
