//! A cache shared through PostgreSQL, on a throwaway server on loopback: a hit the server
//! serves after a local miss, the push of new results, and a query by name on the server.
//! Run with `cargo bench -p fleche-tests --bench shared` (it starts its own server; see
//! `fleche_tests::postgres`). The wait of a process for another's result is measured by
//! `cargo test -p fleche-tests --release --test postgres -- --ignored --nocapture wait_figures`.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use divan::black_box;
use fleche::{Cache, Stack, fleche};
use fleche_tests::postgres::Postgres;

fn main() {
    divan::main();
}

static SERVER: LazyLock<Postgres> =
    LazyLock::new(|| Postgres::start().expect("a PostgreSQL server for the benchmarks"));

#[fleche(module = "bench")]
fn small(x: u64) -> u64 {
    x.wrapping_mul(3)
}

/// A local file above the server, in its own temporary directory.
fn stacked(dir: &tempfile::TempDir) -> Cache {
    Stack::new()
        .cache("local", Cache::open(dir.path().join("local.redb")).unwrap())
        .postgres("shared", &SERVER.url())
        .unwrap()
        .build()
        .unwrap()
}

const PRELOADED: u64 = 20_000;
static PRELOAD: LazyLock<()> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let cache = stacked(&dir);
    let _active = cache.activate();
    for x in 0..PRELOADED {
        small(x);
    }
    cache.flush().unwrap();
});

/// A cached call that misses its (empty) local file and is served by the server: one round
/// trip for the result, then the whole call copied into the local file (queued).
#[divan::bench(sample_count = 100, sample_size = 20)]
fn hit_from_postgres_after_local_miss(bencher: divan::Bencher<'_, '_>) {
    LazyLock::force(&PRELOAD);
    let dir = tempfile::tempdir().unwrap();
    let cache = stacked(&dir);
    let _active = cache.activate();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    bencher.bench_local(|| small(black_box(NEXT.fetch_add(1, Ordering::Relaxed) % PRELOADED)));
}

/// 10,000 new small results stored in the local file and pushed to the server: the calls,
/// then `flush`, which waits until the server has every one. Divide 10,000 by the time.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn push_10_000_calls(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = stacked(&dir);
    let _active = cache.activate();
    static NEXT: AtomicU64 = AtomicU64::new(1 << 40);
    bencher.bench_local(|| {
        for _ in 0..10_000 {
            small(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        cache.flush().unwrap();
    });
}

/// The push alone: 10,000 small results computed while the server was stopped wait in the
/// local file's outbox; the server is back, a new stack opens the file, and `flush` returns
/// once the server has every one (what the next process on the file does). Divide 10,000
/// by the time.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn push_10_000_calls_from_the_outbox(bencher: divan::Bencher<'_, '_>) {
    static NEXT: AtomicU64 = AtomicU64::new(1 << 42);
    bencher
        .with_inputs(|| {
            let dir = tempfile::tempdir().unwrap();
            SERVER.stop().unwrap();
            {
                let cache = stacked(&dir);
                let _active = cache.activate();
                for _ in 0..10_000 {
                    small(NEXT.fetch_add(1, Ordering::Relaxed));
                }
                // Committed to the file, outbox entries included; the push fails for now.
                cache.layer("local").unwrap().flush().unwrap();
            }
            SERVER.restart().unwrap();
            dir
        })
        .bench_local_values(|dir| {
            let cache = stacked(&dir);
            cache.flush().unwrap();
            (cache, dir)
        });
}

/// The same 10,000 calls into the local file alone, for comparison.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn store_10_000_calls_locally(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("local.redb")).unwrap();
    let _active = cache.activate();
    static NEXT: AtomicU64 = AtomicU64::new(1 << 41);
    bencher.bench_local(|| {
        for _ in 0..10_000 {
            small(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        cache.flush().unwrap();
    });
}

#[fleche(module = "bench")]
fn rare(x: u64) -> u64 {
    x + 1
}

#[fleche(module = "bench")]
fn common(x: u64) -> u64 {
    x + 2
}

static HUNDRED_THOUSAND: LazyLock<()> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let cache = stacked(&dir);
    let _active = cache.activate();
    for x in 0..1_000 {
        rare(x);
    }
    for x in 0..99_000 {
        common(x);
    }
    cache.flush().unwrap();
});

/// `query().name("rare")` returning 1,000 of 100,000 calls, on the server alone (its index on
/// the name).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn query_by_name_1_000_of_100_000(bencher: divan::Bencher<'_, '_>) {
    LazyLock::force(&HUNDRED_THOUSAND);
    let cache = Cache::postgres(&SERVER.url()).unwrap();
    bencher.bench_local(|| {
        let calls = cache.query().name("rare").calls().unwrap();
        assert_eq!(calls.len(), 1_000);
        calls
    });
}
