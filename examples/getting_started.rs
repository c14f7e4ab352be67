//! Python fleche's getting-started notebook, cell by cell, in Rust.
//!
//! Run it with `cargo run -p fleche --example getting_started`. It caches to the cache that
//! `fleche.toml` or `FLECHE_CACHE` names (in memory when neither does), so
//! `FLECHE_CACHE=/tmp/demo.redb` leaves a file to browse with `fleche-tui`.
//! `FLECHE_EXAMPLE_FAST=1` divides the demo's sleeps by 100 (for tests).

use std::time::{Duration, Instant};

use fleche::{D, Digest, cache, fleche, tags};

/// The module every function of this example is recorded under (`getting_started`).
const MODULE: &str = module_path!();

/// Sleeps like the notebook does, or a hundredth of it with `FLECHE_EXAMPLE_FAST=1`.
fn nap(seconds: u64) {
    let fast = std::env::var("FLECHE_EXAMPLE_FAST").is_ok_and(|v| v == "1");
    let d = Duration::from_secs(seconds);
    std::thread::sleep(if fast { d / 100 } else { d });
}

// ---- Long-running calculation -------------------------------------------------------------

#[fleche]
fn long_running_calculation(x: i64) -> i64 {
    println!("Running calculation for {x}...");
    nap(2);
    x * x
}

// ---- Recursive function -------------------------------------------------------------------

#[fleche]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

// ---- Passing digests as arguments ---------------------------------------------------------

#[fleche]
fn double(x: i64) -> i64 {
    println!("Doubling {x}...");
    x * 2
}

// ---- Metadata -----------------------------------------------------------------------------

#[fleche]
fn another_calculation(a: i64, b: i64) -> i64 {
    a + b
}

// ---- Caching methods of user-defined types ------------------------------------------------

#[derive(serde::Serialize)]
struct MyClass {
    val: i64,
}

/// The counterpart of Python's `__digest__`: the receiver is identified by `val` alone.
impl fleche::CacheKey for MyClass {
    fn cache_key(&self) -> Digest {
        fleche::digest(&self.val)
    }
}

impl MyClass {
    #[fleche]
    fn compute(&self, x: i64) -> i64 {
        println!("Computing {} + {x}...", self.val);
        nap(1);
        self.val + x
    }
}

