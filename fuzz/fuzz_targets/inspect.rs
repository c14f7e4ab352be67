//! Arbitrary bytes through everything a reader of stored values does: parse, walk every child,
//! summarise, decode into a generic tree and into typed values. Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run inspect` from the repository root.

#![no_main]

use std::collections::BTreeMap;
use std::fmt;

use fleche::codec::inspect::{Item, summary};
use fleche::codec::{CodecError, decode};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Any decoded value, built through `deserialize_any`.
#[derive(Debug)]
#[allow(dead_code)]
enum Tree {
    Null,
    Bool(bool),
    Int(i128),
    Wide(u128),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    List(Vec<Tree>),
    Map(Vec<(Tree, Tree)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
                Ok(Tree::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
                Ok(Tree::Int(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Tree, E> {
                Ok(Tree::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
                Ok(Tree::Int(v.into()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Tree, E> {
                Ok(Tree::Wide(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
                Ok(Tree::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
                Ok(Tree::Text(v.to_owned()))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Tree, E> {
                Ok(Tree::Bytes(v.to_owned()))
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }
            fn visit_none<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
                Tree::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Tree::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Tree::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Record {
    id: u64,
    name: String,
    data: Vec<f64>,
    raw: Vec<u8>,
    kind: Kind,
    extra: Option<BTreeMap<i32, String>>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
enum Kind {
    A,
    B(i8),
    C { x: u128, y: Vec<u32> },
    D(String, f32),
}

#[derive(Debug, serde::Deserialize)]
#[serde(tag = "t")]
#[allow(dead_code)]
enum Tagged {
    One { v: Vec<u8> },
    Two(Record),
}

/// Walks every child of every item, depth first (parsed items nest at most MAX_DEPTH deep).
fn walk(item: &Item<'_>) -> Result<(), CodecError> {
    let _ = item.kind();
    let _ = item.encoded_len();
    let _ = item.as_bytes();
    let _ = item.as_str();
    for child in item.children() {
        let child = child?;
        if let Some(key) = &child.key {
            walk(key)?;
        }
        walk(&child.value)?;
    }
    Ok(())
}

fuzz_target!(|bytes: &[u8]| {
    let parsed = Item::parse(bytes);
    if let Ok(item) = &parsed {
        walk(item).expect("a parsed item walks without errors");
        let _ = item.nth_child(1);
        let _ = item.nth_child(usize::MAX);
        let _ = item.decode::<Tree>();
    }
    let _ = Item::parse_prefix(bytes);
    for width in [0, 1, 7, 40, 200] {
        let line = summary(bytes, width);
        assert!(line.chars().count() <= width);
    }
    let tree = decode::<Tree>(bytes);
    assert!(
        tree.is_err() || parsed.is_ok(),
        "decoded what does not parse"
    );
    assert_eq!(decode::<IgnoredAny>(bytes).is_ok(), parsed.is_ok());
    let _ = decode::<Record>(bytes);
    let _ = decode::<Tagged>(bytes);
    let _ = decode::<Vec<f64>>(bytes);
    let _ = decode::<Vec<u8>>(bytes);
    let _ = decode::<(String, Option<i128>, char)>(bytes);
});
