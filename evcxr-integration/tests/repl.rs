//! The evcxr REPL driven as a subprocess: a cached function keeps its results across cells
//! and across a restart (a new REPL process), a new body recomputes, the old body finds its
//! old results again, and twenty cells in one kernel keep at most a couple of handles on the
//! cache file, which passes redb's integrity check afterwards and needs no repair.
//!
//! Takes about two minutes (two kernels, one cold build of fleche inside evcxr), so it is
//! ignored by a plain `cargo test`; `.ci/notebooks.sh` runs it with
//! `cargo test -p fleche-evcxr --test repl -- --ignored`. Needs the `evcxr` binary
//! (`cargo install --locked evcxr_repl@0.22.0`, or `FLECHE_EVCXR_REPL=/path/to/evcxr`);
//! without it the test says so and passes, unless `FLECHE_REQUIRE_EVCXR=1` (as in
//! `.ci/notebooks.sh`), where a missing binary fails.

use std::path::Path;

use fleche_evcxr::repl::{Session, Transcript, find_binary};

const AREA_V1: &str = "#[fleche]
fn area(w: u64, h: u64) -> u64 {
    println!(\"computing area v1\");
    w * h
}";

const AREA_V2: &str = "#[fleche]
fn area(w: u64, h: u64) -> u64 {
    println!(\"computing area v2\");
    w * h + 1
}";

const FDS: &str = "fn cache_fds() -> usize {
    std::fs::read_dir(\"/proc/self/fd\").unwrap()
        .filter_map(|e| std::fs::read_link(e.unwrap().path()).ok())
        .filter(|t| t.to_string_lossy().ends_with(\"cache.redb\"))
        .count()
}";

const CELL: &str = "let n: u64 = 21;
let s: u64 = fleche::cell!(n => { println!(\"computing cell\"); n * 2 });
println!(\"s={s}\");";

fn check(t: &Transcript, cell: usize, expect: &str, computed: Option<&str>) {
    let out = t.cell(cell);
    assert!(
        out.contains(expect),
        "cell {cell} should print {expect:?}, printed {out:?}\nstderr:\n{}",
        t.stderr
    );
    match computed {
        Some(line) => assert!(out.contains(line), "cell {cell} should compute: {out:?}"),
        None => assert!(
            !out.contains("computing"),
            "cell {cell} should be a hit: {out:?}"
        ),
    }
}

#[test]
#[ignore = "drives two evcxr kernels (about two minutes); run by .ci/notebooks.sh"]
fn redefinition_restart_and_twenty_cells() {
    let Some(binary) = find_binary() else {
        assert!(
            std::env::var("FLECHE_REQUIRE_EVCXR").as_deref() != Ok("1"),
            "FLECHE_REQUIRE_EVCXR=1 but the evcxr REPL is not installed"
        );
        eprintln!("skipped: the evcxr REPL is not installed (cargo install evcxr_repl)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let build = tempfile::tempdir().unwrap();
    let core = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core")
        .canonicalize()
        .unwrap();
    let dep = format!(
        ":dep fleche = {{ path = {:?} }}",
        core.display().to_string()
    );
    let session = Session::new(&binary, dir.path(), config.path()).build_dir(build.path());

    let mut cells: Vec<String> = vec![
        dep.clone(),
        "use fleche::fleche;".into(),
        FDS.into(),
        AREA_V1.into(),
        "println!(\"r={}\", area(3, 4));".into(),
        "println!(\"r={}\", area(3, 4));".into(),
        AREA_V2.into(),
        "println!(\"r={}\", area(3, 4));".into(),
        AREA_V1.into(),
        "println!(\"r={}\", area(3, 4));".into(),
        CELL.into(),
    ];
    let first_loop = cells.len();
    for i in 0..20 {
        cells.push(format!(
            "let a: u64 = area({i}, 2); println!(\"cell {i}: a={{a}} fds={{}}\", cache_fds());"
        ));
    }
    let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
    let t = session.run(&refs).unwrap();
    eprintln!("first session: {:?}", t.elapsed);
    check(&t, 4, "r=12", Some("computing area v1"));
    check(&t, 5, "r=12", None);
    check(&t, 7, "r=13", Some("computing area v2"));
    check(&t, 9, "r=12", None);
    check(&t, 10, "s=42", Some("computing cell"));
    let mut most = 0;
    for i in 0..20 {
        let out = t.cell(first_loop + i);
        let fds: usize = out
            .split("fds=")
            .nth(1)
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("cell {i} printed {out:?}\nstderr:\n{}", t.stderr));
        most = most.max(fds);
    }
    eprintln!("most handles on the cache file during the twenty cells: {most}");
    assert!(
        most <= 2,
        "cells keep handles open: {most} on the cache file"
    );
    assert!(
        !t.stderr.contains("DatabaseAlreadyOpen") && !t.stderr.contains("uncached"),
        "{}",
        t.stderr
    );

    // A restart: a new process, nothing in memory, everything from the file.
    let t = session
        .run(&[
            &dep,
            "use fleche::fleche;",
            AREA_V1,
            "println!(\"r={}\", area(3, 4));",
            AREA_V2,
            "println!(\"r={}\", area(3, 4));",
            CELL,
            "println!(\"r={}\", area(19, 2));",
        ])
        .unwrap();
    eprintln!("second session: {:?}", t.elapsed);
    check(&t, 3, "r=12", None);
    check(&t, 5, "r=13", None);
    check(&t, 6, "s=42", None);
    check(&t, 7, "r=39", Some("computing area v2"));

    let report = fleche_evcxr::check::check_cache(&dir.path().join(".fleche/cache.redb")).unwrap();
    assert!(report.intact, "redb's integrity check failed");
    assert!(
        !report.needs_repair,
        "the REPL's exit left the file needing repair"
    );
    // area v1: (3,4) and (0..20, 2); v2: (3,4) and (19,2); one cell.
    assert_eq!(report.calls, 1 + 20 + 2 + 1);
}
