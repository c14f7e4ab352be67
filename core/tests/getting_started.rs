//! Runs `examples/getting_started.rs` against a cache file, twice: the first run computes and
//! prints the notebook's lines, the second finds everything in the file.

use std::process::Command;

fn run(cache: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO"))
        .args(["run", "-q", "-p", "fleche", "--example", "getting_started"])
        .env("FLECHE_CACHE", cache)
        .env("FLECHE_EXAMPLE_FAST", "1")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "example failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_notebook_walk_runs_and_then_hits() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("getting_started.redb");
    let first = run(&cache);
    for line in [
        "Running calculation for 2...",
        "Second call took 0.00 seconds.",
        "Running calculation for 100...",
        "Doubling 100...",
        "Result: 200",
        "Computing 10 + 5...",
        "Result: 15",
        "Computing 20 + 5...",
        "Result: 25",
        "Result: 6765",
    ] {
        assert!(
            first.lines().any(|l| l == line),
            "missing `{line}` in:\n{first}"
        );
    }
    assert!(first.contains("Value Digest: "), "{first}");
    assert!(first.contains("fib(20) took "), "{first}");
    assert!(first.contains("project"), "{first}");
    assert!(first.contains("category"), "{first}");
    assert!(first.contains("my_project"), "{first}");

    let second = run(&cache);
    assert!(!second.contains("Running calculation"), "{second}");
    assert!(!second.contains("Computing"), "{second}");
    assert!(second.contains("Result: 6765"), "{second}");
    // The example closed the file cleanly, so a reader (like fleche-tui) can open it.
    let reopened = fleche::Cache::open_read_only(&cache).unwrap();
    assert_eq!(reopened.query().name("fib").count().unwrap(), 21);
    assert_eq!(
        reopened.query().module("getting_started").count().unwrap(),
        29
    );
}
