//! Fixed calls for tests, snapshots, benchmarks and screenshots: the getting-started
//! notebook's calls with fixed times, and a synthetic cache of any size; and the memory and
//! CPU time the measuring examples print.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use fleche::Digest;
use fleche::record::{CallRecord, Metadata};
use serde::Serialize;

use fleche::ValueHead;

use crate::calls::Calls;
use crate::loader::Loaded;
use crate::tree::ValueStore;

/// A browser with no calls loaded, read-only, without colours, in UTC, named `source`.
pub fn state(source: &str) -> crate::app::State {
    crate::app::State::new(crate::app::Options {
        source: source.into(),
        writable: false,
        color: false,
        local_time: false,
        copy: false,
    })
}

/// Values by digest and records by call key, standing in for a cache.
#[derive(Debug, Default, Clone)]
pub struct MemoryValues(
    pub HashMap<Digest, Vec<u8>>,
    pub HashMap<Digest, CallRecord>,
);

impl ValueStore for MemoryValues {
    fn value_head(&self, digest: &Digest, max_bytes: usize) -> Result<Option<ValueHead>, String> {
        Ok(self.0.get(digest).map(|all| head(all, max_bytes)))
    }

    fn record(&self, key: &Digest) -> Result<Option<CallRecord>, String> {
        Ok(self.1.get(key).cloned())
    }
}

/// The first `max_bytes` of a value, as [`fleche::Cache::value_head`] gives them.
pub fn head(all: &[u8], max_bytes: usize) -> ValueHead {
    ValueHead {
        size: all.len() as u64,
        bytes: all[..all.len().min(max_bytes)].to_vec(),
    }
}

/// Values that come out a few bytes at a time: the first read gives at most `step` bytes,
/// each later one four times as many as the one before, so small values exercise the paths
/// of values cut short, and of reading more of them.
#[derive(Debug)]
pub struct Dribble(pub MemoryValues, pub std::cell::Cell<usize>);

impl ValueStore for Dribble {
    fn value_head(&self, digest: &Digest, max_bytes: usize) -> Result<Option<ValueHead>, String> {
        let step = self.1.get();
        self.1.set(step.saturating_mul(4));
        self.0.value_head(digest, max_bytes.min(step))
    }

    fn record(&self, key: &Digest) -> Result<Option<CallRecord>, String> {
        self.0.record(key)
    }
}

/// The start of the fixed clock: 2026-03-14 09:26:53 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, 9, 26, 53).unwrap()
}

/// One argument: name and value.
pub type Arg<'a> = (&'a str, &'a dyn erased::Value);

/// Lets fixtures pass differently typed argument values in one slice.
pub mod erased {
    /// A value that can be encoded and digested.
    pub trait Value {
        /// Encoded bytes.
        fn encode(&self) -> Vec<u8>;
        /// Digest.
        fn digest(&self) -> fleche::Digest;
    }
    impl<T: serde::Serialize> Value for T {
        fn encode(&self) -> Vec<u8> {
            fleche::codec::encode(self).expect("fixture values encode")
        }
        fn digest(&self) -> fleche::Digest {
            fleche::digest(self)
        }
    }
}

/// Builds a call record (and its values) at `t0() + offset` seconds.
#[allow(clippy::too_many_arguments)]
pub fn record<R: Serialize>(
    values: &mut MemoryValues,
    name: &str,
    module: &str,
    args: &[Arg<'_>],
    result: &R,
    result_type: &str,
    offset_ms: i64,
    wall: f64,
    tags: &[(&str, &str)],
) -> (Digest, CallRecord) {
    let mut arguments = Vec::new();
    for (n, v) in args {
        let d = v.digest();
        values.0.insert(d, v.encode());
        arguments.push(((*n).to_owned(), d));
    }
    let bytes = fleche::codec::encode(result).expect("fixture result encodes");
    let rd = fleche::digest(result);
    let size = bytes.len() as u64;
    values.0.insert(rd, bytes);
    let start = t0() + chrono::Duration::milliseconds(offset_ms);
    let key = fleche::digest(&(name, module, &arguments));
    let record = CallRecord {
        name: name.to_owned(),
        module: module.to_owned(),
        version: None,
        code: None,
        arguments,
        argument_keys: Vec::new(),
        result: rd,
        result_type: result_type.to_owned(),
        result_size: size,
        metadata: Metadata {
            timestart: start,
            timestop: start + chrono::Duration::microseconds((wall * 1e6) as i64),
            walltime: wall,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), fleche::TagValue::from(*v)))
                .collect::<BTreeMap<_, _>>(),
            ..Default::default()
        },
    };
    values.1.insert(key, record.clone());
    (key, record)
}

#[derive(Serialize)]
struct MyClass {
    val: i64,
}

