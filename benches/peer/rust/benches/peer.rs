//! fleche next to the crate `cached` (its memory store and its redb store) on the peer
//! workloads; prints `tool workload seconds` lines. Run everything with `benches/peer/run`.

use std::sync::atomic::{AtomicI64, Ordering};

use cached::macros::cached;
use cached::prelude::*;
use cached::{CachedExt, RedbCache};
use fleche::record::{CallRecord, Metadata};
use fleche::{Cache, fleche};
use fleche_peer_bench::{median, median_with, report};

#[fleche]
fn small(x: i64) -> i64 {
    x.wrapping_mul(3)
}

#[fleche]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[fleche]
fn byte_length(data: Vec<u8>) -> usize {
    data.len()
}

#[fleche]
fn floats(megabytes: usize) -> Vec<f64> {
    (0..megabytes * 1_000_000 / 8).map(|i| i as f64).collect()
}

#[cached]
fn c_small(x: i64) -> i64 {
    x.wrapping_mul(3)
}

#[cached]
fn c_fib(n: u64) -> u64 {
    if n < 2 { n } else { c_fib(n - 1) + c_fib(n - 2) }
}

#[cached]
fn c_byte_length(data: Vec<u8>) -> usize {
    data.len()
}

/// Memoization through a redb store of `cached`, as its `#[concurrent_cached(disk = true)]`
/// does: look up, else compute and store (each store a durable commit, its default).
fn through<K: Clone, V: Clone>(
    store: &RedbCache<K, V>,
    key: K,
    compute: impl FnOnce(&K) -> V,
) -> V
where
    RedbCache<K, V>: ConcurrentCached<K, V>,
{
    if let Some(v) = store.cache_get(&key).unwrap() {
        return v;
    }
    let v = compute(&key);
    store.cache_set(key, v.clone()).unwrap();
    v
}

fn c_disk_fib(store: &RedbCache<u64, u64>, n: u64) -> u64 {
    through(store, n, |&n| {
        if n < 2 { n } else { c_disk_fib(store, n - 1) + c_disk_fib(store, n - 2) }
    })
}

static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
fn next() -> i64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn ten_mb() -> Vec<u8> {
    (0..10_000_000u32).map(|i| (i % 251) as u8).collect()
}

fn fleche_calls(dir: &std::path::Path) {
    let memory = Cache::memory();
    {
        let _a = memory.activate();
        small(7);
        report("fleche", "hit, memory", median(101, 1000, || {
            for _ in 0..1000 {
                std::hint::black_box(small(std::hint::black_box(7)));
            }
        }));
        report("fleche", "miss, memory", median(101, 100, || {
            for _ in 0..100 {
                small(next());
            }
        }));
        let data = ten_mb();
        byte_length(data.clone());
        report("fleche", "hit, 10 MB byte argument", median_with(21, || data.clone(), byte_length));
    }
    let file = Cache::open(dir.join("fleche.redb")).unwrap();
    {
        let _a = file.activate();
        small(7);
        file.flush().unwrap();
        report("fleche", "hit, file", median(101, 1000, || {
            for _ in 0..1000 {
                std::hint::black_box(small(std::hint::black_box(7)));
            }
        }));
        report("fleche", "miss, file", median(101, 100, || {
            for _ in 0..100 {
                small(next());
            }
        }));
        report("fleche", "miss until durable, file", median(21, 100, || {
            for _ in 0..100 {
                small(next());
            }
            file.flush().unwrap();
        }));
        floats(100);
        file.flush().unwrap();
        report("fleche", "hit, 100 MB f64 result, file", median(5, 1, || {
            std::hint::black_box(floats(100).len());
        }));
    }
    let mut n = 0;
    report("fleche", "fib(20) cold, memory", median_with(51, Cache::memory, |cache| {
        let active = cache.activate();
        assert_eq!(fib(20), 6765);
        (active, cache)
    }));
    report("fleche", "fib(20) cold, file", median_with(21, || {
        n += 1;
        Cache::open(dir.join(format!("fib{n}.redb"))).unwrap()
    }, |cache| {
        let active = cache.activate();
        assert_eq!(fib(20), 6765);
        (active, cache)
    }));
    // Bytes per call: a file of 10,000 calls of `small`, after compaction.
    let path = dir.join("size.redb");
    let mut sized = Cache::open(&path).unwrap();
    {
        let _a = sized.activate();
        for i in 0..10_000 {
            small(i);
        }
    }
    sized.flush().unwrap();
    sized.compact().unwrap();
    drop(sized);
    let bytes = std::fs::metadata(&path).unwrap().len();
    report("fleche", "bytes per call (file)", bytes as f64 / 10_000.0);
}

