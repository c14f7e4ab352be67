//! Tables: shortened keys, columns, lazy value columns, output formats and row filters.

use std::collections::BTreeMap;

use fleche::record::{CallRecord, Metadata};
use fleche::{Cache, Digest, fleche, tags};

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche]
fn label(name: &str, walltime: f64) -> String {
    format!("{name}:{walltime}")
}

#[fleche]
fn describe(points: Vec<f64>, title: String) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    out.insert(title, points.iter().sum());
    out
}

/// A cache of `n` records written straight through the store (no function runs).
fn bulk(n: usize) -> Cache {
    let cache = Cache::memory();
    let value = fleche::digest(&1i64);
    let bytes = fleche::codec::encode(&1i64).unwrap();
    let t0 = chrono::Utc::now();
    let calls: Vec<(Digest, CallRecord)> = (0..n)
        .map(|i| {
            let key = fleche::digest(&("bulk", i));
            let record = CallRecord {
                name: format!("f{}", i % 7),
                module: "bulk".into(),
                version: None,
                code: None,
                arguments: vec![("x".into(), value)],
                argument_keys: Vec::new(),
                result: value,
                result_type: "i64".into(),
                result_size: bytes.len() as u64,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::microseconds(i as i64),
                    timestop: t0 + chrono::Duration::microseconds(i as i64 + 1),
                    walltime: 1e-6,
                    tags: BTreeMap::new(),
                    ..Default::default()
                },
            };
            (key, record)
        })
        .collect();
    cache.insert_records(&calls, &[(value, bytes)]).unwrap();
    cache
}

/// The shortest prefix (>= 4) of `key` that no other key in `all` shares, by brute force.
fn brute_force_prefix(key: &str, all: &[String]) -> usize {
    (4..=64)
        .find(|&n| {
            all.iter()
                .filter(|other| other.as_str() != key)
                .all(|other| other[..n] != key[..n])
        })
        .unwrap()
}

#[test]
fn index_is_the_shortest_unambiguous_prefix_of_the_stored_key() {
    let cache = bulk(5000);
    let all: Vec<String> = cache
        .query()
        .keys()
        .unwrap()
        .iter()
        .map(Digest::to_string)
        .collect();
    assert_eq!(all.len(), 5000);
    for table in [cache.table(), cache.query().name("f3").table()] {
        let mut longer_than_minimum = 0;
        for (row, call) in table.rows().zip(table.calls()) {
            let full = call.key().to_string();
            assert!(full.starts_with(row.index()), "{} / {full}", row.index());
            assert_eq!(row.key(), call.key());
            assert_eq!(row.index().len(), brute_force_prefix(&full, &all), "{full}");
            if row.index().len() > 4 {
                longer_than_minimum += 1;
            }
        }
        assert!(
            longer_than_minimum > 0,
            "5000 keys need more than 4 characters somewhere"
        );
    }
    // Every shown prefix loads its call.
    for row in cache.query().name("f5").table().rows().take(50) {
        assert_eq!(cache.load(row.index()).unwrap().key(), row.key());
    }
}

#[test]
fn columns_metadata_and_tags() {
    let cache = Cache::memory();
    let _a = cache.activate();
    square(2);
    {
        let _t = tags!(project = "my_project", category = "testing");
        square(3);
    }
    let table = cache.table();
    assert_eq!(
        table.column_names(),
        [
            "key",
            "name",
            "module",
            "timestart",
            "timestop",
            "walltime",
            "cpu_user",
            "cpu_system",
            "peak_memory_growth",
            "category",
            "project"
        ]
    );
    let rows: Vec<_> = table.rows().collect();
    assert_eq!(
        rows[0].get("project"),
        None,
        "empty where a call has no tag"
    );
    assert_eq!(rows[1].get("project"), Some("my_project"));
    assert_eq!(rows[0].get("name"), Some("square"));
    assert_eq!(rows[0].get("module"), Some(module_path!()));
    assert_eq!(rows[0].get("nope"), None);
    // Local time, to the millisecond.
    let start = rows[0].get("timestart").unwrap();
    assert_eq!(start.len(), "2026-01-01 00:00:00.000".len(), "{start}");
    assert!(
        chrono::NaiveDateTime::parse_from_str(start, "%Y-%m-%d %H:%M:%S%.3f").is_ok(),
        "{start}"
    );
    assert!(rows[0].get("walltime").unwrap().parse::<f64>().is_ok());
}

