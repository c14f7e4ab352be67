//! What the cache keeps of a result: the `Ok` value of a `Result` whatever its error type,
//! nothing when storing fails (the result is still returned), and where a `D(..)` of the
//! wrong type came from.

use std::cell::Cell;

use fleche::{Arg, Cache, D, fleche};
use serde::{Deserialize, Serialize, Serializer};

thread_local! {
    // Per thread, because tests run in parallel and cached bodies run on the caller's thread.
    static RUNS: Cell<usize> = const { Cell::new(0) };
}

fn runs() -> usize {
    RUNS.with(Cell::get)
}

fn ran() {
    RUNS.with(|r| r.set(r.get() + 1));
}

#[fleche]
fn read_len(n: u32) -> Result<u32, std::io::Error> {
    ran();
    if n == 0 {
        Err(std::io::Error::other("empty"))
    } else {
        Ok(n * 10)
    }
}

#[test]
fn a_result_with_an_io_error_stores_ok_and_returns_err() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    assert_eq!(read_len(3).unwrap(), 30);
    assert_eq!(read_len(3).unwrap(), 30, "a hit");
    assert_eq!(runs() - before, 1);
    assert!(read_len::contains(3));
    assert_eq!(read_len::load(3).unwrap().unwrap(), 30);

    assert_eq!(read_len(0).unwrap_err().to_string(), "empty");
    assert_eq!(read_len(0).unwrap_err().to_string(), "empty");
    assert_eq!(
        runs() - before,
        3,
        "an Err is not stored, so it runs each time"
    );
    assert!(!read_len::contains(0));
    assert_eq!(cache.len().unwrap(), 1);

    // Stored as the `Result` it came in: the record names it, and a reader with any
    // deserializable error type reads it.
    let call = cache.load(read_len::digest(3)).unwrap();
    assert!(
        call.record()
            .result_type
            .contains("Result<u32, std::io::error::Error>")
    );
    assert_eq!(call.result::<Result<u32, String>>().unwrap(), Ok(30));
}

/// An error type without serde.
#[derive(Debug, PartialEq)]
struct Refused(&'static str);

#[fleche]
fn checked_half(n: i64) -> Result<i64, Refused> {
    ran();
    if n % 2 == 0 {
        Ok(n / 2)
    } else {
        Err(Refused("odd"))
    }
}

#[test]
fn a_result_with_a_custom_error_without_serde_stores_only_ok() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    assert_eq!(checked_half(8), Ok(4));
    assert_eq!(checked_half(8), Ok(4));
    assert_eq!(checked_half(7), Err(Refused("odd")));
    assert_eq!(checked_half(7), Err(Refused("odd")));
    assert_eq!(runs() - before, 3);
    assert_eq!(cache.len().unwrap(), 1);
    // Same key and bytes as a `Result` with a serde error type would give.
    assert_eq!(
        cache.load(checked_half::digest(8)).unwrap().record().result,
        fleche::digest(&Ok::<i64, String>(4))
    );
}

/// A value whose `Serialize` panics.
#[derive(Debug, PartialEq, Deserialize)]
struct Fragile(u32);

impl Serialize for Fragile {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("Fragile cannot be serialized")
    }
}

#[fleche]
fn make_fragile(n: u32) -> Fragile {
    ran();
    Fragile(n)
}

#[fleche(accept_digests = false)]
fn read_fragile(f: &Fragile) -> u32 {
    ran();
    f.0 + 1
}

#[test]
fn a_serialize_that_panics_loses_nothing_and_stores_nothing() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    assert_eq!(
        make_fragile(5),
        Fragile(5),
        "the computed result is returned"
    );
    assert_eq!(make_fragile(5), Fragile(5));
    assert_eq!(runs() - before, 2, "not stored, so computed again");
    // An argument whose digest panics: the call runs uncached.
    assert_eq!(read_fragile(&Fragile(1)), 2);
    assert!(!read_fragile::contains(&Fragile(1)));
    assert_eq!(runs() - before, 3);
    assert_eq!(cache.len().unwrap(), 0);
}

#[fleche]
fn greeting(name: String) -> String {
    format!("hello {name}")
}

#[fleche]
fn twice(x: i64) -> i64 {
    x * 2
}

#[test]
fn a_digest_of_the_wrong_type_names_the_type_it_was_stored_from() {
    let cache = Cache::memory();
    let _a = cache.activate();
    greeting("ada".to_owned());
    let text = cache
        .load(greeting::digest("ada".to_owned()))
        .unwrap()
        .record()
        .result;
    let err = Arg::<i64>::from(D(text.to_string()))
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not decode as `i64` (it was stored from `alloc::string::String`)"),
        "{err}"
    );
    let panic = std::panic::catch_unwind(|| twice(D(text.to_string()))).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("alloc::string::String"), "{message}");
}
