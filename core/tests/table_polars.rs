//! Tables as polars DataFrames (feature `polars`): every column's dtype and values, a
//! function whose return type changed, and the empty table.
#![cfg(feature = "polars")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use fleche::record::{CallRecord, Metadata};
use fleche::{Cache, Digest, fleche, tags};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Relaxed {
    energy: f64,
    steps: i64,
    converged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Lattice {
    Cubic { a: f64 },
    Hexagonal(f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Phase {
    Solid,
    Liquid,
}

#[fleche]
fn count(n: i64, big: u64) -> i64 {
    n * 2 + (big % 2) as i64
}

#[fleche]
fn scale(x: f64, on: bool) -> f64 {
    if on { x * 1.5 } else { x }
}

#[fleche]
fn greet(name: String) -> String {
    format!("hello {name}")
}

#[fleche]
fn maybe(x: Option<i64>) -> Option<f64> {
    x.map(|v| v as f64 / 2.0)
}

#[fleche]
fn spectrum(points: Vec<f64>) -> Vec<f64> {
    points.iter().map(|p| p * p).collect()
}

#[fleche]
fn relax(start: Relaxed) -> Relaxed {
    Relaxed {
        energy: start.energy - 1.0,
        steps: start.steps + 10,
        converged: !start.converged,
    }
}

#[fleche]
fn pick(start: Option<Relaxed>) -> Option<Relaxed> {
    start
}

#[fleche]
fn classify(lattice: Lattice, phase: Phase) -> Phase {
    match (lattice, phase) {
        (Lattice::Cubic { .. }, p) => p,
        (Lattice::Hexagonal(..), _) => Phase::Liquid,
    }
}

#[fleche]
fn blob(data: Vec<u8>) -> Vec<u8> {
    data.iter().rev().copied().collect()
}

/// The column's cells, in row order.
macro_rules! cells {
    ($df:expr, $column:expr, $as:ident) => {{
        let ca = $df.column($column).unwrap().$as().unwrap();
        (0..ca.len()).map(|i| ca.get(i)).collect::<Vec<_>>()
    }};
}

fn frame_of(table: fleche::Table) -> DataFrame {
    table
        .all_arguments()
        .results()
        .to_polars()
        .unwrap()
        .sort(["timestart"], Default::default())
        .unwrap()
}

fn dtype(df: &DataFrame, column: &str) -> DataType {
    df.column(column).unwrap().dtype().clone()
}

#[test]
fn integers_floats_bools_and_strings_have_their_dtypes_and_values() {
    let cache = Cache::memory();
    let _active = cache.activate();
    count(3, 7);
    count(-4, u64::MAX);
    let df = frame_of(count::query().table());
    assert_eq!(dtype(&df, "n"), DataType::Int64);
    assert_eq!(dtype(&df, "big"), DataType::UInt64);
    assert_eq!(dtype(&df, "result"), DataType::Int64);
    let n: Vec<Option<i64>> = cells!(df, "n", i64);
    assert_eq!(n, [Some(3), Some(-4)]);
    let big: Vec<Option<u64>> = cells!(df, "big", u64);
    assert_eq!(big, [Some(7), Some(u64::MAX)]);
    let result: Vec<Option<i64>> = cells!(df, "result", i64);
    assert_eq!(result, [Some(7), Some(-7)]);

    scale(2.0, true);
    scale(0.1, false);
    let df = frame_of(scale::query().table());
    assert_eq!(dtype(&df, "x"), DataType::Float64);
    assert_eq!(dtype(&df, "on"), DataType::Boolean);
    assert_eq!(dtype(&df, "result"), DataType::Float64);
    let x: Vec<Option<f64>> = cells!(df, "x", f64);
    assert_eq!(x, [Some(2.0), Some(0.1)]);
    let on: Vec<Option<bool>> = cells!(df, "on", bool);
    assert_eq!(on, [Some(true), Some(false)]);
    let result: Vec<Option<f64>> = cells!(df, "result", f64);
    assert_eq!(result, [Some(3.0), Some(0.1)]);

    // Text is read in full: no cut at the width of a table cell.
    let long = "x".repeat(500);
    greet(long.clone());
    let df = frame_of(greet::query().table());
    // The argument `name` is shown as `a_name`: `name` is the function's name.
    assert_eq!(dtype(&df, "a_name"), DataType::String);
    assert_eq!(
        df.column("a_name").unwrap().str().unwrap().get(0),
        Some(long.as_str())
    );
    assert_eq!(
        df.column("result").unwrap().str().unwrap().get(0),
        Some(format!("hello {long}").as_str())
    );
}

#[test]
fn options_are_nulls_and_vectors_are_lists_and_bytes_are_binary() {
    let cache = Cache::memory();
    let _active = cache.activate();
    maybe(Some(3));
    maybe(None);
    let df = frame_of(maybe::query().table());
    assert_eq!(dtype(&df, "x"), DataType::Int64);
    assert_eq!(dtype(&df, "result"), DataType::Float64);
    let x: Vec<Option<i64>> = cells!(df, "x", i64);
    assert_eq!(x, [Some(3), None]);
    let r: Vec<Option<f64>> = cells!(df, "result", f64);
    assert_eq!(r, [Some(1.5), None]);

    spectrum(vec![1.0, 2.0, 3.0]);
    spectrum(vec![]);
    let df = frame_of(spectrum::query().table());
    let list = DataType::List(Box::new(DataType::Float64));
    assert_eq!(dtype(&df, "points"), list);
    assert_eq!(dtype(&df, "result"), list);
    let result = df.column("result").unwrap().list().unwrap();
    let first = result.get_as_series(0).unwrap();
    let first = first.f64().unwrap();
    let first: Vec<Option<f64>> = (0..first.len()).map(|i| first.get(i)).collect();
    assert_eq!(first, [Some(1.0), Some(4.0), Some(9.0)]);
    assert_eq!(result.get_as_series(1).unwrap().len(), 0);

    blob(vec![1, 2, 3]);
    blob(vec![]);
    let df = frame_of(blob::query().table());
    assert_eq!(dtype(&df, "data"), DataType::Binary);
    assert_eq!(dtype(&df, "result"), DataType::Binary);
    let result: Vec<Option<&[u8]>> = cells!(df, "result", binary);
    assert_eq!(result, [Some(&[3u8, 2, 1][..]), Some(&[][..])]);
}

#[test]
fn structs_and_enums_are_struct_columns_with_their_fields() {
    let cache = Cache::memory();
    let _active = cache.activate();
    let start = Relaxed {
        energy: 5.0,
        steps: 0,
        converged: false,
    };
    relax(start.clone());
    let df = frame_of(relax::query().table());
    let fields = DataType::Struct(vec![
        Field::new("energy".into(), DataType::Float64),
        Field::new("steps".into(), DataType::Int64),
        Field::new("converged".into(), DataType::Boolean),
    ]);
    assert_eq!(dtype(&df, "start"), fields);
    assert_eq!(dtype(&df, "result"), fields);
    let result = df.column("result").unwrap().struct_().unwrap();
    let energy = result.field_by_name("energy").unwrap();
    assert_eq!(energy.f64().unwrap().get(0), Some(4.0));
    assert_eq!(
        result.field_by_name("steps").unwrap().i64().unwrap().get(0),
        Some(10)
    );
    assert_eq!(
        result
            .field_by_name("converged")
            .unwrap()
            .bool()
            .unwrap()
            .get(0),
        Some(true)
    );

    // A `None` struct is a null row, not a struct of nulls.
    pick(Some(start));
    pick(None);
    let df = frame_of(pick::query().table());
    assert_eq!(dtype(&df, "result"), fields);
    let result = df.column("result").unwrap();
    assert_eq!(result.null_count(), 1);
    assert!(result.get(1).unwrap().is_null());
    let energy = result.struct_().unwrap().field_by_name("energy").unwrap();
    assert_eq!(energy.f64().unwrap().get(0), Some(5.0));

    classify(Lattice::Cubic { a: 2.5 }, Phase::Solid);
    classify(Lattice::Hexagonal(1.0, 1.6), Phase::Solid);
    let df = frame_of(classify::query().table());
    // Unit variants are their names; variants with data are structs with a field per variant.
    assert_eq!(dtype(&df, "phase"), DataType::String);
    assert_eq!(dtype(&df, "result"), DataType::String);
    let result: Vec<Option<&str>> = cells!(df, "result", str);
    assert_eq!(result, [Some("Solid"), Some("Liquid")]);
    assert_eq!(
        dtype(&df, "lattice"),
        DataType::Struct(vec![
            Field::new(
                "Cubic".into(),
                DataType::Struct(vec![Field::new("a".into(), DataType::Float64)])
            ),
            Field::new(
                "Hexagonal".into(),
                DataType::List(Box::new(DataType::Float64))
            ),
        ])
    );
    let lattice = df.column("lattice").unwrap().struct_().unwrap();
    let cubic = lattice.field_by_name("Cubic").unwrap();
    let a = cubic.struct_().unwrap().field_by_name("a").unwrap();
    assert_eq!(a.f64().unwrap().get(0), Some(2.5));
    assert_eq!(a.f64().unwrap().get(1), None);
    let hexagonal = lattice.field_by_name("Hexagonal").unwrap();
    assert!(hexagonal.list().unwrap().get_as_series(0).is_none());
    let h = hexagonal.list().unwrap().get_as_series(1).unwrap();
    let h = h.f64().unwrap();
    let h: Vec<Option<f64>> = (0..h.len()).map(|i| h.get(i)).collect();
    assert_eq!(h, [Some(1.0), Some(1.6)]);
}

#[test]
fn metadata_columns_are_typed() {
    let cache = Cache::memory();
    let _active = cache.activate();
    // Few enough columns for polars to print them all (resources are tested below).
    let _off = fleche::meta::Meta::off(["resources"]);
    {
        let _t = tags!(project = "alloys");
        count(1, 1);
    }
    count(2, 2);
    let df = frame_of(count::query().table());
    for column in ["key", "name", "module", "project"] {
        assert_eq!(dtype(&df, column), DataType::String, "{column}");
    }
    let utc = DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
    assert_eq!(dtype(&df, "timestart"), utc);
    assert_eq!(dtype(&df, "timestop"), utc);
    assert_eq!(
        dtype(&df, "walltime"),
        DataType::Duration(TimeUnit::Nanoseconds)
    );
    let project: Vec<Option<&str>> = cells!(df, "project", str);
    assert_eq!(project, [Some("alloys"), None]);
    assert_eq!(
        df.column("name").unwrap().str().unwrap().get(0),
        Some("count")
    );
    // polars prints every column, UTC datetimes and durations included.
    let shown = df.to_string();
    assert!(
        shown.contains("datetime[ns,") && shown.contains("UTC]"),
        "{shown}"
    );
    assert!(shown.contains("duration[ns]"), "{shown}");

    let calls = count::query().calls().unwrap();
    let call = calls
        .iter()
        .find(|c| c.argument::<i64>("n").unwrap() == 1)
        .unwrap();
    let table = count::query().table();
    let row = table
        .index()
        .zip(table.calls())
        .find(|(_, c)| c.key() == call.key())
        .unwrap()
        .0;
    let df = table.to_polars().unwrap();
    let keys = df.column("key").unwrap().str().unwrap();
    let i = (0..df.height())
        .find(|&i| keys.get(i) == Some(row))
        .unwrap();
    let start = df
        .column("timestart")
        .unwrap()
        .datetime()
        .unwrap()
        .physical()
        .get(i);
    assert_eq!(start, call.metadata().timestart.timestamp_nanos_opt());
    let wall = df
        .column("walltime")
        .unwrap()
        .duration()
        .unwrap()
        .physical()
        .get(i);
    assert_eq!(wall, Some((call.metadata().walltime * 1e9).round() as i64));
}

/// Warnings sent through `tracing` while `f` runs.
fn warnings(f: impl FnOnce()) -> Vec<String> {
    struct Collect(Arc<Mutex<Vec<String>>>);
    struct Message<'a>(&'a mut String);
    impl tracing::field::Visit for Message<'_> {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                *self.0 = format!("{value:?}");
            }
        }
    }
    impl tracing::Subscriber for Collect {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            if *event.metadata().level() == tracing::Level::WARN {
                let mut message = String::new();
                event.record(&mut Message(&mut message));
                self.0.lock().unwrap().push(message);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::with_default(Collect(seen.clone()), f);
    // The subscriber, and its clone of `seen`, is dropped when `with_default` returns.
    Arc::into_inner(seen).unwrap().into_inner().unwrap()
}

/// Records of one function `measure` whose result was an integer, then text.
fn changed_return_type() -> Cache {
    let cache = Cache::memory();
    let t0 = chrono::Utc::now();
    let results = [
        fleche::codec::encode(&42i64).unwrap(),
        fleche::codec::encode("forty-two").unwrap(),
    ];
    let values: Vec<(Digest, Vec<u8>)> = results
        .iter()
        .enumerate()
        .map(|(i, bytes)| (fleche::digest(&("value", i)), bytes.clone()))
        .collect();
    let calls: Vec<(Digest, CallRecord)> = values
        .iter()
        .enumerate()
        .map(|(i, (digest, bytes))| {
            let record = CallRecord {
                name: "measure".into(),
                module: "lab".into(),
                version: None,
                code: None,
                arguments: vec![],
                argument_keys: vec![],
                result: *digest,
                result_type: if i == 0 { "i64" } else { "String" }.into(),
                result_size: bytes.len() as u64,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::seconds(i as i64),
                    timestop: t0 + chrono::Duration::seconds(i as i64 + 1),
                    walltime: 1.0,
                    tags: BTreeMap::new(),
                    ..Default::default()
                },
            };
            (fleche::digest(&("measure", i)), record)
        })
        .collect();
    cache.insert_records(&calls, &values).unwrap();
    cache
}

