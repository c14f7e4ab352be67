//! Cost of a cached call: hits on memory and file caches, and the overhead of a miss that
//! stores its result durably. Run with `cargo bench -p fleche --bench memoize`.

use std::sync::atomic::{AtomicI64, Ordering};

use divan::black_box;
use fleche::{Cache, fleche};

fn main() {
    divan::main();
}

#[fleche]
fn small(x: i64) -> i64 {
    x.wrapping_mul(3)
}

#[divan::bench]
fn hit_memory_cache(bencher: divan::Bencher<'_, '_>) {
    let cache = Cache::memory();
    let _active = cache.activate();
    small(7);
    bencher.bench_local(|| small(black_box(7)));
}

#[divan::bench]
fn hit_file_cache(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("bench.redb")).unwrap();
    let _active = cache.activate();
    small(7);
    // A hit read from the file, not from the write queue.
    cache.flush().unwrap();
    bencher.bench_local(|| small(black_box(7)));
}

#[fleche]
fn big(megabytes: usize) -> Vec<f64> {
    (0..megabytes * (1 << 20) / 8).map(|i| i as f64).collect()
}

/// A hit on a 100 MB result (a `Vec<f64>`): reading it from the file, checking it and decoding.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn hit_file_cache_100_mb(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("bench.redb")).unwrap();
    let _active = cache.activate();
    big(100);
    cache.flush().unwrap();
    bencher.bench_local(|| big(black_box(100)).len());
}

/// What the caller waits for on a miss: encoding, digests and queueing the record; the
/// durable commit happens on the writer thread.
#[divan::bench]
fn miss_file_cache(bencher: divan::Bencher<'_, '_>) {
    static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("bench.redb")).unwrap();
    let _active = cache.activate();
    bencher.bench_local(|| small(black_box(NEXT.fetch_add(1, Ordering::Relaxed))));
}

/// Misses including their durable commits: 100 misses, then waiting for the queue to be
/// committed. Batching makes the commits cheaper than one per call.
#[divan::bench]
fn miss_file_cache_100_then_flush(bencher: divan::Bencher<'_, '_>) {
    static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("bench.redb")).unwrap();
    let _active = cache.activate();
    bencher.bench_local(|| {
        for _ in 0..100 {
            small(black_box(NEXT.fetch_add(1, Ordering::Relaxed)));
        }
        cache.flush().unwrap();
    });
}

#[divan::bench]
fn miss_memory_cache(bencher: divan::Bencher<'_, '_>) {
    static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
    let cache = Cache::memory();
    let _active = cache.activate();
    bencher.bench_local(|| small(black_box(NEXT.fetch_add(1, Ordering::Relaxed))));
}

/// 10,000 different calls back to back, until every one is stored: the rate of a loop of
/// misses, where the writer thread (not the caller) sets the pace once its queue is full.
/// Divan reports the time per call (items).
#[divan::bench(args = ["memory", "file"], sample_count = 5, sample_size = 1)]
fn misses_in_a_row(bencher: divan::Bencher<'_, '_>, backend: &str) {
    ten_thousand_misses(bencher, backend, true);
}

/// The same loop until its last call returned, its records left to the writer: how long a
/// notebook cell of misses takes (the cache is flushed outside the timing).
#[divan::bench(args = ["memory", "file"], sample_count = 5, sample_size = 1)]
fn misses_in_a_row_returned(bencher: divan::Bencher<'_, '_>, backend: &str) {
    ten_thousand_misses(bencher, backend, false);
}

/// 10,000 misses on a new cache per sample, timed until all are stored or until the last
/// returned.
fn ten_thousand_misses(bencher: divan::Bencher<'_, '_>, backend: &str, until_stored: bool) {
    const CALLS: i64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    bencher
        .counter(divan::counter::ItemsCount::new(CALLS as usize))
        .with_inputs(|| {
            n += 1;
            if backend == "memory" {
                Cache::memory()
            } else {
                Cache::open(dir.path().join(format!("row{n}.redb"))).unwrap()
            }
        })
        .bench_local_values(|cache| {
            let active = cache.activate();
            for i in 0..CALLS {
                small(black_box(i));
            }
            if until_stored {
                cache.flush().unwrap();
            }
            (cache, active)
        });
}

#[divan::bench]
fn uncached_body(bencher: divan::Bencher<'_, '_>) {
    bencher.bench_local(|| black_box(7i64).wrapping_mul(3));
}

