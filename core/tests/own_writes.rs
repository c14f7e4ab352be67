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