#[test]
fn argument_and_result_columns_read_only_their_values() {
    let cache = Cache::memory();
    let _a = cache.activate();
    for x in 0..4 {
        square(x);
    }
    let reads = cache.value_reads();
    let table = square::query().table();
    assert_eq!(cache.value_reads(), reads);
    let table = table.arguments(["x"]);
    assert_eq!(cache.value_reads(), reads + 4, "one read per row for x");
    let table = table.results();
    assert_eq!(
        cache.value_reads(),
        reads + 8,
        "one read per row for the result"
    );
    assert_eq!(
        &table.column_names()[..5],
        ["key", "name", "module", "result", "x"]
    );
    let rows: Vec<_> = table.rows().collect();
    assert_eq!(rows[3].get("x"), Some("3"));
    assert_eq!(rows[3].get("result"), Some("9"));
    // A call without the argument has an empty cell.
    label("a", 1.5);
    let mixed = cache.table().arguments(["x"]);
    let empty: Vec<_> = mixed
        .rows()
        .filter(|r| r.get("name") == Some("label"))
        .collect();
    assert_eq!(empty[0].get("x"), None);
}

#[test]
fn clashing_argument_names_are_prefixed() {
    let cache = Cache::memory();
    let _a = cache.activate();
    label("hello", 2.5);
    let table = cache.table().all_arguments().results();
    let columns = table.column_names();
    assert!(columns.contains(&"a_name".to_owned()), "{columns:?}");
    assert!(columns.contains(&"a_walltime".to_owned()), "{columns:?}");
    let row = table.rows().next().unwrap();
    assert_eq!(row.get("name"), Some("label"));
    assert_eq!(row.get("a_name"), Some("hello"));
    assert_eq!(row.get("a_walltime"), Some("2.5"));
    assert_eq!(row.get("result"), Some("hello:2.5"));
}

#[test]
fn cells_show_values_readably() {
    let cache = Cache::memory();
    let _a = cache.activate();
    describe(vec![1.0, 2.5, 4.0], String::from("total"));
    let table = cache.table().all_arguments().results();
    let row = table.rows().next().unwrap();
    let points = row.get("points").unwrap();
    assert!(points.contains("2.5"), "{points}");
    assert!(points.starts_with('['), "{points}");
    let result = row.get("result").unwrap();
    assert!(
        result.contains("total") && result.contains("7.5"),
        "{result}"
    );
}

#[test]
fn empty_cache_tables() {
    let cache = Cache::memory();
    let table = cache.table();
    assert!(table.is_empty());
    assert_eq!(table.len(), 0);
    let text = table.to_string();
    assert!(text.starts_with("key"), "{text}");
    assert!(text.contains("no calls"), "{text}");
    assert_eq!(
        table.to_csv(),
        "key,name,module,timestart,timestop,walltime\n"
    );
    assert!(table.to_markdown().contains("| key | name |"));
    assert!(table.to_html().contains("<th>key</th>"));
    let table = table.arguments(["x"]).results();
    assert_eq!(table.len(), 0);
    assert!(cache.query().name("x").table().is_empty());
}

