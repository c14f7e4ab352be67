//! The lifecycle of a cache: sweeping values nobody refers to (`gc`), giving the space back
//! (`compact`), counting what is stored (`stats`), copying calls between caches, and
//! checking a cache (`verify`).

use std::collections::BTreeMap;
use std::time::Instant;

use fleche::record::{CallRecord, Metadata};
use fleche::{Cache, Digest, fleche, tags};

#[fleche]
fn big(i: u32) -> Vec<u8> {
    vec![(i % 251) as u8; 20_000]
}

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche]
fn label(x: i64, name: String) -> String {
    format!("{name}{x}")
}

fn file_size(cache: &Cache) -> u64 {
    std::fs::metadata(cache.path().unwrap()).unwrap().len()
}

#[test]
fn evict_all_then_gc_leaves_no_values_and_compact_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut cache = Cache::open(dir.path().join("c.redb")).unwrap();
    {
        let _active = cache.activate();
        for i in 0..300 {
            big(i);
        }
    }
    cache.flush().unwrap();
    let stats = cache.stats().unwrap();
    assert_eq!(stats.calls, 300);
    assert_eq!(
        stats.values,
        300 + 251,
        "300 arguments, 251 distinct results"
    );
    assert_eq!(stats.orphaned_values, 0);

    assert_eq!(cache.query().evict().unwrap(), 300);
    let before_gc = cache.stats().unwrap();
    assert_eq!(before_gc.calls, 0);
    assert_eq!(before_gc.orphaned_values, 551);

    let collected = cache.gc().unwrap();
    assert_eq!(collected.values_removed, 551);
    assert_eq!(collected.values_kept, 0);
    assert!(collected.bytes_removed > 251 * 20_000);
    let after_gc = cache.stats().unwrap();
    assert_eq!((after_gc.values, after_gc.value_bytes), (0, 0));
    assert_eq!(
        cache.gc().unwrap().values_removed,
        0,
        "a second gc finds nothing"
    );

    let bytes_before = file_size(&cache);
    let compacted = cache.compact().unwrap();
    assert_eq!(compacted.bytes_before, bytes_before);
    assert_eq!(compacted.bytes_after, file_size(&cache));
    eprintln!(
        "300 calls of a 20 KB result, evicted, gc, compact: {} -> {} bytes",
        compacted.bytes_before, compacted.bytes_after
    );
    assert!(
        compacted.bytes_after * 4 < compacted.bytes_before,
        "compact shrinks the file: {compacted:?}"
    );
    // The cache still works after compaction (the write-behind was restarted).
    let _active = cache.activate();
    assert_eq!(square(7), 49);
    drop(_active);
    cache.flush().unwrap();
    assert_eq!(cache.len().unwrap(), 1);
}

#[test]
fn gc_keeps_values_that_calls_still_refer_to() {
    let cache = Cache::memory();
    {
        let _active = cache.activate();
        square(2);
        square(3);
        label(2, "a");
    }
    // square(2) and label(2, ..) share the argument value 2.
    cache.evict(square::digest(2)).unwrap();
    let collected = cache.gc().unwrap();
    assert_eq!(collected.values_removed, 1, "only the result 4 is orphaned");
    assert_eq!(
        cache
            .load(label::digest(2, "a".to_string()))
            .unwrap()
            .argument::<i64>("x")
            .unwrap(),
        2
    );
    assert_eq!(
        cache
            .load(square::digest(3))
            .unwrap()
            .result::<i64>()
            .unwrap(),
        9
    );
}

#[test]
fn stats_count_calls_values_functions_and_orphans() {
    let cache = Cache::memory();
    {
        let _active = cache.activate();
        square(2);
        square(3);
        square(4);
        label(1, "x");
    }
    let s = cache.stats().unwrap();
    assert_eq!(s.calls, 4);
    // Arguments 2, 3, 4, 1, "x"; results 4 (shared with the argument 4), 9, 16, "x1".
    assert_eq!(s.values, 8);
    assert_eq!((s.orphaned_values, s.orphaned_bytes), (0, 0));
    assert_eq!(s.file_size, 0);
    assert!(s.path.is_none());
    let names: Vec<(&str, u64)> = s
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.calls))
        .collect();
    assert!(
        names.contains(&("square", 3)) && names.contains(&("label", 1)),
        "{names:?}"
    );
    let square_bytes = s
        .functions
        .iter()
        .find(|f| f.name == "square")
        .unwrap()
        .bytes;
    assert!(square_bytes > 0 && square_bytes <= s.value_bytes);
    assert!(s.oldest_call.unwrap() <= s.newest_call.unwrap());

    cache.evict(label::digest(1, "x".to_string())).unwrap();
    let s = cache.stats().unwrap();
    assert_eq!(s.calls, 3);
    assert_eq!(s.orphaned_values, 3, "1, \"x\" and \"x1\"");
    assert!(s.orphaned_bytes > 0);
    assert_eq!(s.functions.len(), 1);
}

