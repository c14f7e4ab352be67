//! A cache shared through a real PostgreSQL server (a throwaway cluster each test starts):
//! compute once across processes with their own local files, a killed holder, the server
//! stopped and started again mid-run, large values, the schema version, queries.
//!
//! Without a server these tests say so and check nothing; `FLECHE_REQUIRE_POSTGRES=1` (as
//! `.ci/run` sets) makes that a failure.

use std::path::Path;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use fleche::fleche;
use fleche_tests::postgres::Postgres;
use fleche_tests::workers::{finish, finish_within, runs, wait_for_a_body};

const WORKER: &str = env!("CARGO_BIN_EXE_slow-worker");

fn spawn(cache: &str, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    fleche_tests::workers::spawn(WORKER, cache, log, args, env)
}

/// A local file of its own above the shared database: one "machine".
fn machine(dir: &Path, name: &str, server: &Postgres) -> String {
    let file = dir.join(format!("{name}.redb"));
    drop(fleche::Cache::open(&file).unwrap());
    format!("{}+{}", file.display(), server.url())
}

fn sql(server: &Postgres) -> postgres::Client {
    postgres::Client::connect(&server.url(), postgres::NoTls).expect("a connection for checks")
}

fn count(server: &Postgres, query: &str) -> i64 {
    sql(server).query_one(query, &[]).unwrap().get(0)
}

#[test]
fn four_processes_on_one_database_run_each_body_once() {
    let Some(server) = Postgres::for_test("four_processes_on_one_database_run_each_body_once")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    // The schema exists before the four start, as it would on a team's server.
    drop(fleche::Cache::postgres(&server.url()).unwrap());
    let workers: Vec<Child> = (0..4)
        .map(|i| {
            let cache = machine(dir.path(), &format!("m{i}"), &server);
            let from = (i * 5).to_string();
            spawn(&cache, &log, &["keys", "20", &from, "200"], &[])
        })
        .collect();
    let expected: u64 = (0..20u64).map(|k| k * k).sum();
    let mut stderr = String::new();
    for child in workers {
        let out = finish(child);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("done {expected}")
        );
        stderr.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    let runs = runs(&log);
    assert_eq!(runs.len(), 20, "every key ran: {runs:?}");
    for (k, pids) in &runs {
        assert_eq!(
            pids.len(),
            1,
            "key {k} ran {} times: {runs:?}\n{stderr}",
            pids.len()
        );
    }
    assert_eq!(count(&server, "SELECT count(*) FROM fleche_calls"), 20);
    assert_eq!(
        count(&server, "SELECT count(*) FROM fleche_claims"),
        0,
        "every lease ended with its push"
    );
}

#[test]
fn a_killed_holder_on_the_database_is_taken_over_within_the_lease() {
    let Some(server) = Postgres::for_test("a_killed_holder_on_the_database") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let lease = [("FLECHE_LEASE", "1")];
    let mut holder = spawn(
        &machine(dir.path(), "a", &server),
        &log,
        &["key", "7", "60000"],
        &lease,
    );
    wait_for_a_body(&log);
    let waiter = spawn(
        &machine(dir.path(), "b", &server),
        &log,
        &["key", "7", "60000"],
        &[("FLECHE_LEASE", "1"), ("FLECHE_TEST_SLEEP_MS", "0")],
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        runs(&log)[&7].len(),
        1,
        "the waiter took over a live holder"
    );
    let holder_pid = holder.id();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let out = finish_within(waiter, Duration::from_secs(30));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "result 49");
    assert_eq!(runs(&log)[&7].len(), 2, "the waiter computed it");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("pid {holder_pid} ")),
        "the waiter named the holder: {stderr}"
    );
}

