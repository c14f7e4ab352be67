//! Queries: every filter kind, wildcards, typed setters, the pipeline and its errors.

use chrono::Utc;
use fleche::{Cache, D, Error, Field, fleche, tags};

#[fleche]
fn square(x: i64) -> i64 {
    x * x
}

#[fleche]
fn double(x: i64) -> i64 {
    x * 2
}

#[fleche]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[fleche]
fn greet(name: &str, times: u32) -> String {
    name.repeat(times as usize)
}

#[fleche]
fn maybe(x: Option<i64>) -> i64 {
    x.unwrap_or(-1)
}

#[fleche]
fn unit(x: ()) -> u8 {
    let () = x;
    7
}

/// A parameter named like a query method must not be shadowed.
#[fleche]
fn annotate(metadata: i64, take: i64) -> i64 {
    metadata + take
}

#[fleche(version = "2")]
fn versioned(x: i64) -> i64 {
    x + 2
}

#[fleche(name = "shared", module = "tests::versions")]
fn shared_v1(x: i64) -> i64 {
    x + 1
}

#[fleche(name = "shared", module = "tests::versions")]
fn shared_v2(x: i64) -> i64 {
    x + 1000
}

mod nested {
    use fleche::fleche;

    #[fleche]
    pub fn inner(x: i64) -> i64 {
        x - 1
    }
}

#[derive(serde::Serialize)]
struct Model {
    val: i64,
}

impl fleche::CacheKey for Model {
    fn cache_key(&self) -> fleche::Digest {
        fleche::digest(&self.val)
    }
}

impl Model {
    #[fleche]
    fn shift(&self, by: i64) -> i64 {
        self.val + by
    }
}

fn fresh() -> (Cache, fleche::ActiveCache) {
    let cache = Cache::memory();
    let active = cache.activate();
    (cache, active)
}