#[test]
fn copy_memory_to_file_to_read_only_keeps_records_and_a_second_copy_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let memory = Cache::memory();
    {
        let _active = memory.activate();
        let _t = tags!(project = "alloys");
        square(5);
        label(5, "five");
    }
    {
        let _active = memory.activate();
        square(6);
    }
    let path = dir.path().join("copy.redb");
    let file = Cache::open(&path).unwrap();
    let copied = memory
        .query()
        .tag("project", "alloys")
        .copy_to(&file)
        .unwrap();
    assert_eq!((copied.calls_copied, copied.calls_present), (2, 0));
    assert_eq!(copied.values_copied, 4, "5, 25, \"five\", \"five5\"");
    let again = memory
        .query()
        .tag("project", "alloys")
        .copy_to(&file)
        .unwrap();
    assert_eq!(
        (again.calls_copied, again.calls_present, again.values_copied),
        (0, 2, 0)
    );

    // Everything, from the file into another file, through a read-only handle.
    let original = memory.load(label::digest(5, "five".to_string())).unwrap();
    drop(file);
    let read_only = Cache::open_read_only(&path).unwrap();
    let copy = read_only
        .load(label::digest(5, "five".to_string()))
        .unwrap();
    assert_eq!(copy.record(), original.record(), "metadata and tags kept");
    assert_eq!(copy.result::<String>().unwrap(), "five5");
    let size = std::fs::metadata(&path).unwrap().len();
    let other = Cache::open(dir.path().join("other.redb")).unwrap();
    let all = other.transfer(&read_only, None).unwrap();
    assert_eq!(all.calls_copied, 2);
    assert_eq!(other.transfer(&read_only, None).unwrap().calls_copied, 0);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        size,
        "the source is untouched"
    );
    // Into a read-only cache: refused.
    assert!(matches!(
        read_only.transfer(&memory, None),
        Err(fleche::Error::ReadOnly { .. })
    ));
    // A query-limited transfer.
    let third = Cache::memory();
    let q = memory.query().name("square");
    assert_eq!(third.transfer(&memory, Some(&q)).unwrap().calls_copied, 2);
    assert!(third.verify().unwrap().is_sound());
}

#[test]
fn compact_refuses_while_this_process_holds_another_handle() {
    let dir = tempfile::tempdir().unwrap();
    let mut cache = Cache::open(dir.path().join("c.redb")).unwrap();
    let other = cache.clone();
    let err = cache.compact().unwrap_err();
    assert!(matches!(err, fleche::Error::InUse { .. }), "{err}");
    assert!(err.to_string().contains("other handles"), "{err}");
    drop(other);
    cache.compact().unwrap();
}

#[test]
fn verify_finds_a_record_whose_value_is_missing() {
    let cache = Cache::memory();
    {
        let _active = cache.activate();
        square(8);
    }
    assert!(cache.verify().unwrap().is_sound());
    let record = cache.load(square::digest(8)).unwrap().record().clone();
    let mut broken = record.clone();
    broken.result = fleche::digest(&"never stored");
    cache
        .insert_records(&[(fleche::digest(&"broken"), broken)], &[])
        .unwrap();
    let verified = cache.verify().unwrap();
    assert_eq!(verified.calls, 2);
    assert_eq!(verified.problems.len(), 1, "{:?}", verified.problems);
    assert!(verified.problems[0].detail.contains("result is not stored"));
}

