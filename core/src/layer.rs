//! The layers of a cache stack: the [`Layer`] interface that every kind of layer implements
//! (a redb cache file is one; a shared database is another), and the ordered list of layers
//! a stacked [`Cache`](crate::Cache) holds. What a stack does with them (look up in order,
//! back-fill, write to the top) is `stack.rs`'s job.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::store::{Claims, Store, TimeKey};

pub use crate::store::maintenance::StoredCall;

/// One layer of a cache stack, as the stack uses it.
///
/// A stack is a list of layers, top first. A cached call looks itself up in each layer in
/// turn ([`Layer::result_of`]); a hit below the top writable layer is copied up into it
/// (the stack reads the whole call with [`Layer::hit`] instead, and writes it to the top), so
/// the next hit is local. New results go to the top writable layer, and to every lower layer
/// that asks for them with [`Layer::wants_new_calls`] (a shared database that queues them in
/// an outbox, say). Queries, tables and listings read every layer's records
/// ([`Layer::records_after`]) and show their union, the top layer winning where two layers
/// hold the same call.
///
/// Every layer speaks fleche's own units, so no layer needs to know the Rust types:
///
/// - a **call** is a 32-byte call key and a [`StoredCall`]: the encoded call record (the
///   bytes of `docs/format.md`, decoded with [`StoredCall::decode_record`] when a layer wants
///   to index name, module, tags, arguments or start time), the result digest, and the
///   encoded values it names;
/// - a **value** is a digest and its encoded bytes, content-addressed: the bytes stored under
///   a digest never change, so a layer may keep one copy per digest and skip values it has.
///
/// # Errors and the user's function
///
/// A layer returns fleche's [`Error`] (use [`Error::Layer`] for failures of your own, with a
/// detail that says what to do). The stack never lets a layer's error reach a cached
/// function: on a lookup, a failing layer is skipped with a warning and the next one is
/// tried; a failed write is logged. A layer that is unreachable should therefore fail fast
/// (a short connect timeout) rather than block the call.
///
/// # Threads
///
/// Layers are shared between threads (`Send + Sync`) and called from any of them, often at
/// once; [`Layer::result_of`] is on the path of every cached call that misses the layers
/// above, so it should be one indexed read.
///
/// # Writing one
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use fleche::layer::{Layer, StoredCall};
/// use fleche::{Digest, Result};
///
/// /// A layer kept in a map: what a shared database does over the network.
/// #[derive(Default)]
/// struct MapLayer {
///     calls: Mutex<HashMap<Digest, StoredCall>>,
/// }
///
/// impl Layer for MapLayer {
///     fn describe(&self) -> String {
///         "a map in memory".into()
///     }
///     fn result_of(&self, key: &Digest) -> Result<Option<(Digest, Vec<u8>)>> {
///         let calls = self.calls.lock().unwrap();
///         Ok(calls.get(key).and_then(|c| Some((c.result, c.result_bytes()?.to_vec()))))
///     }
///     fn calls(&self, keys: &[Digest]) -> Result<Vec<StoredCall>> {
///         let calls = self.calls.lock().unwrap();
///         Ok(keys.iter().filter_map(|k| calls.get(k).cloned()).collect())
///     }
///     fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
///         let calls = self.calls.lock().unwrap();
///         Ok(calls.values().flat_map(|c| &c.values).find(|(d, _)| d == digest).map(|(_, b)| b.clone()))
///     }
///     fn store(&self, calls: &[StoredCall]) -> Result<()> {
///         let mut map = self.calls.lock().unwrap();
///         for call in calls {
///             map.entry(call.key).or_insert_with(|| call.clone());
///         }
///         Ok(())
///     }
///     fn records_after(&self, after: Option<Digest>, limit: usize) -> Result<Vec<(Digest, Vec<u8>)>> {
///         let calls = self.calls.lock().unwrap();
///         let mut keys: Vec<&Digest> = calls.keys().filter(|k| after.is_none_or(|a| **k > a)).collect();
///         keys.sort();
///         Ok(keys.into_iter().take(limit).map(|k| (*k, calls[k].record.clone())).collect())
///     }
/// }
///
/// # fn main() -> fleche::Result<()> {
/// let shared = Arc::new(MapLayer::default());
/// let cache = fleche::Stack::new()
///     .cache("local", fleche::Cache::memory())
///     .layer("shared", shared.clone())
///     .build()?;
/// assert_eq!(cache.layer_names(), ["local", "shared"]);
/// # Ok(())
/// # }
/// ```
pub trait Layer: Send + Sync {
    /// Where the layer is, for messages and `fleche config` (a URL without its password, a
    /// path).
    fn describe(&self) -> String;

    /// Whether the layer refuses writes. A read-only layer is never written: not back-filled,
    /// not given new calls, not repaired, not evicted from.
    fn read_only(&self) -> bool {
        false
    }

