//! Cache stacks: building one ([`Stack`]), and what a stacked [`Cache`] does with its layers:
//! look a call up in each in turn, copy a lower hit up into the top writable layer
//! (back-fill), write new results to the top, and skip a broken read-only layer with a
//! warning. A plain cache never comes here: its hit path stays the store's own.

use std::sync::Arc;

use crate::cache::Cache;
use crate::config::{CacheSpec, Config};
use crate::digest::Digest;
use crate::error::{Error, Result, warn_once};
use crate::layer::{Entry, Layer, Layers, StoredCall};
use crate::record::CallRecord;
use crate::store::{QueuedCall, Store};

/// Builds a cache out of layers, top first: see [`Layer`] for what each does.
///
/// Lookups try the layers in order; a hit in a lower layer is copied into the top writable
/// layer, so the next hit is local; new results go to the top writable layer. A read-only
/// layer (a teammate's cache file, an exported file) is never written. Queries and tables on
/// the stack show the union of the layers, each call saying which layer it came from
/// ([`Call::layer`](crate::Call::layer)).
///
/// ```
/// # fn main() -> fleche::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let team_file = dir.path().join("team.redb");
/// # fleche::Cache::open(&team_file)?;
/// let cache = fleche::Stack::new()
///     .cache("local", fleche::Cache::memory())
///     .read_only("team", fleche::Cache::open_read_only(&team_file)?)
///     .build()?;
/// assert_eq!(cache.layer_names(), ["local", "team"]);
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct Stack {
    entries: Vec<Entry>,
    /// The PostgreSQL layers, told about the file above them when the stack is built.
    #[cfg(feature = "postgres")]
    postgres: Vec<Arc<crate::postgres::PostgresLayer>>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| &e.name))
            .finish()
    }
}

impl Stack {
    /// An empty stack; add layers top first.
    pub fn new() -> Stack {
        Stack::default()
    }

    /// Adds a cache as the next layer (a stack's layers, when `cache` is itself a stack).
    /// It is written to if it is the first writable layer, unless it was opened read-only.
    pub fn cache(self, name: &str, cache: Cache) -> Stack {
        self.push_cache(name, cache, false)
    }

    /// Adds a cache as the next layer, never to be written (not back-filled, not repaired).
    pub fn read_only(self, name: &str, cache: Cache) -> Stack {
        self.push_cache(name, cache, true)
    }

    /// Adds a layer of another kind (a shared database) as the next layer.
    pub fn layer(mut self, name: &str, layer: Arc<dyn Layer>) -> Stack {
        let read_only = layer.read_only();
        self.entries.push(Entry {
            name: name.into(),
            read_only,
            layer,
            store: None,
            fed_by_top: false,
        });
        self
    }

    /// Adds a PostgreSQL database as the next layer: `url` is
    /// `postgres://USER@HOST:PORT/DATABASE` (`?sslmode=require` for TLS); the password comes
    /// from `PGPASSWORD` or `~/.pgpass`, never from the URL. fleche creates its tables in an
    /// empty database and refuses one made by another schema version.
    ///
    /// Below a cache file, new results are committed to the file and pushed to the server in
    /// the background through an outbox kept in the file, so results computed while the
    /// server is away reach it later. Misses claim their key on the server, so processes on
    /// every machine compute each call once.
    #[cfg(feature = "postgres")]
    pub fn postgres(mut self, name: &str, url: &str) -> Result<Stack> {
        let layer = crate::postgres::PostgresLayer::connect(url)?;
        self.postgres.push(layer.clone());
        Ok(self.layer(name, layer))
    }

    fn push_cache(mut self, name: &str, cache: Cache, read_only: bool) -> Stack {
        match cache.layers {
            Some(layers) => {
                for e in &layers.entries {
                    self.entries.push(Entry {
                        name: e.name.clone(),
                        read_only: e.read_only || read_only,
                        layer: e.layer.clone(),
                        store: e.store.clone(),
                        fed_by_top: false,
                    });
                }
            }
            None => {
                let read_only = read_only || cache.store.is_read_only();
                self.entries.push(Entry {
                    name: name.into(),
                    read_only,
                    layer: cache.store.clone(),
                    store: Some(cache.store),
                    fed_by_top: false,
                });
            }
        }
        self
    }

