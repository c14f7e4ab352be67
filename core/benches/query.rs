//! Query and table speed on a cache of 100,000 calls.
//!
//! `cargo bench -p fleche --bench query` (add `--features polars` for `to_polars`). Goals: a
//! query by function name returning 1,000 of 100,000 calls in at most 5 ms;
//! `cache().table()` over 100,000 calls (no values) in at most 200 ms; `to_polars()` of a
//! table of 100,000 calls with one argument and the result in at most 200 ms. The cache is
//! written straight through the store in one commit, so setup takes seconds, not the
//! minutes 100,000 durable commits would.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use fleche::record::{CallRecord, Metadata};
use fleche::{Cache, Digest};

const CALLS: usize = 100_000;
const FUNCTIONS: usize = 100;

fn main() {
    divan::main();
}

fn fill(cache: &Cache) {
    let t0 = chrono::Utc::now();
    let mut values = Vec::with_capacity(CALLS * 2);
    let calls: Vec<(Digest, CallRecord)> = (0..CALLS)
        .map(|i| {
            let x = i as i64;
            let (arg, result) = (fleche::digest(&x), fleche::digest(&(x * x)));
            values.push((arg, fleche::codec::encode(&x).unwrap()));
            values.push((result, fleche::codec::encode(&(x * x)).unwrap()));
            let mut tags = BTreeMap::new();
            if i % 3 == 0 {
                tags.insert("project".to_owned(), format!("p{}", i % 9).into());
            }
            let record = CallRecord {
                name: format!("function_{}", i % FUNCTIONS),
                module: "bench".into(),
                version: None,
                code: Some(fleche::digest(&(i % FUNCTIONS))),
                arguments: vec![("x".into(), arg)],
                argument_keys: Vec::new(),
                result,
                result_type: "i64".into(),
                result_size: 9,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::microseconds(i as i64),
                    timestop: t0 + chrono::Duration::microseconds(i as i64 + 5),
                    walltime: 5e-6,
                    tags,
                    ..Default::default()
                },
            };
            (fleche::digest(&("bench call", i)), record)
        })
        .collect();
    cache.insert_records(&calls, &values).unwrap();
    assert_eq!(cache.len().unwrap(), CALLS as u64);
}

static MEMORY: LazyLock<Cache> = LazyLock::new(|| {
    let cache = Cache::memory();
    fill(&cache);
    cache
});

static FILE: LazyLock<(tempfile::TempDir, Cache)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("bench.redb")).unwrap();
    fill(&cache);
    (dir, cache)
});

#[divan::bench(args = ["memory", "file"], sample_count = 30)]
fn query_by_name_1000_of_100000(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        &FILE.1
    };
    bencher.bench(|| {
        let calls = cache.query().name("function_42").calls().unwrap();
        assert_eq!(calls.len(), CALLS / FUNCTIONS);
        calls
    });
}

#[divan::bench(args = ["memory", "file"], sample_count = 10)]
fn table_of_100000(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        &FILE.1
    };
    bencher.bench(|| {
        let table = cache.table();
        assert_eq!(table.len(), CALLS);
        table
    });
}

#[divan::bench(args = ["memory", "file"], sample_count = 30)]
fn query_by_name_and_tag(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        &FILE.1
    };
    bencher.bench(|| {
        cache
            .query()
            .name("function_42")
            .tag("project", "p6")
            .count()
            .unwrap()
    });
}

/// The text table with the argument and result columns: every value read and summarised.
#[divan::bench(args = ["memory", "file"], sample_count = 10)]
fn table_with_values_of_100000(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        &FILE.1
    };
    bencher.bench(|| {
        let table = cache.table().arguments(["x"]).results();
        assert_eq!(table.len(), CALLS);
        table
    });
}

/// `to_polars()` on a table of 100,000 calls with the argument and result columns (goal: at
/// most 200 ms); the table is built once, outside the timing.
#[cfg(feature = "polars")]
#[divan::bench(args = ["memory", "file"], sample_count = 10)]
fn to_polars_of_100000(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        &FILE.1
    };
    let table = cache.table().arguments(["x"]).results();
    bencher.bench(|| {
        let frame = table.to_polars().unwrap();
        assert_eq!(frame.height(), CALLS);
        frame
    });
}
