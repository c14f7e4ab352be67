//! The behaviour of `#[fleche]` functions against a real cache.

use std::sync::atomic::{AtomicUsize, Ordering};

use fleche::{Cache, D, Error, fleche};
use serde::{Deserialize, Serialize};

thread_local! {
    // Per thread, because tests run in parallel and cached bodies run on the caller's thread.
    static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn runs() -> usize {
    RUNS.with(|r| r.get())
}

fn ran() {
    RUNS.with(|r| r.set(r.get() + 1));
}

#[fleche]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[test]
fn recursion_goes_through_the_cache() {
    let cache = Cache::memory();
    let _a = cache.activate();
    assert_eq!(fib(20), 6765);
    assert_eq!(cache.len().unwrap(), 21);
    assert!(fib::contains(20));
    assert_eq!(fib::load(19), Some(4181));
    assert_eq!(fib::load(21), None);
    let call = cache.load(fib::digest(20)).unwrap();
    assert_eq!(call.name(), "fib");
    assert_eq!(call.result::<u64>().unwrap(), 6765);
    assert_eq!(call.argument::<u64>("n").unwrap(), 20);
}

#[fleche]
fn counted(x: i64, label: String) -> String {
    ran();
    format!("{label}:{x}")
}

#[test]
fn a_second_call_is_a_hit_and_different_arguments_miss() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    assert_eq!(counted(1, "a"), "a:1");
    assert_eq!(counted(1, "a"), "a:1");
    assert_eq!(runs() - before, 1);
    assert_eq!(counted(2, "a"), "a:2");
    assert_eq!(counted(1, String::from("b")), "b:1");
    assert_eq!(runs() - before, 3);
    // Another cache knows nothing of these calls.
    let other = Cache::memory();
    let _b = other.activate();
    assert_eq!(counted(1, "a"), "a:1");
    assert_eq!(runs() - before, 4);
}

#[fleche]
fn double(x: i64) -> i64 {
    x * 2
}

#[test]
fn a_digest_prefix_stands_for_the_stored_value() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let d = cache.put_value(&100i64).unwrap();
    let short = &d.to_string()[..8];
    assert_eq!(double(D(short)), 200);
    assert_eq!(double(D(d.to_string())), 200);
    // It is the same call as passing the value.
    assert!(double::contains(100));
}

#[test]
fn bad_prefixes_are_three_distinct_errors() {
    let cache = Cache::memory();
    for i in 0..300i64 {
        cache.put_value(&i).unwrap();
    }
    assert!(matches!(
        cache.expand("ab"),
        Err(Error::PrefixTooShort { .. })
    ));
    assert!(matches!(cache.expand("xyz1"), Err(Error::NotHex { .. })));
    // 300 values: some 4-character... find an ambiguous 1-char-longer-than-allowed prefix.
    let digests: Vec<String> = (0..300i64)
        .map(|i| fleche::digest(&i).to_string())
        .collect();
    let unknown = (0u32..)
        .map(|i| format!("{i:04x}"))
        .find(|p| !digests.iter().any(|d| d.starts_with(p.as_str())))
        .unwrap();
    assert!(matches!(
        cache.expand(&unknown),
        Err(Error::UnknownDigest { .. })
    ));
    // Two digests sharing a 4-character... take the pair with the longest common prefix.
    let mut sorted = digests.clone();
    sorted.sort();
    let (a, b) = sorted
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .max_by_key(|(a, b)| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count())
        .unwrap();
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    if common >= 4 {
        match cache.expand(&a[..common]) {
            Err(Error::AmbiguousDigest { needed, .. }) => assert_eq!(needed, common + 1),
            other => panic!("expected ambiguous, got {other:?}"),
        }
        let message = cache.expand(&a[..common]).unwrap_err().to_string();
        assert!(
            message.contains(&format!("at least {} characters", common + 1)),
            "{message}"
        );
    }
    // Shrinking gives the shortest prefix that expands back.
    for d in &sorted[..20] {
        let digest: fleche::Digest = d.parse().unwrap();
        let short = cache.shrink(&digest).unwrap();
        assert!(short.len() >= 4);
        assert_eq!(cache.expand(&short).unwrap(), digest);
        if short.len() > 4 {
            assert!(cache.expand(&short[..short.len() - 1]).is_err());
        }
    }
}

