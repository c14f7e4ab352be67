//! Hits reuse a read snapshot for a few milliseconds (`core/src/store/snapshot.rs`): what
//! other processes change is still seen, the compute-once promise holds, and the file does
//! not grow because of a held snapshot. Real processes on a real file.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A running `hit-loop` and the pipes to talk to it.
struct Looper {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Looper {
    fn start(path: &Path) -> Looper {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hit-loop"))
            .arg(path)
            .env_remove("FLECHE_WAIT")
            .env("FLECHE_CACHE", "memory")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("hit-loop starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Looper {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one command and returns its answer.
    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").expect("hit-loop takes a command");
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("hit-loop answers");
        assert!(
            !line.is_empty(),
            "hit-loop ended before answering {command:?}"
        );
        line.trim().to_owned()
    }
}

impl Drop for Looper {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}

#[test]
fn a_call_deleted_by_another_process_is_recomputed_by_a_process_hitting_it_all_along() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let mut hitter = Looper::start(&path);
    let mut deleter = Looper::start(&path);
    assert_eq!(hitter.ask("store 1"), "stored 1");
    assert_eq!(hitter.ask("hit 1"), "hitting 1");
    // The hitter keeps a snapshot from before the deletion as long as it may.
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(deleter.ask("delete 1"), "deleted 1");
    let deleted = std::time::Instant::now();
    // The hitter may have noticed already: the answer counts from its `hit`.
    assert_eq!(
        hitter.ask("until-computed 1"),
        "computed 1",
        "the deleted call was still served"
    );
    // The snapshot's window is 2 ms; this leaves room for a loaded machine.
    let served = deleted.elapsed();
    assert!(
        served < std::time::Duration::from_secs(1),
        "served for {served:?} after its deletion"
    );
    assert_eq!(hitter.ask("idle"), "idle");
    assert_eq!(
        hitter.ask("call 1"),
        "hit 1",
        "stored again by the recomputation"
    );
}

#[test]
fn a_call_stored_by_another_process_is_a_hit_even_from_an_older_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let mut hitter = Looper::start(&path);
    let mut storer = Looper::start(&path);
    assert_eq!(hitter.ask("store 0"), "stored 0");
    assert_eq!(hitter.ask("hit 0"), "hitting 0");
    // Each call is asked for right after the other process committed it, while the hitter's
    // snapshot most likely predates that commit: the miss claims the key, which makes the
    // look after the claim read the latest commit, so the body never runs twice.
    for k in 1..=20 {
        assert_eq!(storer.ask(&format!("store {k}")), format!("stored {k}"));
        assert_eq!(hitter.ask(&format!("call {k}")), format!("hit {k}"));
    }
}

#[test]
fn a_process_sees_its_own_deletions_and_stores_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let mut looper = Looper::start(&path);
    assert_eq!(looper.ask("store 1"), "stored 1");
    assert_eq!(looper.ask("hit 1"), "hitting 1");
    assert_eq!(looper.ask("idle"), "idle");
    assert_eq!(looper.ask("delete 1"), "deleted 1");
    assert_eq!(looper.ask("call 1"), "computed 1");
    assert_eq!(looper.ask("call 1"), "hit 1");
    assert_eq!(looper.ask("call 2"), "computed 2");
    assert_eq!(looper.ask("call 2"), "hit 2");
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Another process rewrites the same calls over and over (`rounds` commits) while `hitter`
/// is in the state `setup` put it in; returns the file's size after.
fn size_after_churn(setup: &[&str]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let mut hitter = Looper::start(&path);
    let mut writer = Looper::start(&path);
    // Warm-up: the calls exist and the file has its working size.
    assert_eq!(writer.ask("churn 20 10"), "churned");
    for command in setup {
        hitter.ask(command);
    }
    assert_eq!(writer.ask("churn 20 100"), "churned");
    file_size(&path)
}

#[test]
fn the_file_does_not_grow_for_a_snapshot_held_by_hits_or_left_by_them() {
    let alone = size_after_churn(&[]);
    // Hitting all along: each snapshot is given up within its window.
    let hitting = size_after_churn(&["store 1000", "hit 1000"]);
    // Hits, then nothing: the writer thread releases the snapshot the last hit left.
    let after_hits = size_after_churn(&["store 1000", "hit 1000", "idle"]);
    eprintln!("file sizes: alone {alone}, hitting {hitting}, after hits {after_hits}");
    // A snapshot never given up pins every page freed after it: the file then grows some
    // sixty times (17.8 MB against 283 KB when the idle release was taken out). A hitter the
    // scheduler leaves waiting on a loaded machine holds its snapshot a little longer than
    // its window, so sizes up to a few times the size alone are not a failure (2.3 times was
    // seen in CI next to another benchmark).
    for (case, size) in [("hitting", hitting), ("after hits", after_hits)] {
        assert!(
            size <= alone * 8,
            "{case}: {size} bytes, against {alone} with no hits: old pages were kept"
        );
    }
}