/// `cargo test --release -p fleche --test lifecycle -- --ignored --nocapture`
#[test]
#[ignore = "timing: run with --release --ignored --nocapture"]
fn gc_time_on_100000_calls_with_10000_orphans() {
    const CALLS: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("gc.redb")).unwrap();
    let t0 = chrono::Utc::now();
    let mut values = Vec::with_capacity(CALLS * 2 + 10_000);
    let calls: Vec<(Digest, CallRecord)> = (0..CALLS)
        .map(|i| {
            let x = i as i64;
            let (arg, result) = (fleche::digest(&x), fleche::digest(&(x, "result")));
            values.push((arg, fleche::codec::encode(&x).unwrap()));
            values.push((result, fleche::codec::encode(&(x, "result")).unwrap()));
            let record = CallRecord {
                name: format!("function_{}", i % 100),
                module: "bench".into(),
                version: None,
                code: None,
                arguments: vec![("x".into(), arg)],
                argument_keys: Vec::new(),
                result,
                result_type: "(i64, &str)".into(),
                result_size: 16,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::microseconds(i as i64),
                    timestop: t0 + chrono::Duration::microseconds(i as i64 + 5),
                    walltime: 5e-6,
                    tags: BTreeMap::new(),
                    ..Default::default()
                },
            };
            (fleche::digest(&("call", i)), record)
        })
        .collect();
    for i in 0..10_000i64 {
        let orphan = (i, "orphan");
        values.push((
            fleche::digest(&orphan),
            fleche::codec::encode(&orphan).unwrap(),
        ));
    }
    cache.insert_records(&calls, &values).unwrap();
    let start = Instant::now();
    let collected = cache.gc().unwrap();
    let took = start.elapsed();
    eprintln!(
        "gc on {CALLS} calls with 10,000 orphans: {took:.2?} ({} values removed, {} kept)",
        collected.values_removed, collected.values_kept
    );
    assert_eq!(collected.values_removed, 10_000);
    assert_eq!(collected.values_kept, 2 * CALLS as u64);
    let start = Instant::now();
    let stats = cache.stats().unwrap();
    eprintln!("stats on the same cache: {:.2?}", start.elapsed());
    assert_eq!(stats.orphaned_values, 0);
}

/// `FLECHE_VERIFY_MB=1024 cargo test --release -p fleche --test lifecycle verify_throughput
/// -- --ignored --nocapture`: builds a cache of that many MB of 1 MB results in a temporary
/// directory (deleted after) and times `Cache::verify` on it. The file was just written, so
/// it is read from the page cache: this is the checking speed, not the disk's. With
/// `FLECHE_VERIFY_FILE=path` the cache is written there and kept, for timing `fleche verify`
/// in a fresh process (delete it after).
#[test]
#[ignore = "timing: run with --release --ignored --nocapture"]
fn verify_throughput() {
    let megabytes: usize = std::env::var("FLECHE_VERIFY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("FLECHE_VERIFY_FILE")
        .map_or_else(|| dir.path().join("verify.redb"), std::path::PathBuf::from);
    let cache = Cache::open(path).unwrap();
    let t0 = chrono::Utc::now();
    for batch in 0..megabytes.div_ceil(64) {
        let mut values = Vec::new();
        let calls: Vec<(Digest, CallRecord)> = (0..64.min(megabytes - batch * 64))
            .map(|j| {
                let i = (batch * 64 + j) as u64;
                let result: Vec<f64> = (0..131_072).map(|k| (i * 131_072 + k) as f64).collect();
                let (arg, digest) = (fleche::digest(&i), fleche::digest(&result));
                values.push((arg, fleche::codec::encode(&i).unwrap()));
                values.push((digest, fleche::codec::encode(&result).unwrap()));
                let record = CallRecord {
                    name: "block".into(),
                    module: "bench".into(),
                    version: None,
                    code: None,
                    arguments: vec![("i".into(), arg)],
                    argument_keys: Vec::new(),
                    result: digest,
                    result_type: "Vec<f64>".into(),
                    result_size: 1 << 20,
                    metadata: Metadata {
                        timestart: t0 + chrono::Duration::microseconds(i as i64),
                        timestop: t0 + chrono::Duration::microseconds(i as i64 + 5),
                        walltime: 5e-6,
                        tags: BTreeMap::new(),
                        ..Default::default()
                    },
                };
                (fleche::digest(&("block", i)), record)
            })
            .collect();
        cache.insert_records(&calls, &values).unwrap();
    }
    let start = Instant::now();
    let verified = cache.verify().unwrap();
    let took = start.elapsed().as_secs_f64();
    eprintln!(
        "verify: {} values, {:.0} MB in {took:.2} s: {:.0} MB/s (file {} MB)",
        verified.values,
        verified.value_bytes as f64 / 1e6,
        verified.value_bytes as f64 / 1e6 / took,
        file_size(&cache) / 1_000_000
    );
    assert!(verified.is_sound());
}