#[fleche(accept_digests = false)]
fn plain_types(v: Vec<f64>) -> f64 {
    v.iter().sum()
}

#[test]
fn plain_parameter_types_keep_inference() {
    let cache = Cache::memory();
    let _a = cache.activate();
    assert_eq!(plain_types((1..=3).map(f64::from).collect()), 6.0);
    assert_eq!(plain_types(vec![1.0, 2.0, 3.0].into_iter().collect()), 6.0);
    assert_eq!(cache.len().unwrap(), 1);
}

#[fleche(ignore = [verbose])]
fn with_ignored(x: i64, verbose: bool) -> i64 {
    ran();
    if verbose { x + 1000 } else { x }
}

#[test]
fn ignored_arguments_are_not_in_the_key_nor_stored() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    assert_eq!(with_ignored(1, false), 1);
    assert_eq!(with_ignored(1, true), 1, "the stored result is returned");
    assert_eq!(runs() - before, 1);
    let call = cache.load(with_ignored::digest(1)).unwrap();
    let names: Vec<&str> = call
        .argument_digests()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["x"]);
}

#[fleche(version = "1", name = "versioned")]
fn versioned_one(x: i64) -> i64 {
    x
}
#[fleche(version = "2", name = "versioned")]
fn versioned_two(x: i64) -> i64 {
    x
}
#[fleche(hash_code = false, name = "unhashed")]
fn unhashed_one(x: i64) -> i64 {
    x + 1
}
#[fleche(hash_code = false, name = "unhashed")]
fn unhashed_two(x: i64) -> i64 {
    x + 2
}
#[fleche(name = "hashed")]
fn hashed_one(x: i64) -> i64 {
    x + 1
}
#[fleche(name = "hashed")]
fn hashed_two(x: i64) -> i64 {
    x + 2
}

#[test]
fn version_and_code_are_part_of_the_key() {
    assert_ne!(versioned_one::digest(1), versioned_two::digest(1));
    // Same name, same version, no code hashing: the same key, so a stale result is served.
    assert_eq!(unhashed_one::digest(1), unhashed_two::digest(1));
    // With code hashing (the default), editing the body changes the key.
    assert_ne!(hashed_one::digest(1), hashed_two::digest(1));
    let cache = Cache::memory();
    let _a = cache.activate();
    assert_eq!(hashed_one(1), 2);
    assert_eq!(hashed_two(1), 3);
    assert_eq!(unhashed_one(1), 2);
    assert_eq!(unhashed_two(1), 2);
    let parts = hashed_one::call(1);
    assert_eq!(parts.name, "hashed");
    assert!(parts.code.is_some());
    assert_eq!(parts.key, hashed_one::digest(1));
    assert!(unhashed_one::call(1).code.is_none());
}

#[fleche]
fn fallible(x: i64) -> Result<i64, String> {
    ran();
    if x < 0 {
        Err(format!("negative: {x}"))
    } else {
        Ok(x)
    }
}

#[fleche]
fn maybe(x: i64) -> Option<i64> {
    ran();
    (x > 0).then_some(x)
}

#[test]
fn errors_are_not_cached_but_none_is() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    assert_eq!(fallible(-1), Err("negative: -1".into()));
    assert_eq!(fallible(-1), Err("negative: -1".into()));
    assert_eq!(runs() - before, 2, "Err results are recomputed");
    assert_eq!(fallible(3), Ok(3));
    assert_eq!(fallible(3), Ok(3));
    assert_eq!(runs() - before, 3);
    assert_eq!(maybe(-5), None);
    assert_eq!(maybe(-5), None);
    assert_eq!(runs() - before, 4, "None is a value and is cached");
}

#[fleche]
fn panics(x: i64) -> i64 {
    ran();
    if x == 13 {
        panic!("unlucky");
    }
    x
}

