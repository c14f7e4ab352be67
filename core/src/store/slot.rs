//! The database behind a store, held in a slot that can be emptied: the exit hook closes every
//! file even while user code still holds `Cache` handles, and a database that refuses all use
//! after an I/O error ("close and re-open") is dropped and opened again on the next use.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use super::snapshot::Recent;
use super::{Handle, Location, database_error, guard, storage_error};
use crate::error::{Error, Result};

/// Opens the database again, the same way it was first opened.
pub(crate) type Reopen = Box<dyn Fn() -> Result<Handle, redb::DatabaseError> + Send + Sync>;

/// After a failed reopen (a disk still full, a file gone), the next attempt waits this long,
/// so a program that keeps calling does not pay a failed open on every call.
const RETRY_EVERY: Duration = Duration::from_millis(100);

pub(crate) struct Slot {
    state: RwLock<State>,
    reopen: Option<Reopen>,
    location: Location,
    /// Commits made in this process, from any thread; a snapshot read at one generation is
    /// current until the next (for a memory store, which no other process writes).
    generation: AtomicU64,
    /// The snapshot hits reuse (see `snapshot.rs`); dropped at each of our commits.
    pub(crate) recent: Recent,
}

enum State {
    Open(Handle),
    /// An I/O error made the database refuse further use; it was dropped, and the next use
    /// opens the file again (not before `retry_at`).
    Broken {
        retry_at: Instant,
        detail: String,
    },
    /// Closed for good (the process is exiting).
    Closed,
}

impl Slot {
    /// A slot over an open database; `reopen` is how to open it again after an I/O error
    /// (`None`: never, as for a memory store, whose backend cannot fail).
    pub(crate) fn new(handle: Handle, location: Location, reopen: Option<Reopen>) -> Slot {
        Slot {
            state: RwLock::new(State::Open(handle)),
            reopen,
            recent: Recent::new(location != Location::Memory),
            location,
            generation: AtomicU64::new(0),
        }
    }