    /// The cache. A stack of one writable cache is that cache itself, with nothing added to
    /// its hit path. Two layers with the same name, or the same file twice, are an error.
    // Only the PostgreSQL layers change entries here (marking the one the outbox feeds).
    #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
    pub fn build(mut self) -> Result<Cache> {
        for (i, e) in self.entries.iter().enumerate() {
            for other in &self.entries[..i] {
                if other.name == e.name {
                    return Err(Error::Stack {
                        detail: format!(
                            "two layers are named `{}`; give each its own name",
                            e.name
                        ),
                    });
                }
                if let (Some(a), Some(b)) = (&other.store, &e.store)
                    && Arc::ptr_eq(a, b)
                {
                    return Err(Error::Stack {
                        detail: format!(
                            "layers `{}` and `{}` are the same cache ({})",
                            other.name,
                            e.name,
                            a.location.display_path().display()
                        ),
                    });
                }
            }
        }
        if let [only] = self.entries.as_slice()
            && let Some(store) = &only.store
            && only.read_only == store.is_read_only()
        {
            return Ok(Cache::plain(store.clone()));
        }
        // Calls the stack's own methods do not route (gc, stats, compact) act on the top
        // writable file; a stack without one gets an empty memory store there.
        let store = self
            .entries
            .iter()
            .find(|e| !e.read_only && e.store.is_some())
            .and_then(|e| e.store.clone())
            .or_else(|| self.entries.iter().find_map(|e| e.store.clone()));
        let store = match store {
            Some(store) => store,
            None => Arc::new(Store::memory()?),
        };
        #[cfg(feature = "postgres")]
        let claims = {
            // The first writable PostgreSQL layer feeds on the top file's outbox and holds
            // the stack's leases.
            let shared = self.postgres.first();
            if let Some(top) = self.entries.iter().find(|e| !e.read_only)
                && let Some(store) = &top.store
                && let Some(pg) = shared
                && pg.push_from(store)
            {
                let fed = Arc::as_ptr(pg).cast::<()>();
                for entry in &mut self.entries {
                    entry.fed_by_top |= Arc::as_ptr(&entry.layer).cast::<()>() == fed;
                }
            }
            shared.map(|pg| pg.claims())
        };
        #[cfg(not(feature = "postgres"))]
        let claims = None;
        Ok(Cache {
            store,
            layers: Some(Arc::new(Layers::new(self.entries, claims))),
        })
    }
}

impl Cache {
    /// The cache named `name` in `fleche.toml` (or `"memory"`, `"off"`, or a file path).
    pub fn named(name: &str) -> Result<Cache> {
        let resolved = Config::discover()?.resolve(name)?;
        Cache::from_spec(&resolved.spec)
    }

    /// Opens what `spec` describes. In a stack, a read-only layer that is missing or cannot
    /// be read is left out with a warning; any other layer that does not open is an error.
    pub(crate) fn from_spec(spec: &CacheSpec) -> Result<Cache> {
        match spec {
            CacheSpec::Memory => Ok(Cache::memory()),
            CacheSpec::File(path) => Cache::open(path),
            CacheSpec::Off => Ok(Cache::off()),
            CacheSpec::Postgres(url) => Cache::postgres(url),
            CacheSpec::Stack(layers) => {
                let mut stack = Stack::new();
                for layer in layers {
                    if let CacheSpec::Postgres(url) = &layer.spec {
                        stack = stack_postgres(stack, &layer.name, url)?;
                        continue;
                    }
                    let opened = match (&layer.spec, layer.read_only) {
                        (CacheSpec::File(path), true) => match Cache::open_read_only(path) {
                            Ok(cache) => cache,
                            Err(e) => {
                                warn_once(&format!(
                                    "read-only cache layer `{}` ({}) skipped: {e}",
                                    layer.name,
                                    path.display()
                                ));
                                continue;
                            }
                        },
                        (CacheSpec::Memory | CacheSpec::File(_), _) => {
                            Cache::from_spec(&layer.spec)?
                        }
                        (CacheSpec::Off | CacheSpec::Stack(_) | CacheSpec::Postgres(_), _) => {
                            return Err(Error::Stack {
                                detail: format!(
                                    "layer `{}` is not a cache file or memory",
                                    layer.name
                                ),
                            });
                        }
                    };
                    if let Some(max) = layer.max_size {
                        opened.set_max_size(Some(max));
                    }
                    stack = if layer.read_only {
                        stack.read_only(&layer.name, opened)
                    } else {
                        stack.cache(&layer.name, opened)
                    };
                }
                stack.build()
            }
        }
    }

