//! A separate program the end-to-end tests run against a cache file.
//!
//! `cache-worker PATH COMMAND [N]`, where PATH `-` means the default cache (from
//! `fleche.toml` / `FLECHE_CACHE`), and COMMAND is:
//! - `square N`: calls a cached `square(N)` and prints `computed` or `hit`, then the result;
//! - `square-v2 N`: the same function name with `version = 2`;
//! - `many N`: makes N distinct cached calls (for concurrency tests);
//! - `hold N`: makes one cached call, prints `ready`, then sleeps N seconds (to be killed).

use std::sync::atomic::{AtomicBool, Ordering};

use fleche::fleche;

static COMPUTED: AtomicBool = AtomicBool::new(false);

#[fleche(name = "square", module = "worker", version = 1)]
fn square(x: i64) -> i64 {
    COMPUTED.store(true, Ordering::SeqCst);
    x * x
}

#[fleche(name = "square", module = "worker", version = 2)]
fn square_v2(x: i64) -> i64 {
    COMPUTED.store(true, Ordering::SeqCst);
    x * x
}

#[fleche(module = "worker")]
fn labelled(process: String, i: u64) -> String {
    format!("{process}-{i}")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, command, n] = args.as_slice() else {
        eprintln!("usage: cache-worker PATH square|square-v2|many N");
        std::process::exit(2);
    };
    let n: i64 = n.parse().expect("N is an integer");
    // A cache that cannot be opened is reported, and the functions still compute.
    let cache = match path.as_str() {
        "-" => None,
        path => match fleche::Cache::open(path) {
            Ok(cache) => Some(cache),
            Err(e) => {
                eprintln!("cache error: {e}");
                None
            }
        },
    };
    let _active = cache.as_ref().map(|c| c.activate());
    match command.as_str() {
        "square" | "square-v2" => {
            let result = if command == "square" {
                square(n)
            } else {
                square_v2(n)
            };
            let how = if COMPUTED.load(Ordering::SeqCst) {
                "computed"
            } else {
                "hit"
            };
            println!("{how} {result}");
        }
        "many" => {
            let me = std::process::id().to_string();
            for i in 0..n as u64 {
                labelled(me.clone(), i);
            }
            println!("done");
        }
        "hold" => {
            square(n);
            // Queued writes commit in the background; make sure this one is in the file.
            fleche::cache().flush().expect("stored");
            println!("ready");
            use std::io::Write;
            std::io::stdout().flush().ok();
            std::thread::sleep(std::time::Duration::from_secs(n as u64));
        }
        other => {
            eprintln!("unknown command {other}");
            std::process::exit(2);
        }
    }
}