#[derive(Serialize)]
struct Fit {
    name: String,
    converged: bool,
    iterations: u32,
    parameters: Vec<f64>,
    residuals: Vec<f32>,
    notes: Option<String>,
}

/// The calls of the getting-started notebook (plus a fit with a nested result), oldest first,
/// with their values.
pub fn notebook() -> (Vec<(Digest, CallRecord)>, MemoryValues) {
    let mut v = MemoryValues::default();
    let m = "__main__";
    let calls = vec![
        record(
            &mut v,
            "long_running_calculation",
            m,
            &[("x", &2i64)],
            &4i64,
            "i64",
            0,
            2.002,
            &[],
        ),
        record(
            &mut v,
            "long_running_calculation",
            m,
            &[("x", &100i64)],
            &10_000i64,
            "i64",
            2_500,
            2.001,
            &[],
        ),
        record(
            &mut v,
            "fib",
            m,
            &[("n", &20u64)],
            &6765u64,
            "u64",
            5_000,
            0.000_412,
            &[],
        ),
        record(
            &mut v,
            "another_calculation",
            m,
            &[("a", &1i64), ("b", &2i64)],
            &3i64,
            "i64",
            7_000,
            1.000_8,
            &[("category", "testing"), ("project", "my_project")],
        ),
        record(
            &mut v,
            "compute",
            m,
            &[("self", &MyClass { val: 10 }), ("x", &5i64)],
            &15i64,
            "i64",
            9_000,
            0.000_021,
            &[],
        ),
    ];
    (calls, v)
}

/// [`notebook`] plus a call with a nested result, for the tree screens.
pub fn notebook_with_fit() -> (Vec<(Digest, CallRecord)>, MemoryValues) {
    let (mut calls, mut v) = notebook();
    let fit = Fit {
        name: "relax Cu fcc".into(),
        converged: true,
        iterations: 42,
        parameters: (0..1000).map(|i| 3.6 + f64::from(i) * 1e-3).collect(),
        residuals: vec![0.5, 0.25, 0.125],
        notes: None,
    };
    calls.push(record(
        &mut v,
        "relax",
        "alloys::dft",
        &[("temperature", &300.0f64), ("structure", &"fcc")],
        &fit,
        "alloys::dft::Fit",
        12_000,
        754.2,
        &[("project", "alloys"), ("stage", "relax")],
    ));
    (calls, v)
}

/// The summary the background reader computes for an argument value.
pub fn summaries(calls: &[(Digest, CallRecord)], values: &MemoryValues) -> Loaded {
    let mut out = Vec::new();
    for (_, r) in calls {
        for (_, d) in &r.arguments {
            let first = head(&values.0[d], crate::loader::SUMMARY_BYTES);
            out.push((*d, crate::loader::argument_summary(&first)));
        }
    }
    Loaded::Summaries(out)
}

/// The notebook's calls as loaded rows, with argument summaries.
pub fn rows() -> Calls {
    let (calls, values) = notebook();
    let mut out = Calls::new();
    for (k, r) in &calls {
        out.add(*k, r);
    }
    if let Loaded::Summaries(s) = summaries(&calls, &values) {
        for (d, text) in s {
            out.add_summary(d, &text);
        }
    }
    out
}

/// Function names of synthetic caches (here and in the `open_large` example).
pub const FUNCTIONS: [&str; 12] = [
    "relax",
    "fit_spectrum",
    "simulate",
    "long_running_calculation",
    "fib",
    "normalize",
    "etl_load",
    "render_plot",
    "train_epoch",
    "evaluate",
    "fetch_page",
    "parse_log",
];
/// Module names of synthetic caches.
pub const MODULES: [&str; 4] = ["__main__", "alloys::dft", "pipeline::etl", "plots"];
/// Values of the `project` tag of synthetic caches.
pub const PROJECTS: [&str; 5] = ["alloys", "spectra", "nightly", "etl", "thesis"];

/// `n` synthetic calls, deterministic: a few functions and modules, tags drawn from small
/// sets, one or two numeric arguments each, with summaries. For benchmarks.
pub fn synthetic(n: usize) -> Calls {
    let mut calls = Calls::new();
    for (key, record, x) in synthetic_records(n) {
        calls.add(key, &record);
        calls.add_summary(record.arguments[0].1, &x.to_string());
    }
    calls
}