#[test]
fn a_panic_stores_nothing_and_releases_the_key() {
    let cache = Cache::memory();
    let _a = cache.activate();
    assert!(std::panic::catch_unwind(|| panics(13)).is_err());
    assert!(!panics::contains(13));
    assert_eq!(cache.len().unwrap(), 0);
    // The key is not left claimed: another call runs (and panics) again instead of hanging.
    assert!(std::panic::catch_unwind(|| panics(13)).is_err());
}

static SLOW_RUNS: AtomicUsize = AtomicUsize::new(0);

#[fleche]
fn slow_square(x: i64) -> i64 {
    SLOW_RUNS.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(200));
    x * x
}

#[test]
fn threads_missing_on_one_key_compute_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("c.redb")).unwrap();
    let results: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                s.spawn(move || {
                    let _a = cache.activate();
                    slow_square(7)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results, vec![49; 8]);
    assert_eq!(SLOW_RUNS.load(Ordering::SeqCst), 1);
}

#[fleche]
fn sleepy(x: i64) -> i64 {
    std::thread::sleep(std::time::Duration::from_millis(200));
    x
}

#[fleche]
fn outer(x: i64) -> i64 {
    ran();
    double(x) + 1
}

#[test]
fn rerun_recomputes_nested_calls_and_overwrites() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    assert_eq!(outer(5), 11);
    let first = cache.load(outer::digest(5)).unwrap().metadata().timestart;
    let double_first = cache.load(double::digest(5)).unwrap().metadata().timestart;
    assert_eq!(outer::rerun(5), 11);
    assert_eq!(runs() - before, 2);
    assert_eq!(cache.len().unwrap(), 2, "overwritten, not duplicated");
    assert!(cache.load(outer::digest(5)).unwrap().metadata().timestart > first);
    assert!(cache.load(double::digest(5)).unwrap().metadata().timestart > double_first);
    assert_eq!(outer(5), 11);
    assert_eq!(runs() - before, 2);
}

#[test]
fn tags_are_recorded_and_scoped() {
    let cache = Cache::memory();
    let _a = cache.activate();
    {
        let _t = fleche::tags!(project = "p1", category = "testing");
        {
            let _inner = fleche::tags!(category = "inner");
            outer(40);
        }
        double(41);
    }
    double(42);
    let tags = |key| cache.load(key).unwrap().metadata().tags.clone();
    assert_eq!(tags(outer::digest(40))["category"], "inner");
    assert_eq!(
        tags(double::digest(40))["project"],
        "p1",
        "nested cached calls see the tags"
    );
    assert_eq!(tags(double::digest(41))["category"], "testing");
    assert!(tags(double::digest(42)).is_empty());
}

#[test]
fn metadata_has_times() {
    let cache = Cache::memory();
    let _a = cache.activate();
    sleepy(9);
    let call = cache.load(sleepy::digest(9)).unwrap();
    let m = call.metadata();
    assert!(
        m.walltime >= 0.2 && m.walltime < 5.0,
        "walltime {}",
        m.walltime
    );
    assert!(m.timestop > m.timestart);
    assert_eq!(call.record().result_type, "i64");
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct MyClass {
    val: i64,
    #[serde(skip)]
    scratch: Vec<u8>,
}

impl fleche::CacheKey for MyClass {
    fn cache_key(&self) -> fleche::Digest {
        fleche::digest(&self.val)
    }
}

impl MyClass {
    #[fleche]
    fn compute(&self, x: i64) -> i64 {
        ran();
        self.val + x
    }
}

#[derive(Serialize, Deserialize)]
struct Plain {
    a: i64,
}

impl Plain {
    #[fleche]
    fn add(&self, b: i64) -> i64 {
        self.a + b
    }
}

#[test]
fn methods_key_on_the_receiver() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let before = runs();
    let mut obj = MyClass {
        val: 10,
        scratch: vec![],
    };
    assert_eq!(obj.compute(5), 15);
    obj.scratch.push(1); // not part of its cache key
    assert_eq!(obj.compute(5), 15);
    assert_eq!(runs() - before, 1);
    assert!(obj.compute_contains(5));
    assert_eq!(obj.compute_load(5), Some(15));
    obj.val = 20;
    assert!(!obj.compute_contains(5));
    assert_eq!(obj.compute(5), 25);
    assert_eq!(runs() - before, 2);
    // The receiver's identity is its CacheKey; its value is stored under its own digest.
    let call = cache.load(obj.compute_digest(5)).unwrap();
    assert_eq!(
        call.record().argument_keys,
        vec![("self".to_owned(), fleche::digest(&20i64))]
    );
    assert_eq!(call.argument_digest("self").unwrap(), fleche::digest(&obj));
    // Without CacheKey, the receiver digests through serde.
    let p = Plain { a: 1 };
    assert_eq!(p.add(2), 3);
    assert_eq!(
        cache
            .load(p.add_digest(2))
            .unwrap()
            .argument_digest("self")
            .unwrap(),
        fleche::digest(&Plain { a: 1 })
    );
}

