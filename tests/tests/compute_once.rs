//! Compute once across processes on one cache file: real processes miss the same keys at
//! the same time, and every body runs once; a holder killed mid-body lets another take over.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use fleche_tests::workers::{finish, finish_within, runs, wait_for_a_body};

const WORKER: &str = env!("CARGO_BIN_EXE_slow-worker");

fn spawn(cache: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    fleche_tests::workers::spawn(WORKER, &cache.display().to_string(), log, args, env)
}

/// A new cache file, created before the workers start so that none of them creates it.
fn new_cache(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cache.redb");
    drop(fleche::Cache::open(&path).unwrap());
    path
}

/// Without waiting, processes that start together each compute key 0 (at least).
fn assert_some_key_ran_twice(log: &Path) {
    let runs = runs(log);
    assert!(
        runs.values().any(|pids| pids.len() > 1),
        "some key ran in more than one process: {runs:?}"
    );
}

#[test]
fn four_processes_missing_the_same_twenty_keys_run_each_body_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = new_cache(dir.path());
    let log = dir.path().join("runs.log");
    // Each process starts at another key, so each both computes and waits for the others.
    let workers: Vec<Child> = (0..4)
        .map(|i| {
            let from = (i * 5).to_string();
            spawn(&cache, &log, &["keys", "20", &from, "150"], &[])
        })
        .collect();
    let expected: u64 = (0..20u64).map(|k| k * k).sum();
    let mut waited = 0;
    for child in workers {
        let out = finish(child);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("done {expected}"),
            "every process returns every result"
        );
        waited += String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("waiting for call"))
            .count();
    }
    let runs = runs(&log);
    assert_eq!(runs.len(), 20, "every key ran: {runs:?}");
    for (k, pids) in &runs {
        assert_eq!(pids.len(), 1, "key {k} ran {} times: {runs:?}", pids.len());
    }
    assert!(waited > 0, "some process waited for another");
    // Every result is stored once, and the claims are all gone.
    let stored = fleche::Cache::open(&cache).unwrap();
    assert_eq!(stored.query().name("slow").count().unwrap(), 20);
}

#[test]
fn without_waiting_several_processes_compute_the_same_call() {
    // The control for the test above: with `wait = false` the bodies run in every process
    // that misses, as they did before leases (starting together, each computes key 0).
    let dir = tempfile::tempdir().unwrap();
    let cache = new_cache(dir.path());
    let log = dir.path().join("runs.log");
    let workers: Vec<Child> = (0..3)
        .map(|_| spawn(&cache, &log, &["eager", "4", "0", "400"], &[]))
        .collect();
    for child in workers {
        finish(child);
    }
    assert_some_key_ran_twice(&log);
}

#[test]
fn fleche_toml_can_turn_waiting_off() {
    // As the control above, through `[default] wait = false` in the working directory.
    let dir = tempfile::tempdir().unwrap();
    let cache = new_cache(dir.path());
    let log = dir.path().join("runs.log");
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\nwait = false\nroot = true\n",
    )
    .unwrap();
    let workers: Vec<Child> = (0..3)
        .map(|_| {
            fleche_tests::workers::spawn_in(
                dir.path(),
                WORKER,
                &cache.display().to_string(),
                &log,
                &["keys", "4", "0", "400"],
                &[],
            )
        })
        .collect();
    for child in workers {
        let out = finish(child);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("waiting for call"),
            "no process waited"
        );
    }
    assert_some_key_ran_twice(&log);
}

#[test]
fn a_killed_holder_lets_a_waiting_process_take_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = new_cache(dir.path());
    let log = dir.path().join("runs.log");
    let mut holder = spawn(&cache, &log, &["key", "7", "60000"], &[]);
    wait_for_a_body(&log);
    let waiter = spawn(
        &cache,
        &log,
        &["key", "7", "60000"],
        &[("FLECHE_TEST_SLEEP_MS", "0")],
    );
    // While the holder lives, the waiter must not take over, however long its body runs.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        runs(&log)[&7].len(),
        1,
        "the waiter took over a live holder"
    );
    holder.kill().expect("SIGKILL the holder");
    let holder_pid = holder.id();
    holder.wait().unwrap();
    let killed = Instant::now();
    let out = finish_within(waiter, Duration::from_secs(30));
    let took = killed.elapsed();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "result 49");
    let runs = runs(&log);
    assert_eq!(runs[&7].len(), 2, "the waiter computed the call: {runs:?}");
    assert_eq!(runs[&7][0], holder_pid);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // On Linux the holder is found in /proc; elsewhere it is "another process".
    let named = match cfg!(target_os = "linux") {
        true => format!("process {holder_pid} (slow-worker)"),
        false => "another process".to_owned(),
    };
    assert!(
        stderr.contains("waiting for call") && stderr.contains(&named),
        "the waiter said why it waits and for whom: {stderr}"
    );
    eprintln!("taken over {took:?} after the kill");
}

#[test]
fn a_holder_whose_body_panics_lets_a_waiting_process_compute_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = new_cache(dir.path());
    let log = dir.path().join("runs.log");
    let holder = spawn(
        &cache,
        &log,
        &["key", "3", "1500"],
        &[("FLECHE_TEST_PANIC", "1")],
    );
    wait_for_a_body(&log);
    let waiter = spawn(
        &cache,
        &log,
        &["key", "3", "1500"],
        &[("FLECHE_TEST_SLEEP_MS", "0")],
    );
    let failed = holder.wait_with_output().unwrap();
    assert!(!failed.status.success(), "the holder's body panicked");
    let out = finish_within(waiter, Duration::from_secs(60));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "result 9");
    assert_eq!(
        runs(&log)[&3].len(),
        2,
        "the waiter computed the call itself"
    );
}
