//! Query and table speed on a cache of 100,000 calls, or as many as `FLECHE_QUERY_CALLS`
//! says.
//!
//! `cargo bench -p fleche --bench query` (add `--features polars` for `to_polars`);
//! `FLECHE_QUERY_CALLS=1000000 cargo bench -p fleche --bench query -- file` for a million
//! calls in a file only. The calls belong to 100 functions, so a query by name returns 1% of
//! them. Goals: a query by function name returning 1,000 of 100,000 calls in at most 1 ms,
//! 10,000 of 1,000,000 in at most 10 ms; `cache().table()` (no values) of 100,000 calls in at
//! most 40 ms, of 1,000,000 in at most 400 ms; `to_polars()` of a table of 100,000 calls with
//! one argument and the result in at most 200 ms. Each cache is written once per run, straight
//! through the store in commits of 100,000 calls, so setup takes seconds (about a minute for a
//! million calls), not the hours a million durable commits would.

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use fleche::record::{CallRecord, Environment, Git, Metadata, Resources};
use fleche::{Cache, Digest};

/// Calls in each cache: 100,000 unless `FLECHE_QUERY_CALLS` says otherwise.
static CALLS: LazyLock<usize> = LazyLock::new(|| {
    std::env::var("FLECHE_QUERY_CALLS")
        .ok()
        .and_then(|n| n.replace(['_', ','], "").parse().ok())
        .unwrap_or(100_000)
});
const FUNCTIONS: usize = 100;
/// Calls written per commit while filling a cache.
const COMMIT: usize = 100_000;

fn main() {
    divan::main();
    // Statics are never dropped: remove the folders the cache files were written in, which
    // are hundreds of megabytes (a gigabyte and more at a million calls).
    for written in [&FILE, &FILE_COLLECTED] {
        if let Some((dir, _)) = written.get() {
            let _ = std::fs::remove_dir_all(dir.path());
        }
    }
}

/// Which metadata the calls carry besides their times and tags.
#[derive(Clone, Copy, PartialEq)]
enum Collected {
    Nothing,
    /// Every built-in collector's: environment, git and resources.
    BuiltIns,
}

fn fill(cache: &Cache, collected: Collected) {
    let started = std::time::Instant::now();
    for first in (0..*CALLS).step_by(COMMIT) {
        fill_some(cache, first..(first + COMMIT).min(*CALLS), collected);
    }
    assert_eq!(cache.len().unwrap(), *CALLS as u64);
    eprintln!(
        "(a cache of {} calls written in {:.1} s)",
        *CALLS,
        started.elapsed().as_secs_f64()
    );
}

fn fill_some(cache: &Cache, range: std::ops::Range<usize>, collected: Collected) {
    let built_ins = collected == Collected::BuiltIns;
    let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut values = Vec::with_capacity(range.len() * 2);
    let calls: Vec<(Digest, CallRecord)> = range
        .map(|i| {
            let x = i as i64;
            let (arg, result) = (fleche::digest(&x), fleche::digest(&(x * x)));
            values.push((arg, fleche::codec::encode(&x).unwrap()));
            values.push((result, fleche::codec::encode(&(x * x)).unwrap()));
            let mut tags = BTreeMap::new();
            if i % 3 == 0 {
                tags.insert("project".to_owned(), format!("p{}", i % 9).into());
            }
            let record = CallRecord {
                name: format!("function_{}", i % FUNCTIONS),
                module: "bench".into(),
                version: None,
                code: Some(fleche::digest(&(i % FUNCTIONS))),
                arguments: vec![("x".into(), arg)],
                argument_keys: Vec::new(),
                result,
                result_type: "i64".into(),
                result_size: 9,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::microseconds(i as i64),
                    timestop: t0 + chrono::Duration::microseconds(i as i64 + 5),
                    walltime: 5e-6,
                    tags,
                    environment: built_ins.then(|| Environment {
                        hostname: "node-7".into(),
                        user: "analyst".into(),
                        cwd: "/home/analyst/project".into(),
                        program: "evcxr".into(),
                        fleche_version: "0.1.0".into(),
                        rustc_version: "rustc 1.95.0".into(),
                    }),
                    git: built_ins.then(|| Git {
                        commit: Some(format!("{:040x}", i / 1000)),
                        branch: Some("main".into()),
                        dirty: Some(i % 2 == 0),
                    }),
                    resources: built_ins.then_some(Resources {
                        cpu_user: Some(4e-6),
                        cpu_system: Some(1e-6),
                        peak_memory_growth: Some(0),
                    }),
                    ..Default::default()
                },
            };
            let key = fleche::digest(&("bench call", i));
            (fleche::__private::clustered_key(&record.name, key), record)
        })
        .collect();
    cache.insert_records(&calls, &values).unwrap();
}

