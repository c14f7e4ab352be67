//! Every `fleche` subcommand, run as a real process on real cache files, with good and bad
//! input: unknown and ambiguous key prefixes, a damaged file, a read-only file, and a cache
//! another process writes to meanwhile.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fleche::{Cache, fleche, tags};

/// The cache activation is per thread but the library's default cache is per process: tests
/// that write caches take turns.
static WRITING: Mutex<()> = Mutex::new(());

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche]
fn greet(name: String) -> String {
    format!("hello {name}")
}

#[fleche]
fn block(i: u32) -> Vec<u8> {
    vec![(i % 251) as u8; 20_000]
}

/// A cache with 3 squares (one tagged), 1 greeting and `blocks` calls of 20 KB each.
fn fill(path: &Path, blocks: u32) {
    let _turn = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let cache = Cache::open(path).unwrap();
    let _active = cache.activate();
    {
        let _t = tags!(project = "alloys");
        square(2);
    }
    square(3);
    square(100);
    greet("world");
    for i in 0..blocks {
        block(i);
    }
    cache.flush().unwrap();
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn fleche_in(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleche"))
        .args(args)
        .current_dir(dir)
        .env_remove("FLECHE_CACHE")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("COLUMNS", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the fleche binary runs");
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "fleche {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

/// Runs `fleche --cache CACHE ARGS..`.
fn fleche(cache: &Path, args: &[&str]) -> Run {
    fleche_stdin(cache, args, "")
}

fn fleche_stdin(cache: &Path, args: &[&str], stdin: &str) -> Run {
    let mut all = vec!["--cache", cache.to_str().unwrap()];
    all.extend_from_slice(args);
    fleche_in(cache.parent().unwrap(), &all, stdin)
}

fn ok(run: Run) -> Run {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn setup(blocks: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    fill(&path, blocks);
    (dir, path)
}

#[test]
fn help_has_examples_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let run = ok(fleche_in(dir.path(), &["--help"], ""));
    for part in [
        "Examples:",
        "Exit codes:",
        "fleche ls 'fn:fib arg:n=20'",
        "verify",
    ] {
        assert!(run.stdout.contains(part), "{part} missing:\n{}", run.stdout);
    }
    let run = fleche_in(dir.path(), &["frobnicate"], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn ls_filters_like_the_browser() {
    let (_dir, path) = setup(0);
    let all = ok(fleche(&path, &["ls"]));
    assert_eq!(
        all.stdout.lines().count(),
        5,
        "header and 4 calls:\n{}",
        all.stdout
    );
    assert!(all.stdout.lines().next().unwrap().starts_with("KEY"));
    assert!(all.stdout.contains("greet(name=world)"), "{}", all.stdout);
    assert!(all.stdout.lines().all(|l| l.chars().count() <= 100));

    let squares = ok(fleche(&path, &["ls", "fn:square"]));
    assert_eq!(squares.stdout.lines().count(), 4);
    let tagged = ok(fleche(&path, &["ls", "tag:project=alloys"]));
    assert_eq!(tagged.stdout.lines().count(), 2);
    assert!(tagged.stdout.contains("#project=alloys"));
    let hundred = ok(fleche(&path, &["--json", "ls", "arg:x=100"]));
    let listed = json(&hundred);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "square");
    assert_eq!(listed[0]["arguments"][0][1], "100");
    let fuzzy = ok(fleche(&path, &["--json", "ls", "wrld"]));
    assert_eq!(json(&fuzzy)[0]["name"], "greet");
    let limited = ok(fleche(&path, &["--json", "ls", "-n", "2"]));
    assert_eq!(json(&limited).as_array().unwrap().len(), 2);
    assert!(
        ok(fleche(&path, &["ls", "fn:nothing_like_this"]))
            .stdout
            .lines()
            .count()
            == 1
    );
    // A reader that stops early (`| head -1`) ends the command quietly.
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleche"))
        .args(["--cache", path.to_str().unwrap(), "ls"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(done.status.code(), Some(0));
}

#[test]
fn show_prints_a_call_and_rejects_bad_prefixes() {
    let (_dir, path) = setup(0);
    let key = square::digest(100).to_string();
    let run = ok(fleche(&path, &["show", &key[..8]]));
    assert!(run.stdout.contains("square"), "{}", run.stdout);
    assert!(run.stdout.contains("arg x"), "{}", run.stdout);
    // The resources collector (on by default) recorded CPU time beside the wall time.
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("cpu") && l.contains("user") && l.contains("system")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("result") && l.ends_with("10000")),
        "{}",
        run.stdout
    );
    let shown = json(&ok(fleche(&path, &["--json", "show", &key])));
    assert_eq!(shown["result"]["text"], "10000");
    assert_eq!(shown["record"]["name"], "square");

    let unknown = fleche(&path, &["show", "0000000000"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("no call or value"),
        "{}",
        unknown.stderr
    );
    let not_hex = fleche(&path, &["show", "xyz!"]);
    assert_eq!(not_hex.code, 2);

    // Two calls whose keys share their first 4 hex characters make that prefix ambiguous.
    let digests: Vec<(i64, String)> = (1000..20_000)
        .map(|i| (i, square::digest(i).to_string()))
        .collect();
    let mut seen = std::collections::HashMap::new();
    let (a, b) = digests
        .iter()
        .find_map(|(i, d)| seen.insert(d[..4].to_owned(), *i).map(|j| (j, *i)))
        .expect("a shared 4-character prefix");
    {
        let _turn = WRITING.lock().unwrap_or_else(|e| e.into_inner());
        let cache = Cache::open(&path).unwrap();
        let _active = cache.activate();
        square(a);
        square(b);
        cache.flush().unwrap();
    }
    let prefix = &square::digest(a).to_string()[..4];
    let ambiguous = fleche(&path, &["show", prefix]);
    assert_eq!(ambiguous.code, 2, "{}", ambiguous.stderr);
    assert!(
        ambiguous.stderr.contains("ambiguous"),
        "{}",
        ambiguous.stderr
    );
}

#[test]
fn stats_gc_evict_and_compact_shrink_a_cache() {
    let (_dir, path) = setup(300);
    let stats = json(&ok(fleche(&path, &["--json", "stats"])));
    assert_eq!(stats["calls"], 304);
    assert_eq!(stats["orphaned_values"], 0);
    let text = ok(fleche(&path, &["stats"]));
    assert!(text.stdout.contains("block"), "{}", text.stdout);

    // Asked, declined: nothing happens, exit 1.
    let declined = fleche_stdin(&path, &["evict", "fn:block"], "n\n");
    assert_eq!(declined.code, 1, "{}", declined.stderr);
    assert!(
        declined.stderr.contains("evict 300 of 304 calls"),
        "{}",
        declined.stderr
    );
    assert_eq!(json(&ok(fleche(&path, &["--json", "stats"])))["calls"], 304);
    // Asked, accepted.
    let accepted = ok(fleche_stdin(&path, &["evict", "fn:block arg:i=7"], "y\n"));
    assert!(
        accepted.stdout.contains("evicted 1 calls"),
        "{}",
        accepted.stdout
    );
    // Without asking.
    let evicted = json(&ok(fleche(
        &path,
        &["--json", "evict", "fn:block", "--yes"],
    )));
    assert_eq!(evicted["evicted"], 299);

    let stats = json(&ok(fleche(&path, &["--json", "stats"])));
    assert_eq!(stats["calls"], 4);
    // 300 arguments and 251 distinct results, less 2, 3, 4, 9 and 100, which the squares
    // still use (integers digest by value, whatever their type).
    assert_eq!(stats["orphaned_values"], 546);
    let collected = json(&ok(fleche(&path, &["--json", "gc"])));
    assert_eq!(collected["values_removed"], 546);
    let text = ok(fleche(&path, &["gc"]));
    assert!(
        text.stdout.starts_with("removed 0 values"),
        "{}",
        text.stdout
    );

    let compacted = json(&ok(fleche(&path, &["--json", "compact"])));
    let (before, after) = (
        compacted["bytes_before"].as_u64().unwrap(),
        compacted["bytes_after"].as_u64().unwrap(),
    );
    eprintln!("fleche compact after evicting 300 calls of 20 KB: {before} -> {after} bytes");
    assert!(after * 4 < before, "{before} -> {after}");
    // Closing records the allocator's state, a page or so more.
    let closed = std::fs::metadata(&path).unwrap().len();
    assert!(closed * 4 < before, "{before} -> {closed} once closed");
    // Still a sound cache with its other calls.
    let verified = ok(fleche(&path, &["verify"]));
    assert!(
        verified.stdout.contains("no problem found"),
        "{}",
        verified.stdout
    );
    assert_eq!(
        json(&ok(fleche(&path, &["--json", "ls"])))
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn export_then_import_copies_calls_once() {
    let (dir, path) = setup(3);
    let out = dir.path().join("out").join("paper.redb");
    let exported = json(&ok(fleche(
        &path,
        &["--json", "export", "fn:square", out.to_str().unwrap()],
    )));
    assert_eq!(exported["calls_copied"], 3);
    let again = json(&ok(fleche(
        &path,
        &["--json", "export", "fn:square", out.to_str().unwrap()],
    )));
    assert_eq!(
        (
            again["calls_copied"].as_u64(),
            again["calls_present"].as_u64()
        ),
        (Some(0), Some(3))
    );
    assert_eq!(
        json(&ok(fleche(&out, &["--json", "ls"])))
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let other = dir.path().join("other.redb");
    let imported = json(&ok(fleche(
        &other,
        &["--json", "import", out.to_str().unwrap()],
    )));
    assert_eq!(imported["calls_copied"], 3);
    let text = ok(fleche(&other, &["import", out.to_str().unwrap()]));
    assert!(text.stdout.starts_with("copied 0 calls"), "{}", text.stdout);
    // Same records: the tag came along.
    let tagged = json(&ok(fleche(&other, &["--json", "ls", "tag:project=alloys"])));
    assert_eq!(tagged.as_array().unwrap().len(), 1);
    let missing = fleche(&other, &["import", "no-such.redb"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no cache file"),
        "{}",
        missing.stderr
    );
}

#[test]
fn verify_passes_a_sound_cache_and_fails_a_damaged_one() {
    let (_dir, path) = setup(200);
    let sound = json(&ok(fleche(&path, &["--json", "verify"])));
    assert_eq!(sound["sound"], true);
    assert_eq!(sound["calls"], 204);
    let before = std::fs::read(&path).unwrap();
    // Scribble over the middle of the file, where value pages are.
    let mut damaged = before.clone();
    let mid = damaged.len() / 2;
    for b in &mut damaged[mid..mid + 64 * 1024] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &damaged).unwrap();
    let run = fleche(&path, &["verify"]);
    assert_ne!(
        run.code, 0,
        "damage must be found:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(run.code == 1 || run.code == 2, "{}", run.code);
    assert!(
        run.stderr.contains("damaged") || run.stderr.contains("problems found"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        damaged,
        "verify repairs nothing"
    );
    // Not a cache at all.
    let text = path.with_file_name("notes.txt");
    std::fs::write(
        &text,
        "just text, long enough to be looked at as a database",
    )
    .unwrap();
    let run = fleche(&text, &["ls"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not a fleche cache"), "{}", run.stderr);
}

#[test]
fn a_read_only_file_can_be_read_but_is_never_written() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = setup(2);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&path).unwrap();
    assert_eq!(
        json(&ok(fleche(&path, &["--json", "ls"])))
            .as_array()
            .unwrap()
            .len(),
        6
    );
    ok(fleche(&path, &["stats"]));
    ok(fleche(&path, &["verify"]));
    ok(fleche(
        &path,
        &["show", &square::digest(3).to_string()[..10]],
    ));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "reading commands leave the file alone"
    );
    let root = std::fs::OpenOptions::new().write(true).open(&path).is_ok();
    if !root {
        let run = fleche(&path, &["gc"]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("permission denied"), "{}", run.stderr);
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn commands_work_while_another_process_writes() {
    let (_dir, path) = setup(0);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let _turn = WRITING.lock().unwrap_or_else(|e| e.into_inner());
            let cache = Cache::open(&path).unwrap();
            let _active = cache.activate();
            let mut i = 10_000;
            while !stop.load(Ordering::Relaxed) {
                square(i);
                cache.flush().unwrap();
                i += 1;
            }
            i - 10_000
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    ok(fleche(&path, &["ls", "fn:square"]));
    ok(fleche(&path, &["stats"]));
    ok(fleche(&path, &["verify"]));
    ok(fleche(&path, &["gc"]));
    ok(fleche(&path, &["evict", "arg:x=3", "--yes"]));
    // Compaction needs a moment when nobody is in a transaction: it either gets one, or says
    // plainly that the cache is busy.
    let compact = fleche(&path, &["compact"]);
    assert!(
        compact.code == 0 || (compact.code == 1 && compact.stderr.contains("cannot compact")),
        "{}\n{}",
        compact.stdout,
        compact.stderr
    );
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    let verified = json(&ok(fleche(&path, &["--json", "verify"])));
    assert_eq!(verified["sound"], true);
}

#[test]
fn config_says_which_cache_is_the_default_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let run = fleche_in(dir.path(), &["ls"], "");
    assert_eq!(run.code, 2, "no default cache: {}", run.stderr);
    assert!(run.stderr.contains("in memory"), "{}", run.stderr);

    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\ncache = \"project\"\n\n[project]\npath = \"data/cache.redb\"\n",
    )
    .unwrap();
    let run = ok(fleche_in(dir.path(), &["config"], ""));
    assert!(run.stdout.contains("fleche.toml"), "{}", run.stdout);
    assert!(
        run.stdout.contains("default cache: `project`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("data/cache.redb"), "{}", run.stdout);
    let shown = json(&ok(fleche_in(dir.path(), &["--json", "config"], "")));
    assert_eq!(shown["default_name"], "project");
    // The default cache is used when --cache is not given, and a name works as --cache.
    fill(&dir.path().join("data/cache.redb"), 0);
    let listed = json(&ok(fleche_in(dir.path(), &["--json", "ls"], "")));
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let named = json(&ok(fleche_in(
        dir.path(),
        &["--cache", "project", "--json", "stats"],
        "",
    )));
    assert_eq!(named["calls"], 4);
}

#[test]
fn ls_show_and_config_on_a_stack_show_each_calls_layer() {
    let dir = tempfile::tempdir().unwrap();
    // A teammate's file with the usual calls, and a local file with one of its own.
    fill(&dir.path().join("team.redb"), 0);
    {
        let _turn = WRITING.lock().unwrap_or_else(|e| e.into_inner());
        let local = Cache::open(dir.path().join("local.redb")).unwrap();
        let _active = local.activate();
        greet("local");
        square(3); // also in the team's file: listed once, from the top layer
        local.flush().unwrap();
    }
    std::fs::write(
        dir.path().join("fleche.toml"),
        "[default]\ncache = [\"local\", \"team\"]\n[local]\npath = \"local.redb\"\nmax_size = \"1 GiB\"\n[team]\npath = \"team.redb\"\nread_only = true\n",
    )
    .unwrap();
    let run = ok(fleche_in(dir.path(), &["ls"], ""));
    assert!(
        run.stdout.lines().next().unwrap().contains("LAYER"),
        "{}",
        run.stdout
    );
    let layer_of = |needle: &str| -> String {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {}", run.stdout));
        line.split_whitespace().nth(1).unwrap().to_owned()
    };
    assert_eq!(layer_of("name=local"), "local");
    assert_eq!(layer_of("name=world"), "team");
    assert_eq!(layer_of("x=3"), "local", "the top layer wins");
    assert_eq!(run.stdout.matches("x=3").count(), 1, "{}", run.stdout);
    let listed = json(&ok(fleche_in(dir.path(), &["--json", "ls"], "")));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 5, "the union: 4 + 2 - 1 shared");
    assert!(
        listed
            .iter()
            .all(|c| c["layer"] == "local" || c["layer"] == "team")
    );
    let team_key = listed.iter().find(|c| c["layer"] == "team").unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = ok(fleche_in(dir.path(), &["show", &team_key[..12]], ""));
    assert!(
        shown
            .stdout
            .lines()
            .any(|l| l.starts_with("layer") && l.contains("team")),
        "{}",
        shown.stdout
    );
    let config = ok(fleche_in(dir.path(), &["config"], ""));
    for said in [
        "a stack of 2 layers",
        "new results are stored here",
        "read-only: never written",
        "max_size 1 GiB",
    ] {
        assert!(config.stdout.contains(said), "{said}: {}", config.stdout);
    }
    let config = json(&ok(fleche_in(dir.path(), &["--json", "config"], "")));
    assert_eq!(config["layers"][1]["read_only"], true);
    // Commands that change a cache work on the top file.
    let stats = json(&ok(fleche_in(dir.path(), &["--json", "stats"], "")));
    assert_eq!(stats["calls"], 2);
    // A layer by its name, read-only section included.
    let stats = json(&ok(fleche_in(
        dir.path(),
        &["--cache", "team", "--json", "stats"],
        "",
    )));
    assert_eq!(stats["calls"], 4);
}

#[test]
fn tui_says_when_fleche_tui_is_missing() {
    let (dir, path) = setup(0);
    let run = Command::new(env!("CARGO_BIN_EXE_fleche"))
        .args(["--cache", path.to_str().unwrap(), "tui"])
        .current_dir(dir.path())
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("fleche-tui is not on PATH"));
}
