//! The lazy inspection API: `Item`, `Kind`, `children`, `nth_child` and `summary`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fleche::codec::inspect::{Elem, Item, Kind, summary};
use fleche::codec::{decode, encode};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    id: u32,
    name: String,
    score: f64,
    tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Red,
    Circle(f64),
    Rect { w: u8, h: u8 },
}

fn keys<'a>(item: &Item<'a>) -> Vec<&'a str> {
    item.children()
        .map(|c| c.unwrap().key.unwrap().as_str().unwrap())
        .collect()
}

/// The encoding of a `Vec<f64>` of `n` zeros, built without going through serde.
fn zeros_f64(n: usize) -> Vec<u8> {
    let mut bytes = vec![0xd8, 86, 0x5b];
    bytes.extend_from_slice(&((n * 8) as u64).to_be_bytes());
    bytes.resize(bytes.len() + n * 8, 0);
    bytes
}

#[test]
fn structs_are_maps_with_field_names() {
    let bytes = encode(&Point { x: 1, y: -2 }).unwrap();
    let item = Item::parse(&bytes).unwrap();
    assert_eq!(item.kind(), Kind::Map { len: 2 });
    assert_eq!(item.encoded_len(), bytes.len());
    assert_eq!(keys(&item), ["x", "y"]);
    let values: Vec<Kind<'_>> = item.children().map(|c| c.unwrap().value.kind()).collect();
    assert_eq!(values, [Kind::Int(1), Kind::Int(-2)]);
    let y = item.nth_child(1).unwrap().unwrap();
    assert_eq!(y.value.decode::<i64>().unwrap(), -2);
    assert!(item.nth_child(2).unwrap().is_none());
}

#[test]
fn scalar_kinds() {
    fn kind(bytes: &[u8]) -> Kind<'_> {
        Item::parse(bytes).unwrap().kind()
    }
    assert_eq!(kind(&encode(&()).unwrap()), Kind::Null);
    assert_eq!(kind(&[0xf7]), Kind::Undefined);
    assert_eq!(kind(&encode(&true).unwrap()), Kind::Bool(true));
    assert_eq!(kind(&encode(&-5i8).unwrap()), Kind::Int(-5));
    assert_eq!(
        kind(&encode(&u64::MAX).unwrap()),
        Kind::Int(u64::MAX.into())
    );
    assert_eq!(kind(&encode(&i128::MIN).unwrap()), Kind::Int(i128::MIN));
    let big = encode(&u128::MAX).unwrap();
    assert_eq!(
        kind(&big),
        Kind::BigInt {
            negative: false,
            magnitude: &[0xff; 16]
        }
    );
    assert_eq!(kind(&encode(&0.1f64).unwrap()), Kind::Float(0.1));
    assert_eq!(kind(&encode(&1.5f32).unwrap()), Kind::Float(1.5));
    assert_eq!(
        kind(&encode(&0.1f32).unwrap()),
        Kind::Float(f64::from(0.1f32))
    );
    assert_eq!(kind(&encode("héllo").unwrap()), Kind::Text("héllo"));
    assert_eq!(kind(&encode(&'c').unwrap()), Kind::Text("c"));
    assert_eq!(kind(&[0xf8, 0x20]), Kind::Simple(32));
    assert_eq!(kind(&encode(&Shape::Red).unwrap()), Kind::Text("Red"));
    let bytes = encode(&vec![1u8, 2, 3]).unwrap();
    let item = Item::parse(&bytes).unwrap();
    assert_eq!(item.kind(), Kind::Bytes { len: 3 });
    assert_eq!(item.as_bytes(), Some(&[1u8, 2, 3][..]));
    assert_eq!(item.children().count(), 0);
    assert_eq!(kind(&[0xc1, 0x00]), Kind::Tag(1));
}

