//! Property tests of the rule that makes a content-addressed store safe: two values that
//! share a digest read back equal, and every value reads back as it was stored, bit for bit
//! for floats. Small domains make equal digests (and near misses such as `Some(None)` against
//! `None`, `-0.0` against `0.0`, NaN payloads) common.

use std::collections::BTreeMap;
use std::fmt::Debug;

use fleche::{codec, digest};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An `f64` compared by its bits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
struct F64(f64);

impl PartialEq for F64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

/// An `f32` compared by its bits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
struct F32(f32);

impl PartialEq for F32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum E {
    A,
    B(Option<()>),
    C { x: Option<Option<F64>>, y: Vec<u8> },
    D(F32),
    U(()),
    M(Marker),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct S {
    a: Option<Option<Option<()>>>,
    b: Vec<Option<Option<bool>>>,
    c: Option<F64>,
    d: BTreeMap<String, Option<()>>,
    e: Vec<E>,
    f: (i8, String),
    g: Vec<F64>,
    h: Option<Vec<i8>>,
}

fn f64s() -> impl Strategy<Value = F64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(-1.5),
        Just(0.1),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(5e-324),
        // NaNs with payloads, quiet and signalling, some short enough for binary16/32.
        (any::<bool>(), 1u64..(1 << 52))
            .prop_map(|(neg, m)| { f64::from_bits((u64::from(neg) << 63) | (0x7ff << 52) | m) }),
        (any::<bool>(), 1u64..(1 << 10)).prop_map(|(neg, m)| {
            f64::from_bits((u64::from(neg) << 63) | (0x7ff << 52) | (m << 42))
        }),
        (any::<bool>(), 1u64..(1 << 23)).prop_map(|(neg, m)| {
            f64::from_bits((u64::from(neg) << 63) | (0x7ff << 52) | (m << 29))
        }),
    ]
    .prop_map(F64)
}

fn f32s() -> impl Strategy<Value = F32> {
    prop_oneof![
        Just(0.0f32),
        Just(-0.0),
        Just(0.1),
        Just(f32::INFINITY),
        Just(f32::NAN),
        (any::<bool>(), 1u32..(1 << 23))
            .prop_map(|(neg, m)| { f32::from_bits((u32::from(neg) << 31) | (0xff << 23) | m) }),
    ]
    .prop_map(F32)
}

fn options3() -> impl Strategy<Value = Option<Option<Option<()>>>> {
    prop_oneof![
        Just(None),
        Just(Some(None)),
        Just(Some(Some(None))),
        Just(Some(Some(Some(())))),
    ]
}

fn options_bool() -> impl Strategy<Value = Option<Option<bool>>> {
    prop_oneof![
        Just(None),
        Just(Some(None)),
        any::<bool>().prop_map(|b| Some(Some(b))),
    ]
}

fn enums() -> impl Strategy<Value = E> {
    prop_oneof![
        Just(E::A),
        Just(E::B(None)),
        Just(E::B(Some(()))),
        (
            prop_oneof![
                Just(None),
                Just(Some(None)),
                f64s().prop_map(|f| Some(Some(f)))
            ],
            proptest::collection::vec(0u8..3, 0..3),
        )
            .prop_map(|(x, y)| E::C { x, y }),
        f32s().prop_map(E::D),
        Just(E::U(())),
        Just(E::M(Marker)),
    ]
}

fn structs() -> impl Strategy<Value = S> {
    (
        options3(),
        proptest::collection::vec(options_bool(), 0..3),
        proptest::option::of(f64s()),
        proptest::collection::btree_map("[ab]{0,1}", proptest::option::of(Just(())), 0..3),
        proptest::collection::vec(enums(), 0..3),
        (-2i8..3, "[ab]{0,2}"),
        proptest::collection::vec(f64s(), 0..3),
        proptest::option::of(proptest::collection::vec(-1i8..2, 0..2)),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| S {
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
        })
}

fn stored<T: Serialize + DeserializeOwned>(value: &T) -> T {
    codec::decode(&codec::encode(value).unwrap()).unwrap()
}

/// Both halves of the rule for one pair of values of one type: each reads back equal to
/// itself, and they share a digest exactly when they read back equal.
fn check<T>(a: &T, b: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let (back_a, back_b) = (stored(a), stored(b));
    prop_assert_eq!(&back_a, a);
    prop_assert_eq!(&back_b, b);
    if digest(a) == digest(b) {
        prop_assert_eq!(&back_a, &back_b);
    }
    prop_assert_eq!(digest(a) == digest(b), a == b, "{:?} / {:?}", a, b);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nested_options(a in options3(), b in options3()) {
        check(&a, &b)?;
    }

    #[test]
    fn options_of_bools(a in options_bool(), b in options_bool()) {
        check(&a, &b)?;
    }

    #[test]
    fn floats(a in f64s(), b in f64s()) {
        check(&a, &b)?;
        check(&Some(a), &Some(b))?;
        check(&vec![a, b], &vec![b, a])?;
    }

    #[test]
    fn single_floats_widen_exactly(a in f32s(), b in f64s()) {
        check(&a, &F32(b.0 as f32))?;
        // An f32 and an f64 share a digest only if the f64 reads back as the same number.
        let wide: F64 = codec::decode(&codec::encode(&a).unwrap()).unwrap();
        if digest(&a) == digest(&b) {
            prop_assert_eq!(wide, stored(&b));
        }
        prop_assert_eq!(digest(&a), digest(&wide));
    }

    #[test]
    fn enums_of_every_kind(a in enums(), b in enums()) {
        check(&a, &b)?;
    }

    #[test]
    fn structs_of_everything(a in structs(), b in structs()) {
        check(&a, &b)?;
        check(&a, &a.clone())?;
    }
}

#[test]
fn near_misses_have_their_own_digests() {
    assert_ne!(digest(&Some(None::<u8>)), digest(&None::<Option<u8>>));
    assert_ne!(digest(&Some(())), digest(&None::<()>));
    assert_ne!(digest(&()), digest(&None::<()>));
    assert_ne!(digest(&-0.0f64), digest(&0.0f64));
    assert_ne!(digest(&f64::NAN), digest(&-f64::NAN));
    assert_eq!(stored(&Some(None::<u8>)), Some(None));
    assert_eq!(stored(&Some(())), Some(()));
    assert_eq!(stored(&F64(-0.0)), F64(-0.0));
}