/// The records of [`synthetic`] calls, each with its argument's value.
pub fn synthetic_records(n: usize) -> Vec<(Digest, CallRecord, u64)> {
    let mut out = Vec::with_capacity(n);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..n {
        let r = next();
        // The first eight functions only, so benchmark numbers compare with earlier runs.
        let name = FUNCTIONS[(r % 8) as usize];
        let module = MODULES[((r >> 8) % 4) as usize];
        let x = (r >> 16) % 10_000;
        let mut tags = BTreeMap::new();
        tags.insert(
            "project".to_owned(),
            PROJECTS[((r >> 32) % 5) as usize].into(),
        );
        if r & (1 << 40) != 0 {
            tags.insert("run".to_owned(), format!("{}", (r >> 41) % 500).into());
        }
        let xd = fleche::digest(&x);
        let start = t0() + chrono::Duration::seconds(i as i64);
        let record = CallRecord {
            name: name.to_owned(),
            module: module.to_owned(),
            version: None,
            code: None,
            arguments: vec![("x".to_owned(), xd)],
            argument_keys: Vec::new(),
            result: xd,
            result_type: "f64".to_owned(),
            result_size: 9,
            metadata: Metadata {
                timestart: start,
                timestop: start,
                walltime: (r % 1000) as f64 / 100.0,
                tags,
                ..Default::default()
            },
        };
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_le_bytes());
        key[8..16].copy_from_slice(&r.to_le_bytes());
        out.push((Digest::from_bytes(key), record, x));
    }
    out
}

/// Drives the value tree and its drawing over arbitrary bytes taken as a stored result:
/// open it, open everything below, page through "more" rows, copy values and paths, collapse
/// to each level, and draw every page; once read whole, and once read a few bytes at a time
/// (as the first bytes of a larger value are). Then summarises every suffix and prefix of the
/// bytes. Used by the property test and the fuzz target; any panic is a bug.
pub fn exercise_value(bytes: &[u8]) {
    let digest = Digest::from_bytes([7; 32]);
    let mut values = MemoryValues::default();
    values.0.insert(digest, bytes.to_vec());
    let mut record = notebook().0.remove(0).1;
    record.result = digest;
    record.result_size = bytes.len() as u64;
    values.1.insert(digest, record);
    drive_tree(digest, &values);
    let step = (bytes.len() / 3).max(1);
    drive_tree(digest, &Dribble(values, std::cell::Cell::new(step)));

    use fleche::codec::Prefix;
    for at in 0..bytes.len().min(64) {
        for more in [false, true] {
            if let Ok(item) = Prefix::read(&bytes[at..], more) {
                let s = crate::value::summary(&item, 50);
                assert!(s.chars().count() <= 50, "summary too long: {s}");
            }
        }
    }
    for cut in [1, 2, 3, 5, 9, 17, 64, 300] {
        let first = head(bytes, cut);
        let s = crate::loader::argument_summary(&first);
        assert!(s.chars().count() <= 60, "argument summary too long: {s}");
    }
}

/// Opens the call `key` of `store` (its record is there) and drives its tree.
fn drive_tree(key: Digest, store: &dyn ValueStore) {
    use crate::app::{Action, Options, State};
    use ratatui::{Terminal, backend::TestBackend};

    let record = store
        .record(&key)
        .ok()
        .flatten()
        .expect("the store holds the call's record");
    let mut state = State::new(Options {
        source: "fuzz".into(),
        writable: false,
        color: true,
        local_time: false,
        copy: false,
    });
    state.update(Action::Resize(80, 24), store);
    state.update(Action::Loaded(Loaded::Rows(vec![(key, 0, record)])), store);
    state.update(Action::Loaded(Loaded::Done), store);
    state.update(Action::Open, store);
    state.update(Action::Bottom, store);
    state.update(Action::ExpandDeep, store);
    let Ok(mut terminal) = Terminal::new(TestBackend::new(80, 24));
    for step in 0..40 {
        terminal
            .draw(|f| crate::ui::render(&state, f))
            .expect("drawing on a test backend cannot fail");
        if let Some(view) = &state.call {
            let tree = &view.tree;
            if let Some(&node) = tree.rows().get(view.selected) {
                let _ = tree.path(node);
                let _ = tree.digest(node);
                let text = tree.value_text(node);
                assert!(text.len() <= 8 << 20, "yanked text is bounded");
            }
        }
        let action = match step % 8 {
            0 => Action::Move(1),
            1 => Action::Right,
            2 => Action::Page(1),
            3 => Action::Toggle,
            4 => Action::ExpandSiblings,
            5 => Action::Left,
            6 => Action::Level(1 + step % 5),
            _ => Action::Bottom,
        };
        state.update(action, store);
    }
}

/// CPU seconds (user and system) this process has used, from `/proc/self/stat` (Linux): on a
/// machine shared with other work, wall times stretch and this does not.
pub fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th, in clock ticks of 1/100 s.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    (fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0)) / 100.0
}

/// Resident memory and its peak, from `/proc/self/status` (Linux), and CPU time so far.
pub fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or("?".to_owned(), |v| v.trim().to_owned())
    };
    format!(
        "{} resident, peak {}; {:.2} s CPU so far",
        field("VmRSS:"),
        field("VmHWM:"),
        cpu()
    )
}
