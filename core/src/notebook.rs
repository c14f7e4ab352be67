//! Living inside the evcxr kernel: every cell is a new shared library with its own copy of
//! fleche's statics, so nothing a static holds may outlive the cell that made it, and nothing
//! "once per process" can rely on a static.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::cache::Cache;
use crate::error::{Error, Result, Stream, notice};

/// Whether this process is the evcxr kernel's runtime (evcxr sets `EVCXR_IS_RUNTIME` in it).
pub(crate) fn in_evcxr() -> bool {
    static IN_EVCXR: OnceLock<bool> = OnceLock::new();
    *IN_EVCXR
        .get_or_init(|| std::env::var_os(crate::config::ENV_EVCXR).is_some_and(|v| !v.is_empty()))
}

/// A default cache file that is open only while someone uses it.
///
/// evcxr never unloads a cell's library, so a cache held in a cell's static would stay open
/// for the life of the kernel: one file handle (and one page cache) more for every cell that
/// calls a cached function. Opening and closing around every call is no better: each pair
/// costs about 1 ms (up to tens of ms: closing flushes the header twice), against 7 µs for
/// a hit (`benches/notebook_reopen.rs`), which a loop of hits would pay every time. So the
/// file is kept open while calls keep coming and closed by a small thread once no call has
/// asked for it for [`LINGER`]; a [`Cache`] clone still alive (a running call, a variable)
/// keeps it open longer.
pub(crate) struct Reopen {
    open: Opener,
    state: Mutex<Lingering>,
}

/// How the default cache is opened (again): a file, or every layer of a stack.
type Opener = Box<dyn Fn() -> Result<Cache> + Send + Sync>;

struct Lingering {
    held: Option<Cache>,
    last_used: Instant,
    closer_running: bool,
}

/// How long an unused default cache stays open under evcxr.
pub(crate) const LINGER: Duration = Duration::from_millis(500);

impl Reopen {
    pub(crate) fn new(path: PathBuf) -> Reopen {
        // A file deleted meanwhile (`rm -r .fleche` in a cell) is created afresh.
        Reopen::with(Box::new(move || match Cache::open_existing(&path) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Cache::open(&path)
            }
            other => other,
        }))
    }

    /// Reopens with `open` (a stack's layers, say).
    pub(crate) fn with(open: Opener) -> Reopen {
        Reopen {
            open,
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
        Ok(cache)
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
        loop {
            std::thread::sleep(LINGER);
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.last_used.elapsed() >= LINGER {
                let held = state.held.take();
                state.closer_running = false;
                drop(state);
                // Closing flushes the file: done outside the lock so callers are not held up.
                drop(held);
                return;
            }
        }
    }
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
        let reopen = Arc::new(Reopen::new(path.clone()));
        let a = reopen.cache().unwrap();
        let b = reopen.cache().unwrap();
        assert!(a.same_as(&b), "one handle while in use");
        let store = Arc::downgrade(&a.store);
        drop((a, b));
        assert!(store.upgrade().is_some(), "kept open for the next call");
        let c = reopen.cache().unwrap();
        assert!(Arc::ptr_eq(&c.store, &store.upgrade().unwrap()));
        drop(c);
        std::thread::sleep(LINGER * 3);
        assert!(store.upgrade().is_none(), "closed once idle");
        // Deleting the file between uses starts a new cache instead of failing.
        std::fs::remove_file(&path).unwrap();
        let d = reopen.cache().unwrap();
        assert!(path.exists());
        assert!(d.is_empty().unwrap());
    }

    #[test]
    fn process_tag_is_stable_within_a_process() {
        assert_eq!(process_tag(), process_tag());
        assert!(process_tag().starts_with(&std::process::id().to_string()));
    }
}
