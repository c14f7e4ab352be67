//! The browser on a stack of real cache files: the union of the layers, newest first, each
//! row naming its layer; values read from whichever layer holds them; a missing or damaged
//! read-only layer left out with a warning on the screen; deleting from the writable layers
//! only, saying what stays.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fleche::config::{CacheSpec, LayerSpec};
use fleche::fleche;
use fleche_tui::app::{Action, Options, State};
use fleche_tui::loader::{self, Loaded, Request};
use fleche_tui::open;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche]
fn label(n: u32) -> String {
    format!("label {n}")
}

/// `local.redb` with square(1..=3), and a teammate's `team.redb` (made first) with
/// square(3..=5) and label(7).
fn files(dir: &Path) {
    let team = fleche::Cache::open(dir.join("team.redb")).unwrap();
    {
        let _active = team.activate();
        let _tags = fleche::tags!(owner = "team");
        for x in 3..=5 {
            square(x);
        }
        label(7);
    }
    team.flush().unwrap();
    drop(team);
    std::thread::sleep(Duration::from_millis(5));
    let local = fleche::Cache::open(dir.join("local.redb")).unwrap();
    {
        let _active = local.activate();
        for x in 1..=3 {
            square(x);
        }
    }
    local.flush().unwrap();
}

fn layer(name: &str, path: &Path, read_only: bool) -> LayerSpec {
    LayerSpec {
        name: name.into(),
        spec: CacheSpec::File(path.to_path_buf()),
        read_only,
        max_size: None,
    }
}

fn stack(dir: &Path) -> Vec<LayerSpec> {
    vec![
        layer("local", &dir.join("local.redb"), false),
        layer("team", &dir.join("team.redb"), true),
    ]
}

/// The browser on an opened stack, after its first load and argument summaries.
struct Browser {
    state: State,
    opened: open::Opened,
    rx: mpsc::Receiver<Loaded>,
    requests: mpsc::Sender<Request>,
}

impl Browser {
    fn start(layers: &[LayerSpec], writable: bool) -> Browser {
        let opened = open::open_stack(layers, writable).unwrap();
        let (tx, rx) = loader::channel();
        let (requests, req_rx) = mpsc::channel::<Request>();
        let reader = opened.cache.clone();
        std::thread::spawn(move || loader::run(reader, tx, req_rx));
        let mut state = State::new(Options {
            source: "stack".into(),
            writable,
            color: false,
            local_time: false,
            copy: false,
        });
        state.calls.layers = opened
            .cache
            .layer_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        for w in &opened.warnings {
            state.loading.warn(w.clone());
        }
        state.update(Action::Resize(140, 20), &opened.cache);
        let mut b = Browser {
            state,
            opened,
            rx,
            requests,
        };
        b.pump(|s| {
            let (done, all) = s.calls.summary_progress();
            s.loading.done && done == all
        });
        b
    }

    fn pump(&mut self, until: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !until(&self.state) && Instant::now() < deadline {
            if let Ok(msg) = self.rx.recv_timeout(Duration::from_millis(100)) {
                self.state.update(Action::Loaded(msg), &self.opened.cache);
            }
        }
        self.state.update(Action::Tick, &self.opened.cache);
    }

    fn screen(&self) -> String {
        let mut terminal = Terminal::new(TestBackend::new(140, 20)).unwrap();
        terminal
            .draw(|f| fleche_tui::ui::render(&self.state, f))
            .unwrap();
        terminal.backend().to_string()
    }

    /// `(function, layer)` of the rows shown, top to bottom.
    fn rows(&self) -> Vec<(String, String)> {
        let calls = &self.state.calls;
        self.state
            .table
            .view
            .iter()
            .map(|&r| {
                let row = &calls.rows[r as usize];
                let args: Vec<&str> = calls
                    .args_of(row)
                    .iter()
                    .map(|&a| calls.arg_summary(a).map_or("?", |s| calls.text(s)))
                    .collect();
                (
                    format!("{}({})", calls.text(row.name), args.join(",")),
                    calls.layer_name(row).to_owned(),
                )
            })
            .collect()
    }
}

