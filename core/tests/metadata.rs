//! Metadata the user chooses: collectors in code (per function and per scope), failures that
//! never break a call, typed tags compared by value, and queries and tables over namespaces.

#[path = "support/logged.rs"]
mod logged;

use std::sync::atomic::{AtomicUsize, Ordering};

use fleche::meta::{
    Attached, CollectResult, Collector, GitCollector, Meta, ResourcesCollector, Unrecorded,
};
use fleche::{Cache, Field, TagValue, Value, fleche, tags};
use logged::logged;
use serde::Serialize;

/// Counts its runs, records a fixed model before the call and a run number after it.
struct Gpu {
    model: &'static str,
}

static GPU_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Serialize)]
struct GpuBefore {
    model: &'static str,
    count: u32,
    #[serde(skip)]
    _private: (),
}

#[derive(Serialize)]
struct GpuAfter {
    run: usize,
}

impl Collector for Gpu {
    type Before = GpuBefore;
    type After = GpuAfter;
    fn name(&self) -> &str {
        "gpu"
    }
    fn before(&self) -> CollectResult<GpuBefore> {
        Ok(GpuBefore {
            model: self.model,
            count: 2,
            _private: (),
        })
    }
    fn after(&self, before: &GpuBefore) -> CollectResult<GpuAfter> {
        assert_eq!(before.count, 2);
        Ok(GpuAfter {
            run: GPU_RUNS.fetch_add(1, Ordering::SeqCst) + 1,
        })
    }
}

#[fleche(meta = [Gpu { model: "A100" }])]
fn on_gpu(x: i64) -> i64 {
    x * 2
}

#[test]
fn a_functions_own_collector_records_before_and_after_on_a_miss_only() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let runs = GPU_RUNS.load(Ordering::SeqCst);
    assert_eq!(on_gpu(21), 42);
    assert_eq!(on_gpu(21), 42, "a hit");
    assert_eq!(
        GPU_RUNS.load(Ordering::SeqCst) - runs,
        1,
        "no collector on a hit"
    );
    let call = on_gpu::query().only().unwrap();
    let md = call.metadata();
    assert_eq!(md.get("gpu", "model"), Some(Value::from("A100")));
    assert_eq!(md.get("gpu", "count"), Some(Value::from(2)));
    assert!(matches!(md.get("gpu", "run"), Some(Value::Int(n)) if n >= 1));
    // Queries see the namespace like tags.
    assert_eq!(cache.query().metadata("gpu").count().unwrap(), 1);
    assert_eq!(
        cache.query().metadata_key("gpu", "model").count().unwrap(),
        1
    );
    assert_eq!(
        cache
            .query()
            .metadata_eq("gpu", "model", "A100")
            .count()
            .unwrap(),
        1
    );
    assert_eq!(
        cache
            .query()
            .metadata_eq("gpu", "count", 2)
            .count()
            .unwrap(),
        1
    );
    assert_eq!(
        cache
            .query()
            .metadata_eq("gpu", "count", "2")
            .count()
            .unwrap(),
        0,
        "text never equals a number"
    );
    assert_eq!(cache.query().metadata("mine").count().unwrap(), 0);
}

/// Records a fixed value under a name of choice.
struct Named(&'static str, i64);

impl Collector for Named {
    type Before = Value;
    type After = ();
    fn name(&self) -> &str {
        self.0
    }
    fn before(&self) -> CollectResult<Value> {
        Ok(Value::Map([("v".to_owned(), Value::from(self.1))].into()))
    }
    fn after(&self, _: &Value) -> CollectResult<()> {
        Ok(())
    }
}

#[fleche]
fn plain(x: i64) -> i64 {
    x + 1
}

#[test]
fn scopes_nest_and_merge_like_tags() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let v = |x: i64, ns: &str| {
        cache
            .load(plain::digest(x))
            .unwrap()
            .metadata()
            .get(ns, "v")
    };
    {
        let _outer = fleche::meta!(Named("lab", 1), Named("run", 1));
        plain(1);
        {
            let _inner = fleche::meta!(Named("run", 2));
            plain(2);
            {
                let _off = Meta::off(["lab"]);
                plain(3);
            }
            plain(4);
        }
        plain(5);
    }
    plain(6);
    assert_eq!(
        (v(1, "lab"), v(1, "run")),
        (Some(Value::from(1)), Some(Value::from(1)))
    );
    assert_eq!(
        (v(2, "lab"), v(2, "run")),
        (Some(Value::from(1)), Some(Value::from(2)))
    );
    assert_eq!((v(3, "lab"), v(3, "run")), (None, Some(Value::from(2))));
    assert_eq!(v(4, "lab"), Some(Value::from(1)));
    assert_eq!(v(5, "run"), Some(Value::from(1)));
    assert_eq!((v(6, "lab"), v(6, "run")), (None, None));
    // Another thread does not see this thread's scopes.
    let _m = fleche::meta!(Named("lab", 9));
    let cache2 = cache.clone();
    std::thread::spawn(move || {
        let _a = cache2.activate();
        plain(7);
    })
    .join()
    .unwrap();
    assert_eq!(v(7, "lab"), None);
}

