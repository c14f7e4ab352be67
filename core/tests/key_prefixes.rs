//! The indexes of a cache file hold the first 8 bytes of call keys, not whole keys. Two calls
//! whose keys share those bytes must still be told apart: every query, listing, removal and
//! sweep gives the same answers as if their keys differed from the first byte. Real BLAKE3
//! keys share 8 bytes about once in 2^64 pairs, so these calls are given such keys on purpose.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use fleche::{Cache, CallRecord, Digest, Metadata, codec};

/// Keys that start with the same 8 bytes and differ after them.
fn twin_keys() -> [Digest; 2] {
    let mut a = [0x11u8; 32];
    let mut b = [0x11u8; 32];
    a[8..].fill(0xaa);
    b[8..].fill(0xbb);
    [Digest::from_bytes(a), Digest::from_bytes(b)]
}

/// A call of `f(x)` returning `x * 10`, started at `start` ns, tagged `run = x`; with its
/// values.
fn call(x: i64, start: i64) -> (CallRecord, Vec<(Digest, Vec<u8>)>) {
    let (arg, result) = (fleche::digest(&x), fleche::digest(&(x * 10)));
    let record = CallRecord {
        name: "f".into(),
        module: "twins".into(),
        version: None,
        code: None,
        arguments: vec![("x".into(), arg)],
        argument_keys: Vec::new(),
        result,
        result_type: "i64".into(),
        result_size: 1,
        metadata: Metadata {
            timestart: Utc.timestamp_nanos(start),
            timestop: Utc.timestamp_nanos(start + 5),
            walltime: 5e-9,
            tags: BTreeMap::from([("run".to_owned(), x.into())]),
            ..Default::default()
        },
    };
    let values = vec![
        (arg, codec::encode(&x).unwrap()),
        (result, codec::encode(&(x * 10)).unwrap()),
    ];
    (record, values)
}

/// Two calls under twin keys that also started at the same nanosecond, so that they share
/// their entries in the function and time indexes; and a third call with a key of its own.
fn twins(cache: &Cache) -> [Digest; 3] {
    let [a, b] = twin_keys();
    let other = Digest::from_bytes([0x22; 32]);
    let (ra, va) = call(1, 1_000);
    let (rb, vb) = call(2, 1_000);
    let (rc, vc) = call(3, 2_000);
    let values: Vec<(Digest, Vec<u8>)> = va.into_iter().chain(vb).chain(vc).collect();
    cache
        .insert_records(&[(a, ra), (b, rb), (other, rc)], &values)
        .unwrap();
    [a, b, other]
}

fn keys_of(calls: Vec<fleche::Call>) -> Vec<Digest> {
    let mut keys: Vec<Digest> = calls.iter().map(|c| c.key()).collect();
    keys.sort();
    keys
}

fn open(dir: &tempfile::TempDir) -> Cache {
    Cache::open(dir.path().join("twins.redb")).unwrap()
}

#[test]
fn queries_tell_calls_with_twin_key_prefixes_apart() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir);
    let [a, b, other] = twins(&cache);
    let q = || cache.query();
    assert_eq!(keys_of(q().name("f").calls().unwrap()), [a, b, other]);
    assert_eq!(keys_of(q().module("twins").calls().unwrap()), [a, b, other]);
    assert_eq!(keys_of(q().argument("x", 1i64).calls().unwrap()), [a]);
    assert_eq!(keys_of(q().argument("x", 2i64).calls().unwrap()), [b]);
    assert_eq!(keys_of(q().result(20i64).calls().unwrap()), [b]);
    assert_eq!(keys_of(q().tag("run", 1i64).calls().unwrap()), [a]);
    assert_eq!(keys_of(q().among([b]).calls().unwrap()), [b]);
    let at = |ns| Utc.timestamp_nanos(ns);
    let early = q().started_after(at(999)).started_before(at(1_001));
    assert_eq!(keys_of(early.calls().unwrap()), [a, b]);
    assert_eq!(
        q().name("f").argument("x", 1i64).results::<i64>().unwrap(),
        [10]
    );
    // A hit reads each call's own result.
    let results: Vec<i64> = q().name("f").results().unwrap();
    assert_eq!(results.len(), 3);
    let verified = cache.verify().unwrap();
    assert!(verified.is_sound(), "{:?}", verified.problems);
}

#[test]
fn listings_by_time_name_each_twin_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir);
    let [a, b, other] = twins(&cache);
    assert_eq!(cache.keys_newest_first().unwrap(), [other, b, a]);
    let page = cache.calls_before(None, 10).unwrap();
    let keys: Vec<Digest> = page.iter().map(|t| t.key).collect();
    assert_eq!(keys, [other, b, a]);
    // Paging from between the twins goes on to the other twin, not past it.
    let rest = cache.calls_before(Some(page[1]), 10).unwrap();
    assert_eq!(rest.iter().map(|t| t.key).collect::<Vec<_>>(), [a]);
    let newer = cache.calls_after(page[2]).unwrap();
    assert_eq!(newer.iter().map(|t| t.key).collect::<Vec<_>>(), [b, other]);
    assert_eq!(cache.records_of(&[a, b]).unwrap().len(), 2);
}

