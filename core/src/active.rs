//! Which cache cached functions use: the innermost [`Cache::activate`] on this thread, else
//! the innermost [`Cache::activate_globally`] of the process, else the default cache from
//! `fleche.toml` / `FLECHE_CACHE`, opened on first use and closed when the process exits.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once, RwLock};

use crate::cache::Cache;
use crate::config::{CacheSpec, Origin};
use crate::digest::Digest;
use crate::error::{Error, Result, Stream, notice};
use crate::notebook::{Reopen, announce_once};
use crate::process::in_evcxr;

/// The thread's activations, innermost last, each with the id its guard removes.
#[derive(Default)]
struct Activations {
    caches: Vec<(u64, Cache)>,
    next_id: u64,
}

type ActiveKey = std::thread::LocalKey<RefCell<Activations>>;

/// This thread's activations; under evcxr the first cell's copy, so that an activation kept
/// in a notebook variable holds in later cells (see `process.rs`).
fn active() -> &'static ActiveKey {
    thread_local! {
        static ACTIVE: RefCell<Activations> = RefCell::new(Activations::default());
    }
    crate::process::shared_static!("active::ACTIVE", ActiveKey, &ACTIVE)
}

/// Keeps a cache active on this thread; see [`Cache::activate`].
#[derive(Debug)]
pub struct ActiveCache {
    id: u64,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ActiveCache {
    fn drop(&mut self) {
        // Removes this guard's own activation, also when guards drop out of order.
        let _ = active().try_with(|a| a.borrow_mut().caches.retain(|(id, _)| *id != self.id));
    }
}

/// The process-wide activations, innermost last, each with the id its guard removes.
#[derive(Default)]
struct GlobalActivations {
    caches: RwLock<Vec<(u64, Cache)>>,
    /// Whether `caches` may be non-empty, so that a call skips its lock when nothing was
    /// activated globally.
    any: AtomicBool,
    next_id: AtomicU64,
}

fn global() -> &'static GlobalActivations {
    static GLOBAL: GlobalActivations = GlobalActivations {
        caches: RwLock::new(Vec::new()),
        any: AtomicBool::new(false),
        next_id: AtomicU64::new(0),
    };
    crate::process::shared_static!("active::GLOBAL", GlobalActivations, &GLOBAL)
}

/// Keeps a cache active for every thread of the process; see [`Cache::activate_globally`].
#[derive(Debug)]
pub struct GlobalActiveCache {
    id: u64,
}

impl Drop for GlobalActiveCache {
    fn drop(&mut self) {
        let global = global();
        let mut caches = global.caches.write().unwrap_or_else(|e| e.into_inner());
        caches.retain(|(id, _)| *id != self.id);
        global.any.store(!caches.is_empty(), Ordering::Release);
    }
}

impl Cache {
    /// Makes this the active cache of the current thread until the guard drops.
    ///
    /// Only this thread: a cached function called in a thread it spawns (`std::thread`,
    /// rayon, a thread pool) uses that thread's own active cache, and without one the
    /// default cache, not this one. To carry a cache into threads, use
    /// [`Cache::activate_globally`] for the whole process, or activate it in the thread
    /// (`let c = cache.clone();` then `let _a = c.activate();` inside the thread).
    ///
    /// ```
    /// let scratch = fleche::Cache::memory();
    /// {
    ///     let _active = scratch.activate();
    ///     assert!(fleche::cache().same_as(&scratch));
    ///     std::thread::scope(|s| {
    ///         // Another thread does not see it.
    ///         s.spawn(|| assert!(!fleche::cache().same_as(&scratch)));
    ///     });
    /// }
    /// ```
    #[must_use = "the cache is active only while the guard lives"]
    pub fn activate(&self) -> ActiveCache {
        let id = active().with(|a| {
            let mut a = a.borrow_mut();
            let id = a.next_id;
            a.next_id += 1;
            a.caches.push((id, self.clone()));
            id
        });
        ActiveCache {
            id,
            _not_send: std::marker::PhantomData,
        }
    }

