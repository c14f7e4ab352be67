//! Round-trips through `fleche::codec::{encode, decode}`: every serde data model shape, the
//! compact forms of number sequences, and the error messages.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use fleche::codec::{CodecError, MAX_DEPTH, decode, encode};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

#[track_caller]
fn rt<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> Vec<u8> {
    let bytes = encode(value).unwrap_or_else(|e| panic!("encode {value:?}: {e}"));
    let back: T =
        decode(&bytes).unwrap_or_else(|e| panic!("decode {value:?} from {bytes:02x?}: {e}"));
    assert_eq!(&back, value, "bytes {bytes:02x?}");
    bytes
}

fn decode_err<T: DeserializeOwned + Debug>(bytes: &[u8]) -> String {
    match decode::<T>(bytes) {
        Ok(v) => panic!("decoded {v:?} from {bytes:02x?}"),
        Err(CodecError::Decode(msg)) => msg,
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// An `f64` compared bit for bit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
struct Bits(f64);

impl PartialEq for Bits {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Unit,
    Newtype(f64),
    Tuple(i32, String),
    Struct { x: i64, y: Option<u8> },
    Bytes(Vec<u8>),
    Floats(Vec<f64>),
    EmptyTuple(),
    EmptyStruct {},
    Pair(u8, u8),
}

#[test]
fn enums_of_every_variant_kind() {
    let unit = rt(&Shape::Unit);
    assert_eq!(unit, b"\x64Unit");
    let newtype = rt(&Shape::Newtype(1.5));
    assert_eq!(newtype, b"\xa1\x67Newtype\xf9\x3e\x00");
    rt(&Shape::Tuple(-7, "seven".into()));
    rt(&Shape::Struct {
        x: i64::MIN,
        y: Some(3),
    });
    rt(&Shape::Struct { x: 0, y: None });
    rt(&Shape::Bytes(vec![1, 2, 3]));
    rt(&Shape::Floats(vec![0.1, 0.2]));
    rt(&Shape::EmptyTuple());
    rt(&Shape::EmptyStruct {});
    rt(&Shape::Pair(1, 2));
    rt(&vec![Shape::Unit, Shape::Newtype(2.0), Shape::Unit]);
    // A unit variant may also be written as `{name: null}`.
    assert_eq!(decode::<Shape>(b"\xa1\x64Unit\xf6").unwrap(), Shape::Unit);
}

#[test]
fn options() {
    rt(&Some(5u32));
    rt(&None::<u32>);
    rt(&Some("x".to_owned()));
    rt(&Some(vec![1u8, 2]));
    rt(&vec![Some(1.5), None, Some(-0.0)]);
    rt(&vec![Some(1.5f64), Some(2.5)]);
    rt(&(None::<u8>, Some(Some(3u8))));
    // `Some` of something written as `null` keeps a mark of its own, at any depth.
    rt(&Some(None::<u8>));
    rt(&Some(()));
    rt(&Some(Some(None::<u8>)));
    rt(&Some(Some(Some(()))));
    rt(&vec![
        None,
        Some(None),
        Some(Some(Some(1u8))),
        Some(Some(None)),
    ]);
    rt(&(Some(Marker), None::<Marker>));
    assert_ne!(
        encode(&Some(None::<u8>)).unwrap(),
        encode(&None::<Option<u8>>).unwrap()
    );
    assert_eq!(encode(&Some(None::<u8>)).unwrap(), [0xd9, 0xf1, 0xec, 0xf6]);
    // Only where needed: an ordinary `Some` is its content.
    assert_eq!(encode(&Some(5u8)).unwrap(), encode(&5u8).unwrap());
    assert_eq!(encode(&Some(Some(5u8))).unwrap(), encode(&5u8).unwrap());
    // A reader that does not know the types sees the mark as `Some`.
    let bytes = encode(&Some(None::<u8>)).unwrap();
    assert_eq!(fleche::codec::inspect::summary(&bytes, 40), "Some(null)");
    let item = fleche::codec::inspect::Item::parse(&bytes).unwrap();
    assert_eq!(item.kind(), fleche::codec::inspect::Kind::Some);
    // Through serde's buffering (untagged enums) too.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Either {
        Nested(Option<Option<u8>>),
    }
    rt(&Either::Nested(Some(None)));
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    name: String,
    weights: Vec<f64>,
    tags: BTreeMap<String, i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Outer {
    id: u64,
    inner: Inner,
    children: Vec<Inner>,
    maybe: Option<Box<Outer>>,
    unit: (),
    marker: Marker,
    wrapped: Wrapped,
    pair: TuplePair,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Wrapped(String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TuplePair(i8, char);

fn inner(n: usize) -> Inner {
    Inner {
        name: format!("inner {n}"),
        weights: (0..n).map(|i| i as f64 / 3.0).collect(),
        tags: (0..n).map(|i| (format!("t{i}"), i as i32 - 2)).collect(),
    }
}

#[test]
fn nested_structs() {
    let leaf = Outer {
        id: 1,
        inner: inner(3),
        children: vec![],
        maybe: None,
        unit: (),
        marker: Marker,
        wrapped: Wrapped("w".into()),
        pair: TuplePair(-1, 'é'),
    };
    let outer = Outer {
        id: u64::MAX,
        inner: inner(0),
        children: vec![inner(1), inner(2)],
        maybe: Some(Box::new(leaf)),
        unit: (),
        marker: Marker,
        wrapped: Wrapped(String::new()),
        pair: TuplePair(i8::MIN, '\u{10ffff}'),
    };
    rt(&outer);
}

#[test]
fn maps_with_any_keys() {
    let mut by_int: HashMap<u32, String> = HashMap::new();
    by_int.insert(0, "zero".into());
    by_int.insert(u32::MAX, "max".into());
    rt(&by_int);
    let mut by_text: HashMap<String, Vec<f64>> = HashMap::new();
    by_text.insert("a".into(), vec![1.0]);
    by_text.insert(String::new(), vec![]);
    rt(&by_text);
    let by_neg: BTreeMap<i64, bool> = [(-5, true), (i64::MIN, false), (7, true)].into();
    rt(&by_neg);
    let by_tuple: BTreeMap<(u8, u8), char> = [((1, 2), 'a'), ((3, 4), 'b')].into();
    rt(&by_tuple);
    let by_enum: BTreeMap<String, Shape> = [("s".into(), Shape::Unit)].into();
    rt(&by_enum);
    let by_struct: Vec<(Inner, u8)> = vec![(inner(2), 1)];
    rt(&by_struct);
    rt(&HashMap::<u8, u8>::new());
}

#[test]
fn tuples_and_unit() {
    rt(&());
    rt(&(1u8,));
    rt(&(1u8, "two".to_owned(), 3.5f64, -4i64));
    rt(&((), ((1u16, 2u16), [3u8; 3])));
    rt(&[1.0f64, 2.0, 3.0]);
    rt(&[7u8; 32]);
    rt(&[[1i32; 4]; 4]);
}

#[test]
fn byte_vectors_are_byte_strings() {
    // An empty sequence has no elements to tell its type by: it is an empty array.
    assert_eq!(rt(&Vec::<u8>::new()), [0x80]);
    assert_eq!(rt(&vec![1u8, 2, 3]), [0x43, 1, 2, 3]);
    for len in [23usize, 24, 255, 256, 65_535, 65_536, 1_000_000] {
        let v: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let bytes = rt(&v);
        let overhead = bytes.len() - len;
        assert!(overhead <= 5, "{len} bytes encoded in {}", bytes.len());
        assert_eq!(bytes[bytes.len() - len..], v[..]);
    }
    let digest = [0xabu8; 32];
    assert_eq!(rt(&digest).len(), 34);
}

#[test]
fn float_vectors_are_typed_arrays() {
    assert_eq!(rt(&Vec::<f64>::new()), [0x80]);
    let v: Vec<f64> = (0..1000).map(|i| (i as f64).sqrt()).collect();
    let bytes = rt(&v);
    // Tag 86 (2 bytes), byte-string head (3 bytes), 8000 bytes of little-endian floats.
    assert_eq!(bytes.len(), 8 * 1000 + 5);
    assert_eq!(&bytes[..5], &[0xd8, 86, 0x59, 0x1f, 0x40]);
    assert_eq!(&bytes[5..13], &v[0].to_le_bytes());
    let big: Vec<f64> = (0..200_000).map(|i| i as f64 * 0.25).collect();
    assert_eq!(rt(&big).len(), 8 * 200_000 + 7);
    let single: Vec<f32> = (0..1000).map(|i| i as f32 / 7.0).collect();
    assert_eq!(rt(&single).len(), 4 * 1000 + 5);
    assert_eq!(rt(&single)[1], 85);
}

#[test]
fn integer_vectors_are_typed_arrays() {
    let i64s: Vec<i64> = vec![i64::MIN, -1, 0, 1, i64::MAX];
    let b = rt(&i64s);
    assert_eq!((b[1], b.len()), (79, 2 + 2 + 40));
    let u64s: Vec<u64> = vec![0, u64::MAX, 12];
    assert_eq!(rt(&u64s)[1], 71);
    let i32s: Vec<i32> = (-500..500).collect();
    assert_eq!(rt(&i32s)[1], 78);
    let u32s: Vec<u32> = vec![u32::MAX, 0];
    assert_eq!(rt(&u32s)[1], 70);
    let i16s: Vec<i16> = vec![i16::MIN, i16::MAX];
    assert_eq!(rt(&i16s)[1], 77);
    let u16s: Vec<u16> = vec![u16::MAX, 1];
    assert_eq!(rt(&u16s)[1], 69);
    let i8s: Vec<i8> = vec![i8::MIN, -1, i8::MAX];
    assert_eq!(rt(&i8s)[1], 72);
}

#[test]
fn typed_arrays_convert_between_element_types() {
    let bytes = encode(&vec![1u32, 2, u32::MAX]).unwrap();
    assert_eq!(
        decode::<Vec<u64>>(&bytes).unwrap(),
        vec![1, 2, u64::from(u32::MAX)]
    );
    assert_eq!(
        decode::<Vec<i64>>(&bytes).unwrap(),
        vec![1, 2, i64::from(u32::MAX)]
    );
    assert!(decode::<Vec<u16>>(&bytes).is_err());
    let floats = encode(&vec![0.1f64, 0.5]).unwrap();
    assert_eq!(decode::<Vec<f32>>(&floats).unwrap(), vec![0.1f32, 0.5]);
    let singles = encode(&vec![0.1f32, 0.5]).unwrap();
    assert_eq!(
        decode::<Vec<f64>>(&singles).unwrap(),
        vec![f64::from(0.1f32), 0.5]
    );
    let bytes = encode(&vec![1u8, 2]).unwrap();
    assert_eq!(decode::<Vec<u32>>(&bytes).unwrap(), vec![1, 2]);
    assert_eq!(decode::<(u8, i64)>(&bytes).unwrap(), (1, 2));
    assert!(decode::<(u8, u8, u8)>(&bytes).is_err());
    assert!(decode::<(u8,)>(&bytes).is_err());
}

/// Elements of one type up to a point, then of another: the packed prefix is rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Loose {
    Small(u8),
    Float(f64),
    Text(String),
}

#[test]
fn mixed_sequences_fall_back_to_arrays() {
    rt(&vec![
        Loose::Small(1),
        Loose::Small(2),
        Loose::Text("x".into()),
        Loose::Small(3),
    ]);
    rt(&vec![
        Loose::Float(0.5),
        Loose::Float(1.25),
        Loose::Small(3),
    ]);
    rt(&(1u8, 2u8, 3u16));
    rt(&(1.5f64, 2.5f32));
    rt(&(1u8, "a".to_owned()));
    let bytes = rt(&(1u8, 2u8, 300u16));
    assert_eq!(bytes, [0x83, 1, 2, 0x19, 0x01, 0x2c]);
    rt(&vec![Some(1u8), None, Some(3)]);
    rt(&vec![Some(1.5f64), Some(f64::NAN)]
        .into_iter()
        .map(|o| o.map(Bits))
        .collect::<Vec<_>>());
}

/// Serializes its items through `serialize_seq(None)`, or with a wrong length hint.
#[derive(Debug)]
struct Unsized<T>(Vec<T>, Option<usize>);

impl<T: Serialize> Serialize for Unsized<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(self.1)?;
        for x in &self.0 {
            seq.serialize_element(x)?;
        }
        seq.end()
    }
}

#[test]
fn sequences_of_unknown_or_wrong_length() {
    for hint in [None, Some(0), Some(2), Some(5), Some(100)] {
        let v = vec![1.5f64, 2.5, 3.5, 4.5, 5.5];
        assert_eq!(
            decode::<Vec<f64>>(&encode(&Unsized(v.clone(), hint)).unwrap()).unwrap(),
            v
        );
        let b = vec![1u8, 2, 3];
        assert_eq!(
            decode::<Vec<u8>>(&encode(&Unsized(b.clone(), hint)).unwrap()).unwrap(),
            b
        );
        let s = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            decode::<Vec<String>>(&encode(&Unsized(s.clone(), hint)).unwrap()).unwrap(),
            s
        );
        let e: Vec<u8> = vec![];
        assert_eq!(
            decode::<Vec<u8>>(&encode(&Unsized(e.clone(), hint)).unwrap()).unwrap(),
            e
        );
        let m = vec![Loose::Small(1), Loose::Text("t".into())];
        assert_eq!(
            decode::<Vec<Loose>>(&encode(&Unsized(m.clone(), hint)).unwrap()).unwrap(),
            m
        );
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Skippy {
    a: u8,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    b: Option<String>,
    #[serde(skip)]
    c: u8,
}

#[test]
fn skipped_fields() {
    rt(&Skippy {
        a: 1,
        b: None,
        c: 0,
    });
    rt(&Skippy {
        a: 1,
        b: Some("b".into()),
        c: 0,
    });
}

#[test]
fn text_and_chars() {
    rt(&'a');
    rt(&'\u{1F600}');
    rt(&String::new());
    rt(&"héllo wörld ✓ \u{0} \n".to_owned());
    rt(&"x".repeat(100_000));
    assert_eq!(encode("abc").unwrap(), b"\x63abc");
    assert_eq!(encode(&'z').unwrap(), b"\x61z");
}

#[test]
fn integer_extremes() {
    for v in [
        0i128,
        -1,
        1,
        i128::MIN,
        i128::MAX,
        i64::MIN.into(),
        i64::MAX.into(),
    ] {
        rt(&v);
    }
    let min_nint = -1 - i128::from(u64::MAX);
    assert_eq!(
        rt(&min_nint),
        [0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
    let bignum = rt(&(min_nint - 1));
    assert_eq!(&bignum[..3], &[0xc3, 0x49, 0x01]);
    for v in [0u128, u128::MAX, u64::MAX.into(), u128::from(u64::MAX) + 1] {
        rt(&v);
    }
    assert_eq!(rt(&u128::MAX).len(), 1 + 1 + 16);
    assert_eq!(
        rt(&(u128::from(u64::MAX) + 1)),
        [0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    rt(&(u8::MAX, u16::MAX, u32::MAX, u64::MAX));
    rt(&(i8::MIN, i16::MIN, i32::MIN, i64::MIN));
    // Small 128-bit values use the ordinary forms and decode into any wide-enough type.
    assert_eq!(encode(&5u128).unwrap(), [5]);
    assert_eq!(
        decode::<i128>(&encode(&u64::MAX).unwrap()).unwrap(),
        i128::from(u64::MAX)
    );
    assert_eq!(decode::<u64>(&encode(&7u128).unwrap()).unwrap(), 7);
    assert!(decode::<u64>(&encode(&u128::MAX).unwrap()).is_err());
    assert!(decode::<i128>(&encode(&u128::MAX).unwrap()).is_err());
}

#[test]
fn float_specials_are_bit_exact() {
    for v in [
        0.0f64,
        -0.0,
        1.0,
        -1.5,
        0.1,
        1e300,
        -1e-300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        65504.0,
        1e-7,
    ] {
        rt(&Bits(v));
    }
    for v in [f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(rt(&Bits(v)).len(), 3);
    }
    let nan: f64 = decode(&encode(&f64::NAN).unwrap()).unwrap();
    assert!(nan.is_nan());
    rt(&Bits(f64::NAN));
    rt(&Bits(f64::from_bits(0x7ff0_0000_0000_0001)));
    rt(&Bits(f64::from_bits(0xfff8_0000_dead_beef)));
    // Signalling NaNs short enough for binary32 and binary16 come back signalling.
    rt(&Bits(f64::from_bits(0x7ff0_0000_2000_0000)));
    rt(&Bits(f64::from_bits(0xfff0_0400_0000_0000)));
    rt(&vec![
        Bits(f64::from_bits(0x7ff0_0000_2000_0000)),
        Bits(1.0),
    ]);
    assert_eq!(encode(&-0.0f64).unwrap(), [0xf9, 0x80, 0x00]);
    assert_eq!(encode(&1.5f64).unwrap(), [0xf9, 0x3e, 0x00]);
    assert_eq!(encode(&0.1f32).unwrap().len(), 5);
    assert_eq!(encode(&0.1f64).unwrap().len(), 9);
    for v in [
        0.0f32,
        -0.0,
        0.1,
        f32::MAX,
        f32::MIN_POSITIVE,
        1e-45,
        f32::INFINITY,
    ] {
        let back: f32 = decode(&encode(&v).unwrap()).unwrap();
        assert_eq!(back.to_bits(), v.to_bits());
    }
    let back: f32 = decode(&encode(&f32::NAN).unwrap()).unwrap();
    assert!(back.is_nan());
    let floats = vec![
        Bits(f64::NAN),
        Bits(-0.0),
        Bits(f64::INFINITY),
        Bits(5e-324),
    ];
    rt(&floats);
}

#[test]
fn byte_buffers() {
    rt(&serde_bytes::ByteBuf::from(vec![0u8, 1, 255]));
    rt(&serde_bytes::ByteBuf::new());
    let bytes = encode(&serde_bytes::ByteBuf::from(vec![9u8; 300])).unwrap();
    assert_eq!(bytes.len(), 303);
    // Either form decodes into either type.
    assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), vec![9u8; 300]);
    let from_vec: serde_bytes::ByteBuf = decode(&encode(&vec![4u8, 5]).unwrap()).unwrap();
    assert_eq!(from_vec.into_vec(), vec![4, 5]);
    let from_array: serde_bytes::ByteBuf = decode(&encode(&vec![4u16, 5]).unwrap()).unwrap();
    assert_eq!(from_array.into_vec(), vec![4, 5]);
    let from_items: serde_bytes::ByteBuf =
        decode(&encode(&(4u8, "x")).unwrap()[..2]).unwrap_or_default();
    assert!(from_items.is_empty());
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Flat {
    id: u32,
    #[serde(flatten)]
    meta: Meta,
    #[serde(flatten)]
    extra: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    label: String,
    blob: Vec<u8>,
    series: Vec<f64>,
    when: Option<i64>,
}

#[test]
fn flattened_structs() {
    let flat = Flat {
        id: 7,
        meta: Meta {
            label: "m".into(),
            blob: vec![1, 2, 3],
            series: vec![0.5, 1.5],
            when: None,
        },
        extra: [("other".to_owned(), 9)].into(),
    };
    rt(&flat);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
enum Internal {
    Unit,
    Newtype(Meta),
    Struct {
        a: u8,
        data: Vec<u8>,
        floats: Vec<f64>,
        ints: Vec<i32>,
        text: String,
        opt: Option<bool>,
    },
    Map(BTreeMap<String, Vec<u8>>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    A(Vec<u8>),
    B { x: f64 },
    C,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Bytes(Vec<u8>),
    Pair(String, i64),
    Record { name: String },
}

#[test]
fn internally_tagged_enums() {
    rt(&Internal::Unit);
    rt(&Internal::Newtype(Meta {
        label: "x".into(),
        blob: vec![],
        series: vec![1.0],
        when: Some(-3),
    }));
    rt(&Internal::Struct {
        a: 255,
        data: vec![0, 1, 2, 255],
        floats: vec![0.25, f64::MAX],
        ints: vec![i32::MIN, 0],
        text: "t".into(),
        opt: Some(false),
    });
    rt(&Internal::Map([("k".to_owned(), vec![1u8, 2])].into()));
    rt(&vec![Internal::Unit, Internal::Unit]);
}

#[test]
fn adjacently_tagged_and_untagged_enums() {
    rt(&Adjacent::A(vec![1, 2]));
    rt(&Adjacent::B { x: 0.1 });
    rt(&Adjacent::C);
    rt(&Untagged::Bytes(vec![3, 4]));
    rt(&Untagged::Pair("p".into(), -9));
    rt(&Untagged::Record { name: "r".into() });
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Wide {
    a: u8,
    b: String,
    c: Vec<Inner>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Narrow {
    b: String,
}

#[test]
fn unknown_fields_are_skipped() {
    let wide = Wide {
        a: 1,
        b: "keep".into(),
        c: vec![inner(3)],
    };
    let narrow: Narrow = decode(&encode(&wide).unwrap()).unwrap();
    assert_eq!(narrow, Narrow { b: "keep".into() });
}

/// Keys are matched against the field names of the struct being read, whichever struct
/// encloses it and in whatever order the keys come.
#[test]
fn field_names_are_matched_in_any_order_and_at_any_depth() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Kind {
        #[serde(rename = "outer")]
        Outer,
        #[serde(rename = "first")]
        First(u8),
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct In {
        first: Kind,
        second: Option<Box<In>>,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Out {
        first: In,
        outer: Kind,
        last: BTreeMap<String, In>,
    }
    let leaf = || In {
        first: Kind::First(1),
        second: None,
    };
    rt(&Out {
        first: In {
            first: Kind::Outer,
            second: Some(Box::new(leaf())),
        },
        outer: Kind::First(2),
        last: BTreeMap::from([("first".to_owned(), leaf()), ("second".to_owned(), leaf())]),
    });
    #[derive(Serialize)]
    struct Reversed {
        second: Option<()>,
        zzz: u8,
        first: &'static str,
    }
    let back: In = decode(
        &encode(&Reversed {
            second: None,
            zzz: 0,
            first: "outer",
        })
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        back,
        In {
            first: Kind::Outer,
            second: None
        }
    );
}

#[test]
fn errors_say_what_was_expected_and_found() {
    let msg = decode_err::<u64>(&encode("abc").unwrap());
    assert!(msg.contains("expected u64, found text \"abc\""), "{msg}");
    let msg = decode_err::<String>(&encode(&5u8).unwrap());
    assert!(msg.contains("expected a string, found integer 5"), "{msg}");
    let msg = decode_err::<Narrow>(&encode(&vec![1.5f64]).unwrap());
    assert!(msg.contains("expected a string, found float 1.5"), "{msg}");
    let msg = decode_err::<Narrow>(&encode(&1.5f64).unwrap());
    assert!(msg.contains("expected struct Narrow, found float"), "{msg}");
    let msg = decode_err::<Vec<String>>(&encode(&vec![1.5f64]).unwrap());
    assert!(msg.contains("expected a string, found float 1.5"), "{msg}");
    let msg = decode_err::<Narrow>(
        &encode(&Wide {
            a: 1,
            b: "x".into(),
            c: vec![],
        })
        .unwrap()[..3],
    );
    assert!(
        msg.contains("map (3 entries) runs past the end of the input"),
        "{msg}"
    );
    let msg = decode_err::<Narrow>(
        &encode(&Wide {
            a: 1,
            b: "x".into(),
            c: vec![],
        })
        .unwrap()[..9],
    );
    assert!(msg.contains("end of input"), "{msg}");
    let msg = decode_err::<u8>(&encode(&300u16).unwrap());
    assert!(msg.contains("expected u8"), "{msg}");
    let msg = decode_err::<Shape>(&encode(&7u8).unwrap());
    assert!(
        msg.contains("expected enum Shape, found integer 7"),
        "{msg}"
    );
    let msg = decode_err::<Shape>(b"\x64Nope");
    assert!(msg.contains("Nope"), "{msg}");
    let msg = decode_err::<Narrow>(&encode(&BTreeMap::<String, String>::new()).unwrap());
    assert!(msg.contains("missing field `b`"), "{msg}");
    let msg = decode_err::<()>(&encode(&true).unwrap());
    assert!(msg.contains("expected unit, found true"), "{msg}");
    let msg = decode_err::<Vec<u8>>(&encode("s").unwrap());
    assert!(msg.contains("expected a sequence, found text"), "{msg}");
    let mut long = encode(&1u8).unwrap();
    long.push(0);
    let msg = decode_err::<u8>(&long);
    assert!(msg.contains("1 trailing bytes"), "{msg}");
    let msg = decode_err::<u8>(&[]);
    assert!(msg.contains("unexpected end of input"), "{msg}");
    let msg = decode_err::<Vec<u8>>(&[0x5f, 0x41, 0x00, 0xff]);
    assert!(msg.contains("indefinite-length"), "{msg}");
    let msg = decode_err::<String>(&[0x62, 0xff, 0xfe]);
    assert!(msg.contains("UTF-8"), "{msg}");
    let msg = decode_err::<Wide>(
        &encode(&Wide {
            a: 1,
            b: "x".into(),
            c: vec![],
        })
        .unwrap()[..6],
    );
    assert!(
        msg.contains("end of input") || msg.contains("past the end"),
        "{msg}"
    );
    // The display form carries the context.
    let e = decode::<u64>(&encode("abc").unwrap()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot decode value: expected u64, found text"),
        "{e}"
    );
    assert!(e.to_string().ends_with("at byte 0"), "{e}");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Node {
    next: Option<Box<Node>>,
}

fn chain(n: usize) -> Node {
    let mut node = Node { next: None };
    for _ in 1..n {
        node = Node {
            next: Some(Box::new(node)),
        };
    }
    node
}

#[test]
fn nesting_is_capped_on_both_sides() {
    rt(&chain(MAX_DEPTH));
    let err = encode(&chain(MAX_DEPTH + 1)).unwrap_err();
    assert!(
        matches!(&err, CodecError::Encode(m) if m.contains("deeper than 256")),
        "{err}"
    );
    // The same depth built by hand is refused by the decoder.
    let mut bytes = Vec::new();
    for _ in 0..=MAX_DEPTH {
        bytes.extend_from_slice(b"\xa1\x64next");
    }
    bytes.push(0xf6);
    let msg = decode_err::<Node>(&bytes);
    assert!(msg.contains("nesting deeper than 256"), "{msg}");
    bytes.drain(..6);
    assert_eq!(decode::<Node>(&bytes).unwrap(), chain(MAX_DEPTH));
    // Sequences of numbers pack into scalars, so they do not add a level.
    rt(&vec![vec![vec![1u8]]]);
}

#[test]
fn unknown_tags_are_transparent() {
    // 1(1700000000): an epoch timestamp decodes as its number.
    assert_eq!(
        decode::<u64>(&[0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00]).unwrap(),
        1_700_000_000
    );
    assert_eq!(
        decode::<Vec<u8>>(&[0xd8, 0x40, 0x42, 1, 2]).unwrap(),
        vec![1, 2]
    );
    assert_eq!(
        decode::<Vec<u16>>(&[0xd8, 0x41, 0x44, 0, 1, 0, 2]).unwrap(),
        vec![1, 2]
    );
    assert_eq!(
        decode::<Vec<f32>>(&[0xd8, 0x54, 0x42, 0x00, 0x3c]).unwrap(),
        vec![1.0]
    );
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Tree {
    Leaf,
    Flag(bool),
    Int(i64),
    Big(i128),
    Huge(u128),
    Float(Bits),
    Text(String),
    Bytes(Vec<u8>),
    Floats(Vec<Bits>),
    Ints(Vec<i32>),
    Opt(Option<Box<Tree>>),
    List(Vec<Tree>),
    Map(BTreeMap<String, Tree>),
    IntMap(BTreeMap<i64, Tree>),
    Pair(Box<Tree>, Box<Tree>),
    Record {
        a: u8,
        b: Option<String>,
        c: Vec<Tree>,
    },
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        Just(Tree::Leaf),
        any::<bool>().prop_map(Tree::Flag),
        any::<i64>().prop_map(Tree::Int),
        any::<i128>().prop_map(Tree::Big),
        any::<u128>().prop_map(Tree::Huge),
        any::<u64>().prop_map(|b| Tree::Float(Bits(f64::from_bits(b)))),
        any::<f64>().prop_map(|f| Tree::Float(Bits(f))),
        ".{0,20}".prop_map(Tree::Text),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Tree::Bytes),
        proptest::collection::vec(any::<f64>().prop_map(Bits), 0..10).prop_map(Tree::Floats),
        proptest::collection::vec(any::<i32>(), 0..10).prop_map(Tree::Ints),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::option::of(inner.clone().prop_map(Box::new)).prop_map(Tree::Opt),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Tree::List),
            proptest::collection::btree_map(".{0,8}", inner.clone(), 0..5).prop_map(Tree::Map),
            proptest::collection::btree_map(any::<i64>(), inner.clone(), 0..5)
                .prop_map(Tree::IntMap),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Tree::Pair(Box::new(a), Box::new(b))),
            (
                any::<u8>(),
                proptest::option::of(".{0,5}"),
                proptest::collection::vec(inner, 0..4)
            )
                .prop_map(|(a, b, c)| Tree::Record { a, b, c }),
        ]
    })
}

proptest! {
    #[test]
    fn trees_round_trip(value in tree()) {
        let bytes = encode(&value).unwrap();
        prop_assert_eq!(decode::<Tree>(&bytes).unwrap(), value);
        fleche::codec::inspect::Item::parse(&bytes).unwrap();
    }

    #[test]
    fn number_vectors_round_trip(
        u8s in proptest::collection::vec(any::<u8>(), 0..100),
        i64s in proptest::collection::vec(any::<i64>(), 0..100),
        u64s in proptest::collection::vec(any::<u64>(), 0..100),
        f32s in proptest::collection::vec(any::<u32>().prop_map(f32::from_bits), 0..100),
        f64s in proptest::collection::vec(any::<u64>().prop_map(|b| Bits(f64::from_bits(b))), 0..100),
    ) {
        prop_assert_eq!(decode::<Vec<u8>>(&encode(&u8s).unwrap()).unwrap(), u8s.clone());
        prop_assert_eq!(decode::<Vec<i64>>(&encode(&i64s).unwrap()).unwrap(), i64s);
        prop_assert_eq!(decode::<Vec<u64>>(&encode(&u64s).unwrap()).unwrap(), u64s);
        let back: Vec<f32> = decode(&encode(&f32s).unwrap()).unwrap();
        prop_assert_eq!(back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(), f32s.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
        prop_assert_eq!(decode::<Vec<Bits>>(&encode(&f64s).unwrap()).unwrap(), f64s.clone());
        prop_assert!(encode(&u8s).unwrap().len() <= u8s.len() + 3);
        prop_assert!(encode(&f64s).unwrap().len() <= 8 * f64s.len() + 5);
    }

    #[test]
    fn scalars_round_trip(a in any::<i128>(), b in any::<u128>(), c in any::<char>(), d in any::<u64>(), e in ".*") {
        prop_assert_eq!(decode::<i128>(&encode(&a).unwrap()).unwrap(), a);
        prop_assert_eq!(decode::<u128>(&encode(&b).unwrap()).unwrap(), b);
        prop_assert_eq!(decode::<char>(&encode(&c).unwrap()).unwrap(), c);
        let bits = Bits(f64::from_bits(d));
        prop_assert_eq!(decode::<Bits>(&encode(&bits).unwrap()).unwrap(), bits);
        prop_assert_eq!(decode::<String>(&encode(&e).unwrap()).unwrap(), e);
    }
}

#[test]
#[ignore = "prints error messages for review"]
fn show_error_messages() {
    let cases: Vec<String> = vec![
        decode::<u64>(&encode("abc").unwrap())
            .unwrap_err()
            .to_string(),
        decode::<Narrow>(&encode(&vec![1.5f64]).unwrap())
            .unwrap_err()
            .to_string(),
        decode::<Narrow>(&encode(&1.5f64).unwrap())
            .unwrap_err()
            .to_string(),
        decode::<Shape>(&encode(&BTreeMap::from([("a", 1), ("b", 2)])).unwrap())
            .unwrap_err()
            .to_string(),
        decode::<Vec<u8>>(&encode(&vec![1u16, 300]).unwrap())
            .unwrap_err()
            .to_string(),
        decode::<(u8, u8)>(&encode(&vec![1u8, 2, 3]).unwrap())
            .unwrap_err()
            .to_string(),
        decode::<[String; 2]>(&encode(&vec!["a", "b", "c"]).unwrap())
            .unwrap_err()
            .to_string(),
        decode::<Wide>(
            &encode(&Outer {
                id: 1,
                inner: inner(1),
                children: vec![],
                maybe: None,
                unit: (),
                marker: Marker,
                wrapped: Wrapped("w".into()),
                pair: TuplePair(1, 'c'),
            })
            .unwrap(),
        )
        .unwrap_err()
        .to_string(),
        decode::<Narrow>(
            &encode(&Wide {
                a: 1,
                b: "x".into(),
                c: vec![],
            })
            .unwrap()[..6],
        )
        .unwrap_err()
        .to_string(),
    ];
    for c in cases {
        println!("{c}");
    }
}
