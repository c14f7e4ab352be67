//! A format-6 cache file, whose call keys are whole BLAKE3 output, is rekeyed when it is first
//! opened for writing: every call key's first byte becomes its function's cluster (format 7),
//! with its indexes, size-limit entries and outbox entries, so every stored call is found
//! again by the calls that made it and every query answers as before. Opened read-only, it is
//! read as it is.

use fleche::{Cache, fleche};
use redb::{
    MultimapTableDefinition as Multimap, ReadableDatabase, ReadableMultimapTable, ReadableTable,
    TableDefinition as Table,
};

type Key = [u8; 32];
type Prefix = u64;
const CALLS: Table<'_, Key, (u64, &[u8])> = Table::new("calls");
const USES: Table<'_, Key, (i64, u64)> = Table::new("calls_used");
const BY_FUNCTION: Multimap<'_, (&str, &str), Prefix> = Multimap::new("calls_by_function");
const BY_TIME: Table<'_, (i64, Prefix), ()> = Table::new("calls_by_time");
const BY_RESULT: Table<'_, (Prefix, Prefix), ()> = Table::new("calls_by_result");
const BY_ARGUMENT: Table<'_, (&str, Prefix, Prefix), ()> = Table::new("calls_by_argument");
const BY_TAG: Multimap<'_, &str, Prefix> = Multimap::new("calls_by_tag");
const FORMAT: Table<'_, &str, u64> = Table::new("fleche_format");

thread_local! {
    static RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn runs() -> u64 {
    RUNS.with(std::cell::Cell::get)
}

#[fleche]
fn square(x: u64) -> u64 {
    RUNS.with(|r| r.set(r.get() + 1));
    x * x
}

#[fleche]
fn halve(x: u64) -> u64 {
    RUNS.with(|r| r.set(r.get() + 1));
    x / 2
}

fn db(path: &std::path::Path) -> redb::Database {
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
    builder.open(path).unwrap()
}

/// What a format-6 fleche would have written for the same calls: each key with another first
/// byte (format 6 kept the hash's own), in `calls`, `calls_used` and the five indexes, and
/// the version 6.
fn as_format_6(path: &std::path::Path) {
    let old = |mut key: Key| {
        key[0] ^= 0x5a;
        key
    };
    let old_prefix = |p: Prefix| p ^ (0x5a << 56);
    let db = db(path);
    let txn = db.begin_write().unwrap();
    {
        let mut calls = txn.open_table(CALLS).unwrap();
        let all: Vec<(Key, u64, Vec<u8>)> = calls
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                let (sum, record) = v.value();
                (k.value(), sum, record.to_vec())
            })
            .collect();
        for (key, ..) in &all {
            calls.remove(key).unwrap();
        }
        for (key, sum, record) in &all {
            calls.insert(old(*key), (*sum, record.as_slice())).unwrap();
        }
        let mut uses = txn.open_table(USES).unwrap();
        let all: Vec<(Key, (i64, u64))> = uses
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value(), v.value())
            })
            .collect();
        for (key, _) in &all {
            uses.remove(key).unwrap();
        }
        for (key, value) in &all {
            uses.insert(old(*key), *value).unwrap();
        }
        let mut times = txn.open_table(BY_TIME).unwrap();
        let all: Vec<(i64, Prefix)> = times
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value())
            .collect();
        for entry in &all {
            times.remove(entry).unwrap();
        }
        for (t, p) in &all {
            times.insert((*t, old_prefix(*p)), ()).unwrap();
        }
        let mut functions = txn.open_multimap_table(BY_FUNCTION).unwrap();
        let mut all: Vec<((String, String), Prefix)> = Vec::new();
        for entry in functions.iter().unwrap() {
            let (f, ps) = entry.unwrap();
            let (name, module) = f.value();
            for p in ps {
                all.push(((name.to_owned(), module.to_owned()), p.unwrap().value()));
            }
        }
        for ((name, module), p) in &all {
            functions
                .remove((name.as_str(), module.as_str()), p)
                .unwrap();
            functions
                .insert((name.as_str(), module.as_str()), old_prefix(*p))
                .unwrap();
        }
        let mut results = txn.open_table(BY_RESULT).unwrap();
        let all: Vec<(Prefix, Prefix)> = results
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value())
            .collect();
        for entry in &all {
            results.remove(entry).unwrap();
        }
        for (r, p) in &all {
            results.insert((*r, old_prefix(*p)), ()).unwrap();
        }
        let mut arguments = txn.open_table(BY_ARGUMENT).unwrap();
        let all: Vec<(String, Prefix, Prefix)> = arguments
            .iter()
            .unwrap()
            .map(|e| {
                let entry = e.unwrap().0;
                let (name, value, p) = entry.value();
                (name.to_owned(), value, p)
            })
            .collect();
        for (name, value, p) in &all {
            arguments.remove((name.as_str(), *value, *p)).unwrap();
        }
        for (name, value, p) in &all {
            arguments
                .insert((name.as_str(), *value, old_prefix(*p)), ())
                .unwrap();
        }
        let mut tags = txn.open_multimap_table(BY_TAG).unwrap();
        let mut all: Vec<(String, Prefix)> = Vec::new();
        for entry in tags.iter().unwrap() {
            let (tag, ps) = entry.unwrap();
            for p in ps {
                all.push((tag.value().to_owned(), p.unwrap().value()));
            }
        }
        for (tag, p) in &all {
            tags.remove(tag.as_str(), p).unwrap();
            tags.insert(tag.as_str(), old_prefix(*p)).unwrap();
        }
        txn.open_table(FORMAT)
            .unwrap()
            .insert("version", 6)
            .unwrap();
    }
    txn.commit().unwrap();
}

