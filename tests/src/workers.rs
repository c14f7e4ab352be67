//! Running `slow-worker` (the compute-once tests' program) and reading what its bodies did:
//! each body appends `KEY PID` to a run log, so a test counts how often each key ran.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Starts `worker` (the path of `slow-worker`) on `cache` with `args`, its bodies logging to
/// `log`, with the compute-once settings of the environment cleared and `env` set.
pub fn spawn(worker: &str, cache: &str, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    command(worker, cache, log, args, env)
        .spawn()
        .expect("slow-worker starts")
}

/// [`spawn`] with `dir` as the working directory (where `fleche.toml` is looked for).
pub fn spawn_in(
    dir: &Path,
    worker: &str,
    cache: &str,
    log: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Child {
    command(worker, cache, log, args, env)
        .current_dir(dir)
        .spawn()
        .expect("slow-worker starts")
}

fn command(worker: &str, cache: &str, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(worker);
    cmd.arg(cache)
        .args(args)
        .env("FLECHE_TEST_LOG", log)
        .env_remove("FLECHE_WAIT")
        .env_remove("FLECHE_LEASE")
        .env_remove("PGPASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Waits for a worker, which must succeed.
pub fn finish(child: Child) -> Output {
    let out = child.wait_with_output().expect("slow-worker ends");
    assert!(
        out.status.success(),
        "slow-worker failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Waits for a worker, killing it and failing after `limit`: a waiter that never takes over
/// must fail the test, not hang it.
pub fn finish_within(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child
            .try_wait()
            .expect("the worker can be waited for")
            .is_some()
        {
            return finish(child);
        }
        if started.elapsed() > limit {
            child.kill().ok();
            let out = child.wait_with_output().expect("the killed worker ends");
            panic!(
                "the worker did not finish within {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Which processes ran each key's body, in order, from the run log.
pub fn runs(log: &Path) -> BTreeMap<u64, Vec<u32>> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for line in text.lines() {
        let (k, pid) = line.split_once(' ').expect("a `key pid` line");
        out.entry(k.parse().expect("a key"))
            .or_default()
            .push(pid.parse().expect("a pid"));
    }
    out
}

/// Waits until some body has started (a line in the run log), at most 30 s.
pub fn wait_for_a_body(log: &Path) {
    let started = Instant::now();
    while runs(log).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no body started within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
