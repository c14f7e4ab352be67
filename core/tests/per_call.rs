//! Environment and git facts are taken when each call runs, not once per process: a call
//! made after a `cd`, a commit or a branch switch records the new state.
//!
//! One test in its own binary, because it changes the process's working directory.

use std::path::Path;
use std::process::Command;

use fleche::meta::{EnvironmentCollector, GitCollector};
use fleche::{Cache, fleche};

#[fleche]
fn step(x: i64) -> i64 {
    x
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git is installed");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn commit(dir: &Path, file: &str, text: &str) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    git(dir, &["add", file]);
    git(dir, &["commit", "-q", "-m", text]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn environment_and_git_are_taken_per_call() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let repo = base.join("repo");
    let elsewhere = base.join("elsewhere");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let first = commit(&repo, "a.txt", "one");

    let cache = Cache::memory();
    let _a = cache.activate();
    let _m = fleche::meta!(EnvironmentCollector, GitCollector);
    let record = |x: i64| cache.load(step::digest(x)).unwrap().metadata().clone();

    std::env::set_current_dir(&repo).unwrap();
    step(1);
    let second = commit(&repo, "a.txt", "two");
    step(2);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    step(3);
    // An edit of a tracked file: dirty once the last answer is older than DIRTY_FOR.
    std::fs::write(repo.join("a.txt"), "edited").unwrap();
    std::thread::sleep(fleche::meta::DIRTY_FOR + std::time::Duration::from_millis(100));
    step(4);
    // A detached HEAD, and refs packed away (no loose ref file left).
    git(&repo, &["checkout", "-q", "."]);
    git(&repo, &["pack-refs", "--all"]);
    std::thread::sleep(fleche::meta::DIRTY_FOR + std::time::Duration::from_millis(100));
    step(5);
    git(&repo, &["checkout", "-q", "--detach", &first]);
    step(6);
    // A worktree: `.git` is a file naming the real git directory.
    let tree = base.join("tree");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "side",
            tree.to_str().unwrap(),
            &second,
        ],
    );
    std::env::set_current_dir(&tree).unwrap();
    step(7);
    std::env::set_current_dir(&elsewhere).unwrap();
    step(8);

    let g = |x: i64| record(x).git.unwrap();
    assert_eq!(g(1).commit.as_deref(), Some(first.as_str()));
    assert_eq!(g(1).branch.as_deref(), Some("main"));
    assert_eq!(g(1).dirty, Some(false));
    assert_eq!(g(2).commit.as_deref(), Some(second.as_str()));
    assert_eq!(g(3).branch.as_deref(), Some("feature"));
    assert_eq!(g(3).commit.as_deref(), Some(second.as_str()));
    assert_eq!(g(3).dirty, Some(false));
    assert_eq!(g(4).dirty, Some(true));
    assert_eq!(
        g(5).commit.as_deref(),
        Some(second.as_str()),
        "from packed-refs"
    );
    assert_eq!(g(5).branch.as_deref(), Some("feature"));
    assert_eq!(g(5).dirty, Some(false));
    assert_eq!(g(6).commit.as_deref(), Some(first.as_str()));
    assert_eq!(
        g(6).branch.as_deref(),
        Some("HEAD"),
        "detached, as git names it"
    );
    assert_eq!(g(7).commit.as_deref(), Some(second.as_str()));
    assert_eq!(g(7).branch.as_deref(), Some("side"));
    assert_eq!(g(8).commit, None, "outside a repository");
    assert_eq!(g(8).dirty, None);

    let e = |x: i64| record(x).environment.unwrap();
    assert_eq!(Path::new(&e(1).cwd), repo);
    assert_eq!(Path::new(&e(7).cwd), tree);
    assert_eq!(Path::new(&e(8).cwd), elsewhere);
    let env = e(8);
    assert_eq!(env.fleche_version, env!("CARGO_PKG_VERSION"));
    assert!(env.rustc_version.starts_with("rustc "), "{env:?}");
    assert!(
        !env.program.is_empty() && !env.hostname.is_empty(),
        "{env:?}"
    );
    // The facts agree with what git itself says.
    assert_eq!(
        g(3).commit.as_deref(),
        Some(git(&repo, &["rev-parse", "feature"]).as_str())
    );
}
