//! Every operation on a cache file sees every earlier write of its own process, although
//! results are committed in the background.

use fleche::{Cache, fleche};

#[fleche]
fn triple(x: u64) -> u64 {
    x * 3
}

#[test]
fn evicting_a_call_just_made_always_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("c.redb")).unwrap();
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