#[test]
fn removing_one_twin_leaves_the_other_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir);
    let [a, b, other] = twins(&cache);
    assert!(cache.evict(a).unwrap());
    let q = || cache.query();
    // Their shared entries (function, time) stay for the twin left.
    assert_eq!(keys_of(q().name("f").calls().unwrap()), [b, other]);
    assert_eq!(keys_of(q().argument("x", 2i64).calls().unwrap()), [b]);
    assert!(q().argument("x", 1i64).calls().unwrap().is_empty());
    assert_eq!(cache.keys_newest_first().unwrap(), [other, b]);
    assert_eq!(cache.time_index_len().unwrap(), 2);
    let verified = cache.verify().unwrap();
    assert!(verified.is_sound(), "{:?}", verified.problems);
    // The sweep removes the evicted twin's values only.
    let swept = cache.gc().unwrap();
    assert_eq!(swept.values_removed, 2);
    assert_eq!(q().name("f").results::<i64>().unwrap().len(), 2);

    // So does a removal through a query, and overwriting a twin.
    let (again, values) = call(4, 1_000);
    cache.insert_records(&[(a, again)], &values).unwrap();
    assert_eq!(q().argument("x", 4i64).evict().unwrap(), 1);
    assert_eq!(keys_of(q().name("f").calls().unwrap()), [b, other]);
    assert_eq!(cache.keys_newest_first().unwrap(), [other, b]);
    let (moved, values) = call(5, 3_000);
    cache.insert_records(&[(b, moved)], &values).unwrap();
    assert_eq!(keys_of(q().argument("x", 5i64).calls().unwrap()), [b]);
    assert!(q().argument("x", 2i64).calls().unwrap().is_empty());
    assert_eq!(cache.keys_newest_first().unwrap(), [b, other]);
    let verified = cache.verify().unwrap();
    assert!(verified.is_sound(), "{:?}", verified.problems);
}

#[test]
fn a_batch_listing_a_key_twice_keeps_the_later_call_and_its_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir);
    let [a, b] = twin_keys();
    let other = Digest::from_bytes([0x22; 32]);
    // One commit: `a` twice (the later wins), its twin, and a call of its own.
    let (first, v1) = call(1, 1_000);
    let (later, v4) = call(4, 4_000);
    let (rb, vb) = call(2, 2_000);
    let (rc, vc) = call(3, 3_000);
    let values: Vec<(Digest, Vec<u8>)> = v1.into_iter().chain(v4).chain(vb).chain(vc).collect();
    cache
        .insert_records(&[(a, first), (other, rc), (a, later), (b, rb)], &values)
        .unwrap();
    let q = || cache.query();
    assert!(q().argument("x", 1i64).calls().unwrap().is_empty());
    assert_eq!(keys_of(q().argument("x", 4i64).calls().unwrap()), [a]);
    assert_eq!(
        keys_of(q().name("f").calls().unwrap()),
        keys_of_all([a, b, other])
    );
    assert_eq!(cache.keys_newest_first().unwrap(), [a, other, b]);
    assert_eq!(cache.time_index_len().unwrap(), 3);
    assert_eq!(q().tag("run", 1i64).calls().unwrap().len(), 0);
    assert_eq!(keys_of(q().tag("run", 4i64).calls().unwrap()), [a]);

    // A later commit replacing the twin `b` and `other` in one batch: their old entries go,
    // `a`'s shared ones stay.
    let (rb2, vb2) = call(5, 5_000);
    let (rc2, vc2) = call(6, 500);
    let values: Vec<(Digest, Vec<u8>)> = vb2.into_iter().chain(vc2).collect();
    cache
        .insert_records(&[(other, rc2), (b, rb2)], &values)
        .unwrap();
    assert!(q().argument("x", 2i64).calls().unwrap().is_empty());
    assert!(q().argument("x", 3i64).calls().unwrap().is_empty());
    assert_eq!(keys_of(q().argument("x", 5i64).calls().unwrap()), [b]);
    assert_eq!(keys_of(q().argument("x", 4i64).calls().unwrap()), [a]);
    assert_eq!(cache.keys_newest_first().unwrap(), [b, a, other]);
    let verified = cache.verify().unwrap();
    assert!(verified.is_sound(), "{:?}", verified.problems);
}

fn keys_of_all<const N: usize>(mut keys: [Digest; N]) -> [Digest; N] {
    keys.sort();
    keys
}
