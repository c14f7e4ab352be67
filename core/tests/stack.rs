//! Cache stacks built in code: lookups in order, back-fill into the top writable layer, the
//! union in queries with each call's layer, a layer that is not a cache file, and the errors
//! of a stack that cannot be built.

use std::sync::Arc;
use std::sync::atomic::Ordering;

#[path = "support/map_layer.rs"]
mod map_layer;

use fleche::{Cache, Error, Stack, fleche};
use map_layer::MapLayer;

thread_local! {
    /// Runs of `cube` on this thread: tests run in parallel, each on its own thread.
    static RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[fleche]
fn cube(x: i64) -> i64 {
    RUNS.with(|r| r.set(r.get() + 1));
    x * x * x
}

fn runs() -> u64 {
    RUNS.with(std::cell::Cell::get)
}

/// Stores `cube(x)` for each `x` in `cache`.
fn fill(cache: &Cache, xs: &[i64]) {
    let _active = cache.activate();
    for x in xs {
        cube(*x);
    }
    cache.flush().unwrap();
}

#[test]
fn lookups_try_each_layer_and_copy_lower_hits_up() {
    let dir = tempfile::tempdir().unwrap();
    let team = Cache::open(dir.path().join("team.redb")).unwrap();
    fill(&team, &[1, 2]);
    let local = Cache::open(dir.path().join("local.redb")).unwrap();
    let stack = Stack::new()
        .cache("local", local.clone())
        .read_only("team", team.clone())
        .build()
        .unwrap();
    assert!(stack.is_stack());
    let _active = stack.activate();
    let before = runs();
    assert_eq!(cube(2), 8);
    assert_eq!(runs(), before, "found in the lower layer");
    stack.flush().unwrap();
    assert!(local.contains(&cube::digest(2)).unwrap(), "back-filled");
    assert_eq!(cube(3), 27);
    assert_eq!(runs(), before + 1);
    stack.flush().unwrap();
    assert!(
        local.contains(&cube::digest(3)).unwrap(),
        "new results go to the top"
    );
    assert!(
        !team.contains(&cube::digest(3)).unwrap(),
        "never to a read-only layer"
    );
    assert_eq!(team.len().unwrap(), 2);

    // The union: every call once, each saying where it came from (the top layer first).
    let calls = stack.query().calls().unwrap();
    let mut seen: Vec<(i64, &str)> = calls
        .iter()
        .map(|c| (c.argument::<i64>("x").unwrap(), c.layer().unwrap()))
        .collect();
    seen.sort();
    assert_eq!(seen, [(1, "team"), (2, "local"), (3, "local")]);
    assert_eq!(stack.len().unwrap(), 3);
    assert_eq!(
        stack
            .query()
            .argument("x", 1)
            .only()
            .unwrap()
            .result::<i64>()
            .unwrap(),
        1
    );
    let loaded = stack.load(cube::digest(1)).unwrap();
    assert_eq!(
        (loaded.layer(), loaded.result::<i64>().unwrap()),
        (Some("team"), 1)
    );
    // Tables of a stack have a layer column; the keys shown tell every layer's calls apart.
    let table = stack.query().table();
    assert_eq!(
        &table.column_names()[..4],
        ["key", "name", "module", "layer"]
    );
    let mut layers: Vec<String> = table
        .rows()
        .map(|r| r.get("layer").unwrap().to_owned())
        .collect();
    layers.sort();
    assert_eq!(layers, ["local", "local", "team"]);
    for row in table.rows() {
        assert!(stack.load(row.index()).is_ok(), "{}", row.index());
    }
    assert!(!local.table().column_names().contains(&"layer".to_owned()));
    // A plain cache's calls name no layer.
    assert_eq!(local.query().calls().unwrap()[0].layer(), None);

    // Evicting from a stack leaves the read-only layer's copy, which lookups still find.
    assert_eq!(stack.query().argument("x", 2).evict().unwrap(), 1);
    assert!(!local.contains(&cube::digest(2)).unwrap());
    assert!(team.contains(&cube::digest(2)).unwrap());
}

#[test]
fn a_stack_of_one_writable_cache_is_that_cache() {
    let local = Cache::memory();
    let stack = Stack::new().cache("local", local.clone()).build().unwrap();
    assert!(stack.same_as(&local));
    assert!(!stack.is_stack(), "nothing added to its hit path");
}

#[test]
fn stacks_that_cannot_be_built_say_why() {
    let a = Cache::memory();
    let err = Stack::new()
        .cache("a", a.clone())
        .cache("b", a.clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Stack { .. }), "{err}");
    assert!(err.to_string().contains("same cache"), "{err}");
    let err = Stack::new()
        .cache("a", a)
        .cache("a", Cache::memory())
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("two layers are named `a`"),
        "{err}"
    );
}

#[test]
fn caching_off_runs_every_call() {
    let off = Cache::off();
    assert!(off.is_off());
    let _active = off.activate();
    let before = runs();
    cube(40);
    cube(40);
    assert_eq!(runs(), before + 2);
    assert!(off.query().calls().unwrap().is_empty());
}

#[test]
fn a_layer_that_is_not_a_cache_file_takes_new_calls_and_serves_misses() {
    let shared = Arc::new(MapLayer {
        wants: true,
        ..MapLayer::default()
    });
    let first = Cache::memory();
    let stack = Stack::new()
        .cache("local", first.clone())
        .layer("shared", shared.clone())
        .build()
        .unwrap();
    {
        let _active = stack.activate();
        cube(5);
    }
    assert_eq!(shared.calls.lock().unwrap().len(), 1, "pushed down");

    // Another machine: an empty local cache over the same shared layer.
    let second = Cache::memory();
    let stack2 = Stack::new()
        .cache("local", second.clone())
        .layer("shared", shared.clone())
        .build()
        .unwrap();
    let _active = stack2.activate();
    let before = runs();
    assert_eq!(cube(5), 125);
    assert_eq!(runs(), before, "found in the shared layer");
    assert!(second.contains(&cube::digest(5)).unwrap(), "back-filled");
    let lookups = shared.lookups.load(Ordering::SeqCst);
    assert_eq!(cube(5), 125);
    assert_eq!(
        shared.lookups.load(Ordering::SeqCst),
        lookups,
        "the next hit is local"
    );
    // Queries see the shared layer's calls too, with their values read through the stack.
    drop(_active);
    let third = Stack::new()
        .cache("local", Cache::memory())
        .layer("shared", shared)
        .build()
        .unwrap();
    let call = third.query().only().unwrap();
    assert_eq!(call.layer(), Some("shared"));
    assert_eq!(call.argument::<i64>("x").unwrap(), 5);
    assert_eq!(call.result::<i64>().unwrap(), 125);
}