fn owned(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn a_stack_shows_the_union_newest_first_with_each_rows_layer() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let team_before = std::fs::read(dir.path().join("team.redb")).unwrap();
    let mut b = Browser::start(&stack(dir.path()), false);

    assert_eq!(b.state.count_text(), "6 calls");
    // square(3) is in both files: once, from the upper one.
    assert_eq!(
        b.rows(),
        owned(&[
            ("square(3)", "local"),
            ("square(2)", "local"),
            ("square(1)", "local"),
            ("label(7)", "team"),
            ("square(5)", "team"),
            ("square(4)", "team"),
        ])
    );

    // The layer is a column of its own.
    let screen = b.screen();
    let header = screen.lines().nth(1).unwrap();
    assert!(header.contains("key      layer    function"), "{header}");
    // The calls recorded CPU time (the default `resources` collector): a column after wall.
    assert!(header.contains("wall     cpu "), "{header}");
    assert!(screen.contains("team"), "{screen}");
    b.state.set_filter("tag:owner=team");
    assert_eq!(
        b.state.table.view.len(),
        3,
        "square(3) shows from local, untagged"
    );

    // A value only the teammate's file holds opens from there.
    b.state.set_filter("fn:label");
    b.state.update(Action::Open, &b.opened.cache);
    b.state.update(Action::Open, &b.opened.cache);
    let screen = b.screen();
    assert!(screen.contains("layer: team"), "{screen}");
    let selected_label = |st: &State| {
        let view = st.call.as_ref().unwrap();
        view.tree
            .node(view.tree.rows()[view.selected])
            .label
            .clone()
    };
    for _ in 0..30 {
        if selected_label(&b.state) == "result" {
            break;
        }
        b.state.update(Action::Move(1), &b.opened.cache);
    }
    assert_eq!(selected_label(&b.state), "result");
    b.state.update(Action::Open, &b.opened.cache);
    let screen = b.screen();
    assert!(screen.contains("label 7"), "{screen}");

    drop(b);
    assert_eq!(
        std::fs::read(dir.path().join("team.redb")).unwrap(),
        team_before,
        "a read-only layer is never written"
    );
}

#[test]
fn a_missing_or_damaged_read_only_layer_is_left_out_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    std::fs::write(dir.path().join("garbage.redb"), b"not a cache at all").unwrap();
    let mut layers = stack(dir.path());
    layers.push(layer("gone", &dir.path().join("gone.redb"), true));
    layers.push(layer("garbage", &dir.path().join("garbage.redb"), true));
    let b = Browser::start(&layers, false);
    assert_eq!(b.state.calls.len(), 6);
    let warnings = &b.state.loading.warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("cache layer `gone`"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("no cache file at"), "{}", warnings[0]);
    assert!(
        warnings[1].starts_with("cache layer `garbage`"),
        "{}",
        warnings[1]
    );
    let screen = b.screen();
    assert!(screen.contains("cache layer `gone`"), "{screen}");
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
fn a_layer_that_fails_while_browsing_is_left_out_and_said() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    // It opens, but its time index cannot be read.
    retype_table(&dir.path().join("team.redb"), "calls_by_time");
    let b = Browser::start(&stack(dir.path()), false);
    assert!(b.state.loading.done);
    assert!(
        b.state.loading.error.is_none(),
        "{:?}",
        b.state.loading.error
    );
    let warnings = &b.state.loading.warnings;
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("cache layer `team`") && w.contains("calls_by_time")),
        "{warnings:?}"
    );
    // Its records are still read in key order.
    assert_eq!(b.state.calls.len(), 6);
}

#[test]
fn deleting_on_a_stack_deletes_from_the_writable_layers_and_says_what_stays() {
    let dir = tempfile::tempdir().unwrap();
    files(dir.path());
    let team_before = std::fs::read(dir.path().join("team.redb")).unwrap();
    let mut b = Browser::start(&stack(dir.path()), true);
    b.state.set_filter("fn:square");
    let keys: Vec<fleche::Digest> = [1, 3, 5].map(square::digest).to_vec();
    let message = open::delete(&b.opened.cache, &keys);
    assert_eq!(
        message,
        "deleted 2 of 3 calls from the writable layers; 2 stay in read-only layer `team`: \
         not deleted there"
    );
    let local = fleche::Cache::open_read_only(dir.path().join("local.redb")).unwrap();
    assert!(!local.contains(&keys[0]).unwrap());
    assert!(!local.contains(&keys[1]).unwrap());
    assert!(local.contains(&square::digest(2)).unwrap());
    drop(local);

    // After a rescan square(3) shows from the teammate's file; square(1) is gone.
    b.state.update(
        Action::Loaded(Loaded::Removed(keys.clone())),
        &b.opened.cache,
    );
    b.requests.send(Request::Deleted(keys.clone())).unwrap();
    b.pump(|s| s.calls.len() == 5);
    let rows = b.rows();
    assert!(
        rows.contains(&("square(3)".into(), "team".into())),
        "{rows:?}"
    );
    assert!(!rows.iter().any(|(f, _)| f == "square(1)"), "{rows:?}");
    drop(b);
    assert_eq!(
        std::fs::read(dir.path().join("team.redb")).unwrap(),
        team_before
    );
}
