//! Real cache files whose bytes were changed behind fleche's back, and files of another
//! format version: a damaged value is never returned as a result, and an old file is refused
//! with an error that says what it is.

#[path = "support/logged.rs"]
mod logged;

use std::path::Path;

use fleche::{Cache, Error, fleche};
use logged::logged;

thread_local! {
    static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn runs() -> usize {
    RUNS.with(|r| r.get())
}

const MARKER: &str = "fleche-damage-test-marker-0123456789abcdefghijklmnopqrstuvwxyz";

#[fleche]
fn labelled(x: u32) -> String {
    RUNS.with(|r| r.set(r.get() + 1));
    format!("{MARKER}:{x}")
}

/// Flips one bit in every copy of `needle` in the file; returns how many copies there were.
fn flip_bit_in(path: &Path, needle: &[u8]) -> usize {
    let mut bytes = std::fs::read(path).unwrap();
    let mut found = 0;
    let mut i = 0;
    while let Some(at) = bytes[i..].windows(needle.len()).position(|w| w == needle) {
        let at = i + at;
        bytes[at + needle.len() / 2] ^= 0x04;
        found += 1;
        i = at + needle.len();
    }
    std::fs::write(path, bytes).unwrap();
    found
}

#[test]
fn a_flipped_bit_in_a_stored_value_is_a_miss_and_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.redb");
    {
        let cache = Cache::open(&path).unwrap();
        let _a = cache.activate();
        assert_eq!(labelled(7), format!("{MARKER}:7"));
        cache.flush().unwrap();
    }
    let copies = flip_bit_in(&path, format!("{MARKER}:7").as_bytes());
    assert!(copies >= 1, "the value's bytes are in the file");

    let cache = Cache::open(&path).unwrap();
    let _a = cache.activate();
    // Reading the call: the result is damaged, and the error says so.
    let call = cache.load(labelled::digest(7)).unwrap();
    let err = call.result::<String>().unwrap_err();
    assert!(matches!(err, Error::DamagedValue { .. }), "{err:?}");
    assert!(err.to_string().contains("is damaged"), "{err}");
    assert!(
        err.to_string().contains(&call.result_digest().to_string()),
        "{err}"
    );
    assert!(labelled::load(7).is_none());
    // Calling it: a miss, so it runs again, with a warning naming the call.
    let before = runs();
    let (value, log) = logged(|| labelled(7));
    assert_eq!(value, format!("{MARKER}:7"));
    assert_eq!(runs(), before + 1);
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("labelled"), "{log}");
    assert!(log.contains("damaged"), "{log}");
    // The value was written anew: a hit now, and `result` reads it.
    cache.flush().unwrap();
    assert_eq!(labelled(7), format!("{MARKER}:7"));
    assert_eq!(runs(), before + 1);
    let call = cache.load(labelled::digest(7)).unwrap();
    assert_eq!(call.result::<String>().unwrap(), format!("{MARKER}:7"));
}

#[test]
fn a_damaged_record_is_skipped_by_queries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.redb");
    {
        let cache = Cache::open(&path).unwrap();
        let _a = cache.activate();
        let _t = fleche::tags!(note = "a-tag-value-only-in-the-first-record-xyz");
        labelled(1);
        drop(_t);
        labelled(2);
        cache.flush().unwrap();
    }
    let copies = flip_bit_in(&path, b"a-tag-value-only-in-the-first-record-xyz");
    assert!(copies >= 1);
    let cache = Cache::open_read_only(&path).unwrap();
    let (calls, log) = logged(|| cache.query().name("labelled").calls().unwrap());
    assert_eq!(calls.len(), 1, "{log}");
    assert!(log.contains("damaged call record"), "{log}");
    let err = cache.load(labelled::digest(1)).unwrap_err();
    assert!(matches!(err, Error::DamagedRecord { .. }), "{err:?}");
    let err = cache.load_many(&[labelled::digest(1)]).unwrap_err();
    assert!(matches!(err, Error::DamagedRecord { .. }), "{err:?}");
    // The browser's pages show it in its place, as unreadable, and why.
    let page = cache
        .records_of(&[labelled::digest(1), labelled::digest(2)])
        .unwrap();
    assert_eq!(page.len(), 2);
    let Err(unreadable) = &page[0].record else {
        panic!("the damaged record was read: {:?}", page[0]);
    };
    assert!(unreadable.to_string().contains("damaged"), "{unreadable}");
    assert!(page[1].record.is_ok());
}

