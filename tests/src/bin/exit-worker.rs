//! A program that makes one cached call on a cache file and then ends in a given way, so the
//! tests can check that every normal ending leaves the file closed cleanly.
//!
//! `exit-worker PATH HOW`, where HOW is `return` (from main), `exit` (`std::process::exit`),
//! `panic` (in main), `static` (a cache held in a `static`, never dropped), `thread` (a
//! cache opened and activated in a thread still running when main returns) or `idle` (calls
//! `total(4)`, which calls `square` four times, prints `called`, then waits to be killed,
//! as an evcxr kernel between cells when run with `EVCXR_IS_RUNTIME=1`).

use std::sync::OnceLock;

use fleche::{Cache, fleche};

#[fleche(module = "exit_worker")]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche(module = "exit_worker")]
fn total(n: i64) -> i64 {
    (0..n).map(square).sum()
}

static HELD: OnceLock<Cache> = OnceLock::new();

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, how] = args.as_slice() else {
        eprintln!("usage: exit-worker PATH return|exit|panic|static|thread|idle");
        std::process::exit(2);
    };
    let open = || Cache::open(path).expect("the cache opens");
    match how.as_str() {
        "return" => {
            let cache = open();
            let _active = cache.activate();
            square(3);
        }
        "exit" => {
            let cache = open();
            let _active = cache.activate();
            square(3);
            std::process::exit(0);
        }
        "panic" => {
            let cache = open();
            let _active = cache.activate();
            square(3);
            panic!("the program fails after its cached call");
        }
        "static" => {
            let cache = HELD.get_or_init(open);
            let _active = cache.activate();
            square(3);
        }
        "thread" => {
            let (done, called) = std::sync::mpsc::channel();
            let path = path.clone();
            std::thread::spawn(move || {
                let cache = Cache::open(path).expect("the cache opens");
                let _active = cache.activate();
                square(3);
                done.send(()).expect("main waits");
                loop {
                    std::thread::park();
                }
            });
            called.recv().expect("the thread made its call");
        }
        "idle" => {
            let cache = open();
            let _active = cache.activate();
            let sum = total(4);
            println!("called {sum}");
            loop {
                std::thread::park();
            }
        }
        other => {
            eprintln!("unknown ending {other}");
            std::process::exit(2);
        }
    }
}
