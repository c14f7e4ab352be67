//! A program that makes one cached call on a cache file and then ends in a given way, so the
//! tests can check that every normal ending leaves the file closed cleanly.
//!
//! `exit-worker PATH HOW`, where HOW is `return` (from main), `exit` (`std::process::exit`),
//! `panic` (in main), `static` (a cache held in a `static`, never dropped) or `thread` (a
//! cache opened and activated in a thread still running when main returns).

use std::sync::OnceLock;

use fleche::{Cache, fleche};

#[fleche(module = "exit_worker")]
fn square(x: i64) -> i64 {
    x * x
}

static HELD: OnceLock<Cache> = OnceLock::new();

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, how] = args.as_slice() else {
        eprintln!("usage: exit-worker PATH return|exit|panic|static|thread");
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
        other => {
            eprintln!("unknown ending {other}");
            std::process::exit(2);
        }
    }
}
