//! Which cache calls made in other threads use: a thread's own activation, else the
//! process-wide one, else the default cache.

use std::sync::atomic::{AtomicUsize, Ordering};

use fleche::{Cache, fleche};
use rayon::prelude::*;

static RUNS: AtomicUsize = AtomicUsize::new(0);

#[fleche]
fn cube(x: i64) -> i64 {
    RUNS.fetch_add(1, Ordering::Relaxed);
    x * x * x
}

// One test, because global activation is process-wide and tests run in parallel.
#[test]
fn a_global_activation_reaches_every_thread_and_a_thread_activation_wins() {
    // A thread-local activation does not reach spawned threads.
    let local = Cache::memory();
    {
        let _a = local.activate();
        std::thread::scope(|s| {
            s.spawn(|| assert!(!fleche::cache().same_as(&local)));
        });
    }

    let global = Cache::memory();
    let guard = global.activate_globally();
    let sum: i64 = (0..200i64).into_par_iter().map(cube).sum();
    assert_eq!(sum, (0..200i64).map(|x| x * x * x).sum::<i64>());
    assert_eq!(
        global.len().unwrap(),
        200,
        "every rayon call landed in the global cache"
    );
    assert!(local.is_empty().unwrap());

    std::thread::scope(|s| {
        for x in 200..210 {
            s.spawn(move || cube(x));
        }
    });
    assert_eq!(global.len().unwrap(), 210, "every scoped thread's call too");
    let before = RUNS.load(Ordering::Relaxed);
    let again: i64 = (0..210i64).into_par_iter().map(cube).sum();
    assert_eq!(again, (0..210i64).map(|x| x * x * x).sum::<i64>());
    assert_eq!(RUNS.load(Ordering::Relaxed), before, "all hits");

    // A thread's own activation comes first on that thread.
    std::thread::scope(|s| {
        s.spawn(|| {
            let _a = local.activate();
            cube(1000);
        });
    });
    assert_eq!(local.len().unwrap(), 1);
    assert_eq!(global.len().unwrap(), 210);

    // The latest global activation wins until its guard drops, on any thread.
    let inner = Cache::memory();
    let inner_guard = inner.activate_globally();
    std::thread::scope(|s| {
        s.spawn(|| assert!(fleche::cache().same_as(&inner)));
    });
    std::thread::spawn(move || drop(inner_guard))
        .join()
        .unwrap();
    std::thread::scope(|s| {
        s.spawn(|| assert!(fleche::cache().same_as(&global)));
    });

    drop(guard);
    std::thread::scope(|s| {
        s.spawn(|| assert!(!fleche::cache().same_as(&global)));
    });
}