#[test]
fn enums_show_their_variant_as_a_key() {
    let bytes = encode(&Shape::Rect { w: 3, h: 4 }).unwrap();
    let item = Item::parse(&bytes).unwrap();
    assert_eq!(item.kind(), Kind::Map { len: 1 });
    let variant = item.nth_child(0).unwrap().unwrap();
    assert_eq!(variant.key.unwrap().kind(), Kind::Text("Rect"));
    assert_eq!(keys(&variant.value), ["w", "h"]);
    assert_eq!(
        variant.value.decode::<BTreeMap<String, u8>>().unwrap(),
        [("w".into(), 3), ("h".into(), 4)].into()
    );
}

#[test]
fn typed_arrays_are_indexed_directly() {
    let v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5).collect();
    let bytes = encode(&v).unwrap();
    let item = Item::parse(&bytes).unwrap();
    assert_eq!(
        item.kind(),
        Kind::TypedArray {
            elem: Elem::F64,
            len: 1000
        }
    );
    let first: Vec<Kind<'_>> = item
        .children()
        .take(3)
        .map(|c| c.unwrap().value.kind())
        .collect();
    assert_eq!(
        first,
        [Kind::Float(0.0), Kind::Float(0.5), Kind::Float(1.0)]
    );
    let last = item.nth_child(999).unwrap().unwrap().value;
    assert_eq!(last.kind(), Kind::Float(499.5));
    assert_eq!(last.encoded_len(), 8);
    assert_eq!(last.decode::<f64>().unwrap(), 499.5);
    assert!(item.nth_child(1000).unwrap().is_none());
    let mut children = item.children();
    assert_eq!(children.size_hint(), (1000, Some(1000)));
    assert_eq!(
        children.nth(10).unwrap().unwrap().value.kind(),
        Kind::Float(5.0)
    );
    assert_eq!(
        children.next().unwrap().unwrap().value.kind(),
        Kind::Float(5.5)
    );
    assert_eq!(children.len_hint(), 988);

    let ints = encode(&vec![i32::MIN, 7]).unwrap();
    let item = Item::parse(&ints).unwrap();
    assert_eq!(
        item.kind(),
        Kind::TypedArray {
            elem: Elem::I32,
            len: 2
        }
    );
    assert_eq!(
        item.nth_child(0).unwrap().unwrap().value.kind(),
        Kind::Int(i32::MIN.into())
    );
    // Big-endian typed arrays written by others read the same.
    let be = [0xd8, 65, 0x44, 0x01, 0x02, 0x03, 0x04];
    let item = Item::parse(&be).unwrap();
    assert_eq!(
        item.kind(),
        Kind::TypedArray {
            elem: Elem::U16,
            len: 2
        }
    );
    assert_eq!(
        item.nth_child(1).unwrap().unwrap().value.kind(),
        Kind::Int(0x0304)
    );
}

trait LenHint {
    fn len_hint(&self) -> usize;
}

impl<I: Iterator> LenHint for I {
    fn len_hint(&self) -> usize {
        self.size_hint().0
    }
}

#[test]
fn huge_typed_arrays_cost_only_what_is_read() {
    let n = 100_000_000 / 8;
    let bytes = zeros_f64(n);
    let start = Instant::now();
    let item = Item::parse(&bytes).unwrap();
    assert_eq!(
        item.kind(),
        Kind::TypedArray {
            elem: Elem::F64,
            len: n
        }
    );
    let first: Vec<_> = item
        .children()
        .take(20)
        .map(|c| c.unwrap().value.kind())
        .collect();
    assert_eq!(first, vec![Kind::Float(0.0); 20]);
    assert_eq!(
        item.nth_child(n - 1).unwrap().unwrap().value.kind(),
        Kind::Float(0.0)
    );
    let line = summary(&bytes, 60);
    let elapsed = start.elapsed();
    assert!(line.ends_with(&format!("… ({n} items)]")), "{line}");
    assert!(elapsed < Duration::from_millis(100), "took {elapsed:?}");
}

