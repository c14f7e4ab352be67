//! Proves that the browser scales: builds a cache of 1,000,000 calls under `target/` (once;
//! later runs reuse it), then opens it the way `fleche-tui` does (read-only, the background
//! reader, the same update and draw loop on a `TestBackend`) and measures:
//!
//! - open + first screen: from opening the file to the first frame that shows calls;
//! - scrolling: PageDown x 100 while the rest loads, and again after, time per frame;
//! - time until every record is loaded and sorted;
//! - filter keystrokes, and sorting by another column;
//! - memory (resident, and its peak) once loading is done, and at the end.
//!
//! Run: `cargo run --release -p fleche-tui --example open_large [-- CALLS]`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use fleche::record::{CallRecord, Metadata};
use fleche::{Cache, Digest};
use fleche_tui::app::{Action, Options, State};
use fleche_tui::calls::Column;
use fleche_tui::loader::{self, Loaded, Request};
use fleche_tui::testing::{FUNCTIONS, MODULES, PROJECTS, memory};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;
/// How often the binary's loop ticks (merges what arrived), and how long per frame it
/// spends on the reader's messages, as in `main.rs`.
const TICK: Duration = Duration::from_millis(250);
const MESSAGE_BUDGET: Duration = Duration::from_millis(8);

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |n| n.parse().expect("CALLS is a number"));
    let path = target_dir()
        .join("fleche-tui-large")
        .join(format!("{calls}.redb"));
    if path.exists() {
        println!("reusing {}", path.display());
    } else {
        build(&path, calls);
    }
    measure(&path);
}

/// The `target` directory this example was built into.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the example's path");
    // target/<profile>/examples/open_large
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
}

/// Writes `n` calls of a few dozen functions with tags and distinct argument values, in
/// commits of 50,000 (to a temporary name, so an interrupted build is never reused).
fn build(path: &Path, n: usize) {
    let started = Instant::now();
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the folder");
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let cache = Cache::open(&partial).expect("create the cache");
    let t0 = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let labels: Vec<(Digest, Vec<u8>)> = (0..50)
        .map(|i| {
            let label = format!("sample-{i:02}");
            (
                fleche::digest(&label),
                fleche::codec::encode(&label).unwrap(),
            )
        })
        .collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for chunk in (0..n).collect::<Vec<_>>().chunks(50_000) {
        let mut values = labels.clone();
        let records: Vec<(Digest, CallRecord)> = chunk
            .iter()
            .map(|&i| {
                let r = next();
                let x = i as i64;
                let result = (x as f64).sqrt();
                let (xd, rd) = (fleche::digest(&x), fleche::digest(&result));
                values.push((xd, fleche::codec::encode(&x).unwrap()));
                values.push((rd, fleche::codec::encode(&result).unwrap()));
                let mut arguments = vec![("x".to_owned(), xd)];
                if r & 1 == 0 {
                    arguments.push(("label".to_owned(), labels[(r >> 1) as usize % 50].0));
                }
                let mut tags = std::collections::BTreeMap::new();
                tags.insert("project".to_owned(), PROJECTS[(r >> 8) as usize % 5].into());
                if r & (1 << 20) != 0 {
                    tags.insert("run".to_owned(), (i / 1000).to_string().into());
                }
                let start = t0 + chrono::Duration::milliseconds(i as i64);
                let wall = (r >> 32) as f64 / u32::MAX as f64 * 10.0;
                let record = CallRecord {
                    name: FUNCTIONS[(r >> 4) as usize % FUNCTIONS.len()].to_owned(),
                    module: MODULES[(r >> 12) as usize % MODULES.len()].to_owned(),
                    version: None,
                    code: None,
                    arguments,
                    argument_keys: Vec::new(),
                    result: rd,
                    result_type: "f64".to_owned(),
                    result_size: 9,
                    metadata: Metadata {
                        timestart: start,
                        timestop: start + chrono::Duration::microseconds((wall * 1e6) as i64),
                        walltime: wall,
                        tags,
                        ..Default::default()
                    },
                };
                let key = fleche::digest(&("open_large", i));
                (fleche::__private::clustered_key(&record.name, key), record)
            })
            .collect();
        cache
            .insert_records(&records, &values)
            .expect("store the calls");
    }
    drop(cache);
    std::fs::rename(&partial, path).expect("move the cache into place");
    println!(
        "built {} ({n} calls, {:.0} MB) in {:.1?}",
        path.display(),
        std::fs::metadata(path).map_or(0, |m| m.len()) as f64 / 1e6,
        started.elapsed()
    );
}

/// The binary's loop without a terminal: apply the input, take what the reader sent (for at
/// most a budget, then come straight back while more waits), tick when due, draw.
struct Browser {
    state: State,
    terminal: Terminal<TestBackend>,
    cache: Cache,
    rx: mpsc::Receiver<Loaded>,
    last_tick: Instant,
    backlog: bool,
}

impl Browser {
    /// One turn of the loop; how long it took (the longest a key can wait to be drawn).
    fn frame(&mut self, action: Option<Action>) -> Duration {
        let started = Instant::now();
        if let Some(action) = action {
            self.state.update(action, &self.cache);
        }
        self.backlog = self.state.receive(&self.rx, MESSAGE_BUDGET);
        if self.last_tick.elapsed() >= TICK {
            self.state.update(Action::Tick, &self.cache);
            self.last_tick = Instant::now();
        }
        let state = &self.state;
        self.terminal
            .draw(|f| fleche_tui::ui::render(state, f))
            .expect("draw on a test backend");
        started.elapsed()
    }

