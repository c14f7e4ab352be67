//! Times what opening a cache costs the browser: `load_timing PATH` prints the time to open
//! read-only, to read the first chunk of records (the first screen), and to read them all.

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: load_timing PATH");
    let t = Instant::now();
    let cache = fleche::Cache::open_read_only(&path).expect("open");
    let opened = t.elapsed();
    let page = cache
        .calls_before(None, fleche_tui::loader::FIRST_CHUNK)
        .expect("page");
    let keys: Vec<_> = page.iter().map(|k| k.key).collect();
    let first = cache.load_many(&keys).expect("records");
    let first_screen = t.elapsed();
    let all = cache.keys_newest_first().expect("keys");
    let listed = t.elapsed();
    let mut calls = fleche_tui::calls::Calls::new();
    for chunk in all.chunks(fleche_tui::loader::CHUNK) {
        for c in cache.load_many(chunk).expect("records") {
            calls.add(c.key(), c.record());
        }
    }
    let loaded = t.elapsed();
    println!(
        "{} calls: open {opened:?}, first screen ({} records) {first_screen:?}, all keys {listed:?}, all records {loaded:?}",
        all.len(),
        first.len()
    );
}