#[test]
fn built_ins_turn_on_and_off_from_code() {
    let cache = Cache::memory();
    let _a = cache.activate();
    plain(100);
    {
        let _off = Meta::off(["resources"]);
        plain(101);
    }
    {
        let _on = fleche::meta!(GitCollector, fleche::meta::EnvironmentCollector);
        plain(102);
    }
    {
        let _on = Meta::on([fleche::meta::builtin("environment").unwrap()]);
        plain(103);
    }
    let md = |x: i64| cache.load(plain::digest(x)).unwrap().metadata().clone();
    assert!(md(100).resources.is_some(), "resources are on by default");
    assert!(md(100).environment.is_none() && md(100).git.is_none());
    assert!(md(101).resources.is_none());
    assert!(md(102).git.is_some() && md(102).environment.is_some());
    assert!(md(103).environment.is_some() && md(103).git.is_none());
    assert!(fleche::meta::builtin("nope").is_none());
}

/// Fails or panics in the hook its mode names.
struct Broken(&'static str, &'static str);

impl Collector for Broken {
    type Before = ();
    type After = i64;
    fn name(&self) -> &str {
        self.0
    }
    fn before(&self) -> CollectResult<()> {
        match self.1 {
            "before fails" => Err("no such device".into()),
            "before panics" => panic!("collector exploded"),
            _ => Ok(()),
        }
    }
    fn after(&self, _: &()) -> CollectResult<i64> {
        match self.1 {
            "after fails" => Err(std::io::Error::other("disk gone").into()),
            "after panics" => panic!("collector exploded later"),
            _ => Ok(1),
        }
    }
}

#[fleche(meta = [
    Broken("a", "before fails"),
    Broken("b", "before panics"),
    Broken("c", "after fails"),
    Broken("d", "after panics"),
    Broken("ok", "fine"),
    Broken("tags", "fine"),
    Broken("environment", "fine"),
])]
fn fragile(x: i64) -> i64 {
    x * 3
}

#[test]
fn a_failing_or_panicking_collector_never_breaks_the_call() {
    let cache = Cache::memory();
    let _a = cache.activate();
    let (result, log) = logged(|| fragile(5));
    assert_eq!(result, 15);
    assert_eq!(fragile(5), 15);
    let call = fragile::query().only().unwrap();
    let md = call.metadata();
    assert_eq!(md.namespaces.keys().collect::<Vec<_>>(), ["ok"]);
    assert!(md.tags.is_empty());
    assert!(md.environment.is_none());
    for (name, why) in [
        ("a", "no such device"),
        ("b", "collector exploded"),
        ("c", "disk gone"),
        ("d", "collector exploded later"),
        ("tags", "fleche's own namespace"),
        ("environment", "belongs to the built-in collector"),
    ] {
        assert!(
            log.contains(&format!("collector `{name}`")) && log.contains(why),
            "no warning for {name}: {log}"
        );
    }
}

/// What `after` needs but must not be stored.
struct Clock;

impl Collector for Clock {
    type Before = Unrecorded<std::time::Instant>;
    type After = Elapsed;
    fn name(&self) -> &str {
        "clock"
    }
    fn before(&self) -> CollectResult<Self::Before> {
        Ok(Unrecorded(std::time::Instant::now()))
    }
    fn after(&self, before: &Self::Before) -> CollectResult<Elapsed> {
        Ok(Elapsed {
            micros: before.0.elapsed().as_micros() as u64,
        })
    }
}

#[derive(Serialize)]
struct Elapsed {
    micros: u64,
}

#[fleche(meta = [Clock])]
fn sleepy(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

#[test]
fn unrecorded_values_reach_after_but_not_the_record() {
    let cache = Cache::memory();
    let _a = cache.activate();
    sleepy(20);
    let md = sleepy::query().only().unwrap().metadata().clone();
    let clock = md.namespaces["clock"].clone();
    let Value::Map(entries) = &clock else {
        panic!("{clock:?}")
    };
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["micros"]);
    assert!(matches!(entries["micros"], Value::Int(us) if us >= 20_000));
}

#[fleche]
fn tagged(x: i64) -> i64 {
    x
}