    /// Waits as the binary does for input before the next turn (a key comes every 16 ms
    /// while the example scrolls).
    fn idle(&self) {
        let tick_left = TICK.saturating_sub(self.last_tick.elapsed());
        let wait = self.state.input_wait(self.backlog, tick_left);
        std::thread::sleep(wait.min(Duration::from_millis(16)));
    }

    /// PageDown `n` times, one frame each; the frame times.
    fn scroll(&mut self, n: usize) -> Vec<Duration> {
        (0..n).map(|_| self.frame(Some(Action::Page(1)))).collect()
    }
}

fn measure(path: &Path) {
    let started = Instant::now();
    let cache = fleche_tui::open::open(path, false)
        .expect("open the cache")
        .cache;
    let (tx, rx) = loader::channel();
    let (_requests, req_rx) = mpsc::channel::<Request>();
    let reader = cache.clone();
    std::thread::spawn(move || loader::run(reader, tx, req_rx));
    let mut state = State::new(Options {
        source: path.display().to_string(),
        writable: false,
        color: true,
        local_time: false,
        copy: false,
    });
    state.update(Action::Resize(WIDTH, HEIGHT), &cache);
    let mut b = Browser {
        state,
        terminal: Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend"),
        cache,
        rx,
        last_tick: Instant::now(),
        backlog: false,
    };
    while b.state.table.view.is_empty() {
        b.frame(None);
        b.idle();
    }
    let first_screen = started.elapsed();
    let shown = b.state.calls.len();
    let memory_first = memory();

    // Scroll while the rest loads, a key every 16 ms (PageDown; back to the top at the
    // bottom), and time every turn of the loop: a key waits at most one turn to be drawn.
    let mut while_loading = Vec::new();
    let mut last_key = Instant::now();
    while !b.state.loading.done {
        let key = (last_key.elapsed() >= Duration::from_millis(16)).then(|| {
            last_key = Instant::now();
            if b.state.table.selected + 1 >= b.state.table.view.len() {
                Action::Top
            } else {
                Action::Page(1)
            }
        });
        while_loading.push(b.frame(key));
        b.idle();
    }
    while b.state.calls.len() < b.state.loading.total.unwrap_or(0) as usize {
        b.frame(None);
        b.idle();
    }
    b.state.update(Action::Tick, &b.cache);
    let all_loaded = started.elapsed();
    let memory_loaded = memory();
    loop {
        let (done, all) = b.state.calls.summary_progress();
        if done == all {
            break;
        }
        b.frame(None);
        b.idle();
    }
    let summarised = started.elapsed();
    b.state.update(Action::Top, &b.cache);
    let after = b.scroll(100);
    let screen = b.terminal.backend().to_string();
    // Typing a filter: each keystroke re-filters every call (and draws), as in the binary.
    let mut keystrokes = Vec::new();
    for query in [
        "r",
        "re",
        "rel",
        "relax",
        "fn:relax tag:project=alloys",
        "arg:x=1234",
        "zzzq",
    ] {
        let started = Instant::now();
        b.state.set_filter(query);
        b.frame(None);
        keystrokes.push((query, started.elapsed(), b.state.table.view.len()));
    }
    b.state.set_filter("");
    // Sorting by another column sorts every call again (in place: no second list).
    let started = Instant::now();
    b.state.update(Action::SortBy(Column::Function), &b.cache);
    b.frame(None);
    let resorted = started.elapsed();
    b.state.update(Action::SortBy(Column::Started), &b.cache);

    println!(
        "{} calls (time index: {}), terminal {WIDTH}x{HEIGHT}",
        b.state.calls.len(),
        b.state.loading.total.unwrap_or(0)
    );
    println!("open + first screen:        {first_screen:>10.1?}  ({shown} calls loaded)");
    println!(
        "loop turns while loading:   {}  ({} turns)",
        stats(&while_loading),
        while_loading.len()
    );
    println!("all records loaded:         {all_loaded:>10.1?}");
    println!("all argument values read:   {summarised:>10.1?}");
    println!("PageDown x100 once loaded:  {}", stats(&after));
    for (query, took, shown) in &keystrokes {
        println!("filter keystroke {query:<28} {took:>10.2?}  ({shown} calls shown)");
    }
    println!("sort by function:           {resorted:>10.1?}");
    println!("memory at the first screen: {memory_first}");
    println!("memory, records loaded:     {memory_loaded}");
    println!("memory, values read, after: {}", memory());
    let parts: Vec<String> = b
        .state
        .calls
        .footprint()
        .iter()
        .map(|(part, bytes)| format!("{part} {:.0} MB", *bytes as f64 / 1e6))
        .collect();
    println!("the calls' parts:           {}", parts.join(", "));
    let last_line = screen.lines().nth(usize::from(HEIGHT) - 2).unwrap_or("");
    println!("status line: {}", last_line.trim_matches('"').trim_end());
}

fn stats(frames: &[Duration]) -> String {
    let mut sorted = frames.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    format!(
        "median {:>8.2?}, p95 {:>8.2?}, max {:>8.2?} per frame",
        at(0.5),
        at(0.95),
        at(1.0)
    )
}
