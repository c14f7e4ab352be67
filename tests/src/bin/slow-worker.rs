//! A worker with a slow cached function, run several at once by the compute-once tests.
//!
//! `slow-worker CACHE COMMAND ...`, where CACHE is a cache file, a `postgres://` URL, or
//! `FILE+postgres://...` (a file stacked above the database), and COMMAND is:
//! - `keys N FROM MILLIS`: calls `slow(k, MILLIS)` for the N keys starting at FROM (wrapping
//!   around N), then prints `done` and the sum of the results;
//! - `eager N FROM MILLIS`: the same through `eager`, marked `wait = false`;
//! - `key K MILLIS`: calls `slow(K, MILLIS)` once and prints `result R`;
//! - `flush`: opens the cache and waits until its results are stored (and pushed).
//!
//! Every body that runs appends `K PID` to the file named by `FLECHE_TEST_LOG`, in one write
//! (appends of one short line never interleave), so a test counts how often each key ran.
//! `FLECHE_TEST_SLEEP_MS` sets how long a body sleeps instead of MILLIS (the key keeps
//! MILLIS), so a process can take over a long call and finish it quickly; with
//! `FLECHE_TEST_PANIC` set, a body panics after its sleep. With `FLECHE_TEST_TIMES` set, a
//! body prints `ended NS` and `key` prints `returned NS` (ns since the Unix epoch).

use std::io::Write;

use fleche::fleche;

#[fleche(module = "slow_worker")]
fn slow(k: u64, millis: u64) -> u64 {
    run_body(k, millis)
}

/// The same body without waiting for other processes (`#[fleche(wait = false)]`).
#[fleche(module = "slow_worker", wait = false)]
fn eager(k: u64, millis: u64) -> u64 {
    run_body(k, millis)
}

/// Logs that the body of key `k` runs, then takes `millis` to compute `k * k`.
fn run_body(k: u64, millis: u64) -> u64 {
    if let Ok(log) = std::env::var("FLECHE_TEST_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("the run log opens");
        file.write_all(format!("{k} {}\n", std::process::id()).as_bytes())
            .expect("the run log takes a line");
    }
    let sleep = std::env::var("FLECHE_TEST_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(millis);
    std::thread::sleep(std::time::Duration::from_millis(sleep));
    assert!(
        std::env::var_os("FLECHE_TEST_PANIC").is_none(),
        "the body of key {k} panics, as asked"
    );
    if std::env::var_os("FLECHE_TEST_TIMES").is_some() {
        println!("ended {}", now_nanos());
    }
    k * k
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: slow-worker CACHE keys|eager N FROM MILLIS | key K MILLIS");
        std::process::exit(2);
    };
    let number = |i: usize| -> u64 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| usage())
    };
    let (Some(path), Some(command)) = (args.get(1), args.get(2)) else {
        usage()
    };
    let cache = open(path).unwrap_or_else(|e| {
        eprintln!("cache error: {e}");
        std::process::exit(1);
    });
    let _active = cache.activate();
    match command.as_str() {
        "keys" | "eager" => {
            let (n, from, millis) = (number(3), number(4), number(5));
            let mut sum = 0;
            for i in 0..n {
                let k = (from + i) % n;
                sum += if command == "keys" {
                    slow(k, millis)
                } else {
                    eager(k, millis)
                };
            }
            println!("done {sum}");
        }
        "key" => {
            let result = slow(number(3), number(4));
            if std::env::var_os("FLECHE_TEST_TIMES").is_some() {
                println!("returned {}", now_nanos());
            }
            println!("result {result}");
        }
        // Opens the cache (a stack pushes what its file's outbox holds) and waits for the push.
        "flush" => match cache.flush() {
            Ok(()) => println!("flushed"),
            Err(e) => {
                println!("not flushed: {e}");
                std::process::exit(1);
            }
        },
        _ => usage(),
    }
}

/// The cache CACHE names.
fn open(spec: &str) -> fleche::Result<fleche::Cache> {
    if spec.starts_with("postgres://") {
        return fleche::Cache::postgres(spec);
    }
    match spec.split_once("+postgres://") {
        Some((file, url)) => fleche::Stack::new()
            .cache("local", fleche::Cache::open(file)?)
            .postgres("shared", &format!("postgres://{url}"))?
            .build(),
        None => fleche::Cache::open(spec),
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
