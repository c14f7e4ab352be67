//! Adds calls to a cache file from a second process, for the live-refresh test:
//! `add_calls PATH COUNT [DELAY_MS] [HOLD_MS]` stores `added(i)` for i in 0..COUNT, one every
//! DELAY_MS, then keeps the cache open HOLD_MS longer, and closes it cleanly.

use fleche::fleche;

#[fleche]
fn added(i: u64) -> u64 {
    i * 10
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: add_calls PATH COUNT [DELAY_MS] [HOLD_MS]");
    let count: u64 = args
        .next()
        .map_or(3, |c| c.parse().expect("COUNT is a number"));
    let delay: u64 = args
        .next()
        .map_or(0, |c| c.parse().expect("DELAY_MS is a number"));
    let hold: u64 = args
        .next()
        .map_or(0, |c| c.parse().expect("HOLD_MS is a number"));
    let cache = fleche::Cache::open(&path).expect("cannot open the cache");
    {
        let _active = cache.activate();
        let _tags = fleche::tags!(source = "add_calls");
        for i in 0..count {
            added(i);
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(hold));
    println!("added {count} calls to {path}");
}
