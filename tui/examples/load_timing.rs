//! Times the parts of opening a cache, without drawing: `load_timing PATH` prints the time to
//! open read-only, to read the first screen's records, to page through every record as the
//! browser's reader does, to turn them into the browser's rows, and the memory held (from
//! `/proc/self/status`). `open_large` times the whole browser; this says where the time goes.

use std::time::Instant;

use fleche_tui::loader::{CHUNK, FIRST_CHUNK};

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
    let mut pages = Vec::new();
    let mut after = None;
    let mut n = 0;
    loop {
        let page = cache.records_after(after, CHUNK).expect("records");
        let Some(last) = page.last() else { break };
        after = Some(last.key);
        n += page.len();
        pages.push(page);
    }
    println!(
        "every record read and decoded ({n}): {:.1?}  ({})",
        t.elapsed(),
        memory()
    );
    let t = Instant::now();
    let mut calls = fleche_tui::calls::Calls::new();
    calls.reserve(n);
    for page in pages.drain(..) {
        for r in page {
            if let Ok(record) = &r.record {
                calls.add_in_layer(r.key, r.layer, record);
            }
        }
    }
    println!(
        "rows made ({}): {:.1?}  ({})",
        calls.len(),
        t.elapsed(),
        memory()
    );
}

/// CPU seconds (user and system) this process has used, from `/proc/self/stat` (Linux): on a
/// machine shared with other work, the wall times above stretch and these do not.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th, in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) / 100.0
}

/// Resident memory and its peak, from `/proc/self/status` (Linux), and CPU time so far.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or("?".to_owned(), |v| v.trim().to_owned())
    };
    format!(
        "{} resident, peak {}; {:.2} s CPU so far",
        field("VmRSS:"),
        field("VmHWM:"),
        cpu()
    )
}
