//! Cost of a hit on a cache stack's top layer and on a size-limited cache, beside the same
//! hit on a single cache in the same run. Run with `cargo bench -p fleche --bench stack`.

use divan::black_box;
use fleche::{Cache, Stack, fleche};

fn main() {
    divan::main();
}

#[fleche]
fn small(x: i64) -> i64 {
    x.wrapping_mul(3)
}

/// A file cache holding `small(7)`, committed (so a hit reads the file, not the queue).
fn file_with_hit(dir: &tempfile::TempDir, name: &str) -> Cache {
    let cache = Cache::open(dir.path().join(name)).unwrap();
    {
        let _active = cache.activate();
        small(7);
    }
    cache.flush().unwrap();
    cache
}

/// The reference: one cache file.
#[divan::bench]
fn hit_single_file(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = file_with_hit(&dir, "local.redb");
    let _active = cache.activate();
    bencher.bench_local(|| small(black_box(7)));
}

/// A stack of two files (local over a read-only teammate's file), hit in the top one.
#[divan::bench]
fn hit_stack_of_two_files_top_layer(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let local = file_with_hit(&dir, "local.redb");
    drop(file_with_hit(&dir, "team.redb"));
    let team = Cache::open_read_only(dir.path().join("team.redb")).unwrap();
    let stack = Stack::new()
        .cache("local", local)
        .read_only("team", team)
        .build()
        .unwrap();
    let _active = stack.activate();
    bencher.bench_local(|| small(black_box(7)));
}

/// A cache file with a size limit: each hit also notes its use for the LRU order.
#[divan::bench]
fn hit_size_limited_file(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = file_with_hit(&dir, "local.redb");
    cache.set_max_size(Some(10 << 30));
    let _active = cache.activate();
    bencher.bench_local(|| small(black_box(7)));
}

/// The reference for memory: one memory cache.
#[divan::bench]
fn hit_single_memory(bencher: divan::Bencher<'_, '_>) {
    let cache = Cache::memory();
    let _active = cache.activate();
    small(7);
    bencher.bench_local(|| small(black_box(7)));
}

/// A memory cache over a cache file, hit in the memory layer.
#[divan::bench]
fn hit_stack_memory_over_file_top_layer(bencher: divan::Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let file = file_with_hit(&dir, "local.redb");
    let memory = Cache::memory();
    {
        let _active = memory.activate();
        small(7);
    }
    let stack = Stack::new()
        .cache("memory", memory)
        .cache("file", file)
        .build()
        .unwrap();
    let _active = stack.activate();
    bencher.bench_local(|| small(black_box(7)));
}
