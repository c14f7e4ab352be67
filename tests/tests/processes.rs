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

/// Runs the worker on the default cache, in `dir`, with `FLECHE_CACHE` as given. HOME is the
/// temp root (the configuration walk stops there) and XDG_CONFIG_HOME an empty dir in it.
fn worker_in(dir: &Path, fleche_cache: Option<&str>, n: &str) -> Output {
    let home = dir
        .ancestors()
        .find(|a| a.parent() == Some(&std::env::temp_dir()))
        .unwrap_or(dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cache-worker"));
    cmd.args(["-", "square", n])
        .current_dir(dir)
        .env_remove("FLECHE_CACHE")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"));
    if let Some(value) = fleche_cache {
        cmd.env("FLECHE_CACHE", value);
    }
    let out = cmd.output().expect("cache-worker runs");
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

#[test]
fn the_default_cache_comes_from_fleche_toml_with_the_configured_collectors() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let work = project.join("analysis");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        project.join("fleche.toml"),
        "[default]\ncache = \"shared\"\nmetadata = [\"environment\", \"git\", \"resources\"]\n\n[shared]\npath = \"store/cache.redb\"\n",
    )
    .unwrap();
    let out = worker_in(&work, None, "6");
    assert_eq!(stdout(&out), "computed 36");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("store/cache.redb"),
        "the notice names the file: {stderr}"
    );
    assert_eq!(stdout(&worker_in(&work, None, "6")), "hit 36");
    // The path is relative to the file that names it, not to the working directory.
    let path = project.join("store/cache.redb");
    let cache = fleche::Cache::open_read_only(&path).unwrap();
    let keys = cache.keys_newest_first().unwrap();
    let call = cache.load(keys[0]).unwrap();
    let env = call
        .metadata()
        .environment
        .clone()
        .expect("environment collector on");
    assert_eq!(env.cwd, work.canonicalize().unwrap().display().to_string());
    assert!(!env.fleche_version.is_empty());
    assert!(env.program.ends_with("cache-worker"), "{env:?}");
    assert!(env.rustc_version.starts_with("rustc "), "{env:?}");
    let git = call.metadata().git.clone().expect("git collector on");
    assert_eq!(git.commit, None, "not a git repository");
    let resources = call
        .metadata()
        .resources
        .clone()
        .expect("resources collector on");
    assert!(resources.cpu_user.is_some(), "{resources:?}");
}

#[test]
fn fleche_cache_names_a_file_or_a_configured_cache_and_unknown_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[other]\npath = \"other.redb\"\n",
    )
    .unwrap();
    assert_eq!(
        stdout(&worker_in(dir.path(), Some("env.redb"), "3")),
        "computed 9"
    );
    assert_eq!(
        stdout(&worker_in(dir.path(), Some("env.redb"), "3")),
        "hit 9"
    );
    assert!(dir.path().join("env.redb").exists());
    assert_eq!(
        stdout(&worker_in(dir.path(), Some("other"), "3")),
        "computed 9"
    );
    assert!(dir.path().join("other.redb").exists());
    // An unknown name: the function still computes, and the error says what is known.
    let out = worker_in(dir.path(), Some("typo"), "3");
    assert_eq!(stdout(&out), "computed 9");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("typo") && stderr.contains("other"),
        "{stderr}"
    );
    // The configuration's own error, not a storage error of a made-up path.
    assert!(
        !stderr.contains("storage error") && !stderr.contains("<default cache>"),
        "{stderr}"
    );
    // A default cache that cannot be opened: the error names the real file.
    std::fs::create_dir(dir.path().join("a-directory")).unwrap();
    let out = worker_in(dir.path(), Some("./a-directory"), "3");
    assert_eq!(stdout(&out), "computed 9");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a-directory is not a fleche cache: it is a directory")
            && !stderr.contains("<default cache>"),
        "{stderr}"
    );
    // Without configuration: memory, announced once.
    let empty = tempfile::tempdir().unwrap();
    let out = worker_in(empty.path(), None, "3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("in-memory"));
}

#[test]
fn a_killed_writer_leaves_a_file_read_only_openers_refuse_until_a_writer_repairs_it() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cache-worker"))
        .args([path.to_str().unwrap(), "hold", "30"])
        .env("FLECHE_CACHE", "memory")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    // While the writer lives, a read-only opener follows it.
    assert_eq!(
        fleche::Cache::open_read_only(&path).unwrap().len().unwrap(),
        1
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let before = std::fs::read(&path).unwrap();
    match fleche::Cache::open_read_only(&path) {
        Err(fleche::Error::NeedsRepair { .. }) => {}
        other => panic!("expected NeedsRepair, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a read-only open changes nothing"
    );
    // A writer repairs it; the stored call survived.
    assert_eq!(stdout(&worker(&path, "square", "30")), "hit 900");
    assert_eq!(
        fleche::Cache::open_read_only(&path).unwrap().len().unwrap(),
        1
    );
}
