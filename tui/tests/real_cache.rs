//! Against real cache files: the background reader loads what `#[fleche]` stored, sees calls
//! another process adds while it runs, and every way a file can fail to open gives a message
//! (snapshot-tested) without changing the file.

use std::path::{Path, PathBuf};

use redb::ReadableTable;
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
    fleche_tui::testing::state("test")
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

    let (mut st, cache, rx) = browse(&path);
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

/// Records the model of a (pretend) GPU: a collector of the user's own.
struct Gpu;

impl fleche::meta::Collector for Gpu {
    type Before = std::collections::BTreeMap<&'static str, &'static str>;
    type After = ();
    fn name(&self) -> &str {
        "gpu"
    }
    fn before(&self) -> fleche::meta::CollectResult<Self::Before> {
        Ok([("model", "A100")].into())
    }
    fn after(&self, _: &Self::Before) -> fleche::meta::CollectResult<()> {
        Ok(())
    }
}

#[fleche(meta = [Gpu])]
fn on_gpu(x: i64) -> i64 {
    x + 1
}

#[test]
fn the_call_view_shows_resources_and_namespaces_and_typed_tags_filter_by_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    {
        let cache = fleche::Cache::open(&path).unwrap();
        let _active = cache.activate();
        {
            let _t = fleche::tags!(temperature = 300, relaxed = true);
            on_gpu(1);
        }
        let _t = fleche::tags!(temperature = "301");
        on_gpu(2);
    }
    let (mut st, cache, _rx) = browse(&path);
    assert_eq!(st.calls.len(), 2);
    let texts: Vec<String> = st
        .calls
        .rows
        .iter()
        .map(|r| st.calls.tags_text(r))
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("temperature=301")),
        "{texts:?}"
    );
    st.set_filter("tag:temperature=301");
    assert_eq!(st.table.view.len(), 1);
    st.set_filter("tag:relaxed=true");
    assert_eq!(st.table.view.len(), 1);
    st.set_filter("tag:temperature=300");
    assert_eq!(st.table.view.len(), 1);
    st.update(Action::Open, &cache);
    let lines = opened_lines(&st);
    let text = lines.join("\n");
    for wanted in [
        "cpu user",
        "cpu system",
        "peak memory",
        "gpu",
        "model",
        "A100",
    ] {
        assert!(text.contains(wanted), "{wanted} missing from:\n{text}");
    }
    let wall = lines.iter().position(|l| l.contains("wall time")).unwrap();
    assert!(lines[wall + 1].contains("cpu user"), "{text}");
}

/// Run by `reader_loads_calls_and_sees_another_process_add_some` as a second process: adds
/// five calls to the cache it names.
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
    let read_only = open::open(&path, false).unwrap().cache;
    let before = std::fs::read(&path).unwrap();
    assert!(open::delete(&read_only, &keys).starts_with("nothing deleted: "));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    drop(read_only);

    let cache = open::open(&path, true).unwrap().cache;
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

/// A cache file left needing repair the way a crash leaves it: a writer process stores
/// calls, then is killed (SIGKILL) while it holds the file open.
fn killed_writer(path: &Path) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "holder_child", "--nocapture", "--test-threads=1"])
        .env("FLECHE_TUI_TEST_HOLDER", path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    // The test harness prints its own words before the line, not after.
    let ready = out
        .lines()
        .map_while(Result::ok)
        .any(|l| l.ends_with("ready"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ready, "the writer never got ready");
    match fleche::Cache::open_read_only(path) {
        Err(fleche::Error::NeedsRepair { .. }) => {}
        other => panic!("the killed writer left no repair to do: {other:?}"),
    }
}

/// Run by [`killed_writer`] as a second process: stores calls, then holds the cache open
/// until it is killed.
#[test]
fn holder_child() {
    let Some(path) = std::env::var_os("FLECHE_TUI_TEST_HOLDER") else {
        return;
    };
    write_cache(Path::new(&path));
    let cache = fleche::Cache::open(PathBuf::from(path)).unwrap();
    cache.flush().unwrap();
    println!("ready");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_file_needing_repair_shows_from_a_repaired_copy_and_stays_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    killed_writer(&path);
    let before = std::fs::read(&path).unwrap();

    let opened = open::open(&path, false).unwrap();
    assert!(opened.copy);
    let note = opened.note.clone().unwrap();
    assert!(
        note.starts_with("showing a repaired copy: ")
            && note.contains("it is repaired the next time a program opens it for writing"),
        "{note}"
    );
    drop(opened);
    let (st, _cache, _rx) = browse(&path);
    assert!(st.loading.done && st.loading.error.is_none());
    assert_eq!(st.calls.len(), 3, "{}", st.count_text());
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    assert!(matches!(
        fleche::Cache::open_read_only(&path),
        Err(fleche::Error::NeedsRepair { .. })
    ));

    // The browser says so in its title.
    let mut shown = State::new(Options {
        source: path.display().to_string(),
        writable: false,
        color: false,
        local_time: false,
        copy: true,
    });
    shown.update(Action::Resize(140, 10), &fleche::Cache::memory());
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 10)).unwrap();
    terminal
        .draw(|f| fleche_tui::ui::render(&shown, f))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("(read-only, a repaired copy: the file needs repair)"),
        "{screen}"
    );
}

