//! Property tests of the digest: equal values agree whatever their Rust types, and distinct
//! values disagree.

use std::collections::{BTreeMap, HashMap};

use fleche::digest;
use proptest::prelude::*;
use serde::{Serialize, Serializer};

proptest! {
    #[test]
    fn integers_agree_across_widths(
        v in any::<i64>(),
        w in any::<u64>(),
        i in any::<i32>(),
        s in any::<i8>(),
        b in any::<u8>(),
    ) {
        prop_assert_eq!(digest(&i), digest(&i64::from(i)));
        prop_assert_eq!(digest(&i), digest(&i128::from(i)));
        prop_assert_eq!(digest(&v), digest(&i128::from(v)));
        prop_assert_eq!(digest(&w), digest(&u128::from(w)));
        prop_assert_eq!(digest(&w), digest(&i128::from(w)));
        prop_assert_eq!(digest(&s), digest(&i64::from(s)));
        prop_assert_eq!(digest(&s), digest(&i16::from(s)));
        prop_assert_eq!(digest(&b), digest(&u32::from(b)));
        prop_assert_eq!(digest(&b), digest(&i16::from(b)));
        if let Ok(narrow) = i32::try_from(v) {
            prop_assert_eq!(digest(&v), digest(&narrow));
        }
        if let Ok(unsigned) = u64::try_from(v) {
            prop_assert_eq!(digest(&v), digest(&unsigned));
        }
    }

    #[test]
    fn floats_agree_across_widths(x in any::<f32>()) {
        prop_assert_eq!(digest(&x), digest(&f64::from(x)));
    }

    #[test]
    fn map_insertion_order_does_not_matter(entries in proptest::collection::btree_map(".{0,6}", any::<i64>(), 0..24)) {
        let forward: Vec<(String, i64)> = entries.clone().into_iter().collect();
        let mut a = HashMap::new();
        for (k, v) in &forward {
            a.insert(k.clone(), *v);
        }
        let mut b = HashMap::new();
        for (k, v) in forward.iter().rev() {
            b.insert(k.clone(), *v);
        }
        prop_assert_eq!(digest(&a), digest(&b));
        prop_assert_eq!(digest(&a), digest(&entries));
    }

    #[test]
    fn sequences_agree(xs in proptest::array::uniform8(any::<i32>())) {
        let v: Vec<i32> = xs.to_vec();
        let wide: Vec<i64> = xs.iter().map(|&x| i64::from(x)).collect();
        let want = digest(&v);
        prop_assert_eq!(digest(&v[..]), want);
        prop_assert_eq!(digest(&xs), want);
        prop_assert_eq!(digest(&wide), want);
        prop_assert_eq!(digest(&(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], xs[7])), want);
    }

    #[test]
    fn bytes_agree_with_sequences(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assert_eq!(digest(serde_bytes::Bytes::new(&bytes)), digest(&bytes));
    }

    #[test]
    fn distinct_values_have_distinct_digests(values in proptest::collection::vec(tree(), 2..10)) {
        for a in &values {
            for b in &values {
                prop_assert_eq!(a == b, digest(a) == digest(b), "{:?} vs {:?}", a, b);
            }
        }
    }

    #[test]
    fn equal_values_have_equal_digests(value in tree()) {
        let twin = twin(&value);
        prop_assert_eq!(&twin, &value);
        prop_assert_eq!(digest(&twin), digest(&value), "{:?} vs {:?}", twin, value);
    }
}

/// A value of the digest's data model.
#[derive(Debug, Clone)]
enum Tree {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// An `f32`, equal to the `Float` it widens to exactly.
    Single(f32),
    Text(String),
    List(Vec<Tree>),
    Map(BTreeMap<String, Tree>),
}

/// Structural equality, with floats compared by their exact bits (an `f32` widened exactly,
/// its NaN payload kept), as the digest sees them.
impl PartialEq for Tree {
    fn eq(&self, other: &Self) -> bool {
        fn bits(t: &Tree) -> Option<u64> {
            match t {
                Tree::Float(x) => Some(x.to_bits()),
                Tree::Single(x) if x.is_nan() => {
                    let b = u64::from(x.to_bits());
                    Some(((b & 0x8000_0000) << 32) | (0x7ff << 52) | ((b & 0x7f_ffff) << 29))
                }
                Tree::Single(x) => Some(f64::from(*x).to_bits()),
                _ => None,
            }
        }
        match (self, other) {
            (Tree::Null, Tree::Null) => true,
            (Tree::Bool(a), Tree::Bool(b)) => a == b,
            (Tree::Int(a), Tree::Int(b)) => a == b,
            (Tree::Text(a), Tree::Text(b)) => a == b,
            (Tree::List(a), Tree::List(b)) => a == b,
            (Tree::Map(a), Tree::Map(b)) => a == b,
            (a, b) => bits(a).is_some() && bits(a) == bits(b),
        }
    }
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tree::Null => s.serialize_unit(),
            Tree::Bool(b) => s.serialize_bool(*b),
            // Several widths, so the test also covers width independence.
            Tree::Int(i) => match (i8::try_from(*i), u64::try_from(*i)) {
                (Ok(small), _) => s.serialize_i8(small),
                (_, Ok(unsigned)) => s.serialize_u64(unsigned),
                _ => s.serialize_i128(*i),
            },
            Tree::Float(x) => s.serialize_f64(*x),
            Tree::Single(x) => s.serialize_f32(*x),
            Tree::Text(t) => s.serialize_str(t),
            Tree::List(items) => s.collect_seq(items),
            Tree::Map(entries) => s.collect_map(entries),
        }
    }
}

/// Trees from a small domain, so that equal values come up often as well as distinct ones.
fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        Just(Tree::Null),
        any::<bool>().prop_map(Tree::Bool),
        (-3i128..4).prop_map(Tree::Int),
        prop_oneof![
            Just(i128::MIN),
            Just(i128::MAX),
            Just(-(1 << 64)),
            Just(1 << 64),
            Just(255),
            Just(256)
        ]
        .prop_map(Tree::Int),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1.0),
            Just(-1.0),
            Just(f64::NAN),
            Just(-f64::NAN),
            Just(f64::from_bits(0x7ff0_0000_2000_0000)),
            Just(f64::from_bits(0x7ff0_0000_0000_0001)),
            Just(f64::INFINITY),
            Just(0.1)
        ]
        .prop_map(Tree::Float),
        "[ab]{0,3}".prop_map(Tree::Text),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Tree::List),
            proptest::collection::btree_map("[ab]{0,2}", inner, 0..3).prop_map(Tree::Map),
        ]
    })
}

/// An equal tree of other Rust types: an `f64` that an `f32` holds exactly (NaN payloads
/// included) becomes that `f32`.
fn twin(tree: &Tree) -> Tree {
    match tree {
        Tree::Float(x) => {
            let narrow = if x.is_nan() {
                let b = x.to_bits();
                let low = b & ((1 << 29) - 1);
                (low == 0).then(|| {
                    f32::from_bits(
                        (((b >> 63) as u32) << 31) | 0x7f80_0000 | ((b >> 29) as u32 & 0x7f_ffff),
                    )
                })
            } else {
                let f = *x as f32;
                (f64::from(f).to_bits() == x.to_bits()).then_some(f)
            };
            narrow.map_or(Tree::Float(*x), Tree::Single)
        }
        Tree::List(items) => Tree::List(items.iter().map(twin).collect()),
        Tree::Map(entries) => {
            Tree::Map(entries.iter().map(|(k, v)| (k.clone(), twin(v))).collect())
        }
        other => other.clone(),
    }
}