    /// Makes this the active cache of every thread of the process (threads already running
    /// and threads started later, rayon's included) until the guard drops.
    ///
    /// A thread's own [`Cache::activate`] still comes first on that thread; among global
    /// activations the latest wins until its guard drops. The guard may be dropped on any
    /// thread.
    ///
    /// ```
    /// use fleche::fleche;
    ///
    /// #[fleche]
    /// fn square(x: i64) -> i64 {
    ///     x * x
    /// }
    ///
    /// fn main() -> fleche::Result<()> {
    ///     let cache = fleche::Cache::memory();
    ///     let _active = cache.activate_globally();
    ///     std::thread::scope(|s| {
    ///         for x in 0..4 {
    ///             s.spawn(move || square(x));
    ///         }
    ///     });
    ///     assert_eq!(cache.len()?, 4);
    ///     Ok(())
    /// }
    /// ```
    #[must_use = "the cache is active only while the guard lives"]
    pub fn activate_globally(&self) -> GlobalActiveCache {
        let global = global();
        let id = global.next_id.fetch_add(1, Ordering::Relaxed);
        // A guard kept until exit (in a static, or leaked) needs nothing here: the store's
        // own exit hook closes every open file, whatever handles still point at it.
        let mut caches = global.caches.write().unwrap_or_else(|e| e.into_inner());
        caches.push((id, self.clone()));
        global.any.store(true, Ordering::Release);
        GlobalActiveCache { id }
    }
}

fn global_cache() -> Option<Cache> {
    let global = global();
    if !global.any.load(Ordering::Acquire) {
        return None;
    }
    global
        .caches
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .last()
        .map(|(_, cache)| cache.clone())
}

impl Digest {
    /// The shortest unambiguous prefix of this digest in the active cache (at least 4 chars).
    pub fn shrink(&self) -> Result<String> {
        try_cache()?.shrink(self)
    }
}

/// The default cache of this copy of fleche (under evcxr, of this cell).
enum DefaultHandle {
    /// Opened once, kept open.
    Held(Cache),
    /// Under evcxr: open only while in use, see `notebook::Reopen`.
    Reopened(Arc<Reopen>),
}

/// The default cache's state. A failure to open it is not kept: the next use tries again and
/// reports the error again, typed.
enum DefaultState {
    NotOpened,
    Open(DefaultHandle),
    /// The process is exiting and the file was closed.
    Closed,
}

/// The default cache, opened on first use. Not a `OnceLock`, so that it can be dropped when
/// the process exits: redb marks a file that was never closed as needing repair, which a
/// read-only opener (such as `fleche-tui`) cannot do.
///
/// Under evcxr the first cell's copy serves every cell (see `process.rs`): one handle on the
/// file for the whole kernel, and a later cell's first call finds it open.
fn default_state() -> &'static RwLock<DefaultState> {
    static DEFAULT: RwLock<DefaultState> = RwLock::new(DefaultState::NotOpened);
    crate::process::shared_static!("active::DEFAULT", RwLock<DefaultState>, &DEFAULT)
}

impl DefaultState {
    /// The cache, or `None` when it is not opened yet.
    fn get(&self) -> Option<Result<Cache>> {
        match self {
            DefaultState::NotOpened => None,
            DefaultState::Open(DefaultHandle::Held(cache)) => Some(Ok(cache.clone())),
            DefaultState::Open(DefaultHandle::Reopened(reopen)) => Some(reopen.cache()),
            DefaultState::Closed => Some(Err(Error::Storage {
                path: "<default cache>".into(),
                detail: "the process is exiting; the default cache is closed".into(),
            })),
        }
    }
}

