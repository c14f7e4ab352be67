//! `cell!`: hits, misses on edited code or changed values, recorded calls, tags, errors.

use std::cell::Cell;

use fleche::Cache;

thread_local! {
    static RUNS: Cell<u32> = const { Cell::new(0) };
}

fn ran() -> u32 {
    RUNS.with(|r| r.replace(0))
}

fn count() {
    RUNS.with(|r| r.set(r.get() + 1));
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Summary {
    total: u64,
    label: String,
}

#[test]
fn second_run_is_a_hit_and_values_are_in_the_key() {
    let cache = Cache::memory();
    let _active = cache.activate();
    let rows: Vec<u64> = vec![1, 2, 3];
    let mut results = Vec::new();
    for scale in [2u64, 2, 3] {
        let s: Summary = fleche::cell!(scale, &rows => {
            count();
            Summary { total: rows.iter().sum::<u64>() * scale, label: format!("x{scale}") }
        });
        results.push((s, ran()));
    }
    assert_eq!(results[0].0.total, 12);
    assert_eq!(results[0].1, 1, "first run computes");
    assert_eq!(results[1], (results[0].0.clone(), 0), "same values: a hit");
    assert_eq!(results[2].0.total, 18);
    assert_eq!(results[2].1, 1, "a changed value recomputes");
    // `rows` was only lent.
    assert_eq!(rows.len(), 3);
    assert_eq!(cache.len().unwrap(), 2);
}

#[test]
fn edited_block_misses() {
    let cache = Cache::memory();
    let _active = cache.activate();
    let n = 4u64;
    let a: u64 = fleche::cell!(n => { count(); n * n });
    let b: u64 = fleche::cell!(n => { count(); n.pow(2) });
    assert_eq!((a, b), (16, 16));
    assert_eq!(ran(), 2, "different tokens, different keys");
    // Layout does not matter, only tokens.
    let c: u64 = fleche::cell!(n => {
        count();
        n  *  n
    });
    assert_eq!(c, 16);
    assert_eq!(ran(), 0);
}

#[test]
fn lending_and_moving_the_same_value_are_different_code() {
    let cache = Cache::memory();
    let _active = cache.activate();
    let n = 5u64;
    let a: u64 = fleche::cell!(n => { count(); n + 1 });
    let b: u64 = fleche::cell!(&n => { count(); n + 1 });
    assert_eq!((a, b, ran()), (6, 6, 2));
}

#[test]
fn recorded_as_a_call_with_name_arguments_and_tags() {
    let cache = Cache::memory();
    let _active = cache.activate();
    let path = String::from("data/run-1.csv");
    let n = 3i64;
    {
        let _t = fleche::tags!(project = "alloys");
        let rows: Vec<i64> = fleche::cell!(name = "load_rows", &path, n => {
            (0..n).map(|i| i * path.len() as i64).collect()
        });
        assert_eq!(rows, vec![0, 14, 28]);
    }
    let keys = cache.keys_newest_first().unwrap();
    assert_eq!(keys.len(), 1);
    let call = cache.load(keys[0]).unwrap();
    assert_eq!(call.name(), "load_rows");
    assert_eq!(call.module(), module_path!());
    assert!(call.code().is_some());
    assert_eq!(call.argument::<String>("path").unwrap(), path);
    assert_eq!(call.argument::<i64>("n").unwrap(), 3);
    assert_eq!(call.result::<Vec<i64>>().unwrap(), vec![0, 14, 28]);
    assert_eq!(call.metadata().tags["project"], "alloys");
}

#[test]
fn unnamed_blocks_are_called_cell_and_version_changes_the_key() {
    let cache = Cache::memory();
    let _active = cache.activate();
    let a: u32 = fleche::cell!(=> { count(); 7 });
    let b: u32 = fleche::cell!({
        count();
        7
    });
    let c: u32 = fleche::cell!(version = 2 => { count(); 7 });
    assert_eq!((a, b, c), (7, 7, 7));
    assert_eq!(ran(), 2, "the two unversioned blocks share a key");
    let keys = cache.keys_newest_first().unwrap();
    let calls = cache.load_many(&keys).unwrap();
    assert!(calls.iter().all(|c| c.name() == "cell"));
    assert!(calls.iter().any(|c| c.version() == Some("2")));
}

#[test]
fn errors_are_returned_but_not_stored() {
    let cache = Cache::memory();
    let _active = cache.activate();
    let x = -1i32;
    for _ in 0..2 {
        let r: Result<u32, String> = fleche::cell!(x => {
            count();
            u32::try_from(x).map_err(|e| e.to_string())
        });
        assert!(r.is_err());
    }
    assert_eq!(ran(), 2, "an Err is recomputed every time");
    assert!(cache.is_empty().unwrap());
    let y = 1i32;
    for _ in 0..2 {
        let r: Result<u32, String> =
            fleche::cell!(y => { count(); u32::try_from(y).map_err(|e| e.to_string()) });
        assert_eq!(r, Ok(1));
    }
    assert_eq!(ran(), 1, "an Ok is stored");
}

#[test]
fn a_cache_key_type_is_keyed_by_its_own_digest_even_when_lent() {
    #[derive(serde::Serialize)]
    struct Model {
        val: i64,
        scratch: Vec<u8>,
    }
    impl fleche::CacheKey for Model {
        fn cache_key(&self) -> fleche::Digest {
            fleche::digest(&self.val)
        }
    }
    let cache = Cache::memory();
    let _active = cache.activate();
    let m1 = Model {
        val: 1,
        scratch: vec![1],
    };
    let m2 = Model {
        val: 1,
        scratch: vec![2, 3],
    };
    let a: i64 = fleche::cell!(&m1 => { count(); m1.val + m1.scratch.len() as i64 });
    let b: i64 = fleche::cell!(&m1 => { count(); m1.val + m1.scratch.len() as i64 });
    let m1 = m2;
    let c: i64 = fleche::cell!(&m1 => { count(); m1.val + m1.scratch.len() as i64 });
    assert_eq!((a, b, c), (2, 2, 2), "scratch is not in the key: a hit");
    assert_eq!(ran(), 1);
}

#[test]
fn cells_persist_in_a_file_across_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let n = 11u64;
    for expected_runs in [1, 0] {
        let cache = Cache::open(&path).unwrap();
        let _active = cache.activate();
        let v: u64 = fleche::cell!(n => { count(); n * 3 });
        assert_eq!(v, 33);
        assert_eq!(ran(), expected_runs);
    }
}
