//! Browsing a stack whose lower layer is a real PostgreSQL database (a throwaway cluster each
//! test starts), as `fleche-tui` does: calls only the server holds are listed, paged by start
//! time, read, counted, and not taken for deleted when the browser polls or rescans.
//!
//! Without a server these tests say so and check nothing; `FLECHE_REQUIRE_POSTGRES=1` (as
//! `.ci/run` sets) makes that a failure.

use std::collections::HashSet;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fleche::config::{CacheSpec, LayerSpec};
use fleche::{Cache, Digest, fleche};
use fleche_tests::postgres::Postgres;
use fleche_tui::loader::{self, Loaded, Request};

#[fleche]
fn shared_square(i: u64) -> u64 {
    i * i
}

/// A machine: a local file above the database, computing `range` of `shared_square`.
fn compute_on_a_machine(file: &Path, url: &str, range: std::ops::Range<u64>) -> Vec<Digest> {
    let stack = fleche::Stack::new()
        .cache("local", Cache::open(file).unwrap())
        .postgres("team", url)
        .unwrap()
        .build()
        .unwrap();
    {
        let _active = stack.activate();
        for i in range {
            shared_square(i);
        }
    }
    stack.flush().unwrap();
    // What this machine computed: its own file's calls.
    let keys = stack.layer("local").unwrap().keys_newest_first().unwrap();
    drop(stack);
    keys
}

/// Keys of calls the server holds and the file does not: computed by another machine.
fn server_only(dir: &Path, url: &str, range: std::ops::Range<u64>) -> HashSet<Digest> {
    let other = dir.join(format!("other-{}.redb", range.start));
    let all: HashSet<Digest> = compute_on_a_machine(&other, url, range)
        .into_iter()
        .collect();
    assert!(!all.is_empty());
    all
}

/// This machine's file with 8 calls (also pushed), `others` calls only the server holds
/// (another machine's), and the stack over both as the browser opens it.
fn two_machines(
    server: &Postgres,
    others: u64,
) -> (
    tempfile::TempDir,
    String,
    HashSet<Digest>,
    HashSet<Digest>,
    Cache,
) {
    let dir = tempfile::tempdir().unwrap();
    let url = server.url();
    let mine = dir.path().join("mine.redb");
    let local = compute_on_a_machine(&mine, &url, 0..8)
        .into_iter()
        .collect();
    let remote = server_only(dir.path(), &url, 100..100 + others);
    let cache = browsed(&mine, &url);
    (dir, url, local, remote, cache)
}

fn layer(name: &str, spec: CacheSpec) -> LayerSpec {
    LayerSpec {
        name: name.to_owned(),
        spec,
        read_only: false,
        max_size: None,
    }
}

/// The stack as fleche-tui opens it from `fleche.toml`: the file, then the database.
fn browsed(file: &Path, url: &str) -> Cache {
    let layers = [
        layer("local", CacheSpec::File(file.to_path_buf())),
        layer("team", CacheSpec::Postgres(url.to_owned())),
    ];
    fleche_tui::open::open_stack(&layers, false)
        .expect("the stack opens")
        .cache
}

#[test]
fn a_stack_lists_pages_and_reads_the_calls_only_the_server_holds() {
    let Some(server) =
        Postgres::for_test("a_stack_lists_pages_and_reads_the_calls_only_the_server_holds")
    else {
        return;
    };
    let (dir, url, local, remote, cache) = two_machines(&server, 3);

    let newest: Vec<Digest> = cache.keys_newest_first().unwrap();
    let listed: HashSet<Digest> = newest.iter().copied().collect();
    assert_eq!(newest.len(), 11, "each call once: {newest:?}");
    assert!(
        listed.is_superset(&remote),
        "the server's own calls are listed"
    );
    assert!(listed.is_superset(&local));
    // Newest first: the other machine computed after this one.
    assert!(remote.contains(&newest[0]), "{newest:?}");

    let page = cache.calls_before(None, 2).unwrap();
    assert_eq!(page.len(), 2);
    assert!(page[0].start_nanos >= page[1].start_nanos);
    let rest = cache.calls_before(Some(page[1]), 100).unwrap();
    assert_eq!(rest.len(), 9, "the pages together hold every call once");

    let records = cache
        .records_of(&remote.iter().copied().collect::<Vec<_>>())
        .unwrap();
    assert_eq!(records.len(), 3, "the server's records are read");
    for r in &records {
        assert_eq!(r.layer, 1, "from the database layer");
        assert_eq!(r.record.as_ref().unwrap().name, "shared_square");
    }
    let mine_records = cache
        .records_of(&local.iter().copied().collect::<Vec<_>>())
        .unwrap();
    assert!(
        mine_records.iter().all(|r| r.layer == 0),
        "held by both: from the file"
    );

    // The database alone, as `fleche-tui` opens a `type = "postgres"` cache.
    let alone =
        fleche_tui::open::open_stack(&[layer("team", CacheSpec::Postgres(url.clone()))], false)
            .expect("the database opens")
            .cache;
    assert_eq!(alone.len().unwrap(), 11);
    assert_eq!(alone.keys_newest_first().unwrap(), newest);
    assert_eq!(alone.layer_counts().unwrap(), [Some(11)]);

    let since = cache.calls_after(newest_of(&cache)).unwrap();
    assert!(since.is_empty());
    let later = server_only(dir.path(), &url, 200..202);
    let since: HashSet<Digest> = cache
        .calls_after(newest_of_keys(&cache, &listed))
        .unwrap()
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(since, later, "calls the server got since are seen");
}