#[test]
fn results_computed_while_the_server_is_down_reach_it_when_it_is_back() {
    let Some(server) = Postgres::for_test("results_computed_while_the_server_is_down") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let cache = machine(dir.path(), "a", &server);
    let worker = spawn(&cache, &log, &["keys", "20", "0", "100"], &[]);
    let started = Instant::now();
    while runs(&log).len() < 5 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    server.stop().unwrap();
    // The calls go on computing and returning while the server is away.
    let out = finish(worker);
    let expected: u64 = (0..20u64).map(|k| k * k).sum();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("done {expected}")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings = stderr.lines().filter(|l| l.contains("unreachable")).count();
    assert_eq!(
        warnings, 1,
        "one warning for the outage, not one per call: {stderr}"
    );
    server.restart().unwrap();
    let before = count(&server, "SELECT count(*) FROM fleche_calls");
    assert!(
        before < 20,
        "the outage kept some results from the server ({before})"
    );
    // The next process on that file drains the outbox.
    let out = finish(spawn(&cache, &log, &["flush"], &[]));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "flushed");
    assert_eq!(count(&server, "SELECT count(*) FROM fleche_calls"), 20);
    // Another machine now finds every result on the server.
    let other = machine(dir.path(), "b", &server);
    let out = finish(spawn(
        &other,
        &log,
        &["keys", "20", "0", "100"],
        &[("FLECHE_TEST_SLEEP_MS", "0")],
    ));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("done {expected}")
    );
    assert!(
        runs(&log).values().all(|pids| pids.len() == 1),
        "nothing ran twice"
    );
}

#[fleche(module = "pg_tests")]
fn same_big(tag: u32) -> Vec<u8> {
    let _ = tag;
    hundred_mb()
}

/// 100 MB that no run of the allocator would give by chance.
fn hundred_mb() -> Vec<u8> {
    (0..100usize << 20)
        .map(|i| (i as u8).wrapping_mul(31))
        .collect()
}

#[test]
fn a_100_mb_value_is_stored_once_and_read_back_whole() {
    let Some(server) = Postgres::for_test("a_100_mb_value_is_stored_once") else {
        return;
    };
    let url = server.url();
    let cache = fleche::Cache::postgres(&url).unwrap();
    {
        let _active = cache.activate();
        assert_eq!(same_big(1).len(), 100 << 20);
        // Another call with the same 100 MB result: its value is not sent again.
        assert_eq!(same_big(2).len(), 100 << 20);
    }
    // The two `tag` arguments and one 100 MB result (its encoding a few bytes more: 101
    // chunks of 1 MiB), each stored once.
    assert_eq!(count(&server, "SELECT count(*) FROM fleche_values"), 3);
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM fleche_values WHERE size > 104857600"
        ),
        1
    );
    assert_eq!(
        count(&server, "SELECT count(*) FROM fleche_value_chunks"),
        101,
        "stored in 1 MiB chunks, once; the small values in their own rows"
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM fleche_values WHERE bytes IS NOT NULL"
        ),
        2
    );
    // A fresh cache on the same server reads it whole and intact.
    let again = fleche::Cache::postgres(&url).unwrap();
    let _active = again.activate();
    assert!(same_big::contains(1));
    assert_eq!(same_big::load(1).unwrap(), hundred_mb());
}

#[test]
fn a_database_of_another_schema_version_is_refused_with_what_to_do() {
    let Some(server) = Postgres::for_test("a_database_of_another_schema_version") else {
        return;
    };
    drop(fleche::Cache::postgres(&server.url()).unwrap());
    sql(&server)
        .execute("UPDATE fleche_schema SET version = 99", &[])
        .unwrap();
    let err = fleche::Cache::postgres(&server.url())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("version 99") && err.contains("newer fleche"),
        "{err}"
    );
    let err = fleche::Cache::postgres("postgres://me:secret@127.0.0.1/db")
        .unwrap_err()
        .to_string();
    assert!(err.contains("PGPASSWORD"), "{err}");
}

static REKEYED_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[fleche(module = "pg_tests")]
fn rekeyed(i: u64) -> u64 {
    REKEYED_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    i * 3
}