#[derive(Serialize, Deserialize)]
struct OldShape {
    a: i64,
}

#[fleche(name = "shape_changes", hash_code = false)]
fn shape_old(x: i64) -> OldShape {
    OldShape { a: x }
}

#[fleche(name = "shape_changes", hash_code = false)]
fn shape_new(x: i64) -> String {
    ran();
    format!("new {x}")
}

#[test]
fn a_result_that_no_longer_decodes_is_a_miss_and_is_overwritten() {
    let cache = Cache::memory();
    let _a = cache.activate();
    shape_old(1);
    let before = runs();
    assert_eq!(shape_new(1), "new 1");
    assert_eq!(shape_new(1), "new 1");
    assert_eq!(runs() - before, 1);
    assert_eq!(cache.len().unwrap(), 1);
}

#[test]
fn a_read_only_cache_still_returns_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.redb");
    drop(Cache::open(&path).unwrap());
    let ro = Cache::open_read_only(&path).unwrap();
    let _a = ro.activate();
    let before = runs();
    assert_eq!(counted(77, "ro"), "ro:77");
    assert_eq!(counted(77, "ro"), "ro:77");
    assert_eq!(
        runs() - before,
        2,
        "nothing could be stored, each call computes"
    );
    assert!(matches!(ro.put_value(&1), Err(Error::ReadOnly { .. })));
}

#[test]
fn lazy_call_errors_name_the_call_field_and_types() {
    let cache = Cache::memory();
    let _a = cache.activate();
    counted(3, "x");
    let call = cache.load(counted::digest(3, "x".to_string())).unwrap();
    let err = call.result::<Vec<f64>>().unwrap_err().to_string();
    assert!(
        err.contains("counted(")
            && err.contains("result")
            && err.contains("Vec<f64>")
            && err.contains("String"),
        "{err}"
    );
    let err = call.argument::<i64>("nope").unwrap_err().to_string();
    assert!(
        err.contains("no argument `nope`") && err.contains("x, label"),
        "{err}"
    );
    let fetched = call.fetch().unwrap();
    assert_eq!(fetched.argument::<String>("label").unwrap(), "x");
    assert_eq!(fetched.result::<String>().unwrap(), "x:3");
}

#[test]
fn evict_removes_the_call() {
    let cache = Cache::memory();
    let _a = cache.activate();
    double(9);
    assert!(cache.evict(double::digest(9)).unwrap());
    assert!(!double::contains(9));
    assert!(!cache.evict(double::digest(9)).unwrap());
}

#[fleche]
fn labelled(thread: u64, i: u64) -> String {
    format!("{thread}-{i}")
}

#[test]
fn many_threads_share_one_file_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.redb");
    let cache = Cache::open(&path).unwrap();
    std::thread::scope(|s| {
        for t in 0..6u64 {
            let cache = cache.clone();
            s.spawn(move || {
                let _a = cache.activate();
                for i in 0..40 {
                    assert_eq!(labelled(t, i), format!("{t}-{i}"));
                    // Every third call repeats an earlier one: a hit.
                    assert_eq!(labelled(t, i / 3), format!("{t}-{}", i / 3));
                }
            });
        }
    });
    assert_eq!(cache.len().unwrap(), 240);
    drop(cache);
    let mut db = redb::Database::builder()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .open(&path)
        .unwrap();
    assert!(db.check_integrity().unwrap());
}