/// The floor under a miss on a file: one durable redb commit of one small row, in the same
/// multi-process mode. A miss costs this plus fleche's own work.
#[divan::bench]
fn raw_redb_durable_commit(bencher: divan::Bencher<'_, '_>) {
    const TABLE: redb::TableDefinition<'_, u64, &[u8]> = redb::TableDefinition::new("t");
    let dir = tempfile::tempdir().unwrap();
    let db = redb::Database::builder()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .create(dir.path().join("raw.redb"))
        .unwrap();
    let mut next = 0u64;
    bencher.bench_local(|| {
        next += 1;
        let txn = db.begin_write().unwrap();
        txn.open_table(TABLE)
            .unwrap()
            .insert(next, &[1u8; 64][..])
            .unwrap();
        txn.commit().unwrap();
    });
}

#[fleche]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

/// `fib(20)` on an empty cache: 21 misses and 18 hits, recursion going through the cache.
/// Each sample starts from a new cache, made and dropped outside the timing.
#[divan::bench(args = ["memory", "file"], sample_count = 100, sample_size = 1)]
fn fib_20_cold(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    bencher
        .with_inputs(|| {
            n += 1;
            let cache = if backend == "memory" {
                Cache::memory()
            } else {
                Cache::open(dir.path().join(format!("fib{n}.redb"))).unwrap()
            };
            let active = cache.activate();
            (cache, active)
        })
        .bench_local_values(|held| {
            assert_eq!(fib(black_box(20)), 6765);
            held
        });
}

#[fleche]
fn byte_length(data: Vec<u8>) -> usize {
    data.len()
}

#[fleche]
fn byte_buf_length(data: serde_bytes::ByteBuf) -> usize {
    data.len()
}

/// A hit whose argument is 10 MB of bytes, as a `Vec<u8>` and as a `serde_bytes::ByteBuf`: the
/// argument's digest is most of the cost.
#[divan::bench(args = ["vec", "serde_bytes"], sample_count = 20, sample_size = 1)]
fn hit_memory_cache_10_mb_bytes_argument(bencher: divan::Bencher<'_, '_>, kind: &str) {
    let cache = Cache::memory();
    let _active = cache.activate();
    let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
    if kind == "vec" {
        byte_length(data.clone());
        bencher
            .with_inputs(|| data.clone())
            .bench_local_values(byte_length);
    } else {
        let data = serde_bytes::ByteBuf::from(data);
        byte_buf_length(data.clone());
        bencher
            .with_inputs(|| data.clone())
            .bench_local_values(byte_buf_length);
    }
}

/// A miss on a memory cache with no metadata collector at all: the floor for the ones below.
#[divan::bench]
fn miss_memory_cache_no_collectors(bencher: divan::Bencher<'_, '_>) {
    static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
    let cache = Cache::memory();
    let _active = cache.activate();
    let _off = fleche::meta::Meta::off(fleche::meta::BUILT_INS);
    bencher.bench_local(|| small(black_box(NEXT.fetch_add(1, Ordering::Relaxed))));
}

/// A miss with `environment` and `resources` on (`miss_memory_cache` has the default,
/// `resources` alone).
#[divan::bench]
fn miss_memory_cache_environment(bencher: divan::Bencher<'_, '_>) {
    static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
    let cache = Cache::memory();
    let _active = cache.activate();
    let _on = fleche::meta!(fleche::meta::EnvironmentCollector);
    bencher.bench_local(|| small(black_box(NEXT.fetch_add(1, Ordering::Relaxed))));
}

/// A miss with `environment`, `git` and `resources` on, run inside this repository.
#[divan::bench]
fn miss_memory_cache_environment_git(bencher: divan::Bencher<'_, '_>) {
    static NEXT: AtomicI64 = AtomicI64::new(1_000_000);
    let cache = Cache::memory();
    let _active = cache.activate();
    let _on = fleche::meta!(
        fleche::meta::EnvironmentCollector,
        fleche::meta::GitCollector
    );
    bencher.bench_local(|| small(black_box(NEXT.fetch_add(1, Ordering::Relaxed))));
}

/// Each built-in collector's `before` and `after`, as a miss runs them.
mod collector {
    use divan::black_box;
    use fleche::meta::{Collector, EnvironmentCollector, GitCollector, ResourcesCollector};

    fn both<C: Collector>(c: &C) {
        let before = c.before().unwrap();
        black_box(c.after(&before).unwrap());
        black_box(before);
    }

    #[divan::bench]
    fn resources() {
        both(&ResourcesCollector);
    }

    #[divan::bench]
    fn environment() {
        both(&EnvironmentCollector);
    }

    /// Reads `.git/HEAD` and the ref on every call; `git status` at most once a second.
    #[divan::bench]
    fn git() {
        both(&GitCollector);
    }
}
