//! Real cache files whose bytes were changed behind fleche's back, and files of another
//! format version: a damaged value is never returned as a result, and an old file is refused
//! with an error that says what it is.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use fleche::{Cache, Error, fleche};

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

/// Collects what `tracing` logs while `f` runs on this thread.
fn logged<R>(f: impl FnOnce() -> R) -> (R, String) {
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    (out, text)
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
    let Err(unreadable) = &page[0].1 else {
        panic!("the damaged record was read: {:?}", page[0]);
    };
    assert!(unreadable.to_string().contains("damaged"), "{unreadable}");
    assert!(page[1].1.is_ok());
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
                    expected: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("format version 1"), "{text}");
        assert!(text.contains("reads format version 3"), "{text}");
        assert!(text.contains("delete it"), "{text}");
    }
}

/// A cache file whose version table says `version`.
fn file_of_format(dir: &std::path::Path, version: u64) -> std::path::PathBuf {
    let path = dir.join(format!("v{version}.redb"));
    drop(Cache::open(&path).unwrap());
    let db = redb::Database::open(&path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(redb::TableDefinition::<&str, u64>::new("fleche_format"))
        .unwrap()
        .insert("version", version)
        .unwrap();
    txn.commit().unwrap();
    path
}

#[test]
fn a_file_of_format_2_is_refused_so_it_never_answers_under_the_old_digests() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_of_format(dir.path(), 2);
    for err in [
        Cache::open(&path).unwrap_err(),
        Cache::open_read_only(&path).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::FormatVersion {
                    found: 2,
                    expected: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("byte arrays"), "{text}");
        assert!(text.contains("delete it"), "{text}");
    }
}

#[test]
fn a_file_of_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_of_format(dir.path(), 4);
    let err = Cache::open_read_only(&path).unwrap_err();
    assert!(
        matches!(err, Error::FormatVersion { found: 4, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer fleche"), "{err}");
}
