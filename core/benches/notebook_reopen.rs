//! What closing the default cache between calls costs under evcxr: a cache hit with the
//! file held open, against a hit that opens the file first and closes it after (as every
//! outermost cached call in a notebook does), on a cache holding 10,000 calls.

use fleche::{Cache, fleche};

#[fleche]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    divan::main();
}

fn filled() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let cache = Cache::open(&path).unwrap();
    let _active = cache.activate();
    for x in 0..10_000 {
        square(x);
    }
    (dir, path)
}

#[divan::bench]
fn hit_with_file_held(bencher: divan::Bencher<'_, '_>) {
    let (_dir, path) = filled();
    let cache = Cache::open(&path).unwrap();
    let _active = cache.activate();
    bencher.bench_local(|| square(divan::black_box(1234)));
}

#[divan::bench]
fn hit_reopening_file(bencher: divan::Bencher<'_, '_>) {
    let (_dir, path) = filled();
    bencher.bench_local(|| {
        let cache = Cache::open_existing(&path).unwrap();
        let _active = cache.activate();
        square(divan::black_box(1234))
    });
}
