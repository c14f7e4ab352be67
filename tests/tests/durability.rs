//! What a cache file keeps when its process ends: every normal ending closes the file cleanly,
//! a `kill -9` loses only the calls of its last moments, and a full disk loses only what it
//! could not hold.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fleche::{Cache, Digest, Error};

#[test]
fn every_normal_ending_leaves_a_clean_file_with_the_call_in_it() {
    let dir = tempfile::tempdir().unwrap();
    for how in ["return", "exit", "panic", "static", "thread"] {
        let path = dir.path().join(format!("{how}.redb"));
        let out = Command::new(env!("CARGO_BIN_EXE_exit-worker"))
            .args([path.to_str().unwrap(), how])
            .env("FLECHE_CACHE", "memory")
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            how != "panic",
            "{how}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A read-only open refuses a file that was never closed (it would need a repair).
        let cache = match Cache::open_read_only(&path) {
            Ok(cache) => cache,
            Err(e) => panic!("ending by {how} left the file unclean: {e}"),
        };
        assert_eq!(cache.len().unwrap(), 1, "ending by {how} kept the call");
    }
}

/// Under evcxr, Jupyter stops and interrupts a kernel by killing evcxr's runtime process
/// with SIGKILL: the file must be clean and hold every returned call whenever the kill comes
/// after the cell's calls returned.
#[test]
fn a_notebook_kernel_killed_between_cells_leaves_a_clean_file_with_every_call() {
    let dir = tempfile::tempdir().unwrap();
    for run in 0..5 {
        let path = dir.path().join(format!("kernel{run}.redb"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_exit-worker"))
            .args([path.to_str().unwrap(), "idle"])
            .env("FLECHE_CACHE", "memory")
            .env("EVCXR_IS_RUNTIME", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "called 14", "run {run}");
        // Killed as soon as the call returned: no time for anything behind.
        child.kill().unwrap();
        child.wait().unwrap();
        let cache = match Cache::open_read_only(&path) {
            Ok(cache) => cache,
            Err(e) => panic!("run {run}: the killed kernel left the file unclean: {e}"),
        };
        // total(4) and square(0..4).
        assert_eq!(
            cache.len().unwrap(),
            5,
            "run {run}: a returned call was lost"
        );
    }
}

/// What one `kill -9` of `call-loop` lost.
struct Kill {
    /// Calls that had returned (printed) before the kill.
    returned: usize,
    /// Of those, the calls missing from the file.
    lost: usize,
    /// How long before the kill the newest and the oldest lost calls had returned.
    newest_lost_age: Option<Duration>,
    oldest_lost_age: Option<Duration>,
}

/// Runs `call-loop` on a new file for `run_for`, kills it, and counts the returned calls
/// missing from the file.
fn kill_once(path: &Path, flush: bool, run_for: Duration) -> Kill {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_call-loop"));
    cmd.arg(path);
    if flush {
        cmd.arg("flush");
    }
    let mut child = cmd
        .env("FLECHE_CACHE", "memory")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    std::thread::sleep(run_for);
    let killed_at = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = reader.join().unwrap();
    // The writer that was killed leaves the file for a read-write open to repair.
    let cache = Cache::open_existing(path).unwrap();
    let mut kill = Kill {
        returned: 0,
        lost: 0,
        newest_lost_age: None,
        oldest_lost_age: None,
    };
    for line in &lines {
        let mut fields = line.split(' ');
        let (Some(_), Some(key), Some(nanos)) = (fields.next(), fields.next(), fields.next())
        else {
            continue; // the last line, cut by the kill
        };
        let (Ok(key), Ok(nanos)) = (key.parse::<Digest>(), nanos.parse::<u64>()) else {
            continue;
        };
        kill.returned += 1;
        if !cache.contains(&key).unwrap() {
            kill.lost += 1;
            let age = killed_at.saturating_sub(Duration::from_nanos(nanos));
            kill.newest_lost_age = Some(kill.newest_lost_age.map_or(age, |a| a.min(age)));
            kill.oldest_lost_age = Some(kill.oldest_lost_age.map_or(age, |a| a.max(age)));
        }
    }
    kill
}

/// Kill moments spread over 0.3 to 1.5 s of running, from a small generator seeded by the clock.
fn moments(n: usize) -> Vec<Duration> {
    let mut x = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(300 + x % 1200)
        })
        .collect()
}

