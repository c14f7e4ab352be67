//! `Cache`: one store of values and call records, and the active cache of this thread.

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, RwLock};

use redb::ReadableTable;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::call::Call;
use crate::codec;
use crate::config::{CacheSpec, Config, Origin};
use crate::digest::{D, Digest, common_hex_prefix};
use crate::error::{Error, Result};
use crate::query::Query;
use crate::record::CallRecord;
use crate::store::{Location, Mode, Store};
use crate::table::Table;

/// Digest prefixes shorter than this are refused: too likely to be ambiguous.
pub const MIN_PREFIX: usize = 4;

/// A cache: content-addressed values plus one record per call, in a redb file or in memory.
///
/// Cloning is cheap and clones share the same store.
#[derive(Clone)]
pub struct Cache {
    pub(crate) store: Arc<Store>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("location", &self.store.location)
            .finish()
    }
}

impl Cache {
    /// Opens or creates the cache file at `path` (a redb database in multi-process mode, so
    /// other processes, such as `fleche-tui` or a second notebook, can use it at the same time).
    pub fn open(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache {
            store: Store::open(path.as_ref(), Mode::Create)?,
        })
    }

    /// Opens an existing cache file without ever writing to it (not even to repair it after a
    /// crash: that gives [`Error::NeedsRepair`]). Writes through this handle give
    /// [`Error::ReadOnly`]. Other processes may write to the file meanwhile; every new read
    /// sees their latest commit.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache {
            store: Store::open(path.as_ref(), Mode::ReadOnly)?,
        })
    }

    /// Opens an existing cache file for reading and writing; a missing file is an error.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache {
            store: Store::open(path.as_ref(), Mode::ReadWriteExisting)?,
        })
    }

    /// A new, empty in-memory cache, gone when its last clone is dropped.
    pub fn memory() -> Cache {
        // Creating a database on an empty in-memory backend only fails if memory runs out.
        let store =
            Store::memory().unwrap_or_else(|e| panic!("cannot create an in-memory cache: {e}"));
        Cache {
            store: Arc::new(store),
        }
    }

    /// The cache named `name` in `fleche.toml` (or `"memory"`, or a file path).
    pub fn named(name: &str) -> Result<Cache> {
        let resolved = Config::discover()?.resolve(name)?;
        Cache::from_spec(&resolved.spec)
    }

    pub(crate) fn from_spec(spec: &CacheSpec) -> Result<Cache> {
        match spec {
            CacheSpec::Memory => Ok(Cache::memory()),
            CacheSpec::File(path) => Cache::open(path),
        }
    }

    /// The file behind this cache, or `None` for a memory cache.
    pub fn path(&self) -> Option<&Path> {
        match &self.store.location {
            Location::File(p) => Some(p),
            Location::Memory => None,
        }
    }

    /// Where this cache lives.
    pub fn location(&self) -> &Location {
        &self.store.location
    }

    /// Makes this the active cache of the current thread until the guard drops.
    ///
    /// ```
    /// let scratch = fleche::Cache::memory();
    /// {
    ///     let _active = scratch.activate();
    ///     assert!(fleche::cache().same_as(&scratch));
    /// }
    /// ```
    #[must_use = "the cache is active only while the guard lives"]
    pub fn activate(&self) -> ActiveCache {
        ACTIVE.with(|a| a.borrow_mut().push(self.clone()));
        ActiveCache {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Whether two handles share one store.
    pub fn same_as(&self, other: &Cache) -> bool {
        self.store.db.id() == other.store.db.id()
    }

    /// Resolves a full digest, or a prefix of at least 4 hex characters, to the one stored
    /// call key or value digest it names.
    pub fn expand(&self, prefix: &str) -> Result<Digest> {
        self.resolve_prefix(prefix, |lower| self.store.digests_with_prefix(lower, 2))
    }

    /// The shortest prefix (at least 4 characters) that names `digest` unambiguously in this
    /// cache today. Later additions can make it ambiguous.
    pub fn shrink(&self, digest: &Digest) -> Result<String> {
        let (present, neighbours) = self.store.neighbours(digest)?;
        if !present {
            return Err(Error::UnknownDigest {
                prefix: digest.to_string(),
            });
        }
        let needed = neighbours
            .iter()
            .map(|n| common_hex_prefix(digest, n) + 1)
            .max()
            .unwrap_or(0);
        let len = needed.clamp(MIN_PREFIX, Digest::HEX_LEN);
        Ok(digest.to_string()[..len].to_owned())
    }

    /// The call stored under a key (a [`Digest`], a hex prefix, or a [`D`]), read lazily:
    /// its record now, its argument and result values only when asked for.
    pub fn load(&self, key: impl CallKey) -> Result<Call> {
        let key = key.resolve_call(self)?;
        let bytes = self
            .store
            .record(&key)?
            .ok_or_else(|| Error::UnknownDigest {
                prefix: key.to_string(),
            })?;
        let record = CallRecord::decode(&bytes)?;
        Ok(Call::new(self.clone(), key, record))
    }

    /// Every call key, newest first (by start time). Reads only the time index.
    pub fn keys_newest_first(&self) -> Result<Vec<Digest>> {
        self.store.keys_newest_first()
    }

    /// Loads several calls in one read transaction (lazily: no values are read). Keys that
    /// are not stored are skipped; a record that does not decode is an error.
    pub fn load_many(&self, keys: &[Digest]) -> Result<Vec<Call>> {
        self.store
            .records(keys)?
            .into_iter()
            .map(|(key, bytes)| Ok(Call::new(self.clone(), key, CallRecord::decode(&bytes)?)))
            .collect()
    }

    /// Waits until every call record this process queued for the file is committed, so other
    /// processes see it. Reads through this process never need it: they wait by themselves.
    pub fn flush(&self) {
        self.store.flush();
    }

    /// Whether a call is stored under `key` (reads no values).
    pub fn contains(&self, key: &Digest) -> Result<bool> {
        self.store.contains_call(key)
    }

    /// Removes the call record under `key`; its values stay, as other calls may share them.
    /// Returns whether there was such a call.
    pub fn evict(&self, key: impl CallKey) -> Result<bool> {
        let key = key.resolve_call(self)?;
        self.store.remove_call(&key)
    }

    /// Stores a value under its digest and returns the digest.
    pub fn put_value<T: Serialize + ?Sized>(&self, value: &T) -> Result<Digest> {
        let digest = crate::digest::try_digest(value)
            .map_err(|e| codec::CodecError::Encode(e.to_string()))?;
        let bytes = codec::encode(value)?;
        self.store.write(|txn| {
            let mut values = txn.open_table(crate::store::VALUES)?;
            if values.get(digest.as_bytes())?.is_none() {
                values.insert(digest.as_bytes(), bytes.as_slice())?;
            }
            Ok(())
        })?;
        Ok(digest)
    }

    /// The encoded bytes of the value stored under `digest`, if any.
    pub fn value_bytes(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        self.store.value(digest)
    }

    /// The value stored under a digest (or prefix), decoded as `T`.
    pub fn value<T: DeserializeOwned>(&self, digest: impl CallKey) -> Result<T> {
        let digest = digest.resolve(self)?;
        let bytes = self
            .store
            .value(&digest)?
            .ok_or_else(|| Error::UnknownDigest {
                prefix: digest.to_string(),
            })?;
        codec::decode(&bytes).map_err(|e| Error::WrongType {
            call: format!("value {digest}"),
            field: "value".into(),
            requested: std::any::type_name::<T>(),
            stored: "unknown".into(),
            detail: e.to_string(),
        })
    }

    /// Number of calls stored.
    pub fn len(&self) -> Result<u64> {
        self.store.call_count()
    }

    /// Whether no call is stored.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

// -------------------------------------------------------------------------------------------
// Queries and tables over the whole cache.
// -------------------------------------------------------------------------------------------

impl Cache {
    /// A query over every call in this cache; add filters to narrow it. See [`Query`].
    ///
    /// ```
    /// # use fleche::fleche;
    /// #[fleche]
    /// fn double(x: i64) -> i64 { x * 2 }
    /// # fn main() -> fleche::Result<()> {
    /// let cache = fleche::Cache::memory();
    /// let _active = cache.activate();
    /// double(100);
    /// assert_eq!(cache.query().argument("x", 100).count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn query(&self) -> Query {
        Query::new(Some(self.clone()))
    }

    /// A table of every call in this cache (see [`Table`]); no argument or result is read.
    pub fn table(&self) -> Table {
        self.query().table()
    }

    /// Resolves a full call key, or a prefix of at least 4 hex characters, to the one stored
    /// call key it starts; value digests are not considered (unlike [`Cache::expand`]).
    pub fn expand_call(&self, prefix: &str) -> Result<Digest> {
        self.resolve_prefix(prefix, |lower| self.store.call_keys_with_prefix(lower, 2))
    }

    /// Checks a digest or prefix and resolves it with `candidates`, which returns up to two
    /// stored digests starting with the lowercase prefix.
    fn resolve_prefix(
        &self,
        prefix: &str,
        candidates: impl FnOnce(&str) -> Result<Vec<Digest>>,
    ) -> Result<Digest> {
        let prefix = prefix.trim();
        let owned = || prefix.to_owned();
        if !prefix.bytes().all(|c| c.is_ascii_hexdigit()) || prefix.len() > Digest::HEX_LEN {
            return Err(Error::NotHex { text: owned() });
        }
        if prefix.len() == Digest::HEX_LEN {
            return prefix.parse().map_err(|_| Error::NotHex { text: owned() });
        }
        if prefix.len() < MIN_PREFIX {
            return Err(Error::PrefixTooShort { prefix: owned() });
        }
        let found = candidates(&prefix.to_ascii_lowercase())?;
        match found.as_slice() {
            [] => Err(Error::UnknownDigest { prefix: owned() }),
            [one] => Ok(*one),
            [a, b, ..] => Err(Error::AmbiguousDigest {
                prefix: owned(),
                matches: found.len(),
                needed: common_hex_prefix(a, b) + 1,
            }),
        }
    }

    /// How many values this handle has read from the store (arguments, results, hits).
    /// For tests that check that reads are lazy; not a stable API.
    #[doc(hidden)]
    pub fn value_reads(&self) -> u64 {
        self.store
            .value_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many call records queries on this handle have read. For tests that check that
    /// queries use the indexes; not a stable API.
    #[doc(hidden)]
    pub fn record_reads(&self) -> u64 {
        self.store
            .record_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stores many call records and values in one commit, bypassing the runtime. For test
    /// and benchmark setup; the records' index entries are written too. Not a stable API.
    #[doc(hidden)]
    pub fn insert_records(
        &self,
        calls: &[(Digest, CallRecord)],
        values: &[(Digest, Vec<u8>)],
    ) -> Result<()> {
        self.store.put_many(calls, values)
    }
}

impl Digest {
    /// The shortest unambiguous prefix of this digest in the active cache (at least 4 chars).
    pub fn shrink(&self) -> Result<String> {
        try_cache()?.shrink(self)
    }
}

/// Something that names a stored call or value: a [`Digest`], a hex prefix, or a [`D`].
pub trait CallKey {
    /// The full digest it names in `cache`.
    fn resolve(self, cache: &Cache) -> Result<Digest>;

    /// The full call key it names in `cache`, among call keys only: a value digest that
    /// shares the prefix does not make it ambiguous. [`Cache::load`] and [`Cache::evict`]
    /// resolve keys this way, so the prefixes shown in tables always load.
    fn resolve_call(self, cache: &Cache) -> Result<Digest>
    where
        Self: Sized,
    {
        self.resolve(cache)
    }
}

impl CallKey for Digest {
    fn resolve(self, _: &Cache) -> Result<Digest> {
        Ok(self)
    }
}

impl CallKey for &Digest {
    fn resolve(self, _: &Cache) -> Result<Digest> {
        Ok(*self)
    }
}

impl CallKey for &str {
    fn resolve(self, cache: &Cache) -> Result<Digest> {
        cache.expand(self)
    }
    fn resolve_call(self, cache: &Cache) -> Result<Digest> {
        cache.expand_call(self)
    }
}

impl CallKey for &String {
    fn resolve(self, cache: &Cache) -> Result<Digest> {
        cache.expand(self)
    }
    fn resolve_call(self, cache: &Cache) -> Result<Digest> {
        cache.expand_call(self)
    }
}

impl CallKey for String {
    fn resolve(self, cache: &Cache) -> Result<Digest> {
        cache.expand(&self)
    }
    fn resolve_call(self, cache: &Cache) -> Result<Digest> {
        cache.expand_call(&self)
    }
}

impl<S: AsRef<str>> CallKey for D<S> {
    fn resolve(self, cache: &Cache) -> Result<Digest> {
        cache.expand(self.0.as_ref())
    }
    fn resolve_call(self, cache: &Cache) -> Result<Digest> {
        cache.expand_call(self.0.as_ref())
    }
}

thread_local! {
    static ACTIVE: RefCell<Vec<Cache>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a cache active on this thread; see [`Cache::activate`].
#[derive(Debug)]
pub struct ActiveCache {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ActiveCache {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.borrow_mut().pop());
    }
}

/// The default cache of this copy of fleche (under evcxr, of this cell).
enum DefaultHandle {
    /// Opened once, kept open.
    Held(Cache),
    /// Under evcxr: open only while in use, see `notebook::Reopen`.
    Reopened(Arc<crate::notebook::Reopen>),
}

/// The default cache, opened on first use. Not a `OnceLock`, so that it can be dropped when
/// the process exits: redb marks a file that was never closed as needing repair, which a
/// read-only opener (such as `fleche-tui`) cannot do.
static DEFAULT: RwLock<Option<std::result::Result<DefaultHandle, String>>> = RwLock::new(None);

/// The active cache: the innermost [`Cache::activate`] on this thread, else the default cache
/// from `fleche.toml` / `FLECHE_CACHE` (an in-memory cache when nothing is configured).
///
/// # Panics
///
/// If the configured default cache cannot be opened; [`try_cache`] returns the error instead.
/// Cached functions never panic for this: they run uncached and log the error.
pub fn cache() -> Cache {
    try_cache().unwrap_or_else(|e| panic!("{e}"))
}

/// The active cache, or why the configured default cannot be opened.
pub fn try_cache() -> Result<Cache> {
    if let Some(active) = ACTIVE.with(|a| a.borrow().last().cloned()) {
        return Ok(active);
    }
    let to_error = |detail: &String| Error::Storage {
        path: "<default cache>".into(),
        detail: detail.clone(),
    };
    let get = |default: &std::result::Result<DefaultHandle, String>| match default {
        Ok(DefaultHandle::Held(cache)) => Ok(cache.clone()),
        Ok(DefaultHandle::Reopened(reopen)) => reopen.cache(),
        Err(detail) => Err(to_error(detail)),
    };
    if let Some(default) = DEFAULT.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return get(default);
    }
    let mut slot = DEFAULT.write().unwrap_or_else(|e| e.into_inner());
    let default = slot.get_or_insert_with(|| {
        // Opening a file registers the exit hook that closes it.
        open_default()
    });
    get(default)
}

/// Drops the default cache so its file is closed cleanly; called when the process exits.
pub(crate) fn close_default_cache() {
    let closing = DEFAULT
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .replace(Err(
            "the process is exiting; the default cache is closed".to_owned()
        ));
    if let Some(Ok(DefaultHandle::Reopened(reopen))) = &closing {
        reopen.close();
    }
    drop(closing);
}

fn open_default() -> std::result::Result<DefaultHandle, String> {
    let config = crate::config::current()
        .as_ref()
        .map_err(ToString::to_string)?;
    let resolved = config.resolve_default().map_err(|e| e.to_string())?;
    let cache = Cache::from_spec(&resolved.spec).map_err(|e| e.to_string())?;
    if let (true, CacheSpec::File(path)) = (crate::notebook::in_evcxr(), &resolved.spec) {
        crate::notebook::announce_once(&format!(
            "fleche: caching to {} ({})",
            path.display(),
            resolved.origin
        ));
        let path = cache.path().map_or_else(|| path.clone(), Path::to_path_buf);
        return Ok(DefaultHandle::Reopened(Arc::new(
            crate::notebook::Reopen::new(path),
        )));
    }
    match (&resolved.origin, &resolved.spec) {
        (Origin::NoConfig, _) => {
            eprintln!(
                "fleche: no fleche.toml found; using an in-memory cache (results last until the program exits)"
            )
        }
        (origin, CacheSpec::File(path)) => {
            eprintln!("fleche: caching to {} ({origin})", path.display())
        }
        (origin, CacheSpec::Memory) => eprintln!("fleche: using an in-memory cache ({origin})"),
    }
    Ok(DefaultHandle::Held(cache))
}
