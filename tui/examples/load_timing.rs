//! Times the parts of opening a cache, without drawing: `load_timing PATH` prints the time to
//! open read-only, to read the first screen's records, to page through every record as the
//! browser's reader does (in place, into batches), to turn the batches into the browser's
//! rows, and the memory held (from `/proc/self/status`). `open_large` times the whole browser; this says where the time goes.

use std::time::Instant;

use fleche_tui::loader::{CHUNK, FIRST_CHUNK};
use fleche_tui::testing::memory;

fn main() {
    let path = std::env::args().nth(1).expect("usage: load_timing PATH");
    let t = Instant::now();
    let cache = fleche_tui::open::open(std::path::Path::new(&path), false)
        .expect("open")
        .cache;
    let opened = t.elapsed();
    println!("open: {opened:.1?}  ({})", memory());
    let t = Instant::now();
    let page = cache.calls_before(None, FIRST_CHUNK).expect("page");
    let keys: Vec<_> = page.iter().map(|k| k.key).collect();
    let first = cache.records_of(&keys).expect("records");
    println!(
        "first screen ({} records): {:.1?}",
        first.len(),
        t.elapsed()
    );
    let t = Instant::now();
    let mut batches = Vec::new();
    let mut after = None;
    let mut n = 0;
    loop {
        let mut batch = fleche_tui::batch::Batch::new();
        let keys = cache
            .visit_records_after(after, CHUNK, |key, layer, record| {
                if let Ok(record) = record {
                    batch.push_ref(key, layer, &record);
                }
            })
            .expect("records");
        let Some(&last) = keys.last() else { break };
        after = Some(last);
        n += keys.len();
        batches.push(batch);
    }
    println!(
        "every record read in place into batches, as the reader does ({n}): {:.1?}  ({})",
        t.elapsed(),
        memory()
    );
    let t = Instant::now();
    let mut calls = fleche_tui::calls::Calls::new();
    calls.reserve(n);
    for batch in batches.drain(..) {
        let mut arriving = calls.arriving(batch);
        calls.add_arriving(&mut arriving, usize::MAX, |_| {});
    }
    println!(
        "rows made ({}): {:.1?}  ({})",
        calls.len(),
        t.elapsed(),
        memory()
    );
}
