//! Paging through a stack, as browsers do: every page is the union of the layers, each call
//! once and from the upper layer that holds it, values read from whichever layer has them,
//! and a read-only layer that fails left out with a note instead of an error.

use std::sync::Arc;

#[path = "support/map_layer.rs"]
mod map_layer;

use fleche::layer::{Layer, StoredCall};
use fleche::{Cache, Digest, Stack, fleche};
use map_layer::MapLayer;

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche]
fn label(n: u32) -> String {
    format!("label {n} {}", "x".repeat(200))
}

/// A local file with square(1..=3) and a teammate's with square(3..=6) and label(9), the
/// teammate's opened read-only under the local one.
fn two_files(dir: &std::path::Path) -> (Cache, Cache, Cache) {
    let local = Cache::open(dir.join("local.redb")).unwrap();
    let team = Cache::open(dir.join("team.redb")).unwrap();
    {
        let _active = team.activate();
        for x in 3..=6 {
            square(x);
        }
        label(9);
    }
    {
        let _active = local.activate();
        for x in 1..=3 {
            square(x);
        }
    }
    local.flush().unwrap();
    team.flush().unwrap();
    let team = Cache::open_read_only(dir.join("team.redb")).unwrap();
    let stack = Stack::new()
        .cache("local", local.clone())
        .read_only("team", team.clone())
        .build()
        .unwrap();
    (stack, local, team)
}

fn key_of(_: &Cache, x: i64) -> Digest {
    square::digest(x)
}

#[test]
fn records_pages_are_the_union_with_the_upper_layer_winning() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, local, _team) = two_files(dir.path());
    assert_eq!(stack.len().unwrap(), 7);

    // Small pages: every call exactly once, in key order, from its upper layer.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = stack.records_after(after, 2).unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 2);
        after = Some(last.key);
        seen.extend(page);
    }
    let keys: Vec<Digest> = seen.iter().map(|r| r.key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "in key order, each once");
    assert_eq!(keys.len(), 7);
    let layer_of = |x: i64| {
        let key = key_of(&local, x);
        seen.iter().find(|r| r.key == key).unwrap().layer
    };
    let names = stack.layer_names();
    assert_eq!(names[layer_of(1)], "local");
    assert_eq!(names[layer_of(3)], "local", "held by both: the upper wins");
    assert_eq!(names[layer_of(5)], "team");
    assert!(seen.iter().all(|r| r.record.is_ok()));

    // Looked up by key: the same layers.
    let asked = [key_of(&local, 5), key_of(&local, 3), key_of(&local, 42)];
    let found = stack.records_of(&asked).unwrap();
    assert_eq!(found.len(), 2, "a call no layer holds is left out");
    assert_eq!((found[0].key, names[found[0].layer]), (asked[0], "team"));
    assert_eq!((found[1].key, names[found[1].layer]), (asked[1], "local"));
}

#[test]
fn time_pages_merge_the_layers_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, local, team) = two_files(dir.path());
    let all = stack.keys_newest_first().unwrap();
    assert_eq!(all.len(), 7);
    let first = stack.calls_before(None, 3).unwrap();
    let second = stack.calls_before(first.last().copied(), 10).unwrap();
    let paged: Vec<Digest> = first.iter().chain(&second).map(|t| t.key).collect();
    assert_eq!(paged, all);
    let times: Vec<i64> = first.iter().chain(&second).map(|t| t.start_nanos).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // The local calls were made last.
    let newest: std::collections::HashSet<Digest> = all[..3].iter().copied().collect();
    let locals: std::collections::HashSet<Digest> = (1..=3).map(|x| key_of(&local, x)).collect();
    assert_eq!(newest, locals);
    // What arrived after the teammate's newest call: the local ones, oldest first.
    let team_newest = team.calls_before(None, 1).unwrap()[0];
    let after: Vec<Digest> = stack
        .calls_after(team_newest)
        .unwrap()
        .iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(
        after.len(),
        3,
        "square(3) is in both: at the time the upper (local) file gives it"
    );
    assert!(after.iter().all(|k| locals.contains(k)));
    assert_eq!(stack.time_index_len().unwrap(), 7);
}