#[test]
fn a_file_of_format_1_is_refused_with_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    // A format-1 file: fleche's tables as fleche 0.1.0 wrote them, and no version table.
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<[u8; 32], &[u8]>::new("values"))
            .unwrap();
        txn.open_table(redb::TableDefinition::<[u8; 32], ([u8; 32], &[u8])>::new(
            "calls",
        ))
        .unwrap();
        txn.commit().unwrap();
    }
    for err in [
        Cache::open(&path).unwrap_err(),
        Cache::open_read_only(&path).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::FormatVersion {
                    found: 1,
                    expected: 7,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("format version 1"), "{text}");
        assert!(text.contains("reads format version 7"), "{text}");
        assert!(text.contains("delete it"), "{text}");
    }
}

/// A cache file whose version table says `version`.
fn file_of_format(dir: &std::path::Path, version: u64) -> std::path::PathBuf {
    let path = dir.join(format!("v{version}.redb"));
    drop(Cache::open(&path).unwrap());
    set_format(&path, version);
    path
}

/// Formats 2 and 3 digested byte arrays byte by byte: read under format 4's digests, none of
/// their calls would be found and `verify` would call their values damaged, so they are
/// refused, read-only or not.
#[test]
fn files_of_formats_2_and_3_are_refused_so_they_never_answer_under_the_old_digests() {
    let dir = tempfile::tempdir().unwrap();
    for version in [2, 3] {
        let path = file_of_format(dir.path(), version);
        for err in [
            Cache::open(&path).unwrap_err(),
            Cache::open_read_only(&path).unwrap_err(),
        ] {
            assert!(
                matches!(err, Error::FormatVersion { found, expected: 7, .. } if found == version),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(text.contains("byte arrays"), "{text}");
            assert!(text.contains("delete it"), "{text}");
        }
    }
}

/// Format 4 stored call records as CBOR with field names; records since format 5 have a
/// layout of their own, so a format-4 file is refused with advice, read-only or not, and
/// stays format 4.
#[test]
fn a_file_of_format_4_is_refused_with_advice_and_stays_format_4() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_of_format(dir.path(), 4);
    refused_with_advice(&path, 4, "older layout");
}

/// Opening the file for writing, read-only, and for writing again each fail with the format
/// version `found` and advice that says `why` and to move the file away or delete it.
fn refused_with_advice(path: &std::path::Path, found: u64, why: &str) {
    for err in [
        Cache::open(path).unwrap_err(),
        Cache::open_read_only(path).unwrap_err(),
        Cache::open(path).unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::FormatVersion { found: f, expected: 7, .. } if f == found),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(why), "{text}");
        assert!(text.contains("delete it"), "{text}");
    }
}

/// Format 5 kept whole call keys in its indexes and the result digest beside each record; its
/// tables have other types than format 6's, so a file of format 5, with its tables as format 5
/// wrote them, is refused with advice, read-only or not, and left byte for byte as it was.
#[test]
fn a_file_of_format_5_is_refused_with_advice_and_left_as_it_was() {
    type Key = [u8; 32];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<Key, (u64, &[u8])>::new("values"))
            .unwrap()
            .insert([1; 32], (7, &b"\x01"[..]))
            .unwrap();
        txn.open_table(redb::TableDefinition::<Key, (Key, u64, &[u8])>::new(
            "calls",
        ))
        .unwrap()
        .insert([2; 32], ([1; 32], 9, &b"\x05record"[..]))
        .unwrap();
        txn.open_multimap_table(redb::MultimapTableDefinition::<&str, Key>::new(
            "calls_by_name",
        ))
        .unwrap()
        .insert("f", [2; 32])
        .unwrap();
        txn.open_table(redb::TableDefinition::<(i64, Key), ()>::new(
            "calls_by_time",
        ))
        .unwrap()
        .insert((5, [2; 32]), ())
        .unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("fleche_format"))
            .unwrap()
            .insert("version", 5)
            .unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    refused_with_advice(&path, 5, "whole call keys");
    assert!(std::fs::read(&path).unwrap() == before, "the file changed");
}

#[test]
fn a_file_of_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_of_format(dir.path(), 8);
    let err = Cache::open_read_only(&path).unwrap_err();
    assert!(
        matches!(err, Error::FormatVersion { found: 8, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer fleche"), "{err}");
}

/// Sets the version a cache file claims, as an older fleche would have written it.
fn set_format(path: &std::path::Path, version: u64) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(redb::TableDefinition::<&str, u64>::new("fleche_format"))
        .unwrap()
        .insert("version", version)
        .unwrap();
    txn.commit().unwrap();
}