fn newest_of(cache: &Cache) -> fleche::TimeKey {
    cache.calls_before(None, 1).unwrap()[0]
}

/// The newest call among `keys`.
fn newest_of_keys(cache: &Cache, keys: &HashSet<Digest>) -> fleche::TimeKey {
    cache
        .calls_before(None, usize::MAX)
        .unwrap()
        .into_iter()
        .find(|t| keys.contains(&t.key))
        .unwrap()
}

/// What the browser's reader has sent so far: rows by key, and keys taken off; it answers the
/// reader's questions as the browser does (which calls it does not hold; the listing of every
/// stored call, after which those not listed are taken off).
#[derive(Default)]
struct Seen {
    rows: HashSet<Digest>,
    removed: HashSet<Digest>,
    listing: Option<HashSet<Digest>>,
    done: bool,
    failures: Vec<String>,
}

impl Seen {
    fn apply(&mut self, msg: Loaded) {
        match msg {
            Loaded::Rows(rows) => {
                for (key, _, _) in rows {
                    self.removed.remove(&key);
                    self.rows.insert(key);
                }
            }
            Loaded::Batch(batch) => {
                for row in &batch.rows {
                    self.removed.remove(&row.key);
                    self.rows.insert(row.key);
                }
            }
            Loaded::Removed(keys) => {
                for key in keys {
                    self.rows.remove(&key);
                    self.removed.insert(key);
                }
            }
            Loaded::Listing => self.listing = Some(HashSet::new()),
            Loaded::Unknown(keys, ask) => {
                if let Some(listed) = &mut self.listing {
                    listed.extend(keys.iter().copied());
                }
                let unknown = keys.into_iter().filter(|k| !self.rows.contains(k));
                let _ = ask.send(unknown.collect());
            }
            Loaded::Listed => {
                let listed = self.listing.take().expect("a listing began");
                let gone: Vec<Digest> = self.rows.difference(&listed).copied().collect();
                for key in gone {
                    self.rows.remove(&key);
                    self.removed.insert(key);
                }
            }
            // No summaries wanted.
            Loaded::SummariesWanted(_, ask) => {
                let _ = ask.send((Vec::new(), 0));
            }
            Loaded::Done => self.done = true,
            Loaded::Failed(e) | Loaded::Warning(e) => self.failures.push(e),
            _ => {}
        }
    }

    /// Reads what the reader sends until `until` holds (at most 60 s).
    fn take(&mut self, rx: &mpsc::Receiver<Loaded>, until: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !until(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the reader did not get there in 60 s");
            self.apply(rx.recv_timeout(left).expect("the reader goes on"));
        }
    }

    /// Reads what the reader sends for `time`.
    fn settle(&mut self, rx: &mpsc::Receiver<Loaded>, time: Duration) {
        let end = Instant::now() + time;
        while let Ok(msg) = rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            self.apply(msg);
        }
    }
}

#[test]
fn the_browser_shows_the_servers_calls_and_keeps_them_when_it_polls_and_rescans() {
    let Some(server) = Postgres::for_test(
        "the_browser_shows_the_servers_calls_and_keeps_them_when_it_polls_and_rescans",
    ) else {
        return;
    };
    let (dir, url, local, remote, cache) = two_machines(&server, 1);

    let (tx, rx) = loader::channel();
    let (requests, asked) = mpsc::channel();
    let reader = std::thread::spawn(move || loader::run(cache, tx, asked));
    let mut seen = Seen::default();
    seen.take(&rx, |s| s.done);
    assert!(seen.failures.is_empty(), "{:?}", seen.failures);
    assert!(seen.rows.is_superset(&local));
    assert!(
        seen.rows.is_superset(&remote),
        "the server-only call is shown"
    );

    // Two polls, then a rescan (`r`): nothing is taken off.
    seen.settle(&rx, loader::POLL * 2 + Duration::from_millis(500));
    requests.send(Request::Rescan).unwrap();
    seen.settle(&rx, Duration::from_secs(2));
    assert!(seen.removed.is_empty(), "taken off: {:?}", seen.removed);
    assert_eq!(seen.rows.len(), 9);

    // A call another machine adds to the server reaches the browser by itself.
    let later = server_only(dir.path(), &url, 300..301);
    seen.take(&rx, |s| s.rows.is_superset(&later));
    assert!(seen.removed.is_empty(), "taken off: {:?}", seen.removed);
    drop(requests);
    drop(rx);
    reader.join().unwrap();
}