    /// Whether every new result stored through the stack should also be handed to
    /// [`Layer::store`] (after the top layer has it). For shared layers below a local file:
    /// `store` should then only queue the call (an outbox) and return at once, since it runs
    /// on the thread of the call that computed the result.
    fn wants_new_calls(&self) -> bool {
        false
    }

    /// The result of the call stored under `key`: its digest and encoded bytes, or `None`
    /// when the layer holds no such call (or holds its record without the result value).
    fn result_of(&self, key: &Digest) -> Result<Option<(Digest, Vec<u8>)>>;

    /// The whole calls stored under these keys, with every value they name that the layer
    /// holds; keys the layer does not hold are left out. Used to back-fill and to copy.
    fn calls(&self, keys: &[Digest]) -> Result<Vec<StoredCall>>;

    /// The whole call stored under `key` with every value it names that the layer holds,
    /// when the layer holds it with its result value: what the stack reads for a hit it then
    /// copies up into the layer above. The default asks [`Layer::calls`] for the one key; a
    /// layer across a network should answer in one round trip, since a hit waits for it.
    fn hit(&self, key: &Digest) -> Result<Option<StoredCall>> {
        let call = self.calls(std::slice::from_ref(key))?.into_iter().next();
        Ok(call.filter(|c| c.key == *key && c.result_bytes().is_some()))
    }

    /// The encoded value stored under `digest`, if any (a lazily read argument or result).
    fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>>;

    /// Stores these calls and their values. A call the layer already holds may be left as
    /// it is (the same key means the same call); values are content-addressed.
    fn store(&self, calls: &[StoredCall]) -> Result<()>;

    /// Up to `limit` call records with keys strictly after `after` (from the first key when
    /// `None`), in key order: `(call key, encoded record)`. Queries and listings of a stack
    /// page through every layer with it.
    fn records_after(&self, after: Option<Digest>, limit: usize) -> Result<Vec<(Digest, Vec<u8>)>>;

    /// The records of the calls under these keys that the layer holds, in any order: what a
    /// browser reads for the calls it lists. The default reads them through
    /// [`Layer::calls`], values and all; a layer across a network should read records alone.
    fn records(&self, keys: &[Digest]) -> Result<Vec<EncodedRecord>> {
        Ok(self
            .calls(keys)?
            .into_iter()
            .map(|call| (call.key, call.record))
            .collect())
    }

    /// Up to `limit` of the layer's calls, newest first by start time, strictly older than
    /// `before` (from the newest when `None`), from an index of start times. `None`, the
    /// default, says the layer keeps no such index: a browser then lists its calls by paging
    /// through [`Layer::records_after`] and reading each record's start time.
    fn calls_before(&self, before: Option<TimeKey>, limit: usize) -> Result<Option<Vec<TimeKey>>> {
        let _ = (before, limit);
        Ok(None)
    }

    /// Every call of the layer strictly newer than `after` by start time, oldest first: what
    /// arrived since a browser last looked. `None`, the default, as for
    /// [`Layer::calls_before`].
    fn calls_after(&self, after: TimeKey) -> Result<Option<Vec<TimeKey>>> {
        let _ = after;
        Ok(None)
    }