#[test]
fn outputs_escape_and_cut() {
    let cache = bulk(60);
    let table = cache.table();
    let text = table.to_string();
    assert!(text.contains("20 more rows"), "{text}");
    assert_eq!(text.lines().count(), 1 + 40 + 1);
    let all = table.clone().max_rows(usize::MAX).to_string();
    assert!(!all.contains("more rows"));
    assert_eq!(table.to_csv().lines().count(), 61, "CSV has every row");
    let md = table.clone().max_rows(2).to_markdown();
    assert!(md.contains("58 more rows"), "{md}");
    assert_eq!(md.lines().filter(|l| l.starts_with('|')).count(), 4);

    let cache = Cache::memory();
    let _a = cache.activate();
    label("<b>\"x\", y|z", 1.0);
    let table = cache.table().arguments(["name"]);
    let html = table.to_html();
    assert!(html.contains("&lt;b&gt;&quot;x&quot;, y|z"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    let csv = table.to_csv();
    assert!(csv.contains("\"<b>\"\"x\"\", y|z\""), "{csv}");
    let md = table.to_markdown();
    assert!(md.contains("y\\|z"), "{md}");
}

#[test]
fn row_filters() {
    let cache = Cache::memory();
    let _a = cache.activate();
    square(1);
    square(2);
    label("a", 1.0);
    let no_square = cache
        .table()
        .filter(|row| row.get("name") != Some("square"));
    assert_eq!(no_square.len(), 1);
    assert_eq!(cache.table().without("name", "square").len(), 1);
    assert_eq!(cache.table().where_eq("name", "square").len(), 2);
    let unknown = cache.table().without("nme", "square");
    assert_eq!(unknown.len(), 3);
    assert!(unknown.notes()[0].contains("no column `nme`"));
    assert!(unknown.to_string().contains("no column `nme`"));
    assert_eq!(cache.table().head(1).len(), 1);
}

#[test]
fn a_failed_query_shows_its_error() {
    let cache = Cache::memory();
    let table = cache.query().metadata("").table();
    assert!(table.is_empty());
    assert!(table.to_string().contains("empty metadata namespace"));
    assert!(cache.query().metadata("").try_table().is_err());
}

#[cfg(feature = "polars")]
#[test]
fn converts_to_polars() {
    let cache = Cache::memory();
    let _a = cache.activate();
    square(2);
    {
        let _t = tags!(project = "p");
        square(3);
    }
    let table = cache.table().arguments(["x"]);
    let df = table.to_polars().unwrap();
    assert_eq!(df.height(), 2);
    // The frame has the table's columns, in its order: the argument and the tag among them.
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, table.column_names());
    assert!(names.contains(&"x".to_owned()) && names.contains(&"project".to_owned()));
    assert!(df.column("project").unwrap().null_count() == 1);
    assert!(matches!(
        df.column("timestart").unwrap().dtype(),
        polars::prelude::DataType::Datetime(_, _)
    ));
}

#[test]
fn shown_prefixes_load_calls_even_when_a_value_digest_shares_them() {
    let cache = bulk(1);
    let key = cache.query().keys().unwrap()[0];
    // A value stored under a digest that agrees with the call key on its first 31 bytes.
    let mut near = *key.as_bytes();
    near[31] ^= 1;
    let value = fleche::codec::encode(&5i64).unwrap();
    cache
        .insert_records(&[], &[(Digest::from_bytes(near), value)])
        .unwrap();
    let table = cache.table();
    let index = table.index().next().unwrap().to_owned();
    assert_eq!(index.len(), 4, "prefixes are unambiguous among call keys");
    assert_eq!(cache.load(index.as_str()).unwrap().key(), key);
    assert!(matches!(
        cache.expand(&index),
        Err(fleche::Error::AmbiguousDigest { .. })
    ));
}

mod old_body {
    /// An earlier edit of `energy` (same name and module, another body).
    #[fleche::fleche(name = "energy", module = "table_tests")]
    pub fn energy(x: i64) -> i64 {
        x * 10
    }
}

mod new_body {
    /// The current definition of `energy`.
    #[fleche::fleche(name = "energy", module = "table_tests")]
    pub fn energy(x: i64) -> i64 {
        x * 100
    }
}

#[fleche(module = "table_tests")]
fn steady(x: i64) -> i64 {
    x
}

#[test]
fn rows_from_different_definitions_show_their_version() {
    let cache = Cache::memory();
    let _active = cache.activate();
    steady(1);
    steady(2);
    // One definition only: no version column.
    let table = steady::query().table();
    assert!(!table.column_names().contains(&"version".to_owned()));

    old_body::energy(1);
    new_body::energy(1);
    let table = new_body::energy::query().table().arguments(["x"]).results();
    let names = table.column_names();
    assert_eq!(&names[..4], ["key", "name", "module", "version"]);
    let rows: Vec<_> = table.rows().collect();
    assert_eq!(rows.len(), 2, "both definitions' calls are listed");
    let cells: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.get("result").unwrap(), r.get("version").unwrap()))
        .collect();
    let older = cells.iter().find(|(result, _)| *result == "10").unwrap().1;
    let current = cells.iter().find(|(result, _)| *result == "100").unwrap().1;
    assert!(older.ends_with(" (older)"), "{older}");
    assert!(!current.contains("older"), "{current}");
    assert_eq!(
        current.len(),
        8,
        "the code digest's first 8 hex digits: {current}"
    );
    assert_ne!(&older[..8], current, "the two rows name different code");
    // The current definition only: one row, and no column since it no longer differs.
    let table = new_body::energy::query().current_only().table();
    assert_eq!(table.len(), 1);
    assert!(!table.column_names().contains(&"version".to_owned()));
    // A table over the whole cache shows the column, without marks (no current definition).
    let all = cache.table();
    let marks: Vec<String> = all
        .rows()
        .filter(|r| r.get("name") == Some("energy"))
        .map(|r| r.get("version").unwrap().to_owned())
        .collect();
    assert_eq!(marks.len(), 2);
    assert!(marks.iter().all(|m| !m.contains("older")), "{marks:?}");
    assert!(all.to_markdown().contains("| version |"));
}