/// The keys of `calls` and of `calls_used`, and the format version.
fn keys_in(path: &std::path::Path) -> (Vec<Key>, Vec<Key>, u64) {
    let db = db(path);
    let txn = db.begin_read().unwrap();
    let calls = txn.open_table(CALLS).unwrap();
    let uses = txn.open_table(USES).unwrap();
    let version = txn.open_table(FORMAT).unwrap();
    (
        calls
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value())
            .collect(),
        uses.iter().unwrap().map(|e| e.unwrap().0.value()).collect(),
        version.get("version").unwrap().unwrap().value(),
    )
}

/// A cache file of `square(x)` and `halve(x)` for `x` in `0..n`, with a size limit; its
/// format-7 call keys.
fn cache_of(path: &std::path::Path, n: u64) -> Vec<Key> {
    {
        let cache = Cache::open(path).unwrap();
        cache.set_max_size(Some(1 << 30));
        let _active = cache.activate();
        for x in 0..n {
            let _tags = fleche::tags!(parity = x % 2);
            square(x);
            halve(x);
        }
        cache.flush().unwrap();
    }
    let (keys, uses, version) = keys_in(path);
    assert_eq!(version, 7);
    assert_eq!(keys.len() as u64, 2 * n);
    assert_eq!(uses, keys);
    keys
}

#[test]
fn a_format_6_file_is_rekeyed_when_opened_for_writing_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.redb");
    let n = 300u64;
    let new_keys = cache_of(&path, n);
    // Each function's calls share a first byte, the two functions' differ.
    let firsts: std::collections::BTreeSet<u8> = new_keys.iter().map(|k| k[0]).collect();
    assert_eq!(firsts.len(), 2, "{firsts:?}");

    as_format_6(&path);
    let (old_keys, _, version) = keys_in(&path);
    assert_eq!(version, 6);
    assert!(old_keys.iter().all(|k| !new_keys.contains(k)));

    // Read-only: read as it is, found by name and time, and left format 6.
    {
        let cache = Cache::open_read_only(&path).unwrap();
        assert_eq!(
            cache.query().name("square").calls().unwrap().len() as u64,
            n
        );
        assert_eq!(cache.len().unwrap() as u64, 2 * n);
        assert_eq!(cache.table().len() as u64, 2 * n);
    }
    assert_eq!(keys_in(&path).2, 6, "a read-only open changes nothing");

    // Calls copied out of it read-only get their format-7 keys: the copy finds them again.
    {
        let source = Cache::open_read_only(&path).unwrap();
        let copy = Cache::open(dir.path().join("copy.redb")).unwrap();
        let copied = copy.transfer(&source, None).unwrap();
        assert_eq!(copied.calls_copied, 2 * n);
        let before = runs();
        let _active = copy.activate();
        for x in 0..n {
            assert_eq!(square(x), x * x);
        }
        assert_eq!(runs(), before, "copied calls are hits");
        assert_eq!(copy.query().name("halve").count().unwrap() as u64, n);
        let again = copy.transfer(&source, None).unwrap();
        assert_eq!((again.calls_copied, again.calls_present), (0, 2 * n));
    }

    // For writing: rekeyed, every call a hit, every query whole.
    let cache = Cache::open(&path).unwrap();
    let before = runs();
    {
        let _active = cache.activate();
        for x in 0..n {
            assert_eq!(square(x), x * x);
            assert_eq!(halve(x), x / 2);
        }
    }
    assert_eq!(runs(), before, "every stored call is found again");
    for name in ["square", "halve"] {
        let calls = cache.query().name(name).calls().unwrap();
        assert_eq!(calls.len() as u64, n, "{name}");
        assert!(calls.iter().all(|c| c.name() == name));
    }
    assert_eq!(cache.query().argument("x", 7u64).calls().unwrap().len(), 2);
    assert_eq!(cache.query().tag("parity", 1u64).count().unwrap() as u64, n);
    // square(7), halve(98) and halve(99).
    assert_eq!(cache.query().result(49u64).calls().unwrap().len(), 3);
    assert_eq!(cache.len().unwrap() as u64, 2 * n);
    let verified = cache.verify().unwrap();
    assert!(verified.is_sound(), "{:?}", verified.problems);
    assert_eq!(verified.calls, 2 * n);
    cache.flush().unwrap();
    drop(cache);
    let (keys, uses, version) = keys_in(&path);
    assert_eq!(version, 7);
    assert_eq!(keys, new_keys, "every call under its format-7 key");
    assert_eq!(uses, new_keys, "the size limit's entries moved with them");
}

