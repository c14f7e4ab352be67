//! Every operation on a cache (a file or memory) sees every earlier write of its own process,
//! although results are committed in the background.

use std::sync::atomic::{AtomicU64, Ordering};

use fleche::{Cache, fleche};

/// Each test runs on a file and on a memory cache: both write behind.
fn caches() -> Vec<(tempfile::TempDir, Cache)> {
    let dir = tempfile::tempdir().unwrap();
    let file = Cache::open(dir.path().join("c.redb")).unwrap();
    vec![(dir, file), (tempfile::tempdir().unwrap(), Cache::memory())]
}

#[fleche]
fn triple(x: u64) -> u64 {
    x * 3
}

#[test]
fn evicting_a_call_just_made_always_finds_it() {
    for (_dir, cache) in caches() {
        evicting_just_made(&cache);
    }
}

fn evicting_just_made(cache: &Cache) {
    let _active = cache.activate();
    let found = (0..200)
        .filter(|i| {
            triple(*i);
            cache.evict(triple::digest(*i)).unwrap()
        })
        .count();
    assert_eq!(found, 200);
    assert_eq!(
        cache.len().unwrap(),
        0,
        "no queued record lands after its eviction"
    );
}

static RUNS: AtomicU64 = AtomicU64::new(0);

#[fleche]
fn counted(x: u64) -> u64 {
    x + 1
}

/// Counts its runs; only the one test below calls it.
#[fleche]
fn run_counted(x: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    x + 1
}

#[test]
fn queries_and_tables_see_every_call_at_once() {
    for (_dir, cache) in caches() {
        let _active = cache.activate();
        for i in 0..300 {
            counted(i);
            // Right after each miss, before any flush.
            if i % 50 == 0 {
                assert_eq!(counted::query().count().unwrap(), i as usize + 1);
            }
        }
        assert_eq!(counted::query().calls().unwrap().len(), 300);
        assert_eq!(cache.table().len(), 300);
        assert_eq!(cache.len().unwrap(), 300);
        assert_eq!(cache.keys_newest_first().unwrap().len(), 300);
        let call = cache.load(counted::digest(299)).unwrap();
        assert_eq!(call.result::<u64>().unwrap(), 300);
    }
}

#[test]
fn hits_follow_every_write_queued_committed_or_evicted() {
    for (_dir, cache) in caches() {
        let _active = cache.activate();
        RUNS.store(0, Ordering::SeqCst);
        let base = 1_000_000;
        for i in 0..500 {
            // A hit straight after the miss finds the queued result.
            assert_eq!(run_counted(base + i), base + i + 1);
            assert_eq!(run_counted(base + i), base + i + 1);
        }
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            500,
            "every second call was a hit"
        );
        cache.flush().unwrap();
        for i in 0..500 {
            assert_eq!(run_counted(base + i), base + i + 1);
        }
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            500,
            "committed results are hits"
        );
        assert!(cache.evict(run_counted::digest(base + 7)).unwrap());
        assert_eq!(run_counted(base + 7), base + 8);
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            501,
            "an evicted call runs again"
        );
        assert_eq!(run_counted(base + 7), base + 8);
        assert_eq!(RUNS.load(Ordering::SeqCst), 501);
    }
}

static WIDE_RUNS: AtomicU64 = AtomicU64::new(0);

/// Counts its runs; only the test below calls it. Results of 1 byte and of 4 KB: a memory
/// cache keeps only small committed results beside its database.
#[fleche]
fn wide(x: u64, size: usize) -> Vec<u8> {
    WIDE_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![x as u8; size]
}

/// A memory cache answers a miss from its queue alone while that holds every result it
/// stored; each way a result can leave the queue (too large, evicted, copied in from
/// elsewhere) must send later lookups to the database again. Each case on a fresh cache.
#[test]
fn every_stored_call_hits_after_results_leave_the_queue() {
    let runs = || WIDE_RUNS.load(Ordering::SeqCst);
    let fill = |cache: &Cache, size: usize| {
        let _active = cache.activate();
        for x in 0..20 {
            wide(x, size);
        }
        cache.flush().unwrap();
    };
    let hits = |cache: &Cache, size: usize, skip: u64, why: &str| {
        let _active = cache.activate();
        let before = runs();
        for x in (0..20).filter(|x| *x != skip) {
            wide(x, size);
        }
        assert_eq!(runs(), before, "{why}");
    };

    let large = Cache::memory();
    fill(&large, 4096);
    hits(
        &large,
        4096,
        u64::MAX,
        "large results, committed and let go, hit",
    );

    let evicted = Cache::memory();
    fill(&evicted, 1);
    assert!(evicted.evict(wide::digest(3, 1)).unwrap());
    hits(&evicted, 1, 3, "the other results hit after an eviction");

    let dir = tempfile::tempdir().unwrap();
    let file = Cache::open(dir.path().join("from.redb")).unwrap();
    fill(&file, 2);
    let copied = Cache::memory();
    file.query().copy_to(&copied).unwrap();
    hits(&copied, 2, u64::MAX, "calls copied in from a file hit");
}
