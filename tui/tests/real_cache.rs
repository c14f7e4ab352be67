//! Against real cache files: the background reader loads what `#[fleche]` stored, sees calls
//! another process adds while it runs, and every way a file can fail to open gives a message
//! (snapshot-tested) without changing the file.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fleche::fleche;
use fleche_tui::app::{Action, Options, State};
use fleche_tui::loader::{self, Loaded, Request};
use fleche_tui::open;

#[derive(serde::Serialize, serde::Deserialize)]
struct Spectrum {
    label: String,
    intensities: Vec<f64>,
}

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche]
fn spectrum(n: u32) -> Spectrum {
    Spectrum {
        label: format!("n={n}"),
        intensities: (0..n).map(f64::from).collect(),
    }
}

fn write_cache(path: &Path) {
    let cache = fleche::Cache::open(path).unwrap();
    let _active = cache.activate();
    let _tags = fleche::tags!(project = "tui-tests");
    square(3);
    square(100);
    spectrum(50_000);
}

fn state() -> State {
    State::new(Options {
        source: "test".into(),
        writable: false,
        color: false,
        local_time: false,
    })
}

/// Feeds the reader's messages to the state until `until` holds or time runs out.
fn pump(
    state: &mut State,
    rx: &mpsc::Receiver<Loaded>,
    cache: &fleche::Cache,
    until: impl Fn(&State) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !until(state) && Instant::now() < deadline {
        if let Ok(msg) = rx.recv_timeout(Duration::from_millis(100)) {
            state.update(Action::Loaded(msg), cache);
        }
    }
    state.update(Action::Tick, cache);
}

#[test]
fn reader_loads_calls_and_sees_another_process_add_some() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    write_cache(&path);
    let before = std::fs::read(&path).unwrap();

    let cache = open::open(&path, false).unwrap();
    let (tx, rx) = mpsc::channel();
    let (_req_tx, req_rx) = mpsc::channel::<Request>();
    let reader = cache.clone();
    std::thread::spawn(move || loader::run(reader, tx, req_rx));
    let mut st = state();
    // Records first, then the argument values' summaries.
    pump(&mut st, &rx, &cache, |s| {
        let (done, all) = s.calls.summary_progress();
        s.loading.done && done == all
    });
    assert_eq!(st.calls.len(), 3);
    assert_eq!(st.count_text(), "3 calls");
    st.set_filter("arg:x=100");
    assert_eq!(st.table.view.len(), 1);
    st.set_filter("tag:project=tui-tests fn:spectrum");
    assert_eq!(st.table.view.len(), 1);

    // The big result opens lazily: the root shows its size and a first page.
    st.update(Action::Open, &cache);
    st.update(Action::Right, &cache);
    let view = st.call.as_ref().unwrap();
    let result = view.tree.rows()[view.selected];
    assert!(
        view.tree.describe(result, 80).contains("2 fields"),
        "{}",
        view.tree.describe(result, 80)
    );
    st.update(Action::Back, &cache);
    st.set_filter("");
    // Browsing never changed the file.
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Another process adds calls while the reader runs; they appear.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
        .env("FLECHE_TUI_TEST_WRITER", &path)
        .status()
        .unwrap();
    assert!(status.success());
    pump(&mut st, &rx, &cache, |s| s.calls.len() == 8);
    assert_eq!(st.calls.len(), 8, "{}", st.count_text());
    st.set_filter("fn:square");
    assert_eq!(st.table.view.len(), 7);
}

/// Run by the test above as a second process: adds five calls to the cache it names.
#[test]
fn writer_child() {
    let Some(path) = std::env::var_os("FLECHE_TUI_TEST_WRITER") else {
        return;
    };
    let cache = fleche::Cache::open(PathBuf::from(path)).unwrap();
    let _active = cache.activate();
    for x in 10..15 {
        square(x);
    }
}

#[test]
fn deleting_the_shown_calls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    write_cache(&path);
    let keys: Vec<fleche::Digest> = fleche::Cache::open_read_only(&path)
        .unwrap()
        .query()
        .name("square")
        .keys()
        .unwrap();
    assert_eq!(keys.len(), 2);

    // Read-only: nothing changes.
    let read_only = open::open(&path, false).unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(open::delete(&read_only, &keys).starts_with("nothing deleted: "));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    drop(read_only);

    let cache = open::open(&path, true).unwrap();
    assert_eq!(open::delete(&cache, &keys), "deleted 2 calls");
    assert_eq!(cache.len().unwrap(), 1);
    assert_eq!(
        open::delete(&cache, &keys),
        "deleted 0 of 2 calls (the rest were gone already)"
    );
}

fn message(path: &Path, writable: bool) -> String {
    let err = open::open(path, writable).expect_err("should not open");
    let mut err = err.replace(&path.display().to_string(), "[PATH]");
    if let Ok(canonical) = path.canonicalize() {
        err = err.replace(&canonical.display().to_string(), "[PATH]");
    }
    err
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.redb");
    insta::assert_snapshot!("error_missing", message(&path, false));
    assert!(!path.exists());
}

#[test]
fn not_a_redb_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "just some text, not a database\n".repeat(200)).unwrap();
    let before = std::fs::read(&path).unwrap();
    insta::assert_snapshot!("error_not_redb", message(&path, false));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn redb_file_without_fleche_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    drop(redb::Database::create(&path).unwrap());
    insta::assert_snapshot!("error_not_fleche", message(&path, false));
}

#[test]
fn a_directory() {
    let dir = tempfile::tempdir().unwrap();
    insta::assert_snapshot!("error_directory", message(dir.path(), false));
}

#[test]
fn locked_in_another_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    write_cache(&path);
    // A program holding the file in redb's default (exclusive) mode.
    let held = redb::Database::open(&path).unwrap();
    insta::assert_snapshot!("error_locked", message(&path, false));
    drop(held);
    assert!(open::open(&path, false).is_ok());
}

#[test]
fn needs_repair_after_a_crashed_writer() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.redb");
    let crashed = dir.path().join("crashed.redb");
    // A copy taken while a writer holds the file is what a crash leaves behind.
    let cache = fleche::Cache::open(&live).unwrap();
    cache.put_value(&1u8).unwrap();
    std::fs::copy(&live, &crashed).unwrap();
    drop(cache);
    let before = std::fs::read(&crashed).unwrap();
    insta::assert_snapshot!("error_needs_repair", message(&crashed, false));
    assert_eq!(
        std::fs::read(&crashed).unwrap(),
        before,
        "read-only open changed the file"
    );
    // --write repairs it.
    assert!(open::open(&crashed, true).is_ok());
}

#[test]
fn memory_default_is_explained() {
    insta::assert_snapshot!(
        "error_memory_default",
        open::memory_default("no fleche.toml found and FLECHE_CACHE is not set")
    );
}