#[test]
fn write_repairs_a_file_needing_repair_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    killed_writer(&path);
    let opened = open::open(&path, true).unwrap();
    assert!(!opened.copy);
    let note = opened.note.clone().unwrap_or_default();
    assert!(note.starts_with("repaired "), "{note}");
    drop(opened);
    let repaired = fleche::Cache::open_read_only(&path).unwrap();
    assert_eq!(repaired.len().unwrap(), 3);
    // A clean file opens with nothing to say.
    drop(repaired);
    assert_eq!(open::open(&path, true).unwrap().note, None);
}

#[test]
fn the_binary_with_write_repairs_and_leaves_a_clean_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    killed_writer(&path);
    // Without a terminal the browser stops after opening the file and starting its reader:
    // the repair is done, and the reader's handle must be closed before the process ends.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleche-tui"))
        .arg("--write")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fleche-tui: repaired "), "{stderr}");
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    let cache = fleche::Cache::open_read_only(&path)
        .unwrap_or_else(|e| panic!("fleche-tui --write left the file unusable: {e}"));
    assert_eq!(cache.len().unwrap(), 3);
}

#[test]
fn memory_default_is_explained() {
    insta::assert_snapshot!(
        "error_memory_default",
        open::memory_default("no fleche.toml found and FLECHE_CACHE is not set")
    );
}

/// Starts the background reader on the file at `path`, read-only, and feeds it to a state
/// until the first load is over and argument values are summarised.
fn browse(path: &Path) -> (State, fleche::Cache, mpsc::Receiver<Loaded>) {
    browse_until(path, |s| {
        let (done, all) = s.calls.summary_progress();
        s.loading.done && done == all
    })
}

/// Starts the background reader on the file at `path`, read-only, and feeds it to a state
/// until `until` holds.
fn browse_until(
    path: &Path,
    until: impl Fn(&State) -> bool,
) -> (State, fleche::Cache, mpsc::Receiver<Loaded>) {
    let cache = open::open(path, false).unwrap().cache;
    let (tx, rx) = loader::channel();
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    let reader = cache.clone();
    std::thread::spawn(move || {
        let _keep = req_tx;
        loader::run(reader, tx, req_rx)
    });
    let mut st = state();
    pump(&mut st, &rx, &cache, until);
    (st, cache, rx)
}

type RedbKey = [u8; 32];
/// call key -> (checksum, encoded record), as fleche stores it (formats 6 and 7).
const CALLS: redb::TableDefinition<'_, RedbKey, (u64, &[u8])> = redb::TableDefinition::new("calls");

#[test]
fn damaged_records_show_as_rows_of_their_own_beside_every_readable_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    write_cache(&path);
    let squares: Vec<fleche::Digest> = fleche::Cache::open_read_only(&path)
        .unwrap()
        .query()
        .name("square")
        .keys()
        .unwrap();
    let damaged = squares[0];
    // Garbage in place of one record's bytes, written past fleche.
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut calls = txn.open_table(CALLS).unwrap();
            let (sum, _) = calls.get(damaged.as_bytes()).unwrap().unwrap().value();
            // The stored checksum no longer matches: fleche finds it damaged.
            calls
                .insert(damaged.as_bytes(), (sum, &b"\xff\xfe not a record"[..]))
                .unwrap();
        }
        txn.commit().unwrap();
    }

    let (mut st, _cache, _rx) = browse(&path);
    assert!(st.loading.done && st.loading.error.is_none());
    assert_eq!(st.calls.len(), 3, "{}", st.count_text());
    assert_eq!(st.calls.unreadable(), 1);
    assert_eq!(st.count_text(), "3 calls · 1 unreadable");
    st.set_filter("fn:square");
    assert_eq!(st.table.view.len(), 1, "the readable square call shows");
    st.set_filter("fn:spectrum");
    assert_eq!(st.table.view.len(), 1);
    st.set_filter("unreadable");
    assert_eq!(st.table.view.len(), 1);
    let row = &st.calls.rows[st.table.view[0] as usize];
    assert_eq!(row.key, damaged);
    assert!(
        st.calls.text(row.name).starts_with("unreadable record: "),
        "{}",
        st.calls.text(row.name)
    );
}

