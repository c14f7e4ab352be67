//! `Cache`: one store of values and call records, a handle cheap to clone.
//!
//! Which cache cached functions use (the active one, the default) is `active.rs`'s job;
//! loading calls, queries and tables over a cache live with [`Call`](crate::Call),
//! [`Query`](crate::Query) and [`Table`](crate::Table).

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::digest::{D, Digest, common_hex_prefix};
use crate::error::{Error, Result};
use crate::layer::Layers;
use crate::record::CallRecord;
use crate::store::{Location, Mode, Store};

pub use crate::store::maintenance::{
    Collected, Compacted, Copied, FunctionStats, Problem, Stats, Verified,
};

/// Digest prefixes shorter than this are refused: too likely to be ambiguous.
pub const MIN_PREFIX: usize = 4;

/// A cache: content-addressed values plus one record per call, in a redb file or in memory.
///
/// Cloning is cheap and clones share the same store.
#[derive(Clone)]
pub struct Cache {
    /// The store calls are written to: the only one of a plain cache, the top writable file
    /// of a stack.
    pub(crate) store: Arc<Store>,
    /// Every layer, top first, when this cache is a stack (see [`Stack`](crate::Stack));
    /// `None` for a plain cache, so that its hit path is the store's and nothing more.
    pub(crate) layers: Option<Arc<Layers>>,
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
    ///
    /// A missing or empty file, or a redb database without any table, becomes a cache. Any
    /// other file that is not a fleche cache (another program's redb database included) is
    /// refused with [`Error::NotACache`] and left unchanged.
    pub fn open(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache::plain(Store::open(path.as_ref(), Mode::Create)?))
    }

    /// Opens an existing cache file without ever writing to it (not even to repair it after a
    /// crash: that gives [`Error::NeedsRepair`]). Writes through this handle give
    /// [`Error::ReadOnly`]. Other processes may write to the file meanwhile; every new read
    /// sees their latest commit.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache::plain(Store::open(path.as_ref(), Mode::ReadOnly)?))
    }

    /// [`Cache::open_read_only`] for a browser that reads every record once (`fleche-tui`,
    /// `fleche ls`): the same, with a small read cache, since redb's default (1 GiB) would
    /// only hold memory.
    pub fn open_for_browsing(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache::plain(Store::open(path.as_ref(), Mode::Browse)?))
    }

    /// Opens an existing cache file for reading and writing; a missing file is an error.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Cache> {
        Ok(Cache::plain(Store::open(
            path.as_ref(),
            Mode::ReadWriteExisting,
        )?))
    }

    /// A new, empty in-memory cache, gone when its last clone is dropped.
    pub fn memory() -> Cache {
        // Creating a database on an empty in-memory backend only fails if memory runs out.
        let store =
            Store::memory().unwrap_or_else(|e| panic!("cannot create an in-memory cache: {e}"));
        Cache::plain(Arc::new(store))
    }

    /// A cache of one store, not a stack.
    pub(crate) fn plain(store: Arc<Store>) -> Cache {
        Cache {
            store,
            layers: None,
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

    /// Whether two handles share one store.
    pub fn same_as(&self, other: &Cache) -> bool {
        Arc::ptr_eq(&self.store, &other.store)
    }

    /// Resolves a full digest, or a prefix of at least 4 hex characters, to the one stored
    /// call key or value digest it names.
    pub fn expand(&self, prefix: &str) -> Result<Digest> {
        self.resolve_prefix(prefix, |lower| {
            self.union_of(|store| store.digests_with_prefix(lower, 2))
        })
    }

    /// `find` on every file layer of a stack (on the store of a plain cache), the results
    /// merged, sorted and deduplicated. A read-only layer that fails is skipped with a warning.
    pub(crate) fn union_of(
        &self,
        find: impl Fn(&Store) -> Result<Vec<Digest>>,
    ) -> Result<Vec<Digest>> {
        let Some(layers) = &self.layers else {
            return find(&self.store);
        };
        let mut all = Vec::new();
        for entry in &layers.entries {
            let Some(store) = &entry.store else { continue };
            match find(store) {
                Ok(found) => all.extend(found),
                Err(e) if entry.read_only => layers.skip(entry, &e),
                Err(e) => return Err(e),
            }
        }
        all.sort();
        all.dedup();
        Ok(all)
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

    /// Waits until every call record this process queued for the file is committed, so other
    /// processes see it. Reads and writes through this process never need it: they wait by
    /// themselves.
    ///
    /// Without it, a call is committed within 100 ms of returning (see the README's
    /// "Durability"); `flush` is for when a program must know. It returns
    /// [`Error::NotStored`] with the number of records that could not be stored (a full
    /// disk, say) since the last `flush` that reported failures; their results were returned
    /// to the callers all the same. After such an error the cache reopens its file by itself,
    /// so later calls are stored again once the cause is gone.
    pub fn flush(&self) -> Result<()> {
        let Some(layers) = &self.layers else {
            return self.store.flush();
        };
        let mut result = self.store.flush();
        for entry in layers.entries.iter().filter(|e| !e.read_only) {
            let flushed = entry.layer.flush();
            if result.is_ok() {
                result = flushed;
            }
        }
        result
    }

    /// Whether a call is stored under `key` (reads no values).
    /// On a stack: in any layer.
    pub fn contains(&self, key: &Digest) -> Result<bool> {
        let Some(layers) = &self.layers else {
            return self.store.contains_call(key);
        };
        for entry in &layers.entries {
            let found = match &entry.store {
                Some(store) => store.contains_call(key),
                None => entry.layer.result_of(key).map(|r| r.is_some()),
            };
            match found {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => crate::error::warn_once(&entry.skipped(&e)),
            }
        }
        Ok(false)
    }

    /// Removes the call record under `key`; its values stay, as other calls may share them.
    /// Returns whether there was such a call. On a stack: from every writable layer (a
    /// read-only layer keeps its copy, which lookups then still find).
    pub fn evict(&self, key: impl CallKey) -> Result<bool> {
        let key = key.resolve_call(self)?;
        let Some(layers) = &self.layers else {
            return self.store.remove_call(&key);
        };
        let mut removed = false;
        for entry in layers.entries.iter().filter(|e| !e.read_only) {
            removed |= entry.layer.remove(std::slice::from_ref(&key))? > 0;
        }
        Ok(removed)
    }

    /// Stores a value under its digest and returns the digest.
    pub fn put_value<T: Serialize + ?Sized>(&self, value: &T) -> Result<Digest> {
        let digest = crate::digest::try_digest(value)
            .map_err(|e| codec::CodecError::Encode(e.to_string()))?;
        let bytes = codec::encode(value)?;
        self.store.put_value(&digest, &bytes)?;
        Ok(digest)
    }

    /// The encoded bytes of the value stored under `digest`, if any.
    /// On a stack: from the first layer holding it.
    pub fn value_bytes(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        match &self.layers {
            None => self.store.value(digest),
            Some(layers) => self.stacked_value(layers, digest),
        }
    }

    /// The value stored under a digest (or prefix), decoded as `T`.
    pub fn value<T: DeserializeOwned>(&self, digest: impl CallKey) -> Result<T> {
        let digest = digest.resolve(self)?;
        let bytes = self
            .value_bytes(&digest)?
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

    /// Number of calls stored; on a stack, distinct calls across its layers (a database's
    /// too).
    pub fn len(&self) -> Result<u64> {
        if self.layers.is_none() {
            return self.store.call_count();
        }
        // Files by their call keys (a range read; their time index holds key prefixes, each
        // resolved by a lookup); other layers as they list their calls.
        let mut keys = self.union_of(Store::all_call_keys)?;
        keys.extend(self.keys_of_other_layers()?);
        keys.sort_unstable();
        keys.dedup();
        Ok(keys.len() as u64)
    }

    /// Whether no call is stored.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

// -------------------------------------------------------------------------------------------
// Looking after a cache: gc, compact, stats, verify, copying calls.
// -------------------------------------------------------------------------------------------

/// Calls copied per commit: big enough that a commit's two fsyncs do not dominate, small
/// enough that a copy of a large cache holds little in memory.
const COPY_CHUNK: usize = 512;
/// Bytes of values read per commit, at most (a call's values are never split).
const COPY_CHUNK_BYTES: usize = 64 << 20;

impl Cache {
    /// Removes every stored value that no call refers to any more (after [`Cache::evict`], a
    /// `rerun` whose result changed, or a delete in `fleche-tui`), and values stored with
    /// [`Cache::put_value`] that no call names.
    ///
    /// fleche cleans values by a sweep rather than by reference counts: evicting stays one
    /// small write, and a cache that is never swept is only larger, never wrong. The sweep
    /// reads every call record, then removes the unreferenced values, all in one write
    /// transaction, so calls other processes commit meanwhile keep their values. The file
    /// does not shrink until [`Cache::compact`]; its free pages are reused by later writes.
    ///
    /// ```
    /// let cache = fleche::Cache::memory();
    /// cache.put_value(&"nobody refers to me")?;
    /// assert_eq!(cache.gc()?.values_removed, 1);
    /// # Ok::<(), fleche::Error>(())
    /// ```
    pub fn gc(&self) -> Result<Collected> {
        self.store.collect_garbage()
    }

    /// Gives the file's free pages back to the file system (redb's compaction), after
    /// committing what this process queued. Needs the cache to itself: [`Error::InUse`]
    /// when this process holds other handles to it (clones of this `Cache`, the active cache,
    /// a running query) or another process is reading or writing it at that moment. Other
    /// processes that merely have the file open wait while it runs. A memory cache compacts
    /// too (sizes are then 0).
    pub fn compact(&mut self) -> Result<Compacted> {
        Store::compact(&mut self.store)
    }

    /// Counts what the cache holds: calls, values and their bytes, bytes per function,
    /// values no call refers to, the file's size, the oldest and newest call. Reads every
    /// record and walks every value (without decoding it).
    pub fn stats(&self) -> Result<Stats> {
        self.store.stats()
    }

    /// Reads every value and call record and checks what can be checked without the Rust
    /// types: each value parses as one whole encoding (its digest cannot be recomputed, as
    /// it is taken over the typed value, not the bytes), each record decodes and agrees with
    /// its stored result digest, every value a record names is stored, and the time index
    /// lists exactly the stored calls. Reads only; repairs nothing.
    pub fn verify(&self) -> Result<Verified> {
        self.verify_with_progress(&mut |_, _| {})
    }

    /// [`Cache::verify`], calling `progress(items read, items in all)` as it goes.
    pub fn verify_with_progress(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<Verified> {
        self.store.verify(progress)
    }

    /// Copies the calls under `keys` (with their values, records byte for byte) into `to`,
    /// skipping calls `to` already has; `progress(calls looked at, calls in all)`.
    pub(crate) fn copy_keys_to(
        &self,
        keys: &[Digest],
        to: &Cache,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Copied> {
        let mut copied = Copied::default();
        if self.same_as(to) {
            copied.calls_present = keys.len() as u64;
            return Ok(copied);
        }
        // Looked for in `to` under the keys they will have there.
        let there = self.store.copied_keys(keys)?;
        let absent: std::collections::HashSet<Digest> =
            to.store.missing_calls(&there)?.into_iter().collect();
        let missing: Vec<Digest> = keys
            .iter()
            .zip(&there)
            .filter(|(_, there)| absent.contains(there))
            .map(|(key, _)| *key)
            .collect();
        copied.calls_present = (keys.len() - missing.len()) as u64;
        let total = keys.len() as u64;
        let mut done = copied.calls_present;
        progress(done, total);
        let mut rest = missing.as_slice();
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(rest.len().min(COPY_CHUNK));
            rest = after;
            let mut bundles = self.store.bundles(chunk)?;
            // Values can be large: split a chunk further by bytes.
            while !bundles.is_empty() {
                let mut bytes = 0;
                let take = bundles
                    .iter()
                    .take_while(|b| {
                        bytes += b.bytes();
                        bytes <= COPY_CHUNK_BYTES
                    })
                    .count()
                    .max(1);
                let part: Vec<_> = bundles.drain(..take).collect();
                copied += to.store.put_bundles(&part)?;
            }
            done += chunk.len() as u64;
            progress(done, total);
        }
        Ok(copied)
    }
}

// -------------------------------------------------------------------------------------------
// Prefixes, counters and test setup.
// -------------------------------------------------------------------------------------------

impl Cache {
    /// Resolves a full call key, or a prefix of at least 4 hex characters, to the one stored
    /// call key it starts; value digests are not considered (unlike [`Cache::expand`]).
    pub fn expand_call(&self, prefix: &str) -> Result<Digest> {
        self.resolve_prefix(prefix, |lower| {
            self.union_of(|store| store.call_keys_with_prefix(lower, 2))
        })
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
