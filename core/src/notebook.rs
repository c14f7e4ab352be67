//! Living inside the evcxr kernel: the default cache, opened while cells use it and closed
//! when the kernel is idle, and the one-line notice of where results go. Every cell is a new
//! shared library with its own copy of fleche; `process.rs` makes them share one default
//! cache.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cache::Cache;
use crate::error::{Error, Result, Stream, notice};

/// A default cache that is open only while someone uses it.
///
/// One per kernel (every cell's copy of fleche uses the first cell's, see `process.rs`).
/// Under evcxr a file is open for writing only while a commit runs (the store's brief
/// writes), so a kernel killed between cells leaves it clean whether or not it is open here;
/// what is left to decide is how long to keep the read-only handle. Opening it again costs a
/// first call about 1-15 ms (the store checks the file each time), against 7 µs for a hit
/// (`benches/notebook_reopen.rs`). So the cache stays open while cells keep calling and is
/// closed by a small thread once no call has asked for it for [`LINGER`], which releases the
/// file for `fleche compact` and lets a deleted `.fleche` directory be created afresh; a
/// [`Cache`] clone still alive (a running call, a variable) keeps it open longer.
pub(crate) struct Reopen {
    open: Opener,
    linger: Duration,
    state: Mutex<Lingering>,
}

/// How the default cache is opened (again): a file, or every layer of a stack.
type Opener = Box<dyn Fn() -> Result<Cache> + Send + Sync>;

struct Lingering {
    held: Option<Cache>,
    last_used: Instant,
    closer_running: bool,
}

/// How long an unused default cache stays open under evcxr: longer than a user takes to run
/// the next cell by hand, and far longer than evcxr takes to compile one on a busy machine.
pub(crate) const LINGER: Duration = Duration::from_secs(60);

impl Reopen {
    pub(crate) fn new(path: PathBuf) -> Reopen {
        Reopen::with(file_opener(path))
    }

    /// Reopens with `open` (a stack's layers, say).
    pub(crate) fn with(open: Opener) -> Reopen {
        Reopen::with_linger(open, LINGER)
    }

    fn with_linger(open: Opener, linger: Duration) -> Reopen {
        Reopen {
            open,
            linger,
            state: Mutex::new(Lingering {
                held: None,
                last_used: Instant::now(),
                closer_running: false,
            }),
        }
    }

    /// The open cache, opening it (again) if it was closed.
    pub(crate) fn cache(self: &Arc<Self>) -> Result<Cache> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.last_used = Instant::now();
        if let Some(cache) = &state.held {
            return Ok(cache.clone());
        }
        let cache = (self.open)()?;
        self.hold(&mut state, &cache);
        Ok(cache)
    }

    /// Starts with `cache`, already open (by the caller that checked the configuration), so
    /// the first call does not open it a second time.
    pub(crate) fn holding(self: Arc<Self>, cache: &Cache) -> Arc<Self> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.hold(&mut state, cache);
        drop(state);
        self
    }

    /// Keeps `cache` for the next calls, with a thread to close it once idle.
    fn hold(self: &Arc<Self>, state: &mut Lingering, cache: &Cache) {
        if !state.closer_running {
            let this = Arc::clone(self);
            state.closer_running = std::thread::Builder::new()
                .name("fleche-close-idle-cache".into())
                .spawn(move || this.close_when_idle())
                .is_ok();
        }
        // Without a closer thread, hold nothing: the file closes with the last clone.
        if state.closer_running {
            state.held = Some(cache.clone());
        }
    }

    /// Closes the file now unless a [`Cache`] clone is still alive (at process exit).
    pub(crate) fn close(&self) {
        let held = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .held
            .take();
        drop(held);
    }

    fn close_when_idle(&self) {
        let mut wait = self.linger;
        loop {
            std::thread::sleep(wait);
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let idle = state.last_used.elapsed();
            if idle >= self.linger {
                let held = state.held.take();
                state.closer_running = false;
                drop(state);
                // Closing flushes the file: done outside the lock so callers are not held up.
                drop(held);
                return;
            }
            // Wake when the latest use is `linger` old, not a whole `linger` from now.
            wait = self.linger - idle;
        }
    }
}

/// Opens the cache file at `path`; a file deleted meanwhile (`rm -r .fleche` in a cell) is
/// created afresh.
fn file_opener(path: PathBuf) -> Opener {
    Box::new(move || match Cache::open_existing(&path) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Cache::open(&path)
        }
        other => other,
    })
}

/// Shows `line` in the cell's output once per kernel process, however many cells (copies of this
/// static-less code) ask. The marker is a file named after the process, created atomically.
pub(crate) fn announce_once(line: &str) {
    let marker = std::env::temp_dir().join(format!("fleche-evcxr-{}.announced", process_tag()));
    let first = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
        .is_ok();
    if first {
        notice(tracing::Level::INFO, line, Stream::Stdout);
    }
}

/// This process's id plus its start time, so a reused pid does not count as the same kernel.
fn process_tag() -> String {
    let pid = std::process::id();
    let start = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Field 22 (start time) counts from after the `)` that closes the command name.
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().nth(19).map(str::to_owned)
        });
    match start {
        Some(start) => format!("{pid}-{start}"),
        None => pid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopen_keeps_the_file_open_while_used_and_closes_it_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        let linger = Duration::from_millis(200);
        let reopen = Arc::new(Reopen::with_linger(file_opener(path.clone()), linger));
        let a = reopen.cache().unwrap();
        let b = reopen.cache().unwrap();
        assert!(a.same_as(&b), "one handle while in use");
        let store = Arc::downgrade(&a.store);
        drop((a, b));
        assert!(store.upgrade().is_some(), "kept open for the next call");
        let c = reopen.cache().unwrap();
        assert!(Arc::ptr_eq(&c.store, &store.upgrade().unwrap()));
        drop(c);
        std::thread::sleep(linger * 3);
        assert!(store.upgrade().is_none(), "closed once idle");
        // Deleting the file between uses starts a new cache instead of failing.
        std::fs::remove_file(&path).unwrap();
        let d = reopen.cache().unwrap();
        assert!(path.exists());
        assert!(d.is_empty().unwrap());
    }

    #[test]
    fn a_cache_opened_first_is_held_not_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        let first = Cache::open(&path).unwrap();
        let reopen = Arc::new(Reopen::new(path)).holding(&first);
        let store = Arc::downgrade(&first.store);
        drop(first);
        // Held: the store lives on and the next call gets it, with no second open.
        let next = reopen.cache().unwrap();
        assert!(Arc::ptr_eq(
            &next.store,
            &store.upgrade().expect("still open")
        ));
    }

    #[test]
    fn process_tag_is_stable_within_a_process() {
        assert_eq!(process_tag(), process_tag());
        assert!(process_tag().starts_with(&std::process::id().to_string()));
    }
}