#[test]
fn tags_keep_their_types_and_queries_compare_by_value() {
    let cache = Cache::memory();
    let _a = cache.activate();
    {
        let _t = tags!(
            temperature = 300,
            ratio = 0.5,
            relaxed = true,
            label = "300"
        );
        tagged(1);
    }
    {
        let _t = tags!(temperature = "300", ratio = 1);
        tagged(2);
    }
    {
        let _t = tags!(temperature = 300.0, ratio = 2.5);
        tagged(3);
    }
    {
        let _t = tags!(temperature = 9);
        tagged(4);
    }
    let xs = |q: fleche::Query| -> Vec<i64> {
        q.calls()
            .unwrap()
            .iter()
            .map(|c| c.argument::<i64>("x").unwrap())
            .collect()
    };
    let q = || cache.query();
    assert_eq!(xs(q().tag("temperature", 300)), [1, 3]);
    assert_eq!(xs(q().tag("temperature", "300")), [2]);
    assert_eq!(xs(q().metadata_eq("tags", "temperature", 300)), [1, 3]);
    assert_eq!(xs(q().metadata_eq("tags", "temperature", 300u16)), [1, 3]);
    assert_eq!(xs(q().metadata_eq("tags", "temperature", "300")), [2]);
    assert_eq!(xs(q().tag("relaxed", true)), [1]);
    assert_eq!(xs(q().tag("relaxed", "true")), Vec::<i64>::new());
    assert_eq!(xs(q().tag("label", "300")), [1]);
    assert_eq!(xs(q().tag("ratio", 1.0)), [2]);
    // Tags read back with their types.
    let md = cache.load(tagged::digest(1)).unwrap().metadata().clone();
    assert!(matches!(md.tags["temperature"], TagValue::Int(300)));
    assert!(matches!(md.tags["relaxed"], TagValue::Bool(true)));
    // Sorting by a numeric tag is numeric: 9 before 300.
    // (Text sorts before numbers.)
    let sorted = xs(q()
        .has_tag("temperature")
        .sort_by(Field::Tag("temperature".into())));
    assert_eq!(sorted, [2, 4, 1, 3]);
    // Tables show the values as text.
    let table = tagged::query().table();
    let cells: Vec<(String, String)> = table
        .rows()
        .map(|r| {
            (
                r.get("temperature").unwrap().to_owned(),
                r.get("relaxed").unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("300".to_owned(), "true".to_owned()),
            ("300".to_owned(), String::new()),
            ("300".to_owned(), String::new()),
            ("9".to_owned(), String::new()),
        ]
    );
    // A query's description tells text from numbers.
    let err = q().tag("temperature", 301).only().unwrap_err().to_string();
    assert!(err.contains("tag temperature = 301"), "{err}");
    let err = q()
        .tag("temperature", "301")
        .only()
        .unwrap_err()
        .to_string();
    assert!(err.contains("tag temperature = \"301\""), "{err}");
}

#[test]
fn tables_show_resources_and_a_column_per_key_of_a_namespace_when_asked() {
    let cache = Cache::memory();
    let _a = cache.activate();
    on_gpu(1);
    {
        let _m = fleche::meta!(Named("run", 5));
        on_gpu(2);
    }
    let table = on_gpu::query().table();
    let columns = table.column_names();
    for c in ["cpu_user", "cpu_system", "peak_memory_growth"] {
        assert!(columns.contains(&c.to_owned()), "{columns:?}");
    }
    let walltime = columns.iter().position(|c| c == "walltime").unwrap();
    assert_eq!(columns[walltime + 1], "cpu_user", "beside wall time");
    assert!(!columns.contains(&"model".to_owned()), "only when asked");
    let table = table.metadata(["gpu", "run", "nowhere"]);
    let columns = table.column_names();
    assert!(columns.contains(&"model".to_owned()), "{columns:?}");
    assert!(columns.contains(&"count".to_owned()), "{columns:?}");
    // `run` is both a key of `gpu` and... a key `v` of namespace `run`.
    assert!(columns.contains(&"v".to_owned()), "{columns:?}");
    let rows: Vec<_> = table.rows().collect();
    assert!(rows.iter().all(|r| r.get("model") == Some("A100")));
    assert_eq!(
        rows[0].get("v"),
        None,
        "empty where a call has no such entry"
    );
    assert_eq!(rows[1].get("v"), Some("5"));
    assert!(
        table.notes().iter().any(|n| n.contains("`nowhere`")),
        "{:?}",
        table.notes()
    );
    // A key that is already a column gets the namespace's name in front.
    let clash = on_gpu::query().table().metadata(["gpu"]).metadata(["gpu"]);
    assert_eq!(
        clash
            .column_names()
            .iter()
            .filter(|c| c.as_str() == "model")
            .count(),
        1
    );
    // Grouping by a namespace's entry.
    let groups = cache
        .query()
        .group_by(Field::Metadata("run".into(), "v".into()))
        .unwrap();
    assert_eq!(groups.len(), 2);
}

#[test]
fn the_call_summary_lists_resources_and_namespaces() {
    let cache = Cache::memory();
    let _a = cache.activate();
    on_gpu(77);
    let call = on_gpu::query().arg_x(77).only().unwrap();
    let text = format!("{call}");
    assert!(text.contains("cpu_user"), "{text}");
    assert!(text.contains("gpu"), "{text}");
    assert!(text.contains("A100"), "{text}");
}

#[test]
fn attached_collectors_can_be_listed_and_reused() {
    let a: Attached = ResourcesCollector.into();
    assert_eq!(a.name(), "resources");
    assert_eq!(format!("{a:?}"), "Attached(resources)");
    assert_eq!(fleche::meta::BUILT_INS, ["environment", "git", "resources"]);
}
