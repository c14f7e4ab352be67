//! Arbitrary bytes through everything a reader of stored values does: parse, walk every child,
//! summarise, decode into a generic tree and into typed values. Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run inspect` from the repository root.

#![no_main]

#[path = "../../core/tests/support/tree.rs"]
mod tree;

use fleche::codec::inspect::{Item, summary};
use fleche::codec::{CodecError, decode};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;
use tree::{Kindred, Sample, Tagged, Tree};

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
    let _ = decode::<Sample>(bytes);
    let _ = decode::<Kindred>(bytes);
    let _ = decode::<Tagged>(bytes);
    let _ = decode::<Vec<f64>>(bytes);
    let _ = decode::<Vec<u8>>(bytes);
    let _ = decode::<(String, Option<i128>, char)>(bytes);
});