#[test]
fn arrays_of_structs_are_walked_lazily() {
    let rows: Vec<Row> = (0..10_000)
        .map(|i| Row {
            id: i,
            name: format!("row {i}"),
            score: f64::from(i) / 4.0,
            tags: vec!["t".into(); (i % 3) as usize],
        })
        .collect();
    let bytes = encode(&rows).unwrap();
    let item = Item::parse(&bytes).unwrap();
    assert_eq!(item.kind(), Kind::Array { len: 10_000 });
    let first: Vec<Row> = item
        .children()
        .take(3)
        .map(|c| c.unwrap().value.decode().unwrap())
        .collect();
    assert_eq!(first, rows[..3]);
    let row = item.nth_child(9_999).unwrap().unwrap().value;
    assert_eq!(row.decode::<Row>().unwrap(), rows[9_999]);
    assert_eq!(keys(&row), ["id", "name", "score", "tags"]);
    // Children's encodings concatenate to the parent's body.
    let total: usize = item
        .children()
        .map(|c| c.unwrap().value.encoded_len())
        .sum();
    assert_eq!(total + 3, bytes.len());
}

#[test]
fn tags_have_one_child() {
    let bytes = [0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00];
    let item = Item::parse(&bytes).unwrap();
    assert_eq!(item.kind(), Kind::Tag(1));
    let children: Vec<_> = item.children().map(|c| c.unwrap()).collect();
    assert_eq!(children.len(), 1);
    assert!(children[0].key.is_none());
    assert_eq!(children[0].value.kind(), Kind::Int(1_700_000_000));
}

