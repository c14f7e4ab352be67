//! Cache stacks from `fleche.toml`, driven through a separate program: a teammate's cache
//! file as a read-only layer (hit, back-filled into the local file, never written), a missing
//! or damaged read-only layer (skipped with a warning, the function still runs), and caching
//! switched off.

use std::path::Path;
use std::process::{Command, Output};

use fleche::Cache;

/// Runs `cache-worker - square N` in `dir` on the default cache, with `env` set.
fn square(dir: &Path, n: i64, env: &[(&str, &str)]) -> Output {
    worker(dir, &["square", &n.to_string()], env)
}

/// Runs `cache-worker - ARGS..` in `dir` on the default cache, with `env` set.
fn worker(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cache-worker"));
    cmd.arg("-")
        .args(args)
        .current_dir(dir)
        .env_remove("FLECHE_CACHE")
        .env_remove("EVCXR_IS_RUNTIME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const STACK_TOML: &str = r#"
[default]
cache = ["local", "team"]

[local]
path = "local.redb"

[team]
path = "team.redb"
read_only = true
"#;

/// A teammate's cache file with `square(7)` in it, made by another process.
fn teammate_file(dir: &Path) -> Vec<u8> {
    let team = dir.join("team.redb");
    let out = square(dir, 7, &[("FLECHE_CACHE", team.to_str().unwrap())]);
    assert_eq!(stdout(&out), "computed 49");
    std::fs::read(&team).unwrap()
}

#[test]
fn a_hit_in_a_read_only_teammate_file_is_copied_into_the_local_file_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let before = teammate_file(dir.path());
    std::fs::write(dir.path().join("fleche.toml"), STACK_TOML).unwrap();

    // Found in the teammate's file: not computed.
    assert_eq!(stdout(&square(dir.path(), 7, &[])), "hit 49");
    // Copied up into the local file, so the next hit is local.
    let local = Cache::open_read_only(dir.path().join("local.redb")).unwrap();
    assert_eq!(local.len().unwrap(), 1, "back-filled into the local layer");
    // A new result goes to the local file only.
    assert_eq!(stdout(&square(dir.path(), 8, &[])), "computed 64");
    assert_eq!(local.len().unwrap(), 2);
    assert_eq!(
        std::fs::read(dir.path().join("team.redb")).unwrap(),
        before,
        "the read-only layer is never written"
    );
    // With the teammate's file gone, the back-filled copy still answers.
    std::fs::remove_file(dir.path().join("team.redb")).unwrap();
    drop(local);
    let out = square(dir.path(), 7, &[]);
    assert_eq!(stdout(&out), "hit 49");
    assert!(stderr(&out).contains("`team`"), "{}", stderr(&out));
}

#[test]
fn a_missing_read_only_layer_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fleche.toml"), STACK_TOML).unwrap();
    let out = square(dir.path(), 3, &[]);
    assert_eq!(stdout(&out), "computed 9");
    let err = stderr(&out);
    assert!(
        err.contains("read-only cache layer `team`") && err.contains("skipped"),
        "{err}"
    );
    assert!(!dir.path().join("team.redb").exists(), "not created");
    // Still cached in the writable layer.
    assert_eq!(stdout(&square(dir.path(), 3, &[])), "hit 9");
}

#[test]
fn a_damaged_read_only_layer_is_skipped_with_a_warning_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = teammate_file(dir.path());
    // Damage the teammate's file: its header no longer reads.
    for b in bytes.iter_mut().take(64) {
        *b ^= 0x5a;
    }
    std::fs::write(dir.path().join("team.redb"), &bytes).unwrap();
    std::fs::write(dir.path().join("fleche.toml"), STACK_TOML).unwrap();
    let out = square(dir.path(), 7, &[]);
    assert_eq!(stdout(&out), "computed 49");
    assert!(stderr(&out).contains("`team`"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("team.redb")).unwrap(),
        bytes,
        "a damaged read-only layer is not repaired"
    );
}

#[test]
fn caching_off_runs_the_function_every_time_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\ncache = \"local\"\n[local]\npath = \"local.redb\"\n",
    )
    .unwrap();
    for _ in 0..2 {
        let out = square(dir.path(), 5, &[("FLECHE_CACHE", "off")]);
        assert_eq!(stdout(&out), "computed 25");
    }
    assert!(!dir.path().join("local.redb").exists(), "nothing written");
    // `cache = "off"` in fleche.toml does the same.
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\ncache = \"off\"\n",
    )
    .unwrap();
    for _ in 0..2 {
        assert_eq!(stdout(&square(dir.path(), 5, &[])), "computed 25");
    }
    // And with the switch gone, caching is back.
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\ncache = \"local\"\n[local]\npath = \"local.redb\"\n",
    )
    .unwrap();
    assert_eq!(stdout(&square(dir.path(), 5, &[])), "computed 25");
    assert_eq!(stdout(&square(dir.path(), 5, &[])), "hit 25");
}

#[test]
fn max_size_in_fleche_toml_keeps_the_cache_file_under_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\ncache = \"local\"\n[local]\npath = \"local.redb\"\nmax_size = \"16 KiB\"\n",
    )
    .unwrap();
    worker(dir.path(), &["many", "400"], &[]);
    let cache = Cache::open_read_only(dir.path().join("local.redb")).unwrap();
    let stats = cache.stats().unwrap();
    assert!(
        stats.calls > 10 && stats.calls < 400,
        "evicted down to what fits: {} calls",
        stats.calls
    );
    assert!(stats.value_bytes < 16 << 10, "{}", stats.value_bytes);
    assert_eq!(stats.orphaned_values, 0, "values went with their calls");
    assert!(cache.verify().unwrap().problems.is_empty());
    // Without the limit, the same run keeps everything.
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\ncache = \"local\"\n[local]\npath = \"other.redb\"\n",
    )
    .unwrap();
    worker(dir.path(), &["many", "400"], &[]);
    let other = Cache::open_read_only(dir.path().join("other.redb")).unwrap();
    assert_eq!(other.len().unwrap(), 400);
}