fn main() -> fleche::Result<()> {
    // [4]-[6] The first call runs, the second comes from the cache, a new argument runs.
    let start = Instant::now();
    long_running_calculation(2);
    println!(
        "First call took {:.2} seconds.",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    long_running_calculation(2);
    println!(
        "Second call took {:.2} seconds.",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    long_running_calculation(100);
    println!(
        "Second call took {:.2} seconds.",
        start.elapsed().as_secs_f64()
    );

    // [8] Recursion goes through the cache: fib(20) stores 21 calls.
    let start = Instant::now();
    fib(20);
    println!(
        "fib(20) took {:.4} seconds with caching.",
        start.elapsed().as_secs_f64()
    );

    // [9] A digest prefix of a stored value stands for the value.
    digest_cell();

    // [10]-[12] Tables of one function's calls, then with the argument `x` and the result.
    println!("{}", long_running_calculation::query().table());
    println!(
        "{}",
        long_running_calculation::query().table().arguments(["x"])
    );
    println!(
        "{}",
        long_running_calculation::query()
            .table()
            .arguments(["x"])
            .results()
    );
    // Not in this notebook (building polars in a new kernel takes minutes; the notebook
    // evcxr-integration/notebooks/polars_analysis.ipynb is the polars walk-through): with the
    // `polars` feature, the same table as a typed DataFrame, and the mean result per `x`.
    #[cfg(feature = "polars")]
    polars_cell()?;

    // [14]-[16] Queries across the cache: by module, by name, by argument value.
    println!("{}", cache().query().module(MODULE).table().head(5));
    println!("{}", cache().query().name("fib").table().head(5));
    let x_is_100 = cache().query().argument("x", 100);
    println!("{}", x_is_100.table());
    let mut names: Vec<String> = x_is_100
        .calls()?
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["double", "long_running_calculation"]);

    // [18] Tags are recorded with every call made while they are in scope.
    tags_cell();

    // [19] Query by metadata: the tags namespace present, and a tag equal to a value.
    metadata_queries()?;

    // [21]-[22] Methods: the receiver is part of the key, through `CacheKey`.
    let mut obj = MyClass { val: 10 };
    let start = Instant::now();
    println!("Result: {}", obj.compute(5));
    println!(
        "First call took {:.2} seconds.",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    println!("Result: {}", obj.compute(5));
    println!(
        "Second call (same instance) took {:.2} seconds.",
        start.elapsed().as_secs_f64()
    );
    obj.val = 20;
    let start = Instant::now();
    println!("Result: {}", obj.compute(5));
    println!(
        "Call after mutation took {:.2} seconds.",
        start.elapsed().as_secs_f64()
    );
    // Helpers of methods bind the receiver: no need to pass it as in Python.
    assert!(obj.compute_contains(5));
    assert_eq!(MyClass::compute_query_with(&obj, 5).count()?, 1);
    println!(
        "{}",
        MyClass::compute_query().table().arguments(["x"]).results()
    );

    // [23]-[25] The notebook runs the digest and tags cells again: all hits now.
    digest_cell();
    tags_cell();

    // [26] The whole cache, one row per call, each tag its own column.
    let table = cache().table();
    assert!(table.column_names().iter().any(|c| c == "project"));
    assert!(table.column_names().iter().any(|c| c == "category"));
    println!("{}", table.max_rows(usize::MAX));

    // [27] Filtering the table: every call but fib's.
    let no_fib = cache().table().without("name", "fib");
    assert!(no_fib.rows().all(|row| row.get("name") != Some("fib")));
    println!("{no_fib}");

    // [28] The metadata queries once more.
    metadata_queries()?;

    // [29] Lazy loading: the record now, the result only when asked for.
    let key = fib::digest(20);
    let lazy_call = cache().load(key)?;
    println!("Got a Call for {}(20)", lazy_call.name());
    println!("Result: {}", lazy_call.result::<u64>()?);
    // Everything at once:
    let fetched = lazy_call.fetch()?;
    println!("{fetched:?}");
    Ok(())
}

#[cfg(feature = "polars")]
fn polars_cell() -> fleche::Result<()> {
    use polars::prelude::*;
    let frame = long_running_calculation::query()
        .table()
        .arguments(["x"])
        .results()
        .to_polars()?;
    println!("{frame}");
    let mean_per_x = frame
        .lazy()
        .group_by([col("x")])
        .agg([col("result").mean(), len().alias("calls")])
        .sort(["x"], Default::default())
        .collect()
        .expect("polars aggregates the frame");
    println!("{mean_per_x}");
    Ok(())
}

fn digest_cell() {
    long_running_calculation(10);
    let v = long_running_calculation(10);
    let val_dig = fleche::digest(&v);
    println!("Value Digest: {val_dig}");
    let short = &val_dig.to_string()[..8];
    println!("Short digest: {short}");
    println!("Result: {}", double(D(short)));
}

fn tags_cell() {
    let _t = tags!(project = "my_project", category = "testing");
    another_calculation(1, 2);
    another_calculation(3, 4);
}

fn metadata_queries() -> fleche::Result<()> {
    for call in another_calculation::query().with(1, 2).metadata("tags") {
        println!(
            "{} {:?} {:?}",
            call.name(),
            call.argument_digests(),
            call.metadata().tags
        );
    }
    for call in another_calculation::query()
        .with(3, 4)
        .metadata_eq("tags", "project", "my_project")
    {
        assert_eq!(call.metadata().tags["project"], "my_project");
        println!(
            "a = {}, b = {} -> {}",
            call.argument::<i64>("a")?,
            call.argument::<i64>("b")?,
            call.result::<i64>()?
        );
    }
    Ok(())
}