static MEMORY: LazyLock<Cache> = LazyLock::new(|| {
    let cache = Cache::memory();
    fill(&cache, Collected::Nothing);
    cache
});

/// Cache files, written on first use (see [`file`]).
static FILE: OnceLock<(tempfile::TempDir, Cache)> = OnceLock::new();
/// A file whose calls carry what the built-in collectors record, as with `fleche.toml`'s
/// `[metadata]` all on.
static FILE_COLLECTED: OnceLock<(tempfile::TempDir, Cache)> = OnceLock::new();

/// The cache file of calls carrying `collected`, written in a temporary directory on first use.
fn file(collected: Collected) -> &'static Cache {
    let written = match collected {
        Collected::Nothing => &FILE,
        Collected::BuiltIns => &FILE_COLLECTED,
    };
    &written
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let cache = Cache::open(dir.path().join("bench.redb")).unwrap();
            fill(&cache, collected);
            (dir, cache)
        })
        .1
}

/// A query by function name: 1% of the calls.
#[divan::bench(args = ["memory", "file"], sample_count = 30)]
fn query_by_name(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        file(Collected::Nothing)
    };
    bencher.bench(|| {
        let calls = cache.query().name("function_42").calls().unwrap();
        assert_eq!(calls.len(), *CALLS / FUNCTIONS);
        calls
    });
}

/// The table of every call, without values.
#[divan::bench(args = ["memory", "file"], sample_count = 10)]
fn table(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        file(Collected::Nothing)
    };
    bencher.bench(|| {
        let table = cache.table();
        assert_eq!(table.len(), *CALLS);
        table
    });
}

/// The table of every call of a file whose calls carry the built-in collectors' metadata.
#[divan::bench(sample_count = 10)]
fn table_of_collected_calls(bencher: divan::Bencher<'_, '_>) {
    let cache = file(Collected::BuiltIns);
    bencher.bench(|| {
        let table = cache.table();
        assert_eq!(table.len(), *CALLS);
        table
    });
}

#[divan::bench(args = ["memory", "file"], sample_count = 30)]
fn query_by_name_and_tag(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        file(Collected::Nothing)
    };
    bencher.bench(|| {
        cache
            .query()
            .name("function_42")
            .tag("project", "p6")
            .count()
            .unwrap()
    });
}

/// The text table with the argument and result columns: every value read and summarised.
#[divan::bench(args = ["memory", "file"], sample_count = 10)]
fn table_with_values(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        file(Collected::Nothing)
    };
    bencher.bench(|| {
        let table = cache.table().arguments(["x"]).results();
        assert_eq!(table.len(), *CALLS);
        table
    });
}

/// `to_polars()` on a table of 100,000 calls with the argument and result columns (goal: at
/// most 200 ms); the table is built once, outside the timing.
#[cfg(feature = "polars")]
#[divan::bench(args = ["memory", "file"], sample_count = 10)]
fn to_polars(bencher: divan::Bencher<'_, '_>, backend: &str) {
    let cache = if backend == "memory" {
        &*MEMORY
    } else {
        file(Collected::Nothing)
    };
    let table = cache.table().arguments(["x"]).results();
    bencher.bench(|| {
        let frame = table.to_polars().unwrap();
        assert_eq!(frame.height(), *CALLS);
        frame
    });
}