    /// A cache on a PostgreSQL database alone (see [`Stack::postgres`] for the URL, the
    /// password and TLS). Each new result is stored on the server when the call returns; put
    /// a cache file above it (`Stack::new().cache("local", Cache::open(path)?).postgres(..)`)
    /// to have local hits and to keep results through an outage of the server.
    pub fn postgres(url: &str) -> Result<Cache> {
        stack_postgres(Stack::new(), "postgres", url)?.build()
    }

    /// A cache that caches nothing: cached functions just run (for timing and debugging).
    /// `FLECHE_CACHE=off` or `cache = "off"` in `fleche.toml` make it the default.
    pub fn off() -> Cache {
        Cache {
            store: Cache::memory().store,
            layers: Some(Arc::new(Layers::new(Vec::new(), None))),
        }
    }

    /// Limits this cache to `max_size` bytes (`None`: no limit), as `max_size` in
    /// `fleche.toml` does: when a commit takes it over, the least recently used calls are
    /// evicted with their values until it is under again. The limit belongs to the file for
    /// this process (every handle on it shares it); on a stack it applies to the top writable
    /// layer.
    pub fn set_max_size(&self, max_size: Option<u64>) {
        self.store.set_max_size(max_size);
    }

    /// The size limit set by [`Cache::set_max_size`] or `max_size`, if any.
    pub fn max_size(&self) -> Option<u64> {
        self.store.max_size()
    }

    /// Whether caching is switched off ([`Cache::off`]).
    pub fn is_off(&self) -> bool {
        self.layers.as_ref().is_some_and(|l| l.is_off())
    }

    /// Whether this cache is a stack of layers (built with [`Stack`] or from `fleche.toml`).
    pub fn is_stack(&self) -> bool {
        self.layers.as_ref().is_some_and(|l| !l.is_off())
    }

    /// The names of the layers, top first; empty for a plain cache.
    pub fn layer_names(&self) -> Vec<&str> {
        self.layers
            .iter()
            .flat_map(|l| l.entries.iter().map(|e| &*e.name))
            .collect()
    }

    /// Each layer: name, where it is, and whether it is read-only; top first.
    pub fn layer_descriptions(&self) -> Vec<(String, String, bool)> {
        self.layers
            .iter()
            .flat_map(|l| l.entries.iter())
            .map(|e| (e.name.to_string(), e.layer.describe(), e.read_only))
            .collect()
    }

    /// The layer `name` of this stack, as a cache of its own, when it is a cache (file or
    /// memory).
    pub fn layer(&self, name: &str) -> Option<Cache> {
        let entry = self
            .layers
            .as_ref()?
            .entries
            .iter()
            .find(|e| &*e.name == name)?;
        entry.store.clone().map(Cache::plain)
    }

    /// The result stored for `key` in the first layer that has it, back-filling the top
    /// writable layer when a lower one had it. A layer that fails is skipped with a warning
    /// (a damaged value in a writable layer is repaired by the back-fill or the next store).
    pub(crate) fn stacked_result_of(
        &self,
        layers: &Layers,
        key: &Digest,
    ) -> Option<(Digest, Vec<u8>)> {
        let top = layers.entries.iter().position(|e| !e.read_only);
        for (i, entry) in layers.entries.iter().enumerate() {
            // A hit below the top writable layer is copied up: read the whole call at once.
            if let Some(top) = top.filter(|t| *t < i) {
                match entry.layer.hit(key) {
                    Ok(Some(call)) => {
                        let hit = call.result_bytes().map(|b| (call.result, b.to_vec()));
                        back_fill(&layers.entries[top], entry, call);
                        return hit;
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        skip_failed(entry, key, e);
                        continue;
                    }
                }
            }
            let found = match &entry.store {
                Some(store) => store
                    .result_of(key)
                    .map(|hit| hit.map(|(digest, bytes)| (digest, bytes.into_vec()))),
                None => entry.layer.result_of(key),
            };
            match found {
                Ok(Some(hit)) => {
                    if let Some(store) = &entry.store {
                        store.note_use(key);
                    }
                    return Some(hit);
                }
                Ok(None) => {}
                Err(e) => skip_failed(entry, key, e),
            }
        }
        None
    }