    /// How many calls the layer holds, when it can say without reading them all; `None`, the
    /// default, when it cannot. A browser polls it to notice calls removed or added by
    /// others.
    fn count(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// The records that one indexed filter selects, from the layer's own index (any order;
    /// the query checks every filter again on each record). `None`, the default, makes a
    /// query page through every record with [`Layer::records_after`].
    fn records_indexed(&self, filter: &IndexedFilter<'_>) -> Option<Result<Vec<EncodedRecord>>> {
        let _ = filter;
        None
    }

    /// Removes the calls under these keys (their values may stay); returns how many were
    /// there. A layer that cannot remove calls keeps them and returns 0.
    fn remove(&self, keys: &[Digest]) -> Result<usize> {
        let _ = keys;
        Ok(0)
    }

    /// Waits until everything handed to [`Layer::store`] is stored (or queued durably), and
    /// reports what could not be.
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// A call key and its encoded record, as layers list them.
pub type EncodedRecord = (Digest, Vec<u8>);

/// A filter that a cache file answers from an index, as a query hands it to
/// [`Layer::records_indexed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexedFilter<'a> {
    /// Calls of the function with this name.
    Name(&'a str),
    /// Calls of functions in this module.
    Module(&'a str),
    /// Calls tagged with this key and value.
    Tag(&'a str, &'a str),
    /// Calls whose argument of this name has the value with this digest.
    Argument(&'a str, &'a Digest),
}

/// A cache file (or memory cache) as a layer: fleche's own store.
impl Layer for Store {
    fn describe(&self) -> String {
        self.location.display_path().display().to_string()
    }

    fn read_only(&self) -> bool {
        self.is_read_only()
    }

    fn result_of(&self, key: &Digest) -> Result<Option<(Digest, Vec<u8>)>> {
        Store::result_of(self, key)
    }

    fn calls(&self, keys: &[Digest]) -> Result<Vec<StoredCall>> {
        self.bundles(keys)
    }

    /// The result is read first, so that a damaged one is reported as such.
    fn hit(&self, key: &Digest) -> Result<Option<StoredCall>> {
        if Store::result_of(self, key)?.is_none() {
            return Ok(None);
        }
        self.note_use(key);
        Ok(self.bundles(std::slice::from_ref(key))?.into_iter().next())
    }

    fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        Store::value(self, digest)
    }

    fn store(&self, calls: &[StoredCall]) -> Result<()> {
        self.put_bundles(calls).map(drop)
    }

    fn records_after(&self, after: Option<Digest>, limit: usize) -> Result<Vec<(Digest, Vec<u8>)>> {
        self.encoded_records_after(after, limit)
    }

    fn records(&self, keys: &[Digest]) -> Result<Vec<EncodedRecord>> {
        Ok(Store::records(self, keys)?
            .into_iter()
            .filter_map(|(key, record)| Some((key, record?)))
            .collect())
    }

    fn calls_before(&self, before: Option<TimeKey>, limit: usize) -> Result<Option<Vec<TimeKey>>> {
        Store::calls_before(self, before, limit).map(Some)
    }

    fn calls_after(&self, after: TimeKey) -> Result<Option<Vec<TimeKey>>> {
        Store::calls_after(self, after).map(Some)
    }

    fn count(&self) -> Result<Option<u64>> {
        self.call_count().map(Some)
    }

    fn remove(&self, keys: &[Digest]) -> Result<usize> {
        self.remove_calls(keys)
    }

    fn flush(&self) -> Result<()> {
        Store::flush(self)
    }
}

/// The layers of a stacked cache, top first.
pub(crate) struct Layers {
    pub(crate) entries: Vec<Entry>,
    /// Where the stack's leases live: its shared database when it has one (so machines
    /// compute once), else none and its top file's are used.
    pub(crate) claims: Option<Arc<dyn Claims>>,
    /// Why read-only layers were left out of reads, each message once, for a browser that
    /// shows them itself ([`Cache::layer_warnings`](crate::Cache::layer_warnings)).
    skipped: Mutex<Vec<String>>,
    /// Set by a browser that owns the terminal: skipped layers are not reported on stderr.
    quiet: AtomicBool,
}

/// One layer of a stack.
pub(crate) struct Entry {
    /// The name the stack gives it (a `fleche.toml` section name, or what code chose).
    pub(crate) name: Arc<str>,
    /// Never written, whatever the layer itself allows.
    pub(crate) read_only: bool,
    pub(crate) layer: Arc<dyn Layer>,
    /// The store, when the layer is a fleche cache (queries then use its indexes).
    pub(crate) store: Option<Arc<Store>>,
    /// The top file's outbox feeds this layer (a shared database): a call copied up from it
    /// is not queued to be pushed back.
    pub(crate) fed_by_top: bool,
}

impl Layers {
    /// These layers, top first.
    pub(crate) fn new(entries: Vec<Entry>, claims: Option<Arc<dyn Claims>>) -> Layers {
        Layers {
            entries,
            claims,
            skipped: Mutex::default(),
            quiet: AtomicBool::new(false),
        }
    }

    /// Leaves a failing layer out of a read: notes why (once per message) and warns, on
    /// stderr too unless a browser took the warnings over ([`Layers::keep_quiet`]).
    pub(crate) fn skip(&self, entry: &Entry, e: &Error) {
        let message = entry.skipped(e);
        if let Ok(mut skipped) = self.skipped.lock()
            && !skipped.contains(&message)
        {
            skipped.push(message.clone());
        }
        if self.quiet.load(Ordering::Relaxed) {
            tracing::warn!("{message}");
        } else {
            crate::error::warn_once(&message);
        }
    }

    /// From now on skipped layers are only noted, never printed on stderr.
    pub(crate) fn keep_quiet(&self) {
        self.quiet.store(true, Ordering::Relaxed);
    }

    /// Every note of a skipped layer so far.
    pub(crate) fn skipped(&self) -> Vec<String> {
        self.skipped.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The layer new results go to: the first that is not read-only.
    pub(crate) fn top_writable(&self) -> Option<&Entry> {
        self.entries.iter().find(|e| !e.read_only)
    }

    /// Caching is switched off: no layer at all.
    pub(crate) fn is_off(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Entry {
    /// A read-only layer's failure is its own: say which layer, and that it is skipped.
    pub(crate) fn skipped(&self, e: &Error) -> String {
        format!(
            "cache layer `{}` ({}) skipped: {e}",
            self.name,
            self.layer.describe()
        )
    }
}