#[test]
fn value_heads_come_from_whichever_layer_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, local, team) = two_files(dir.path());
    let call = team.query().name("label").calls().unwrap().remove(0);
    let result = call.record().result;
    assert!(local.value_head(&result, 8).unwrap().is_none());
    let head = stack.value_head(&result, 8).unwrap().unwrap();
    assert_eq!(head.bytes.len(), 8);
    assert!(head.size > 200);
    let missing = Digest::from_bytes([9; 32]);
    let heads = stack.value_heads(&[missing, result], 4096).unwrap();
    assert!(heads[0].is_none());
    assert!(heads[1].as_ref().unwrap().is_whole());
}

/// A read-only layer whose every read fails, as a teammate's file on a disk that went away.
struct Broken;

impl Layer for Broken {
    fn describe(&self) -> String {
        "a disk that went away".into()
    }
    fn read_only(&self) -> bool {
        true
    }
    fn result_of(&self, _: &Digest) -> fleche::Result<Option<(Digest, Vec<u8>)>> {
        Err(broken())
    }
    fn calls(&self, _: &[Digest]) -> fleche::Result<Vec<StoredCall>> {
        Err(broken())
    }
    fn value(&self, _: &Digest) -> fleche::Result<Option<Vec<u8>>> {
        Err(broken())
    }
    fn store(&self, _: &[StoredCall]) -> fleche::Result<()> {
        Err(broken())
    }
    fn records_after(&self, _: Option<Digest>, _: usize) -> fleche::Result<Vec<(Digest, Vec<u8>)>> {
        Err(broken())
    }
}

fn broken() -> fleche::Error {
    fleche::Error::Layer {
        layer: "broken".into(),
        detail: "input/output error".into(),
    }
}

#[test]
fn a_failing_read_only_layer_is_left_out_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    let (files, local, _team) = two_files(dir.path());
    let stack = Stack::new()
        .cache("files", files)
        .layer("broken", Arc::new(Broken))
        .build()
        .unwrap();
    stack.collect_layer_warnings();
    assert!(stack.layer_warnings().is_empty());
    let page = stack.records_after(None, 100).unwrap();
    assert_eq!(page.len(), 7);
    let warnings = stack.layer_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`broken`") && warnings[0].contains("input/output error"),
        "{}",
        warnings[0]
    );
    // Values too; the same warning is noted once.
    let d = local.query().calls().unwrap()[0].record().result;
    assert!(stack.value_head(&d, 10).unwrap().is_some());
    let missing = Digest::from_bytes([7; 32]);
    assert!(stack.value_head(&missing, 10).unwrap().is_none());
    assert_eq!(stack.layer_warnings().len(), 1);
}

#[test]
fn a_layer_without_a_time_index_is_listed_by_its_records() {
    let map = Arc::new(MapLayer {
        wants: true,
        ..MapLayer::default()
    });
    let first = Stack::new()
        .cache("local", Cache::memory())
        .layer("map", map.clone())
        .build()
        .unwrap();
    {
        let _active = first.activate();
        for x in 1..=4 {
            square(x);
        }
    }
    first.flush().unwrap();
    assert_eq!(map.calls.lock().unwrap().len(), 4);
    // Another process: nothing local, everything in the map.
    let stack = Stack::new()
        .cache("local", Cache::memory())
        .layer("map", map.clone())
        .build()
        .unwrap();
    assert_eq!(stack.len().unwrap(), 4);
    assert_eq!(stack.layer_counts().unwrap(), [Some(0), None]);
    let newest: Vec<Digest> = stack.keys_newest_first().unwrap();
    let by_time: Vec<Digest> = (1..=4).rev().map(square::digest).collect();
    assert_eq!(newest, by_time, "newest first, by the records' start times");
    let first_page = stack.calls_before(None, 3).unwrap();
    let rest = stack.calls_before(first_page.last().copied(), 3).unwrap();
    assert_eq!((first_page.len(), rest.len()), (3, 1));
    assert_eq!(rest[0].key, square::digest(1));
    let after: Vec<Digest> = stack
        .calls_after(rest[0])
        .unwrap()
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(
        after,
        by_time[..3].iter().rev().copied().collect::<Vec<_>>()
    );
    let records = stack.records_of(&by_time).unwrap();
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.layer == 1 && r.record.is_ok()));
}