#[test]
fn a_changed_return_type_gives_a_string_column_and_one_warning() {
    let cache = changed_return_type();
    let mut df = None;
    let seen = warnings(|| df = Some(cache.query().table().results().to_polars().unwrap()));
    let df = df.unwrap().sort(["timestart"], Default::default()).unwrap();
    assert_eq!(dtype(&df, "result"), DataType::String);
    let result: Vec<Option<&str>> = cells!(df, "result", str);
    assert_eq!(result, [Some("42"), Some("forty-two")]);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("`result`"), "{}", seen[0]);
    assert!(seen[0].contains("integer and text"), "{}", seen[0]);

    // Agreeing columns warn about nothing.
    let cache = Cache::memory();
    let _active = cache.activate();
    spectrum(vec![1.0]);
    let seen = warnings(|| {
        spectrum::query()
            .table()
            .all_arguments()
            .results()
            .to_polars()
            .unwrap();
    });
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn the_empty_table_is_an_empty_frame_with_the_columns() {
    let cache = Cache::memory();
    let df = cache.table().all_arguments().results().to_polars().unwrap();
    assert_eq!(df.height(), 0);
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "key",
            "name",
            "module",
            "result",
            "timestart",
            "timestop",
            "walltime"
        ]
    );
    assert_eq!(dtype(&df, "result"), DataType::Null);
    assert_eq!(
        dtype(&df, "timestart"),
        DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
    );
}