/// The active cache: the innermost [`Cache::activate`] on this thread, else the latest
/// [`Cache::activate_globally`], else the default cache from `fleche.toml` / `FLECHE_CACHE`
/// (an in-memory cache when nothing is configured).
///
/// # Panics
///
/// If the configured default cache cannot be opened; [`try_cache`] returns the error instead.
/// Cached functions never panic for this: they run uncached and log the error.
pub fn cache() -> Cache {
    try_cache().unwrap_or_else(|e| panic!("{e}"))
}

/// The active cache, or why the configured default cannot be opened: an
/// [`Error::Config`] for an invalid configuration, or the error of opening its file.
pub fn try_cache() -> Result<Cache> {
    if let Some(active) = active().with(|a| a.borrow().caches.last().map(|(_, c)| c.clone())) {
        return Ok(active);
    }
    if let Some(global) = global_cache() {
        return Ok(global);
    }
    if let Some(found) = default_state()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get()
    {
        return found;
    }
    let mut slot = default_state().write().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = slot.get() {
        return found;
    }
    let handle = open_default()?;
    if !matches!(&handle, DefaultHandle::Held(cache) if cache.path().is_none()) {
        // After the store's own hook (registered when it opened the file): queued writes are
        // committed first, then the file is closed.
        static CLOSE_AT_EXIT: Once = Once::new();
        CLOSE_AT_EXIT.call_once(|| crate::exit::at_exit(close_default_cache));
    }
    *slot = DefaultState::Open(handle);
    slot.get()
        .unwrap_or_else(|| unreachable!("the default cache was just opened"))
}

/// Drops the default cache so its file is closed cleanly; run when the process exits.
fn close_default_cache() {
    let closing = std::mem::replace(
        &mut *default_state().write().unwrap_or_else(|e| e.into_inner()),
        DefaultState::Closed,
    );
    if let DefaultState::Open(DefaultHandle::Reopened(reopen)) = &closing {
        reopen.close();
    }
    drop(closing);
}

fn open_default() -> Result<DefaultHandle> {
    let resolved = crate::config::current()
        .as_ref()
        .map_err(Clone::clone)?
        .resolve_default()?;
    if let (true, CacheSpec::Stack(_)) = (in_evcxr(), &resolved.spec) {
        // Opened now, so that a broken configuration is reported now, and held like a single
        // file: closed when idle, reopened when used again (see `notebook::Reopen`).
        let cache = Cache::from_spec(&resolved.spec)?;
        announce_once(&format!(
            "caching to {} ({})",
            resolved.spec, resolved.origin
        ));
        let spec = resolved.spec.clone();
        let open = move || Cache::from_spec(&spec);
        let reopen = Arc::new(Reopen::with(Box::new(open))).holding(&cache);
        return Ok(DefaultHandle::Reopened(reopen));
    }
    let cache = Cache::from_spec(&resolved.spec)?;
    if let (true, CacheSpec::File(path)) = (in_evcxr(), &resolved.spec) {
        announce_once(&format!(
            "caching to {} ({})",
            path.display(),
            resolved.origin
        ));
        let path = cache.path().map_or_else(|| path.clone(), Path::to_path_buf);
        let reopen = Arc::new(Reopen::new(path)).holding(&cache);
        return Ok(DefaultHandle::Reopened(reopen));
    }
    let line = match (&resolved.origin, &resolved.spec) {
        (Origin::NoConfig, _) => {
            "no fleche.toml found; using an in-memory cache (results last until the program exits)"
                .to_owned()
        }
        (origin, CacheSpec::File(path)) => format!("caching to {} ({origin})", path.display()),
        (origin, CacheSpec::Memory) => format!("using an in-memory cache ({origin})"),
        (origin, CacheSpec::Off) => format!("caching is off ({origin}): cached functions just run"),
        (origin, spec @ (CacheSpec::Stack(_) | CacheSpec::Postgres(_))) => {
            format!("caching to {spec} ({origin})")
        }
    };
    notice(tracing::Level::INFO, &line, Stream::Stderr);
    Ok(DefaultHandle::Held(cache))
}