    /// How many commits this process has made (see the field).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks a commit, so that snapshots read before it are no longer taken as current, and
    /// drops the one hits reuse, which would pin the pages this commit freed.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.recent.forget();
    }

    /// Runs `f` on the open database, opening it again first if an I/O error broke it. A
    /// panic inside redb (a damaged file) becomes an error. The database cannot be closed
    /// while `f` runs.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Handle) -> Result<T, redb::Error>) -> Result<T> {
        let state = self.open_state()?;
        let State::Open(handle) = &*state else {
            unreachable!("open_state returns an open database")
        };
        let mut broke = None;
        let result = guard(&self.location, || {
            f(handle).map_err(|e| {
                if self.reopen.is_some() && refuses_further_use(&e) {
                    broke = Some((handle.id(), e.to_string()));
                }
                storage_error(&self.location, e)
            })
        });
        drop(state);
        if let Some((id, detail)) = broke {
            self.drop_broken(id, detail);
        }
        result
    }

    /// Drops the database for good, after which every use is an [`Error::Closed`]. Waits for
    /// operations under way to end.
    pub(crate) fn close(&self) {
        self.recent.forget();
        let closing = std::mem::replace(&mut *self.write_state(), State::Closed);
        drop(closing);
    }

    /// Runs `f` on the read-write database with no other use of it under way in this process
    /// (the slot is held for the whole time): what redb's compaction needs. `None` when this
    /// process still holds the database elsewhere, or it is read-only, closed or broken.
    pub(crate) fn with_database_alone<T>(
        &self,
        f: impl FnOnce(&mut redb::Database) -> Result<T>,
    ) -> Option<Result<T>> {
        self.recent.forget();
        let mut state = self.write_state();
        match &mut *state {
            State::Open(Handle::ReadWrite(db)) => Arc::get_mut(db).map(f),
            _ => None,
        }
    }

    /// The state, holding an open database: reopens a broken one when it is time.
    fn open_state(&self) -> Result<RwLockReadGuard<'_, State>> {
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if matches!(&*state, State::Open(_)) {
                return Ok(state);
            }
        }
        let mut state = self.write_state();
        match &*state {
            State::Open(_) => {}
            State::Closed => {
                return Err(Error::Closed {
                    path: self.location.display_path(),
                });
            }
            State::Broken { retry_at, detail } => {
                if Instant::now() < *retry_at {
                    return Err(self.still_broken(detail));
                }
                let Some(reopen) = &self.reopen else {
                    return Err(self.still_broken(detail));
                };
                let mut failure = String::new();
                let reopened = guard(&self.location, || {
                    reopen().map_err(|e| {
                        failure = e.to_string();
                        database_error(&self.location, e)
                    })
                });
                match reopened {
                    Ok(handle) => {
                        tracing::info!(
                            "reopened cache {} after an I/O error",
                            self.location.display_path().display()
                        );
                        *state = State::Open(handle);
                    }
                    Err(e) => {
                        *state = State::Broken {
                            retry_at: Instant::now() + RETRY_EVERY,
                            detail: failure,
                        };
                        return Err(e);
                    }
                }
            }
        }
        drop(state);
        // Another thread may close or break it in between; then this use fails, as it would
        // a moment later.
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        match &*state {
            State::Open(_) => Ok(state),
            State::Closed => Err(Error::Closed {
                path: self.location.display_path(),
            }),
            State::Broken { detail, .. } => Err(self.still_broken(detail)),
        }
    }

    /// Drops the database `id` after it refused further use, unless it was already replaced.
    fn drop_broken(&self, id: usize, detail: String) {
        let mut state = self.write_state();
        if matches!(&*state, State::Open(handle) if handle.id() == id) {
            tracing::warn!(
                "cache {}: {detail}; closing the file, to open it again on next use",
                self.location.display_path().display()
            );
            // The next use reopens at once: the error may have been passing (space freed).
            let broken = std::mem::replace(
                &mut *state,
                State::Broken {
                    retry_at: Instant::now(),
                    detail,
                },
            );
            drop(broken);
        }
    }

    fn still_broken(&self, detail: &str) -> Error {
        Error::Storage {
            path: self.location.display_path(),
            detail: format!("closed after an I/O error ({detail}); it is opened again shortly"),
        }
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // redb does not mark a file closed cleanly when its database is dropped on a panicking
        // thread (it cannot tell a user's panic from one of its own), and a panic in `main`
        // drops the caches held there while unwinding. Closing on another thread leaves the
        // file clean; the user's panic did not touch the database.
        if std::thread::panicking() {
            let state = std::mem::replace(
                self.state.get_mut().unwrap_or_else(|e| e.into_inner()),
                State::Closed,
            );
            if let Ok(closer) = std::thread::Builder::new()
                .name("fleche-close".into())
                .spawn(move || drop(state))
            {
                let _ = closer.join();
            }
        }
    }
}

/// Whether redb refuses every later use of the database after this error, until it is closed
/// and opened again.
fn refuses_further_use(e: &redb::Error) -> bool {
    matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo)
}