/// A table of a whole cache file is built from what the query gathered while reading the
/// records (tag key columns, built-in namespaces, whether a `version` column is needed); a
/// table after a pipeline step goes through its calls again. Both give the same table, for
/// calls with tags of every type, every built-in namespace and two definitions of a function.
#[test]
fn a_table_gathered_while_reading_equals_one_gathered_from_its_calls() {
    use fleche::TagValue;
    use fleche::record::{Environment, Git, Resources};
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("gathered.redb")).unwrap();
    let value = fleche::digest(&1i64);
    let bytes = fleche::codec::encode(&1i64).unwrap();
    let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let calls: Vec<(Digest, CallRecord)> = (0..300)
        .map(|i: usize| {
            let mut tags = BTreeMap::new();
            match i % 5 {
                0 => {
                    tags.insert("project".to_owned(), TagValue::from(format!("p{}", i % 3)));
                }
                1 => {
                    tags.insert("temperature".to_owned(), TagValue::Int(i as i64 - 100));
                    tags.insert("ratio".to_owned(), TagValue::Float(i as f64 / 7.0));
                }
                2 => {
                    tags.insert("relaxed".to_owned(), TagValue::Bool(i.is_multiple_of(2)));
                }
                _ => {}
            }
            let record = CallRecord {
                name: format!("f{}", i % 4),
                module: "gathered".into(),
                // f0 has calls of two definitions: a `version` column, one `(older)` row.
                version: i.is_multiple_of(8).then(|| "2".to_owned()),
                code: None,
                arguments: vec![("x".into(), value)],
                argument_keys: Vec::new(),
                result: value,
                result_type: "i64".into(),
                result_size: bytes.len() as u64,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::milliseconds(i as i64 % 50),
                    timestop: t0 + chrono::Duration::milliseconds(i as i64 % 50 + 1),
                    walltime: 1e-3,
                    tags,
                    environment: i.is_multiple_of(7).then(|| Environment {
                        hostname: "h".into(),
                        user: "u".into(),
                        ..Default::default()
                    }),
                    git: i.is_multiple_of(11).then(|| Git {
                        commit: Some("abc".into()),
                        branch: None,
                        dirty: Some(false),
                    }),
                    resources: i.is_multiple_of(13).then_some(Resources {
                        cpu_user: Some(0.5),
                        cpu_system: None,
                        peak_memory_growth: Some(4096),
                    }),
                    ..Default::default()
                },
            };
            (fleche::digest(&("gathered", i)), record)
        })
        .collect();
    cache.insert_records(&calls, &[(value, bytes)]).unwrap();
    let gathered = cache.table();
    let again = cache.query().filter(|_| true).table();
    assert_eq!(gathered.len(), 300);
    assert_eq!(gathered.column_names(), again.column_names());
    assert_eq!(gathered.to_csv(), again.to_csv());
    let columns = gathered.column_names();
    for column in [
        "version",
        "project",
        "temperature",
        "ratio",
        "relaxed",
        "hostname",
        "commit",
        "cpu_user",
    ] {
        assert!(
            columns.iter().any(|c| c == column),
            "{column} in {columns:?}"
        );
    }
    // Oldest first, ties of start time in key order, as before.
    let order: Vec<(chrono::DateTime<chrono::Utc>, Digest)> = gathered
        .calls()
        .map(|c| (c.metadata().timestart, c.key()))
        .collect();
    assert!(order.is_sorted());
    // The same calls by name: one function, no second definition, no `version` column.
    let f1 = cache.query().name("f1").table();
    assert_eq!(f1.len(), 75);
    assert!(!f1.column_names().iter().any(|c| c == "version"));
    assert_eq!(
        f1.to_csv(),
        cache.query().name("f1").filter(|_| true).table().to_csv()
    );
}