#[test]
fn only_the_columns_asked_for_are_in_the_frame() {
    let cache = Cache::memory();
    let _active = cache.activate();
    spectrum(vec![0.5; 1000]);
    let df = spectrum::query().table().to_polars().unwrap();
    assert!(df.column("result").is_err());
    assert!(df.column("points").is_err());
    let df = spectrum::query()
        .table()
        .arguments(["points"])
        .to_polars()
        .unwrap();
    assert!(df.column("result").is_err());
    assert_eq!(
        df.column("points")
            .unwrap()
            .list()
            .unwrap()
            .get_as_series(0)
            .unwrap()
            .len(),
        1000
    );
}

/// A collector of the user's own, for a namespace column.
struct Device;

impl fleche::meta::Collector for Device {
    type Before = BTreeMap<&'static str, i64>;
    type After = ();
    fn name(&self) -> &str {
        "device"
    }
    fn before(&self) -> fleche::meta::CollectResult<Self::Before> {
        Ok([("cores", 8)].into())
    }
    fn after(&self, _: &Self::Before) -> fleche::meta::CollectResult<()> {
        Ok(())
    }
}

#[fleche(meta = [Device])]
fn on_device(x: i64) -> i64 {
    x
}

#[test]
fn typed_tags_resources_and_namespaces_have_their_dtypes() {
    let cache = Cache::memory();
    let _active = cache.activate();
    {
        let _t = tags!(temperature = 300, ratio = 0.5, relaxed = true, label = "a");
        on_device(1);
    }
    {
        let _t = tags!(temperature = 310, ratio = 2.5, label = 3);
        on_device(2);
    }
    let df = frame_of(on_device::query().table().metadata(["device"]));
    assert_eq!(dtype(&df, "temperature"), DataType::Int64);
    assert_eq!(dtype(&df, "ratio"), DataType::Float64);
    assert_eq!(dtype(&df, "relaxed"), DataType::Boolean);
    assert_eq!(
        dtype(&df, "label"),
        DataType::String,
        "mixed types fall back to text"
    );
    assert_eq!(dtype(&df, "cores"), DataType::Int64);
    assert_eq!(dtype(&df, "cpu_user"), DataType::Float64);
    assert_eq!(dtype(&df, "cpu_system"), DataType::Float64);
    assert_eq!(dtype(&df, "peak_memory_growth"), DataType::UInt64);
    let temperature: Vec<Option<i64>> = cells!(df, "temperature", i64);
    assert_eq!(temperature, [Some(300), Some(310)]);
    let cores: Vec<Option<i64>> = cells!(df, "cores", i64);
    assert_eq!(cores, [Some(8), Some(8)]);
}