impl Handle {
    /// Identity of the underlying database, for telling a reopened one from the old.
    pub(crate) fn id(&self) -> usize {
        match self {
            Handle::ReadWrite(db) => Arc::as_ptr(db) as usize,
            Handle::ReadOnly(db) | Handle::BriefWrites { read: db, .. } => Arc::as_ptr(db) as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;
    use std::sync::atomic::{AtomicBool, Ordering};

    use redb::backends::FileBackend;
    use redb::{BackendError, StorageBackend};

    use super::*;
    use crate::cache::Cache;
    use crate::function::Function;
    use crate::runtime::{Begin, PickSerde as _, Select, begin};
    use crate::store::Store;

    /// A file backend whose writes (and syncs) fail while `full` is set, as on a full disk.
    #[derive(Debug)]
    struct FullDisk {
        file: FileBackend,
        full: Arc<AtomicBool>,
    }

    impl FullDisk {
        fn check(&self) -> std::io::Result<()> {
            if self.full.load(Ordering::SeqCst) {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            Ok(())
        }
    }

    impl StorageBackend for FullDisk {
        fn len(&self) -> std::io::Result<u64> {
            self.file.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
            self.file.read(offset, out)
        }
        fn set_len(&self, len: u64) -> std::io::Result<()> {
            self.check()?;
            self.file.set_len(len)
        }
        fn sync_data(&self) -> std::io::Result<()> {
            self.check()?;
            self.file.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
            self.check()?;
            self.file.write(offset, data)
        }
        fn close(&self) -> std::io::Result<()> {
            self.file.close()
        }
        fn try_lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<bool, BackendError> {
            self.file.try_lock_range(s, e)
        }
        fn try_lock_shared_range(
            &self,
            s: Bound<u64>,
            e: Bound<u64>,
        ) -> Result<bool, BackendError> {
            self.file.try_lock_shared_range(s, e)
        }
        fn lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
            self.file.lock_range(s, e)
        }
        fn lock_shared_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
            self.file.lock_shared_range(s, e)
        }
        fn unlock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<(), BackendError> {
            self.file.unlock_range(s, e)
        }
        fn query_lock_range(&self, s: Bound<u64>, e: Bound<u64>) -> Result<bool, BackendError> {
            self.file.query_lock_range(s, e)
        }
    }

    static SQUARE: Function = Function::new("square", "slot_tests", None, None, false);

    /// A cached `x * x`, as `#[fleche]` would write it, with `computed` counting misses.
    fn square(cache: &Cache, x: u64, computed: &mut u32) -> u64 {
        let _active = cache.activate();
        #[allow(clippy::needless_borrow, reason = "every `&` counts for the dispatch")]
        let arg = (&&&Select(&x)).pick();
        match begin::<u64>(&SQUARE, &[("x", &arg)]) {
            Begin::Hit(r) => r,
            Begin::Miss(pending) => {
                *computed += 1;
                pending.finish(x * x, true)
            }
            Begin::Uncached => x * x,
        }
    }

    #[test]
    fn after_a_full_disk_results_are_still_returned_and_storing_resumes_when_space_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.redb");
        let full = Arc::new(AtomicBool::new(false));
        let store = {
            let (path, full) = (path.clone(), full.clone());
            Store::with_backend(&path.clone(), move || {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)?;
                let backend = FullDisk {
                    file: FileBackend::new(file)?,
                    full: full.clone(),
                };
                let mut builder = redb::Builder::new();
                builder.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
                builder.create_with_backend(backend)
            })
            .unwrap()
        };
        let cache = Cache::plain(store);
        let mut computed = 0;
        for x in 0..10 {
            assert_eq!(square(&cache, x, &mut computed), x * x);
        }
        cache.flush().unwrap();

        full.store(true, Ordering::SeqCst);
        for x in 10..50 {
            assert_eq!(square(&cache, x, &mut computed), x * x);
        }
        match cache.flush() {
            Err(Error::NotStored { count, .. }) => assert!(count > 0 && count <= 40, "{count}"),
            other => panic!("expected NotStored, got {other:?}"),
        }
        assert!(cache.flush().is_ok(), "each failure is reported once");
        // Hits of what was stored before work throughout (from the reopened file, or an error
        // and a recomputation, but never a wrong result).
        for x in 0..50 {
            assert_eq!(square(&cache, x, &mut computed), x * x);
        }

        // The misses of that loop failed to store too.
        assert!(matches!(cache.flush(), Err(Error::NotStored { .. })));

        full.store(false, Ordering::SeqCst);
        // A failed reopen is retried after a pause.
        std::thread::sleep(RETRY_EVERY * 2);
        let before = computed;
        for x in 0..10 {
            assert_eq!(square(&cache, x, &mut computed), x * x);
        }
        assert_eq!(
            computed, before,
            "calls stored before the failure are hits again"
        );
        for x in 100..120 {
            assert_eq!(square(&cache, x, &mut computed), x * x);
        }
        cache.flush().unwrap();
        assert!(
            cache.len().unwrap() >= 30,
            "storing resumed: {}",
            cache.len().unwrap()
        );
        let before = computed;
        for x in 100..120 {
            assert_eq!(square(&cache, x, &mut computed), x * x);
        }
        assert_eq!(
            computed, before,
            "calls made after the space came back are hits"
        );
    }
}