/// Records of `f(x) = x * x` for `xs` (and calls of `g`, which has no `x`, for every third),
/// written straight through the store with the values in `values_of` only.
fn squares(cache: &Cache, xs: std::ops::Range<i64>, stored: impl Fn(i64) -> bool) {
    let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut values = Vec::new();
    let calls: Vec<(Digest, CallRecord)> = xs
        .map(|i| {
            let (x, result) = square_of(i, !stored(i));
            let (arg, res) = (fleche::digest(&x), fleche::digest(&result));
            if stored(i) {
                values.push((arg, fleche::codec::encode(&x).unwrap()));
                values.push((res, fleche::codec::encode(&result).unwrap()));
            }
            let name = if i % 3 == 0 { "g" } else { "f" };
            let record = CallRecord {
                name: name.into(),
                module: "squares".into(),
                version: None,
                code: None,
                arguments: if name == "f" {
                    vec![("x".into(), arg)]
                } else {
                    vec![("y".into(), arg)]
                },
                argument_keys: Vec::new(),
                result: res,
                result_type: "i64".into(),
                result_size: 9,
                metadata: Metadata {
                    timestart: t0 + chrono::Duration::microseconds(i),
                    timestop: t0 + chrono::Duration::microseconds(i + 1),
                    walltime: 1e-6,
                    tags: BTreeMap::new(),
                    ..Default::default()
                },
            };
            (fleche::digest(&("squares", i)), record)
        })
        .collect();
    values.sort();
    values.dedup();
    cache.insert_records(&calls, &values).unwrap();
}

/// The argument and result of call `i` of [`squares`]: ten argument values shared by many
/// calls, a result per call; a call whose values are `missing` has its own argument value,
/// which no other call stores.
fn square_of(i: i64, missing: bool) -> (i64, i64) {
    let x = if missing { -i - 1 } else { i % 10 };
    (x, i * 1000 + x * x)
}

/// The `x` and `result` cells a table should show for call `i` of [`squares`] whose values
/// are stored unless `missing`.
fn expected_cells(i: i64, missing: bool) -> (String, String) {
    let (x, result) = square_of(i, missing);
    let x_cell = match (i % 3 == 0, missing) {
        (true, _) => String::new(),
        (false, true) => "<error".into(),
        (false, false) => x.to_string(),
    };
    let result_cell = if missing {
        "<error".into()
    } else {
        result.to_string()
    };
    (x_cell, result_cell)
}

/// Value columns read a cache file's values together, and through a stack layer by layer:
/// each cell is its call's own value, a call without the argument has an empty cell, and a
/// value that is not stored shows an error in its cell only, naming the call and field.
#[test]
fn value_columns_show_each_calls_own_values_from_files_and_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let file = Cache::open(dir.path().join("file.redb")).unwrap();
    // Calls 0..600; the values of every 97th are not stored.
    let missing = |i: i64| i % 97 == 5;
    squares(&file, 0..600, |i| !missing(i));
    let lower = Cache::open(dir.path().join("lower.redb")).unwrap();
    squares(&lower, 600..700, |_| true);
    let stack = fleche::Stack::new()
        .cache("file", file.clone())
        .read_only("lower", lower.clone())
        .build()
        .unwrap();
    for (cache, calls) in [(&file, 0..600), (&stack, 0..700)] {
        let table = cache.table().arguments(["x"]).results();
        assert_eq!(table.len(), calls.end as usize);
        let mut checked = 0;
        for (row, i) in table.rows().zip(calls) {
            assert_eq!(
                row.key(),
                fleche::digest(&("squares", i)),
                "rows in time order"
            );
            let (x, result) = expected_cells(i, missing(i) && i < 600);
            let (x_cell, result_cell) = (row.get("x").unwrap_or(""), row.get("result").unwrap());
            if result.starts_with("<error") {
                assert!(
                    result_cell.contains("result was not stored"),
                    "{result_cell}"
                );
                if x.is_empty() {
                    assert_eq!(x_cell, "");
                } else {
                    assert!(
                        x_cell.starts_with("<error: f(") && x_cell.contains("argument `x`"),
                        "{x_cell}"
                    );
                }
                checked += 1;
            } else {
                assert_eq!(
                    (x_cell, result_cell),
                    (x.as_str(), result.as_str()),
                    "call {i}"
                );
            }
        }
        assert_eq!(
            checked, 7,
            "calls 5, 102, 199, 296, 393, 490 and 587 have no stored values"
        );
    }
}