fn cached_calls(dir: &std::path::Path) {
    c_small(7);
    report("cached", "hit, memory", median(101, 1000, || {
        for _ in 0..1000 {
            std::hint::black_box(c_small(std::hint::black_box(7)));
        }
    }));
    report("cached", "miss, memory", median(101, 100, || {
        for _ in 0..100 {
            c_small(next());
        }
    }));
    let data = ten_mb();
    c_byte_length(data.clone());
    report("cached", "hit, 10 MB byte argument", median_with(21, || data.clone(), c_byte_length));
    report("cached", "fib(20) cold, memory", median_with(51, || C_FIB.write().clear(), |()| {
        assert_eq!(c_fib(20), 6765);
    }));
    let store: RedbCache<i64, i64> =
        RedbCache::builder("small").disk_dir(dir).build().unwrap();
    through(&store, 7, |x| x * 3);
    report("cached", "hit, file", median(101, 1000, || {
        for _ in 0..1000 {
            std::hint::black_box(through(&store, 7, |x| x * 3));
        }
    }));
    report("cached", "miss, file", median(21, 10, || {
        for _ in 0..10 {
            through(&store, next(), |x| x * 3);
        }
    }));
    report("cached", "miss until durable, file", median(21, 10, || {
        for _ in 0..10 {
            through(&store, next(), |x| x * 3);
        }
    }));
    let floats_store: RedbCache<usize, Vec<f64>> =
        RedbCache::builder("floats").disk_dir(dir).build().unwrap();
    let make = |mb: &usize| (0..mb * 1_000_000 / 8).map(|i| i as f64).collect::<Vec<f64>>();
    through(&floats_store, 100, make);
    report("cached", "hit, 100 MB f64 result, file", median(5, 1, || {
        std::hint::black_box(through(&floats_store, 100, make).len());
    }));
    let mut n = 0;
    report("cached", "fib(20) cold, file", median_with(11, || {
        n += 1;
        RedbCache::<u64, u64>::builder(format!("fib{n}")).disk_dir(dir).build().unwrap()
    }, |store| {
        assert_eq!(c_disk_fib(&store, 20), 6765);
        store
    }));
    let sized: RedbCache<i64, i64> = RedbCache::builder("sized").disk_dir(dir).durable(false).build().unwrap();
    for i in 0..10_000 {
        through(&sized, i, |x| x * 3);
    }
    sized.flush().unwrap();
    let path = sized.disk_path().to_owned();
    drop(sized);
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    report("cached", "bytes per call (file)", bytes as f64 / 10_000.0);
}

/// `calls` records of 100 functions written straight through the store, as
/// core/benches/query.rs does.
fn fill(cache: &Cache, calls: usize) {
    let t0 = chrono::Utc::now();
    let mut values = Vec::with_capacity(calls * 2);
    let records: Vec<_> = (0..calls)
        .map(|i| {
            let x = i as i64;
            let (arg, result) = (fleche::digest(&x), fleche::digest(&(x * x)));
            values.push((arg, fleche::codec::encode(&x).unwrap()));
            values.push((result, fleche::codec::encode(&(x * x)).unwrap()));
            let record = CallRecord {
                name: format!("function_{}", i % 100),
                module: "bench".into(),
                version: None,
                code: None,
                arguments: vec![("x".into(), arg)],
                argument_keys: Vec::new(),
                result,
                result_type: "i64".into(),
                result_size: 9,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::microseconds(i as i64),
                    timestop: t0 + chrono::Duration::microseconds(i as i64 + 5),
                    walltime: 5e-6,
                    ..Default::default()
                },
            };
            let key = fleche::digest(&("peer call", i));
            (fleche::__private::clustered_key(&record.name, key), record)
        })
        .collect();
    for chunk in records.chunks(100_000).zip(values.chunks(200_000)) {
        cache.insert_records(chunk.0, chunk.1).unwrap();
    }
}

fn fleche_tables(dir: &std::path::Path, sizes: &[usize]) {
    for &calls in sizes {
        let cache = Cache::open(dir.join(format!("table{calls}.redb"))).unwrap();
        fill(&cache, calls);
        let samples = if calls >= 1_000_000 { 3 } else { 11 };
        report("fleche", &format!("table of {calls} calls, file"), median(samples, 1, || {
            assert_eq!(cache.table().len(), calls);
        }));
        report("fleche", &format!("query by name ({} of {calls}), file", calls / 100), median(samples, 1, || {
            assert_eq!(cache.query().name("function_42").calls().unwrap().len(), calls / 100);
        }));
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sizes: Vec<usize> = std::env::var("PEER_SIZES")
        .unwrap_or_else(|_| "1000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    fleche_calls(dir.path());
    cached_calls(dir.path());
    fleche_tables(dir.path(), &sizes);
}