fn names(q: &fleche::Query) -> Vec<String> {
    let mut v: Vec<String> = q
        .calls()
        .unwrap()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn by_name_and_module() {
    let (cache, _a) = fresh();
    square(1);
    square(2);
    double(1);
    nested::inner(5);
    assert_eq!(cache.query().name("square").count().unwrap(), 2);
    assert_eq!(cache.query().name("nope").count().unwrap(), 0);
    let here = module_path!();
    assert_eq!(cache.query().module(here).count().unwrap(), 3);
    assert_eq!(
        names(&cache.query().module(format!("{here}::nested"))),
        ["inner"]
    );
    assert_eq!(names(&cache.query().name_like("sq*")), ["square", "square"]);
    assert_eq!(names(&cache.query().name_like("*ble")), ["double"]);
    assert_eq!(names(&cache.query().name_like("d?uble")), ["double"]);
    assert_eq!(cache.query().module_like("*::nested").count().unwrap(), 1);
    assert_eq!(cache.query().module_like("*").count().unwrap(), 4);
    // Combined filters intersect.
    assert_eq!(
        cache.query().module(here).name("double").count().unwrap(),
        1
    );
}

#[test]
fn argument_across_functions_and_widths() {
    let (cache, _a) = fresh();
    square(100);
    double(100);
    double(3);
    add(100, 1);
    let q = cache.query().argument("x", 100);
    assert_eq!(names(&q), ["double", "square"]);
    // Integer digests do not depend on width.
    assert_eq!(cache.query().argument("x", 100i32).count().unwrap(), 2);
    assert_eq!(cache.query().argument("x", 100u8).count().unwrap(), 2);
    assert_eq!(cache.query().argument("a", 100).count().unwrap(), 1);
    assert_eq!(cache.query().argument("x", 101).count().unwrap(), 0);
    assert_eq!(cache.query().has_argument("b").count().unwrap(), 1);
    assert_eq!(cache.query().has_argument("x").count().unwrap(), 3);
    // A digest prefix of a stored value, resolved when the query runs.
    let prefix = fleche::digest(&3i64).to_string()[..10].to_owned();
    assert_eq!(
        cache
            .query()
            .argument_prefix("x", prefix.as_str())
            .count()
            .unwrap(),
        1
    );
    assert!(matches!(
        cache.query().argument_prefix("x", "zz").count(),
        Err(Error::NotHex { .. })
    ));
}

#[test]
fn typed_setters_and_wildcards() {
    let (_cache, _a) = fresh();
    add(1, 2);
    add(1, 3);
    add(2, 3);
    assert_eq!(add::query().count().unwrap(), 3);
    assert_eq!(add::query().arg_a(1).count().unwrap(), 2); // b is a wildcard
    assert_eq!(add::query().arg_b(3).count().unwrap(), 2); // a is a wildcard
    assert_eq!(
        add::query()
            .with(1, 3)
            .only()
            .unwrap()
            .result::<i64>()
            .unwrap(),
        4
    );
    assert_eq!(add::query().arg_a(1).arg_b(2).count().unwrap(), 1);
    // Setters and query methods chain in any order.
    assert_eq!(add::query().take(1).arg_a(2).count().unwrap(), 1);
    greet("ab", 2);
    greet("cd", 2);
    assert_eq!(greet::query().arg_name("ab").count().unwrap(), 1);
    assert_eq!(greet::query().arg_times(2).count().unwrap(), 2);
    assert_eq!(
        greet::query()
            .with("cd", 2)
            .only()
            .unwrap()
            .result::<String>()
            .unwrap(),
        "cdcd"
    );
}

/// A typed query has `Query`'s builders, generic ones included, and they narrow and order
/// its calls as on the untyped query.
#[test]
fn typed_queries_have_the_generic_builders() {
    let (_cache, _a) = fresh();
    add(2, 1);
    add(1, 1);
    add(3, 0);
    let firsts = |q: add::Query| -> Vec<i64> {
        q.calls()
            .unwrap()
            .iter()
            .map(|c| c.argument::<i64>("a").unwrap())
            .collect()
    };
    assert_eq!(firsts(add::query().sort_by_argument::<i64>("a")), [1, 2, 3]);
    assert_eq!(
        firsts(add::query().sort_by_key(|c| c.argument::<i64>("b").unwrap())),
        [3, 2, 1]
    );
    assert_eq!(firsts(add::query().argument("b", 1)), [2, 1]);
    assert_eq!(firsts(add::query().result(3).reverse()), [3, 2]);
    assert_eq!(
        firsts(add::query().filter(|c| c.result::<i64>().unwrap() > 2)),
        [2, 3]
    );
}

#[test]
fn typed_setter_accepts_a_digest_prefix() {
    let (_cache, _a) = fresh();
    square(10);
    square(11);
    let stored = fleche::digest(&10i64).to_string();
    let call = square::query().arg_x(D(&stored[..8])).only().unwrap();
    assert_eq!(call.result::<i64>().unwrap(), 100);
}

#[test]
fn none_and_unit_are_values_not_wildcards() {
    let (cache, _a) = fresh();
    maybe(None);
    maybe(Some(3));
    assert_eq!(maybe::query().count().unwrap(), 2);
    let none = maybe::query().arg_x(None).only().unwrap();
    assert_eq!(none.result::<i64>().unwrap(), -1);
    assert_eq!(maybe::query().arg_x(Some(3)).count().unwrap(), 1);
    assert_eq!(cache.query().argument("x", None::<i64>).count().unwrap(), 1);
    unit(());
    assert_eq!(unit::query().arg_x(()).count().unwrap(), 1);
    assert_eq!(unit::query().with(()).count().unwrap(), 1);
}

#[test]
fn a_parameter_named_metadata_is_not_shadowed() {
    let (_cache, _a) = fresh();
    {
        let _t = tags!(project = "p");
        annotate(1, 2);
    }
    annotate(3, 4);
    assert_eq!(annotate::query().arg_metadata(3).count().unwrap(), 1);
    assert_eq!(annotate::query().arg_take(2).count().unwrap(), 1);
    assert_eq!(annotate::query().metadata("tags").count().unwrap(), 1);
    assert_eq!(annotate::query().take(1).count().unwrap(), 1);
    assert_eq!(
        annotate::query()
            .with(1, 2)
            .metadata("tags")
            .only()
            .unwrap()
            .result::<i64>()
            .unwrap(),
        3
    );
}

#[test]
fn tags_and_metadata_filters() {
    let (cache, _a) = fresh();
    {
        let _t = tags!(project = "my_project", category = "testing");
        add(1, 2);
        {
            let _u = tags!(category = "other");
            add(3, 4);
        }
    }
    add(5, 6);
    assert_eq!(cache.query().has_tag("project").count().unwrap(), 2);
    assert_eq!(cache.query().tag("category", "testing").count().unwrap(), 1);
    assert_eq!(cache.query().tag("category", "nope").count().unwrap(), 0);
    assert_eq!(cache.query().metadata("tags").count().unwrap(), 2);
    assert_eq!(cache.query().metadata("runtime").count().unwrap(), 3);
    assert_eq!(cache.query().metadata("git").count().unwrap(), 0);
    assert_eq!(
        cache
            .query()
            .metadata_key("tags", "category")
            .count()
            .unwrap(),
        2
    );
    assert_eq!(
        cache
            .query()
            .metadata_eq("tags", "category", "other")
            .only()
            .unwrap()
            .argument::<i64>("a")
            .unwrap(),
        3
    );
    assert_eq!(
        add::query()
            .with(3, 4)
            .metadata_eq("tags", "project", "my_project")
            .count()
            .unwrap(),
        1
    );
    assert_eq!(
        cache
            .query()
            .metadata_key("runtime", "walltime")
            .count()
            .unwrap(),
        3
    );
    // Any name may be a collector's namespace: one no call has matches nothing.
    assert_eq!(cache.query().metadata("tagz").count().unwrap(), 0);
    assert_eq!(cache.query().metadata("resources").count().unwrap(), 3);
    let err = cache.query().metadata("").count().unwrap_err();
    assert!(matches!(err, Error::InvalidQuery { .. }), "{err}");
    assert!(err.to_string().contains("tags"), "{err}");
}

#[test]
fn by_result_and_time() {
    let (cache, _a) = fresh();
    square(3);
    double(2);
    let middle = Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    square(4);
    assert_eq!(names(&cache.query().result(9)), ["square"]);
    assert_eq!(cache.query().result(4i32).count().unwrap(), 1);
    assert_eq!(cache.query().result(5).count().unwrap(), 0);
    assert_eq!(cache.query().started_after(middle).count().unwrap(), 1);
    assert_eq!(cache.query().started_before(middle).count().unwrap(), 2);
    assert_eq!(
        cache
            .query()
            .started_after(middle)
            .started_before(middle)
            .count()
            .unwrap(),
        0
    );
    assert_eq!(
        cache
            .query()
            .started_after(std::time::SystemTime::UNIX_EPOCH)
            .count()
            .unwrap(),
        3
    );
}

#[test]
fn versions_and_code() {
    let (cache, _a) = fresh();
    versioned(1);
    square(1);
    assert_eq!(cache.query().version("2").count().unwrap(), 1);
    assert_eq!(names(&cache.query().unversioned()), ["square"]);
    // A function's query finds its calls whatever the version flags (Python's #916).
    assert_eq!(versioned::query().count().unwrap(), 1);
    assert_eq!(versioned::query().current_only().count().unwrap(), 1);
    let code = square::query().only().unwrap().code().unwrap();
    assert_eq!(cache.query().code(code).count().unwrap(), 1);

    // Two definitions recorded under one name and module: all versions by default,
    // the current definition's calls with current_only().
    shared_v1(1);
    shared_v2(2);
    assert_eq!(shared_v1::query().count().unwrap(), 2);
    let current = shared_v1::query().current_only().only().unwrap();
    assert_eq!(current.argument::<i64>("x").unwrap(), 1);
    let current = shared_v2::query().current_only().only().unwrap();
    assert_eq!(current.argument::<i64>("x").unwrap(), 2);
    assert_eq!(cache.query().module("tests::versions").count().unwrap(), 2);
    // current_only() on a query that is not a function's is an error, not an empty result.
    assert!(matches!(
        cache.query().current_only().count(),
        Err(Error::InvalidQuery { .. })
    ));
}

#[test]
fn method_queries() {
    let (cache, _a) = fresh();
    let mut m = Model { val: 10 };
    m.shift(1);
    m.shift(2);
    m.val = 20;
    m.shift(1);
    assert_eq!(Model::shift_query().count().unwrap(), 3);
    assert_eq!(Model::shift_query_with(&m, 1).count().unwrap(), 1);
    assert_eq!(
        Model::shift_query_with(&Model { val: 10 }, 2)
            .only()
            .unwrap()
            .result::<i64>()
            .unwrap(),
        12
    );
    // The receiver is identified through CacheKey, like the call key.
    assert_eq!(
        cache.query().argument("self", 10).count().unwrap(),
        2,
        "the receiver digest is its CacheKey"
    );
}

#[test]
fn pipeline() {
    let (cache, _a) = fresh();
    for x in [5, 3, 9, 1] {
        square(x);
    }
    let q = square::query();
    let xs = |q: &fleche::Query| -> Vec<i64> {
        q.calls()
            .unwrap()
            .iter()
            .map(|c| c.argument::<i64>("x").unwrap())
            .collect()
    };
    assert_eq!(xs(&q), [5, 3, 9, 1], "oldest first");
    assert_eq!(xs(&q.clone().reverse()), [1, 9, 3, 5]);
    assert_eq!(xs(&q.clone().take(2)), [5, 3]);
    assert_eq!(xs(&q.clone().skip(3)), [1]);
    assert_eq!(xs(&q.clone().sort_by_argument::<i64>("x")), [1, 3, 5, 9]);
    assert_eq!(
        xs(&q.clone().filter(|c| c.argument::<i64>("x").unwrap() > 4)),
        [5, 9]
    );
    assert_eq!(
        xs(&q.clone().sort_by_key(|c| -c.argument::<i64>("x").unwrap())),
        [9, 5, 3, 1]
    );
    assert_eq!(
        xs(&q.clone().sort_by(Field::TimeStart).reverse().take(1)),
        [1]
    );
    assert_eq!(q.results::<i64>().unwrap(), [25, 9, 81, 1]);
    assert_eq!(q.first().unwrap().unwrap().argument::<i64>("x").unwrap(), 5);
    assert_eq!(q.latest().unwrap().argument::<i64>("x").unwrap(), 1);
    assert_eq!(q.oldest().unwrap().argument::<i64>("x").unwrap(), 5);
    // Re-iterable: the same query sees new calls.
    square(7);
    assert_eq!(q.count().unwrap(), 5);
    let mut seen = 0;
    for call in &q {
        assert_eq!(call.name(), "square");
        seen += 1;
    }
    assert_eq!(seen, 5);
    assert_eq!(cache.query().take(0).count().unwrap(), 0);
}

#[test]
fn only_latest_and_oldest_errors() {
    let (cache, _a) = fresh();
    let err = cache.query().name("square").only().unwrap_err();
    assert!(matches!(err, Error::NoMatch { .. }), "{err}");
    assert!(err.to_string().contains("name = square"), "{err}");
    assert!(matches!(cache.query().latest(), Err(Error::NoMatch { .. })));
    assert!(matches!(cache.query().oldest(), Err(Error::NoMatch { .. })));
    assert!(cache.query().first().unwrap().is_none());
    square(1);
    square(2);
    match square::query().only() {
        Err(Error::NotUnique { found, .. }) => assert_eq!(found, 2),
        other => panic!("expected NotUnique, got {other:?}"),
    }
    assert!(square::query().arg_x(2).only().is_ok());
}

#[test]
fn group_by_fields_and_arguments() {
    let (cache, _a) = fresh();
    {
        let _t = tags!(project = "a");
        square(1);
        square(2);
    }
    double(1);
    let by_name = cache.query().group_by(Field::Name).unwrap();
    assert_eq!(by_name.len(), 2);
    assert_eq!(by_name[&Some("square".to_owned())].count().unwrap(), 2);
    assert_eq!(by_name[&Some("double".to_owned())].count().unwrap(), 1);
    let by_tag = cache
        .query()
        .group_by(Field::Tag("project".into()))
        .unwrap();
    assert_eq!(by_tag[&Some("a".to_owned())].count().unwrap(), 2);
    assert_eq!(
        by_tag[&None].count().unwrap(),
        1,
        "untagged calls are grouped under None"
    );
    let by_x = cache.query().group_by_argument::<i64>("x").unwrap();
    assert_eq!(by_x[&1].count().unwrap(), 2);
    assert_eq!(by_x[&2].count().unwrap(), 1);
    // A group is a query: it can be narrowed and tabled.
    assert_eq!(by_x[&1].clone().name("double").count().unwrap(), 1);
    assert_eq!(by_x[&1].table().len(), 2);
    add(1, 1);
    let err = cache.query().group_by_argument::<i64>("x").unwrap_err();
    assert!(matches!(err, Error::NoSuchArgument { .. }), "{err}");
    let err = square::query()
        .group_by_argument::<String>("x")
        .unwrap_err();
    assert!(matches!(err, Error::WrongType { .. }), "{err}");
}

#[test]
fn evict_removes_only_the_matching_calls() {
    let (cache, _a) = fresh();
    square(1);
    square(2);
    double(1);
    assert_eq!(square::query().arg_x(1).evict().unwrap(), 1);
    assert_eq!(cache.len().unwrap(), 2);
    assert!(!square::contains(1));
    assert!(square::contains(2));
    assert_eq!(cache.query().has_argument("x").count().unwrap(), 2);
    assert_eq!(cache.query().evict().unwrap(), 2);
    assert!(cache.is_empty().unwrap());
    // The indexes were cleaned too.
    assert_eq!(cache.query().name("square").count().unwrap(), 0);
}

#[test]
fn indexed_filters_read_only_their_records() {
    let cache = Cache::memory();
    let _a = cache.activate();
    for x in 0..300 {
        square(x);
    }
    {
        let _t = tags!(run = "r1");
        for x in 0..5 {
            double(x);
        }
    }
    let before = cache.record_reads();
    assert_eq!(cache.query().name("double").count().unwrap(), 5);
    assert_eq!(cache.record_reads() - before, 5, "name uses the index");
    let before = cache.record_reads();
    assert_eq!(cache.query().tag("run", "r1").count().unwrap(), 5);
    assert_eq!(cache.query().has_tag("run").count().unwrap(), 5);
    assert_eq!(cache.record_reads() - before, 10, "tags use the index");
    let before = cache.record_reads();
    assert_eq!(cache.query().argument("x", 3).count().unwrap(), 2);
    assert_eq!(cache.record_reads() - before, 2, "arguments use the index");
    let before = cache.record_reads();
    assert_eq!(
        cache
            .query()
            .module(module_path!())
            .name("double")
            .argument("x", 4)
            .count()
            .unwrap(),
        1
    );
    assert_eq!(
        cache.record_reads() - before,
        1,
        "index hits are intersected"
    );
    let before = cache.record_reads();
    assert_eq!(cache.query().version("9").count().unwrap(), 0);
    assert_eq!(
        cache.record_reads() - before,
        305,
        "version is checked on every record"
    );
}

#[test]
fn queries_never_read_values_until_asked() {
    let cache = Cache::memory();
    let _a = cache.activate();
    for x in 0..10 {
        square(x);
    }
    let reads = cache.value_reads();
    let calls = square::query().calls().unwrap();
    let _ = square::query().count().unwrap();
    let _ = square::query().arg_x(3).only().unwrap();
    let _ = cache.table();
    let _ = square::query().table().to_string();
    assert_eq!(cache.value_reads(), reads, "records only");
    assert_eq!(calls[2].result::<i64>().unwrap(), 4);
    assert_eq!(cache.value_reads(), reads + 1);
    let _ = calls[2].argument::<i64>("x").unwrap();
    assert_eq!(cache.value_reads(), reads + 2);
    let fetched = calls[3].fetch().unwrap();
    assert_eq!(
        cache.value_reads(),
        reads + 4,
        "fetch reads the argument and the result"
    );
    assert_eq!(fetched.result::<i64>().unwrap(), 9);
    assert_eq!(fetched.argument::<i64>("x").unwrap(), 3);
    assert_eq!(
        cache.value_reads(),
        reads + 4,
        "a fetched call reads nothing more"
    );
}

#[test]
fn decoding_errors_name_the_call_the_field_and_both_types() {
    let (cache, _a) = fresh();
    square(3);
    let call = square::query().only().unwrap();
    let err = call.result::<String>().unwrap_err().to_string();
    assert!(err.contains("square("), "{err}");
    assert!(err.contains("result"), "{err}");
    assert!(err.contains("String"), "{err}");
    assert!(err.contains("i64"), "{err}");
    let err = call.argument::<Vec<String>>("x").unwrap_err().to_string();
    assert!(err.contains("argument `x`"), "{err}");
    assert!(err.contains("Vec<alloc::string::String>"), "{err}");
    assert!(err.contains('3'), "the stored value is described: {err}");
    let fetched = cache.load(square::digest(3)).unwrap().fetch().unwrap();
    let err = fetched.result::<String>().unwrap_err().to_string();
    assert!(err.contains("square(") && err.contains("i64"), "{err}");
}

#[test]
fn query_on_a_chosen_cache() {
    let one = Cache::memory();
    let two = Cache::memory();
    {
        let _a = one.activate();
        square(1);
    }
    let _b = two.activate();
    assert_eq!(square::query().count().unwrap(), 0);
    assert_eq!(square::query().on(&one).count().unwrap(), 1);
    assert_eq!(one.query().count().unwrap(), 1);
}

#[test]
fn query_shows_as_its_table() {
    let (_cache, _a) = fresh();
    square(2);
    let text = square::query().to_string();
    assert!(text.starts_with("key"), "{text}");
    assert!(text.contains("square"), "{text}");
    let debug = format!("{:?}", square::query().arg_x(2).take(3));
    assert!(
        debug.contains("name = square") && debug.contains("take(3)"),
        "{debug}"
    );
}

#[test]
fn a_file_cache_query_sees_calls_made_just_before() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("c.redb")).unwrap();
    let _a = cache.activate();
    for x in 0..20 {
        square(x);
    }
    assert_eq!(square::query().count().unwrap(), 20);
    assert_eq!(
        square::query()
            .arg_x(7)
            .only()
            .unwrap()
            .result::<i64>()
            .unwrap(),
        49
    );
    assert_eq!(cache.table().len(), 20);
}

#[test]
fn queries_calls_and_tables_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<fleche::Query>();
    send_sync::<square::Query>();
    send_sync::<fleche::Call>();
    send_sync::<fleche::Table>();
    let (cache, _a) = fresh();
    square(4);
    let q = square::query().filter(|c| c.name() == "square");
    let n = std::thread::spawn(move || q.on(&cache).count().unwrap())
        .join()
        .unwrap();
    assert_eq!(n, 1);
}