/// Replaces table `name` of the cache at `path` with one of another type.
fn retype_table(path: &Path, name: &str) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    let wrong: redb::TableDefinition<'_, u64, u64> = redb::TableDefinition::new(name);
    txn.delete_table(wrong).unwrap();
    txn.open_table(wrong).unwrap().insert(1, 2).unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_time_index_of_the_wrong_type_ends_loading_with_an_error_and_shows_the_calls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    write_cache(&path);
    retype_table(&path, "calls_by_time");
    let (st, _cache, _rx) = browse(&path);
    assert!(st.loading.done, "loading never ended");
    let error = st.loading.error.clone().unwrap_or_default();
    assert!(error.contains("calls_by_time"), "{error}");
    assert_eq!(st.calls.len(), 3, "{}", st.count_text());
    assert!(
        st.table
            .status(&st.calls, &st.loading)
            .contains("reading failed: ")
    );
}

#[test]
fn a_calls_table_of_the_wrong_type_is_an_error_not_an_endless_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    write_cache(&path);
    retype_table(&path, "calls");
    // Opening checks the calls table, so the browser stops before it starts, with a message
    // (and exit status 2); were the table to change under a running browser, loading would
    // end with the error instead.
    match open::open(&path, false) {
        Err(message) => assert!(message.contains("calls has key type u64"), "{message}"),
        Ok(_) => {
            let (st, _cache, _rx) = browse(&path);
            assert!(st.loading.done, "loading never ended");
            let error = st.loading.error.clone().unwrap_or_default();
            assert!(error.contains("calls"), "{error}");
            assert!(
                st.loading
                    .empty_table(true)
                    .starts_with("no call could be read: ")
            );
        }
    }
}

/// Writes `n` calls of one function straight into the file, each with its own argument
/// value, started a millisecond apart from 2026-01-01.
fn write_many(path: &Path, n: i64) {
    use chrono::TimeZone;
    let cache = fleche::Cache::open(path).unwrap();
    let t0 = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let values: Vec<_> = (0..n)
        .map(|i| (fleche::digest(&i), fleche::codec::encode(&i).unwrap()))
        .collect();
    let records: Vec<_> = (0..n).map(|i| call_of("many", t0, i)).collect();
    cache.insert_records(&records, &values).unwrap();
}

/// Call `i` of function `name` (key and record): argument `x` = `i`, result the same, started
/// `i` milliseconds after `t0`, tagged `run` = `i % 7`.
fn call_of(
    name: &str,
    t0: chrono::DateTime<chrono::Utc>,
    i: i64,
) -> (fleche::Digest, fleche::CallRecord) {
    let xd = fleche::digest(&i);
    let start = t0 + chrono::Duration::milliseconds(i);
    let record = fleche::CallRecord {
        name: name.into(),
        module: "tests".into(),
        version: None,
        code: None,
        arguments: vec![("x".into(), xd)],
        argument_keys: Vec::new(),
        result: xd,
        result_type: "i64".into(),
        result_size: 9,
        metadata: fleche::Metadata {
            timestart: start,
            timestop: start,
            walltime: 0.001,
            tags: [("run".to_owned(), (i % 7).into())].into_iter().collect(),
            ..Default::default()
        },
    };
    (fleche::digest(&(name, i)), record)
}

#[test]
fn calls_added_while_the_reader_loads_appear_once_with_every_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    // Several batches: the newest by time, then the rest in key order.
    let n = (loader::NEWEST + 3 * loader::CHUNK) as i64;
    write_many(&path, n);
    // Part of the file is loaded when another process adds two calls, newer than any.
    let (mut st, cache, rx) = browse_until(&path, |s| !s.calls.is_empty());
    assert!(
        !st.loading.done,
        "the load was over before calls were added"
    );
    {
        let writer = fleche::Cache::open(&path).unwrap();
        let _active = writer.activate();
        square(7);
        square(8);
    }
    let all = n as usize + 2;
    let deadline = Instant::now() + Duration::from_secs(30);
    while st.calls.len() < all || !st.loading.done || {
        let (done, all) = st.calls.summary_progress();
        done < all
    } {
        assert!(
            Instant::now() < deadline,
            "{} of {all} calls",
            st.calls.len()
        );
        if let Ok(msg) = rx.recv_timeout(Duration::from_millis(100)) {
            st.update(Action::Loaded(msg), &cache);
        }
    }
    st.update(Action::Tick, &cache);
    // Each once: as many rows as calls, and as many shown.
    assert_eq!(st.calls.len(), all);
    assert_eq!(st.table.view.len(), all);
    let keys: std::collections::HashSet<_> = st.calls.rows.iter().map(|r| r.key).collect();
    assert_eq!(keys.len(), all);
    // Every argument value summarised (the writer's 7 and 8 are values `many` took too).
    let (done, of) = st.calls.summary_progress();
    assert_eq!((done, of), (n as usize, n as usize));
    st.set_filter("arg:x=8");
    assert_eq!(st.table.view.len(), 2, "many(8) and square(8)");
    st.set_filter(&format!("arg:x={}", n - 1));
    assert_eq!(st.table.view.len(), 1);
}

