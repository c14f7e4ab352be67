//! Re-filtering on each keystroke: a query over 100,000 synthetic calls (8 functions, 4
//! modules, 5 projects, ~500 run tags, 10,000 distinct argument values) must stay inside one
//! 16 ms frame. Run: `cargo bench -p fleche-tui --bench filter`; `FLECHE_BENCH_CALLS=1000000`
//! runs it on a million calls (the goal there: 50 ms a keystroke).

use fleche_tui::calls::{Calls, Column, sorted};
use fleche_tui::filter::{Query, Scope};

fn main() {
    divan::main();
}

/// Calls filtered: 100,000 unless `FLECHE_BENCH_CALLS` says otherwise.
fn n() -> usize {
    std::env::var("FLECHE_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

fn calls() -> &'static (Calls, Vec<u32>) {
    static CALLS: std::sync::OnceLock<(Calls, Vec<u32>)> = std::sync::OnceLock::new();
    CALLS.get_or_init(|| {
        let calls = fleche_tui::testing::synthetic(n());
        let order = sorted(&calls, Column::Started, true);
        (calls, order)
    })
}

/// Each keystroke of typing a query, as the filter sees it.
#[divan::bench(args = [
    "r", "re", "rel", "relax",
    "lrc",
    "'calc !fib",
    "^fit spectrum$",
    "fn:relax tag:project=alloys",
    "arg:x=1234",
    "tag:run !tag:project=etl fn:~sim",
    "zzzq",
])]
fn keystroke(bencher: divan::Bencher<'_, '_>, query: &str) {
    let (calls, order) = calls();
    bencher.bench(|| {
        let q = Query::parse(divan::black_box(query));
        q.apply(calls, Scope::All, order).len()
    });
}

/// Changing the sort column re-sorts everything (not per keystroke).
#[divan::bench(args = [Column::Started, Column::Function, Column::Tags])]
fn sort(bencher: divan::Bencher<'_, '_>, column: Column) {
    let (calls, _) = calls();
    bencher.bench(|| sorted(calls, column, false).len());
}