/// A record that does not read (its checksum fails) stays under its format-6 key, where
/// `verify` names it; the other calls move, and the damaged call is computed again.
#[test]
fn a_damaged_record_stays_where_it_was_and_the_rest_move() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.redb");
    let n = 50u64;
    let new_keys = cache_of(&path, n);
    as_format_6(&path);
    let mut damaged = *square::digest(5).as_bytes();
    damaged[0] ^= 0x5a;
    {
        let db = db(&path);
        let txn = db.begin_write().unwrap();
        {
            let mut calls = txn.open_table(CALLS).unwrap();
            let (sum, record) = {
                let v = calls.get(&damaged).unwrap().unwrap();
                let (sum, record) = v.value();
                (sum, record.to_vec())
            };
            calls
                .insert(&damaged, (sum ^ 1, record.as_slice()))
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let cache = Cache::open(&path).unwrap();
    let before = runs();
    {
        let _active = cache.activate();
        for x in 0..n {
            assert_eq!(square(x), x * x);
        }
    }
    assert_eq!(runs(), before + 1, "only the damaged call ran again");
    let verified = cache.verify().unwrap();
    assert_eq!(verified.problems.len(), 1, "{:?}", verified.problems);
    assert_eq!(
        verified.problems[0].digest,
        fleche::Digest::from_bytes(damaged)
    );
    drop(cache);
    let (keys, ..) = keys_in(&path);
    let mut expected = new_keys;
    expected.push(damaged);
    expected.sort_unstable();
    assert_eq!(keys, expected, "every call moved, the damaged one stayed");
}

/// How long rekeying takes (figures, not a check): `FLECHE_REKEY_CALLS=1000000 cargo test
/// --release -p fleche --test format_upgrade -- --ignored --nocapture`.
#[test]
#[ignore = "figures: run by hand"]
fn rekey_figures() {
    use std::collections::BTreeMap;
    let n: u64 = std::env::var("FLECHE_REKEY_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.redb");
    {
        let cache = Cache::open(&path).unwrap();
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for chunk in (0..n).collect::<Vec<_>>().chunks(100_000) {
            let mut values = Vec::new();
            let records: Vec<(fleche::Digest, fleche::CallRecord)> = chunk
                .iter()
                .map(|&i| {
                    let (arg, result) = (fleche::digest(&i), fleche::digest(&(i * i)));
                    values.push((arg, fleche::codec::encode(&i).unwrap()));
                    values.push((result, fleche::codec::encode(&(i * i)).unwrap()));
                    let record = fleche::CallRecord {
                        name: format!("function_{}", i % 100),
                        module: "figures".into(),
                        version: None,
                        code: None,
                        arguments: vec![("x".into(), arg)],
                        argument_keys: Vec::new(),
                        result,
                        result_type: "u64".into(),
                        result_size: 9,
                        metadata: fleche::Metadata {
                            timestart: t0 + chrono::Duration::microseconds(i as i64),
                            timestop: t0 + chrono::Duration::microseconds(i as i64 + 5),
                            walltime: 5e-6,
                            tags: BTreeMap::from([("run".to_owned(), (i % 7).into())]),
                            ..Default::default()
                        },
                    };
                    let key = fleche::digest(&("figures", i));
                    (fleche::__private::clustered_key(&record.name, key), record)
                })
                .collect();
            cache.insert_records(&records, &values).unwrap();
        }
    }
    as_format_6(&path);
    let size = std::fs::metadata(&path).unwrap().len();
    let started = std::time::Instant::now();
    let cache = Cache::open(&path).unwrap();
    let took = started.elapsed();
    assert_eq!(cache.len().unwrap() as u64, n);
    println!(
        "rekeyed {n} calls ({:.0} MB file) in {took:.2?}: {:.1} us per call",
        size as f64 / 1e6,
        took.as_secs_f64() * 1e6 / n as f64
    );
}