#[test]
fn parse_checks_the_whole_item() {
    let mut bytes = encode(&vec!["a", "b"]).unwrap();
    bytes.push(0);
    assert!(
        Item::parse(&bytes)
            .unwrap_err()
            .to_string()
            .contains("1 trailing bytes")
    );
    let (item, rest) = Item::parse_prefix(&bytes).unwrap();
    assert_eq!((item.kind(), rest), (Kind::Array { len: 2 }, &[0u8][..]));
    bytes.truncate(4);
    assert!(Item::parse(&bytes).is_err());
    assert!(Item::parse(&[0x62, 0xc3, 0x28]).is_err(), "invalid UTF-8");
    assert!(Item::parse(&[0x9f, 0xff]).is_err(), "indefinite length");
    assert!(Item::parse(&[0xff]).is_err(), "stray break");
    assert!(Item::parse(&[0x1c]).is_err(), "reserved");
    assert!(
        Item::parse(&[0xf8, 0x10]).is_err(),
        "badly encoded simple value"
    );
    assert!(
        Item::parse(&[0xd8, 86, 0x43, 1, 2, 3]).is_err(),
        "ragged typed array"
    );
    assert!(
        Item::parse(&[0xd8, 86, 0x01]).is_err(),
        "typed array over an integer"
    );
    assert!(
        Item::parse(&[0xc2, 0x01]).is_err(),
        "bignum over an integer"
    );
    assert!(Item::parse(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    assert!(Item::parse(&[]).is_err());
}

#[test]
fn summaries_of_common_values() {
    let s = |bytes: Vec<u8>| summary(&bytes, 80);
    assert_eq!(s(encode(&vec![1.0, 2.0, 3.0]).unwrap()), "[1.0, 2.0, 3.0]");
    assert_eq!(s(encode(&Point { x: 1, y: 2 }).unwrap()), "{x: 1, y: 2}");
    assert_eq!(s(encode(&vec![7u8; 1024]).unwrap()), "<1024 bytes>");
    assert_eq!(s(encode("hi \"there\"\n").unwrap()), r#""hi \"there\"\n""#);
    assert_eq!(s(encode(&Shape::Red).unwrap()), "\"Red\"");
    assert_eq!(s(encode(&Shape::Circle(1.5)).unwrap()), "{Circle: 1.5}");
    assert_eq!(
        s(encode(&Shape::Rect { w: 1, h: 2 }).unwrap()),
        "{Rect: {w: 1, h: 2}}"
    );
    assert_eq!(
        s(encode(&BTreeMap::from([("a b", 1), ("ok", 2)])).unwrap()),
        "{\"a b\": 1, ok: 2}"
    );
    assert_eq!(
        s(encode(&BTreeMap::from([(1, true), (-2, false)])).unwrap()),
        "{-2: false, 1: true}"
    );
    assert_eq!(
        s(encode(&(None::<u8>, (), Some(-0.0))).unwrap()),
        "[null, null, -0.0]"
    );
    assert_eq!(
        s(encode(&vec![f64::NAN, f64::INFINITY]).unwrap()),
        "[NaN, inf]"
    );
    assert_eq!(s(encode(&vec![0.1f32, 2.5]).unwrap()), "[0.1, 2.5]");
    assert_eq!(s(encode(&vec![-1i64, 2]).unwrap()), "[-1, 2]");
    assert_eq!(s(encode(&u128::MAX).unwrap()), u128::MAX.to_string());
    assert_eq!(s(encode(&i128::MIN).unwrap()), i128::MIN.to_string());
    assert_eq!(
        s(vec![
            0xc3, 0x50, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff
        ]),
        "-340282366920938463463374607431768211456"
    );
    assert_eq!(
        s(vec![
            0xc2, 0x51, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]),
        "<17-byte bignum>"
    );
    assert_eq!(s(vec![0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00]), "1(1700000000)");
    assert_eq!(s(encode(&Vec::<String>::new()).unwrap()), "[]");
    assert_eq!(s(encode(&BTreeMap::<u8, u8>::new()).unwrap()), "{}");
    assert_eq!(s(vec![0xf7]), "undefined");
    assert_eq!(s(vec![0xf8, 0xff]), "simple(255)");
    assert_eq!(s(encode(&vec![true, false]).unwrap()), "[true, false]");
}

#[test]
fn long_values_are_abbreviated() {
    let big: Vec<f64> = (0..1_000_000).map(f64::from).collect();
    let line = summary(&encode(&big).unwrap(), 40);
    assert!(line.starts_with("[0.0, 1.0, "), "{line}");
    assert!(line.ends_with(", … (1000000 items)]"), "{line}");
    assert!(line.chars().count() <= 40, "{line}");

    let text = "abcdefghij".repeat(100);
    let line = summary(&encode(&text).unwrap(), 20);
    assert!(
        line.starts_with("\"abcdefghij") && line.ends_with("…\""),
        "{line}"
    );
    assert!(line.chars().count() <= 20, "{line}");

    let rows: Vec<Point> = (0..100).map(|i| Point { x: i, y: -i }).collect();
    let line = summary(&encode(&rows).unwrap(), 50);
    assert!(line.starts_with("[{x: 0, y: 0}, {x: 1, y: -1}"), "{line}");
    assert!(line.ends_with("… (100 items)]"), "{line}");
    assert!(line.chars().count() <= 50, "{line}");

    let nested = vec![big[..100_000].to_vec(), vec![1.0]];
    let line = summary(&encode(&nested).unwrap(), 60);
    assert!(line.starts_with("[[0.0, 1.0,"), "{line}");
    assert!(line.contains("(100000 items)]"), "{line}");
    // A typed array's end is known without reading it, so its sibling is still shown.
    assert!(line.ends_with("(100000 items)], [1.0]]"), "{line}");
    let nested: Vec<Vec<String>> = vec![vec!["s".into(); 1000], vec!["t".into()]];
    let line = summary(&encode(&nested).unwrap(), 60);
    assert!(line.starts_with("[[\"s\", \"s\", "), "{line}");
    assert!(line.ends_with("… (1000 items)], … (2 items)]"), "{line}");
    assert!(line.chars().count() <= 60, "{line}");

    let map: BTreeMap<String, u32> = (0..1000).map(|i| (format!("k{i:04}"), i)).collect();
    let line = summary(&encode(&map).unwrap(), 40);
    assert!(line.starts_with("{k0000: 0, k0001: 1"), "{line}");
    assert!(line.ends_with("… (1000 entries)}"), "{line}");
}

#[test]
fn summaries_respect_any_width() {
    let values = [
        encode(&vec![1.0; 100]).unwrap(),
        encode(&"ünïcödé ".repeat(50)).unwrap(),
        encode(&vec![Point { x: 1, y: 2 }; 50]).unwrap(),
        encode(&BTreeMap::from([(
            "key with spaces".repeat(5),
            vec!["v"; 9],
        )]))
        .unwrap(),
        encode(&vec![vec![vec![1u16; 5]; 5]; 5]).unwrap(),
        encode(&Shape::Rect { w: 200, h: 100 }).unwrap(),
    ];
    for bytes in &values {
        for width in 0..120 {
            let line = summary(bytes, width);
            assert!(line.chars().count() <= width, "{width}: {line}");
            assert!(!line.contains('\n'));
        }
    }
    assert_eq!(summary(&encode(&1234567u32).unwrap(), 0), "");
    assert_eq!(summary(&encode(&1234567u32).unwrap(), 4), "123…");
}

#[test]
fn summaries_of_invalid_input() {
    assert_eq!(summary(&[], 40), "<invalid>");
    assert_eq!(summary(&[0xff], 40), "<invalid>");
    assert_eq!(summary(&[0x83, 0x01, 0x02], 40), "[1, 2, <invalid>");
    assert_eq!(summary(&[0x62, 0xff, 0xfe], 40), "<invalid text>");
    assert_eq!(summary(&[0x5a, 0xff, 0xff, 0xff, 0xff], 40), "<invalid>");
    let deep = vec![0x81; 100_000];
    let line = summary(&deep, 1_000_000);
    assert!(line.starts_with("[[[[") && line.contains('…'), "{line}");
    assert_eq!(decode::<u8>(&[0x01]).unwrap(), 1);
}

#[test]
#[ignore = "prints summaries at every width for review"]
fn show_summaries() {
    let values = [
        encode(&vec!["a long string value"; 3]).unwrap(),
        encode(&vec![vec!["a long string value"; 3]]).unwrap(),
        encode(&vec![1.0f64; 3]).unwrap(),
        encode(&Point { x: 1, y: 2 }).unwrap(),
        encode(&vec![Point { x: 1, y: 2 }; 3]).unwrap(),
        encode(&Shape::Rect { w: 1, h: 2 }).unwrap(),
    ];
    for bytes in &values {
        for width in [
            0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 15, 16, 17, 20, 25, 30, 40, 60,
        ] {
            println!("{width:3} {}", summary(bytes, width));
        }
    }
}

#[test]
fn narrow_summaries() {
    let strings = encode(&vec!["a long string value"; 3]).unwrap();
    assert_eq!(summary(&strings, 3), "[…]");
    assert_eq!(summary(&strings, 14), "[\"a lo…\", …]");
    assert_eq!(
        summary(&strings, 40),
        "[\"a long string value\", … (3 items)]"
    );
    let floats = encode(&vec![1.0f64; 3]).unwrap();
    assert_eq!(summary(&floats, 14), "[1.0, 1.0, …]");
    assert_eq!(summary(&floats, 15), "[1.0, 1.0, 1.0]");
    let point = encode(&Point { x: 1, y: 2 }).unwrap();
    assert_eq!(summary(&point, 10), "{x: 1, …}");
    assert_eq!(summary(&point, 12), "{x: 1, y: 2}");
    let nested = encode(&vec![vec!["a long string value"; 3]]).unwrap();
    assert_eq!(summary(&nested, 6), "[[…]]");
}