/// Calls like those of `write_many`, of function `backdated`, started before any it wrote.
fn backdated(range: std::ops::Range<i64>) -> Vec<(fleche::Digest, fleche::CallRecord)> {
    use chrono::TimeZone;
    let t0 = chrono::Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    range.map(|i| call_of("backdated", t0, i)).collect()
}

#[test]
fn calls_another_process_deletes_go_and_backdated_ones_come_after_a_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    let n = 3_000;
    write_many(&path, n);
    let (mut st, cache, rx) = browse(&path);
    assert_eq!(st.calls.len(), n as usize);
    // Another process deletes some calls, and adds some that started before any loaded (the
    // time index shows nothing newer: only the count says the cache changed).
    let gone: Vec<fleche::Digest> = (0..n)
        .step_by(7)
        .map(|i| fleche::digest(&("many", i)))
        .collect();
    let added = backdated(0..40);
    {
        let writer = fleche::Cache::open(&path).unwrap();
        writer.insert_records(&added, &[]).unwrap();
        assert_eq!(
            open::delete(&writer, &gone),
            format!("deleted {} calls", gone.len())
        );
    }
    let stored: std::collections::BTreeSet<fleche::Digest> = fleche::Cache::open_read_only(&path)
        .unwrap()
        .keys_newest_first()
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(stored.len(), n as usize - gone.len() + added.len());
    let held = |s: &State| -> std::collections::BTreeSet<fleche::Digest> {
        s.calls.rows.iter().map(|r| r.key).collect()
    };
    pump(&mut st, &rx, &cache, |s| held(s) == stored);
    assert_eq!(held(&st), stored);
    assert_eq!(st.calls.len(), stored.len(), "each call once");
    assert_eq!(st.table.view.len(), stored.len());
    st.set_filter("fn:backdated");
    assert_eq!(st.table.view.len(), added.len());
    // The reader keeps up after: one more call, deleted again.
    let more = backdated(40..41);
    fleche::Cache::open(&path)
        .unwrap()
        .insert_records(&more, &[])
        .unwrap();
    pump(&mut st, &rx, &cache, |s| s.calls.contains(&more[0].0));
    assert!(st.calls.contains(&more[0].0));
    open::delete(&fleche::Cache::open(&path).unwrap(), &[more[0].0]);
    pump(&mut st, &rx, &cache, |s| !s.calls.contains(&more[0].0));
    assert_eq!(held(&st), stored);
}

/// The tree of the opened call, as `label: text` lines.
fn opened_lines(st: &State) -> Vec<String> {
    let view = st.call.as_ref().expect("a call is open");
    view.tree
        .rows()
        .iter()
        .map(|&id| {
            format!(
                "{}: {}",
                view.tree.node(id).label,
                view.tree.describe(id, 200)
            )
        })
        .collect()
}

#[test]
fn an_opened_call_shows_its_record_read_again_and_says_when_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.redb");
    write_cache(&path);
    let (mut st, cache, _rx) = browse(&path);
    st.set_filter("fn:spectrum");
    st.update(Action::Open, &cache);
    let key = st.call.as_ref().unwrap().key;
    let record = fleche::Cache::open_read_only(&path)
        .unwrap()
        .records_of(&[key])
        .unwrap()
        .remove(0)
        .record
        .unwrap();
    let view = st.call.as_ref().unwrap();
    let result = view.tree.rows()[view.selected];
    assert_eq!(view.tree.node(result).label, "result");
    assert_eq!(view.tree.digest(result), Some(record.result));
    let lines = opened_lines(&st);
    let stopped = format!(
        "stopped: {}",
        fleche_tui::times::time(record.metadata.timestop, false)
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&stopped)),
        "{stopped} not in {lines:#?}"
    );
    // The row keeps only CPU user + system; the view shows each, from the record.
    let resources = record.metadata.resources.as_ref().unwrap();
    let user = fleche_tui::times::wall(resources.cpu_user.unwrap());
    assert!(lines.contains(&format!("cpu user: {user}")), "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.starts_with("record:")),
        "{lines:#?}"
    );
    st.update(Action::Back, &cache);

    // Deleted by another process before the reader noticed: the view says so.
    let writer = open::open(&path, true).unwrap().cache;
    assert_eq!(open::delete(&writer, &[key]), "deleted 1 call");
    drop(writer);
    st.update(Action::Open, &cache);
    let lines = opened_lines(&st);
    assert!(
        lines.contains(&"record: no longer in the cache".to_owned()),
        "{lines:#?}"
    );
    let result = lines.iter().find(|l| l.starts_with("result:")).unwrap();
    assert!(result.contains("no longer in the cache"), "{result}");
}
