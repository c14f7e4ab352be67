//! Real cache files shared by separate processes.

use std::path::Path;
use std::process::{Command, Output};

fn worker(path: &Path, command: &str, n: &str) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cache-worker"))
        .args([path.to_str().unwrap(), command, n])
        // The default cache must not be a file some other test uses.
        .env("FLECHE_CACHE", "memory")
        .output()
        .expect("cache-worker runs");
    assert!(
        out.status.success(),
        "cache-worker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn a_result_stored_by_one_process_is_a_hit_in_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    assert_eq!(stdout(&worker(&path, "square", "12")), "computed 144");
    assert_eq!(stdout(&worker(&path, "square", "12")), "hit 144");
    assert_eq!(stdout(&worker(&path, "square", "13")), "computed 169");
}

#[test]
fn changing_the_version_misses_and_keeping_it_hits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    assert_eq!(stdout(&worker(&path, "square", "5")), "computed 25");
    assert_eq!(stdout(&worker(&path, "square-v2", "5")), "computed 25");
    assert_eq!(stdout(&worker(&path, "square-v2", "5")), "hit 25");
    assert_eq!(stdout(&worker(&path, "square", "5")), "hit 25");
}

#[test]
fn a_garbage_cache_file_gives_a_clear_error_and_the_program_still_computes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let out = worker(&path, "square", "7");
    assert_eq!(stdout(&out), "computed 49");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cache error") && err.contains(path.to_str().unwrap()),
        "stderr: {err}"
    );
    // The file is left as it was: nothing is lost or overwritten.
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_truncated_cache_file_gives_a_clear_error_and_the_program_still_computes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    worker(&path, "many", "200");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let out = worker(&path, "square", "9");
    assert_eq!(stdout(&out), "computed 81");
}

#[test]
fn processes_writing_one_cache_at_once_keep_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let exe = env!("CARGO_BIN_EXE_cache-worker");
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(exe)
                .args([path.to_str().unwrap(), "many", "50"])
                .env("FLECHE_CACHE", "memory")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let cache = fleche::Cache::open_read_only(&path).unwrap();
    assert_eq!(cache.len().unwrap(), 200);
    drop(cache);
    let mut db = redb::Database::builder()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .open(&path)
        .unwrap();
    assert!(
        db.check_integrity().unwrap(),
        "integrity check found a problem"
    );
}
