//! Hits a cache file in a tight loop while taking commands on stdin, for the tests of the
//! read snapshot that hits reuse (`core/src/store/snapshot.rs`).
//!
//! `hit-loop CACHE`, then one command a line (each answered with one line on stdout):
//! - `store K`: calls `value(K)` and waits for its commit; answers `stored K`;
//! - `hit K`: from now on calls `value(K)` between commands, as fast as it can; answers
//!   `hitting K` after the first of these calls;
//! - `idle`: stops that; answers `idle`;
//! - `call K`: calls `value(K)` once; answers `hit K` or `computed K`;
//! - `delete K`: evicts the call `value(K)` and waits for the commit; answers `deleted K`;
//! - `until-computed K`: calls `value(K)` until its body has run since the last `hit` (or
//!   since this command, when not hitting); answers `computed K` or, after 10 s,
//!   `still-served K`;
//! - `churn N ROUNDS`: recomputes `value(0..N)` ROUNDS times, each round in one commit;
//!   answers `churned`;
//! - `quit`.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fleche::{Cache, fleche};

static COMPUTED: AtomicU64 = AtomicU64::new(0);

#[fleche(module = "hit_loop")]
fn value(k: u64) -> Vec<u64> {
    COMPUTED.fetch_add(1, Ordering::SeqCst);
    (0..8)
        .map(|i| k.wrapping_mul(2654435761).rotate_left(i))
        .collect()
}

/// Calls `value(k)`; whether its body ran.
fn computed(k: u64) -> bool {
    let before = COMPUTED.load(Ordering::SeqCst);
    std::hint::black_box(value(k));
    COMPUTED.load(Ordering::SeqCst) != before
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: hit-loop CACHE");
    let cache = Cache::open(&path).expect("the cache opens");
    let _active = cache.activate();
    let (send, commands) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut hitting: Option<u64> = None;
    // Bodies run before the last `hit` command.
    let mut computed_before_hitting = 0;
    loop {
        if let Some(k) = hitting {
            value(k);
        }
        let command = if hitting.is_some() {
            match commands.try_recv() {
                Ok(c) => c,
                Err(mpsc::TryRecvError::Empty) => continue,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        } else {
            match commands.recv() {
                Ok(c) => c,
                Err(_) => return,
            }
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        let number =
            |i: usize| -> u64 { words.get(i).and_then(|w| w.parse().ok()).expect("a number") };
        let answer = match words.first().copied() {
            Some("store") => {
                value(number(1));
                cache.flush().expect("stored");
                format!("stored {}", number(1))
            }
            Some("hit") => {
                hitting = Some(number(1));
                computed_before_hitting = COMPUTED.load(Ordering::SeqCst);
                value(number(1));
                format!("hitting {}", number(1))
            }
            Some("idle") => {
                hitting = None;
                "idle".to_owned()
            }
            Some("call") => {
                let k = number(1);
                if computed(k) {
                    format!("computed {k}")
                } else {
                    format!("hit {k}")
                }
            }
            Some("delete") => {
                let k = number(1);
                assert!(cache.evict(value::digest(k)).expect("evicted"), "stored");
                cache.flush().expect("committed");
                format!("deleted {k}")
            }
            Some("until-computed") => {
                let k = number(1);
                let before = match hitting {
                    Some(_) => computed_before_hitting,
                    None => COMPUTED.load(Ordering::SeqCst),
                };
                let started = Instant::now();
                loop {
                    if COMPUTED.load(Ordering::SeqCst) != before {
                        break format!("computed {k}");
                    }
                    if started.elapsed() > Duration::from_secs(10) {
                        break format!("still-served {k}");
                    }
                    value(k);
                }
            }
            Some("churn") => {
                let (n, rounds) = (number(1), number(2));
                for _ in 0..rounds {
                    fleche::rerun(|| {
                        for k in 0..n {
                            value(k);
                        }
                    });
                    cache.flush().expect("stored");
                }
                "churned".to_owned()
            }
            Some("quit") => return,
            _ => panic!("unknown command {command:?}"),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{answer}").expect("stdout");
        out.flush().expect("stdout");
    }
}
