//! Makes cached calls in a loop until killed, for measuring what a `kill -9` loses.
//!
//! `call-loop PATH [flush]`: calls a cached `work(i)` for i = 0, 1, 2, ... on the cache file
//! PATH and, after each call returns (and, with `flush`, after `Cache::flush` returns), prints
//! `i KEY NANOS`: the index, the call key, and the wall-clock time in ns since the Unix epoch.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use fleche::{Cache, fleche};

#[fleche(module = "call_loop")]
fn work(i: u64) -> Vec<u64> {
    // A small result with some computing, as a typical memoized step.
    (0..16)
        .map(|k| i.wrapping_mul(2654435761).rotate_left(k))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, flush) = match args.as_slice() {
        [_, path] => (path, false),
        [_, path, mode] if mode == "flush" => (path, true),
        _ => {
            eprintln!("usage: call-loop PATH [flush]");
            std::process::exit(2);
        }
    };
    let cache = Cache::open(path).expect("the cache opens");
    let _active = cache.activate();
    let stdout = std::io::stdout();
    for i in 0.. {
        work(i);
        if flush {
            cache.flush().expect("stored");
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // Line by line: a line is in the pipe as soon as the call has returned.
        let mut out = stdout.lock();
        writeln!(out, "{i} {} {now}", work::digest(i)).expect("stdout");
        out.flush().expect("stdout");
    }
}