/// A database of schema version 4 (call keys of cache format 6, the hash's own first byte) is
/// rekeyed when fleche first meets it: its calls, tags and arguments are found again by the
/// calls that made them, and it says version 5.
#[test]
fn a_database_of_schema_version_4_is_rekeyed_and_its_calls_found_again() {
    use std::sync::atomic::Ordering;
    let Some(server) = Postgres::for_test("a_database_of_schema_version_4_is_rekeyed") else {
        return;
    };
    let n = 20u64;
    {
        let cache = fleche::Cache::postgres(&server.url()).unwrap();
        let _active = cache.activate();
        let _tags = fleche::tags!(project = "upgrade");
        for i in 0..n {
            rekeyed(i);
        }
        cache.flush().unwrap();
    }
    assert_eq!(REKEYED_RUNS.load(Ordering::Relaxed), n);
    let first_bytes = "SELECT count(DISTINCT get_byte(key, 0)) FROM fleche_calls";
    assert_eq!(count(&server, first_bytes), 1, "one function, one cluster");
    // As version 4 held them: another first byte in every table keyed by call key.
    sql(&server)
        .batch_execute(
            "UPDATE fleche_call_tags SET key = set_byte(key, 0, get_byte(key, 0) # 90);
             UPDATE fleche_call_arguments SET key = set_byte(key, 0, get_byte(key, 0) # 90);
             UPDATE fleche_calls SET key = set_byte(key, 0, get_byte(key, 0) # 90);
             UPDATE fleche_schema SET version = 4;",
        )
        .unwrap();
    let cache = fleche::Cache::postgres(&server.url()).unwrap();
    assert_eq!(
        count(&server, "SELECT version::bigint FROM fleche_schema"),
        5
    );
    {
        let _active = cache.activate();
        for i in 0..n {
            assert_eq!(rekeyed(i), i * 3);
        }
    }
    assert_eq!(
        REKEYED_RUNS.load(Ordering::Relaxed),
        n,
        "every call found again"
    );
    assert_eq!(cache.query().name("rekeyed").count().unwrap(), n as usize);
    assert_eq!(
        cache.query().tag("project", "upgrade").count().unwrap(),
        n as usize
    );
    assert_eq!(cache.query().argument("i", 7u64).count().unwrap(), 1);
    assert_eq!(
        count(&server, "SELECT count(*) FROM fleche_calls"),
        n as i64
    );
    assert_eq!(
        count(
            &server,
            "SELECT count(*) FROM fleche_call_tags t JOIN fleche_calls k ON k.key = t.key"
        ),
        n as i64,
        "the tags moved with their calls"
    );
}

#[fleche(module = "pg_tests")]
fn labelled(i: u64, label: String) -> String {
    format!("{label}-{i}")
}

#[test]
fn queries_on_a_stack_see_the_database_and_say_which_layer_a_call_came_from() {
    let Some(server) = Postgres::for_test("queries_on_a_stack_see_the_database") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    // One machine computes five calls and pushes them.
    let first = fleche::Stack::new()
        .cache(
            "local",
            fleche::Cache::open(dir.path().join("a.redb")).unwrap(),
        )
        .postgres("team", &url)
        .unwrap()
        .build()
        .unwrap();
    {
        let _active = first.activate();
        let _tags = fleche::tags!(project = "alloys");
        for i in 0..5 {
            labelled(i, "a".to_owned());
        }
    }
    first.flush().unwrap();
    // Another machine computes one more call of its own.
    let second = fleche::Stack::new()
        .cache(
            "local",
            fleche::Cache::open(dir.path().join("b.redb")).unwrap(),
        )
        .postgres("team", &url)
        .unwrap()
        .build()
        .unwrap();
    let _active = second.activate();
    labelled(99, "b".to_owned());
    let calls = second.query().name("labelled").calls().unwrap();
    assert_eq!(calls.len(), 6, "the union of the file and the database");
    let layers: Vec<(u64, Option<String>)> = calls
        .iter()
        .map(|c| {
            (
                c.argument::<u64>("i").unwrap(),
                c.layer().map(ToString::to_string),
            )
        })
        .collect();
    for (i, layer) in &layers {
        let expected = if *i == 99 { "local" } else { "team" };
        assert_eq!(layer.as_deref(), Some(expected), "{layers:?}");
    }
    let tagged = second.query().tag("project", "alloys").count().unwrap();
    assert_eq!(tagged, 5, "a tag filter answered by the database");
    // A hit from the database is copied into the local file.
    assert_eq!(labelled(3, "a".to_owned()), "a-3");
    second.flush().unwrap();
    let local = second.layer("local").unwrap();
    assert_eq!(local.query().name("labelled").count().unwrap(), 2);
}

/// A call copied from the database into a local file is not pushed back: its row on the
/// server keeps the transaction that wrote it (`xmin`), where a push would rewrite it.
#[test]
fn calls_copied_from_the_database_are_not_pushed_back() {
    let Some(server) = Postgres::for_test("calls_copied_from_the_database_are_not_pushed_back")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let stack = |file: &str| {
        fleche::Stack::new()
            .cache("local", fleche::Cache::open(dir.path().join(file)).unwrap())
            .postgres("team", &server.url())
            .unwrap()
            .build()
            .unwrap()
    };
    let first = stack("a.redb");
    {
        let _active = first.activate();
        for i in 0..20 {
            labelled(i, "pushed".to_owned());
        }
    }
    first.flush().unwrap();
    // Each call's row and the transaction that last wrote it.
    let writers = || -> std::collections::HashMap<Vec<u8>, String> {
        sql(&server)
            .query("SELECT key, xmin::text FROM fleche_calls", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let before = writers();
    assert_eq!(before.len(), 20);
    let second = stack("b.redb");
    {
        let _active = second.activate();
        for i in 0..20 {
            assert_eq!(labelled(i, "pushed".to_owned()), format!("pushed-{i}"));
        }
        // One new call, so that the push does run and would carry anything queued with it.
        labelled(100, "new".to_owned());
    }
    second.flush().unwrap();
    let local = second.layer("local").unwrap();
    assert_eq!(
        local.query().name("labelled").count().unwrap(),
        21,
        "the hits were copied into the local file"
    );
    let after = writers();
    assert_eq!(after.len(), 21);
    let rewritten = before
        .iter()
        .filter(|(key, xmin)| after[*key] != **xmin)
        .count();
    assert_eq!(
        rewritten, 0,
        "rows of calls copied from the server were pushed back"
    );
}

#[fleche(module = "pg_tests", wait = false)]
fn computed_twice(i: u64) -> u64 {
    i + 1
}

/// Two machines that computed the same call during an outage push it one after the other:
/// the second push replaces the first record (its tags too) rather than failing the batch
/// or leaving two.
#[test]
fn a_call_pushed_by_two_machines_keeps_the_last_record() {
    let Some(server) = Postgres::for_test("a_call_pushed_by_two_machines_keeps_the_last_record")
    else {
        return;
    };
    drop(fleche::Cache::postgres(&server.url()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let stack = |file: &str| {
        fleche::Stack::new()
            .cache("local", fleche::Cache::open(dir.path().join(file)).unwrap())
            .postgres("team", &server.url())
            .unwrap()
            .build()
            .unwrap()
    };
    server.stop().unwrap();
    for machine in ["a", "b"] {
        let cache = stack(&format!("{machine}.redb"));
        let _active = cache.activate();
        let _tags = fleche::tags!(machine = machine);
        for i in 0..10 {
            assert_eq!(computed_twice(i), i + 1);
        }
        cache.layer("local").unwrap().flush().unwrap();
    }
    server.restart().unwrap();
    for machine in ["a", "b"] {
        stack(&format!("{machine}.redb")).flush().unwrap();
    }
    assert_eq!(count(&server, "SELECT count(*) FROM fleche_calls"), 10);
    let machines: Vec<String> = sql(&server)
        .query(
            "SELECT DISTINCT value FROM fleche_call_tags WHERE tag = 'machine'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(machines, ["b"], "the last push's records and tags");
    assert_eq!(count(&server, "SELECT count(*) FROM fleche_call_tags"), 10);
}

#[fleche(module = "pg_tests")]
fn met_midway(i: u64) -> u64 {
    i * 3
}

/// A push whose COPY meets a row another client inserted after the push looked (the other
/// client's transaction commits while the COPY waits on it): the batch is stored again by
/// statements that update what is there, in the same push, so `flush` reports no failure
/// and the server keeps one record, the last one.
#[test]
fn a_push_that_meets_a_row_another_client_is_inserting_updates_it_at_once() {
    let Some(server) = Postgres::for_test("a_push_that_meets_a_row_another_client_is_inserting")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let compute = |machine: &str| {
        let cache = fleche::Stack::new()
            .cache(
                "local",
                fleche::Cache::open(dir.path().join(format!("{machine}.redb"))).unwrap(),
            )
            .postgres("team", &server.url())
            .unwrap()
            .build()
            .unwrap();
        {
            let _active = cache.activate();
            let _tags = fleche::tags!(machine = machine);
            assert_eq!(met_midway(5), 15);
        }
        cache.flush()
    };
    compute("a").expect("machine a pushes");
    // Machine a's row is taken off the server and kept aside (its tags stay).
    sql(&server)
        .batch_execute("CREATE TABLE kept AS SELECT * FROM fleche_calls; DELETE FROM fleche_calls;")
        .unwrap();
    // Another client puts it back in a transaction it keeps open for a second: machine b
    // does not see the row, computes the call, and its COPY waits for that transaction.
    let (inserted, wait_for_insert) = std::sync::mpsc::channel();
    let pushed = std::thread::scope(|scope| {
        let other = scope.spawn(|| {
            let mut client = sql(&server);
            let mut txn = client.transaction().unwrap();
            txn.execute("INSERT INTO fleche_calls SELECT * FROM kept", &[])
                .unwrap();
            inserted.send(()).unwrap();
            std::thread::sleep(Duration::from_secs(1));
            txn.commit().unwrap();
        });
        wait_for_insert.recv().unwrap();
        let pushed = compute("b");
        other.join().unwrap();
        pushed
    });
    pushed.expect("the colliding batch was stored again in the same push");
    assert_eq!(count(&server, "SELECT count(*) FROM fleche_calls"), 1);
    let machines: Vec<String> = sql(&server)
        .query(
            "SELECT value FROM fleche_call_tags WHERE tag = 'machine'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        machines,
        ["b"],
        "machine b's record replaced the one it met"
    );
}

#[fleche(module = "pg_tests")]
fn over_tls(i: u64) -> u64 {
    i * 7
}

/// A server that takes TCP connections over TLS only, with a certificate made for the test:
/// `sslmode=require` connects encrypted (the server's own view, `pg_stat_ssl`, says so),
/// `verify-full` connects when given the certificate and refuses the server without it, and
/// a URL without `sslmode` gets the server's refusal, not "unreachable".
#[test]
fn tls_connections_are_encrypted_and_certificates_checked() {
    let Some(server) = Postgres::for_test_with_tls("tls_connections_are_encrypted") else {
        return;
    };
    let mut check = postgres::Client::connect(&server.socket_url(), postgres::NoTls)
        .expect("a connection over the unix socket for checks");
    let cache = fleche::Cache::postgres(&format!("{}?sslmode=require", server.url()))
        .expect("connects with sslmode=require");
    {
        let _active = cache.activate();
        assert_eq!(over_tls(6), 42);
        assert_eq!(over_tls(6), 42);
    }
    let stored: i64 = check
        .query_one("SELECT count(*) FROM fleche_calls", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    let row = check
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl), min(s.version)
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'fleche'",
            &[],
        )
        .unwrap();
    let (connections, encrypted, version): (i64, i64, Option<String>) =
        (row.get(0), row.get(1), row.get(2));
    assert!(connections >= 1, "fleche holds a connection");
    assert_eq!(encrypted, connections, "every fleche connection uses TLS");
    assert!(version.is_some_and(|v| v.starts_with("TLS")));
    drop(cache);

    let certificate = server.certificate().unwrap();
    let verified = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        server.url(),
        certificate.display()
    );
    let cache = fleche::Cache::postgres(&verified).expect("the certificate checks out");
    assert_eq!(cache.query().name("over_tls").count().unwrap(), 1);
    drop(cache);

    let unverified = format!("{}?sslmode=verify-full", server.url());
    let err = fleche::Cache::postgres(&unverified)
        .expect_err("a self-signed certificate is refused by verify-full")
        .to_string();
    assert!(
        err.contains("certificate was not accepted") && err.contains("sslrootcert"),
        "{err}"
    );

    let plain = fleche::Cache::postgres(&server.url())
        .expect_err("the server refuses TCP without TLS")
        .to_string();
    assert!(
        plain.contains("refused") && plain.contains("pg_hba.conf"),
        "{plain}"
    );
}

/// A URL that asks for TLS, to a server without it: a clear error that says what to change.
#[test]
fn a_server_without_tls_is_a_clear_error_when_the_url_asks_for_tls() {
    let Some(server) = Postgres::for_test("a_server_without_tls_is_a_clear_error") else {
        return;
    };
    let err = fleche::Cache::postgres(&format!("{}?sslmode=require", server.url()))
        .expect_err("sslmode=require against a server without TLS is an error")
        .to_string();
    assert!(
        err.contains("does not accept TLS") && err.contains("ssl = on"),
        "{err}"
    );
}

/// The push rate from a backlog: 10,000 small results computed while the server is stopped
/// wait in the file's outbox; the server starts again, and the next process on the file
/// pushes them all (`flush`). Printed, not asserted. `cargo test -p fleche-tests --release
/// --test postgres -- --ignored --nocapture push_figures`
#[test]
#[ignore = "prints figures for the README"]
fn push_figures() {
    let Some(server) = Postgres::for_test("push_figures") else {
        return;
    };
    drop(fleche::Cache::postgres(&server.url()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let cache = machine(dir.path(), "a", &server);
    server.stop().unwrap();
    finish(spawn(&cache, &log, &["keys", "10000", "0", "0"], &[]));
    server.restart().unwrap();
    let started = Instant::now();
    let out = finish(spawn(&cache, &log, &["flush"], &[]));
    let took = started.elapsed();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "flushed");
    assert_eq!(count(&server, "SELECT count(*) FROM fleche_calls"), 10_000);
    eprintln!(
        "pushed 10,000 calls from the outbox in {took:?} (process start included): {:.0} calls/s",
        10_000.0 / took.as_secs_f64()
    );
}

/// How long a waiting process takes to return a result after the process computing it ends
/// its body, on a shared database and on a shared file (10 rounds each; figures printed,
/// not asserted). `cargo test -p fleche-tests --release --test postgres -- --ignored
/// --nocapture wait_figures`
#[test]
#[ignore = "prints figures for the README"]
fn wait_figures() {
    let Some(server) = Postgres::for_test("wait_figures") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let times = [("FLECHE_TEST_TIMES", "1")];
    let shared_file = dir.path().join("shared.redb");
    drop(fleche::Cache::open(&shared_file).unwrap());
    for (what, holder_cache, waiter_cache) in [
        (
            "PostgreSQL",
            machine(dir.path(), "holder", &server),
            machine(dir.path(), "waiter", &server),
        ),
        (
            "one file",
            shared_file.display().to_string(),
            shared_file.display().to_string(),
        ),
    ] {
        let mut waits = Vec::new();
        for round in 0..10u64 {
            let key = (round + 1000 * u64::from(what == "one file")).to_string();
            let holder = spawn(&holder_cache, &log, &["key", &key, "400"], &times);
            // The waiter starts once the holder's body runs, so it finds the claim.
            let k: u64 = key.parse().unwrap();
            let started = Instant::now();
            while !runs(&log).contains_key(&k) {
                assert!(started.elapsed() < Duration::from_secs(30), "no holder");
                std::thread::sleep(Duration::from_millis(5));
            }
            let waiter = spawn(&waiter_cache, &log, &["key", &key, "400"], &times);
            let held = finish(holder);
            let waited = finish(waiter);
            let stamp = |out: &Output, word: &str| -> u128 {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .find_map(|l| l.strip_prefix(word)?.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no `{word}` line"))
            };
            let ended = stamp(&held, "ended ");
            assert!(
                !String::from_utf8_lossy(&waited.stdout).contains("ended "),
                "the waiter computed instead of waiting ({what}, round {round}): {}",
                String::from_utf8_lossy(&waited.stderr)
            );
            let returned = stamp(&waited, "returned ");
            waits.push((returned.saturating_sub(ended)) as f64 / 1e6);
        }
        waits.sort_by(f64::total_cmp);
        eprintln!(
            "{what}: waiter returned {:.1} ms (median), {:.1} ms (max) after the holder's body ended; all: {waits:.1?}",
            waits[waits.len() / 2],
            waits[waits.len() - 1]
        );
    }
}