    /// Stores a new call: in the top writable layer, and in every layer that wants new calls.
    pub(crate) fn put_call(&self, call: QueuedCall) -> Result<()> {
        let Some(layers) = &self.layers else {
            return self.store.put_call(call);
        };
        let wanting: Vec<&Entry> = layers
            .entries
            .iter()
            .filter(|e| !e.read_only && e.store.is_none() && e.layer.wants_new_calls())
            .collect();
        let top = layers.top_writable();
        let shared = (!wanting.is_empty()).then(|| {
            StoredCall::new(
                call.key,
                call.record.result,
                call.encoded_record.clone(),
                call.values.clone(),
            )
        });
        let result = match top {
            Some(Entry {
                store: Some(store), ..
            }) => store.put_call(call),
            Some(entry) if !wanting.iter().any(|w| std::ptr::eq(*w, entry)) => entry
                .layer
                .store(&[stored_call(call)])
                .map_err(|e| layer_error(entry, &e)),
            Some(_) => Ok(()),
            None => {
                tracing::debug!("every layer of the stack is read-only: result not stored");
                Ok(())
            }
        };
        if let Some(shared) = shared {
            for entry in wanting {
                if let Err(e) = entry.layer.store(std::slice::from_ref(&shared)) {
                    warn_once(&format!(
                        "cache layer `{}` did not take a new result: {e}",
                        entry.name
                    ));
                }
            }
        }
        result
    }

    /// The bytes of the value under `digest` from the first layer holding it.
    pub(crate) fn stacked_value(
        &self,
        layers: &Layers,
        digest: &Digest,
    ) -> Result<Option<Vec<u8>>> {
        let mut first_error = None;
        for entry in &layers.entries {
            match entry.layer.value(digest) {
                Ok(Some(bytes)) => return Ok(Some(bytes)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("{}", entry.skipped(&e));
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(None), Err)
    }
}

/// Says why a lookup passed over a layer that failed: a damaged call once per call, an
/// outage not at all (the layer reported it, once), anything else once.
fn skip_failed(entry: &Entry, key: &Digest, e: Error) {
    match e {
        Error::DamagedValue { .. } | Error::DamagedRecord { .. } => {
            tracing::warn!(key = %key, layer = &*entry.name, "{e}; trying the next layer");
        }
        Error::Unreachable { .. } => {}
        e => warn_once(&entry.skipped(&e)),
    }
}

/// Copies `call`, found in `from`, up into `top`, through `top`'s write-behind when it is a
/// file: the hit that found it does not wait for a commit. A call from the database the
/// top file's outbox feeds gets no outbox entry: it would only be sent back.
fn back_fill(top: &Entry, from: &Entry, call: StoredCall) {
    let key = call.key;
    let stored = match &top.store {
        Some(store) => queued(call, from.fed_by_top)
            .and_then(|q| store.put_call(q))
            .inspect(|()| {
                // Its record says when it was computed elsewhere; it was used now.
                store.note_use(&key);
            }),
        None => top.layer.store(&[call]),
    };
    match stored {
        Ok(()) => tracing::debug!(key = %key, from = &*from.name, to = &*top.name, "back-filled"),
        Err(e) => warn_once(&format!(
            "a hit in cache layer `{}` could not be copied up into `{}`: {e}",
            from.name, top.name
        )),
    }
}

/// A whole call as the write-behind queues it; `pushed` when the shared database already
/// holds it.
fn queued(call: StoredCall, pushed: bool) -> Result<QueuedCall> {
    let record = CallRecord::decode(&call.record)?;
    let mut values = call.values;
    // The write-behind answers hits from its queue with the first value: the result.
    if let Some(i) = values.iter().position(|(d, _)| *d == call.result) {
        values.swap(0, i);
    }
    Ok(QueuedCall {
        key: call.key,
        record,
        encoded_record: call.record,
        values,
        pushed,
    })
}

fn stored_call(call: QueuedCall) -> StoredCall {
    StoredCall::new(
        call.key,
        call.record.result,
        call.encoded_record,
        call.values,
    )
}

fn layer_error(entry: &Entry, e: &Error) -> Error {
    Error::Layer {
        layer: format!("`{}` ({})", entry.name, entry.layer.describe()),
        detail: e.to_string(),
    }
}

/// Adds a PostgreSQL layer, or says that this build of fleche has none.
fn stack_postgres(stack: Stack, name: &str, url: &str) -> Result<Stack> {
    #[cfg(feature = "postgres")]
    return stack.postgres(name, url);
    #[cfg(not(feature = "postgres"))]
    {
        let _ = (stack, url);
        Err(Error::Stack {
            detail: format!(
                "cache `{name}` is on PostgreSQL, and this program was built without fleche's `postgres` feature: add `features = [\"postgres\"]` to its fleche dependency"
            ),
        })
    }
}