#[test]
fn a_killed_process_loses_only_the_calls_of_its_last_moments() {
    let dir = tempfile::tempdir().unwrap();
    for (n, run_for) in moments(5).into_iter().enumerate() {
        let kill = kill_once(&dir.path().join(format!("k{n}.redb")), false, run_for);
        assert!(kill.returned > 0, "the loop ran");
        // Promised: 100 ms on an idle disk; lenient for a loaded test machine, and still far
        // below the seconds an unbounded queue loses.
        if let Some(age) = kill.oldest_lost_age {
            assert!(
                age < Duration::from_millis(500),
                "lost a call returned {age:?} before the kill ({} of {} lost)",
                kill.lost,
                kill.returned
            );
        }
    }
    for (n, run_for) in moments(2).into_iter().enumerate() {
        let kill = kill_once(&dir.path().join(format!("f{n}.redb")), true, run_for);
        assert!(kill.returned > 0, "the loop ran");
        assert_eq!(kill.lost, 0, "a flushed call is never lost");
    }
}

/// The figures for the README: `cargo test -p fleche-tests --release --test durability --
/// --ignored --nocapture kill_figures`.
#[test]
#[ignore = "measures; prints figures"]
fn kill_figures() {
    let dir = tempfile::tempdir().unwrap();
    for flush in [false, true] {
        let kills: Vec<Kill> = moments(25)
            .into_iter()
            .enumerate()
            .map(|(n, run_for)| {
                kill_once(
                    &dir.path().join(format!("{flush}-{n}.redb")),
                    flush,
                    run_for,
                )
            })
            .collect();
        let lost: Vec<usize> = kills.iter().map(|k| k.lost).collect();
        let returned: usize = kills.iter().map(|k| k.returned).sum();
        let oldest = kills.iter().filter_map(|k| k.oldest_lost_age).max();
        let newest = kills.iter().filter_map(|k| k.newest_lost_age).max();
        println!(
            "{} kills {}: calls returned {returned}, lost per kill: mean {:.1}, max {}, \
             kills that lost any {}; the oldest lost call had returned {:?} before its kill \
             (the newest, at most {:?})",
            kills.len(),
            if flush {
                "with flush() after each call"
            } else {
                "without flush()"
            },
            lost.iter().sum::<usize>() as f64 / kills.len() as f64,
            lost.iter().max().unwrap(),
            lost.iter().filter(|l| **l > 0).count(),
            oldest.unwrap_or_default(),
            newest.unwrap_or_default(),
        );
        println!("  lost per kill: {lost:?}");
        let ages: Vec<u128> = kills
            .iter()
            .map(|k| k.oldest_lost_age.unwrap_or_default().as_millis())
            .collect();
        println!("  oldest lost call's age per kill (ms): {ages:?}");
    }
}

/// Mounts a tmpfs of `size` on `dir`; `None` where mounting is not allowed.
struct Tmpfs<'a>(&'a Path);

impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, size: &str) -> Option<Tmpfs<'a>> {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs(dir))
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[fleche::fleche(module = "durability")]
fn block(i: u64) -> Vec<u8> {
    vec![i as u8; 64 * 1024]
}

#[test]
fn on_a_full_disk_calls_return_flush_says_what_was_lost_and_storing_resumes_with_space() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tmpfs) = Tmpfs::mount(dir.path(), "2m") else {
        eprintln!(
            "skipped: cannot mount a tmpfs here (needs root); the failing-backend unit test covers this"
        );
        return;
    };
    let cache = Cache::open(dir.path().join("full.redb")).unwrap();
    let _active = cache.activate();
    for i in 0..80 {
        assert_eq!(block(i), vec![i as u8; 64 * 1024], "results are returned");
    }
    match cache.flush() {
        Err(Error::NotStored { count, .. }) => assert!(count > 0, "{count}"),
        other => panic!("5 MB of results on a 2 MB disk: expected NotStored, got {other:?}"),
    }
    tmpfs.resize("64m");
    // Reopening after a failure waits a moment before trying again.
    std::thread::sleep(Duration::from_millis(300));
    for i in 1000..1020 {
        assert_eq!(block(i), vec![i as u8; 64 * 1024]);
    }
    cache.flush().unwrap();
    for i in 1000..1020 {
        assert!(
            cache.contains(&block::digest(i)).unwrap(),
            "stored once space is back"
        );
    }
    drop(_active);
    drop(cache);
}
