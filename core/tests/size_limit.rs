//! The size limit (`max_size`): a commit that takes a cache over it evicts the least recently
//! used calls, a hit counting as a use, with the values no other call needs, until the cache
//! is under the limit again.

use fleche::{Cache, fleche};

thread_local! {
    /// Runs of `block` on this thread: tests run in parallel, each on its own thread.
    static RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A result of about 10 KB.
#[fleche]
fn block(i: u64) -> Vec<u8> {
    RUNS.with(|r| r.set(r.get() + 1));
    vec![i as u8; 10_000]
}

/// Two calls that share their (large) argument value.
#[fleche]
fn measure(data: Vec<u8>, scale: u64) -> u64 {
    data.len() as u64 * scale
}

fn held(cache: &Cache, i: u64) -> bool {
    cache.contains(&block::digest(i)).unwrap()
}

fn limit_tests(cache: &Cache) {
    // Five blocks fit in 55 KB, six do not.
    cache.set_max_size(Some(55_000));
    assert_eq!(cache.max_size(), Some(55_000));
    let _active = cache.activate();
    for i in 0..5 {
        block(i);
    }
    cache.flush().unwrap();
    assert_eq!(cache.len().unwrap(), 5, "under the limit: nothing evicted");

    // A hit makes block(0) the most recently used: the next store evicts block(1) instead.
    let before = RUNS.with(std::cell::Cell::get);
    block(0);
    assert_eq!(RUNS.with(std::cell::Cell::get), before, "a hit");
    block(5);
    cache.flush().unwrap();
    assert!(held(cache, 0), "used recently: kept");
    assert!(
        !held(cache, 1),
        "least recently used: evicted; held: {:?} len {}",
        (0..6).map(|i| held(cache, i)).collect::<Vec<_>>(),
        cache.len().unwrap()
    );
    assert!((2..6).all(|i| held(cache, i)));
    let stats = cache.stats().unwrap();
    assert_eq!(stats.calls, 5);
    assert_eq!(stats.orphaned_values, 0, "evicted with its values");
    assert!(stats.value_bytes <= 55_000, "{}", stats.value_bytes);

    // Many more: the cache stays under the limit, keeping the newest.
    for i in 10..40 {
        block(i);
    }
    cache.flush().unwrap();
    let stats = cache.stats().unwrap();
    assert!(stats.calls <= 5 && stats.calls >= 4, "{}", stats.calls);
    assert!(held(cache, 39), "the newest call stays");
    assert_eq!(stats.orphaned_values, 0);
    assert_eq!(
        cache.verify().unwrap().problems.len(),
        0,
        "indexes follow the evictions"
    );

    // A value two calls share stays while one of them is kept.
    cache.set_max_size(None);
    let shared = vec![7u8; 20_000];
    measure(shared.clone(), 1);
    measure(shared.clone(), 2);
    cache.flush().unwrap();
    cache.set_max_size(Some(70_000));
    // Using the second makes the first the oldest of the two.
    measure(shared.clone(), 2);
    for i in 100..104 {
        block(i);
    }
    cache.flush().unwrap();
    assert!(!cache.contains(&measure::digest(shared.clone(), 1)).unwrap());
    let kept = cache
        .query()
        .name("measure")
        .only()
        .expect("the recently used call is kept");
    assert_eq!(kept.argument::<Vec<u8>>("data").unwrap(), shared);
    assert_eq!(cache.stats().unwrap().orphaned_values, 0);
}

#[test]
fn a_file_cache_over_its_limit_evicts_least_recently_used_calls() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("c.redb")).unwrap();
    limit_tests(&cache);
    // The uses and sizes are in the file: another handle after a restart agrees.
    drop(cache);
    let again = Cache::open_read_only(dir.path().join("c.redb")).unwrap();
    assert!(again.len().unwrap() >= 4);
}

#[test]
fn a_memory_cache_over_its_limit_evicts_least_recently_used_calls() {
    limit_tests(&Cache::memory());
}

#[test]
fn a_limit_set_on_a_full_cache_counts_what_is_already_there() {
    let cache = Cache::memory();
    {
        let _active = cache.activate();
        for i in 200..210 {
            block(i);
        }
    }
    assert_eq!(cache.len().unwrap(), 10);
    cache.set_max_size(Some(35_000));
    let _active = cache.activate();
    block(300);
    let left = cache.len().unwrap();
    assert!(left <= 3, "{left}");
    assert!(held(&cache, 300), "the new call is the most recently used");
}
